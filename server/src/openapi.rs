//! `GET /openapi.json` (contract §7): an OpenAPI 3.1 document of every REST
//! endpoint, built from the wire types of `app::api` (their `utoipa::ToSchema`
//! derives are the component schemas), and the socket feeds under
//! `x-websockets`. `GET /docs` renders it with a viewer bundled into the
//! binary (see build.rs), so no page asset comes from elsewhere.
//!
//! The REST routes dispatch on `{oper}` as the original did; the document
//! lists each operation as its own path (`…/customer/update_expected_pr/{o_id}`),
//! as the API doc does. [`OPS`] is that list, each entry naming the router
//! pattern that serves it, so a test can hold the document and the router to
//! each other (`tests/api/openapi.rs`).

use std::sync::OnceLock;

use app::api::{article as art, chat, crm, Action, ArticleHead, SendType, Side};
use app::domain::FieldErrors;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use utoipa::openapi::schema::ComponentsBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
use utoipa::{PartialSchema, ToSchema};

/// Where every documented REST path lives.
pub const PREFIX: &str = "/zhugeleida";

/// How an operation is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }
}

/// A query parameter: name, integer or text, required, description.
#[derive(Debug, Clone, Copy)]
pub struct Q(pub &'static str, pub Kind, pub bool, pub &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    /// `YYYY-MM-DD` (shorter month and day accepted).
    Date,
}

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub method: Method,
    /// The documented path under [`PREFIX`]; `{o_id}` is its one path parameter.
    pub path: &'static str,
    /// The router pattern (under [`PREFIX`]) that serves it.
    pub route: &'static str,
    pub side: Side,
    pub tag: &'static str,
    pub summary: &'static str,
    /// What `{o_id}` names, when the path has it.
    pub o_id: Option<&'static str>,
    pub query: &'static [Q],
    /// Component name of the body (form-urlencoded or JSON).
    pub body: Option<&'static str>,
    /// Component name of `data` on success.
    pub data: &'static str,
    /// Component name of `note` on success (`{}` when `None`).
    pub note: Option<&'static str>,
    /// The success `msg` texts.
    pub msgs: &'static [&'static str],
    /// Codes of refusals with the field errors in `data` (`msg` 请求异常).
    pub in_data: &'static [i64],
    /// Codes of refusals with the field errors in `msg`.
    pub in_msg: &'static [i64],
    /// Codes of refusals with a text `msg` and empty `data`.
    pub plain: &'static [i64],
}

const PAGING: [Q; 2] = [
    Q(
        "current_page",
        Kind::Int,
        false,
        "page, from 1 (default 1; below 1 reads as 1)",
    ),
    Q(
        "length",
        Kind::Int,
        false,
        "page size (0 or above 100 reads as 100; negative as the default)",
    ),
];

const U_ID: Q = Q(
    "u_id",
    Kind::Int,
    true,
    "the rep (sales user) of the conversation",
);
const CUSTOMER_ID: Q = Q("customer_id", Kind::Int, true, "the customer");
const AFTER_ID: Q = Q(
    "after_id",
    Kind::Int,
    false,
    "only messages with a larger id (resume)",
);

const fn op(method: Method, path: &'static str, route: &'static str, side: Side) -> Op {
    Op {
        method,
        path,
        route,
        side,
        tag: "",
        summary: "",
        o_id: None,
        query: &[],
        body: None,
        data: "Empty",
        note: None,
        msgs: &[],
        in_data: &[402],
        in_msg: &[],
        plain: &[402],
    }
}

use Method::{Get, Post};
use Side::{Customer as C, Sales as R};

/// Every documented REST operation.
pub const OPS: &[Op] = &[
    // -- chat, customer side
    Op {
        tag: "chat",
        summary: "Send a message to rep `u_id`",
        o_id: Some("unused, `0`"),
        body: Some("CustomerSendForm"),
        data: "SentMessage",
        msgs: &["send msg successful"],
        plain: &[402, 307],
        ..op(Post, "/gongzhonghao/chat/send_msg/{o_id}", "/gongzhonghao/chat/{oper}/{o_id}", C)
    },
    Op {
        tag: "chat",
        summary: "The rep's unread messages; marks them read",
        o_id: Some("unused, `0`"),
        query: &[U_ID],
        data: "Unread_CustomerMessage",
        msgs: &["实时获取-最新聊天信息成功", "没有得到实时聊天信息"],
        plain: &[402, 307],
        ..op(Get, "/gongzhonghao/chat/getmsg/{o_id}", "/gongzhonghao/chat/{oper}/{o_id}", C)
    },
    Op {
        tag: "chat",
        summary: "Unread count from rep `u_id`",
        o_id: Some("unused, `0`"),
        query: &[U_ID],
        data: "ChatInfoCount",
        msgs: &["查询成功"],
        in_data: &[402, 302],
        plain: &[402, 307],
        ..op(Get, "/gongzhonghao/chat/query_num/{o_id}", "/gongzhonghao/chat/{oper}/{o_id}", C)
    },
    Op {
        tag: "chat",
        summary: "A page of the history with rep `u_id`, and the rep's card",
        query: &[U_ID, PAGING[0], PAGING[1], AFTER_ID],
        data: "CustomerHistory",
        msgs: &["分页获取-全部聊天消息成功"],
        plain: &[402, 307],
        ..op(Get, "/gongzhonghao/chat", "/gongzhonghao/chat", C)
    },
    // -- chat, rep side
    Op {
        tag: "chat",
        summary: "Send a message to `customer_id`",
        o_id: Some("unused, `0`"),
        body: Some("SalesSendForm"),
        data: "SentMessage",
        msgs: &["发送成功"],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/chat/send_msg/{o_id}", "/qiyeweixin/chat/{oper}/{o_id}", R)
    },
    Op {
        tag: "chat",
        summary: "The customer's unread messages; marks them read",
        o_id: Some("unused, `0`"),
        query: &[CUSTOMER_ID],
        data: "Unread_SalesMessage",
        msgs: &["实时获取-最新聊天信息成功", "没有得到实时聊天信息"],
        plain: &[402, 307],
        ..op(Get, "/qiyeweixin/chat/getmsg/{o_id}", "/qiyeweixin/chat/{oper}/{o_id}", R)
    },
    Op {
        tag: "chat",
        summary: "A page of the history with `customer_id`",
        query: &[CUSTOMER_ID, PAGING[0], PAGING[1], AFTER_ID],
        data: "SalesHistory",
        msgs: &["分页获取-全部聊天消息成功", "没有新消息"],
        in_msg: &[301],
        plain: &[402, 307],
        ..op(Get, "/qiyeweixin/chat", "/qiyeweixin/chat", R)
    },
    // -- uploads, both sides
    Op {
        tag: "chat",
        summary: "Upload a photo or video to send as an `info_type` 4 or 5 message: JPEG, PNG, GIF, WebP up to 10 MB or MP4 up to 50 MB, the type decided by the bytes; anything else, or too large, is a 402 field error on `file`",
        o_id: Some("unused, `0`"),
        body: Some("UploadForm"),
        data: "Uploaded",
        msgs: &["上传成功"],
        ..op(Post, "/gongzhonghao/chat/upload/{o_id}", "/gongzhonghao/chat/upload/{o_id}", C)
    },
    Op {
        tag: "chat",
        summary: "Upload a photo or video to send as an `info_type` 4 or 5 message: JPEG, PNG, GIF, WebP up to 10 MB or MP4 up to 50 MB, the type decided by the bytes; anything else, or too large, is a 402 field error on `file`",
        o_id: Some("unused, `0`"),
        body: Some("UploadForm"),
        data: "Uploaded",
        msgs: &["上传成功"],
        ..op(Post, "/qiyeweixin/chat/upload/{o_id}", "/qiyeweixin/chat/upload/{o_id}", R)
    },
    Op {
        tag: "chat",
        summary: "The rep's text messages containing `q` in the rep's own conversations, newest first",
        query: &[
            Q("q", Kind::Text, true, "what the text contains (1–100 characters, trimmed; case-insensitive for ASCII letters (PostgreSQL folds other letters too), `%` and `_` literal)"),
            PAGING[0],
            PAGING[1],
        ],
        data: "SearchPage",
        msgs: &["查询成功"],
        ..op(Get, "/qiyeweixin/chat/search", "/qiyeweixin/chat/search", R)
    },
    Op {
        tag: "chat",
        summary: "The inbox: conversations, latest message first, with unread counts",
        query: &PAGING,
        data: "InboxPage",
        note: Some("InboxLegend"),
        msgs: &[""],
        ..op(Get, "/qiyeweixin/contact", "/qiyeweixin/contact", R)
    },
    Op {
        tag: "chat",
        summary: "The rep's unread badge",
        data: "BadgeCount",
        msgs: &["查询成功"],
        ..op(Get, "/qiyeweixin/contact/query_num", "/qiyeweixin/contact/{oper}", R)
    },
    // -- CRM
    Op {
        tag: "crm",
        summary: "The contact list (通讯录)",
        query: &[
            PAGING[0],
            PAGING[1],
            Q("order", Kind::Text, false, "`expedted_pr`, `last_follow_time`, `last_activity_time` or `create_date`, `-` first for descending (default `-expedted_pr`)"),
            Q("customer_id", Kind::Int, false, "only this customer"),
            Q("customer_type", Kind::Int, false, "channel filter"),
            Q("customer__source", Kind::Int, false, "how the customer came (1–5)"),
            Q("username", Kind::Text, false, "name contains (at most 100 characters)"),
        ],
        data: "Page_ContactItem",
        msgs: &["查询成功"],
        plain: &[402, 302],
        ..op(Get, "/qiyeweixin/tongxunlu", "/qiyeweixin/tongxunlu", R)
    },
    Op {
        tag: "crm",
        summary: "The customer's profile (the only item of the page)",
        query: &[CUSTOMER_ID, PAGING[0], PAGING[1]],
        data: "Page_CustomerProfile",
        msgs: &["查询成功"],
        plain: &[402, 307],
        ..op(Get, "/qiyeweixin/customer", "/qiyeweixin/customer", R)
    },
    Op {
        tag: "crm",
        summary: "The rep's private notes on the customer",
        o_id: Some("the customer"),
        body: Some("InformationForm"),
        msgs: &["添加成功", "修改成功"],
        in_msg: &[303],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/customer/update_information/{o_id}", "/qiyeweixin/customer/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Expected closing date; logs a follow-up",
        o_id: Some("the customer"),
        body: Some("ExpectedTimeForm"),
        msgs: &["添加成功"],
        in_msg: &[303],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/customer/update_expected_time/{o_id}", "/qiyeweixin/customer/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Closing probability 0–100 (a trailing `%` is accepted); logs a follow-up",
        o_id: Some("the customer"),
        body: Some("ExpectedPrForm"),
        msgs: &["添加成功"],
        in_msg: &[303],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/customer/update_expected_pr/{o_id}", "/qiyeweixin/customer/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Replace the rep's tags on the customer",
        o_id: Some("the customer"),
        body: Some("TagListForm"),
        msgs: &["添加成功"],
        in_msg: &[301],
        plain: &[402, 307, 301],
        ..op(Post, "/qiyeweixin/customer/update_tag/{o_id}", "/qiyeweixin/customer/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "The rep's tags by group, `is_select` for `customer_id`",
        query: &[
            Q("customer_id", Kind::Int, false, "mark the tags this customer has"),
            Q("tag_type", Kind::Int, false, "1 公众号 or 2 小程序"),
        ],
        data: "TagGroups",
        msgs: &["请求成功"],
        plain: &[402, 307],
        ..op(Get, "/qiyeweixin/tag_list", "/qiyeweixin/tag_list", R)
    },
    Op {
        tag: "crm",
        summary: "A new tag, linked to the customer unless `o_id` is 0",
        o_id: Some("the customer, or `0`"),
        body: Some("NewTagForm"),
        data: "TagAdded",
        msgs: &["添加成功"],
        in_msg: &[301],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/tag_list/add_tag/{o_id}", "/qiyeweixin/tag_list/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Delete one of the rep's tags",
        o_id: Some("the tag"),
        msgs: &["删除成功"],
        plain: &[402, 301],
        ..op(Post, "/qiyeweixin/tag_list/delete_tag/{o_id}", "/qiyeweixin/tag_list/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Same as `customer/update_tag`",
        o_id: Some("the customer"),
        body: Some("TagListForm"),
        msgs: &["添加成功"],
        in_msg: &[301],
        plain: &[402, 307, 301],
        ..op(Post, "/qiyeweixin/tag_list/customer_tag/{o_id}", "/qiyeweixin/tag_list/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "Follow-up notes of the customer, newest first",
        query: &[
            CUSTOMER_ID,
            PAGING[0],
            PAGING[1],
            Q("order", Kind::Text, false, "`create_date` for oldest first"),
        ],
        data: "Page_FollowNote",
        msgs: &["查询成功"],
        plain: &[402, 307],
        ..op(Get, "/qiyeweixin/follow_info", "/qiyeweixin/follow_info", R)
    },
    Op {
        tag: "crm",
        summary: "Add a follow-up note",
        o_id: Some("the customer"),
        body: Some("FollowForm"),
        data: "NoteAdded",
        msgs: &["添加成功"],
        in_msg: &[301],
        plain: &[402, 307],
        ..op(Post, "/qiyeweixin/follow_info/add/{o_id}", "/qiyeweixin/follow_info/{oper}/{o_id}", R)
    },
    Op {
        tag: "crm",
        summary: "The access log, newest first; marks it seen",
        query: &[
            PAGING[0],
            PAGING[1],
            Q("customer_id", Kind::Int, false, "only this customer"),
            Q("action", Kind::Int, false, "only this action code"),
            Q("create_date__gte", Kind::Date, false, "from this day"),
            Q("create_date__lt", Kind::Date, false, "up to and including this day"),
        ],
        data: "Page_AccessLogItem",
        msgs: &["查询日志记录成功"],
        ..op(Get, "/qiyeweixin/action/time", "/qiyeweixin/action/{oper}", R)
    },
    Op {
        tag: "crm",
        summary: "Unseen access-log entries (the new-activity badge)",
        data: "NewCount",
        msgs: &["查询成功"],
        ..op(Get, "/qiyeweixin/action/new_count", "/qiyeweixin/action/{oper}", R)
    },
    // -- articles
    Op {
        tag: "article",
        summary: "The customer opened the article shared by `uid`; returns `log_id`",
        o_id: Some("the article"),
        body: Some("ViewForm"),
        data: "ViewedArticle",
        msgs: &["成功"],
        in_msg: &[301],
        ..op(Post, "/gongzhonghao/article/view_article/{o_id}", "/gongzhonghao/article/{oper}/{o_id}", C)
    },
    Op {
        tag: "article",
        summary: "Reading time of a view",
        o_id: Some("the article"),
        body: Some("StayForm"),
        data: "StayTime",
        msgs: &["成功"],
        in_msg: &[301],
        ..op(Post, "/gongzhonghao/article/staytime/{o_id}", "/gongzhonghao/article/{oper}/{o_id}", C)
    },
    Op {
        tag: "article",
        summary: "A review, visible to others once approved",
        o_id: Some("the article"),
        body: Some("ReviewForm"),
        data: "ReviewPosted",
        msgs: &["成功"],
        in_msg: &[301],
        ..op(Post, "/gongzhonghao/article/review_article/{o_id}", "/gongzhonghao/article/{oper}/{o_id}", C)
    },
    Op {
        tag: "article",
        summary: "Approved reviews plus the caller's own (none: 302 没有数据)",
        o_id: Some("the article"),
        data: "ReviewList",
        msgs: &["查询成功"],
        plain: &[402, 302],
        ..op(Get, "/gongzhonghao/article/article_review_list/{o_id}", "/gongzhonghao/article/{oper}/{o_id}", C)
    },
    Op {
        tag: "article",
        summary: "The company's three most-read other articles (none: 302 没有数据)",
        o_id: Some("the article"),
        query: &[
            Q("uid", Kind::Int, true, "the rep who shared the article"),
            Q("company_id", Kind::Int, true, "the rep's company"),
        ],
        data: "RecommendList",
        msgs: &["查询成功"],
        plain: &[402, 302],
        ..op(Get, "/gongzhonghao/article/recommend_article_list/{o_id}", "/gongzhonghao/article/{oper}/{o_id}", C)
    },
    Op {
        tag: "article",
        summary: "Sign up for an activity",
        o_id: Some("the activity"),
        body: Some("SignUpForm"),
        data: "SignedUp",
        msgs: &["报名成功"],
        in_msg: &[301],
        ..op(Post, "/gongzhonghao/plugin_report/sign_up_activity/{o_id}", "/gongzhonghao/plugin_report/{oper}/{o_id}", C)
    },
];

/// A socket feed under `x-websockets`.
pub struct Feed {
    pub path: &'static str,
    pub side: Side,
    pub summary: &'static str,
    /// The frames the server sends.
    pub sends: &'static [Frame],
}

/// A kind of frame the server sends: its component, and the `code` and
/// `msg` values that tell it from the others (`msgs` empty: any text).
pub struct Frame {
    pub schema: &'static str,
    pub codes: &'static [i64],
    pub msgs: &'static [&'static str],
    /// Keys its `data` never has (a whole inbox page has no `part`).
    pub without: &'static [&'static str],
}

use app::api::chat::{codes as fc, msgs as fm};

const fn frame(
    schema: &'static str,
    codes: &'static [i64],
    msgs: &'static [&'static str],
) -> Frame {
    Frame {
        schema,
        codes,
        msgs,
        without: &[],
    }
}

const REGISTERED_OR_LIVED: Frame = frame(
    "Signal",
    &[fc::REGISTERED, fc::LIVED],
    &[fm::REGISTERED, fm::LIVED],
);
const LIVED: Frame = frame("Signal", &[fc::LIVED], &[fm::LIVED]);
/// Error frames: any code but those of the frames above.
const REFUSAL: Frame = frame("Refusal", &[], &[]);

pub const FEEDS: &[Feed] = &[
    Feed {
        path: "/gongzhonghao/websocket/gongzhonghao_chat",
        side: C,
        summary: "`register` (`u_id`, optional `after_id`) → 199, then the pair's unread messages and every new one (both directions); a frame with `content` sends (acknowledged `小程序消息-发送成功`); `query_num` → the unread count; `lived` → 270; `closed` ends it",
        sends: &[
            REGISTERED_OR_LIVED,
            frame("CustomerPush", &[fc::OK], &[fm::CUSTOMER_PUSH]),
            frame("SendAck", &[fc::OK], &[fm::CUSTOMER_SENT]),
            frame("CountFrame", &[fc::OK], &[fm::CUSTOMER_QUERY_NUM]),
            REFUSAL,
        ],
    },
    Feed {
        path: "/gongzhonghao/websocket/gongzhonghao_query_info_num",
        side: C,
        summary: "`register` (`u_id`) → the unread count from that rep; pushed again whenever it changes",
        sends: &[
            frame("CustomerCountFrame", &[fc::OK], &[fm::CUSTOMER_COUNT, fm::CUSTOMER_COUNT_LIVE]),
            LIVED,
            REFUSAL,
        ],
    },
    Feed {
        path: "/qiyeweixin/websocket/leida_chat",
        side: R,
        summary: "`register` (`customer_id`, optional `after_id`) → 199, then new messages of the pair (the rep's own marked `echo`) and read receipts (202)",
        sends: &[
            REGISTERED_OR_LIVED,
            frame("SalesPush", &[fc::OK], &[fm::SALES_PUSH]),
            frame("Receipt", &[fc::RECEIPT], &[fm::RECEIPT]),
            REFUSAL,
        ],
    },
    Feed {
        path: "/qiyeweixin/websocket/leida_query_info_num",
        side: R,
        summary: "`register` → the rep's unread badge; pushed whenever it changes",
        sends: &[
            frame("CountFrame", &[fc::OK], &[fm::SALES_REGISTERED, fm::SALES_LIVE]),
            LIVED,
            REFUSAL,
        ],
    },
    Feed {
        path: "/qiyeweixin/websocket/leida_query_contact_list",
        side: R,
        summary: "`register` (optional `current_page`, `length`) → the inbox page; pushed on any change; a page over 64 KiB comes in parts (`part`, `parts`)",
        sends: &[
            Frame {
                without: &["part", "parts"],
                ..frame("InboxFrame", &[fc::OK], &[fm::SALES_REGISTERED, fm::SALES_LIVE])
            },
            frame("InboxPartFrame", &[fc::OK], &[fm::SALES_REGISTERED, fm::SALES_LIVE]),
            LIVED,
            REFUSAL,
        ],
    },
];

/// The schema of one kind of frame: its component, its `code` and `msg`
/// values, and no other top-level key, so that each frame fits exactly one
/// kind and a kind the document lacks fits none.
fn frame_schema(f: &Frame) -> Value {
    let code = if f.codes.is_empty() {
        json!({ "type": "integer", "not": { "enum": [fc::OK, fc::REGISTERED, fc::LIVED, fc::RECEIPT] } })
    } else {
        json!({ "enum": f.codes })
    };
    let mut props = json!({ "code": code });
    if !f.msgs.is_empty() {
        props["msg"] = json!({ "enum": f.msgs });
    }
    if !f.without.is_empty() {
        props["data"] = json!({ "not": { "anyOf": f.without.iter().map(|k| json!({ "required": [k] })).collect::<Vec<_>>() } });
    }
    json!({
        "title": f.schema,
        "allOf": [r(f.schema)],
        "properties": props,
        "unevaluatedProperties": false,
    })
}

/// Paths outside `/zhugeleida` that the document describes.
pub const META_PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/media/{key}",
];

/// One operation of the admin API (`rest::admin`), under its prefix.
struct AdminOp {
    path: &'static str,
    summary: &'static str,
    cli: &'static str,
    /// Component of the body; `None` for the re-keying operations (path `{id}`).
    body: Option<&'static str>,
    answer: &'static str,
    /// 201 for a created row, 200 for a new token.
    status: u16,
    /// Whether a duplicate answers 409.
    conflict: bool,
}

const ADMIN_OPS: &[AdminOp] = &[
    AdminOp {
        path: "/companies",
        summary: "Create a company",
        cli: "radar admin company create --name …",
        body: Some("NewCompany"),
        answer: "Created",
        status: 201,
        conflict: false,
    },
    AdminOp {
        path: "/users",
        summary: "Create a sales rep of a company; answers the rep's token",
        cli: "radar admin user create --company-id … --name … [--avatar --phone --wechat --wecom-userid]",
        body: Some("NewUser"),
        answer: "Credentials",
        status: 201,
        conflict: true,
    },
    AdminOp {
        path: "/customers",
        summary: "Create a customer of a company; answers the customer's token",
        cli: "radar admin customer create --name … --company-id … [--headimgurl --user-type]",
        body: Some("NewCustomer"),
        answer: "Credentials",
        status: 201,
        conflict: false,
    },
    AdminOp {
        path: "/relations",
        summary: "Relate a rep and a customer of the same company",
        cli: "radar admin relation create --user-id … --customer-id … [--source]",
        body: Some("NewRelation"),
        answer: "Created",
        status: 201,
        conflict: true,
    },
    AdminOp {
        path: "/users/{id}/rotate-token",
        summary: "A new token for the rep; the old one stops working everywhere within seconds and its sockets close",
        cli: "radar admin user rotate-token --id …",
        body: None,
        answer: "Credentials",
        status: 200,
        conflict: false,
    },
    AdminOp {
        path: "/customers/{id}/rotate-token",
        summary: "A new token for the customer; the old one stops working everywhere within seconds and its sockets close",
        cli: "radar admin customer rotate-token --id …",
        body: None,
        answer: "Credentials",
        status: 200,
        conflict: false,
    },
];

fn admin_refusal(desc: &str) -> Value {
    json_response(desc, r("AdminError"))
}

fn admin_paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for o in ADMIN_OPS {
        let mut responses = Map::new();
        responses.insert(
            o.status.to_string(),
            json_response("The CLI's JSON", r(o.answer)),
        );
        responses.insert(
            "401".into(),
            json!({
                "description": "No `Authorization: Bearer …` header, or the wrong token",
                "headers": { "WWW-Authenticate": { "description": "`Bearer realm=\"radar-admin\"`", "schema": { "type": "string" } } },
                "content": { "application/json": { "schema": r("AdminError") } }
            }),
        );
        responses.insert(
            "404".into(),
            admin_refusal(if o.body.is_some() {
                "The admin API is not enabled (`RADAR_ADMIN_TOKEN` unset): the server's ordinary unknown-path answer"
            } else {
                "No such id, or the admin API is not enabled (`RADAR_ADMIN_TOKEN` unset: the server's ordinary unknown-path answer)"
            }),
        );
        // The unknown-path answer of a server without the admin API is the
        // site's 404 page, not JSON.
        responses["404"]["content"]["text/html"] = json!({ "schema": { "type": "string" } });
        responses.insert(
            "429".into(),
            json!({
                "description": "Too many wrong tokens lately: every request waits `Retry-After` seconds",
                "headers": { "Retry-After": { "description": "seconds", "schema": { "type": "integer" } } },
                "content": { "application/json": { "schema": r("AdminError") } }
            }),
        );
        responses.insert(
            "503".into(),
            json_response(
                "The database is unreachable (`AdminError`) or the request ran out of time (the envelope, code 503)",
                json!({ "anyOf": [r("AdminError"), r("Unavailable")] }),
            ),
        );
        let mut params = Vec::new();
        if let Some(body) = o.body {
            responses.insert("400".into(), admin_refusal("The body is not JSON"));
            responses.insert("413".into(), admin_refusal("The body is over 16 KiB"));
            responses.insert(
                "415".into(),
                admin_refusal("The body is not `application/json`"),
            );
            responses.insert(
                "422".into(),
                admin_refusal(&format!(
                    "A field is missing, unknown, of the wrong type or invalid (an unknown company, rep or customer; another company's), named in `fields`: nothing is stored. Body: `{body}`"
                )),
            );
            if o.conflict {
                responses.insert(
                    "409".into(),
                    admin_refusal("Already exists (the relation, or the WeCom user id in the company): `fields` says which"),
                );
            }
        } else {
            params.push(json!({
                "name": "id", "in": "path", "required": true,
                "description": "the rep's or customer's id",
                "schema": { "type": "integer" }
            }));
        }
        let mut op = json!({
            "tags": ["admin"],
            "summary": o.summary,
            "description": format!("`{}` over HTTP: the same service, the same answer. Exists only when `RADAR_ADMIN_TOKEN` is set.", o.cli),
            "operationId": format!("admin{}", o.path.replace(['/', '{', '}', '-'], "_")),
            "parameters": params,
            "security": [{ "bearerAuth": [] }],
            "responses": responses,
        });
        if let Some(body) = o.body {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": r(body) } }
            });
        }
        paths.insert(
            format!("{}{}", crate::rest::admin::PREFIX, o.path),
            json!({ "post": op }),
        );
    }
    paths
}

/// The sign-in pages (`rest::signin`): redirects, or a short HTML page
/// saying why not.
fn signin_paths() -> Map<String, Value> {
    let company = json!({
        "name": "company_id", "in": "path", "required": true,
        "description": "the company (a positive integer; anything else answers 400)",
        "schema": { "type": "integer", "minimum": 1 }
    });
    let q = |name: &str, desc: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": schema });
    let text = json!({ "type": "string" });
    // A path of this site: `/`, not `//`, visible ASCII without `\` or `#`.
    let path = json!({ "type": "string", "maxLength": 512, "pattern": "^/([!\"$-.0-\\[\\]-~][!\"$-\\[\\]-~]*)?$" });
    let next = q("next", "the page to land on after signing in: a path of this site (reps: default `/rep`; customers: required)", path);
    let uid = q(
        "uid",
        "the rep who shared the link (customers)",
        json!({ "type": "integer", "minimum": 1 }),
    );
    let code = q(
        "code",
        "the one-time code WeCom or WeChat appended",
        text.clone(),
    );
    let state = q("state", "the signed state of the start redirect", text);
    let html = |desc: &str| json!({ "description": desc, "content": { "text/html": { "schema": { "type": "string" } } } });
    let redirect = |desc: &str| {
        json!({
            "description": desc,
            "headers": {
                "Location": { "description": "where to go", "required": true, "schema": { "type": "string" } },
                "Cache-Control": { "description": "`no-store`", "schema": { "type": "string" } }
            }
        })
    };
    let refusals = |ok: Value| {
        json!({
            "302": ok,
            "400": html("A broken or tampered link, an expired state, a used code (a zh-CN page)"),
            "403": html("The company does not offer this sign-in, its account expired, or the rep is unknown"),
            "500": html("An unexpected failure (logged)"),
            "503": html("WeCom, WeChat or the database is unreachable; `Retry-After` says when to retry"),
        })
    };
    let op = |id: &str, summary: &str, params: Vec<Value>, responses: Value| {
        json!({ "get": {
            "tags": ["sign-in"], "summary": summary, "operationId": id,
            "parameters": params, "responses": responses,
        }})
    };
    let mut m = Map::new();
    m.insert(
        "/auth/wecom/{company_id}/start".into(),
        op(
            "get_auth_wecom_start",
            "A rep's sign-in: redirects to WeCom's authorization page",
            vec![company.clone(), next.clone()],
            refusals(redirect(
                "To WeCom (open.weixin.qq.com), which comes back to `/auth/wecom/{company_id}`",
            )),
        ),
    );
    m.insert(
        "/auth/wecom/{company_id}".into(),
        op(
            "get_auth_wecom_callback",
            "WeCom's return: signs the rep in and redirects into the UI",
            vec![company.clone(), code.clone(), state.clone(), next.clone()],
            refusals(redirect(
                "Into the UI with `#user_id=…&token=…` in the fragment",
            )),
        ),
    );
    m.insert(
        "/auth/wechat/{company_id}/start".into(),
        op(
            "get_auth_wechat_start",
            "A customer's sign-in: redirects to the Official Account's authorization page",
            vec![company.clone(), next.clone(), uid.clone()],
            refusals(redirect(
                "To WeChat, which comes back to `/auth/wechat/{company_id}`",
            )),
        ),
    );
    m.insert(
        "/auth/wechat/{company_id}".into(),
        op(
            "get_auth_wechat_callback",
            "WeChat's return: signs the customer in (created on first visit) and redirects into the UI",
            vec![company.clone(), code, state, next, uid],
            refusals(redirect("Into the UI with `#user_id=…&token=…` in the fragment")),
        ),
    );
    m.insert(
        "/auth/options/{company_id}".into(),
        op(
            "get_auth_options",
            "The sign-ins the company offers (none for an unknown or expired company)",
            vec![company],
            json!({
                "200": json_response("The offer", r("SignInOptions")),
                "400": json_response("A malformed company id: no offer", r("SignInOptions")),
                "500": html("An unexpected failure (logged)"),
                "503": html("The database is unreachable"),
            }),
        ),
    );
    m
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn empty_object() -> Value {
    json!({ "type": "object", "maxProperties": 0 })
}

fn envelope_of(code: Value, msg: Value, data: Value, note: Value) -> Value {
    json!({
        "type": "object",
        "required": ["code", "msg", "data", "note"],
        "properties": { "code": code, "msg": msg, "data": data, "note": note },
    })
}

const SIGNING: &str = "Every request is signed with three query parameters, required together: \
`user_id` (the customer's id on `gongzhonghao/…` paths, the rep's on `qiyeweixin/…`), \
`timestamp` (epoch milliseconds, at most `RADAR_AUTH_MAX_SKEW_SECS` old, default 900 s, \
and at most 60 s ahead) and `rand_str = md5_hex(timestamp + token)` (the timestamp's \
decimal text followed by the token, lowercase hex). Any failure answers \
`{\"code\":400,\"msg\":\"token异常\"}` with the reason in `note.reason`.";

/// The wire types, registered as components under their Rust names.
fn components() -> utoipa::openapi::Components {
    let mut b = ComponentsBuilder::new();
    macro_rules! from {
        ($($t:ty),* $(,)?) => {$( b = b.schema_from::<$t>(); )*};
    }
    from!(
        app::api::Empty,
        app::api::Note,
        app::api::Msg,
        FieldErrors,
        SendType,
        Action,
        ArticleHead,
        chat::SentMessage,
        chat::Uploaded,
        chat::CustomerMessage,
        chat::SalesMessage,
        chat::CustomerHistory,
        chat::SalesHistory,
        chat::SearchHit,
        chat::SearchPage,
        chat::ChatInfoCount,
        chat::BadgeCount,
        chat::InboxItem,
        chat::InboxPage,
        chat::InboxLegend,
        chat::Signal,
        chat::CustomerPush,
        chat::SendAck,
        chat::CountFrame,
        chat::CustomerCountFrame,
        chat::SalesPush,
        chat::Receipt,
        chat::InboxFrame,
        chat::InboxPartFrame,
        chat::ClientFrame,
        chat::FrameCreds,
        chat::FrameType,
        chat::UnreadNum,
        chat::CustomerPushData,
        chat::InboxFeed,
        chat::InboxFeedPart,
        chat::LastSeen,
        chat::ReceiptData,
        chat::SalesPushData,
        art::RecommendItem,
        art::ReviewItem,
        crm::TagGroup,
        crm::TagItem,
        crm::ContactItem,
        crm::CustomerProfile,
        crm::TagGroups,
        crm::TagAdded,
        crm::FollowNote,
        crm::NoteAdded,
        crm::AccessLogItem,
        crm::NewCount,
        crm::InformationForm,
        crm::ExpectedTimeForm,
        crm::ExpectedPrForm,
        crm::TagListForm,
        crm::NewTagForm,
        crm::FollowForm,
        art::ViewForm,
        art::ViewedArticle,
        art::StayForm,
        art::StayTime,
        art::ReviewForm,
        art::ReviewPosted,
        art::ReviewList,
        art::RecommendList,
        art::SignUpForm,
        art::SignedUp,
        app::api::admin::Created,
        app::api::admin::Credentials,
        app::api::admin::NewCompany,
        app::api::admin::NewUser,
        app::api::admin::NewCustomer,
        app::api::admin::NewRelation,
        app::api::admin::AdminError,
        app::api::signin::SignInOptions,
    );
    macro_rules! generic {
        ($($name:literal => $t:ty),* $(,)?) => {$(
            b = b.schema($name, <$t as PartialSchema>::schema());
            let mut nested = Vec::new();
            <$t as ToSchema>::schemas(&mut nested);
            b = b.schemas_from_iter(nested);
        )*};
    }
    generic!(
        "Unread_CustomerMessage" => chat::Unread<chat::CustomerMessage>,
        "Unread_SalesMessage" => chat::Unread<chat::SalesMessage>,
        "Page_ContactItem" => crm::Page<crm::ContactItem>,
        "Page_CustomerProfile" => crm::Page<crm::CustomerProfile>,
        "Page_FollowNote" => crm::Page<crm::FollowNote>,
        "Page_AccessLogItem" => crm::Page<crm::AccessLogItem>,
    );
    b = b
        .security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin API's token: `Authorization: Bearer <RADAR_ADMIN_TOKEN>`. Wrong tokens are limited: after twenty, every request answers 429 for a few seconds.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "user_id",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "user_id",
                "The signing party's id (customer on gongzhonghao/…, rep on qiyeweixin/…). Sent with `timestamp` and `rand_str`.",
            ))),
        )
        .security_scheme(
            "timestamp",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "timestamp",
                "Epoch milliseconds of the request. Sent with `user_id` and `rand_str`.",
            ))),
        )
        .security_scheme(
            "rand_str",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "rand_str",
                "md5_hex(timestamp + token): the MD5 of the timestamp's text followed by the party's token, lowercase hex.",
            ))),
        );
    b.build()
}

/// Schemas written here rather than derived: the refusal envelopes (one per
/// place the field errors go) and the send forms.
fn hand_schemas() -> Map<String, Value> {
    let mut m = Map::new();
    let variant = |codes: &[i64], required: &[&str], props: Value| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        p.insert("info_type".into(), json!({ "enum": codes }));
        let mut req = vec!["info_type"];
        req.extend_from_slice(required);
        json!({ "type": "object", "required": req, "properties": p })
    };
    let url =
        json!({ "type": "string", "maxLength": 2048, "pattern": "^(https?://[^\\s]+|/[^\\s]*)$" });
    let content = json!({
        "description": "The message: `info_type` 1 text and 3 ask-for-phone (`msg`, 1–5000 characters), 2 product card (`product_name` ≤ 200, `product_price` ≤ 32, `product_cover_url`), 4 image and 5 video (`url`, http(s) or a site path, ≤ 2048). A JSON object, or (forms) its JSON text.",
        "oneOf": [
            variant(&[1, 3], &["msg"], json!({ "msg": { "type": "string", "minLength": 1, "maxLength": 5000, "pattern": "\\S" } })),
            variant(&[2], &["product_name", "product_price"], json!({
                "product_name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "product_price": { "type": "string", "maxLength": 32 },
                "product_cover_url": url,
            })),
            variant(&[4, 5], &["url"], json!({ "url": url })),
            { "type": "string", "contentMediaType": "application/json", "description": "the object as JSON text" },
        ]
    });
    let common = json!({
        "content": content.clone(),
        "client_msg_id": { "type": "string", "maxLength": 64, "description": "makes a retried send idempotent" },
        "article_id": { "type": "integer", "description": "an article of the pair's company the message is about" },
        "send_type": { "type": "integer", "description": "ignored (the side is the signer's)" },
    });
    let form = |peer: &str, peer_desc: &str| {
        let mut props = common.as_object().cloned().unwrap_or_default();
        props.insert(
            peer.to_owned(),
            json!({ "type": "integer", "description": peer_desc }),
        );
        json!({ "type": "object", "required": [peer, "content"], "properties": props })
    };
    m.insert(
        "CustomerSendForm".into(),
        form("u_id", "the rep (sales user) to write to"),
    );
    let mut sales = form("customer_id", "the customer to write to");
    if let Some(p) = sales["properties"].as_object_mut() {
        p.insert(
            "user_id".into(),
            json!({ "type": "integer", "description": "if sent, the signing rep" }),
        );
    }
    m.insert("SalesSendForm".into(), sales);
    m.insert(
        "UploadForm".into(),
        json!({
            "type": "object",
            "required": ["file"],
            "properties": { "file": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "the photo or video"
            } }
        }),
    );
    m.insert(
        "TokenRefused".into(),
        envelope_of(
            json!({ "const": 400 }),
            json!({ "const": "token异常" }),
            empty_object(),
            r("Note"),
        ),
    );
    m.insert(
        "FieldsInData".into(),
        envelope_of(
            json!({ "type": "integer" }),
            json!({ "const": "请求异常" }),
            r("FieldErrors"),
            empty_object(),
        ),
    );
    m.insert(
        "FieldsInMsg".into(),
        envelope_of(
            json!({ "type": "integer" }),
            r("FieldErrors"),
            empty_object(),
            empty_object(),
        ),
    );
    m.insert(
        "Refused".into(),
        envelope_of(
            json!({ "type": "integer" }),
            json!({ "type": "string" }),
            empty_object(),
            empty_object(),
        ),
    );
    m.insert(
        "RateLimited".into(),
        envelope_of(
            json!({ "const": 429 }),
            json!({ "const": "请求过于频繁" }),
            json!({
                "type": "object",
                "required": ["retry_after"],
                "properties": { "retry_after": { "type": "integer", "minimum": 0 } }
            }),
            empty_object(),
        ),
    );
    m.insert(
        "Unavailable".into(),
        envelope_of(
            json!({ "type": "integer", "enum": [500, 503] }),
            json!({ "type": "string" }),
            empty_object(),
            empty_object(),
        ),
    );
    // What the sockets accept: the fields of `ClientFrame`, with ids and
    // numbers also as decimal text and `content` also as an object, as the
    // original clients send them. Other keys are ignored.
    let id = json!({ "anyOf": [
        { "type": "integer", "minimum": 0 },
        { "type": "string", "pattern": "^\\s*\\d+\\s*$" }
    ]});
    let int = json!({ "anyOf": [
        { "type": "integer" },
        { "type": "string", "pattern": "^\\s*[+-]?\\d+\\s*$" }
    ]});
    m.insert(
        "SocketFrameIn".into(),
        json!({
            "description": "A frame a client sends. `type` selects what it does (a frame with `content` and no `type` sends). `user_id`, `timestamp` and `rand_str` sign it as the REST calls are signed (on `register`, when the upgrade URL was not signed).",
            "type": "object",
            "properties": {
                "type": r("FrameType"),
                "user_id": id,
                "timestamp": int,
                "rand_str": { "type": "string" },
                "u_id": id,
                "customer_id": id,
                "after_id": id,
                "current_page": int,
                "length": int,
                "article_id": id,
                "content": content,
                "client_msg_id": { "type": "string", "maxLength": 64 },
                "send_type": int,
            },
            "additionalProperties": true,
        }),
    );
    m.insert(
        "Refusal".into(),
        json!({
            "description": "A socket error frame: the REST refusal shapes",
            "anyOf": [r("TokenRefused"), r("FieldsInData"), r("FieldsInMsg"), r("Refused"), r("RateLimited"), r("Unavailable"),
                envelope_of(json!({ "type": "integer" }), json!({ "type": "string" }), empty_object(), r("Note"))]
        }),
    );
    m
}

fn with_code(schema: &str, codes: &[i64]) -> Value {
    json!({ "allOf": [r(schema), { "properties": { "code": { "enum": codes } } }] })
}

fn param(name: &str, kind: Kind, required: bool, desc: &str, place: &str) -> Value {
    let schema = match kind {
        Kind::Int => json!({ "type": "integer" }),
        Kind::Text => json!({ "type": "string" }),
        Kind::Date => json!({ "type": "string", "pattern": "^\\d{4}-\\d{1,2}-\\d{1,2}$" }),
    };
    json!({ "name": name, "in": place, "required": required, "description": desc, "schema": schema })
}

fn json_response(desc: &str, schema: Value) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": schema } } })
}

fn operation(o: &Op) -> Value {
    let side = match o.side {
        Side::Customer => "customer (公众号 H5)",
        Side::Sales => "sales rep (企业微信)",
    };
    let mut params = Vec::new();
    if let Some(desc) = o.o_id {
        params.push(json!({
            "name": "o_id", "in": "path", "required": true, "description": desc,
            "schema": { "type": "integer", "minimum": 0 }
        }));
    }
    for q in o.query {
        params.push(param(q.0, q.1, q.2, q.3, "query"));
    }
    let success = envelope_of(
        json!({ "const": 200 }),
        json!({ "enum": o.msgs }),
        r(o.data),
        o.note.map(r).unwrap_or_else(empty_object),
    );
    let mut ok = vec![success, r("TokenRefused")];
    ok.push(with_code("FieldsInData", o.in_data));
    if !o.in_msg.is_empty() {
        ok.push(with_code("FieldsInMsg", o.in_msg));
    }
    ok.push(with_code("Refused", o.plain));
    let mut codes: Vec<String> = vec!["200".into(), "400 token异常".into()];
    codes.extend(
        o.in_data
            .iter()
            .map(|c| format!("{c} with the field errors in `data`")),
    );
    codes.extend(
        o.in_msg
            .iter()
            .map(|c| format!("{c} with the field errors in `msg`")),
    );
    codes.extend(o.plain.iter().map(|c| {
        match c {
            302 => "302 没有数据",
            307 => "307 用户-客户关系不存在",
            301 => "301 用户标签不存在",
            _ => "402 请求异常 / 请求体过大",
        }
        .to_string()
    }));
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json_response(
            &format!("The envelope; read `code`: {}", codes.join(", ")),
            json!({ "anyOf": ok }),
        ),
    );
    if o.method == Method::Post {
        responses.insert(
            "429".into(),
            json!({
                "description": "Over the write budget of the signer (shared with socket sends)",
                "headers": { "Retry-After": { "description": "seconds", "schema": { "type": "integer" } } },
                "content": { "application/json": { "schema": r("RateLimited") } }
            }),
        );
    }
    responses.insert(
        "404".into(),
        json_response(
            "No such path (e.g. an empty `o_id`): code 404 `not found`",
            with_code("Refused", &[404]),
        ),
    );
    responses.insert(
        "503".into(),
        json_response(
            "The database is unreachable (code 500) or the request ran out of time (code 503)",
            r("Unavailable"),
        ),
    );
    let mut v = json!({
        "tags": [o.tag],
        "summary": o.summary,
        "description": format!("Signed by the {side}. {}", o.summary),
        "operationId": format!("{}{}", o.method.as_str(), o.path.replace(['/', '{', '}'], "_")),
        "parameters": params,
        "security": [{ "user_id": [], "timestamp": [], "rand_str": [] }],
        "responses": responses,
    });
    if o.body == Some("UploadForm") {
        v["requestBody"] = json!({
            "required": true,
            "description": "multipart/form-data with the file in the field `file`",
            "content": { "multipart/form-data": { "schema": r("UploadForm") } }
        });
    } else if let Some(body) = o.body {
        v["requestBody"] = json!({
            "required": true,
            "description": "Form-urlencoded (what the original clients send; `content` and `tag_list` are JSON text there) or JSON with the same field names; multipart/form-data text fields also work",
            "content": {
                "application/x-www-form-urlencoded": { "schema": r(body) },
                "application/json": { "schema": r(body) },
            }
        });
    }
    v
}

fn meta_paths() -> Value {
    json!({
        "/healthz": { "get": {
            "tags": ["meta"], "summary": "`ok` while the database is reachable",
            "operationId": "get_healthz",
            "responses": {
                "200": { "description": "ok", "content": { "text/plain": { "schema": { "const": "ok" } } } },
                "503": { "description": "database unavailable", "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
        }},
        "/readyz": { "get": {
            "tags": ["meta"], "summary": "`ready` once the migrations have run, while the database answers and (PostgreSQL) the event listener is connected",
            "operationId": "get_readyz",
            "responses": {
                "200": { "description": "ready", "content": { "text/plain": { "schema": { "const": "ready" } } } },
                "503": { "description": "not ready, and why", "content": { "text/plain": { "schema": { "enum": ["database unavailable", "migrations pending", "event listener disconnected"] } } } }
            }
        }},
        "/metrics": { "get": {
            "tags": ["meta"], "summary": "Prometheus metrics (text format); with RADAR_METRICS_TOKEN set, `Authorization: Bearer <token>` is required",
            "operationId": "get_metrics",
            "responses": {
                "200": { "description": "metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "401": { "description": "RADAR_METRICS_TOKEN is set and the request does not carry it", "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
        }},
        "/media/{key}": { "get": {
            "tags": ["chat"], "summary": "An uploaded photo or video, by the `url` that `chat/upload/0` answered (public to whoever has the link: its key holds 128 random bits). `Range: bytes=…` gets one range (206), so that video seeks; several or malformed ranges get the whole object",
            "operationId": "get_media",
            "parameters": [
                { "name": "key", "in": "path", "required": true, "description": "32 hex digits and the type's extension", "schema": { "type": "string" } },
                { "name": "Range", "in": "header", "required": false, "schema": { "type": "string" } }
            ],
            "responses": {
                "200": { "description": "the object, `Cache-Control: public, max-age=31536000, immutable`, `X-Content-Type-Options: nosniff`, `Content-Disposition: inline`", "content": {
                    "image/jpeg": {}, "image/png": {}, "image/gif": {}, "image/webp": {}, "video/mp4": {} } },
                "206": { "description": "the requested range, with `Content-Range`", "content": {
                    "image/jpeg": {}, "image/png": {}, "image/gif": {}, "image/webp": {}, "video/mp4": {} } },
                "404": { "description": "no such object, or not a key Radar makes", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "416": { "description": "the range starts past the end; `Content-Range: bytes */size`" },
                "503": { "description": "the media store is unreachable", "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
        }},
        "/openapi.json": { "get": {
            "tags": ["meta"], "summary": "This document",
            "operationId": "get_openapi",
            "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } }
        }},
    })
}

fn websockets() -> Value {
    let mut m = Map::new();
    for f in FEEDS {
        let side = match f.side {
            Side::Customer => "customer",
            Side::Sales => "sales rep",
        };
        m.insert(
            format!("{PREFIX}{}", f.path),
            json!({
                "summary": f.summary,
                "description": format!("Signed by the {side}: the three signature parameters on the upgrade URL, or `user_id`/`timestamp`/`rand_str` in the `register` frame (within 10 s, else close 1008). Not JSON → 400 and close 1007; bad credentials → 400 and close 1008; a field error → 402, the socket stays open; a send over the write budget → 429, stays open. Every frame is a JSON text."),
                "receive": r("SocketFrameIn"),
                "send": { "oneOf": f.sends.iter().map(frame_schema).collect::<Vec<_>>() },
            }),
        );
    }
    Value::Object(m)
}

/// The document as JSON.
pub fn document() -> Value {
    let api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Radar (诸葛雷达) API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(format!(
                    "Every answer of the REST API is the envelope `{{\"code\",\"msg\",\"data\",\"note\"}}` with HTTP 200; \
clients read `code`. {SIGNING} POSTs count against a per-signer write budget (HTTP 429 with `Retry-After`). \
An unknown path answers HTTP 404 with `{{\"code\":404,\"msg\":\"not found\"}}`. \
The socket feeds are described under `x-websockets`. \
The admin API under `/admin/api/v1` (only with `RADAR_ADMIN_TOKEN` set) is plain JSON, not the envelope: \
it answers the `radar admin` command's JSON with HTTP 200/201, and refusals as `{{\"error\",\"fields\"?}}` with the HTTP status saying which."
                )))
                .build(),
        )
        .components(Some(components()))
        .build();
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.1.0");
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(hand_schemas());
    }
    let mut paths = meta_paths().as_object().cloned().unwrap_or_default();
    for o in OPS {
        let key = format!("{PREFIX}{}", o.path);
        let item = paths.entry(key).or_insert_with(|| json!({}));
        item[o.method.as_str()] = operation(o);
    }
    paths.extend(signin_paths());
    paths.extend(admin_paths());
    doc["paths"] = Value::Object(paths);
    doc["tags"] = json!([
        { "name": "chat", "description": "Messages, history and the inbox" },
        { "name": "crm", "description": "Contacts, profiles, deal fields, tags, notes, access log" },
        { "name": "article", "description": "Articles seen by customers and activity sign-ups" },
        { "name": "meta", "description": "Health and this document" },
        { "name": "sign-in", "description": "Signing in inside WeCom and WeChat: browser redirects, not JSON" },
        { "name": "admin", "description": "Provisioning for operators (only with `RADAR_ADMIN_TOKEN` set): the `radar admin` commands over HTTP, bearer-authenticated" },
    ]);
    doc["x-websockets"] = websockets();
    webhooks(&mut doc);
    doc
}

/// The webhook deliveries (contract §7) under OpenAPI 3.1's `webhooks`: one
/// POST per event type, with the payload schemas added to the components.
fn webhooks(doc: &mut Value) {
    use app::api::webhook as wh;
    let mut b = ComponentsBuilder::new();
    macro_rules! from {
        ($($t:ty),* $(,)?) => {$( b = b.schema_from::<$t>(); )*};
    }
    from!(
        Side,
        wh::EventType,
        wh::WebhookPayload,
        wh::WebhookData,
        wh::MessageCreatedData,
        wh::SignupCreatedData,
        wh::ArticleViewedData,
        wh::ReviewCreatedData,
    );
    let extra = serde_json::to_value(b.build()).unwrap_or_else(|_| json!({}));
    if let (Some(schemas), Some(extra)) = (
        doc.pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut),
        extra["schemas"].as_object(),
    ) {
        schemas.extend(extra.clone());
    }
    let header = |name: &str, desc: &str| {
        json!({ "name": name, "in": "header", "required": true,
                "description": desc, "schema": { "type": "string" } })
    };
    let params = json!([
        header("webhook-id", "`msg_<n>`: the same for every attempt of one event to one endpoint (deduplicate on it)."),
        header("webhook-timestamp", "Unix seconds of this attempt; reject ones too far from your clock."),
        header("webhook-signature", "`v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the base64-decoded part of the endpoint's secret after `whsec_`."),
    ]);
    let mut hooks = Map::new();
    for (event, data) in [
        (wh::EventType::MessageCreated, "MessageCreatedData"),
        (wh::EventType::SignupCreated, "SignupCreatedData"),
        (wh::EventType::ArticleViewed, "ArticleViewedData"),
        (wh::EventType::ReviewCreated, "ReviewCreatedData"),
    ] {
        let name = event.name();
        let body = json!({ "allOf": [r("WebhookPayload"), {
            "type": "object",
            "properties": { "type": { "const": name }, "data": r(data) },
        }]});
        hooks.insert(
            name.into(),
            json!({ "post": {
                "operationId": format!("webhook_{}", name.replace('.', "_")),
                "summary": format!("`{name}`, POSTed to each endpoint of the company subscribed to it"),
                "parameters": params,
                "requestBody": { "required": true, "content": { "application/json": { "schema": body } } },
                "responses": {
                    "2XX": { "description": "Acknowledged. Any other answer, or none within 10 s, is retried with back-off for 24 h; the endpoint's next event waits." },
                },
            }}),
        );
    }
    doc["webhooks"] = Value::Object(hooks);
}

fn cached() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| document().to_string())
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        cached(),
    )
        .into_response()
}

/// `GET /docs`: the page; its scripts and styles are Radar's own files.
pub async fn docs_page() -> Response {
    let viewer = if docs_bundle().is_some() {
        r#"<div id="app"></div><script src="/docs/viewer.js"></script><script src="/docs/init.js"></script>"#
    } else {
        r#"<p class="missing">The viewer was not bundled into this build (run <code>scripts/setup.sh</code>, then rebuild). The document itself is at <a href="/openapi.json">/openapi.json</a>.</p>"#
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Radar API</title><link rel="stylesheet" href="/docs/docs.css"></head>
<body>
<header class="signing"><h1>Radar API</h1>
<p>The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1; socket feeds under <code>x-websockets</code>). Every call is signed; in JavaScript:</p>
<pre><code>{snippet}</code></pre></header>
{viewer}
</body></html>"#,
        snippet = html_escape(SIGN_SNIPPET),
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            ),
        ],
        html,
    )
        .into_response()
}

/// The docs page's policy: scripts only from this site (no inline script, no
/// eval); styles inline as the viewer injects them; no other origin at all.
pub const DOCS_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// How a client signs a call (shown on the docs page).
pub const SIGN_SNIPPET: &str = r#"// md5 from any library, e.g. `npm i js-md5` → import md5 from "js-md5";
async function radar(path, { userId, token, method = "GET", query = {}, form } = {}) {
  const timestamp = String(Date.now());            // epoch milliseconds
  const rand_str = md5(timestamp + token);         // lowercase hex
  const qs = new URLSearchParams({ ...query, user_id: userId, timestamp, rand_str });
  const res = await fetch(`/zhugeleida/${path}?${qs}`, {
    method,
    body: form && new URLSearchParams(form),       // or JSON.stringify(form) with a JSON content type
  });
  const env = await res.json();                    // {code, msg, data, note}
  if (env.code !== 200) throw env;                 // read `code`, not the HTTP status
  return env.data;
}
// radar("qiyeweixin/tongxunlu", { userId: 1, token: "…" })
// radar("gongzhonghao/chat/send_msg/0", { userId: 2, token: "…", method: "POST",
//        form: { u_id: 1, content: JSON.stringify({ info_type: 1, msg: "你好" }) } })"#;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/docs_bundle.rs"));
}

/// The viewer script embedded at build time, if it was there.
pub fn docs_bundle() -> Option<&'static [u8]> {
    bundle::VIEWER
}

const INIT_JS: &str = r#"Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
});
"#;

const DOCS_CSS: &str = "body{margin:0;font-family:system-ui,sans-serif}\
.signing{padding:1rem 1.5rem;border-bottom:1px solid #ddd;background:#fafafa}\
.signing h1{margin:0 0 .5rem;font-size:1.4rem}\
.signing pre{background:#f0f0f0;padding:.75rem;overflow:auto;font-size:.85rem}\
.missing{padding:1.5rem}";

/// `GET /docs/{file}`: the viewer, its start-up script and the page's style.
pub async fn docs_asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (ctype, body): (&str, &'static [u8]) = match (file.as_str(), docs_bundle()) {
        ("viewer.js", Some(b)) => ("text/javascript; charset=utf-8", b),
        ("init.js", _) => ("text/javascript; charset=utf-8", INIT_JS.as_bytes()),
        ("docs.css", _) => ("text/css; charset=utf-8", DOCS_CSS.as_bytes()),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ctype)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` names a component, and every component a form or answer
    /// names exists.
    #[test]
    fn references_resolve() {
        let doc = document();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .clone();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(s)) = m.get("$ref") {
                        out.push(s.clone());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut refs = Vec::new();
        walk(&doc, &mut refs);
        assert!(refs.len() > 100, "{}", refs.len());
        let dangling: Vec<String> = refs
            .into_iter()
            .filter(|r| {
                r.strip_prefix("#/components/schemas/")
                    .is_none_or(|name| !schemas.contains_key(name))
            })
            .collect();
        assert!(dangling.is_empty(), "dangling: {dangling:?}");
    }
}
