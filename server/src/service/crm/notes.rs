//! Follow-up notes: what the rep recorded about a customer (semantics §10.9).

use app::api::crm::{FollowNote, Page};

use super::{changed, relation_id};
use crate::error::Error;
use crate::extract::{Check, Fields, Paging, WHOLE_NUMBER};
use crate::timefmt;
use crate::AppState;

pub const MAX_FOLLOW_INFO_CHARS: usize = 256;

/// `customer_id`, paging (length 20) and `order` (`create_date` or `-create_date`).
pub fn parse_query(q: &Fields) -> Result<(i64, Paging, bool), Error> {
    let mut c = Check::new(q);
    let customer_id = c.req_int("customer_id", "客户ID不能为空", WHOLE_NUMBER);
    let paging = Paging::parse(&mut c, 20);
    let ascending = q.trimmed("order").as_deref() == Some("create_date");
    c.finish()?;
    match (customer_id, paging) {
        (Some(id), Some(p)) => Ok((id, p, ascending)),
        _ => Err(Error::bad_request()),
    }
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: i64,
    follow_info: String,
    create_date: i64,
    headimgurl: String,
    avatar: String,
}

/// The notes on one customer, newest first unless `ascending`.
pub async fn list(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    ascending: bool,
) -> Result<Page<FollowNote>, Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let data_count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM follow_info WHERE relation_id = $1",
    )
    .bind(rel)
    .fetch_one(&st.db.pool)
    .await?;
    let dir = if ascending { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT f.id, f.follow_info, f.create_date, c.headimgurl, u.avatar
         FROM follow_info f JOIN relation r ON r.id = f.relation_id
         JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id
         WHERE f.relation_id = $1 ORDER BY f.create_date {dir}, f.id {dir} LIMIT $2 OFFSET $3"
    );
    let rows: Vec<NoteRow> = sqlx::query_as(&sql)
        .bind(rel)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    let ret_data = rows
        .into_iter()
        .map(|r| FollowNote {
            id: r.id,
            customer_headimgurl: r.headimgurl,
            user_avatar: r.avatar,
            user_id,
            customer_id,
            follow_info: r.follow_info,
            create_date: timefmt::iso(st.config.tz, r.create_date),
        })
        .collect();
    Ok(Page {
        ret_data,
        data_count,
    })
}

/// `follow_info`: required, at most 256 characters.
pub fn parse_text(f: &Fields) -> Result<String, Error> {
    let mut c = Check::new(f);
    let text = c.req_str("follow_info", "跟进信息不能为空");
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_FOLLOW_INFO_CHARS)
    {
        c.error(
            "follow_info",
            &format!("跟进信息最多{MAX_FOLLOW_INFO_CHARS}个字符"),
            "invalid",
        );
    }
    c.finish()?;
    text.ok_or_else(Error::bad_request)
}

/// Appends a note and moves `last_follow_time`, in one transaction.
pub async fn add(st: &AppState, user_id: i64, customer_id: i64, text: &str) -> Result<i64, Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    sqlx::query("UPDATE relation SET last_follow_time = $1 WHERE id = $2")
        .bind(now)
        .bind(rel)
        .execute(&mut **tx)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO follow_info (relation_id, follow_info, create_date) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(rel)
    .bind(text)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(id)
}
