//! The wire: one Rust type per request, response `data` and socket frame, shared
//! by the server (which serializes them) and the WASM UI (which deserializes
//! them). The original's odd key names (`user_avator`, `expedted_pr`,
//! `data_count`…) are spelt here, in serde attributes, and nowhere else.
//!
//! With the `openapi` feature (never enabled for the WASM build) every type
//! also derives `utoipa::ToSchema`.

pub mod admin;
pub mod article;
pub mod chat;
pub mod crm;
mod envelope;
mod json;
pub mod signin;
pub mod webhook;

pub use envelope::*;
pub use json::from_json;

use serde::{Deserialize, Serialize};

/// Schemas of the enums that travel as their integer code.
#[cfg(feature = "openapi")]
macro_rules! integer_schema {
    ($t:ty, $all:expr, $desc:expr) => {
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .enum_values(Some($all.iter().map(|v| v.code())))
                    .description(Some($desc))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}

#[cfg(feature = "openapi")]
integer_schema!(
    SendType,
    [
        SendType::SalesToCustomer,
        SendType::CustomerToSales,
        SendType::SystemTip
    ],
    "1 rep → customer, 2 customer → rep, 3 system tip"
);
#[cfg(feature = "openapi")]
integer_schema!(
    Action,
    Action::ALL,
    "Access-log action code (semantics §3.7)"
);

/// The two parties of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Side {
    /// The rep, in WeCom (`qiyeweixin`).
    Sales,
    /// The customer, on the WeChat H5 page (`gongzhonghao`).
    Customer,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Sales => Side::Customer,
            Side::Customer => Side::Sales,
        }
    }
    /// How a message written by this side is stored.
    pub fn send_type(self) -> SendType {
        match self {
            Side::Sales => SendType::SalesToCustomer,
            Side::Customer => SendType::CustomerToSales,
        }
    }
}

/// `send_type` of a chat message: who wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum SendType {
    SalesToCustomer = 1,
    CustomerToSales = 2,
    /// A system tip shown to both sides (e.g. that a customer signed up).
    SystemTip = 3,
}

impl SendType {
    pub fn code(self) -> i64 {
        self as i64
    }
    pub fn from_code(code: i64) -> Option<SendType> {
        match code {
            1 => Some(SendType::SalesToCustomer),
            2 => Some(SendType::CustomerToSales),
            3 => Some(SendType::SystemTip),
            _ => None,
        }
    }
}

impl From<SendType> for i64 {
    fn from(t: SendType) -> i64 {
        t.code()
    }
}

impl TryFrom<i64> for SendType {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        SendType::from_code(v).ok_or_else(|| format!("unknown send_type {v}"))
    }
}

/// Where a customer came from (`source` on the relation).
pub fn source_text(source: i64) -> &'static str {
    match source {
        1 => "扫码",
        2 => "转发",
        3 => "搜索",
        4 => "公众号文章",
        5 => "公众号视频",
        _ => "",
    }
}

/// The customer's channel (`customer.user_type`).
pub fn customer_source_text(user_type: i64) -> &'static str {
    match user_type {
        1 => "微信公众号",
        2 => "微信小程序",
        3 => "雷达管家-消息推送",
        _ => "",
    }
}

/// The access-log catalogue (semantics §3.7). The codes are stored as they are;
/// `ReviewArticle` (25) is Radar's own addition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum Action {
    ViewCard = 1,
    SaveCardPhone = 2,
    CallPhone = 3,
    PraiseCard = 4,
    ViewProduct = 5,
    ForwardCard = 6,
    CopyEmail = 7,
    ViewWebsite = 8,
    SaveCard = 9,
    CopyWechat = 10,
    ViewPhoto = 11,
    ViewVideoCard = 12,
    ConsultProduct = 13,
    ViewArticle = 14,
    ForwardArticleFriend = 15,
    ForwardArticleMoments = 16,
    SignUpActivity = 17,
    ForwardProduct = 18,
    PraiseArticle = 19,
    ViewMiniProgram = 20,
    ViewDiary = 21,
    PraiseDiary = 22,
    SendMiniProgram = 23,
    ViewVideo = 24,
    ReviewArticle = 25,
}

impl Action {
    pub const ALL: [Action; 25] = [
        Action::ViewCard,
        Action::SaveCardPhone,
        Action::CallPhone,
        Action::PraiseCard,
        Action::ViewProduct,
        Action::ForwardCard,
        Action::CopyEmail,
        Action::ViewWebsite,
        Action::SaveCard,
        Action::CopyWechat,
        Action::ViewPhoto,
        Action::ViewVideoCard,
        Action::ConsultProduct,
        Action::ViewArticle,
        Action::ForwardArticleFriend,
        Action::ForwardArticleMoments,
        Action::SignUpActivity,
        Action::ForwardProduct,
        Action::PraiseArticle,
        Action::ViewMiniProgram,
        Action::ViewDiary,
        Action::PraiseDiary,
        Action::SendMiniProgram,
        Action::ViewVideo,
        Action::ReviewArticle,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.code() == code)
    }

    pub fn label(self) -> &'static str {
        use Action::*;
        match self {
            ViewCard => "查看名片",
            SaveCardPhone => "保存名片电话",
            CallPhone => "拨打电话",
            PraiseCard => "点赞名片",
            ViewProduct => "查看产品",
            ForwardCard => "转发名片",
            CopyEmail => "复制邮箱",
            ViewWebsite => "查看官网",
            SaveCard => "保存名片",
            CopyWechat => "复制微信",
            ViewPhoto => "查看相册",
            ViewVideoCard => "查看名片视频",
            ConsultProduct => "咨询产品",
            ViewArticle => "查看文章",
            ForwardArticleFriend => "转发文章到朋友",
            ForwardArticleMoments => "转发文章到朋友圈",
            SignUpActivity => "报名活动",
            ForwardProduct => "转发产品",
            PraiseArticle => "点赞文章",
            ViewMiniProgram => "查看小程序",
            ViewDiary => "查看日记",
            PraiseDiary => "点赞日记",
            SendMiniProgram => "发送小程序",
            ViewVideo => "查看视频",
            ReviewArticle => "评论文章",
        }
    }

    /// `log_type` of the access-log item: 2 for videos, 3 for diaries, else 1.
    pub fn log_type(self) -> i64 {
        match self {
            Action::ViewVideo => 2,
            Action::ViewDiary | Action::PraiseDiary => 3,
            _ => 1,
        }
    }
}

impl From<Action> for i64 {
    fn from(a: Action) -> i64 {
        a.code()
    }
}

impl TryFrom<i64> for Action {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Action::from_code(v).ok_or_else(|| format!("unknown action {v}"))
    }
}

/// The public head of a published article: what link previews and share cards
/// read from the server-rendered `/h5/article/{id}` (they never run the WASM).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleHead {
    pub title: String,
    pub summary: String,
    pub cover_picture: String,
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
