//! Sending a message (API doc 1.1, semantics §10.3): what a send carries, the
//! article scope, and storing it with the relation's bookkeeping.

use app::api::chat::{Content, SentMessage};
use app::api::webhook::{MessageCreatedData, WebhookData};
use app::api::Side;
use app::domain::{MessageContent, MAX_CLIENT_MSG_ID};

use super::pair::{Anchor, Pair};
use crate::bus::Event;
use crate::db::{is_unique_violation, Backend};
use crate::error::Error;
use crate::extract::{Check, WHOLE_NUMBER};
use crate::service::display::{render_time, TimeStyle};
use crate::service::webhook;
use crate::AppState;

/// What a send needs after parsing.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub content: MessageContent,
    pub client_msg_id: Option<String>,
    pub article_id: Option<i64>,
}

impl Outgoing {
    /// `content`, `client_msg_id` and `article_id` of a send, from a REST
    /// body or a socket frame; field errors go to `c`.
    pub fn parse(c: &mut Check<'_>) -> Option<Outgoing> {
        let content = match MessageContent::from_field(c.fields.value("content")) {
            Ok(m) => Some(m),
            Err((message, code)) => {
                c.error("content", &message, code);
                None
            }
        };
        let article_id = c.opt_int("article_id", WHOLE_NUMBER);
        let client_msg_id = c.opt_str("client_msg_id", MAX_CLIENT_MSG_ID);
        Some(Outgoing {
            content: content?,
            client_msg_id,
            article_id,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub id: i64,
    pub create_date: i64,
    /// True when `client_msg_id` matched an earlier send: nothing new was stored.
    pub duplicate: bool,
}

impl Sent {
    /// The answer to the send (REST `data`, the socket's acknowledgement).
    pub fn answer(self, st: &AppState, out: &Outgoing, style: TimeStyle) -> SentMessage {
        SentMessage {
            id: self.id,
            date_time: render_time(st, self.create_date, style),
            client_msg_id: out.client_msg_id.clone(),
            duplicate: self.duplicate,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SentRow {
    id: i64,
    create_date: i64,
}

async fn find_by_client_id(
    st: &AppState,
    p: &Pair,
    from: Side,
    cid: &str,
) -> Result<Option<Sent>, Error> {
    let row = sqlx::query_as::<_, SentRow>(
        "SELECT id, create_date FROM chat_message
         WHERE user_id = $1 AND customer_id = $2 AND send_type = $3 AND client_msg_id = $4",
    )
    .bind(p.user_id)
    .bind(p.customer_id)
    .bind(from.send_type().code())
    .bind(cid)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(row.map(|r| Sent {
        id: r.id,
        create_date: r.create_date,
        duplicate: true,
    }))
}

/// Stores one message and the relation bookkeeping in one transaction, then
/// publishes it.
async fn store(st: &AppState, p: &Pair, from: Side, out: &Outgoing) -> Result<Sent, Error> {
    if let Some(cid) = &out.client_msg_id {
        if let Some(s) = find_by_client_id(st, p, from, cid).await? {
            return Ok(s);
        }
    }
    let now = st.clock.now_ms();
    let (count_col, time_col) = match from {
        Side::Sales => ("is_user_msg_num", "last_follow_time"),
        Side::Customer => ("is_customer_msg_num", "last_activity_time"),
    };
    // A rep's message without an article keeps the conversation's "article
    // consultation" attribution. The lookup is part of the INSERT, so it sees
    // the same snapshot as the insert and costs no extra round trip under the
    // writer lock.
    let article_sql = match (from, out.article_id) {
        (_, Some(_)) => "$7".to_owned(),
        (Side::Sales, None) => format!(
            "(SELECT a.article_id FROM chat_message a WHERE a.user_id = $1 AND a.customer_id = $2
               AND a.send_type = {} AND a.article_id IS NOT NULL ORDER BY a.id DESC LIMIT 1)",
            Side::Customer.send_type().code()
        ),
        (Side::Customer, None) => "NULL".to_owned(),
    };
    let insert_sql = format!(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, client_msg_id, create_date, article_id)
         VALUES ($1, $2, $3, $4, $5, $6, {article_sql}) RETURNING id"
    );
    let content = out.content.to_json_string();
    let sqlite = st.db.backend == Backend::Sqlite;
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
        .bind(from.send_type().code())
        .bind(content.as_str())
        .bind(out.client_msg_id.as_deref())
        .bind(now);
    if let Some(a) = out.article_id {
        insert = insert.bind(a);
    }
    let id = match insert.fetch_one(&mut **tx).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let cid = out.client_msg_id.as_deref().unwrap_or_default();
            return find_by_client_id(st, p, from, cid)
                .await?
                .ok_or(Error::Db(e));
        }
        Err(e) => return Err(e.into()),
    };
    // The insert's trigger (migration 0018) has moved the relation's
    // last_msg_id.
    if sqlite {
        let sql = format!(
            "UPDATE relation SET {time_col} = $1, {count_col} = {count_col} + 1 WHERE id = $2"
        );
        sqlx::query(&sql)
            .bind(now)
            .bind(p.relation_id)
            .execute(&mut **tx)
            .await?;
    }
    let queued = from == Side::Customer
        && crate::service::notify::queue(st, &mut tx, p.user_id, p.customer_id, id, now).await?;
    let hooked = webhook::queue(
        &mut tx,
        p.company_id,
        WebhookData::MessageCreated(message_created(p, from, id, &out.content, now)),
        now,
    )
    .await?;
    tx.commit().await?;
    st.reads.changed(p.user_id, p.customer_id);
    if queued {
        st.notify.wake();
    }
    if hooked {
        st.webhooks.wake();
    }
    st.bus.publish(Event::MessageCreated {
        id,
        user_id: p.user_id,
        customer_id: p.customer_id,
        send_type: from.send_type(),
    });
    Ok(Sent {
        id,
        create_date: now,
        duplicate: false,
    })
}

/// The `message.created` webhook's data of a new message.
fn message_created(
    p: &Pair,
    from: Side,
    id: i64,
    content: &MessageContent,
    now: i64,
) -> MessageCreatedData {
    let content = Content::from(content);
    MessageCreatedData {
        id,
        company_id: p.company_id,
        user_id: p.user_id,
        customer_id: p.customer_id,
        side: from,
        send_type: from.send_type(),
        info_type: content.info_type().map_or(0, |t| t as i64),
        content,
        created_at: webhook::rfc3339(now),
    }
}

/// Whether `article_id` may be named in a message of rep `user_id`'s
/// conversations: an article of the rep's company (a pair always shares one),
/// and for a customer sender only a published one.
async fn article_in_scope(
    st: &AppState,
    user_id: i64,
    article_id: i64,
    from: Side,
) -> Result<bool, Error> {
    let published_only = i64::from(from == Side::Customer);
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
    from: Side,
) -> Result<(), Error> {
    if let Some(a) = out.article_id {
        if !article_in_scope(st, user_id, a, from).await? {
            return Err(Error::field("article_id", "文章不存在", ""));
        }
    }
    match out.content.article_id() {
        Ok(None) => Ok(()),
        Ok(Some(a)) if article_in_scope(st, user_id, a, from).await? => Ok(()),
        _ => Err(Error::field("content", "消息中的文章不存在", "invalid")),
    }
}

/// `from` writes in the conversation of rep `user_id` and `customer_id`: API
/// doc 1.1 (the customer), semantics §10.3 (the rep). The addressee must
/// exist (402), then the relation (307).
pub async fn send(
    st: &AppState,
    from: Side,
    user_id: i64,
    customer_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    let p = Anchor(from.other()).pair(st, user_id, customer_id).await?;
    // Which fault a request with several is refused for: a customer's bad
    // article before a missing relation, a rep's after it.
    if from == Side::Customer {
        check_articles(st, user_id, out, from).await?;
    }
    let p = p.ok_or(Error::NoRelation)?;
    if from == Side::Sales {
        check_articles(st, user_id, out, from).await?;
    }
    store(st, &p, from, out).await
}

/// API doc 1.1: the customer writes to sales user `u_id`.
pub async fn customer_send(
    st: &AppState,
    customer_id: i64,
    u_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    send(st, Side::Customer, u_id, customer_id, out).await
}

/// Semantics §10.3: the rep writes to a customer.
pub async fn sales_send(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    out: &Outgoing,
) -> Result<Sent, Error> {
    send(st, Side::Sales, user_id, customer_id, out).await
}
