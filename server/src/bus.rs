//! Real-time events, published after commit. Events carry ids only: a subscriber
//! reads what it needs from the database, so a missed or duplicated event is
//! repaired by the next read ("resync"), never by trusting the event payload.
//!
//! Subscriptions are keyed (one conversation, or one sales user), so an event
//! wakes only the sockets it concerns. A wake-up is a `Notify` permit, not a
//! queued event: many events before the socket gets to run coalesce into one
//! wake-up, nothing queues up behind a slow socket, and no event can be lost to
//! a full buffer. The socket then diffs the database against what it has sent.
//!
//! With PostgreSQL, several server processes share one database. Every event
//! is also sent to the others with `pg_notify` (one ordered task fed by an
//! unbounded channel, so `publish` stays synchronous), and a `PgListener` task
//! delivers theirs locally. Events carry the id of the instance that sent them,
//! so an instance ignores its own echo and local sockets are never woken twice.
//! When the listener connection drops, notifications sent meanwhile are lost:
//! after reconnecting, every local socket is woken (`Event::Resync`) and
//! re-reads the database. Likewise, events this instance could not NOTIFY
//! (database away) are folded into one `Resync` sent when NOTIFY works again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};

use app::api::{SendType, Side};

use crate::changes::Changes;

/// The PostgreSQL NOTIFY channel shared by all instances on one database.
pub const PG_CHANNEL: &str = "radar_events";
/// Sent by the database itself (migration 0017's triggers) in every
/// transaction that writes a table a result cache reads (`changes`).
pub const TOUCH_CHANNEL: &str = "radar_touch";
/// `application_name` of the bus connections is this prefix and the process id,
/// so operators (and tests) can find one instance's connections.
pub const PG_APPLICATION_NAME: &str = "radar-bus";
/// Reconnect backoff of the listener and retry backoff of the notifier: short
/// enough that a restarted database is picked up quickly, capped so a long
/// outage does not hammer it.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Bounds one NOTIFY (connection checkout included), so that a dead database
/// turns into a logged, owed resync instead of a notifier stuck on a socket.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a lone `Touched` waits for the event its commit usually
/// publishes next (a message, a read mark), which then carries it.
const TOUCH_WAIT: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Event {
    /// A chat message was stored.
    MessageCreated {
        id: i64,
        user_id: i64,
        customer_id: i64,
        send_type: SendType,
    },
    /// The customer read the pair's messages up to `up_to_id`.
    CustomerRead {
        user_id: i64,
        customer_id: i64,
        up_to_id: i64,
    },
    /// The sales user read the pair's messages up to `up_to_id`.
    SalesRead {
        user_id: i64,
        customer_id: i64,
        up_to_id: i64,
    },
    /// A customer action was logged, or the relation's CRM fields changed.
    ContactChanged { user_id: i64, customer_id: i64 },
    /// A customer's or sales user's token was replaced: cached copies of the old
    /// one must go, and sockets it authenticated must be closed.
    TokenRotated { party: Side, id: i64 },
    /// Subscribers may have missed events (lag, lost listener): re-read everything.
    Resync,
    /// The sending instance committed a write: result caches drop what they
    /// hold (`changes`). Never delivered to subscribers.
    Touched,
}

/// What a socket subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// One conversation: the chat and count sockets of both sides.
    Pair { user_id: i64, customer_id: i64 },
    /// Everything of one sales user: the badge and contact-list sockets.
    User(i64),
    /// The sockets authenticated as one customer or sales user.
    Credential(Side, i64),
}

impl Event {
    /// The `kind` label of `radar_bus_events_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::MessageCreated { .. } => "message_created",
            Event::CustomerRead { .. } => "customer_read",
            Event::SalesRead { .. } => "sales_read",
            Event::ContactChanged { .. } => "contact_changed",
            Event::TokenRotated { .. } => "token_rotated",
            Event::Resync => "resync",
            Event::Touched => "touched",
        }
    }

    /// The keys whose subscribers this event concerns (`None` for Resync: all).
    fn keys(&self) -> Option<[Option<Key>; 2]> {
        let pair = |user_id, customer_id| {
            Some(Key::Pair {
                user_id,
                customer_id,
            })
        };
        Some(match *self {
            Event::MessageCreated {
                user_id,
                customer_id,
                ..
            } => [pair(user_id, customer_id), Some(Key::User(user_id))],
            // Read receipts for the rep's chat, the customer's count going down.
            Event::CustomerRead {
                user_id,
                customer_id,
                ..
            } => [pair(user_id, customer_id), None],
            // The rep's badge and contact list go down.
            Event::SalesRead { user_id, .. } => [Some(Key::User(user_id)), None],
            Event::ContactChanged { user_id, .. } => [Some(Key::User(user_id)), None],
            Event::TokenRotated { party, id } => [Some(Key::Credential(party, id)), None],
            Event::Touched => [None, None],
            Event::Resync => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    subs: Mutex<HashMap<Key, Slot>>,
    /// Source of generations: every delivery to a key takes the next number.
    seq: AtomicU64,
    /// Unkeyed stream of every event, for in-process consumers that want the events themselves.
    all: broadcast::Sender<Event>,
    /// Set when PostgreSQL fan-out runs.
    remote: OnceLock<mpsc::UnboundedSender<Outbound>>,
    /// True while the PostgreSQL listener's LISTEN is active (`/readyz`).
    listening: AtomicBool,
    /// Tags this instance's notifications so that it ignores its own echo.
    origin: u64,
    closing: watch::Sender<bool>,
    sockets: watch::Sender<usize>,
    /// Run on every delivered event before any subscriber is woken.
    observers: RwLock<Vec<Observer>>,
    /// Told of the other instances' commits (PostgreSQL fan-out only).
    changes: OnceLock<Changes>,
    /// Moves when a rep's first socket authenticates or last one goes
    /// (a `Credential(Sales, _)` key gains its first or loses its last
    /// subscriber): presence is published from it (`service::notify`).
    reps: watch::Sender<u64>,
}

/// The subscribers of one key, and the generation of the last event
/// delivered to it (or of the slot's creation).
#[derive(Debug)]
struct Slot {
    generation: u64,
    signals: Vec<Arc<Notify>>,
}

/// A synchronous hook on delivery (the token cache drops a rotated token with
/// it, the read model its stale counts, so a socket woken by the same event
/// already reads the new value).
struct Observer(Box<dyn Fn(&Event) + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

#[derive(Debug)]
enum Outbound {
    Event(Event),
    Flush(oneshot::Sender<()>),
}

/// One NOTIFY: the events an instance published since its last one, in
/// publish order. (`e` alone is the single-event form of earlier versions,
/// still understood during a rolling upgrade.)
#[derive(Serialize, Deserialize)]
struct Wire {
    o: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<Event>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    es: Vec<Event>,
}

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a batch is cut
/// well below it.
const MAX_PAYLOAD: usize = 7000;

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

fn origin_id() -> u64 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Unique across processes (pid, time) and across buses of one process (SEQ).
    nanos
        ^ (u64::from(std::process::id()) << 40)
        ^ SEQ.fetch_add(1, Ordering::Relaxed).rotate_left(20)
}

impl Inner {
    fn subs(&self) -> MutexGuard<'_, HashMap<Key, Slot>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every operation is a single insert or retain), so poison is ignored.
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn deliver(&self, ev: Event) {
        metrics::counter!(crate::telemetry::BUS_EVENTS, "kind" => ev.kind()).increment(1);
        // Observers are only added at start; a panic in one cannot leave the
        // list inconsistent.
        for o in self
            .observers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            (o.0)(&ev);
        }
        {
            let mut subs = self.subs();
            // The generation moves before anyone is woken, so a woken
            // subscriber always reads the new one.
            let generation = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
            let wake = |slot: &mut Slot| {
                slot.generation = generation;
                for n in &slot.signals {
                    n.notify_one();
                }
            };
            match ev.keys() {
                Some(keys) => {
                    for key in keys.iter().flatten() {
                        if let Some(slot) = subs.get_mut(key) {
                            wake(slot);
                        }
                    }
                }
                None => subs.values_mut().for_each(wake),
            }
        }
        let _ = self.all.send(ev);
    }

    fn on_remote(&self, payload: &str) {
        match serde_json::from_str::<Wire>(payload) {
            Ok(w) if w.o == self.origin => {}
            Ok(w) => {
                // Whatever another instance publishes follows a commit of it.
                self.touched();
                w.e.into_iter()
                    .chain(w.es)
                    .for_each(|e| self.remote_event(e));
            }
            Err(e) => {
                // Not ours to understand (another version?): re-read rather than miss something.
                tracing::warn!(error = %e, "unreadable bus notification; resyncing");
                self.remote_event(Event::Resync);
            }
        }
    }

    fn remote_event(&self, ev: Event) {
        match ev {
            Event::Touched => {}
            Event::Resync => {
                self.touched();
                self.deliver(ev);
            }
            ev => self.deliver(ev),
        }
    }

    fn touched(&self) {
        if let Some(c) = self.changes.get() {
            c.touched();
        }
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (all, _) = broadcast::channel(256);
        Bus {
            inner: Arc::new(Inner {
                subs: Mutex::new(HashMap::new()),
                seq: AtomicU64::new(0),
                all,
                remote: OnceLock::new(),
                listening: AtomicBool::new(false),
                origin: origin_id(),
                closing: watch::Sender::new(false),
                sockets: watch::Sender::new(0),
                observers: RwLock::new(Vec::new()),
                changes: OnceLock::new(),
                reps: watch::Sender::new(0),
            }),
        }
    }

    /// Never blocks and never fails: wakes the local subscribers at once and
    /// queues the event for the other instances.
    pub fn publish(&self, ev: Event) {
        self.inner.deliver(ev);
        if let Some(tx) = self.inner.remote.get() {
            let _ = tx.send(Outbound::Event(ev));
        }
    }

    /// Delivers an event to this instance only (one that the other instances
    /// learn of by themselves, e.g. from the database).
    pub fn publish_local(&self, ev: Event) {
        self.inner.deliver(ev);
    }

    /// Adds a hook that sees every event before subscribers are woken.
    pub fn set_observer(&self, f: impl Fn(&Event) + Send + Sync + 'static) {
        self.inner
            .observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Observer(Box::new(f)));
    }

    /// Every event, unkeyed. A lagging receiver must treat `Lagged` as `Resync`.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.all.subscribe()
    }

    /// Wakes the returned subscription on every event for `key` (and on Resync).
    pub fn watch(&self, key: Key) -> Subscription {
        let signal = Arc::new(Notify::new());
        let inner = &self.inner;
        let first = {
            let mut subs = inner.subs();
            let slot = subs.entry(key).or_insert_with(|| Slot {
                generation: inner.seq.fetch_add(1, Ordering::Relaxed) + 1,
                signals: Vec::new(),
            });
            slot.signals.push(signal.clone());
            slot.signals.len() == 1
        };
        if first && is_rep(key) {
            inner.reps.send_modify(|n| *n = n.wrapping_add(1));
        }
        Subscription {
            inner: self.inner.clone(),
            key,
            signal,
        }
    }

    /// True while a socket of rep `user_id` is authenticated on this instance.
    pub fn rep_connected(&self, user_id: i64) -> bool {
        self.inner
            .subs()
            .contains_key(&Key::Credential(Side::Sales, user_id))
    }

    /// The reps with an authenticated socket on this instance.
    pub fn connected_reps(&self) -> Vec<i64> {
        let mut reps: Vec<i64> = self
            .inner
            .subs()
            .keys()
            .filter_map(|k| match k {
                Key::Credential(Side::Sales, id) => Some(*id),
                _ => None,
            })
            .collect();
        reps.sort_unstable();
        reps
    }

    /// Changes whenever `connected_reps` may have changed.
    pub fn reps_changed(&self) -> watch::Receiver<u64> {
        self.inner.reps.subscribe()
    }

    /// This instance's id (unique among the processes on one database).
    pub fn instance_id(&self) -> i64 {
        self.inner.origin as i64
    }

    /// Number of live keyed subscriptions (for tests and metrics).
    pub fn subscriber_count(&self) -> usize {
        self.inner.subs().values().map(|s| s.signals.len()).sum()
    }

    /// The generation of `key`: it changes with every event delivered to the
    /// key, and numbers are never reused, so a value computed after reading
    /// generation `g` is at least as new as every event up to `g`. `None`
    /// while nobody watches the key (no event is tracked for it then).
    pub fn generation(&self, key: Key) -> Option<u64> {
        self.inner.subs().get(&key).map(|s| s.generation)
    }

    /// Starts fan-out over PostgreSQL LISTEN/NOTIFY. Returns once LISTEN is
    /// active, so no event committed after the server starts serving is missed.
    pub async fn start_postgres(&self, url: &str, changes: Changes) -> Result<(), String> {
        let opts: PgConnectOptions = url
            .parse()
            .map_err(|e| format!("bus: bad PostgreSQL URL {}: {e}", crate::db::redact(url)))?;
        // Two connections: the listener's and the notifier's. They stay out of
        // the request pool so that a busy server still delivers events.
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(crate::db::ACQUIRE_TIMEOUT)
            .connect_lazy_with(
                opts.application_name(&format!("{PG_APPLICATION_NAME}-{}", std::process::id()))
                    // A NOTIFY assigns a transaction id, so with the default
                    // its commit waits for a WAL flush: a disk flush per burst
                    // for something that is never stored. Asynchronous commit
                    // still delivers at commit.
                    .options([("synchronous_commit", "off")]),
            );
        let listener = connect_listener(&pool)
            .await
            .map_err(|e| format!("bus: cannot LISTEN: {e}"))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let tx_clone = tx.clone();
        if self.inner.remote.set(tx).is_err() {
            return Err("bus: PostgreSQL fan-out already started".into());
        }
        self.inner.listening.store(true, Ordering::Relaxed);
        let _ = self.inner.changes.set(changes.clone());
        let publish = tx_clone;
        changes.set_publisher(move || {
            metrics::counter!(crate::telemetry::BUS_EVENTS, "kind" => Event::Touched.kind())
                .increment(1);
            let _ = publish.send(Outbound::Event(Event::Touched));
        });
        changes.touched();
        changes.set_listening(true);
        tokio::spawn(notifier(self.inner.origin, pool.clone(), rx));
        tokio::spawn(listen_loop(self.inner.clone(), pool, listener, changes));
        Ok(())
    }

    /// Whether the PostgreSQL listener is connected: `None` without fan-out
    /// (SQLite, one instance).
    pub fn listener_connected(&self) -> Option<bool> {
        self.inner
            .remote
            .get()
            .map(|_| self.inner.listening.load(Ordering::Relaxed))
    }

    /// Waits (at most `within`) until every event published so far has been
    /// handed to PostgreSQL. A no-op without fan-out.
    pub async fn flush(&self, within: Duration) {
        let Some(tx) = self.inner.remote.get() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if tx.send(Outbound::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(within, wait).await;
        }
    }

    /// Tells every socket to close (server shutdown).
    pub fn begin_shutdown(&self) {
        self.inner.closing.send_replace(true);
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    pub fn is_closing(&self) -> bool {
        *self.inner.closing.borrow()
    }

    /// Counts an open socket until the guard is dropped.
    pub fn socket_opened(&self) -> SocketGuard {
        self.inner.sockets.send_modify(|n| *n += 1);
        SocketGuard {
            inner: self.inner.clone(),
        }
    }

    /// Counts an open socket unless `max` are open already (checked and
    /// counted in one step, so concurrent upgrades cannot overshoot).
    pub fn try_socket_opened(&self, max: usize) -> Option<SocketGuard> {
        let admitted = self.inner.sockets.send_if_modified(|n| {
            if *n < max {
                *n += 1;
                true
            } else {
                false
            }
        });
        admitted.then(|| SocketGuard {
            inner: self.inner.clone(),
        })
    }

    pub fn open_sockets(&self) -> usize {
        *self.inner.sockets.borrow()
    }

    /// After `begin_shutdown`: waits (at most `within`) for the sockets to
    /// finish their close handshake and for pending notifications to go out.
    pub async fn drain(&self, within: Duration) {
        let mut rx = self.inner.sockets.subscribe();
        let _ = tokio::time::timeout(within, rx.wait_for(|n| *n == 0)).await;
        self.flush(within).await;
    }
}

/// A keyed subscription; unsubscribes when dropped.
#[derive(Debug)]
pub struct Subscription {
    inner: Arc<Inner>,
    key: Key,
    signal: Arc<Notify>,
}

impl Subscription {
    /// Resolves when an event for this key was published since the last call
    /// (or since subscribing). Cancel-safe: a wake-up is never lost.
    pub async fn changed(&self) {
        self.signal.notified().await
    }

    pub fn key(&self) -> Key {
        self.key
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut last = false;
        {
            let mut subs = self.inner.subs();
            if let Some(v) = subs.get_mut(&self.key) {
                v.signals.retain(|n| !Arc::ptr_eq(n, &self.signal));
                if v.signals.is_empty() {
                    subs.remove(&self.key);
                    last = true;
                }
            }
        }
        if last && is_rep(self.key) {
            self.inner.reps.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

fn is_rep(key: Key) -> bool {
    matches!(key, Key::Credential(Side::Sales, _))
}

#[derive(Debug)]
pub struct SocketGuard {
    inner: Arc<Inner>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.inner.sockets.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen_all([PG_CHANNEL, TOUCH_CHANNEL]).await?;
    Ok(l)
}

async fn notify(pool: &PgPool, payload: &str) -> Result<(), String> {
    let q = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(PG_CHANNEL)
        .bind(payload)
        .execute(pool);
    // The acquire is bounded by the pool; this bounds a connection whose peer
    // vanished without a reset.
    match tokio::time::timeout(NOTIFY_TIMEOUT, q).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("NOTIFY timed out".into()),
    }
}

/// The payload of one NOTIFY carrying `events`.
fn payload(origin: u64, events: Vec<Event>) -> String {
    serde_json::to_string(&Wire {
        o: origin,
        e: None,
        es: events,
    })
    .unwrap_or_default()
}

/// Size of an event in a batch's `es` list (its JSON and a comma).
fn wire_len(ev: &Event) -> usize {
    serde_json::to_string(ev).map_or(MAX_PAYLOAD, |s| s.len() + 1)
}

/// The events waiting behind `first`, up to a payload's worth, without
/// waiting for more: under load one NOTIFY carries a burst, so a burst costs
/// the database one round trip instead of one per event, and the last event
/// of a burst does not queue behind the others' round trips. A flush request
/// ends the batch (it is answered once the batch is sent).
fn take_batch(
    first: Event,
    rx: &mut mpsc::UnboundedReceiver<Outbound>,
    held: &mut Option<Outbound>,
) -> Vec<Event> {
    let mut size = wire_len(&first) + 24;
    let mut batch = vec![first];
    while let Ok(out) = rx.try_recv() {
        match out {
            Outbound::Event(Event::Touched) if !batch.is_empty() => {}
            Outbound::Event(ev) => {
                let n = wire_len(&ev);
                if size + n > MAX_PAYLOAD {
                    *held = Some(Outbound::Event(ev));
                    break;
                }
                size += n;
                batch.push(ev);
            }
            flush @ Outbound::Flush(_) => {
                *held = Some(flush);
                break;
            }
        }
    }
    // Any event of another instance tells its receivers that it committed,
    // so `Touched` only travels alone.
    if batch.iter().any(|e| *e != Event::Touched) {
        batch.retain(|e| *e != Event::Touched);
    }
    batch
}

/// Sends events to the other instances, in publish order, a burst per NOTIFY.
/// When a NOTIFY fails (the database is away), its events and every one
/// published after them until the database is back are replaced by one
/// `Resync` sent on recovery: the other instances then re-read everything, so
/// nothing is lost, while the queue stays empty and a flush never waits on a
/// dead database.
async fn notifier(origin: u64, pool: PgPool, mut rx: mpsc::UnboundedReceiver<Outbound>) {
    // Events folded into the owed Resync; 0 when NOTIFY works.
    let mut owed: u64 = 0;
    let mut backoff = BACKOFF_MIN;
    // What the last batch stopped at.
    let mut held: Option<Outbound> = None;
    loop {
        if owed > 0 {
            match notify(&pool, &payload(origin, vec![Event::Resync])).await {
                Ok(()) => {
                    tracing::info!(
                        events = owed,
                        "bus: NOTIFY works again; told the other instances to resync"
                    );
                    owed = 0;
                    backoff = BACKOFF_MIN;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "bus: NOTIFY still failing");
                    let pause = tokio::time::sleep(backoff);
                    tokio::pin!(pause);
                    loop {
                        let out = match held.take() {
                            Some(out) => Some(out),
                            None => tokio::select! {
                                _ = &mut pause => break,
                                out = rx.recv() => out,
                            },
                        };
                        match out {
                            None => return,
                            Some(Outbound::Event(_)) => owed += 1,
                            Some(Outbound::Flush(done)) => {
                                let _ = done.send(());
                            }
                        }
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            continue;
        }
        let out = match held.take() {
            Some(out) => out,
            None => match rx.recv().await {
                Some(out) => out,
                None => return,
            },
        };
        match out {
            Outbound::Flush(done) => {
                let _ = done.send(());
            }
            Outbound::Event(mut ev) => {
                if ev == Event::Touched && held.is_none() {
                    if let Ok(Some(next)) = tokio::time::timeout(TOUCH_WAIT, rx.recv()).await {
                        match next {
                            Outbound::Event(e) => ev = e,
                            flush => held = Some(flush),
                        }
                    }
                }
                let batch = take_batch(ev, &mut rx, &mut held);
                let n = batch.len() as u64;
                let sent = notify(&pool, &payload(origin, batch)).await;
                let result = if sent.is_ok() { "ok" } else { "failed" };
                metrics::counter!(crate::telemetry::BUS_NOTIFIES, "result" => result).increment(1);
                if let Err(e) = sent {
                    tracing::warn!(
                        error = %e,
                        events = n,
                        "bus: NOTIFY failed; retrying, the other instances will resync once it works"
                    );
                    owed = n;
                }
            }
        }
    }
}

/// Delivers the other instances' events. Any loss of the connection ends in a
/// `Resync` once LISTEN is active again. Logs once per state change: lost,
/// retrying, re-established.
async fn listen_loop(inner: Arc<Inner>, pool: PgPool, first: PgListener, changes: Changes) {
    let mut current = Some(first);
    let mut backoff = BACKOFF_MIN;
    // When the connection was lost and how many reconnects failed since.
    let mut outage: Option<(tokio::time::Instant, u32)> = None;
    loop {
        let mut l = match current.take() {
            Some(l) => l,
            None => match connect_listener(&pool).await {
                Ok(l) => {
                    let (since, attempts) =
                        outage.take().unwrap_or((tokio::time::Instant::now(), 0));
                    tracing::info!(
                        down_ms = since.elapsed().as_millis() as u64,
                        failed_attempts = attempts,
                        "bus: LISTEN re-established; resyncing local sockets"
                    );
                    backoff = BACKOFF_MIN;
                    // Resync first: whoever sees the listener connected again
                    // (the read model stops bypassing itself) finds what was
                    // cached before the outage already dropped.
                    inner.deliver(Event::Resync);
                    changes.touched();
                    changes.set_listening(true);
                    inner.listening.store(true, Ordering::Relaxed);
                    l
                }
                Err(e) => {
                    if let Some((_, attempts)) = outage.as_mut() {
                        if *attempts == 0 {
                            tracing::warn!(
                                error = %e,
                                max_backoff_ms = BACKOFF_MAX.as_millis() as u64,
                                "bus: cannot LISTEN; retrying with back-off"
                            );
                        } else {
                            tracing::debug!(error = %e, attempts = *attempts, "bus: cannot LISTEN yet");
                        }
                        *attempts += 1;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            },
        };
        loop {
            match l.try_recv().await {
                Ok(Some(n)) if n.channel() == TOUCH_CHANNEL => changes.touched(),
                Ok(Some(n)) => inner.on_remote(n.payload()),
                // The connection dropped and PgListener already reconnected and
                // re-issued LISTEN: what was sent in between is lost.
                Ok(None) => {
                    tracing::info!(
                        "bus: listener connection lost and re-established; resyncing local sockets"
                    );
                    inner.deliver(Event::Resync);
                    changes.touched();
                }
                Err(e) => {
                    changes.set_listening(false);
                    inner.listening.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "bus: listener connection lost; cross-instance events paused");
                    outage = Some((tokio::time::Instant::now(), 0));
                    break;
                }
            }
        }
        drop(l);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn quick(s: &Subscription) -> bool {
        tokio::time::timeout(Duration::from_millis(50), s.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn keyed_wakeups_reach_only_their_key_and_coalesce() {
        let bus = Bus::new();
        let a = bus.watch(Key::Pair {
            user_id: 1,
            customer_id: 2,
        });
        let b = bus.watch(Key::Pair {
            user_id: 1,
            customer_id: 3,
        });
        let u = bus.watch(Key::User(1));
        for id in 1..=3 {
            bus.publish(Event::MessageCreated {
                id,
                user_id: 1,
                customer_id: 2,
                send_type: SendType::SalesToCustomer,
            });
        }
        assert!(quick(&a).await);
        assert!(!quick(&a).await, "three events coalesce into one wake-up");
        assert!(quick(&u).await);
        assert!(!quick(&b).await);
        bus.publish(Event::Resync);
        assert!(quick(&b).await);
        assert_eq!(bus.subscriber_count(), 3);
        drop(a);
        drop(b);
        assert_eq!(bus.subscriber_count(), 1);
    }

    #[test]
    fn generations_move_with_their_key_only() {
        let bus = Bus::new();
        let user = Key::User(1);
        let pair = Key::Pair {
            user_id: 1,
            customer_id: 2,
        };
        assert_eq!(bus.generation(user), None);
        let u = bus.watch(user);
        let p = bus.watch(pair);
        let (g0, p0) = (bus.generation(user), bus.generation(pair));
        assert!(g0.is_some() && p0.is_some());
        bus.publish(Event::SalesRead {
            user_id: 1,
            customer_id: 2,
            up_to_id: 5,
        });
        let g1 = bus.generation(user);
        assert!(g1 > g0);
        assert_eq!(bus.generation(pair), p0, "a key the event does not concern");
        bus.publish(Event::Resync);
        assert!(bus.generation(user) > g1);
        assert!(bus.generation(pair) > p0);
        drop(u);
        assert_eq!(bus.generation(user), None);
        // A key watched again starts from a number never used before.
        let _u = bus.watch(user);
        assert!(bus.generation(user) > bus.generation(pair));
        drop(p);
    }

    #[test]
    fn wire_format_round_trips() {
        let events = vec![
            Event::CustomerRead {
                user_id: 1,
                customer_id: 2,
                up_to_id: 3,
            },
            Event::Resync,
        ];
        let s = payload(7, events.clone());
        let back: Wire = serde_json::from_str(&s).unwrap_or(Wire {
            o: 0,
            e: None,
            es: Vec::new(),
        });
        assert_eq!(back.o, 7);
        assert_eq!(back.e, None);
        assert_eq!(back.es, events);
    }

    #[test]
    fn earlier_single_event_notifications_are_understood() {
        let bus = Bus::new();
        let pair = Key::Pair {
            user_id: 1,
            customer_id: 2,
        };
        let _p = bus.watch(pair);
        let before = bus.generation(pair);
        bus.inner.on_remote(
            r#"{"o":1,"e":{"t":"CustomerRead","user_id":1,"customer_id":2,"up_to_id":3}}"#,
        );
        assert!(bus.generation(pair) > before);
    }

    #[test]
    fn every_event_of_a_batch_is_delivered_and_the_own_echo_none() {
        let bus = Bus::new();
        let keys = [1, 2, 3].map(|c| Key::Pair {
            user_id: 1,
            customer_id: c,
        });
        let _subs: Vec<_> = keys.iter().map(|k| bus.watch(*k)).collect();
        let before: Vec<_> = keys.iter().map(|k| bus.generation(*k)).collect();
        let batch = |customers: &[i64]| {
            customers
                .iter()
                .map(|&customer_id| Event::CustomerRead {
                    user_id: 1,
                    customer_id,
                    up_to_id: 9,
                })
                .collect::<Vec<_>>()
        };
        bus.inner
            .on_remote(&payload(bus.inner.origin, batch(&[1, 2, 3])));
        let echoed: Vec<_> = keys.iter().map(|k| bus.generation(*k)).collect();
        assert_eq!(echoed, before, "an instance ignores its own notifications");
        bus.inner
            .on_remote(&payload(bus.inner.origin ^ 1, batch(&[1, 3])));
        let after: Vec<_> = keys.iter().map(|k| bus.generation(*k)).collect();
        assert!(after[0] > before[0] && after[2] > before[2]);
        assert_eq!(after[1], before[1]);
    }

    #[test]
    fn a_touch_moves_the_epoch_wakes_nobody_and_rides_once_per_batch() {
        let bus = Bus::new();
        let changes = Changes::postgres();
        let _ = bus.inner.changes.set(changes.clone());
        changes.set_listening(true);
        let key = Key::User(1);
        let _sub = bus.watch(key);
        let (generation, epoch) = (bus.generation(key), changes.epoch());
        let mut all = bus.subscribe();
        bus.inner
            .on_remote(&payload(bus.inner.origin ^ 1, vec![Event::Touched]));
        assert!(changes.epoch() > epoch, "a remote commit moves the epoch");
        assert_eq!(bus.generation(key), generation, "nobody is woken");
        assert!(all.try_recv().is_err(), "nor told");
        let epoch = changes.epoch();
        bus.inner
            .on_remote(&payload(bus.inner.origin ^ 1, vec![Event::Resync]));
        assert!(changes.epoch() > epoch, "a resync moves it too");

        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..5 {
            let _ = tx.send(Outbound::Event(Event::Touched));
        }
        let _ = tx.send(Outbound::Event(Event::Resync));
        let _ = tx.send(Outbound::Event(Event::Touched));
        let batch = take_batch(Event::Touched, &mut rx, &mut None);
        assert_eq!(
            batch,
            vec![Event::Resync],
            "another event carries the touch"
        );
        let _ = tx.send(Outbound::Event(Event::Touched));
        let batch = take_batch(Event::Touched, &mut rx, &mut None);
        assert_eq!(batch, vec![Event::Touched], "alone, once");
        let epoch = changes.epoch();
        bus.inner.on_remote(&payload(
            bus.inner.origin ^ 1,
            vec![Event::ContactChanged {
                user_id: 1,
                customer_id: 2,
            }],
        ));
        assert!(changes.epoch() > epoch, "any remote event moves the epoch");
    }

    #[test]
    fn a_burst_is_cut_into_payloads_postgres_accepts() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let ev = |id| Event::MessageCreated {
            id,
            user_id: i64::MAX,
            customer_id: i64::MAX,
            send_type: SendType::SalesToCustomer,
        };
        for id in 1..=500 {
            let _ = tx.send(Outbound::Event(ev(id)));
        }
        let (done, _wait) = oneshot::channel();
        let _ = tx.send(Outbound::Flush(done));
        let mut held = None;
        let mut sent = Vec::new();
        let mut first = Some(ev(0));
        while let Some(f) = first.take() {
            let batch = take_batch(f, &mut rx, &mut held);
            let p = payload(1, batch.clone());
            assert!(p.len() < 8000, "payload of {} bytes", p.len());
            sent.extend(batch);
            first = match held.take() {
                Some(Outbound::Event(e)) => Some(e),
                Some(Outbound::Flush(_)) => None,
                None => None,
            };
        }
        let ids: Vec<i64> = sent
            .iter()
            .filter_map(|e| match e {
                Event::MessageCreated { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            (0..=500).collect::<Vec<_>>(),
            "every event once, in order"
        );
        assert!(rx.try_recv().is_err(), "the flush ended the last batch");
    }
}
