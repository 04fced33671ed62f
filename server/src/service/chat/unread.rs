//! What is unread, written once: read watermarks, the counts of one
//! conversation and the rep's badge.
//!
//! Read state lives on the relation row as two watermarks: a message the
//! customer did not write is unread by the customer while its id is above
//! `customer_read_id`, one the rep did not write is unread by the rep while
//! its id is above `user_read_id`. What is delivered as unread is
//! [`unread_by`]; every count (a conversation's, the badge, the inbox's)
//! counts those of it the other party wrote.

use app::api::Side;

use super::pair::Pair;
use crate::bus::Event;
use crate::error::Error;
use crate::service::SAME_COMPANY;
use crate::AppState;

/// The relation column holding `side`'s read watermark.
pub(super) fn watermark(side: Side) -> &'static str {
    match side {
        Side::Customer => "customer_read_id",
        Side::Sales => "user_read_id",
    }
}

/// The unread rule as SQL: message `m` of relation `r`'s conversation is
/// unread by `side` when `side` did not write it and it lies above `side`'s
/// watermark. What `getmsg` and a register deliver.
pub(super) fn unread_by(side: Side, m: &str, r: &str) -> String {
    format!(
        "{m}.user_id = {r}.user_id AND {m}.customer_id = {r}.customer_id
         AND {m}.send_type <> {} AND {m}.id > {r}.{}",
        side.send_type().code(),
        watermark(side)
    )
}

/// The unread messages a count counts: those the other party wrote (a
/// system tip is shown to both sides, and counts for neither).
fn counted_by(side: Side, m: &str, r: &str) -> String {
    format!(
        "{} AND {m}.send_type = {}",
        unread_by(side, m, r),
        side.other().send_type().code()
    )
}

/// A column: the counted unread messages of relation `r`'s conversation (the
/// CRM contact list can take its unread count from here too).
pub fn unread_count(side: Side, r: &str) -> String {
    format!(
        "(SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message um WHERE {})",
        counted_by(side, "um", r)
    )
}

/// Messages of the conversation of rep `user_id` and `customer_id` that
/// `side` has not read; 307 without a relation. (API doc 1.4 for the customer.)
pub async fn count(
    st: &AppState,
    side: Side,
    user_id: i64,
    customer_id: i64,
) -> Result<i64, Error> {
    let sql = format!(
        "SELECT {} FROM relation r WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}",
        unread_count(side, "r")
    );
    sqlx::query_scalar::<_, i64>(&sql)
        .bind(user_id)
        .bind(customer_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(Error::NoRelation)
}

/// The rep's badge: customer messages the rep has not read, over all
/// conversations.
pub async fn badge(st: &AppState, user_id: i64) -> Result<i64, Error> {
    // Only conversations whose last message is above the rep's watermark can
    // hold unread messages; each is counted through its own index range, so
    // the cost follows the unread conversations, not the rep's whole history.
    // CROSS JOIN keeps SQLite from starting at chat_message.
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM relation r CROSS JOIN chat_message m
         WHERE r.user_id = $1 AND r.last_msg_id > r.user_read_id AND {}",
        counted_by(Side::Sales, "m", "r")
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(user_id)
        .fetch_one(&st.db.pool)
        .await?)
}

/// Moves `side`'s read watermark forward (never back) and announces it.
/// Returns true when it moved.
pub async fn mark_read(st: &AppState, p: &Pair, side: Side, up_to_id: i64) -> Result<bool, Error> {
    if up_to_id <= p.read_id(side) {
        return Ok(false);
    }
    let col = watermark(side);
    let sql = format!("UPDATE relation SET {col} = $1 WHERE id = $2 AND {col} < $1");
    let mut tx = st.db.begin_write_relaxed().await?;
    let n = sqlx::query(&sql)
        .bind(up_to_id)
        .bind(p.relation_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if n > 0 {
        st.reads.changed(p.user_id, p.customer_id);
        let (user_id, customer_id) = (p.user_id, p.customer_id);
        st.bus.publish(match side {
            Side::Customer => Event::CustomerRead {
                user_id,
                customer_id,
                up_to_id,
            },
            Side::Sales => Event::SalesRead {
                user_id,
                customer_id,
                up_to_id,
            },
        });
    }
    Ok(n > 0)
}
