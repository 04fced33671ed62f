//! What a rep's sockets share: the badge and the inbox pages, computed once
//! per change of the rep's data and handed to every socket that asks.
//!
//! One event for a rep wakes the badge socket and the inbox socket (and those
//! of every open tab) at once; each used to compute the badge, and the inbox
//! socket computed it again with its page. Here each computation is tagged
//! with the bus generation of `Key::User(rep)` read before it started: a
//! socket asking under the same generation gets the stored value, which is at
//! least as new as every event up to that generation. The per-rep lock makes
//! concurrent askers wait for the one computing instead of repeating it.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use app::api::chat::InboxFeed;

use super::inbox;
use crate::bus::{Key, Subscription};
use crate::error::Error;
use crate::extract::Paging;
use crate::AppState;

/// Computations done, for tests and metrics.
#[derive(Debug, Default)]
pub struct Computed {
    badges: AtomicU64,
    pages: AtomicU64,
}

/// Every rep with an open badge or inbox socket in this process.
#[derive(Clone, Default)]
pub struct RepViews {
    reps: Arc<Mutex<HashMap<i64, Weak<RepView>>>>,
    computed: Arc<Computed>,
}

impl RepViews {
    /// The shared view of `user_id`; the sockets of the rep hold it while open.
    pub fn of(&self, user_id: i64) -> Arc<RepView> {
        // A panic under this lock cannot leave the map inconsistent.
        let mut reps = self.reps.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = reps.get(&user_id).and_then(Weak::upgrade) {
            return v;
        }
        reps.retain(|_, w| w.strong_count() > 0);
        let v = Arc::new(RepView {
            user_id,
            memo: tokio::sync::Mutex::new(Memo::default()),
            computed: self.computed.clone(),
        });
        reps.insert(user_id, Arc::downgrade(&v));
        v
    }

    /// Badges computed since start (REST answers not included).
    pub fn badges_computed(&self) -> u64 {
        self.computed.badges.load(Ordering::Relaxed)
    }

    /// Inbox pages built for sockets since start.
    pub fn pages_built(&self) -> u64 {
        self.computed.pages.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Memo {
    badge: Option<(u64, i64)>,
    /// Page 1 by length, with the hash of its JSON.
    pages: Vec<(u64, i64, Arc<InboxFeed>, u64)>,
}

/// One rep's shared computations.
pub struct RepView {
    user_id: i64,
    memo: tokio::sync::Mutex<Memo>,
    computed: Arc<Computed>,
}

/// Page 1 of a rep's inbox as the socket pushes it, and the hash of its
/// JSON, which tells a socket whether it changed since its last push.
#[derive(Debug, Clone)]
pub struct SharedPage {
    pub feed: Arc<InboxFeed>,
    pub hash: u64,
}

fn hash_of(feed: &InboxFeed) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(feed).unwrap_or_default().hash(&mut h);
    h.finish()
}

impl RepView {
    fn generation(&self, st: &AppState) -> Option<u64> {
        st.bus.generation(Key::User(self.user_id))
    }

    async fn badge_in(
        &self,
        st: &AppState,
        memo: &mut Memo,
        generation: Option<u64>,
    ) -> Result<i64, Error> {
        if let (Some(g), Some((at, n))) = (generation, memo.badge) {
            if g == at {
                return Ok(n);
            }
        }
        let n = super::readmodel::badge(st, self.user_id).await?;
        self.computed.badges.fetch_add(1, Ordering::Relaxed);
        memo.badge = generation.map(|g| (g, n));
        Ok(n)
    }

    /// The rep's badge.
    pub async fn badge(&self, st: &AppState) -> Result<i64, Error> {
        let generation = self.generation(st);
        let mut memo = self.memo.lock().await;
        self.badge_in(st, &mut memo, generation).await
    }

    /// Page 1 of the inbox with `length` entries, the badge and the latest activity.
    pub async fn first_page(&self, st: &AppState, length: i64) -> Result<SharedPage, Error> {
        let generation = self.generation(st);
        let mut memo = self.memo.lock().await;
        if let Some(g) = generation {
            if let Some((_, _, feed, hash)) = memo
                .pages
                .iter()
                .find(|(at, l, _, _)| *at == g && *l == length)
            {
                return Ok(SharedPage {
                    feed: feed.clone(),
                    hash: *hash,
                });
            }
        }
        let badge = self.badge_in(st, &mut memo, generation).await?;
        let feed =
            Arc::new(inbox::feed(st, self.user_id, Paging { page: 1, length }, badge).await?);
        self.computed.pages.fetch_add(1, Ordering::Relaxed);
        let hash = hash_of(&feed);
        memo.pages
            .retain(|(at, l, _, _)| Some(*at) == generation && *l != length);
        if let Some(g) = generation {
            memo.pages.push((g, length, feed.clone(), hash));
        }
        Ok(SharedPage { feed, hash })
    }

    /// Any page (`query_num`), with the shared badge.
    pub async fn page(&self, st: &AppState, paging: Paging) -> Result<InboxFeed, Error> {
        let badge = self.badge(st).await?;
        let feed = inbox::feed(st, self.user_id, paging, badge).await?;
        self.computed.pages.fetch_add(1, Ordering::Relaxed);
        Ok(feed)
    }
}

/// A rep socket's hold on the rep's shared view, and its wake-ups (every
/// event of the rep: messages, reads, customer activity).
pub struct RepFeed {
    pub view: Arc<RepView>,
    sub: Subscription,
}

impl RepFeed {
    pub fn open(st: &AppState, user_id: i64) -> RepFeed {
        // Subscribed first: the view's generation is tracked from here on.
        let sub = st.bus.watch(Key::User(user_id));
        RepFeed {
            view: st.rep_views.of(user_id),
            sub,
        }
    }

    pub async fn changed(&self) {
        self.sub.changed().await
    }
}
