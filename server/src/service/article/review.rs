//! Reviews of an article (API doc 2.2, 2.3): customers post them, they show
//! once approved, and each author sees their own pending ones.

use app::api::article::ReviewItem;
use app::api::webhook::{ReviewCreatedData, WebhookData};
use app::api::Action;

use super::{check_rep, ensure_relation, no_article, visible_article};
use crate::bus::Event;
use crate::error::Error;
use crate::service::crm::access_log;
use crate::service::display::{customer_name, render_time, TimeStyle};
use crate::service::webhook;
use crate::AppState;

pub const MAX_REVIEW_CHARS: usize = 1000;

/// Review content: trimmed, 1–1000 characters.
pub fn review_content(raw: &str) -> Result<String, (&'static str, &'static str)> {
    let t = raw.trim();
    if t.is_empty() {
        Err(("内容不能为空", "required"))
    } else if t.chars().count() > MAX_REVIEW_CHARS {
        Err(("评论内容不能超过1000个字符", "invalid"))
    } else {
        Ok(t.to_owned())
    }
}

/// Stores an unapproved review, counts it on the article, and logs it for the
/// sharing rep when `uid` is given. Returns the review id.
pub async fn review(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    content: &str,
    uid: Option<i64>,
) -> Result<i64, Error> {
    let content = review_content(content).map_err(|(m, c)| Error::field("content", m, c))?;
    let a = visible_article(st, customer_id, article_id)
        .await?
        .ok_or_else(no_article)?;
    let create = match uid {
        Some(u) => check_rep(st, u, customer_id, Some(a.company_id)).await?,
        None => false,
    };
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO article_comment (article_id, from_customer_id, content, is_audit_pass, create_date)
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(a.id)
    .bind(customer_id)
    .bind(&content)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE article SET comment_count = comment_count + 1 WHERE id = $1")
        .bind(a.id)
        .execute(&mut **tx)
        .await?;
    if let Some(u) = uid {
        if create {
            ensure_relation(&mut tx, u, customer_id, now).await?;
        }
        let remark = format!("评论了您的文章《{}》", a.title);
        access_log::record(
            &mut tx,
            Action::ReviewArticle,
            u,
            customer_id,
            Some(a.id),
            &remark,
            now,
        )
        .await?;
    }
    let hooked = webhook::queue(
        &mut tx,
        a.company_id,
        WebhookData::ReviewCreated(ReviewCreatedData {
            id,
            article_id: a.id,
            company_id: a.company_id,
            customer_id,
            user_id: uid,
            content: content.clone(),
            created_at: webhook::rfc3339(now),
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    if hooked {
        st.webhooks.wake();
    }
    if let Some(u) = uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    from_customer_id: i64,
    content: String,
    is_audit_pass: i64,
    create_date: i64,
    username: String,
    headimgurl: String,
}

/// Approved reviews of the article plus the caller's own pending ones, newest
/// first. An unknown or foreign article simply has none.
pub async fn review_list(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
) -> Result<Vec<ReviewItem>, Error> {
    if visible_article(st, customer_id, article_id)
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, ReviewRow>(
        "SELECT r.id, r.from_customer_id, r.content, r.is_audit_pass, r.create_date, c.username, c.headimgurl
         FROM article_comment r JOIN customer c ON c.id = r.from_customer_id
         WHERE r.article_id = $1 AND (r.is_audit_pass = 1 OR r.from_customer_id = $2)
         ORDER BY r.create_date DESC, r.id DESC",
    )
    .bind(article_id)
    .bind(customer_id)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReviewItem {
            id: r.id,
            from_customer_id: r.from_customer_id,
            from_customer_name: customer_name(r.from_customer_id, &r.username),
            from_customer_headimgurl: r.headimgurl,
            content: r.content,
            create_time: render_time(st, r.create_date, TimeStyle::Plain),
            is_audit_pass: r.is_audit_pass,
            pending: r.is_audit_pass != 1,
        })
        .collect())
}

#[cfg(test)]
#[path = "../tests/article/review.rs"]
mod tests;
