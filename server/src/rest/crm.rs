//! CRM endpoints under `/zhugeleida/qiyeweixin/` (API doc 1.5–1.9, action/time,
//! semantics §10.8–10.9). Each handler parses, calls `service::crm`, renders.

use app::api::crm::{
    AccessLogItem, ContactItem, CustomerProfile, FollowNote, NewCount, NoteAdded, Page, TagAdded,
    TagGroups,
};
use app::api::Empty;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{get_only, post_only, Args};
use crate::auth::SalesAuth;
use crate::error::{
    ok, ApiError, ApiResult, Error, WithStyle, IN_DATA_402, IN_MSG_301, IN_MSG_303,
};
use crate::extract::{parse_id, Body, Fields, Query};
use crate::service::crm::{access_log, contacts, deal, notes, profile, tags};
use crate::AppState;

pub fn routes(t: &mut crate::rest::Routes) {
    t.route("/qiyeweixin/tongxunlu", get_only(contact_list))
        .route("/qiyeweixin/customer", get_only(customer_profile))
        .route("/qiyeweixin/customer/{oper}/{o_id}", post_only(customer_op))
        .route("/qiyeweixin/tag_list", get_only(tag_list))
        .route("/qiyeweixin/tag_list/{oper}/{o_id}", post_only(tag_op))
        .route("/qiyeweixin/follow_info", get_only(follow_list))
        .route(
            "/qiyeweixin/follow_info/{oper}/{o_id}",
            post_only(follow_op),
        )
        .route("/qiyeweixin/action/{oper}", get_only(action_op));
}

/// The id at the end of an operation path (`…/update_tag/12`): digits only, else 402.
fn path_id(o_id: &str) -> Result<i64, ApiError> {
    parse_id(o_id).ok_or_else(|| Error::bad_request().into())
}

/// An operation the route does not know: the original's empty `code 0` envelope.
fn unknown_op<T>() -> ApiResult<T> {
    Err(Error::UnknownOperation.into())
}

async fn contact_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<Page<ContactItem>> {
    let (filter, order, paging) = contacts::parse_query(&q).styled(IN_DATA_402)?;
    let page = contacts::list(&st, user_id, &filter, order, paging).await?;
    ok("查询成功", page)
}

async fn customer_profile(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<Page<CustomerProfile>> {
    let customer_id = profile::parse_query(&q).styled(IN_DATA_402)?;
    let page = profile::get(&st, user_id, customer_id)
        .await
        .styled(IN_DATA_402)?;
    ok("查询成功", page)
}

async fn customer_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult<Empty> {
    let customer_id = path_id(&o_id)?;
    match oper.as_str() {
        "update_information" => {
            let info = profile::Information::parse(&body).styled(IN_MSG_303)?;
            let created = profile::update_information(&st, user_id, customer_id, &info)
                .await
                .styled(IN_MSG_303)?;
            ok(
                if created {
                    "添加成功"
                } else {
                    "修改成功"
                },
                Empty {},
            )
        }
        "update_expected_time" => {
            let date = deal::parse_expected_time(&body).styled(IN_MSG_303)?;
            deal::update_expected_time(&st, user_id, customer_id, date)
                .await
                .styled(IN_MSG_303)?;
            ok("添加成功", Empty {})
        }
        "update_expected_pr" => {
            let pr = deal::parse_expected_pr(&body).styled(IN_MSG_303)?;
            deal::update_expected_pr(&st, user_id, customer_id, pr)
                .await
                .styled(IN_MSG_303)?;
            ok("添加成功", Empty {})
        }
        "update_tag" => update_tag(&st, user_id, customer_id, &body).await,
        _ => unknown_op(),
    }
}

async fn update_tag(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    body: &Fields,
) -> ApiResult<Empty> {
    let ids = tags::parse_tag_list(body).styled(IN_MSG_301)?;
    tags::set_for_customer(st, user_id, customer_id, &ids)
        .await
        .styled(IN_MSG_301)?;
    ok("添加成功", Empty {})
}

async fn tag_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<TagGroups> {
    let (customer_id, tag_type) = tags::parse_query(&q).styled(IN_DATA_402)?;
    let groups = tags::groups(&st, user_id, customer_id, tag_type)
        .await
        .styled(IN_DATA_402)?;
    ok("请求成功", groups)
}

/// The operations answer with different `data`, each typed in its own function.
async fn tag_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let id = path_id(&o_id)?;
    Ok(match oper.as_str() {
        "add_tag" => add_tag(&st, user_id, id, &body).await.into_response(),
        "delete_tag" => delete_tag(&st, user_id, id).await.into_response(),
        // The original's successor of `customer/update_tag`.
        "customer_tag" => update_tag(&st, user_id, id, &body).await.into_response(),
        _ => unknown_op::<Empty>().into_response(),
    })
}

/// `add_tag/{customer_id}`; 0 adds a tag linked to nobody.
async fn add_tag(st: &AppState, user_id: i64, id: i64, body: &Fields) -> ApiResult<TagAdded> {
    let tag = tags::NewTag::parse(body).styled(IN_MSG_301)?;
    let customer = Some(id).filter(|c| *c > 0);
    let tag_id = tags::add(st, user_id, customer, &tag)
        .await
        .styled(IN_MSG_301)?;
    ok("添加成功", TagAdded { tag_id })
}

async fn delete_tag(st: &AppState, user_id: i64, tag_id: i64) -> ApiResult<Empty> {
    tags::delete(st, user_id, tag_id).await?;
    ok("删除成功", Empty {})
}

async fn follow_list(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<Page<FollowNote>> {
    let (customer_id, paging, ascending) = notes::parse_query(&q).styled(IN_DATA_402)?;
    let page = notes::list(&st, user_id, customer_id, paging, ascending)
        .await
        .styled(IN_DATA_402)?;
    ok("查询成功", page)
}

async fn follow_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult<NoteAdded> {
    let customer_id = path_id(&o_id)?;
    match oper.as_str() {
        "add" => {
            let text = notes::parse_text(&body).styled(IN_MSG_301)?;
            let id = notes::add(&st, user_id, customer_id, &text)
                .await
                .styled(IN_MSG_301)?;
            ok("添加成功", NoteAdded { id })
        }
        _ => unknown_op(),
    }
}

/// The operations answer with different `data`, each typed in its own function.
async fn action_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args(oper): Args<String>,
    Query(q): Query,
) -> Response {
    match oper.as_str() {
        "time" => access_log_page(&st, user_id, &q).await.into_response(),
        "new_count" => new_count(&st, user_id).await.into_response(),
        _ => unknown_op::<Empty>().into_response(),
    }
}

async fn access_log_page(
    st: &AppState,
    user_id: i64,
    q: &Fields,
) -> ApiResult<Page<AccessLogItem>> {
    let (filter, paging) = access_log::parse_query(st, q).styled(IN_DATA_402)?;
    let page = access_log::list(st, user_id, &filter, paging).await?;
    ok("查询日志记录成功", page)
}

async fn new_count(st: &AppState, user_id: i64) -> ApiResult<NewCount> {
    let count = access_log::new_count(st, user_id).await?;
    ok("查询成功", NewCount { count })
}
