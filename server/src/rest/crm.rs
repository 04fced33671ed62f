//! CRM endpoints under `/zhugeleida/qiyeweixin/` (API doc 1.5–1.9, action/time,
//! semantics §10.8–10.9). Each handler parses, calls `service::crm`, renders.

use axum::extract::State;
use axum::Router;
use serde_json::json;

use super::{get_only, post_only, Args};
use crate::auth::SalesAuth;
use crate::error::{
    ok, ApiError, ApiResult, Error, WithStyle, IN_DATA_402, IN_MSG_301, IN_MSG_303,
};
use crate::extract::{parse_id, Body, Query};
use crate::service::crm;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/qiyeweixin/tongxunlu", get_only(contact_list))
        .route("/qiyeweixin/customer", get_only(customer_detail))
        .route("/qiyeweixin/customer/{oper}/{o_id}", post_only(customer_op))
        .route("/qiyeweixin/tag_list", get_only(tag_list))
        .route("/qiyeweixin/tag_list/{oper}/{o_id}", post_only(tag_op))
        .route("/qiyeweixin/follow_info", get_only(follow_list))
        .route(
            "/qiyeweixin/follow_info/{oper}/{o_id}",
            post_only(follow_op),
        )
        .route("/qiyeweixin/action/{oper}", get_only(action_op))
}

/// The id at the end of an operation path (`…/update_tag/12`): digits only, else 402.
fn path_id(o_id: &str) -> Result<i64, ApiError> {
    parse_id(o_id).ok_or_else(|| Error::bad_request().into())
}

/// An operation the route does not know: the original's empty `code 0` envelope.
fn unknown_op() -> ApiResult {
    Err(Error::UnknownOperation.into())
}

fn page_data(p: crm::Page) -> serde_json::Value {
    json!({"ret_data": p.items, "data_count": p.data_count})
}

async fn contact_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult {
    let (filter, order, paging) = crm::parse_contact_query(&q).styled(IN_DATA_402)?;
    let page = crm::contacts(&st, user_id, &filter, order, paging).await?;
    ok("查询成功", page_data(page))
}

async fn customer_detail(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult {
    let customer_id = crm::parse_customer_query(&q).styled(IN_DATA_402)?;
    let item = crm::customer_detail(&st, user_id, customer_id)
        .await
        .styled(IN_DATA_402)?;
    ok("查询成功", json!({"ret_data": [item], "data_count": 1}))
}

async fn customer_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    let customer_id = path_id(&o_id)?;
    match oper.as_str() {
        "update_information" => {
            let info = crm::Information::parse(&body).styled(IN_MSG_303)?;
            let created = crm::update_information(&st, user_id, customer_id, &info)
                .await
                .styled(IN_MSG_303)?;
            ok(
                if created {
                    "添加成功"
                } else {
                    "修改成功"
                },
                json!({}),
            )
        }
        "update_expected_time" => {
            let date = crm::parse_expected_time(&body).styled(IN_MSG_303)?;
            crm::update_expected_time(&st, user_id, customer_id, date)
                .await
                .styled(IN_MSG_303)?;
            ok("添加成功", json!({}))
        }
        "update_expected_pr" => {
            let pr = crm::parse_expected_pr(&body).styled(IN_MSG_303)?;
            crm::update_expected_pr(&st, user_id, customer_id, pr)
                .await
                .styled(IN_MSG_303)?;
            ok("添加成功", json!({}))
        }
        "update_tag" => update_tag(&st, user_id, customer_id, &body).await,
        _ => unknown_op(),
    }
}

async fn update_tag(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    body: &crate::extract::Fields,
) -> ApiResult {
    let ids = crm::parse_tag_list(body).styled(IN_MSG_301)?;
    crm::update_tags(st, user_id, customer_id, &ids)
        .await
        .styled(IN_MSG_301)?;
    ok("添加成功", json!({}))
}

async fn tag_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult {
    let (customer_id, tag_type) = crm::parse_tag_query(&q).styled(IN_DATA_402)?;
    let data = crm::tag_groups(&st, user_id, customer_id, tag_type)
        .await
        .styled(IN_DATA_402)?;
    ok("请求成功", data)
}

async fn tag_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    let id = path_id(&o_id)?;
    match oper.as_str() {
        "add_tag" => {
            let tag = crm::NewTag::parse(&body).styled(IN_MSG_301)?;
            let customer = Some(id).filter(|c| *c > 0);
            let tag_id = crm::add_tag(&st, user_id, customer, &tag)
                .await
                .styled(IN_MSG_301)?;
            ok("添加成功", json!({"tag_id": tag_id}))
        }
        "delete_tag" => {
            crm::delete_tag(&st, user_id, id).await?;
            ok("删除成功", json!({}))
        }
        // The original's successor of `customer/update_tag`.
        "customer_tag" => update_tag(&st, user_id, id, &body).await,
        _ => unknown_op(),
    }
}

async fn follow_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult {
    let (customer_id, paging, ascending) = crm::parse_follow_query(&q).styled(IN_DATA_402)?;
    let page = crm::follow_notes(&st, user_id, customer_id, paging, ascending)
        .await
        .styled(IN_DATA_402)?;
    ok("查询成功", page_data(page))
}

async fn follow_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    let customer_id = path_id(&o_id)?;
    match oper.as_str() {
        "add" => {
            let text = crm::parse_follow_info(&body).styled(IN_MSG_301)?;
            let id = crm::add_follow_note(&st, user_id, customer_id, &text)
                .await
                .styled(IN_MSG_301)?;
            ok("添加成功", json!({"id": id}))
        }
        _ => unknown_op(),
    }
}

async fn action_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args(oper): Args<String>,
    Query(q): Query,
) -> ApiResult {
    match oper.as_str() {
        "time" => {
            let (filter, paging) = crm::parse_log_query(&st, &q).styled(IN_DATA_402)?;
            let page = crm::access_log(&st, user_id, &filter, paging).await?;
            ok("查询日志记录成功", page_data(page))
        }
        "new_count" => {
            let n = crm::new_activity_count(&st, user_id).await?;
            ok("查询成功", json!({"count": n}))
        }
        _ => unknown_op(),
    }
}
