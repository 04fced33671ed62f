//! Chat between a sales user and a customer: sending, unread messages, history,
//! read watermarks, the rep's contact list and badge.
//!
//! Read state lives on the relation row as two watermarks: a rep message is
//! unread by the customer while its id is above `customer_read_id`, a customer
//! message unread by the rep while its id is above `user_read_id`. REST and
//! sockets share these definitions.

use app::api::{customer_source_text, SEND_CUSTOMER_TO_SALES, SEND_SALES_TO_CUSTOMER};
use app::domain::MessageContent;
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::bus::Event;
use crate::db::{get_i64, get_opt_i64, get_str, is_unique_violation, placeholders};
use crate::error::Error;
use crate::extract::Paging;
use crate::service::display::{customer_name, render_time, subscribe_text, TimeStyle};
use crate::service::SAME_COMPANY;
use crate::timefmt;
use crate::AppState;

/// The relation of a conversation with what rendering its messages needs.
#[derive(Debug, Clone)]
pub struct Pair {
    pub relation_id: i64,
    pub user_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_headimgurl: String,
    pub user_avatar: String,
    pub customer_read_id: i64,
    pub user_read_id: i64,
}

/// The columns `pair_of_row` reads, over `relation r`, `customer c`, `sales_user u`.
const PAIR_COLS: &str = "r.id AS relation_id, r.customer_read_id, r.user_read_id,
    c.username AS c_username, c.headimgurl AS c_headimgurl, u.avatar AS u_avatar";

/// The pair from `PAIR_COLS`; `None` when the (left-joined) relation is absent.
fn pair_of_row(row: &AnyRow, user_id: i64, customer_id: i64) -> Result<Option<Pair>, Error> {
    let Some(relation_id) = get_opt_i64(row, "relation_id")? else {
        return Ok(None);
    };
    Ok(Some(Pair {
        relation_id,
        user_id,
        customer_id,
        customer_name: customer_name(customer_id, &get_str(row, "c_username")?),
        customer_headimgurl: get_str(row, "c_headimgurl")?,
        user_avatar: get_str(row, "u_avatar")?,
        customer_read_id: get_i64(row, "customer_read_id")?,
        user_read_id: get_i64(row, "user_read_id")?,
    }))
}

pub async fn pair(st: &AppState, user_id: i64, customer_id: i64) -> Result<Pair, Error> {
    let sql = format!(
        "SELECT {PAIR_COLS}
         FROM relation r JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id
         WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}"
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(customer_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(Error::NoRelation)?;
    pair_of_row(&row, user_id, customer_id)?.ok_or(Error::NoRelation)
}

/// Which party must exist for a pair lookup to be meaningful: its absence is a
/// field error (402), distinct from an existing party without relation (307).
#[derive(Debug, Clone, Copy)]
enum Anchor {
    Sales,
    Customer,
}

impl Anchor {
    /// `FROM` clause: the anchor row, then the relation (only one within a
    /// company) and its two ends left-joined. Binds `$1` = user id, `$2` = customer id.
    fn joins_sql(self) -> String {
        match self {
            Anchor::Sales => format!(
                "FROM sales_user a LEFT JOIN relation r ON r.user_id = a.id AND r.customer_id = $2 AND {SAME_COMPANY}
                 LEFT JOIN customer c ON c.id = r.customer_id LEFT JOIN sales_user u ON u.id = r.user_id"
            ),
            Anchor::Customer => format!(
                "FROM customer a LEFT JOIN relation r ON r.customer_id = a.id AND r.user_id = $1 AND {SAME_COMPANY}
                 LEFT JOIN customer c ON c.id = r.customer_id LEFT JOIN sales_user u ON u.id = r.user_id"
            ),
        }
    }
    fn where_sql(self) -> &'static str {
        match self {
            Anchor::Sales => "WHERE a.id = $1",
            Anchor::Customer => "WHERE a.id = $2",
        }
    }
    fn missing(self) -> Error {
        match self {
            Anchor::Sales => Error::field("u_id", "用户名不存在", ""),
            Anchor::Customer => Error::field("customer_id", "客户不存在", ""),
        }
    }
}

/// The anchor's existence and the pair in one statement (two before).
async fn anchored_pair(
    st: &AppState,
    anchor: Anchor,
    user_id: i64,
    customer_id: i64,
) -> Result<Option<Pair>, Error> {
    let sql = format!(
        "SELECT {PAIR_COLS} {} {}",
        anchor.joins_sql(),
        anchor.where_sql()
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(customer_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(|| anchor.missing())?;
    pair_of_row(&row, user_id, customer_id)
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub send_type: i64,
    pub content: Map<String, Value>,
    pub create_date: i64,
}

const MSG_COLS: &str = "id, send_type, content, create_date";

fn message_row(row: &AnyRow) -> Result<MessageRow, sqlx::Error> {
    let content = match serde_json::from_str::<Value>(&get_str(row, "content")?) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    Ok(MessageRow {
        id: get_i64(row, "id")?,
        send_type: get_i64(row, "send_type")?,
        content,
        create_date: get_i64(row, "create_date")?,
    })
}

/// Content keys follow the base keys, but never replace them: a client must not
/// be able to forge `id`, `customer_id` or `send_type` through its content.
fn merge_content(mut base: Map<String, Value>, content: &Map<String, Value>) -> Value {
    for (k, v) in content {
        if !base.contains_key(k) {
            base.insert(k.clone(), v.clone());
        }
    }
    Value::Object(base)
}

/// A message as the customer side sees it (API doc 1.2/1.3, socket pushes).
pub fn customer_item(
    st: &AppState,
    p: &Pair,
    m: &MessageRow,
    first_id: i64,
    style: TimeStyle,
) -> Value {
    let mut b = Map::new();
    b.insert("id".into(), json!(m.id));
    b.insert("customer_id".into(), json!(p.customer_id));
    b.insert("user_id".into(), json!(p.user_id));
    b.insert("customer".into(), json!(p.customer_name));
    b.insert("from_user_name".into(), json!(p.customer_name));
    b.insert("user_avatar".into(), json!(p.user_avatar));
    b.insert("user_avator".into(), json!(p.user_avatar));
    b.insert("customer_headimgurl".into(), json!(p.customer_headimgurl));
    b.insert(
        "dateTime".into(),
        json!(render_time(st, m.create_date, style)),
    );
    b.insert("send_type".into(), json!(m.send_type));
    b.insert("is_first_info".into(), json!(m.id == first_id));
    merge_content(b, &m.content)
}

/// A message as the sales side sees it (semantics §10.2), with its read receipt.
pub fn sales_item(
    st: &AppState,
    p: &Pair,
    m: &MessageRow,
    customer_read_id: i64,
    style: TimeStyle,
) -> Value {
    let read = m.send_type == SEND_CUSTOMER_TO_SALES || m.id <= customer_read_id;
    let mut b = Map::new();
    b.insert("id".into(), json!(m.id));
    b.insert("customer_id".into(), json!(p.customer_id));
    b.insert("customer_avatar".into(), json!(p.customer_headimgurl));
    b.insert("user_id".into(), json!(p.user_id));
    b.insert("src".into(), json!(p.customer_headimgurl));
    b.insert("name".into(), json!(p.customer_name));
    b.insert(
        "dateTime".into(),
        json!(render_time(st, m.create_date, style)),
    );
    b.insert("send_type".into(), json!(m.send_type));
    b.insert("is_customer_already_read".into(), json!(i64::from(read)));
    b.insert(
        "is_customer_already_read_text".into(),
        json!(if read { "已读" } else { "未读" }),
    );
    merge_content(b, &m.content)
}

/// Id of the first message of the conversation (`is_first_info`), 0 when empty.
pub async fn first_id(st: &AppState, p: &Pair) -> Result<i64, Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(id) FROM chat_message WHERE user_id = $1 AND customer_id = $2",
    )
    .bind(p.user_id)
    .bind(p.customer_id)
    .fetch_one(&st.db.pool)
    .await?;
    Ok(id.unwrap_or(0))
}

async fn count_pair(st: &AppState, p: &Pair, extra: &str, after: i64) -> Result<i64, Error> {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message WHERE user_id = $1 AND customer_id = $2 AND id > $3 {extra}"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(p.user_id)
        .bind(p.customer_id)
        .bind(after)
        .fetch_one(&st.db.pool)
        .await?)
}

/// Messages of the pair with `id > after_id`, oldest first, at most `limit`.
/// `sender` restricts to one send_type when given.
pub async fn messages_after(
    st: &AppState,
    p: &Pair,
    after_id: i64,
    exclude_send_type: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageRow>, Error> {
    let sql = format!(
        "SELECT {MSG_COLS} FROM chat_message WHERE user_id = $1 AND customer_id = $2 AND id > $3 AND send_type <> $4
         ORDER BY id LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(p.user_id)
        .bind(p.customer_id)
        .bind(after_id)
        .bind(exclude_send_type.unwrap_or(-1))
        .bind(limit)
        .fetch_all(&st.db.pool)
        .await?;
    Ok(rows.iter().map(message_row).collect::<Result<_, _>>()?)
}

pub async fn max_id(st: &AppState, p: &Pair) -> Result<i64, Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(id) FROM chat_message WHERE user_id = $1 AND customer_id = $2",
    )
    .bind(p.user_id)
    .bind(p.customer_id)
    .fetch_one(&st.db.pool)
    .await?;
    Ok(id.unwrap_or(0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Customer,
    Sales,
}

/// Moves a read watermark forward (never back) and announces it. Returns true
/// when it moved.
pub async fn mark_read(st: &AppState, p: &Pair, side: Side, up_to_id: i64) -> Result<bool, Error> {
    let (current, sql) = match side {
        Side::Customer => (
            p.customer_read_id,
            "UPDATE relation SET customer_read_id = $1 WHERE id = $2 AND customer_read_id < $1",
        ),
        Side::Sales => (
            p.user_read_id,
            "UPDATE relation SET user_read_id = $1 WHERE id = $2 AND user_read_id < $1",
        ),
    };
    if up_to_id <= current {
        return Ok(false);
    }
    let mut tx = st.db.begin_write().await?;
    let n = sqlx::query(sql)
        .bind(up_to_id)
        .bind(p.relation_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if n > 0 {
        st.bus.publish(match side {
            Side::Customer => Event::CustomerRead {
                user_id: p.user_id,
                customer_id: p.customer_id,
                up_to_id,
            },
            Side::Sales => Event::SalesRead {
                user_id: p.user_id,
                customer_id: p.customer_id,
                up_to_id,
            },
        });
    }
    Ok(n > 0)
}

/// Messages from the rep not yet read by the customer.
pub async fn customer_unread_count(st: &AppState, p: &Pair) -> Result<i64, Error> {
    count_pair(st, p, "AND send_type = 1", p.customer_read_id).await
}

/// Messages from the customer not yet read by the rep.
pub async fn sales_unread_count(st: &AppState, p: &Pair) -> Result<i64, Error> {
    count_pair(st, p, "AND send_type = 2", p.user_read_id).await
}

/// What a send needs after parsing.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub content: MessageContent,
    pub client_msg_id: Option<String>,
    pub article_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub id: i64,
    pub create_date: i64,
    /// True when `client_msg_id` matched an earlier send: nothing new was stored.
    pub duplicate: bool,
}

async fn find_by_client_id(
    st: &AppState,
    p: &Pair,
    send_type: i64,
    cid: &str,
) -> Result<Option<Sent>, Error> {
    let row = sqlx::query(
        "SELECT id, create_date FROM chat_message
         WHERE user_id = $1 AND customer_id = $2 AND send_type = $3 AND client_msg_id = $4",
    )
    .bind(p.user_id)
    .bind(p.customer_id)
    .bind(send_type)
    .bind(cid)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(match row {
        Some(r) => Some(Sent {
            id: get_i64(&r, "id")?,
            create_date: get_i64(&r, "create_date")?,
            duplicate: true,
        }),
        None => None,
    })
}

/// Stores one message and the relation bookkeeping in one transaction, then
/// publishes it.
async fn store(st: &AppState, p: &Pair, send_type: i64, out: &Outgoing) -> Result<Sent, Error> {
    if let Some(cid) = &out.client_msg_id {
        if let Some(s) = find_by_client_id(st, p, send_type, cid).await? {
            return Ok(s);
        }
    }
    let now = st.clock.now_ms();
    let (count_col, time_col) = if send_type == SEND_SALES_TO_CUSTOMER {
        ("is_user_msg_num", "last_follow_time")
    } else {
        ("is_customer_msg_num", "last_activity_time")
    };
    // A rep's message without an article keeps the conversation's "article
    // consultation" attribution. The lookup is part of the INSERT, so it sees
    // the same snapshot as the insert and costs no extra round trip under the
    // writer lock.
    let article_sql = match (send_type, out.article_id) {
        (_, Some(_)) => "$7",
        (SEND_SALES_TO_CUSTOMER, None) => {
            "(SELECT a.article_id FROM chat_message a WHERE a.user_id = $1 AND a.customer_id = $2
               AND a.send_type = 2 AND a.article_id IS NOT NULL ORDER BY a.id DESC LIMIT 1)"
        }
        _ => "NULL",
    };
    let insert_sql = format!(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, client_msg_id, create_date, article_id)
         VALUES ($1, $2, $3, $4, $5, $6, {article_sql}) RETURNING id"
    );
    let content = out.content.to_json_string();
    let sqlite = st.db.backend == crate::db::Backend::Sqlite;
    let mut tx = st.db.begin_write().await?;
    if !sqlite {
        // On PostgreSQL the relation row is updated *before* the insert: its
        // row lock makes concurrent sends of one conversation commit in id
        // order, so a reader resuming "after id N" can never see N+1 before N.
        // On SQLite the writer lock already serializes whole transactions, so
        // the relation is updated once, after the insert.
        let touch = format!(
            "UPDATE relation SET {time_col} = $1, {count_col} = {count_col} + 1 WHERE id = $2"
        );
        sqlx::query(&touch)
            .bind(now)
            .bind(p.relation_id)
            .execute(&mut **tx)
            .await?;
    }
    let mut insert = sqlx::query_scalar::<_, i64>(&insert_sql)
        .bind(p.user_id)
        .bind(p.customer_id)
        .bind(send_type)
        .bind(content.as_str())
        .bind(out.client_msg_id.as_deref())
        .bind(now);
    if let Some(a) = out.article_id {
        insert = insert.bind(a);
    }
    let inserted = insert.fetch_one(&mut **tx).await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let cid = out.client_msg_id.as_deref().unwrap_or_default();
            return find_by_client_id(st, p, send_type, cid)
                .await?
                .ok_or(Error::Db(e));
        }
        Err(e) => return Err(e.into()),
    };
    if sqlite {
        let sql = format!(
            "UPDATE relation SET {time_col} = $1, {count_col} = {count_col} + 1,
               last_msg_id = CASE WHEN last_msg_id IS NULL OR last_msg_id < $3 THEN $3 ELSE last_msg_id END
             WHERE id = $2"
        );
        sqlx::query(&sql)
            .bind(now)
            .bind(p.relation_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    } else {
        sqlx::query(
            "UPDATE relation SET last_msg_id = $1 WHERE id = $2 AND (last_msg_id IS NULL OR last_msg_id < $1)",
        )
        .bind(id)
        .bind(p.relation_id)
        .execute(&mut **tx)
        .await?;
    }
    tx.commit().await?;
    st.bus.publish(Event::MessageCreated {
        id,
        user_id: p.user_id,
        customer_id: p.customer_id,
        send_type,
    });
    Ok(Sent {
        id,
        create_date: now,
        duplicate: false,
    })
}

/// API doc 1.1: the customer writes to sales user `u_id`.
pub async fn customer_send(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    let p = anchored_pair(st, Anchor::Sales, u_id, customer_id).await?;
    check_articles(st, u_id, out, Side::Customer).await?;
    let p = p.ok_or(Error::NoRelation)?;
    store(st, &p, SEND_CUSTOMER_TO_SALES, out).await
}

/// Whether `article_id` may be named in a message of rep `user_id`'s
/// conversations: an article of the rep's company (a pair always shares one),
/// and for a customer sender only a published one.
async fn article_in_scope(
    st: &AppState,
    user_id: i64,
    article_id: i64,
    side: Side,
) -> Result<bool, Error> {
    let published_only = i64::from(side == Side::Customer);
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT a.id FROM article a JOIN sales_user u ON u.company_id = a.company_id
         WHERE a.id = $1 AND u.id = $2 AND ($3 = 0 OR a.status = $4)",
    )
    .bind(article_id)
    .bind(user_id)
    .bind(published_only)
    .bind(crate::service::article::STATUS_PUBLISHED)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(found.is_some())
}

/// The articles a message names — the send's `article_id` and an `article_id`
/// key inside its content, which clients see as part of the message — must be
/// in the pair's scope. Out of scope answers like an article that does not
/// exist (402), and nothing is stored.
async fn check_articles(
    st: &AppState,
    user_id: i64,
    out: &Outgoing,
    side: Side,
) -> Result<(), Error> {
    if let Some(a) = out.article_id {
        if !article_in_scope(st, user_id, a, side).await? {
            return Err(Error::field("article_id", "文章不存在", ""));
        }
    }
    let Some(v) = out.content.object().get("article_id") else {
        return Ok(());
    };
    let id = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Null => return Ok(()),
        _ => None,
    };
    match id {
        Some(a) if article_in_scope(st, user_id, a, side).await? => Ok(()),
        _ => Err(Error::field("content", "消息中的文章不存在", "invalid")),
    }
}

/// Semantics §10.3: the rep writes to a customer.
pub async fn sales_send(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    let p = anchored_pair(st, Anchor::Customer, user_id, customer_id)
        .await?
        .ok_or(Error::NoRelation)?;
    check_articles(st, user_id, out, Side::Sales).await?;
    store(st, &p, SEND_SALES_TO_CUSTOMER, out).await
}

/// The pair and the other side's messages above `side`'s read watermark
/// (oldest first, at most 1000), in one statement.
async fn pending(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    side: Side,
) -> Result<(Pair, Vec<MessageRow>), Error> {
    let (watermark, own_type) = match side {
        Side::Customer => ("customer_read_id", SEND_CUSTOMER_TO_SALES),
        Side::Sales => ("user_read_id", SEND_SALES_TO_CUSTOMER),
    };
    let sql = format!(
        "SELECT {PAIR_COLS}, m.id, m.send_type, m.content, m.create_date
         FROM relation r JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id
         LEFT JOIN chat_message m ON m.user_id = r.user_id AND m.customer_id = r.customer_id
           AND m.id > r.{watermark} AND m.send_type <> $3
         WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}
         ORDER BY m.id LIMIT 1000"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(customer_id)
        .bind(own_type)
        .fetch_all(&st.db.pool)
        .await?;
    let first = rows.first().ok_or(Error::NoRelation)?;
    let p = pair_of_row(first, user_id, customer_id)?.ok_or(Error::NoRelation)?;
    let msgs = joined_messages(&rows)?;
    Ok((p, msgs))
}

/// The messages of left-joined rows (`m.id` NULL when there were none).
fn joined_messages(rows: &[AnyRow]) -> Result<Vec<MessageRow>, Error> {
    let mut v = Vec::with_capacity(rows.len());
    for r in rows {
        if get_opt_i64(r, "id")?.is_some() {
            v.push(message_row(r)?);
        }
    }
    Ok(v)
}

/// Serialised items one `getmsg` answers at most; the rest stays unread and
/// comes with the next call.
pub const GETMSG_MAX_BYTES: usize = 1024 * 1024;

/// The leading items whose JSON fits in `max` bytes (at least one), with the
/// id of the last one taken: only what is returned may be marked read.
fn within_bytes(
    items: impl Iterator<Item = (i64, Value)>,
    max: usize,
) -> (Vec<Value>, Option<i64>) {
    let mut out = Vec::new();
    let mut last = None;
    let mut size = 0;
    for (id, item) in items {
        // Each item after the first costs its separating comma too.
        let n = item.to_string().len() + 1;
        if !out.is_empty() && size + n > max {
            break;
        }
        size += n;
        last = Some(id);
        out.push(item);
    }
    (out, last)
}

/// Messages the customer has not read yet (API doc 1.2), then marked read.
pub async fn customer_getmsg(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
) -> Result<Vec<Value>, Error> {
    let (p, rows) = pending(st, u_id, customer_id, Side::Customer).await?;
    let (items, last) = within_bytes(
        rows.iter()
            .map(|m| (m.id, customer_item(st, &p, m, -1, TimeStyle::Iso))),
        GETMSG_MAX_BYTES,
    );
    if let Some(last) = last {
        mark_read(st, &p, Side::Customer, last).await?;
    }
    Ok(items)
}

pub struct History {
    pub items: Vec<Value>,
    pub data_count: i64,
    pub pair: Pair,
}

/// One history read: the anchor, the pair, the conversation's count, first and
/// last id, and the page, all in one statement.
struct HistoryRead {
    rows: Vec<AnyRow>,
    pair: Option<Pair>,
    data_count: i64,
    first_id: i64,
    max_id: i64,
    messages: Vec<MessageRow>,
}

/// `extra` adds columns over the anchor `a` (and whatever `extra_from` joins).
async fn history_read(
    st: &AppState,
    anchor: Anchor,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    after_id: Option<i64>,
    extra: (&str, &str),
) -> Result<HistoryRead, Error> {
    let page = match after_id {
        Some(_) => {
            "SELECT id, send_type, content, create_date FROM chat_message
             WHERE user_id = $1 AND customer_id = $2 AND id > $3 ORDER BY id LIMIT $4"
        }
        None => {
            "SELECT id, send_type, content, create_date FROM chat_message
             WHERE user_id = $1 AND customer_id = $2 ORDER BY id DESC LIMIT $4 OFFSET $3"
        }
    };
    let (extra_cols, extra_from) = extra;
    let from = format!(
        "{} {extra_from} LEFT JOIN ({page}) m ON r.id IS NOT NULL {}",
        anchor.joins_sql(),
        anchor.where_sql()
    );
    let pair_msgs = "FROM chat_message s WHERE s.user_id = $1 AND s.customer_id = $2";
    let sql = format!(
        "SELECT {PAIR_COLS} {extra_cols},
           (SELECT CAST(COUNT(*) AS BIGINT) {pair_msgs}) AS data_count,
           (SELECT MIN(s.id) {pair_msgs}) AS first_msg_id,
           (SELECT MAX(s.id) {pair_msgs}) AS max_msg_id,
           m.id, m.send_type, m.content, m.create_date
         {from} ORDER BY m.id"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(customer_id)
        .bind(after_id.map(|a| a.max(0)).unwrap_or(paging.offset()))
        .bind(paging.length)
        .fetch_all(&st.db.pool)
        .await?;
    let first = rows.first().ok_or_else(|| anchor.missing())?;
    let pair = pair_of_row(first, user_id, customer_id)?;
    let data_count = get_i64(first, "data_count")?;
    let first_id = get_opt_i64(first, "first_msg_id")?.unwrap_or(0);
    let max_id = get_opt_i64(first, "max_msg_id")?.unwrap_or(0);
    let messages = joined_messages(&rows)?;
    Ok(HistoryRead {
        rows,
        pair,
        data_count,
        first_id,
        max_id,
        messages,
    })
}

/// A page of history, or with `after_id` the next messages after it (for resume).
/// Reading history marks what it shows as read by the reader.
async fn history(
    st: &AppState,
    h: HistoryRead,
    side: Side,
    after_id: Option<i64>,
) -> Result<History, Error> {
    let p = h.pair.ok_or(Error::NoRelation)?;
    let data_count = h.data_count;
    let rows = h.messages;
    let read_up_to = match after_id {
        Some(_) => rows.last().map(|m| m.id).unwrap_or(0),
        None => h.max_id,
    };
    let items = match side {
        Side::Customer => rows
            .iter()
            .map(|m| customer_item(st, &p, m, h.first_id, TimeStyle::Iso))
            .collect(),
        Side::Sales => rows
            .iter()
            .map(|m| sales_item(st, &p, m, p.customer_read_id, TimeStyle::Iso))
            .collect(),
    };
    mark_read(st, &p, side, read_up_to).await?;
    Ok(History {
        items,
        data_count,
        pair: p,
    })
}

pub async fn customer_history(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<(History, Value), Error> {
    // The rep's card comes with the same statement: `a` is the rep.
    let read = history_read(
        st,
        Anchor::Sales,
        u_id,
        customer_id,
        paging,
        after_id,
        (
            ", a.username AS a_username, a.mingpian_phone, a.wechat_phone, a.wechat,
               co.id AS company_id, co.name AS company_name, g.qrcode_url",
            "LEFT JOIN company co ON co.id = a.company_id LEFT JOIN gongzhonghao_app g ON g.company_id = co.id",
        ),
    )
    .await?;
    let row = read.rows.first().ok_or(Error::NoRelation)?;
    let or_phone = |v: String, fallback: &str| if v.is_empty() { fallback.to_owned() } else { v };
    let wechat_phone = get_str(row, "wechat_phone")?;
    let extra = json!({
        "mingpian_phone": or_phone(get_str(row, "mingpian_phone")?, &wechat_phone),
        "wechat": or_phone(get_str(row, "wechat")?, &wechat_phone),
        "company_id": get_i64(row, "company_id")?,
        "company_name": get_str(row, "company_name")?,
        "user_name": get_str(row, "a_username")?,
        "qrcode_url": get_str(row, "qrcode_url")?,
    });
    let h = history(st, read, Side::Customer, after_id).await?;
    Ok((h, extra))
}

/// API doc 1.4: unread messages from the rep.
pub async fn customer_query_num(st: &AppState, customer_id: i64, u_id: i64) -> Result<i64, Error> {
    let sql = format!(
        "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m WHERE m.user_id = r.user_id
                   AND m.customer_id = r.customer_id AND m.send_type = 1 AND m.id > r.customer_read_id)
         FROM relation r WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}"
    );
    sqlx::query_scalar::<_, i64>(&sql)
        .bind(u_id)
        .bind(customer_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(Error::NoRelation)
}

/// Semantics §10.4: customer messages the rep has not read, then marked read.
pub async fn sales_getmsg(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
) -> Result<Vec<Value>, Error> {
    let (p, rows) = pending(st, user_id, customer_id, Side::Sales).await?;
    let (items, last) = within_bytes(
        rows.iter().map(|m| {
            (
                m.id,
                sales_item(st, &p, m, p.customer_read_id, TimeStyle::Iso),
            )
        }),
        GETMSG_MAX_BYTES,
    );
    if let Some(last) = last {
        mark_read(st, &p, Side::Sales, last).await?;
    }
    Ok(items)
}

pub async fn sales_history(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<History, Error> {
    let read = history_read(
        st,
        Anchor::Customer,
        user_id,
        customer_id,
        paging,
        after_id,
        ("", ""),
    )
    .await?;
    history(st, read, Side::Sales, after_id).await
}

pub async fn company_of_user(st: &AppState, user_id: i64) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await?,
    )
}

/// The rep's badge: unread customer messages over all conversations.
pub async fn sales_badge(st: &AppState, user_id: i64) -> Result<i64, Error> {
    // Only conversations whose last message is above the rep's watermark can
    // hold unread customer messages; each is counted through its own index
    // range, so the cost follows the unread conversations, not the rep's whole
    // history. CROSS JOIN keeps SQLite from starting at chat_message.
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM relation r CROSS JOIN chat_message m
         WHERE r.user_id = $1 AND r.last_msg_id > r.user_read_id
           AND m.user_id = r.user_id AND m.customer_id = r.customer_id AND m.send_type = 2 AND m.id > r.user_read_id",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?)
}

/// Tags shown per contact-list entry (the newest): a rep may link any number,
/// but one entry must stay small enough for a pushed frame.
pub const MAX_LISTED_TAGS: usize = 50;

pub struct Contacts {
    pub items: Vec<Value>,
    pub data_count: i64,
    pub unread_msg_num: i64,
}

/// Semantics §10.6, computed live: one entry per customer with messages, latest
/// conversation first.
pub async fn sales_contacts(
    st: &AppState,
    user_id: i64,
    paging: Paging,
) -> Result<Contacts, Error> {
    let rows = sqlx::query(
        "SELECT r.customer_id, r.last_msg_id, c.username, c.headimgurl, c.user_type, c.is_subscribe,
                m.content, m.create_date, CAST(COUNT(*) OVER () AS BIGINT) AS data_count,
                (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message x WHERE x.user_id = r.user_id
                   AND x.customer_id = r.customer_id AND x.send_type = 2 AND x.id > r.user_read_id) AS unread
         FROM relation r JOIN customer c ON c.id = r.customer_id JOIN chat_message m ON m.id = r.last_msg_id
         WHERE r.user_id = $1 AND r.last_msg_id IS NOT NULL
         ORDER BY r.last_msg_id DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(paging.length)
    .bind(paging.offset())
    .fetch_all(&st.db.pool)
    .await?;
    // The window count comes with the page; only a page past the end needs
    // its own count.
    let data_count = match rows.first() {
        Some(r) => get_i64(r, "data_count")?,
        None => {
            sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM relation WHERE user_id = $1 AND last_msg_id IS NOT NULL",
            )
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await?
        }
    };
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| get_i64(r, "customer_id"))
        .collect::<Result<_, _>>()?;
    let tags = tags_of(st, user_id, &ids).await?;
    let now = st.clock.now_ms();
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let cid = get_i64(r, "customer_id")?;
        let user_type = get_i64(r, "user_type")?;
        let is_subscribe = get_opt_i64(r, "is_subscribe")?;
        let created = get_i64(r, "create_date")?;
        let content = match serde_json::from_str::<Value>(&get_str(r, "content")?) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        items.push(json!({
            "customer_id": cid,
            "customer_source": user_type,
            "customer_source_text": customer_source_text(user_type),
            "src": get_str(r, "headimgurl")?,
            "is_subscribe": is_subscribe,
            "is_subscribe_text": subscribe_text(is_subscribe),
            "name": customer_name(cid, &get_str(r, "username")?),
            "dateTime": timefmt::chat_relative(st.config.tz, created, now),
            "msg": MessageContent::list_preview(&content),
            "count": get_i64(r, "unread")?,
            "tags_list": tags.iter().filter(|(c, _)| *c == cid).map(|(_, n)| n.clone()).take(MAX_LISTED_TAGS).collect::<Vec<_>>(),
            "crea_date": created as f64 / 1000.0,
            "last_msg_id": get_i64(r, "last_msg_id")?,
        }));
    }
    Ok(Contacts {
        items,
        data_count,
        unread_msg_num: sales_badge(st, user_id).await?,
    })
}

/// The rep's most recent customer activity (customer id, epoch ms), over all
/// relations. The contact-list socket carries it so that an action of a customer
/// without a chat (an article view, a sign-up) still changes the pushed page.
pub async fn latest_activity(st: &AppState, user_id: i64) -> Result<Option<(i64, i64)>, Error> {
    let row = sqlx::query(
        "SELECT customer_id, last_activity_time FROM relation
         WHERE user_id = $1 AND last_activity_time IS NOT NULL
         ORDER BY last_activity_time DESC, customer_id DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(match row {
        None => None,
        Some(r) => Some((
            get_i64(&r, "customer_id")?,
            get_i64(&r, "last_activity_time")?,
        )),
    })
}

/// This rep's tag names on each of `customers`, newest tag first.
pub async fn tags_of(
    st: &AppState,
    user_id: i64,
    customers: &[i64],
) -> Result<Vec<(i64, String)>, Error> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT tc.customer_id, t.name FROM tag t JOIN tag_customer tc ON tc.tag_id = t.id
         WHERE t.user_id = $1 AND tc.customer_id IN ({}) ORDER BY t.id DESC",
        placeholders(2, customers.len())
    );
    let mut q = sqlx::query(&sql).bind(user_id);
    for c in customers {
        q = q.bind(*c);
    }
    let rows = q.fetch_all(&st.db.pool).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64, _>("customer_id")?, get_str(r, "name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}
