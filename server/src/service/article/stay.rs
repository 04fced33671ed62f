//! Reading time of one view, reported by the page's beacon (a producer beyond
//! the API doc).

use app::api::article::StayTime;
use app::api::Action;

use super::STATUS_PUBLISHED;
use crate::bus::Event;
use crate::error::Error;
use crate::AppState;

/// Reading time stored per view is capped: a tab left open overnight is not
/// three hours of interest, and a forged beacon cannot inflate it further.
pub const STAY_CAP_SECS: i64 = 3 * 3600;
/// Reports above a day are not a reading time at all but bad input.
pub const STAY_MAX_INPUT_SECS: i64 = 86_400;

/// Validates a reported reading time.
pub fn stay_seconds(seconds: i64) -> Result<i64, &'static str> {
    if seconds < 0 {
        Err("阅读时长不能为负数")
    } else if seconds > STAY_MAX_INPUT_SECS {
        Err("阅读时长超出范围")
    } else {
        Ok(seconds.min(STAY_CAP_SECS))
    }
}

/// Records the reading time of one view (the access-log row `log_id` of this
/// customer, article and rep). It only grows, and is capped at three hours;
/// beacons may arrive repeatedly and out of order. Returns the stored value.
pub async fn stay(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    uid: i64,
    log_id: i64,
    seconds: i64,
) -> Result<StayTime, Error> {
    let seconds = stay_seconds(seconds).map_err(|m| Error::field("seconds", m, "invalid"))?;
    // The view must be this customer's, of an article it may still see, logged
    // for a rep of its company; anything else answers like an unknown log id.
    let owned: Option<i64> = sqlx::query_scalar(
        "SELECT l.id FROM access_log l
           JOIN customer c ON c.id = l.customer_id
           JOIN article a ON a.id = l.article_id AND a.company_id = c.company_id
           JOIN sales_user u ON u.id = l.user_id AND u.company_id = c.company_id
         WHERE l.id = $1 AND l.customer_id = $2 AND l.article_id = $3 AND l.user_id = $4 AND l.action = $5
           AND a.status = $6",
    )
    .bind(log_id)
    .bind(customer_id)
    .bind(article_id)
    .bind(uid)
    .bind(Action::ViewArticle.code())
    .bind(STATUS_PUBLISHED)
    .fetch_optional(&st.db.pool)
    .await?;
    if owned.is_none() {
        return Err(Error::field("log_id", "访问记录不存在", ""));
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    sqlx::query("UPDATE access_log SET stay_seconds = $1 WHERE id = $2 AND stay_seconds < $1")
        .bind(seconds)
        .bind(log_id)
        .execute(&mut **tx)
        .await?;
    let stored: i64 = sqlx::query_scalar("SELECT stay_seconds FROM access_log WHERE id = $1")
        .bind(log_id)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE relation SET last_activity_time = $1 WHERE user_id = $2 AND customer_id = $3",
    )
    .bind(now)
    .bind(uid)
    .bind(customer_id)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    st.bus.publish(Event::ContactChanged {
        user_id: uid,
        customer_id,
    });
    Ok(StayTime {
        log_id,
        stay_seconds: stored,
    })
}

#[cfg(test)]
#[path = "../tests/article/stay.rs"]
mod tests;
