//! The rep's feeds (semantics §10.7, §10.10): one conversation (`leida_chat`),
//! the unread badge (`leida_query_info_num`) and the contact list
//! (`leida_query_contact_list`).

use std::hash::{Hash, Hasher};

use app::api::SEND_SALES_TO_CUSTOMER;
use serde_json::{json, Value};

use super::{chunk_items, id_field, page_frames, unread_batch, Conn, Id, Step, BATCH};
use crate::bus::{Key, Subscription};
use crate::extract::{Check, Fields, Paging};
use crate::service::chat::{self, MessageRow, Pair, Side};
use crate::service::display::TimeStyle;

/// `leida_chat`: every new message of one conversation (the customer's, and
/// the rep's own from another tab or REST, flagged `echo: true` so the UI can
/// dedupe by `id`), customer messages marked read by the rep as they are
/// delivered, and a read receipt whenever the customer's read watermark moves.
#[derive(Default)]
pub(crate) struct Chat {
    pub sub: Option<Subscription>,
    user_id: i64,
    customer_id: i64,
    last_sent: i64,
    /// The customer read watermark the client knows of (items and receipts).
    last_receipt: i64,
}

fn receipt(customer_id: i64, last_read_id: i64) -> Value {
    json!({
        "data": {"is_customer_already_read": 1, "customer_id": customer_id, "last_read_id": last_read_id},
        "code": 202,
        "msg": "实时通知小程序新消息-已读通知",
    })
}

impl Chat {
    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        match ty {
            Some("register") => self.register(c, f).await,
            other => c.unknown_type(other).await,
        }
    }

    async fn register(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let user_id = c.who()?;
        let customer_id = match id_field(f, "customer_id") {
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field("customer_id", "客户ID不能为空").await,
            Id::Ok(n) => n,
        };
        let after = match id_field(f, "after_id") {
            Id::Missing => None,
            Id::Bad => return c.bad_field("after_id", "Enter a whole number.").await,
            Id::Ok(n) => Some(n),
        };
        let p = c
            .check(chat::pair(&c.st, user_id, customer_id).await)
            .await?;
        self.sub = Some(c.st.bus.watch(Key::Pair {
            user_id,
            customer_id,
        }));
        self.user_id = user_id;
        self.customer_id = customer_id;
        let max = c.check(chat::max_id(&c.st, &p).await).await?;
        // 199 only after `max` is read, as on the customer socket.
        c.send(json!({"code": 199, "msg": "注册成功"})).await?;
        match after {
            Some(a) => {
                self.last_sent = a.min(max);
                // The client's older messages may have been read while it was away.
                if p.customer_read_id > 0 {
                    c.send(receipt(customer_id, p.customer_read_id)).await?;
                }
            }
            None => {
                let mut cursor = p.user_read_id;
                loop {
                    let (rows, more) =
                        unread_batch(c, &p, cursor, SEND_SALES_TO_CUSTOMER, max).await?;
                    let Some(last) = rows.last().map(|r| r.id) else {
                        break;
                    };
                    self.push(c, &p, &rows).await?;
                    cursor = last;
                    if !more {
                        break;
                    }
                }
                self.last_sent = max;
            }
        }
        self.last_receipt = p.customer_read_id;
        self.catch_up(c).await
    }

    pub async fn catch_up(&mut self, c: &mut Conn) -> Step {
        if self.sub.is_none() {
            return Ok(());
        }
        loop {
            let p = c
                .check(chat::pair(&c.st, self.user_id, self.customer_id).await)
                .await?;
            let rows = c
                .check(chat::messages_after(&c.st, &p, self.last_sent, None, BATCH).await)
                .await?;
            if let Some(last) = rows.last().map(|r| r.id) {
                self.push(c, &p, &rows).await?;
                self.last_sent = last;
            }
            if (rows.len() as i64) < BATCH {
                // Items above were rendered with this watermark; a receipt
                // brings the client's older items up to it.
                if p.customer_read_id > self.last_receipt {
                    self.last_receipt = p.customer_read_id;
                    c.send(receipt(self.customer_id, p.customer_read_id))
                        .await?;
                }
                return Ok(());
            }
        }
    }

    async fn push(&mut self, c: &mut Conn, p: &Pair, rows: &[MessageRow]) -> Step {
        let items: Vec<Value> = rows
            .iter()
            .map(|m| {
                let mut v = chat::sales_item(&c.st, p, m, p.customer_read_id, TimeStyle::Plain);
                if let Some(o) = v.as_object_mut() {
                    o.insert("echo".into(), json!(m.send_type == SEND_SALES_TO_CUSTOMER));
                }
                v
            })
            .collect();
        for part in chunk_items(items) {
            let n = part.len();
            c.send(json!({
                "data": {"ret_data": part, "count": n, "data_count": n},
                "msg": "实时推送雷达-最新聊天信息成功",
                "code": 200,
            }))
            .await?;
        }
        if let Some(up_to) = rows
            .iter()
            .filter(|r| r.send_type != SEND_SALES_TO_CUSTOMER)
            .map(|r| r.id)
            .max()
        {
            c.check(chat::mark_read(&c.st, p, Side::Sales, up_to).await)
                .await?;
        }
        Ok(())
    }
}

fn badge_frame(n: i64, msg: &str) -> Value {
    json!({"data": {"unread_msg_num": n}, "code": 200, "msg": msg})
}

/// `leida_query_info_num`: the rep's total unread count, pushed on every change.
#[derive(Default)]
pub(crate) struct Badge {
    pub sub: Option<Subscription>,
    last: i64,
}

impl Badge {
    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, _f: &Fields) -> Step {
        let user_id = c.who()?;
        match ty {
            Some("register") => {
                self.sub = Some(c.st.bus.watch(Key::User(user_id)));
                let n = c.check(chat::sales_badge(&c.st, user_id).await).await?;
                self.last = n;
                c.send(badge_frame(n, "注册成功返回【消息数量】成功")).await
            }
            Some("query_num") => {
                let n = c.check(chat::sales_badge(&c.st, user_id).await).await?;
                if self.sub.is_some() {
                    self.last = n;
                }
                c.send(badge_frame(n, "实时获取雷达【消息数量】成功")).await
            }
            other => c.unknown_type(other).await,
        }
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        let user_id = c.who()?;
        let n = c.check(chat::sales_badge(&c.st, user_id).await).await?;
        if n == self.last {
            return Ok(());
        }
        self.last = n;
        c.send(badge_frame(n, "实时获取雷达【消息数量】成功")).await
    }
}

/// `leida_query_contact_list`: page 1 of the contact list with the badge and
/// the latest customer activity (`latest_activity`, so that article views and
/// sign-ups push too), pushed whenever it changes; `query_num` returns any page.
#[derive(Default)]
pub(crate) struct Contacts {
    pub sub: Option<Subscription>,
    length: i64,
    /// Hash of the last page pushed: the idle cost is 8 bytes, not the page.
    last_hash: u64,
}

/// Contact-list pages default to 10 entries on the socket (semantics §10.7.3).
const CONTACTS_DEFAULT_LENGTH: i64 = 10;

fn hash_of(v: &Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

impl Contacts {
    async fn page(&self, c: &mut Conn, user_id: i64, paging: Paging) -> Result<Value, super::Stop> {
        let list = c
            .check(chat::sales_contacts(&c.st, user_id, paging).await)
            .await?;
        let latest = c
            .check(chat::latest_activity(&c.st, user_id).await)
            .await?
            .map(|(customer_id, time)| json!({"customer_id": customer_id, "time": time}));
        Ok(json!({
            "ret_data": list.items,
            "data_count": list.data_count,
            "unread_msg_num": list.unread_msg_num,
            "latest_activity": latest,
        }))
    }

    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        let user_id = c.who()?;
        let mut ch = Check::new(f);
        let paging = Paging::parse(&mut ch, CONTACTS_DEFAULT_LENGTH);
        let paging = match (ch.finish(), paging) {
            (Ok(()), Some(p)) => p,
            (Err(e), _) => return c.reply_error(e).await,
            (Ok(()), None) => return c.reply_error(crate::error::Error::bad_request()).await,
        };
        match ty {
            Some("register") => {
                self.sub = Some(c.st.bus.watch(Key::User(user_id)));
                self.length = paging.length;
                let data = self
                    .page(
                        c,
                        user_id,
                        Paging {
                            page: 1,
                            length: self.length,
                        },
                    )
                    .await?;
                self.last_hash = hash_of(&data);
                send_page(c, data, "注册成功返回【消息数量】成功").await
            }
            Some("query_num") => {
                let data = self.page(c, user_id, paging).await?;
                send_page(c, data, "实时获取雷达【消息数量】成功").await
            }
            other => c.unknown_type(other).await,
        }
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        let user_id = c.who()?;
        let data = self
            .page(
                c,
                user_id,
                Paging {
                    page: 1,
                    length: self.length.max(1),
                },
            )
            .await?;
        let h = hash_of(&data);
        if h == self.last_hash {
            return Ok(());
        }
        self.last_hash = h;
        send_page(c, data, "实时获取雷达【消息数量】成功").await
    }
}

/// A contact page, split into parts when it would exceed the frame limit.
async fn send_page(c: &mut Conn, data: Value, msg: &str) -> Step {
    for frame in page_frames(data, 200, msg) {
        c.send(frame).await?;
    }
    Ok(())
}
