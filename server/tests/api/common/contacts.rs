//! The contact list as served against the same list read past the cache
//! (`contacts::list_uncached`): the check of every test that writes while
//! the cache is warm.

use radar::extract::Fields;
use radar::service::crm::contacts;
use serde_json::{json, Value};

pub const LIST: &str = "/zhugeleida/qiyeweixin/tongxunlu";

/// Queries that reach every path of the list: each order, the relation
/// filters (counted from rep_book), the name filter (a window count), deep
/// and short pages, a page past the end.
pub const QUERIES: &[&str] = &[
    "",
    "order=-last_activity_time",
    "order=last_follow_time&length=2&current_page=2",
    "order=create_date&customer_type=2",
    "customer_type=1&order=-expedted_pr",
    "customer__source=3",
    "username=%E5%AE%A2",
    "length=1&current_page=3&order=-last_follow_time",
    "current_page=50",
];

/// `data` of an answer, or its code when it has none to compare.
pub fn answer(v: &Value) -> Value {
    match v["code"].as_i64() {
        Some(200) => v["data"].clone(),
        _ => json!({ "code": v["code"], "msg": v["msg"] }),
    }
}

/// What the database says the answer to `query` must be, as [`answer`] shapes it.
pub async fn fresh(st: &radar::AppState, user_id: i64, query: &str) -> Value {
    let q = Fields::parse_urlencoded(query).expect("query");
    let (f, order, paging) = contacts::parse_query(&q).expect("valid query");
    match contacts::list_uncached(st, user_id, &f, order, paging).await {
        Ok(page) => serde_json::to_value(page).expect("page"),
        Err(radar::error::Error::NoData) => json!({ "code": 302, "msg": "没有数据" }),
        Err(e) => panic!("list_uncached: {e:?}"),
    }
}

/// Compares one served answer with the database, read just before and just
/// after it: day-relative texts ("今天") may turn at midnight in between,
/// and either reading is then a correct answer; a stale page equals neither.
pub async fn agrees(
    st: &radar::AppState,
    user_id: i64,
    query: &str,
    serve: impl std::future::Future<Output = Value>,
) -> Result<(), String> {
    let before = fresh(st, user_id, query).await;
    let got = answer(&serve.await);
    if got == before {
        return Ok(());
    }
    let after = fresh(st, user_id, query).await;
    if got == after {
        return Ok(());
    }
    Err(format!(
        "tongxunlu of rep {user_id} ?{query}:\n served   {got}\n database {after}"
    ))
}
