//! Stored messages, and how each side sees one.

use app::api::chat::{Content, CustomerMessage, SalesMessage};
use app::api::{SendType, Side};

use super::pair::Pair;
use crate::service::display::{render_time, TimeStyle};
use crate::AppState;

/// A stored message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub send_type: i64,
    /// The content's JSON text.
    pub content: String,
    pub create_date: i64,
}

/// The message columns of a left join: all NULL when it found none.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct JoinedMessage {
    id: Option<i64>,
    send_type: Option<i64>,
    content: Option<String>,
    create_date: Option<i64>,
}

impl JoinedMessage {
    pub(super) fn message(self) -> Option<MessageRow> {
        Some(MessageRow {
            id: self.id?,
            send_type: self.send_type.unwrap_or_default(),
            content: self.content.unwrap_or_default(),
            create_date: self.create_date.unwrap_or_default(),
        })
    }
}

impl MessageRow {
    pub fn send_type(&self) -> SendType {
        // Only the service stores messages, with a known type; anything else
        // would be a row written by hand, shown as neither side's.
        SendType::from_code(self.send_type).unwrap_or(SendType::SystemTip)
    }

    /// Whether `side` wrote it.
    pub fn is_from(&self, side: Side) -> bool {
        self.send_type == side.send_type().code()
    }
}

/// A message as the customer side sees it (API doc 1.2/1.3, socket pushes).
/// `first_id` is the conversation's first message (`is_first_info`).
pub fn customer_item(
    st: &AppState,
    p: &Pair,
    m: &MessageRow,
    first_id: i64,
    style: TimeStyle,
) -> CustomerMessage {
    CustomerMessage {
        id: m.id,
        customer_id: p.customer_id,
        user_id: p.user_id,
        customer: p.customer_name.clone(),
        from_user_name: p.customer_name.clone(),
        user_avatar: p.user_avatar.clone(),
        user_avator: p.user_avatar.clone(),
        customer_headimgurl: p.customer_headimgurl.clone(),
        date_time: render_time(st, m.create_date, style),
        send_type: m.send_type(),
        is_first_info: m.id == first_id,
        content: Content::from_stored(&m.content).beside(&CustomerMessage::KEYS),
    }
}

/// A message as the sales side sees it (semantics §10.2), with its read
/// receipt from the pair's customer watermark.
pub fn sales_item(st: &AppState, p: &Pair, m: &MessageRow, style: TimeStyle) -> SalesMessage {
    let read = m.is_from(Side::Customer) || m.id <= p.customer_read_id;
    SalesMessage {
        id: m.id,
        customer_id: p.customer_id,
        customer_avatar: p.customer_headimgurl.clone(),
        user_id: p.user_id,
        src: p.customer_headimgurl.clone(),
        name: p.customer_name.clone(),
        date_time: render_time(st, m.create_date, style),
        send_type: m.send_type(),
        is_customer_already_read: i64::from(read),
        is_customer_already_read_text: if read { "已读" } else { "未读" }.into(),
        content: Content::from_stored(&m.content).beside(&SalesMessage::KEYS),
        echo: None,
    }
}
