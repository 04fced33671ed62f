//! The count sockets: `gongzhonghao_query_info_num` (one conversation's
//! unread count for the customer, semantics §6) and `leida_query_info_num`
//! (the rep's badge, semantics §10.10), each pushed whenever it changes.

use std::sync::Arc;

use app::api::chat::{msgs, CountFrame, CustomerCountFrame, UnreadNum};

use super::{id_field, Conn, Id, Step};
use crate::extract::Fields;
use crate::service::chat::{RepFeed, RepView, UnreadFeed};

fn customer_frame(n: i64, msg: &str) -> CustomerCountFrame {
    CustomerCountFrame {
        msg_data: UnreadNum { unread_msg_num: n },
        code: 200,
        msg: msg.into(),
    }
}

fn badge_frame(n: i64, msg: &str) -> CountFrame {
    CountFrame {
        data: UnreadNum { unread_msg_num: n },
        code: 200,
        msg: msg.into(),
    }
}

/// `gongzhonghao_query_info_num`.
#[derive(Default)]
pub(crate) struct Unread {
    feed: Option<UnreadFeed>,
}

impl Unread {
    pub async fn changed(&self) {
        match &self.feed {
            Some(f) => f.changed().await,
            None => std::future::pending().await,
        }
    }

    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        match (ty, self.feed.as_mut()) {
            (Some("register"), _) | (Some("query_num"), None) => self.register(c, f).await,
            (Some("query_num"), Some(feed)) => {
                let n = feed.current(&c.st).await;
                let n = c.check(n).await?;
                c.send(&customer_frame(n, msgs::CUSTOMER_COUNT)).await
            }
            (other, _) => c.unknown_type(other).await,
        }
    }

    async fn register(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        let u_id = match id_field(f, "u_id") {
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field("u_id", "用户ID不能为空").await,
            Id::Ok(n) => n,
        };
        let opened = UnreadFeed::open(&c.st, u_id, customer_id).await;
        let (feed, n) = c.check(opened).await?;
        self.feed = Some(feed);
        c.send(&customer_frame(n, msgs::CUSTOMER_COUNT)).await
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        let Some(feed) = self.feed.as_mut() else {
            return Ok(());
        };
        let news = feed.news(&c.st).await;
        match c.check(news).await? {
            Some(n) => c.send(&customer_frame(n, msgs::CUSTOMER_COUNT_LIVE)).await,
            None => Ok(()),
        }
    }
}

/// `leida_query_info_num`.
#[derive(Default)]
pub(crate) struct Badge {
    feed: Option<RepFeed>,
    last: i64,
}

impl Badge {
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

    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, _f: &Fields) -> Step {
        let user_id = c.who()?;
        match ty {
            Some("register") => {
                self.feed = Some(RepFeed::open(&c.st, user_id));
                let n = self.view(c, user_id).badge(&c.st).await;
                self.last = c.check(n).await?;
                c.send(&badge_frame(self.last, msgs::SALES_REGISTERED))
                    .await
            }
            Some("query_num") => {
                let n = self.view(c, user_id).badge(&c.st).await;
                let n = c.check(n).await?;
                if self.feed.is_some() {
                    self.last = n;
                }
                c.send(&badge_frame(n, msgs::SALES_LIVE)).await
            }
            other => c.unknown_type(other).await,
        }
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        let Some(feed) = &self.feed else {
            return Ok(());
        };
        let n = feed.view.badge(&c.st).await;
        let n = c.check(n).await?;
        if n == self.last {
            return Ok(());
        }
        self.last = n;
        c.send(&badge_frame(n, msgs::SALES_LIVE)).await
    }
}
