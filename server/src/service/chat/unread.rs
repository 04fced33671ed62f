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

/// A column: the counted unread messages of relation `r`'s conversation (the
/// CRM contact list can take its unread count from here too): those of
/// [`unread_by`] the other party wrote (a system tip is shown to both sides,
/// and counts for neither). Kept on write by migration 0016's triggers, so a
/// count costs the same however long the conversation.
pub fn unread_count(side: Side, r: &str) -> String {
    match side {
        Side::Sales => format!("{r}.user_unread"),
        Side::Customer => format!("{r}.customer_unread"),
    }
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
/// conversations (the sum of the relations' [`unread_count`], kept on write).
pub async fn badge(st: &AppState, user_id: i64) -> Result<i64, Error> {
    let n: Option<i64> = sqlx::query_scalar("SELECT unread_msg_num FROM sales_user WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(n.unwrap_or(0))
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
