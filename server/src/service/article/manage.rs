//! Operator commands on articles (the CLI): creating them and approving reviews.

use crate::error::Error;
use crate::service::admin;
use crate::AppState;

pub const MAX_TITLE_CHARS: usize = 200;

/// A title of an article or a sign-up activity: trimmed, 1–200 characters.
pub(crate) fn title_ok(title: &str) -> Result<String, Error> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Error::field("title", "标题不能为空", "required"));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::field("title", "标题过长", "invalid"));
    }
    Ok(t.to_owned())
}

pub async fn create_article(
    st: &AppState,
    company_id: i64,
    title: &str,
    status: i64,
    read_count: i64,
) -> Result<i64, Error> {
    let title = title_ok(title)?;
    if !(1..=3).contains(&status) {
        return Err(Error::field("status", "状态必须是1、2或3", "invalid"));
    }
    if read_count < 0 {
        return Err(Error::field("read_count", "阅读数不能为负数", "invalid"));
    }
    if !admin::exists(st, "company", company_id).await? {
        return Err(Error::field("company_id", "公司不存在", ""));
    }
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO article (company_id, title, status, read_count, create_date) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company_id)
    .bind(&title)
    .bind(status)
    .bind(read_count)
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Makes a review visible to everyone.
pub async fn approve_review(st: &AppState, id: i64) -> Result<i64, Error> {
    let mut tx = st.db.begin_write().await?;
    let done = sqlx::query("UPDATE article_comment SET is_audit_pass = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::field("id", "评论不存在", ""));
    }
    tx.commit().await?;
    Ok(id)
}
