//! Chat: messages, history, the inbox and the socket frames of both sides.
//!
//! REST answers are the `data` of an [`Envelope`](super::Envelope); socket
//! frames are whole (`{"data","code","msg"}` in the orders the original used,
//! which differ per frame). Error frames are [`Refusal`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Refusal, SendType};
use crate::domain::{InfoType, MessageContent};

/// The `msg` texts of the socket frames, which clients tell frames apart by.
pub mod msgs {
    pub const REGISTERED: &str = "注册成功";
    pub const LIVED: &str = "为了新中国的胜利向我开炮";
    /// `gongzhonghao_chat`: messages pushed.
    pub const CUSTOMER_PUSH: &str = "实时推送公众号-最新聊天信息成功";
    /// `gongzhonghao_chat`: a send over the socket was stored.
    pub const CUSTOMER_SENT: &str = "小程序消息-发送成功";
    /// `gongzhonghao_chat`: the answer to `query_num`; the socket is in output mode from then on.
    pub const CUSTOMER_QUERY_NUM: &str = "查询成功-获取聊天数量";
    /// `gongzhonghao_query_info_num`: the count on `register` and `query_num`.
    pub const CUSTOMER_COUNT: &str = "获取成功";
    /// `gongzhonghao_query_info_num`: the count changed.
    pub const CUSTOMER_COUNT_LIVE: &str = "实时获取公众号【消息数量】成功";
    /// `leida_chat`: messages pushed.
    pub const SALES_PUSH: &str = "实时推送雷达-最新聊天信息成功";
    /// `leida_chat`: the customer's read watermark moved.
    pub const RECEIPT: &str = "实时通知小程序新消息-已读通知";
    /// `leida_query_info_num` / `leida_query_contact_list`: the answer to `register`.
    pub const SALES_REGISTERED: &str = "注册成功返回【消息数量】成功";
    /// `leida_query_info_num` / `leida_query_contact_list`: a change, or the answer to `query_num`.
    pub const SALES_LIVE: &str = "实时获取雷达【消息数量】成功";
}

/// Codes of the socket frames that are not envelopes of a request.
pub mod codes {
    pub const OK: i64 = 200;
    pub const REGISTERED: i64 = 199;
    pub const LIVED: i64 = 270;
    pub const RECEIPT: i64 = 202;
}

// ---------------------------------------------------------------------------
// Messages

/// The keys of a stored message's `content` (`info_type`, `msg`, `url`, …). On
/// the wire they follow an item's own keys; a key the item has itself is left
/// out (see [`Content::beside`]), so no content can forge `id`, `customer_id`
/// or `send_type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = Object))]
pub struct Content(pub Map<String, Value>);

impl Content {
    /// The stored JSON text of a message; anything but an object reads as no keys.
    pub fn from_stored(text: &str) -> Content {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Content(m),
            _ => Content::default(),
        }
    }

    /// These keys without those named in `taken`, order kept.
    pub fn beside(mut self, taken: &[&str]) -> Content {
        self.0.retain(|k, _| !taken.contains(&k.as_str()));
        self
    }

    /// A key's text: strings as they are, numbers and other values as JSON.
    fn text(&self, key: &str) -> String {
        match self.0.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }

    /// `info_type`, written as a number or a numeric string.
    pub fn info_type(&self) -> Option<InfoType> {
        let code = match self.0.get("info_type") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        code.and_then(InfoType::from_code)
    }

    /// What the content shows; an unknown `info_type` shows its `msg`.
    pub fn view(&self) -> ContentView {
        match self.info_type() {
            Some(InfoType::Product) => ContentView::Product {
                name: self.text("product_name"),
                price: self.text("product_price"),
                cover_url: self.text("product_cover_url"),
            },
            Some(InfoType::AskPhone) => ContentView::AskPhone(self.text("msg")),
            Some(InfoType::Image) => ContentView::Image(self.text("url")),
            Some(InfoType::Video) => ContentView::Video(self.text("url")),
            Some(InfoType::Text) | None => ContentView::Text(self.text("msg")),
        }
    }

    /// The one-line preview of contact lists (semantics §10.6).
    pub fn preview(&self) -> String {
        MessageContent::preview(&self.0)
    }

    /// The preview of an inbox entry, cut to `PREVIEW_CHARS`.
    pub fn list_preview(&self) -> String {
        MessageContent::list_preview(&self.0)
    }
}

impl From<&MessageContent> for Content {
    fn from(c: &MessageContent) -> Content {
        Content(c.object().clone())
    }
}

/// A message's content as the chat shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentView {
    Text(String),
    Product {
        name: String,
        price: String,
        cover_url: String,
    },
    AskPhone(String),
    Image(String),
    Video(String),
}

/// A message as the customer sees it: `gongzhonghao/chat` history and
/// `getmsg` items, `gongzhonghao_chat` pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerMessage {
    pub id: i64,
    pub customer_id: i64,
    pub user_id: i64,
    /// The customer's name (twice, as the original).
    pub customer: String,
    pub from_user_name: String,
    /// The rep's avatar, under both spellings the original clients read.
    pub user_avatar: String,
    pub user_avator: String,
    pub customer_headimgurl: String,
    #[serde(rename = "dateTime")]
    pub date_time: String,
    pub send_type: SendType,
    /// Whether this is the conversation's first message (always false in `getmsg`).
    pub is_first_info: bool,
    #[serde(flatten)]
    pub content: Content,
}

impl CustomerMessage {
    /// The item's own keys, which a content key never replaces.
    pub const KEYS: [&'static str; 11] = [
        "id",
        "customer_id",
        "user_id",
        "customer",
        "from_user_name",
        "user_avatar",
        "user_avator",
        "customer_headimgurl",
        "dateTime",
        "send_type",
        "is_first_info",
    ];
}

/// A message as the rep sees it, with its read receipt: `qiyeweixin/chat`
/// history and `getmsg` items, `leida_chat` pushes (those with `echo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesMessage {
    pub id: i64,
    pub customer_id: i64,
    pub customer_avatar: String,
    pub user_id: i64,
    /// The customer's avatar again, and name.
    pub src: String,
    pub name: String,
    #[serde(rename = "dateTime")]
    pub date_time: String,
    pub send_type: SendType,
    /// 1 when the customer has read it (a customer's own message always is), else 0.
    pub is_customer_already_read: i64,
    /// `已读` or `未读`.
    pub is_customer_already_read_text: String,
    #[serde(flatten)]
    pub content: Content,
    /// Pushes only: the rep's own message (another tab, REST), for the UI to
    /// dedupe by `id`. After the content keys; a content key `echo` carries it
    /// in its place instead (`with_echo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
}

impl SalesMessage {
    /// The item's own keys, which a content key never replaces.
    pub const KEYS: [&'static str; 10] = [
        "id",
        "customer_id",
        "customer_avatar",
        "user_id",
        "src",
        "name",
        "dateTime",
        "send_type",
        "is_customer_already_read",
        "is_customer_already_read_text",
    ];

    /// The pushed form: `echo` is set last, and overrides a content key of
    /// that name where it stands.
    pub fn with_echo(mut self, echo: bool) -> SalesMessage {
        match self.content.0.get_mut("echo") {
            Some(v) => {
                *v = Value::Bool(echo);
                self.echo = None;
            }
            None => self.echo = Some(echo),
        }
        self
    }

    /// Whether the customer has read it.
    pub fn read(&self) -> bool {
        self.is_customer_already_read != 0
    }
}

// ---------------------------------------------------------------------------
// REST answers

/// `data` of `send_msg` on both sides (`…/chat/send_msg/0`), and of the
/// `gongzhonghao_chat` frame acknowledging a send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentMessage {
    pub id: i64,
    #[serde(rename = "dateTime")]
    pub date_time: String,
    pub client_msg_id: Option<String>,
    /// True when `client_msg_id` matched an earlier send: nothing new was stored.
    pub duplicate: bool,
}

/// `data` of `…/chat/upload/0` on both sides: where the stored photo or video
/// is served, ready to send as the `url` of an `info_type` 4 or 5 message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Uploaded {
    /// A site path, `/media/{key}`.
    pub url: String,
    /// 4 for an image, 5 for a video.
    pub info_type: i64,
    /// Bytes stored.
    pub size: i64,
    /// Pixels, for images; `null` for a video.
    pub width: Option<i64>,
    pub height: Option<i64>,
}

/// `data` of `getmsg` on both sides: unread messages, now marked read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unread<T> {
    pub ret_data: Vec<T>,
    pub data_count: i64,
}

impl<T> Default for Unread<T> {
    fn default() -> Self {
        Unread {
            ret_data: Vec::new(),
            data_count: 0,
        }
    }
}

/// `data` of `gongzhonghao/chat`: a page of history and the rep's card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerHistory {
    pub ret_data: Vec<CustomerMessage>,
    /// The rep's card phone, else the rep's WeChat phone.
    pub mingpian_phone: String,
    /// The rep's WeChat id, else the rep's WeChat phone.
    pub wechat: String,
    pub company_id: i64,
    pub company_name: String,
    /// The rep's name.
    pub user_name: String,
    /// The company's official-account QR code.
    pub qrcode_url: String,
    /// Messages in the whole conversation.
    pub data_count: i64,
}

/// `data` of `qiyeweixin/chat`: a page of history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesHistory {
    pub ret_data: Vec<SalesMessage>,
    /// Messages in the whole conversation.
    pub data_count: i64,
    pub company_id: i64,
}

/// One found message of `qiyeweixin/chat/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// The message's id (open the chat at it with `?msg=`).
    pub id: i64,
    pub customer_id: i64,
    /// The customer's name, as the inbox shows it.
    pub name: String,
    /// The customer's avatar.
    pub src: String,
    pub send_type: SendType,
    /// When it was sent, as history items (`2018-09-21T15:18:01.548`).
    pub date_time: String,
    /// When it was sent, as inbox entries (`HH:MM`, `昨天`, `MM-DD`, the year).
    pub time_text: String,
    /// Up to 60 characters of the text around the first match, `…` where cut,
    /// line breaks as spaces.
    pub snippet: String,
    /// Where the match is in `snippet`, in characters (Unicode scalar values).
    pub hit_start: i64,
    pub hit_len: i64,
}

impl SearchHit {
    /// The snippet before the match, the match and after it (cut to the
    /// snippet when the offsets are out of range).
    pub fn parts(&self) -> (String, String, String) {
        let chars: Vec<char> = self.snippet.chars().collect();
        let start = (self.hit_start.max(0) as usize).min(chars.len());
        let end = start
            .saturating_add(self.hit_len.max(0) as usize)
            .min(chars.len());
        (
            chars[..start].iter().collect(),
            chars[start..end].iter().collect(),
            chars[end..].iter().collect(),
        )
    }
}

/// `data` of `qiyeweixin/chat/search`: a page of found messages, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    pub ret_data: Vec<SearchHit>,
    /// Found messages in all pages.
    pub data_count: i64,
}

/// `data` of `gongzhonghao/chat/query_num`: the rep's messages the customer has not read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatInfoCount {
    pub chatinfo_count: i64,
}

/// `data` of `qiyeweixin/contact/query_num`: the rep's badge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BadgeCount {
    pub chatinfo_count: i64,
    pub company_id: i64,
}

// ---------------------------------------------------------------------------
// The inbox (`qiyeweixin/contact`)

/// One conversation of the rep's inbox: `qiyeweixin/contact` items and
/// `leida_query_contact_list` pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxItem {
    pub customer_id: i64,
    /// `customer.user_type`, and its label.
    pub customer_source: i64,
    pub customer_source_text: String,
    /// The customer's avatar.
    pub src: String,
    pub is_subscribe: Option<i64>,
    pub is_subscribe_text: Option<String>,
    pub name: String,
    /// When the last message was sent, relative (`HH:MM`, `昨天`, `MM-DD`, `YYYY`).
    #[serde(rename = "dateTime")]
    pub date_time: String,
    /// The last message's preview.
    pub msg: String,
    /// The customer's messages the rep has not read.
    pub count: i64,
    /// The rep's tags on the customer, newest first (at most 50).
    pub tags_list: Vec<String>,
    /// The last message's time in epoch seconds.
    pub crea_date: f64,
    pub last_msg_id: i64,
}

/// `data` of `qiyeweixin/contact`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxPage {
    pub ret_data: Vec<InboxItem>,
    /// Conversations in all pages.
    pub data_count: i64,
    /// The rep's badge.
    pub unread_msg_num: i64,
}

/// `note` of `qiyeweixin/contact`: what each key of an item means.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxLegend {
    pub customer_id: String,
    pub name: String,
    pub customer_source: String,
    pub customer_source_text: String,
    pub src: String,
    pub is_subscribe: String,
    pub is_subscribe_text: String,
    #[serde(rename = "dateTime")]
    pub date_time: String,
    pub msg: String,
    pub count: String,
    pub tags_list: String,
    pub unread_msg_num: String,
}

impl InboxLegend {
    /// The legend the original sent.
    pub fn text() -> InboxLegend {
        InboxLegend {
            customer_id: "客户ID".into(),
            name: "客户姓名".into(),
            customer_source: "客户访问类型ID(微信公众号 微信小程序)".into(),
            customer_source_text: "客户访问类型".into(),
            src: "客户头像".into(),
            is_subscribe: "该客户是否订阅该公众号ID".into(),
            is_subscribe_text: "该客户是否订阅该公众号 文本".into(),
            date_time: "消息发送时间".into(),
            msg: "发送的消息".into(),
            count: "该客户发送消息的数量".into(),
            tags_list: "标签列表".into(),
            unread_msg_num: "未读消息总数".into(),
        }
    }
}

/// The customer the rep last saw in its access log, over all relations
/// (`latest_activity` on the wire).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastSeen {
    pub customer_id: i64,
    /// Epoch ms.
    pub time: i64,
}

/// `data` of a `leida_query_contact_list` frame: an inbox page, the badge and
/// the customer last seen in the access log (so that an article view or a sign-up of a customer
/// without a chat still changes the page). A page over the frame limit comes
/// in parts, each with a slice of `ret_data` and `part` (1-based) of `parts`;
/// their keys come in another order ([`InboxFeedPart`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxFeed {
    pub ret_data: Vec<InboxItem>,
    pub data_count: i64,
    pub unread_msg_num: i64,
    #[serde(rename = "latest_activity")]
    pub last_seen: Option<LastSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<i64>,
}

impl InboxFeed {
    /// Whether this frame completes a page (a whole page, or its last part).
    pub fn completes_page(&self) -> bool {
        self.part >= self.parts
    }
}

/// `data` of one part of a `leida_query_contact_list` page, in the key order
/// the original's split produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxFeedPart {
    #[serde(rename = "latest_activity")]
    pub last_seen: Option<LastSeen>,
    pub data_count: i64,
    pub unread_msg_num: i64,
    pub ret_data: Vec<InboxItem>,
    pub part: i64,
    pub parts: i64,
}

// ---------------------------------------------------------------------------
// Socket frames, server → client

/// `{"code","msg"}`: 199 after `register` on the chat sockets, 270 after `lived`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signal {
    pub code: i64,
    pub msg: String,
}

impl Signal {
    pub fn registered() -> Signal {
        Signal {
            code: codes::REGISTERED,
            msg: msgs::REGISTERED.into(),
        }
    }
    pub fn lived() -> Signal {
        Signal {
            code: codes::LIVED,
            msg: msgs::LIVED.into(),
        }
    }
}

/// `{"unread_msg_num"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadNum {
    pub unread_msg_num: i64,
}

/// `data` of a `gongzhonghao_chat` push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPushData {
    pub ret_data: Vec<CustomerMessage>,
    pub data_count: i64,
    pub count: i64,
    /// The rep's messages the customer had not read before this push.
    pub unread_msg_num: i64,
}

/// `gongzhonghao_chat`: new messages of both directions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPush {
    pub data: CustomerPushData,
    pub code: i64,
    pub msg: String,
}

/// `gongzhonghao_chat`: a send over the socket was stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendAck {
    pub code: i64,
    pub msg: String,
    pub data: SentMessage,
}

/// `leida_query_info_num` frames, and `gongzhonghao_chat`'s answer to `query_num`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountFrame {
    pub data: UnreadNum,
    pub code: i64,
    pub msg: String,
}

/// `gongzhonghao_query_info_num` frames: one conversation's unread count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerCountFrame {
    pub msg_data: UnreadNum,
    pub code: i64,
    pub msg: String,
}

/// `data` of a `leida_chat` push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesPushData {
    pub ret_data: Vec<SalesMessage>,
    pub count: i64,
    pub data_count: i64,
}

/// `leida_chat`: new messages of both directions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesPush {
    pub data: SalesPushData,
    pub msg: String,
    pub code: i64,
}

/// `data` of a read receipt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptData {
    /// Always 1.
    pub is_customer_already_read: i64,
    pub customer_id: i64,
    /// The customer has read every message up to this id.
    pub last_read_id: i64,
}

/// `leida_chat`: the customer's read watermark moved (code 202).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub data: ReceiptData,
    pub code: i64,
    pub msg: String,
}

/// `leida_query_contact_list`: a whole page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxFrame {
    pub data: InboxFeed,
    pub code: i64,
    pub msg: String,
}

/// `leida_query_contact_list`: one part of a page over the frame limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxPartFrame {
    pub data: InboxFeedPart,
    pub code: i64,
    pub msg: String,
}

// ---------------------------------------------------------------------------
// Socket frames, client → server

/// `type` of a client frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FrameType {
    /// Start (or resume) the feed.
    Register,
    /// Ask for the current count or page (customer chat: switch to output mode).
    QueryNum,
    /// Keep-alive; answered with 270.
    Lived,
    /// End the socket (close 1000).
    Closed,
    /// A send on `gongzhonghao_chat` (also `send`, or no `type` with `content`).
    SendMsg,
    Send,
}

impl FrameType {
    pub fn parse(s: &str) -> Option<FrameType> {
        Some(match s {
            "register" => FrameType::Register,
            "query_num" => FrameType::QueryNum,
            "lived" => FrameType::Lived,
            "closed" => FrameType::Closed,
            "send_msg" => FrameType::SendMsg,
            "send" => FrameType::Send,
            _ => return None,
        })
    }
}

/// A signature in a frame, as in a signed URL (contract §2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrameCreds {
    pub user_id: i64,
    pub rand_str: String,
    pub timestamp: String,
}

/// A frame a client sends, on any of the five sockets. The server also takes
/// ids and numbers written as strings, as the original clients send them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientFrame {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FrameType>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<FrameCreds>,
    /// Customer sockets: the rep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u_id: Option<i64>,
    /// `leida_chat`: the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// Chat sockets: resume after this message id (both directions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<i64>,
    /// `leida_query_contact_list`: the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<i64>,
    /// A send: the content's JSON text (or object), its idempotency key and article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<i64>,
}

impl ClientFrame {
    pub fn of(kind: FrameType) -> ClientFrame {
        ClientFrame {
            kind: Some(kind),
            ..ClientFrame::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Reading frames

/// `code` and `msg`, which tell a frame's shape.
#[derive(Deserialize)]
struct Head {
    code: i64,
    #[serde(default)]
    msg: super::Msg,
}

fn head(text: &str) -> Result<Head, String> {
    super::from_json(text).map_err(|e| e.to_string())
}

fn body<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    super::from_json(text).map_err(|e| e.to_string())
}

/// What `gongzhonghao_chat` sends.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerChatFrame {
    Registered,
    Lived,
    Push(CustomerPushData),
    Sent(SentMessage),
    /// The answer to `query_num`: from now on in output mode.
    QueryNum(i64),
    Refused(Refusal),
}

impl CustomerChatFrame {
    pub fn parse(text: &str) -> Result<CustomerChatFrame, String> {
        let h = head(text)?;
        Ok(match h.code {
            codes::REGISTERED => CustomerChatFrame::Registered,
            codes::LIVED => CustomerChatFrame::Lived,
            codes::OK => match h.msg.text().as_str() {
                msgs::CUSTOMER_SENT => CustomerChatFrame::Sent(body::<SendAck>(text)?.data),
                msgs::CUSTOMER_QUERY_NUM => {
                    CustomerChatFrame::QueryNum(body::<CountFrame>(text)?.data.unread_msg_num)
                }
                _ => CustomerChatFrame::Push(body::<CustomerPush>(text)?.data),
            },
            _ => CustomerChatFrame::Refused(body(text)?),
        })
    }
}

/// What `leida_chat` sends.
#[derive(Debug, Clone, PartialEq)]
pub enum SalesChatFrame {
    Registered,
    Lived,
    Push(SalesPushData),
    Receipt(ReceiptData),
    Refused(Refusal),
}

impl SalesChatFrame {
    pub fn parse(text: &str) -> Result<SalesChatFrame, String> {
        let h = head(text)?;
        Ok(match h.code {
            codes::REGISTERED => SalesChatFrame::Registered,
            codes::LIVED => SalesChatFrame::Lived,
            codes::OK => SalesChatFrame::Push(body::<SalesPush>(text)?.data),
            codes::RECEIPT => SalesChatFrame::Receipt(body::<Receipt>(text)?.data),
            _ => SalesChatFrame::Refused(body(text)?),
        })
    }
}

/// What the count sockets send (`leida_query_info_num`,
/// `gongzhonghao_query_info_num`).
#[derive(Debug, Clone, PartialEq)]
pub enum CountUpdate {
    Count(i64),
    Lived,
    Refused(Refusal),
}

impl CountUpdate {
    /// A `leida_query_info_num` frame (`data.unread_msg_num`).
    pub fn parse_badge(text: &str) -> Result<CountUpdate, String> {
        let h = head(text)?;
        Ok(match h.code {
            codes::OK => CountUpdate::Count(body::<CountFrame>(text)?.data.unread_msg_num),
            codes::LIVED => CountUpdate::Lived,
            _ => CountUpdate::Refused(body(text)?),
        })
    }

    /// A `gongzhonghao_query_info_num` frame (`msg_data.unread_msg_num`).
    pub fn parse_customer(text: &str) -> Result<CountUpdate, String> {
        let h = head(text)?;
        Ok(match h.code {
            codes::OK => {
                CountUpdate::Count(body::<CustomerCountFrame>(text)?.msg_data.unread_msg_num)
            }
            codes::LIVED => CountUpdate::Lived,
            _ => CountUpdate::Refused(body(text)?),
        })
    }
}

/// What `leida_query_contact_list` sends.
#[derive(Debug, Clone, PartialEq)]
pub enum InboxUpdate {
    /// A page, or one part of it.
    Page(InboxFeed),
    Lived,
    Refused(Refusal),
}

impl InboxUpdate {
    pub fn parse(text: &str) -> Result<InboxUpdate, String> {
        let h = head(text)?;
        Ok(match h.code {
            codes::OK => InboxUpdate::Page(body::<InboxFrame>(text)?.data),
            codes::LIVED => InboxUpdate::Lived,
            _ => InboxUpdate::Refused(body(text)?),
        })
    }
}

#[cfg(test)]
#[path = "tests/chat.rs"]
mod tests;
