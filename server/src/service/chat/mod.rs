//! Chat between a sales user and a customer, for REST and sockets alike. One
//! feature per file:
//!
//! * [`pair`] — the relation of a conversation and its lookups;
//! * [`message`] — stored messages, and how each side sees one;
//! * [`unread`] — the unread rule (once), read watermarks, counts, the badge;
//! * [`send`] — what a send carries, and storing it;
//! * [`history`] — `getmsg` and history pages over REST;
//! * [`inbox`] — the rep's inbox (`qiyeweixin/contact`);
//! * [`search`] — finding messages of the rep's conversations by their text;
//! * [`deliver`] — what the chat and count sockets are sent, and which reads
//!   their deliveries mark;
//! * [`shared`] — the badge and inbox page shared by a rep's sockets;
//! * [`readmodel`] — unread counts and badges kept in memory for polling.

pub mod deliver;
pub mod history;
pub mod inbox;
pub mod message;
pub mod pair;
pub mod readmodel;
pub mod search;
pub mod send;
pub mod shared;
pub mod unread;

use serde::Serialize;

pub use deliver::{chunk_items, inbox_frames, ChatFrame, InboxOut, Reader, UnreadFeed};
pub use history::{
    customer_getmsg, customer_history, sales_getmsg, sales_history, GETMSG_MAX_BYTES,
};
pub use inbox::{last_seen, tags_of, MAX_LISTED_TAGS};
pub use message::{customer_item, sales_item, MessageRow};
pub use pair::{company_of_user, pair, Pair};
pub use send::{customer_send, sales_send, send, Outgoing, Sent};
pub use shared::{RepFeed, RepView, RepViews, SharedPage};
pub use unread::{badge, mark_read};

/// Bytes of `v` as JSON, without building the text.
pub(crate) fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing to a counter cannot fail; a value that cannot be serialized
    // counts what was written before the failure.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

#[cfg(test)]
#[path = "../tests/chat.rs"]
mod tests;
