//! The access log ("radar"): customers' actions toward a sales user. Producers
//! call `record` inside their own transaction, so the log row and the change it
//! reports commit together; they publish `Event::ContactChanged` after commit.

use app::api::Action;

use crate::error::Error;

/// Inserts an access-log row and moves the relation's `last_activity_time`.
/// Returns the new row's id.
pub async fn record(
    conn: &mut sqlx::AnyConnection,
    action: Action,
    user_id: i64,
    customer_id: i64,
    article_id: Option<i64>,
    remark: &str,
    now_ms: i64,
) -> Result<i64, Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_log (action, user_id, customer_id, article_id, remark, is_new_msg, create_date)
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(action.code())
    .bind(user_id)
    .bind(customer_id)
    .bind(article_id)
    .bind(remark)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE relation SET last_activity_time = $1 WHERE user_id = $2 AND customer_id = $3",
    )
    .bind(now_ms)
    .bind(user_id)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
