//! Deal fields of the relation: the expected date and probability of a deal
//! (API doc 1.7/1.8, semantics §3.3/§3.4). Each change is also a follow-up note.

use app::domain::{Date, Probability};

use super::{changed, relation_id, Arg};
use crate::error::Error;
use crate::extract::Fields;
use crate::AppState;

pub fn parse_expected_time(f: &Fields) -> Result<Date, Error> {
    match f.trimmed("expected_time") {
        None => Err(Error::field(
            "expected_time",
            "预计成交日期不能为空",
            "required",
        )),
        Some(s) => Date::parse(&s).map_err(|m| Error::field("expected_time", m, "invalid")),
    }
}

pub fn parse_expected_pr(f: &Fields) -> Result<Probability, Error> {
    match f.trimmed("expedted_pr") {
        None => Err(Error::field(
            "expedted_pr",
            "预计成交概率不能为空",
            "required",
        )),
        Some(s) => Probability::parse(&s).map_err(|m| Error::field("expedted_pr", m, "invalid")),
    }
}

/// Sets one deal field, `last_follow_time` and appends the follow-up record, in
/// one transaction.
async fn update(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    set: &str,
    value: Arg,
    note: String,
) -> Result<(), Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let sql = format!("UPDATE relation SET {set} = $1, last_follow_time = $2 WHERE id = $3");
    let q = sqlx::query(&sql);
    let q = match value {
        Arg::Int(i) => q.bind(i),
        Arg::Text(s) => q.bind(s),
    };
    q.bind(now).bind(rel).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO follow_info (relation_id, follow_info, create_date) VALUES ($1, $2, $3)",
    )
    .bind(rel)
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(())
}

pub async fn update_expected_time(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    date: Date,
) -> Result<(), Error> {
    let d = date.to_string();
    update(
        st,
        user_id,
        customer_id,
        "expected_time",
        Arg::Text(d.clone()),
        format!("更新预计成交日期: {d}"),
    )
    .await
}

pub async fn update_expected_pr(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    pr: Probability,
) -> Result<(), Error> {
    let n = pr.get();
    update(
        st,
        user_id,
        customer_id,
        "expedted_pr",
        Arg::Int(n),
        format!("更新预计成交率为: {n}"),
    )
    .await
}
