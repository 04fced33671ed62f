//! Webhooks (contract §7): what `radar admin webhook …` prints (and the admin
//! API answers), and the payloads Radar POSTs to a company's endpoints.
//!
//! A delivery's body is a [`WebhookPayload`]: `{"type","timestamp","data"}`,
//! `data` being the struct of its type.

use serde::{Deserialize, Serialize};

use super::chat::Content;
use super::{SendType, Side};

/// The event types an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A chat message was committed, written by either side.
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A customer signed up for an article's activity.
    #[serde(rename = "signup.created")]
    SignupCreated,
    /// A customer opened an article.
    #[serde(rename = "article.viewed")]
    ArticleViewed,
    /// A customer posted a review of an article.
    #[serde(rename = "review.created")]
    ReviewCreated,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::MessageCreated,
        EventType::SignupCreated,
        EventType::ArticleViewed,
        EventType::ReviewCreated,
    ];

    /// The wire name, e.g. `message.created`.
    pub fn name(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::SignupCreated => "signup.created",
            EventType::ArticleViewed => "article.viewed",
            EventType::ReviewCreated => "review.created",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its bit in a stored subscription set.
    pub fn bit(self) -> i64 {
        match self {
            EventType::MessageCreated => 1,
            EventType::SignupCreated => 2,
            EventType::ArticleViewed => 4,
            EventType::ReviewCreated => 8,
        }
    }
}

/// `{"id","secret"}` of a created endpoint: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookCreated {
    pub id: i64,
    /// `whsec_` + base64 of the signing key.
    pub secret: String,
}

/// `{"id"}` of a deleted endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeleted {
    pub id: i64,
}

/// Whether an endpoint's last event went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EndpointState {
    Ok,
    /// An event was given up after 24 h of retries and nothing succeeded since.
    Failing,
}

/// An endpoint as `radar admin webhook list` shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: i64,
    pub company_id: i64,
    pub url: String,
    pub events: Vec<EventType>,
    pub state: EndpointState,
    /// The HTTP status of the last attempt; null before the first one and
    /// when no answer came (connection refused, timeout).
    pub last_status: Option<i64>,
    /// When the last attempt was made (RFC 3339).
    pub last_attempt_at: Option<String>,
    /// Why the last attempt failed, in a few words; null after a success.
    pub last_error: Option<String>,
    /// Events waiting for delivery to this endpoint.
    pub pending: i64,
}

/// The body of every delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event happened (RFC 3339, UTC).
    pub timestamp: String,
    pub data: WebhookData,
}

/// `data` of a payload: the struct of its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookData {
    MessageCreated(MessageCreatedData),
    SignupCreated(SignupCreatedData),
    ArticleViewed(ArticleViewedData),
    ReviewCreated(ReviewCreatedData),
}

impl WebhookData {
    pub fn event_type(&self) -> EventType {
        match self {
            WebhookData::MessageCreated(_) => EventType::MessageCreated,
            WebhookData::SignupCreated(_) => EventType::SignupCreated,
            WebhookData::ArticleViewed(_) => EventType::ArticleViewed,
            WebhookData::ReviewCreated(_) => EventType::ReviewCreated,
        }
    }
}

/// `message.created`: a chat message was committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageCreatedData {
    pub id: i64,
    pub company_id: i64,
    /// The rep of the conversation.
    pub user_id: i64,
    pub customer_id: i64,
    /// Who wrote it.
    pub side: Side,
    pub send_type: SendType,
    /// 1 text, 2 product, 3 phone request, 4 image, 5 video.
    pub info_type: i64,
    /// The message's content as the chat API renders it.
    pub content: Content,
    /// RFC 3339.
    pub created_at: String,
}

/// `signup.created`: a customer signed up for an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignupCreatedData {
    /// The sign-up's id.
    pub id: i64,
    pub company_id: i64,
    pub activity_id: i64,
    pub article_id: Option<i64>,
    pub customer_id: i64,
    /// The rep who shared the article, when the page named one.
    pub user_id: Option<i64>,
    pub customer_name: String,
    pub phone: String,
    pub leave_message: String,
    pub address: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `article.viewed`: a customer opened an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleViewedData {
    pub article_id: i64,
    pub company_id: i64,
    pub customer_id: i64,
    /// The rep who shared the article, when the link named one.
    pub user_id: Option<i64>,
    /// The rep's access-log row, when there is a rep.
    pub log_id: Option<i64>,
    pub title: String,
    /// The article's read count after this view.
    pub read_count: i64,
    /// RFC 3339.
    pub created_at: String,
}

/// `review.created`: a customer posted a review (not yet approved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewCreatedData {
    /// The review's id.
    pub id: i64,
    pub article_id: i64,
    pub company_id: i64,
    pub customer_id: i64,
    /// The rep who shared the article, when the page named one.
    pub user_id: Option<i64>,
    pub content: String,
    /// RFC 3339.
    pub created_at: String,
}
