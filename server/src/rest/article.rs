//! Article endpoints under `/zhugeleida/gongzhonghao/` (API doc 2.1–2.4 and the
//! view/staytime producers). Both routes dispatch on `oper` as the original did:
//! an operation the method does not serve answers `code 0`, a method the route
//! does not serve answers 402 after authentication.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, Router};
use serde_json::json;

use app::domain::MobilePhone;

use super::{post_only, wrong_method, Args};
use crate::auth::CustomerAuth;
use crate::error::{ok, ApiResult, Error, WithStyle, IN_DATA_402, IN_MSG_301};
use crate::extract::{parse_id, Body, Check, Fields, Query, WHOLE_NUMBER};
use crate::service::article::{
    self, SignUp, MAX_ADDRESS_CHARS, MAX_LEAVE_MESSAGE_CHARS, MAX_SIGNUP_NAME_CHARS,
};
use crate::timefmt;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/gongzhonghao/article/{oper}/{o_id}",
            get(article_op).post(article_op).fallback(wrong_method),
        )
        .route(
            "/gongzhonghao/plugin_report/{oper}/{o_id}",
            post_only(plugin_report_op),
        )
}

fn path_id(o_id: &str) -> Result<i64, Error> {
    parse_id(o_id).ok_or_else(Error::bad_request)
}

fn no_op() -> Error {
    Error::UnknownOperation
}

async fn article_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> ApiResult {
    let id = path_id(&o_id)?;
    match (method == Method::POST, oper.as_str()) {
        (true, "review_article") => review_article(&st, customer_id, id, &body).await,
        (true, "view_article") => view_article(&st, customer_id, id, &body).await,
        (true, "staytime") => staytime(&st, customer_id, id, &body).await,
        (false, "article_review_list") => {
            let items = article::review_list(&st, customer_id, id).await?;
            if items.is_empty() {
                return Err(Error::NoData.into());
            }
            let n = items.len();
            ok("查询成功", json!({"ret_data": items, "data_count": n}))
        }
        (false, "recommend_article_list") => {
            let mut c = Check::new(&q);
            let uid = c.req_int("uid", "uidID不能为空", WHOLE_NUMBER);
            let company_id = c.req_int("company_id", "公司ID不能为空", WHOLE_NUMBER);
            c.finish().styled(IN_DATA_402)?;
            let (Some(uid), Some(company_id)) = (uid, company_id) else {
                return Err(Error::bad_request().into());
            };
            let r = article::recommend(&st, customer_id, id, uid, company_id)
                .await
                .styled(IN_DATA_402)?;
            if r.items.is_empty() {
                return Err(Error::NoData.into());
            }
            ok(
                "查询成功",
                json!({"ret_data": r.items, "data_count": r.data_count}),
            )
        }
        _ => Err(no_op().into()),
    }
}

async fn review_article(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    body: &Fields,
) -> ApiResult {
    let mut c = Check::new(body);
    let content = match c
        .fields
        .text("content")
        .map(|s| article::review_content(&s))
    {
        None => {
            c.error("content", "内容不能为空", "required");
            None
        }
        Some(Err((msg, code))) => {
            c.error("content", msg, code);
            None
        }
        Some(Ok(s)) => Some(s),
    };
    let uid = c.opt_int("uid", WHOLE_NUMBER);
    c.finish().styled(IN_MSG_301)?;
    let content = content.ok_or_else(Error::bad_request)?;
    let id = article::review(st, customer_id, article_id, &content, uid)
        .await
        .styled(IN_MSG_301)?;
    ok("成功", json!({"id": id}))
}

async fn view_article(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    body: &Fields,
) -> ApiResult {
    let mut c = Check::new(body);
    let uid = c.opt_int("uid", WHOLE_NUMBER);
    c.finish().styled(IN_MSG_301)?;
    let v = article::view(st, customer_id, article_id, uid)
        .await
        .styled(IN_MSG_301)?;
    ok(
        "成功",
        json!({
            "log_id": v.log_id,
            "read_count": v.read_count,
            "id": article_id,
            "company_id": v.company_id,
            "title": v.title,
            "summary": v.summary,
            "body": v.body,
            "cover_picture": v.cover_picture,
            "create_date": timefmt::plain(st.config.tz, v.create_date),
            "activity_id": v.activity_id,
        }),
    )
}

async fn staytime(st: &AppState, customer_id: i64, article_id: i64, body: &Fields) -> ApiResult {
    let mut c = Check::new(body);
    let uid = c.req_int("uid", "雷达用户ID不能为空", WHOLE_NUMBER);
    let log_id = c.req_int("log_id", "访问记录ID不能为空", WHOLE_NUMBER);
    let seconds = c.req_int("seconds", "阅读时长不能为空", "阅读时长必须是整数");
    if let Some(Err(msg)) = seconds.map(article::stay_seconds) {
        c.error("seconds", msg, "invalid");
    }
    c.finish().styled(IN_MSG_301)?;
    let (Some(uid), Some(log_id), Some(seconds)) = (uid, log_id, seconds) else {
        return Err(Error::bad_request().into());
    };
    let stored = article::stay(st, customer_id, article_id, uid, log_id, seconds)
        .await
        .styled(IN_MSG_301)?;
    ok("成功", json!({"log_id": log_id, "stay_seconds": stored}))
}

async fn plugin_report_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    let activity_id = path_id(&o_id)?;
    if oper != "sign_up_activity" {
        return Err(no_op().into());
    }
    let mut c = Check::new(&body);
    let uid = c.opt_int("uid", WHOLE_NUMBER);
    let customer_name = bounded(
        &mut c,
        "customer_name",
        "客户姓名不能为空",
        MAX_SIGNUP_NAME_CHARS,
    );
    let phone = match c.req_str("phone", "客户报名手机号不能为空") {
        None => None,
        Some(p) => match MobilePhone::parse(&p) {
            Ok(p) => Some(p),
            Err(msg) => {
                c.error("phone", msg, "invalid");
                None
            }
        },
    };
    let leave_message = bounded(
        &mut c,
        "leave_message",
        "活动留言不能为空",
        MAX_LEAVE_MESSAGE_CHARS,
    );
    let address = c.opt_str("address", MAX_ADDRESS_CHARS);
    // `phone_verify_code` is accepted and ignored: there is no SMS provider.
    c.finish().styled(IN_MSG_301)?;
    let (Some(customer_name), Some(phone), Some(leave_message)) =
        (customer_name, phone, leave_message)
    else {
        return Err(Error::bad_request().into());
    };
    let s = SignUp {
        customer_name,
        phone,
        leave_message,
        address,
        uid,
    };
    let id = article::sign_up(&st, customer_id, activity_id, &s)
        .await
        .styled(IN_MSG_301)?;
    ok("报名成功", json!({"id": id}))
}

/// A required string of at most `max` characters.
fn bounded(c: &mut Check<'_>, key: &str, missing: &str, max: usize) -> Option<String> {
    let s = c.req_str(key, missing)?;
    if s.chars().count() > max {
        c.error(key, &format!("最多{max}个字符"), "invalid");
        return None;
    }
    Some(s)
}
