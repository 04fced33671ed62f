//! The rep's inbox (`qiyeweixin/contact`, semantics §10.6): one entry per
//! customer with messages, latest conversation first; and the
//! page the `leida_query_contact_list` socket pushes.

use app::api::chat::{Content, InboxFeed, InboxItem, InboxPage, LastSeen};
use app::api::{customer_source_text, Side};

use super::unread::{badge, unread_count};
use crate::db::{placeholders, rows_in_walk_order};
use crate::error::Error;
use crate::extract::Paging;
use crate::service::display::{chat_time, customer_name, subscribe_text};
use crate::AppState;

/// Tags shown per inbox entry (the newest): a rep may link any number, but
/// one entry must stay small enough for a pushed frame.
pub const MAX_LISTED_TAGS: usize = 50;

#[derive(sqlx::FromRow)]
struct InboxRow {
    relation_id: i64,
    customer_id: i64,
    last_msg_id: i64,
    username: String,
    headimgurl: String,
    user_type: i64,
    is_subscribe: Option<i64>,
    content: String,
    create_date: i64,
    unread: i64,
}

/// A page of the inbox, without the badge.
async fn items(
    st: &AppState,
    user_id: i64,
    paging: Paging,
) -> Result<(Vec<InboxItem>, i64), Error> {
    // The count is the rep's counter (kept on write), not a window over every
    // conversation: the page walks relation_user_last_msg and stops. Walk and
    // rows are two statements, as in the contact list (`crm::contacts`), and
    // the last message is read by its id per row: in one statement, a plan
    // PostgreSQL kept for any LIMIT hashed the whole chat_message table, so
    // the inbox grew with every conversation of every rep. The walk's LIMIT
    // and OFFSET are written out for the same reason: a plan kept for an
    // unknown LIMIT sorts every conversation of the rep.
    let walk_sql = format!(
        "SELECT r.id, (SELECT su.chat_count FROM sales_user su WHERE su.id = $1) AS data_count
         FROM relation r WHERE r.user_id = $1 AND r.last_msg_id IS NOT NULL
         ORDER BY r.last_msg_id DESC LIMIT {} OFFSET {}",
        paging.length,
        paging.offset()
    );
    let walked: Vec<(i64, i64)> = sqlx::query_as(&walk_sql)
        .bind(user_id)
        .fetch_all(&st.db.pool)
        .await?;
    let rows = if walked.is_empty() {
        Vec::new()
    } else {
        let sql = format!(
            "SELECT r.id AS relation_id, r.customer_id, r.last_msg_id, c.username, c.headimgurl,
                    c.user_type, c.is_subscribe,
                    COALESCE((SELECT m.content FROM chat_message m WHERE m.id = r.last_msg_id), '') AS content,
                    COALESCE((SELECT m.create_date FROM chat_message m WHERE m.id = r.last_msg_id), 0) AS create_date,
                    {} AS unread
             FROM relation r JOIN customer c ON c.id = r.customer_id
             WHERE r.id IN ({}) AND r.last_msg_id IS NOT NULL",
            unread_count(Side::Sales, "r"),
            placeholders(1, walked.len()),
        );
        let ids: Vec<i64> = walked.iter().map(|(id, _)| *id).collect();
        rows_in_walk_order(&st.db.pool, &sql, &ids, |r: &InboxRow| r.relation_id).await?
    };
    // Only a page past the end needs its own count.
    let data_count = match walked.first() {
        Some((_, n)) => *n,
        None => {
            let n: Option<i64> =
                sqlx::query_scalar("SELECT chat_count FROM sales_user WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&st.db.pool)
                    .await?;
            n.unwrap_or(0)
        }
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
    let tags = tags_of(st, user_id, &ids).await?;
    let now = st.clock.now_ms();
    let items = rows
        .into_iter()
        .map(|r| InboxItem {
            customer_id: r.customer_id,
            customer_source: r.user_type,
            customer_source_text: customer_source_text(r.user_type).into(),
            src: r.headimgurl,
            is_subscribe: r.is_subscribe,
            is_subscribe_text: subscribe_text(r.is_subscribe).map(str::to_owned),
            name: customer_name(r.customer_id, &r.username),
            date_time: chat_time(st, r.create_date, now),
            msg: Content::from_stored(&r.content).list_preview(),
            count: r.unread,
            tags_list: tags
                .iter()
                .filter(|(c, _)| *c == r.customer_id)
                .map(|(_, n)| n.clone())
                .take(MAX_LISTED_TAGS)
                .collect(),
            crea_date: r.create_date as f64 / 1000.0,
            last_msg_id: r.last_msg_id,
        })
        .collect();
    Ok((items, data_count))
}

/// `qiyeweixin/contact`: a page of the inbox and the badge.
pub async fn page(st: &AppState, user_id: i64, paging: Paging) -> Result<InboxPage, Error> {
    let (ret_data, data_count) = items(st, user_id, paging).await?;
    Ok(InboxPage {
        ret_data,
        data_count,
        unread_msg_num: badge(st, user_id).await?,
    })
}

/// A `leida_query_contact_list` page: the inbox page, the badge (given, as the
/// socket shares it with the rep's other sockets) and the customer last seen.
pub async fn feed(
    st: &AppState,
    user_id: i64,
    paging: Paging,
    badge: i64,
) -> Result<InboxFeed, Error> {
    let (ret_data, data_count) = items(st, user_id, paging).await?;
    Ok(InboxFeed {
        ret_data,
        data_count,
        unread_msg_num: badge,
        last_seen: last_seen(st, user_id).await?,
        part: None,
        parts: None,
    })
}

#[derive(sqlx::FromRow)]
struct LastSeenRow {
    customer_id: i64,
    last_activity_time: i64,
}

/// The customer this rep last saw in the access log, over all relations
/// (`latest_activity` on the wire). The inbox socket carries it so that an
/// action of a customer without a chat (an article view, a sign-up) still
/// changes the pushed page.
pub async fn last_seen(st: &AppState, user_id: i64) -> Result<Option<LastSeen>, Error> {
    let row = sqlx::query_as::<_, LastSeenRow>(
        "SELECT customer_id, last_activity_time FROM relation
         WHERE user_id = $1 AND last_activity_time IS NOT NULL
         ORDER BY last_activity_time DESC, customer_id DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(row.map(|r| LastSeen {
        customer_id: r.customer_id,
        time: r.last_activity_time,
    }))
}

#[derive(sqlx::FromRow)]
struct TagRow {
    customer_id: i64,
    name: String,
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
    let mut q = sqlx::query_as::<_, TagRow>(&sql).bind(user_id);
    for c in customers {
        q = q.bind(*c);
    }
    let rows = q.fetch_all(&st.db.pool).await?;
    Ok(rows.into_iter().map(|r| (r.customer_id, r.name)).collect())
}
