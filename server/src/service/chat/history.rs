//! Reading a conversation over REST: `getmsg` (the unread messages, then
//! marked read) and history pages (which mark what they show as read).

use app::api::chat::{CustomerHistory, CustomerMessage, SalesHistory, SalesMessage, Unread};
use app::api::Side;
use serde::Serialize;

use super::json_len;
use super::message::{customer_item, sales_item, JoinedMessage, MessageRow};
use super::pair::{Anchor, Pair, PairRow, PAIR_COLS, PAIR_JOINS};
use super::unread::{mark_read, unread_by};
use crate::error::Error;
use crate::extract::Paging;
use crate::service::display::TimeStyle;
use crate::service::SAME_COMPANY;
use crate::AppState;

/// Serialised items one `getmsg` answers at most; the rest stays unread and
/// comes with the next call.
pub const GETMSG_MAX_BYTES: usize = 1024 * 1024;

/// The unread messages one `getmsg` reads at most.
const GETMSG_MAX_ROWS: i64 = 1000;

#[derive(sqlx::FromRow)]
struct PendingRow {
    #[sqlx(flatten)]
    pair: PairRow,
    #[sqlx(flatten)]
    msg: JoinedMessage,
}

/// The pair and the messages `side` has not read (oldest first, at most
/// [`GETMSG_MAX_ROWS`]), in one statement.
async fn pending(
    st: &AppState,
    side: Side,
    user_id: i64,
    customer_id: i64,
) -> Result<(Pair, Vec<MessageRow>), Error> {
    let sql = format!(
        "SELECT {PAIR_COLS}, m.id, m.send_type, m.content, m.create_date
         FROM relation r {PAIR_JOINS} LEFT JOIN chat_message m ON {} AND m.id <= r.last_msg_id
         WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}
         ORDER BY m.id LIMIT {GETMSG_MAX_ROWS}",
        unread_by(side, "m", "r")
    );
    let rows = sqlx::query_as::<_, PendingRow>(&sql)
        .bind(user_id)
        .bind(customer_id)
        .fetch_all(&st.db.pool)
        .await?;
    let mut rows = rows.into_iter();
    let first = rows.next().ok_or(Error::NoRelation)?;
    let p = first
        .pair
        .pair(user_id, customer_id)
        .ok_or(Error::NoRelation)?;
    let msgs = std::iter::once(first.msg)
        .chain(rows.map(|r| r.msg))
        .filter_map(JoinedMessage::message)
        .collect();
    Ok((p, msgs))
}

/// The leading items whose JSON fits in `max` bytes (at least one), with the
/// id of the last one taken: only what is returned may be marked read.
pub(super) fn within_bytes<T: Serialize>(
    items: impl Iterator<Item = (i64, T)>,
    max: usize,
) -> (Vec<T>, Option<i64>) {
    let mut out = Vec::new();
    let mut last = None;
    let mut size = 0;
    for (id, item) in items {
        // Each item after the first costs its separating comma too.
        let n = json_len(&item) + 1;
        if !out.is_empty() && size + n > max {
            break;
        }
        size += n;
        last = Some(id);
        out.push(item);
    }
    (out, last)
}

/// `side`'s unread messages, rendered by `item`, then marked read.
async fn getmsg<T: Serialize>(
    st: &AppState,
    side: Side,
    user_id: i64,
    customer_id: i64,
    item: impl Fn(&Pair, &MessageRow) -> T,
) -> Result<Unread<T>, Error> {
    let ticket = match st.reads.pending(st, side, user_id, customer_id) {
        Ok(()) => return Ok(Unread::default()),
        Err(t) => t,
    };
    let (p, rows) = pending(st, side, user_id, customer_id).await?;
    if rows.is_empty() {
        st.reads.nothing_pending(side, user_id, customer_id, ticket);
    }
    let (items, last) = within_bytes(rows.iter().map(|m| (m.id, item(&p, m))), GETMSG_MAX_BYTES);
    if let Some(last) = last {
        mark_read(st, &p, side, last).await?;
    }
    Ok(Unread {
        data_count: items.len() as i64,
        ret_data: items,
    })
}

/// API doc 1.2: the rep's messages the customer has not read, then marked read.
pub async fn customer_getmsg(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
) -> Result<Unread<CustomerMessage>, Error> {
    getmsg(st, Side::Customer, u_id, customer_id, |p, m| {
        customer_item(st, p, m, -1, TimeStyle::Iso)
    })
    .await
}

/// Semantics §10.4: the customer's messages the rep has not read, then marked read.
pub async fn sales_getmsg(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
) -> Result<Unread<SalesMessage>, Error> {
    getmsg(st, Side::Sales, user_id, customer_id, |p, m| {
        sales_item(st, p, m, TimeStyle::Iso)
    })
    .await
}

/// One history read: the anchor, the pair, the conversation's count, first and
/// last id, and the page, all in one statement.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    #[sqlx(flatten)]
    pair: PairRow,
    data_count: i64,
    first_msg_id: Option<i64>,
    max_msg_id: Option<i64>,
    #[sqlx(flatten)]
    msg: JoinedMessage,
}

/// The rep's card of the customer's history (`a` is the rep).
#[derive(Clone, sqlx::FromRow)]
struct CardRow {
    a_username: Option<String>,
    mingpian_phone: Option<String>,
    wechat_phone: Option<String>,
    wechat: Option<String>,
    company_id: Option<i64>,
    company_name: Option<String>,
    qrcode_url: Option<String>,
}

const CARD_COLS: &str = ", a.username AS a_username, a.mingpian_phone, a.wechat_phone, a.wechat,
    co.id AS company_id, co.name AS company_name, g.qrcode_url";
const CARD_FROM: &str = "LEFT JOIN company co ON co.id = a.company_id
    LEFT JOIN gongzhonghao_app g ON g.company_id = co.id";

#[derive(sqlx::FromRow)]
struct CustomerHistoryRow {
    #[sqlx(flatten)]
    history: HistoryRow,
    #[sqlx(flatten)]
    card: CardRow,
}

#[derive(sqlx::FromRow)]
struct SalesHistoryRow {
    #[sqlx(flatten)]
    history: HistoryRow,
    company_id: i64,
}

/// The history statement: `extra` adds columns over the anchor `a` (and
/// whatever its second part joins). The count and both ends are the
/// relation's (kept on write): the cost of a page does not grow with the
/// conversation. Without a relation the count is unused (307).
///
/// The page stops at the conversation's last id: a planner that walks the
/// primary key for a pair it believes dense (PostgreSQL, from its most common
/// values) then starts at that message instead of crossing every newer
/// message of the other conversations (18 ms against 0.2 ms, BENCHMARKS.md).
fn history_sql(anchor: Anchor, after_id: Option<i64>, extra: (&str, &str)) -> String {
    let page = match after_id {
        Some(_) => {
            "SELECT id, send_type, content, create_date FROM chat_message
             WHERE user_id = $1 AND customer_id = $2 AND id > $3 AND id <= (SELECT last_msg_id
               FROM relation WHERE user_id = $1 AND customer_id = $2) ORDER BY id LIMIT $4"
        }
        None => {
            "SELECT id, send_type, content, create_date FROM chat_message
             WHERE user_id = $1 AND customer_id = $2 AND id <= (SELECT last_msg_id
               FROM relation WHERE user_id = $1 AND customer_id = $2) ORDER BY id DESC LIMIT $4 OFFSET $3"
        }
    };
    let (extra_cols, extra_from) = extra;
    format!(
        "SELECT {PAIR_COLS} {extra_cols},
           COALESCE(r.msg_count, 0) AS data_count,
           r.first_msg_id, r.last_msg_id AS max_msg_id,
           m.id, m.send_type, m.content, m.create_date
         {} {extra_from} LEFT JOIN ({page}) m ON r.id IS NOT NULL {} ORDER BY m.id",
        anchor.joins_sql(),
        anchor.where_sql()
    )
}

async fn history_rows<R>(
    st: &AppState,
    sql: &str,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<Vec<R>, Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as::<_, R>(sql)
        .bind(user_id)
        .bind(customer_id)
        .bind(after_id.map(|a| a.max(0)).unwrap_or(paging.offset()))
        .bind(paging.length)
        .fetch_all(&st.db.pool)
        .await?)
}

/// A page of history read by `side`: the pair, the conversation's count and the
/// page's messages, which are marked read by `side` (with `after_id`, those
/// returned; else the whole conversation).
struct Page {
    pair: Pair,
    data_count: i64,
    first_id: i64,
    messages: Vec<MessageRow>,
}

async fn read_page(
    st: &AppState,
    side: Side,
    rows: Vec<HistoryRow>,
    user_id: i64,
    customer_id: i64,
    after_id: Option<i64>,
) -> Result<Page, Error> {
    let mut rows = rows.into_iter().peekable();
    let first = rows.peek().ok_or_else(|| Anchor(side.other()).missing())?;
    let (data_count, first_id, max_id) = (
        first.data_count,
        first.first_msg_id.unwrap_or(0),
        first.max_msg_id.unwrap_or(0),
    );
    let mut pair = None;
    let mut messages = Vec::new();
    for r in rows {
        if pair.is_none() {
            pair = Some(r.pair.pair(user_id, customer_id));
        }
        messages.extend(r.msg.message());
    }
    let pair = pair.flatten().ok_or(Error::NoRelation)?;
    let read_up_to = match after_id {
        Some(_) => messages.last().map(|m| m.id).unwrap_or(0),
        None => max_id,
    };
    mark_read(st, &pair, side, read_up_to).await?;
    Ok(Page {
        pair,
        data_count,
        first_id,
        messages,
    })
}

/// API doc 1.3: a page of history (or with `after_id` the next messages after
/// it, for resume) and the rep's card; what it shows is read by the customer.
pub async fn customer_history(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<CustomerHistory, Error> {
    let anchor = Anchor(Side::Sales);
    let sql = history_sql(anchor, after_id, (CARD_COLS, CARD_FROM));
    let rows: Vec<CustomerHistoryRow> =
        history_rows(st, &sql, u_id, customer_id, paging, after_id).await?;
    let card = rows.first().ok_or_else(|| anchor.missing())?.card.clone();
    let rows = rows.into_iter().map(|r| r.history).collect();
    let page = read_page(st, Side::Customer, rows, u_id, customer_id, after_id).await?;
    let wechat_phone = card.wechat_phone.unwrap_or_default();
    let or_phone = |v: Option<String>| match v {
        Some(v) if !v.is_empty() => v,
        _ => wechat_phone.clone(),
    };
    Ok(CustomerHistory {
        ret_data: page
            .messages
            .iter()
            .map(|m| customer_item(st, &page.pair, m, page.first_id, TimeStyle::Iso))
            .collect(),
        mingpian_phone: or_phone(card.mingpian_phone),
        wechat: or_phone(card.wechat),
        company_id: card.company_id.unwrap_or_default(),
        company_name: card.company_name.unwrap_or_default(),
        user_name: card.a_username.unwrap_or_default(),
        qrcode_url: card.qrcode_url.unwrap_or_default(),
        data_count: page.data_count,
    })
}

/// Semantics §10.5: a page of history (or with `after_id` the next messages
/// after it); what it shows is read by the rep.
pub async fn sales_history(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<SalesHistory, Error> {
    let sql = history_sql(
        Anchor(Side::Customer),
        after_id,
        (
            ", (SELECT su.company_id FROM sales_user su WHERE su.id = $1) AS company_id",
            "",
        ),
    );
    let rows: Vec<SalesHistoryRow> =
        history_rows(st, &sql, user_id, customer_id, paging, after_id).await?;
    let company_id = rows.first().map(|r| r.company_id).unwrap_or_default();
    let rows = rows.into_iter().map(|r| r.history).collect();
    let page = read_page(st, Side::Sales, rows, user_id, customer_id, after_id).await?;
    Ok(SalesHistory {
        ret_data: page
            .messages
            .iter()
            .map(|m| sales_item(st, &page.pair, m, TimeStyle::Iso))
            .collect(),
        data_count: page.data_count,
        company_id,
    })
}
