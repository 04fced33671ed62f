//! The read model: what the polling endpoints ask over and over, kept in
//! memory so that a warm `query_num` (either side) or an empty `getmsg` costs
//! no database statement.
//!
//! Cached per conversation (rep, customer): the customer's unread count and,
//! for each side, whether anything is unread at all (`getmsg`'s empty
//! answer); per rep: the badge and the company (which never changes).
//!
//! The database stays the truth. Values are filled lazily from it, per key,
//! and every change drops them again (invalidation, never an update in
//! place): the write path after its commit, and the bus for every event of
//! this instance and of the others (PostgreSQL NOTIFY). A `Resync` drops
//! everything. While the PostgreSQL listener is down the other instances'
//! events may be lost, so the model is bypassed (every answer is read from
//! the database, nothing is filled); the listener's reconnect delivers a
//! `Resync` before it reports itself connected again.
//!
//! A fill races the invalidations of its key: each key has a generation,
//! renewed by every invalidation, and a value read from the database is only
//! stored when its key still has the generation read *before* the statement
//! started. A write that committed after the statement's snapshot invalidates
//! after its commit, so it either renewed the generation before the store
//! (the stale value is discarded) or drops the stored value afterwards.
//!
//! Relations are never deleted and the company of a rep or customer never
//! changes, so "this conversation exists" stays true once seen; a missing
//! relation (307) is never remembered, so one created later (by another
//! process too) is seen at once.
//!
//! Memory is bounded: a shard that reaches its share of [`MAX_PAIRS`] or
//! [`MAX_REPS`] starts over (the active keys refill it).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use app::api::Side;

use super::unread;
use crate::bus::{Bus, Event};
use crate::error::Error;
use crate::AppState;

/// Conversations remembered at most (about 60 bytes each).
pub const MAX_PAIRS: usize = 200_000;
/// Reps remembered at most.
pub const MAX_REPS: usize = 50_000;
const SHARDS: usize = 16;

type PairKey = (i64, i64);

/// What is remembered of one conversation; `None` is "not known".
#[derive(Debug)]
struct PairSlot {
    generation: u64,
    customer_unread: Option<i64>,
    /// Whether `getmsg` of each side (customer, sales) has anything to return.
    pending: [Option<bool>; 2],
}

#[derive(Debug)]
struct RepSlot {
    generation: u64,
    badge: Option<i64>,
}

#[derive(Default)]
struct Shard {
    pairs: HashMap<PairKey, PairSlot>,
    reps: HashMap<i64, RepSlot>,
}

/// Counters for tests and the benchmark notes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Answers served from memory.
    pub hits: u64,
    /// Answers read from the database and remembered.
    pub fills: u64,
    /// Answers read from the database and not remembered (a concurrent
    /// change, or the model bypassed).
    pub misses: u64,
}

#[derive(Default)]
struct Inner {
    shards: [Mutex<Shard>; SHARDS],
    /// Source of generations; never reused, so a slot created again after
    /// an eviction cannot match a ticket taken before it.
    seq: AtomicU64,
    /// Rep → company; never changes once the rep exists.
    companies: Mutex<HashMap<i64, i64>>,
    hits: AtomicU64,
    fills: AtomicU64,
    misses: AtomicU64,
}

/// The in-memory read model (see the module doc); one per process, in `AppState`.
#[derive(Clone, Default)]
pub struct ReadModel(Arc<Inner>);

/// A fill's claim: the key's generation before the database was read.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl Ticket {
    /// A ticket that never stores (the model is bypassed).
    const BYPASS: Ticket = Ticket(None);
}

/// A lookup: the value, or the ticket to store one read from the database.
enum Lookup<T> {
    Hit(T),
    Miss(Ticket),
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Customer => 0,
        Side::Sales => 1,
    }
}

fn shard_of<K: Hash>(k: &K) -> usize {
    // A fixed hasher: the shard of a key must not change between calls.
    let h = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(k);
    (h as usize) % SHARDS
}

impl ReadModel {
    /// A model that drops what the bus's events change.
    pub fn following(bus: &Bus) -> ReadModel {
        let model = ReadModel::default();
        let m = model.clone();
        bus.set_observer(move |ev| m.observe(ev));
        model
    }

    fn observe(&self, ev: &Event) {
        match *ev {
            Event::MessageCreated {
                user_id,
                customer_id,
                ..
            }
            | Event::CustomerRead {
                user_id,
                customer_id,
                ..
            }
            | Event::SalesRead {
                user_id,
                customer_id,
                ..
            } => self.changed(user_id, customer_id),
            Event::Resync => self.clear(),
            Event::ContactChanged { .. } | Event::TokenRotated { .. } | Event::Touched => {}
        }
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        // Every operation under the lock is a single map update, so a panic
        // cannot leave a shard inconsistent.
        self.0.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_generation(&self) -> u64 {
        self.0.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A message was stored or a read watermark moved in the conversation of
    /// rep `user_id` and `customer_id` (committed): its counts and the rep's
    /// badge are stale.
    pub fn changed(&self, user_id: i64, customer_id: i64) {
        let key = (user_id, customer_id);
        {
            let mut s = self.shard(shard_of(&key));
            if let Some(slot) = s.pairs.get_mut(&key) {
                slot.generation = self.next_generation();
                slot.customer_unread = None;
                slot.pending = [None, None];
            }
        }
        let mut s = self.shard(shard_of(&user_id));
        if let Some(slot) = s.reps.get_mut(&user_id) {
            slot.generation = self.next_generation();
            slot.badge = None;
        }
    }

    /// Forgets every count (events may have been missed).
    pub fn clear(&self) {
        for i in 0..SHARDS {
            let mut s = self.shard(i);
            s.pairs.clear();
            s.reps.clear();
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.0.hits.load(Ordering::Relaxed),
            fills: self.0.fills.load(Ordering::Relaxed),
            misses: self.0.misses.load(Ordering::Relaxed),
        }
    }

    /// Whether the model may answer: not while other instances' events may
    /// be getting lost (PostgreSQL listener down).
    fn usable(st: &AppState) -> bool {
        st.bus.listener_connected() != Some(false)
    }

    fn pair_lookup<T>(
        &self,
        st: &AppState,
        key: PairKey,
        get: impl FnOnce(&PairSlot) -> Option<T>,
    ) -> Lookup<T> {
        if !Self::usable(st) {
            return Lookup::Miss(Ticket::BYPASS);
        }
        self.lookup_pair(key, get)
    }

    fn lookup_pair<T>(&self, key: PairKey, get: impl FnOnce(&PairSlot) -> Option<T>) -> Lookup<T> {
        let mut s = self.shard(shard_of(&key));
        if let Some(slot) = s.pairs.get(&key) {
            if let Some(v) = get(slot) {
                self.0.hits.fetch_add(1, Ordering::Relaxed);
                return Lookup::Hit(v);
            }
            return Lookup::Miss(Ticket(Some(slot.generation)));
        }
        if s.pairs.len() >= MAX_PAIRS / SHARDS {
            s.pairs.clear();
        }
        let generation = self.next_generation();
        s.pairs.insert(
            key,
            PairSlot {
                generation,
                customer_unread: None,
                pending: [None, None],
            },
        );
        Lookup::Miss(Ticket(Some(generation)))
    }

    fn pair_store(&self, key: PairKey, t: Ticket, set: impl FnOnce(&mut PairSlot)) {
        let stored = t.0.is_some_and(|g| {
            let mut s = self.shard(shard_of(&key));
            match s.pairs.get_mut(&key) {
                Some(slot) if slot.generation == g => {
                    set(slot);
                    true
                }
                _ => false,
            }
        });
        self.count_fill(stored);
    }

    /// Drops a slot that was created for a key whose read failed (no such
    /// conversation): keys that do not exist must not crowd out those that do.
    fn pair_forget(&self, key: PairKey, t: Ticket) {
        if let Some(g) = t.0 {
            let mut s = self.shard(shard_of(&key));
            if s.pairs.get(&key).is_some_and(|slot| {
                slot.generation == g
                    && slot.customer_unread.is_none()
                    && slot.pending == [None, None]
            }) {
                s.pairs.remove(&key);
            }
        }
        self.0.misses.fetch_add(1, Ordering::Relaxed);
    }

    fn count_fill(&self, stored: bool) {
        let c = if stored {
            &self.0.fills
        } else {
            &self.0.misses
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn rep_lookup(&self, st: &AppState, user_id: i64) -> Lookup<i64> {
        if !Self::usable(st) {
            return Lookup::Miss(Ticket::BYPASS);
        }
        let mut s = self.shard(shard_of(&user_id));
        if let Some(slot) = s.reps.get(&user_id) {
            if let Some(v) = slot.badge {
                self.0.hits.fetch_add(1, Ordering::Relaxed);
                return Lookup::Hit(v);
            }
            return Lookup::Miss(Ticket(Some(slot.generation)));
        }
        if s.reps.len() >= MAX_REPS / SHARDS {
            s.reps.clear();
        }
        let generation = self.next_generation();
        s.reps.insert(
            user_id,
            RepSlot {
                generation,
                badge: None,
            },
        );
        Lookup::Miss(Ticket(Some(generation)))
    }

    fn rep_store(&self, user_id: i64, t: Ticket, badge: i64) {
        let stored = t.0.is_some_and(|g| {
            let mut s = self.shard(shard_of(&user_id));
            match s.reps.get_mut(&user_id) {
                Some(slot) if slot.generation == g => {
                    slot.badge = Some(badge);
                    true
                }
                _ => false,
            }
        });
        self.count_fill(stored);
    }

    /// Whether `getmsg` of `side` in this conversation is known to have
    /// nothing to return; otherwise the ticket for [`ReadModel::nothing_pending`].
    pub fn pending(
        &self,
        st: &AppState,
        side: Side,
        user_id: i64,
        customer_id: i64,
    ) -> Result<(), Ticket> {
        match self.pair_lookup(st, (user_id, customer_id), |s| {
            s.pending[side_index(side)].filter(|p| !p)
        }) {
            Lookup::Hit(_) => Ok(()),
            Lookup::Miss(t) => Err(t),
        }
    }

    /// A `getmsg` of `side` found the conversation with nothing unread.
    pub fn nothing_pending(&self, side: Side, user_id: i64, customer_id: i64, t: Ticket) {
        self.pair_store((user_id, customer_id), t, |s| {
            s.pending[side_index(side)] = Some(false)
        });
    }
}

/// The customer's unread count of the conversation with rep `user_id`
/// ([`unread::count`], remembered); 307 without a relation.
pub async fn customer_unread(st: &AppState, user_id: i64, customer_id: i64) -> Result<i64, Error> {
    let m = &st.reads;
    let key = (user_id, customer_id);
    let t = match m.pair_lookup(st, key, |s| s.customer_unread) {
        Lookup::Hit(n) => return Ok(n),
        Lookup::Miss(t) => t,
    };
    match unread::count(st, Side::Customer, user_id, customer_id).await {
        Ok(n) => {
            m.pair_store(key, t, |s| s.customer_unread = Some(n));
            Ok(n)
        }
        Err(e) => {
            m.pair_forget(key, t);
            Err(e)
        }
    }
}

/// The rep's badge ([`unread::badge`], remembered).
pub async fn badge(st: &AppState, user_id: i64) -> Result<i64, Error> {
    let m = &st.reads;
    let t = match m.rep_lookup(st, user_id) {
        Lookup::Hit(n) => return Ok(n),
        Lookup::Miss(t) => t,
    };
    let n = unread::badge(st, user_id).await?;
    m.rep_store(user_id, t, n);
    Ok(n)
}

/// The rep's company ([`super::company_of_user`], remembered: it never changes).
pub async fn company_of_user(st: &AppState, user_id: i64) -> Result<i64, Error> {
    let m = &st.reads.0;
    if let Some(c) = m
        .companies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&user_id)
    {
        m.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(*c);
    }
    let c = super::company_of_user(st, user_id).await?;
    let mut companies = m.companies.lock().unwrap_or_else(|e| e.into_inner());
    if companies.len() >= MAX_REPS {
        companies.clear();
    }
    companies.insert(user_id, c);
    m.fills.fetch_add(1, Ordering::Relaxed);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot_of(m: &ReadModel, key: PairKey) -> Option<(u64, Option<i64>)> {
        let s = m.shard(shard_of(&key));
        s.pairs.get(&key).map(|p| (p.generation, p.customer_unread))
    }

    fn ticket(m: &ReadModel, key: PairKey) -> Ticket {
        match m.lookup_pair(key, |s| s.customer_unread) {
            Lookup::Hit(_) => Ticket::BYPASS,
            Lookup::Miss(t) => t,
        }
    }

    #[test]
    fn a_fill_that_raced_a_change_is_not_stored() {
        let m = ReadModel::default();
        let key = (1, 2);
        // Fill started, then a write committed and invalidated: the value the
        // fill read may predate the write, so it must not be kept.
        let t = ticket(&m, key);
        m.changed(1, 2);
        m.pair_store(key, t, |s| s.customer_unread = Some(5));
        assert_eq!(slot_of(&m, key).and_then(|s| s.1), None);
        // A fill that started after the change is kept …
        let t = ticket(&m, key);
        m.pair_store(key, t, |s| s.customer_unread = Some(6));
        assert_eq!(slot_of(&m, key).and_then(|s| s.1), Some(6));
        // … until the next change.
        m.changed(1, 2);
        assert_eq!(slot_of(&m, key).and_then(|s| s.1), None);
        assert_eq!(m.stats().fills, 1);
        assert_eq!(m.stats().misses, 1);
    }

    #[test]
    fn a_clear_voids_fills_under_way_and_generations_are_never_reused() {
        let m = ReadModel::default();
        let key = (3, 4);
        let t = ticket(&m, key);
        m.clear();
        // The slot is created again, with a new generation.
        let t2 = ticket(&m, key);
        assert_ne!(t.0, t2.0);
        m.pair_store(key, t, |s| s.customer_unread = Some(1));
        assert_eq!(slot_of(&m, key).and_then(|s| s.1), None);
        m.pair_store(key, Ticket::BYPASS, |s| s.customer_unread = Some(1));
        assert_eq!(slot_of(&m, key).and_then(|s| s.1), None);
    }

    #[test]
    fn events_drop_what_they_change() {
        let bus = Bus::new();
        let m = ReadModel::following(&bus);
        let (a, b) = ((1, 2), (1, 3));
        for k in [a, b] {
            let t = ticket(&m, k);
            m.pair_store(k, t, |s| s.customer_unread = Some(7));
        }
        bus.publish(Event::CustomerRead {
            user_id: 1,
            customer_id: 2,
            up_to_id: 9,
        });
        assert_eq!(slot_of(&m, a).and_then(|s| s.1), None);
        assert_eq!(slot_of(&m, b).and_then(|s| s.1), Some(7));
        bus.publish(Event::ContactChanged {
            user_id: 1,
            customer_id: 3,
        });
        assert_eq!(slot_of(&m, b).and_then(|s| s.1), Some(7));
        bus.publish(Event::Resync);
        assert_eq!(slot_of(&m, b), None);
    }

    #[test]
    fn shards_stay_bounded() {
        let m = ReadModel::default();
        for c in 0..(MAX_PAIRS as i64 + 1000) {
            let _ = ticket(&m, (1, c));
        }
        let total: usize = (0..SHARDS).map(|i| m.shard(i).pairs.len()).sum();
        assert!(total <= MAX_PAIRS, "{total}");
    }
}
