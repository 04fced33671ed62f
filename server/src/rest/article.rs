//! Article endpoints under `/zhugeleida/gongzhonghao/` (API doc 2.1–2.4 and the
//! view/staytime producers). Both routes dispatch on `oper` as the original did:
//! an operation the method does not serve answers `code 0`, a method the route
//! does not serve answers 402 after authentication.

use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use app::api::article::{
    RecommendList, RecommendQuery, ReviewForm, ReviewList, ReviewPosted, SignedUp, StayForm,
    StayTime, ViewForm, ViewedArticle,
};
use app::domain::MobilePhone;

use super::{post_only, wrong_method, Args};
use crate::auth::CustomerAuth;
use crate::error::{ok, ApiError, ApiResult, Error, WithStyle, IN_DATA_402, IN_MSG_301};
use crate::extract::{parse_id, Body, Check, Fields, Query, WHOLE_NUMBER};
use crate::service::article;
use crate::service::signup::{
    self, SignUp, MAX_ADDRESS_CHARS, MAX_LEAVE_MESSAGE_CHARS, MAX_SIGNUP_NAME_CHARS,
};
use crate::AppState;

pub fn routes(t: &mut crate::rest::Routes) {
    t.route(
        "/gongzhonghao/article/{oper}/{o_id}",
        get(article_op).post(article_op).fallback(wrong_method),
    )
    .route(
        "/gongzhonghao/plugin_report/{oper}/{o_id}",
        post_only(plugin_report_op),
    );
}

fn path_id(o_id: &str) -> Result<i64, Error> {
    parse_id(o_id).ok_or_else(Error::bad_request)
}

async fn article_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> Response {
    let id = match path_id(&o_id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match (method == Method::POST, oper.as_str()) {
        (true, "review_article") => review_article(&st, customer_id, id, &body)
            .await
            .into_response(),
        (true, "view_article") => view_article(&st, customer_id, id, &body)
            .await
            .into_response(),
        (true, "staytime") => staytime(&st, customer_id, id, &body).await.into_response(),
        (false, "article_review_list") => review_list(&st, customer_id, id).await.into_response(),
        (false, "recommend_article_list") => {
            recommend(&st, customer_id, id, &q).await.into_response()
        }
        _ => Error::UnknownOperation.into_response(),
    }
}

async fn review_list(st: &AppState, customer_id: i64, article_id: i64) -> ApiResult<ReviewList> {
    let items = article::review_list(st, customer_id, article_id).await?;
    if items.is_empty() {
        return Err(Error::NoData.into());
    }
    let data_count = items.len() as i64;
    ok(
        "查询成功",
        ReviewList {
            ret_data: items,
            data_count,
        },
    )
}

fn recommend_query(q: &Fields) -> Result<RecommendQuery, ApiError> {
    let mut c = Check::new(q);
    let uid = c.req_int("uid", "uidID不能为空", WHOLE_NUMBER);
    let company_id = c.req_int("company_id", "公司ID不能为空", WHOLE_NUMBER);
    c.finish().styled(IN_DATA_402)?;
    let (Some(uid), Some(company_id)) = (uid, company_id) else {
        return Err(Error::bad_request().into());
    };
    Ok(RecommendQuery { uid, company_id })
}

async fn recommend(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    q: &Fields,
) -> ApiResult<RecommendList> {
    let q = recommend_query(q)?;
    let list = article::recommend(st, customer_id, article_id, q.uid, q.company_id)
        .await
        .styled(IN_DATA_402)?;
    if list.ret_data.is_empty() {
        return Err(Error::NoData.into());
    }
    ok("查询成功", list)
}

fn review_form(body: &Fields) -> Result<ReviewForm, ApiError> {
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
    Ok(ReviewForm { content, uid })
}

async fn review_article(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    body: &Fields,
) -> ApiResult<ReviewPosted> {
    let f = review_form(body)?;
    let id = article::review(st, customer_id, article_id, &f.content, f.uid)
        .await
        .styled(IN_MSG_301)?;
    ok("成功", ReviewPosted { id })
}

fn view_form(body: &Fields) -> Result<ViewForm, ApiError> {
    let mut c = Check::new(body);
    let uid = c.opt_int("uid", WHOLE_NUMBER);
    c.finish().styled(IN_MSG_301)?;
    Ok(ViewForm { uid })
}

async fn view_article(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    body: &Fields,
) -> ApiResult<ViewedArticle> {
    let f = view_form(body)?;
    let v = article::view(st, customer_id, article_id, f.uid)
        .await
        .styled(IN_MSG_301)?;
    ok("成功", v)
}

fn stay_form(body: &Fields) -> Result<StayForm, ApiError> {
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
    Ok(StayForm {
        uid,
        log_id,
        seconds,
    })
}

async fn staytime(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    body: &Fields,
) -> ApiResult<StayTime> {
    let f = stay_form(body)?;
    let stored = article::stay(st, customer_id, article_id, f.uid, f.log_id, f.seconds)
        .await
        .styled(IN_MSG_301)?;
    ok("成功", stored)
}

/// The sign-up form, validated (`phone_verify_code` is accepted and ignored:
/// there is no SMS provider).
fn sign_up_form(body: &Fields) -> Result<SignUp, ApiError> {
    let mut c = Check::new(body);
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
    c.finish().styled(IN_MSG_301)?;
    let (Some(customer_name), Some(phone), Some(leave_message)) =
        (customer_name, phone, leave_message)
    else {
        return Err(Error::bad_request().into());
    };
    Ok(SignUp {
        customer_name,
        phone,
        leave_message,
        address,
        uid,
    })
}

async fn plugin_report_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    Args((oper, o_id)): Args<(String, String)>,
    Body(body): Body,
) -> ApiResult<SignedUp> {
    let activity_id = path_id(&o_id)?;
    if oper != "sign_up_activity" {
        return Err(Error::UnknownOperation.into());
    }
    let s = sign_up_form(&body)?;
    let id = signup::sign_up(&st, customer_id, activity_id, &s)
        .await
        .styled(IN_MSG_301)?;
    ok("报名成功", SignedUp { id })
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
