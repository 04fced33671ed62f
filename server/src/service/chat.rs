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
use crate::service::customer_name;
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

pub async fn pair(st: &AppState, user_id: i64, customer_id: i64) -> Result<Pair, Error> {
    let row = sqlx::query(
        "SELECT r.id, r.customer_read_id, r.user_read_id, c.username, c.headimgurl, u.avatar
         FROM relation r JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id
         WHERE r.user_id = $1 AND r.customer_id = $2",
    )
    .bind(user_id)
    .bind(customer_id)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or(Error::NoRelation)?;
    Ok(Pair {
        relation_id: get_i64(&row, "id")?,
        user_id,
        customer_id,
        customer_name: customer_name(customer_id, &get_str(&row, "username")?),
        customer_headimgurl: get_str(&row, "headimgurl")?,
        user_avatar: get_str(&row, "avatar")?,
        customer_read_id: get_i64(&row, "customer_read_id")?,
        user_read_id: get_i64(&row, "user_read_id")?,
    })
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

#[derive(Debug, Clone, Copy)]
pub enum TimeStyle {
    /// Django's `2018-09-21T15:18:01.548` (REST).
    Iso,
    /// `2018-09-21 15:18:01` (socket pushes).
    Plain,
}

fn render_time(st: &AppState, ms: i64, style: TimeStyle) -> String {
    match style {
        TimeStyle::Iso => timefmt::iso(st.config.tz, ms),
        TimeStyle::Plain => timefmt::plain(st.config.tz, ms),
    }
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

/// One page of the pair's history: page 1 holds the newest `length` messages,
/// each page oldest first.
pub async fn history_page(
    st: &AppState,
    p: &Pair,
    paging: Paging,
) -> Result<Vec<MessageRow>, Error> {
    let sql = format!(
        "SELECT {MSG_COLS} FROM chat_message WHERE user_id = $1 AND customer_id = $2 ORDER BY id DESC LIMIT $3 OFFSET $4"
    );
    let rows = sqlx::query(&sql)
        .bind(p.user_id)
        .bind(p.customer_id)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    let mut v: Vec<MessageRow> = rows.iter().map(message_row).collect::<Result<_, _>>()?;
    v.reverse();
    Ok(v)
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

pub async fn total_count(st: &AppState, p: &Pair) -> Result<i64, Error> {
    count_pair(st, p, "", 0).await
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
    let mut tx = st.db.begin_write().await?;
    // The relation row is updated *before* the insert: on PostgreSQL the row
    // lock makes concurrent sends of one conversation commit in id order, so a
    // reader resuming "after id N" can never see N+1 before N.
    let touch = if send_type == SEND_SALES_TO_CUSTOMER {
        "UPDATE relation SET last_follow_time = $1, is_user_msg_num = is_user_msg_num + 1 WHERE id = $2"
    } else {
        "UPDATE relation SET last_activity_time = $1, is_customer_msg_num = is_customer_msg_num + 1 WHERE id = $2"
    };
    sqlx::query(touch)
        .bind(now)
        .bind(p.relation_id)
        .execute(&mut **tx)
        .await?;
    let article_id = match (send_type, out.article_id) {
        (_, Some(a)) => Some(a),
        (SEND_SALES_TO_CUSTOMER, None) => {
            // Keeps the "article consultation" attribution of the conversation.
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT article_id FROM chat_message WHERE user_id = $1 AND customer_id = $2 AND send_type = 2
                 AND article_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(p.user_id)
            .bind(p.customer_id)
            .fetch_optional(&mut **tx)
            .await?
            .flatten()
        }
        _ => None,
    };
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, client_msg_id, article_id, create_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(p.user_id)
    .bind(p.customer_id)
    .bind(send_type)
    .bind(out.content.to_json_string())
    .bind(out.client_msg_id.as_deref())
    .bind(article_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
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
    sqlx::query(
        "UPDATE relation SET last_msg_id = $1 WHERE id = $2 AND (last_msg_id IS NULL OR last_msg_id < $1)",
    )
    .bind(id)
    .bind(p.relation_id)
    .execute(&mut **tx)
    .await?;
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

async fn sales_user_exists(st: &AppState, user_id: i64) -> Result<bool, Error> {
    crate::service::admin::exists(st, "sales_user", user_id).await
}

/// API doc 1.1: the customer writes to sales user `u_id`.
pub async fn customer_send(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    if !sales_user_exists(st, u_id).await? {
        return Err(Error::field("u_id", "用户名不存在", ""));
    }
    if let Some(a) = out.article_id {
        if !crate::service::admin::exists(st, "article", a).await? {
            return Err(Error::field("article_id", "文章不存在", ""));
        }
    }
    let p = pair(st, u_id, customer_id).await?;
    store(st, &p, SEND_CUSTOMER_TO_SALES, out).await
}

/// Semantics §10.3: the rep writes to a customer.
pub async fn sales_send(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    if !crate::service::admin::exists(st, "customer", customer_id).await? {
        return Err(Error::field("customer_id", "客户不存在", ""));
    }
    let p = pair(st, user_id, customer_id).await?;
    store(st, &p, SEND_SALES_TO_CUSTOMER, out).await
}

/// Messages the customer has not read yet (API doc 1.2), then marked read.
pub async fn customer_getmsg(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
) -> Result<Vec<Value>, Error> {
    let p = pair(st, u_id, customer_id).await?;
    let rows = messages_after(
        st,
        &p,
        p.customer_read_id,
        Some(SEND_CUSTOMER_TO_SALES),
        1000,
    )
    .await?;
    let items = rows
        .iter()
        .map(|m| customer_item(st, &p, m, -1, TimeStyle::Iso))
        .collect();
    if let Some(last) = rows.last() {
        mark_read(st, &p, Side::Customer, last.id).await?;
    }
    Ok(items)
}

pub struct History {
    pub items: Vec<Value>,
    pub data_count: i64,
    pub pair: Pair,
}

/// A page of history, or with `after_id` the next messages after it (for resume).
/// Reading history marks what it shows as read by the reader.
async fn history(
    st: &AppState,
    p: Pair,
    side: Side,
    paging: Paging,
    after_id: Option<i64>,
) -> Result<History, Error> {
    let data_count = total_count(st, &p).await?;
    let (rows, read_up_to) = match after_id {
        Some(a) => {
            let rows = messages_after(st, &p, a.max(0), None, paging.length).await?;
            let up = rows.last().map(|m| m.id).unwrap_or(0);
            (rows, up)
        }
        None => (history_page(st, &p, paging).await?, max_id(st, &p).await?),
    };
    let items = match side {
        Side::Customer => {
            let first = first_id(st, &p).await?;
            rows.iter()
                .map(|m| customer_item(st, &p, m, first, TimeStyle::Iso))
                .collect()
        }
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
    if !sales_user_exists(st, u_id).await? {
        return Err(Error::field("u_id", "用户名不存在", ""));
    }
    let p = pair(st, u_id, customer_id).await?;
    let h = history(st, p, Side::Customer, paging, after_id).await?;
    let row = sqlx::query(
        "SELECT u.username, u.mingpian_phone, u.wechat_phone, u.wechat, c.id AS company_id, c.name AS company_name,
                g.qrcode_url
         FROM sales_user u JOIN company c ON c.id = u.company_id LEFT JOIN gongzhonghao_app g ON g.company_id = c.id
         WHERE u.id = $1",
    )
    .bind(u_id)
    .fetch_one(&st.db.pool)
    .await?;
    let or_phone = |v: String, fallback: &str| if v.is_empty() { fallback.to_owned() } else { v };
    let wechat_phone = get_str(&row, "wechat_phone")?;
    let extra = json!({
        "mingpian_phone": or_phone(get_str(&row, "mingpian_phone")?, &wechat_phone),
        "wechat": or_phone(get_str(&row, "wechat")?, &wechat_phone),
        "company_id": get_i64(&row, "company_id")?,
        "company_name": get_str(&row, "company_name")?,
        "user_name": get_str(&row, "username")?,
        "qrcode_url": get_str(&row, "qrcode_url")?,
    });
    Ok((h, extra))
}

/// API doc 1.4: unread messages from the rep.
pub async fn customer_query_num(st: &AppState, customer_id: i64, u_id: i64) -> Result<i64, Error> {
    let p = pair(st, u_id, customer_id).await?;
    customer_unread_count(st, &p).await
}

/// Semantics §10.4: customer messages the rep has not read, then marked read.
pub async fn sales_getmsg(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
) -> Result<Vec<Value>, Error> {
    let p = pair(st, user_id, customer_id).await?;
    let rows = messages_after(st, &p, p.user_read_id, Some(SEND_SALES_TO_CUSTOMER), 1000).await?;
    let items = rows
        .iter()
        .map(|m| sales_item(st, &p, m, p.customer_read_id, TimeStyle::Iso))
        .collect();
    if let Some(last) = rows.last() {
        mark_read(st, &p, Side::Sales, last.id).await?;
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
    if !crate::service::admin::exists(st, "customer", customer_id).await? {
        return Err(Error::field("customer_id", "客户不存在", ""));
    }
    let p = pair(st, user_id, customer_id).await?;
    history(st, p, Side::Sales, paging, after_id).await
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
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m JOIN relation r
           ON r.user_id = m.user_id AND r.customer_id = m.customer_id
         WHERE r.user_id = $1 AND m.user_id = $1 AND m.send_type = 2 AND m.id > r.user_read_id",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?)
}

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
    let data_count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM relation WHERE user_id = $1 AND last_msg_id IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?;
    let rows = sqlx::query(
        "SELECT r.customer_id, r.last_msg_id, c.username, c.headimgurl, c.user_type, c.is_subscribe,
                m.content, m.create_date,
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
            "msg": MessageContent::preview(&content),
            "count": get_i64(r, "unread")?,
            "tags_list": tags.iter().filter(|(c, _)| *c == cid).map(|(_, n)| n.clone()).collect::<Vec<_>>(),
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

pub fn subscribe_text(v: Option<i64>) -> Value {
    match v {
        Some(0) => json!("取消订阅该公众号"),
        Some(1) => json!("已经订阅该公众号"),
        _ => Value::Null,
    }
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
