//! What the chat sockets are sent, and which reads their deliveries mark.
//!
//! A [`Reader`] follows one conversation for one side (`gongzhonghao_chat` for
//! the customer, `leida_chat` for the rep): `register` opens it, and every
//! wake-up of its subscription runs a delivery round, [`Reader::next`] until it
//! answers `None`. Nothing is queued: a round reads from the database
//! everything above what the socket was already sent, so pushes survive lag,
//! duplicate events and lost notifications alike. What a round delivered is
//! marked read once, when the caller comes back after sending it all, so a
//! round publishes at most one read event and a socket that vanished mid-round
//! marks nothing.

use app::api::chat::{
    codes, msgs, CustomerMessage, CustomerPush, CustomerPushData, InboxFeed, InboxFeedPart,
    InboxFrame, InboxPartFrame, Receipt, ReceiptData, SalesMessage, SalesPush, SalesPushData,
};
use app::api::Side;
use serde::Serialize;

use super::json_len;
use super::message::{customer_item, sales_item, JoinedMessage, MessageRow};
use super::pair::{Pair, PairRow, PAIR_COLS, PAIR_JOINS};
use super::unread::{mark_read, unread_by, unread_count};
use crate::bus::{Key, Subscription};
use crate::error::Error;
use crate::service::display::TimeStyle;
use crate::service::SAME_COMPANY;
use crate::AppState;

/// Messages read from the database per step of a round.
pub const BATCH: i64 = 50;
/// Largest frame the server sends (contract §6).
pub const MAX_PUSH_BYTES: usize = 64 * 1024;
/// Soft cap of one push frame: items are split over several frames beyond it,
/// so that a replay after a long gap never needs a large buffer at once.
pub const PUSH_SOFT_BYTES: usize = 32 * 1024;

/// A frame of a chat socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ChatFrame {
    /// `gongzhonghao_chat`: messages.
    Customer(CustomerPush),
    /// `leida_chat`: messages.
    Sales(SalesPush),
    /// `leida_chat`: the customer's read watermark moved.
    Receipt(Receipt),
}

fn receipt(customer_id: i64, last_read_id: i64) -> ChatFrame {
    ChatFrame::Receipt(Receipt {
        data: ReceiptData {
            is_customer_already_read: 1,
            customer_id,
            last_read_id,
        },
        code: codes::RECEIPT,
        msg: msgs::RECEIPT.into(),
    })
}

/// Splits rendered items into runs of at most about [`PUSH_SOFT_BYTES`] of JSON.
pub fn chunk_items<T: Serialize>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0;
    for it in items {
        let n = json_len(&it);
        if !cur.is_empty() && size + n > PUSH_SOFT_BYTES {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.push(it);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// One conversation as one side's chat socket follows it.
pub struct Reader {
    pub side: Side,
    pub user_id: i64,
    pub customer_id: i64,
    sub: Subscription,
    /// Whether what is delivered counts as read: always for the rep; for the
    /// customer in `input` mode (the chat page is open), not after `query_num`
    /// (the original's `customer_id_{cid}_position` = `output`).
    pub marks_read: bool,
    /// A register without `after_id`: the reader's unread messages still to
    /// push, above the cursor and up to the newest message at register.
    backlog: Option<(i64, i64)>,
    /// Every message of the pair up to this id has been sent (or was already
    /// held by the client, for a resume).
    last_sent: i64,
    /// The rep: the customer read watermark the client knows of.
    last_receipt: i64,
    /// A resume of the rep: the receipt that goes first.
    owed_receipt: Option<i64>,
    /// The newest message of the other side delivered this round.
    to_mark: i64,
    /// The pair as the last step read it.
    pair: Option<Pair>,
    /// The last step of the round was returned; the next call ends it.
    round_over: bool,
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    #[sqlx(flatten)]
    pair: PairRow,
    max_msg_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    #[sqlx(flatten)]
    pair: PairRow,
    first_msg_id: Option<i64>,
    unread: i64,
    #[sqlx(flatten)]
    msg: JoinedMessage,
}

/// One step's read: the pair, the conversation's first id, `side`'s unread
/// count before this step, and the messages.
struct Step {
    pair: Pair,
    first_id: i64,
    unread: i64,
    rows: Vec<MessageRow>,
}

impl Reader {
    /// `register`: the relation must exist (307). Without `after_id` the
    /// reader's unread messages come first; with it, everything after it,
    /// both directions. Then everything new, live.
    pub async fn open(
        st: &AppState,
        side: Side,
        user_id: i64,
        customer_id: i64,
        after_id: Option<i64>,
    ) -> Result<Reader, Error> {
        // Subscribe before reading: whatever commits from now on either is in
        // the reads below or wakes this reader afterwards.
        let sub = st.bus.watch(Key::Pair {
            user_id,
            customer_id,
        });
        let sql = format!(
            "SELECT {PAIR_COLS}, r.last_msg_id AS max_msg_id
             FROM relation r {PAIR_JOINS}
             WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}"
        );
        let row = sqlx::query_as::<_, OpenRow>(&sql)
            .bind(user_id)
            .bind(customer_id)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or(Error::NoRelation)?;
        let max = row.max_msg_id.unwrap_or(0);
        let p = row
            .pair
            .pair(user_id, customer_id)
            .ok_or(Error::NoRelation)?;
        let mut r = Reader {
            side,
            user_id,
            customer_id,
            sub,
            marks_read: true,
            backlog: None,
            last_sent: max,
            last_receipt: p.customer_read_id,
            owed_receipt: None,
            to_mark: 0,
            pair: None,
            round_over: false,
        };
        match after_id {
            Some(a) => {
                r.last_sent = a.min(max);
                // The client's older messages may have been read while it was away.
                if side == Side::Sales && p.customer_read_id > 0 {
                    r.owed_receipt = Some(p.customer_read_id);
                }
            }
            None => r.backlog = Some((p.read_id(side), max)),
        }
        Ok(r)
    }

    /// Resolves when the conversation may have changed.
    pub async fn changed(&self) {
        self.sub.changed().await
    }

    /// The next frames of the round, oldest first; `None` once the round is
    /// over. Calling it again means everything it returned was sent.
    pub async fn next(&mut self, st: &AppState) -> Result<Option<Vec<ChatFrame>>, Error> {
        if let Some(id) = self.owed_receipt.take() {
            return Ok(Some(vec![receipt(self.customer_id, id)]));
        }
        loop {
            if self.round_over {
                self.round_over = false;
                self.mark_delivered(st).await?;
                return Ok(None);
            }
            let frames = self.step(st).await?;
            if !frames.is_empty() {
                return Ok(Some(frames));
            }
        }
    }

    async fn mark_delivered(&mut self, st: &AppState) -> Result<(), Error> {
        let up_to = std::mem::take(&mut self.to_mark);
        match &self.pair {
            Some(p) if self.marks_read && up_to > 0 => {
                mark_read(st, p, self.side, up_to).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn step(&mut self, st: &AppState) -> Result<Vec<ChatFrame>, Error> {
        let s = match self.backlog {
            Some((cursor, _)) => self.read(st, cursor, true).await?,
            None => self.read(st, self.last_sent, false).await?,
        };
        let full = s.rows.len() as i64 == BATCH;
        let rows = match self.backlog {
            Some((_, until)) => {
                let rows: Vec<MessageRow> = s.rows.into_iter().filter(|r| r.id <= until).collect();
                self.backlog = match rows.last() {
                    Some(l) if full && l.id < until => Some((l.id, until)),
                    // Done: the live part starts above `until` (`last_sent`).
                    _ => None,
                };
                rows
            }
            None => {
                if let Some(l) = s.rows.last() {
                    self.last_sent = l.id;
                }
                self.round_over = !full;
                s.rows
            }
        };
        if let Some(id) = rows
            .iter()
            .filter(|m| !m.is_from(self.side))
            .map(|m| m.id)
            .max()
        {
            self.to_mark = self.to_mark.max(id);
        }
        let mut frames = self.render(st, &s.pair, s.first_id, s.unread, &rows);
        // Items above carry this watermark; a receipt brings the client's
        // older items up to it.
        if self.round_over
            && self.side == Side::Sales
            && s.pair.customer_read_id > self.last_receipt
        {
            self.last_receipt = s.pair.customer_read_id;
            frames.push(receipt(self.customer_id, self.last_receipt));
        }
        self.pair = Some(s.pair);
        Ok(frames)
    }

    /// The pair and at most [`BATCH`] messages above `after`, in one statement:
    /// the backlog takes only those unread by the reader, a live step all.
    async fn read(&self, st: &AppState, after: i64, backlog: bool) -> Result<Step, Error> {
        let only_unread = if backlog {
            format!("AND {}", unread_by(self.side, "m", "r"))
        } else {
            String::new()
        };
        // The customer's pushes carry the count before they mark anything.
        let unread = match self.side {
            Side::Customer => unread_count(Side::Customer, "r"),
            Side::Sales => "CAST(0 AS BIGINT)".into(),
        };
        let sql = format!(
            "SELECT {PAIR_COLS},
               r.first_msg_id,
               {unread} AS unread, m.id, m.send_type, m.content, m.create_date
             FROM relation r {PAIR_JOINS}
             LEFT JOIN chat_message m ON m.user_id = r.user_id AND m.customer_id = r.customer_id
               AND m.id > $3 AND m.id <= r.last_msg_id {only_unread}
             WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}
             ORDER BY m.id LIMIT $4"
        );
        let rows = sqlx::query_as::<_, StepRow>(&sql)
            .bind(self.user_id)
            .bind(self.customer_id)
            .bind(after)
            .bind(BATCH)
            .fetch_all(&st.db.pool)
            .await?;
        let mut rows = rows.into_iter();
        let first = rows.next().ok_or(Error::NoRelation)?;
        let pair = first
            .pair
            .pair(self.user_id, self.customer_id)
            .ok_or(Error::NoRelation)?;
        let (first_id, unread) = (first.first_msg_id.unwrap_or(0), first.unread);
        let rows = std::iter::once(first.msg)
            .chain(rows.map(|r| r.msg))
            .filter_map(JoinedMessage::message)
            .collect();
        Ok(Step {
            pair,
            first_id,
            unread,
            rows,
        })
    }

    fn render(
        &self,
        st: &AppState,
        p: &Pair,
        first_id: i64,
        unread: i64,
        rows: &[MessageRow],
    ) -> Vec<ChatFrame> {
        if rows.is_empty() {
            return Vec::new();
        }
        match self.side {
            Side::Customer => {
                let items: Vec<CustomerMessage> = rows
                    .iter()
                    .map(|m| customer_item(st, p, m, first_id, TimeStyle::Plain))
                    .collect();
                chunk_items(items)
                    .into_iter()
                    .map(|part| {
                        let n = part.len() as i64;
                        ChatFrame::Customer(CustomerPush {
                            data: CustomerPushData {
                                ret_data: part,
                                data_count: n,
                                count: n,
                                unread_msg_num: unread,
                            },
                            code: codes::OK,
                            msg: msgs::CUSTOMER_PUSH.into(),
                        })
                    })
                    .collect()
            }
            Side::Sales => {
                let items: Vec<SalesMessage> = rows
                    .iter()
                    .map(|m| {
                        sales_item(st, p, m, TimeStyle::Plain).with_echo(m.is_from(Side::Sales))
                    })
                    .collect();
                chunk_items(items)
                    .into_iter()
                    .map(|part| {
                        let n = part.len() as i64;
                        ChatFrame::Sales(SalesPush {
                            data: SalesPushData {
                                ret_data: part,
                                count: n,
                                data_count: n,
                            },
                            msg: msgs::SALES_PUSH.into(),
                            code: codes::OK,
                        })
                    })
                    .collect()
            }
        }
    }
}

/// `gongzhonghao_query_info_num`: one conversation's count of messages the
/// customer has not read, pushed when it changes (up on a rep message, down
/// on any read).
pub struct UnreadFeed {
    pub user_id: i64,
    pub customer_id: i64,
    sub: Subscription,
    last: i64,
}

impl UnreadFeed {
    /// `register`: the relation must exist (307); the current count.
    pub async fn open(
        st: &AppState,
        user_id: i64,
        customer_id: i64,
    ) -> Result<(UnreadFeed, i64), Error> {
        let sub = st.bus.watch(Key::Pair {
            user_id,
            customer_id,
        });
        let n = super::readmodel::customer_unread(st, user_id, customer_id).await?;
        let feed = UnreadFeed {
            user_id,
            customer_id,
            sub,
            last: n,
        };
        Ok((feed, n))
    }

    pub async fn changed(&self) {
        self.sub.changed().await
    }

    /// The current count (`query_num`).
    pub async fn current(&mut self, st: &AppState) -> Result<i64, Error> {
        self.last = super::readmodel::customer_unread(st, self.user_id, self.customer_id).await?;
        Ok(self.last)
    }

    /// The count if it differs from the last one sent.
    pub async fn news(&mut self, st: &AppState) -> Result<Option<i64>, Error> {
        let before = self.last;
        let n = self.current(st).await?;
        Ok((n != before).then_some(n))
    }
}

/// A `leida_query_contact_list` frame: a whole page, or one part of one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum InboxOut {
    Whole(InboxFrame),
    Part(InboxPartFrame),
}

/// An inbox page as frames: one when it fits in [`MAX_PUSH_BYTES`], else parts
/// of the same keys, each with a slice of `ret_data` (in order) and `part`
/// (1-based) of `parts`. A client applies the parts as they come and treats the
/// page as complete at `part == parts`.
pub fn inbox_frames(feed: &InboxFeed, msg: &str) -> Vec<InboxOut> {
    let whole = InboxFrame {
        data: feed.clone(),
        code: codes::OK,
        msg: msg.into(),
    };
    if json_len(&whole) <= MAX_PUSH_BYTES {
        return vec![InboxOut::Whole(whole)];
    }
    let parts = chunk_items(whole.data.ret_data);
    let n = parts.len() as i64;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            InboxOut::Part(InboxPartFrame {
                data: InboxFeedPart {
                    last_seen: feed.last_seen,
                    data_count: feed.data_count,
                    unread_msg_num: feed.unread_msg_num,
                    ret_data: part,
                    part: i as i64 + 1,
                    parts: n,
                },
                code: codes::OK,
                msg: msg.into(),
            })
        })
        .collect()
}
