//! Chat endpoints of both sides (API doc 1.1–1.4, semantics §10.3–10.6).

use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;

use app::api::chat::{
    BadgeCount, ChatInfoCount, CustomerHistory, CustomerMessage, InboxLegend, InboxPage,
    SalesHistory, SalesMessage, SearchPage, SentMessage, Unread,
};
use app::api::{Envelope, Side};

use super::{any_method, get_only, Args};
use crate::auth::{CustomerAuth, SalesAuth};
use crate::error::{
    ok, ApiError, ApiResult, Error, Style, WithStyle, IN_DATA_302, IN_DATA_402, IN_MSG_301,
};
use crate::extract::{parse_id, Body, Check, Fields, Paging, Query, WHOLE_NUMBER};
use crate::service::chat::search::MAX_QUERY_CHARS;
use crate::service::chat::{self, inbox, readmodel, Outgoing};
use crate::service::display::TimeStyle;
use crate::AppState;

pub fn routes(t: &mut crate::rest::Routes) {
    t.route(
        "/gongzhonghao/chat/{oper}/{o_id}",
        any_method(customer_chat_op),
    )
    .route("/gongzhonghao/chat", get_only(customer_history))
    .route("/qiyeweixin/chat/{oper}/{o_id}", any_method(sales_chat_op))
    .route("/qiyeweixin/chat", get_only(sales_history))
    .route("/qiyeweixin/chat/search", get_only(search))
    .route("/qiyeweixin/contact", get_only(inbox_page))
    .route("/qiyeweixin/contact/{oper}", get_only(inbox_op));
}

fn parse_o_id(o_id: &str) -> Result<(), Error> {
    parse_id(o_id).map(|_| ()).ok_or_else(Error::bad_request)
}

fn getmsg_msg(empty: bool) -> &'static str {
    if empty {
        "没有得到实时聊天信息"
    } else {
        "实时获取-最新聊天信息成功"
    }
}

/// A send of `from` to the other party named by `peer` (`u_id`, `customer_id`).
async fn send(
    st: &AppState,
    from: Side,
    me: i64,
    body: &Fields,
) -> Result<(Outgoing, chat::Sent), ApiError> {
    let mut c = Check::new(body);
    let (peer, body_user) = match from {
        Side::Customer => (
            c.req_int("u_id", "This field is required.", "用户ID不能为空"),
            None,
        ),
        Side::Sales => {
            let body_user = c.opt_int("user_id", "user_id不能为空");
            let peer = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
            (peer, body_user)
        }
    };
    c.opt_int("send_type", "发送类型不能为空");
    let out = Outgoing::parse(&mut c);
    if body_user.is_some_and(|u| u != me) {
        c.error("user_id", "user_id与签名用户不一致", "invalid");
    }
    c.finish()?;
    let (Some(peer), Some(out)) = (peer, out) else {
        return Err(Error::bad_request().into());
    };
    let sent = match from {
        Side::Customer => chat::customer_send(st, me, peer, &out).await?,
        Side::Sales => chat::sales_send(st, me, peer, &out).await?,
    };
    Ok((out, sent))
}

/// `gongzhonghao/chat/{oper}/{o_id}`: `send_msg`, `getmsg`, `query_num`.
async fn customer_chat_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> Result<Response, ApiError> {
    parse_o_id(&o_id)?;
    let u_id = |style: Style| -> Result<i64, ApiError> {
        let mut c = Check::new(&q);
        let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
        c.finish().styled(style)?;
        u_id.ok_or_else(|| Error::bad_request().into())
    };
    Ok(match (method == Method::POST, oper.as_str()) {
        (true, "send_msg") => {
            let (out, sent) = send(&st, Side::Customer, customer_id, &body).await?;
            let data: SentMessage = sent.answer(&st, &out, TimeStyle::Iso);
            ok("send msg successful", data).into_response()
        }
        (false, "getmsg") => {
            let u_id = u_id(IN_DATA_402)?;
            let data: Unread<CustomerMessage> =
                chat::customer_getmsg(&st, customer_id, u_id).await?;
            ok(getmsg_msg(data.ret_data.is_empty()), data).into_response()
        }
        (false, "query_num") => {
            let u_id = u_id(IN_DATA_302)?;
            let n = readmodel::customer_unread(&st, u_id, customer_id).await?;
            ok("查询成功", ChatInfoCount { chatinfo_count: n }).into_response()
        }
        (true, _) => return Err(Error::UnknownOperation.into()),
        (false, _) => return Err(Error::bad_request().into()),
    })
}

fn after_id(c: &mut Check<'_>) -> Option<i64> {
    c.opt_int("after_id", WHOLE_NUMBER)
}

/// `gongzhonghao/chat`: a page of history and the rep's card.
async fn customer_history(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    Query(q): Query,
) -> ApiResult<CustomerHistory> {
    let mut c = Check::new(&q);
    let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
    let paging = Paging::parse(&mut c, 20);
    let after = after_id(&mut c);
    c.finish()?;
    let (Some(u_id), Some(paging)) = (u_id, paging) else {
        return Err(Error::bad_request().into());
    };
    let data = chat::customer_history(&st, customer_id, u_id, paging, after).await?;
    ok("分页获取-全部聊天消息成功", data)
}

/// `qiyeweixin/chat/{oper}/{o_id}`: `send_msg`, `getmsg`.
async fn sales_chat_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> Result<Response, ApiError> {
    parse_o_id(&o_id)?;
    Ok(match (method == Method::POST, oper.as_str()) {
        (true, "send_msg") => {
            let (out, sent) = send(&st, Side::Sales, user_id, &body).await?;
            ok("发送成功", sent.answer(&st, &out, TimeStyle::Iso)).into_response()
        }
        (false, "getmsg") => {
            let mut c = Check::new(&q);
            let customer_id = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
            c.finish()?;
            let customer_id = customer_id.ok_or_else(Error::bad_request)?;
            let data: Unread<SalesMessage> = chat::sales_getmsg(&st, user_id, customer_id).await?;
            ok(getmsg_msg(data.ret_data.is_empty()), data).into_response()
        }
        (true, _) => return Err(Error::UnknownOperation.into()),
        (false, _) => return Err(Error::bad_request().into()),
    })
}

/// `qiyeweixin/chat`: a page of history.
async fn sales_history(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<SalesHistory> {
    let mut c = Check::new(&q);
    let customer_id = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
    let paging = Paging::parse(&mut c, 20);
    let after = after_id(&mut c);
    c.finish().styled(IN_MSG_301)?;
    let (Some(customer_id), Some(paging)) = (customer_id, paging) else {
        return Err(Error::bad_request().into());
    };
    let data = chat::sales_history(&st, user_id, customer_id, paging, after)
        .await
        .styled(IN_MSG_301)?;
    let msg = if data.ret_data.is_empty() {
        "没有新消息"
    } else {
        "分页获取-全部聊天消息成功"
    };
    ok(msg, data)
}

/// `qiyeweixin/chat/search`: the rep's messages containing `q`, newest first.
async fn search(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<SearchPage> {
    let mut c = Check::new(&q);
    let text = c.req_str("q", "搜索内容不能为空");
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS)
    {
        c.error("q", &format!("最多{MAX_QUERY_CHARS}个字符"), "invalid");
    }
    let paging = Paging::parse(&mut c, 20);
    c.finish()?;
    let (Some(text), Some(paging)) = (text, paging) else {
        return Err(Error::bad_request().into());
    };
    let data = chat::search::search(&st, user_id, &text, paging).await?;
    ok("查询成功", data)
}

/// `qiyeweixin/contact`: a page of the inbox, with the legend in `note`.
async fn inbox_page(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<InboxPage, InboxLegend> {
    let mut c = Check::new(&q);
    let paging = Paging::parse(&mut c, 20);
    c.finish().styled(IN_DATA_402)?;
    let paging = paging.ok_or_else(Error::bad_request)?;
    let data = inbox::page(&st, user_id, paging).await?;
    Ok(Json(
        Envelope::new(200, "", data).with_note(InboxLegend::text()),
    ))
}

/// `qiyeweixin/contact/query_num`: the rep's badge.
async fn inbox_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args(oper): Args<String>,
) -> ApiResult<BadgeCount> {
    if oper != "query_num" {
        return Err(Error::UnknownContactOperation.into());
    }
    let chatinfo_count = readmodel::badge(&st, user_id).await?;
    let company_id = readmodel::company_of_user(&st, user_id).await?;
    ok(
        "查询成功",
        BadgeCount {
            chatinfo_count,
            company_id,
        },
    )
}
