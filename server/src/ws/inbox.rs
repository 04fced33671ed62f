//! `leida_query_contact_list` (semantics §10.7.3): page 1 of the rep's inbox
//! with the badge and the customer last seen in the access log, pushed whenever it
//! changes; `query_num` returns any page.

use std::sync::Arc;

use app::api::chat::{msgs, InboxFeed};

use super::{Conn, Step};
use crate::error::Error;
use crate::extract::{Check, Fields, Paging};
use crate::service::chat::{inbox_frames, RepFeed, RepView};

/// Inbox pages default to 10 entries on the socket.
const DEFAULT_LENGTH: i64 = 10;

#[derive(Default)]
pub(crate) struct Inbox {
    feed: Option<RepFeed>,
    length: i64,
    /// Hash of the last page pushed: the idle cost is 8 bytes, not the page.
    last_hash: u64,
}

/// A page, split into parts when it would exceed the frame limit.
async fn send_page(c: &mut Conn, feed: &InboxFeed, msg: &str) -> Step {
    for frame in inbox_frames(feed, msg) {
        c.send(&frame).await?;
    }
    Ok(())
}

impl Inbox {
    pub async fn changed(&self) {
        match &self.feed {
            Some(f) => f.changed().await,
            None => std::future::pending().await,
        }
    }

    fn view(&self, c: &Conn, user_id: i64) -> Arc<RepView> {
        match &self.feed {
            Some(f) => f.view.clone(),
            None => c.st.rep_views.of(user_id),
        }
    }

    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        let user_id = c.who()?;
        let mut ch = Check::new(f);
        let paging = Paging::parse(&mut ch, DEFAULT_LENGTH);
        let paging = match (ch.finish(), paging) {
            (Ok(()), Some(p)) => p,
            (Err(e), _) => return c.reply_error(e).await,
            (Ok(()), None) => return c.reply_error(Error::bad_request()).await,
        };
        match ty {
            Some("register") => {
                let feed = RepFeed::open(&c.st, user_id);
                let page = feed.view.first_page(&c.st, paging.length).await;
                self.feed = Some(feed);
                self.length = paging.length;
                let page = c.check(page).await?;
                self.last_hash = page.hash;
                send_page(c, &page.feed, msgs::SALES_REGISTERED).await
            }
            Some("query_num") => {
                let page = self.view(c, user_id).page(&c.st, paging).await;
                let page = c.check(page).await?;
                send_page(c, &page, msgs::SALES_LIVE).await
            }
            other => c.unknown_type(other).await,
        }
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        let Some(feed) = &self.feed else {
            return Ok(());
        };
        let page = feed.view.first_page(&c.st, self.length.max(1)).await;
        let page = c.check(page).await?;
        if page.hash == self.last_hash {
            return Ok(());
        }
        self.last_hash = page.hash;
        send_page(c, &page.feed, msgs::SALES_LIVE).await
    }
}
