//! Chat endpoints of both sides (API doc 1.1–1.4, semantics §10.3–10.6).

use axum::extract::State;
use axum::http::Method;
use axum::routing::Router;
use serde_json::{json, Value};

use app::domain::{MessageContent, MAX_CLIENT_MSG_ID};

use super::{any_method, get_only, Args};
use crate::auth::{CustomerAuth, SalesAuth};
use crate::error::{ok, ApiResult, Error, WithStyle, IN_DATA_302, IN_DATA_402, IN_MSG_301};
use crate::extract::{parse_id, Body, Check, Paging, Query, WHOLE_NUMBER};
use crate::service::chat::{self, Outgoing, Sent};
use crate::timefmt;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/gongzhonghao/chat/{oper}/{o_id}",
            any_method(customer_chat_op),
        )
        .route("/gongzhonghao/chat", get_only(customer_history))
        .route("/qiyeweixin/chat/{oper}/{o_id}", any_method(sales_chat_op))
        .route("/qiyeweixin/chat", get_only(sales_history))
        .route("/qiyeweixin/contact", get_only(sales_contacts))
        .route("/qiyeweixin/contact/{oper}", get_only(sales_contact_op))
}

/// `content`, `client_msg_id` and `article_id` of a send.
pub(crate) fn outgoing(c: &mut Check<'_>) -> Option<Outgoing> {
    let content = match c.fields.value("content") {
        None => {
            c.error("content", "消息不能为空", "required");
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            c.error("content", "消息不能为空", "required");
            None
        }
        Some(v) => match MessageContent::parse_value(v) {
            Ok(m) => Some(m),
            Err(msg) => {
                c.error("content", &msg, "invalid");
                None
            }
        },
    };
    let article_id = c.opt_int("article_id", WHOLE_NUMBER);
    let client_msg_id = c.opt_str("client_msg_id", MAX_CLIENT_MSG_ID);
    Some(Outgoing {
        content: content?,
        client_msg_id,
        article_id,
    })
}

fn sent_data(st: &AppState, s: Sent, client_msg_id: Option<&str>) -> Value {
    json!({
        "id": s.id,
        "dateTime": timefmt::iso(st.config.tz, s.create_date),
        "client_msg_id": client_msg_id,
        "duplicate": s.duplicate,
    })
}

fn parse_o_id(o_id: &str) -> Result<(), Error> {
    parse_id(o_id).map(|_| ()).ok_or_else(Error::bad_request)
}

async fn customer_chat_op(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> ApiResult {
    parse_o_id(&o_id)?;
    match (method == Method::POST, oper.as_str()) {
        (true, "send_msg") => {
            let mut c = Check::new(&body);
            let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
            c.opt_int("send_type", "发送类型不能为空");
            let out = outgoing(&mut c);
            c.finish()?;
            let (Some(u_id), Some(out)) = (u_id, out) else {
                return Err(Error::bad_request().into());
            };
            let sent = chat::customer_send(&st, customer_id, u_id, &out).await?;
            ok(
                "send msg successful",
                sent_data(&st, sent, out.client_msg_id.as_deref()),
            )
        }
        (false, "getmsg") => {
            let mut c = Check::new(&q);
            let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
            c.finish()?;
            let u_id = u_id.ok_or_else(Error::bad_request)?;
            let items = chat::customer_getmsg(&st, customer_id, u_id).await?;
            let msg = if items.is_empty() {
                "没有得到实时聊天信息"
            } else {
                "实时获取-最新聊天信息成功"
            };
            let n = items.len();
            ok(msg, json!({"ret_data": items, "data_count": n}))
        }
        (false, "query_num") => {
            let mut c = Check::new(&q);
            let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
            c.finish().styled(IN_DATA_302)?;
            let u_id = u_id.ok_or_else(Error::bad_request)?;
            let n = chat::customer_query_num(&st, customer_id, u_id).await?;
            ok("查询成功", json!({"chatinfo_count": n}))
        }
        (true, _) => Err(Error::UnknownOperation.into()),
        (false, _) => Err(Error::bad_request().into()),
    }
}

fn after_id(c: &mut Check<'_>) -> Option<i64> {
    c.opt_int("after_id", WHOLE_NUMBER)
}

async fn customer_history(
    State(st): State<AppState>,
    CustomerAuth(customer_id): CustomerAuth,
    Query(q): Query,
) -> ApiResult {
    let mut c = Check::new(&q);
    let u_id = c.req_int("u_id", "This field is required.", "用户ID不能为空");
    let paging = Paging::parse(&mut c, 20);
    let after = after_id(&mut c);
    c.finish()?;
    let (Some(u_id), Some(paging)) = (u_id, paging) else {
        return Err(Error::bad_request().into());
    };
    let (h, extra) = chat::customer_history(&st, customer_id, u_id, paging, after).await?;
    let mut data = json!({"ret_data": h.items});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
        d.insert("data_count".into(), json!(h.data_count));
    }
    ok("分页获取-全部聊天消息成功", data)
}

async fn sales_chat_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    method: Method,
    Args((oper, o_id)): Args<(String, String)>,
    Query(q): Query,
    Body(body): Body,
) -> ApiResult {
    parse_o_id(&o_id)?;
    match (method == Method::POST, oper.as_str()) {
        (true, "send_msg") => {
            let mut c = Check::new(&body);
            let body_user = c.opt_int("user_id", "user_id不能为空");
            let customer_id = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
            c.opt_int("send_type", "发送类型不能为空");
            let out = outgoing(&mut c);
            if body_user.is_some_and(|u| u != user_id) {
                c.error("user_id", "user_id与签名用户不一致", "invalid");
            }
            c.finish()?;
            let (Some(customer_id), Some(out)) = (customer_id, out) else {
                return Err(Error::bad_request().into());
            };
            let sent = chat::sales_send(&st, user_id, customer_id, &out).await?;
            ok(
                "发送成功",
                sent_data(&st, sent, out.client_msg_id.as_deref()),
            )
        }
        (false, "getmsg") => {
            let mut c = Check::new(&q);
            let customer_id = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
            c.finish()?;
            let customer_id = customer_id.ok_or_else(Error::bad_request)?;
            let items = chat::sales_getmsg(&st, user_id, customer_id).await?;
            let msg = if items.is_empty() {
                "没有得到实时聊天信息"
            } else {
                "实时获取-最新聊天信息成功"
            };
            let n = items.len();
            ok(msg, json!({"ret_data": items, "data_count": n}))
        }
        (true, _) => Err(Error::UnknownOperation.into()),
        (false, _) => Err(Error::bad_request().into()),
    }
}

async fn sales_history(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult {
    let mut c = Check::new(&q);
    let customer_id = c.req_int("customer_id", "客户ID不能为空", "客户ID不能为空");
    let paging = Paging::parse(&mut c, 20);
    let after = after_id(&mut c);
    c.finish().styled(IN_MSG_301)?;
    let (Some(customer_id), Some(paging)) = (customer_id, paging) else {
        return Err(Error::bad_request().into());
    };
    let h = chat::sales_history(&st, user_id, customer_id, paging, after)
        .await
        .styled(IN_MSG_301)?;
    let msg = if h.items.is_empty() {
        "没有新消息"
    } else {
        "分页获取-全部聊天消息成功"
    };
    let company_id = chat::company_of_user(&st, user_id).await?;
    ok(
        msg,
        json!({"ret_data": h.items, "data_count": h.data_count, "company_id": company_id}),
    )
}

fn contact_note() -> Value {
    json!({
        "customer_id": "客户ID", "name": "客户姓名",
        "customer_source": "客户访问类型ID(微信公众号 微信小程序)", "customer_source_text": "客户访问类型",
        "src": "客户头像", "is_subscribe": "该客户是否订阅该公众号ID", "is_subscribe_text": "该客户是否订阅该公众号 文本",
        "dateTime": "消息发送时间", "msg": "发送的消息", "count": "该客户发送消息的数量",
        "tags_list": "标签列表", "unread_msg_num": "未读消息总数"
    })
}

async fn sales_contacts(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Query(q): Query,
) -> ApiResult<Value, Value> {
    let mut c = Check::new(&q);
    let paging = Paging::parse(&mut c, 20);
    c.finish().styled(IN_DATA_402)?;
    let paging = paging.ok_or_else(Error::bad_request)?;
    let list = chat::sales_contacts(&st, user_id, paging).await?;
    let data = json!({"ret_data": list.items, "data_count": list.data_count, "unread_msg_num": list.unread_msg_num});
    Ok(axum::Json(
        app::api::Envelope::new(200, "", data).with_note(contact_note()),
    ))
}

async fn sales_contact_op(
    State(st): State<AppState>,
    SalesAuth(user_id): SalesAuth,
    Args(oper): Args<String>,
) -> ApiResult {
    if oper != "query_num" {
        return Err(Error::UnknownContactOperation.into());
    }
    let n = chat::sales_badge(&st, user_id).await?;
    let company_id = chat::company_of_user(&st, user_id).await?;
    ok(
        "查询成功",
        json!({"chatinfo_count": n, "company_id": company_id}),
    )
}
