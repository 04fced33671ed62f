//! One live socket for a page, with one reconnect policy for every socket of
//! the UI (the rep's chat and inbox, the customer's chat, both unread counts).
//!
//! A page describes its socket ([`LivePage`]): the path, how to read a frame,
//! what `register` carries, and what to do before connecting (catch up over
//! REST, which is also what it does while polling). [`run`] then keeps it
//! live until the page goes away:
//!
//! * offline (the browser says so): wait, and report [`Link::Offline`];
//! * before every connection: the page's `prepare`; if that fails, back off
//!   (1 s doubling to 15 s, each wait up to half again at random, so that the
//!   pages a restart cut off do not all return at once) and report
//!   [`Link::Reconnecting`];
//! * a socket that does not register within 5 s (the server has none, or
//!   refuses it) is given up for 30 s, during which the page polls with
//!   `prepare` every `poll_ms` ([`Link::Polling`]);
//! * while registered: a signed `lived` every 25 s, the page's `tick` every
//!   250 ms; a refusal the page calls fatal, a close, going offline or a kick
//!   end the connection, and a live one is reopened after 300–450 ms.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use super::client::{self, Creds, Frame, Socket};
use crate::api::chat::{ClientFrame, CountUpdate, FrameCreds, FrameType};
use crate::api::Refusal;

/// A socket must register within this long, or the page polls instead.
const REGISTER_WITHIN_MS: i64 = 5_000;
/// How long the page polls before trying an unregistered socket again.
const SOCKET_RETRY_MS: i64 = 30_000;
/// Keep-alive interval.
const LIVED_EVERY_MS: i64 = 25_000;
/// The longest wait for a frame, so that `tick` runs promptly.
const TICK_MS: i32 = 250;
/// Back-off of a failing `prepare`: doubles from the first to the last.
const BACKOFF_FIRST_MS: i32 = 1_000;
const BACKOFF_MAX_MS: i32 = 15_000;
/// Pause before reopening a socket that was live.
const REOPEN_MS: i32 = 300;
/// How often an offline page looks whether it is back.
const OFFLINE_CHECK_MS: i32 = 500;

/// The state of a page's live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Live,
    Polling,
    Offline,
    Reconnecting,
}

/// What a frame means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The socket is registered (it delivers).
    Registered,
    Continue,
    /// The server refused the socket: end this connection.
    Drop,
}

/// Stops or restarts a page's socket from outside the loop.
#[derive(Clone)]
pub struct LiveHandle {
    alive: Arc<AtomicBool>,
    kicks: Arc<AtomicU32>,
}

impl Default for LiveHandle {
    fn default() -> Self {
        LiveHandle {
            alive: Arc::new(AtomicBool::new(true)),
            kicks: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl LiveHandle {
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
    /// The page went away: the loop ends.
    pub fn stop(&self) {
        self.alive.store(false, Ordering::Relaxed);
    }
    /// Drops the current connection; the page reconnects and catches up.
    pub fn kick(&self) {
        self.kicks.fetch_add(1, Ordering::Relaxed);
    }
    fn kicks(&self) -> u32 {
        self.kicks.load(Ordering::Relaxed)
    }
}

/// Sends frames on the open socket, signed.
pub struct Sender<'a> {
    ws: &'a mut Socket,
    creds: &'a Creds,
}

impl Sender<'_> {
    pub async fn send(&mut self, frame: ClientFrame) -> bool {
        self.ws.send(&signed(self.creds, frame)).await
    }
}

/// `frame` with the credentials of a request made now.
pub fn signed(creds: &Creds, frame: ClientFrame) -> ClientFrame {
    let ts = client::now_ms().to_string();
    ClientFrame {
        creds: Some(FrameCreds {
            user_id: creds.user_id,
            rand_str: crate::sign::rand_str(&ts, &creds.token),
            timestamp: ts,
        }),
        ..frame
    }
}

/// A page's side of a socket.
#[allow(async_fn_in_trait)]
pub trait LivePage {
    type Frame;
    /// The socket's path under `/zhugeleida/`.
    fn path(&self) -> &'static str;
    fn parse(&self, text: &str) -> Result<Self::Frame, String>;
    /// The `register` frame, without credentials.
    fn register(&self) -> ClientFrame;
    /// Before every connection, and every `poll_ms` while polling.
    async fn prepare(&self, _creds: &Creds) -> Result<(), String> {
        Ok(())
    }
    fn poll_ms(&self) -> i32;
    /// A new connection opened (per-connection state starts over).
    fn on_open(&self) {}
    fn on_frame(&self, frame: Self::Frame) -> Verdict;
    /// Every 250 ms while registered.
    async fn tick(&self, _tx: &mut Sender<'_>) {}
    /// The connection ended.
    fn on_close(&self) {}
    fn on_link(&self, link: Link);
}

/// Keeps `page`'s socket live until `handle` stops it.
pub async fn run<P: LivePage>(page: P, creds: Creds, handle: LiveHandle) {
    let mut backoff = BACKOFF_FIRST_MS;
    let mut socket_missing_until = 0i64;
    while handle.alive() {
        if !client::online() {
            page.on_link(Link::Offline);
            client::sleep(OFFLINE_CHECK_MS).await;
            continue;
        }
        if page.prepare(&creds).await.is_err() {
            page.on_link(Link::Reconnecting);
            client::sleep(client::jitter(backoff)).await;
            backoff = (backoff * 2).min(BACKOFF_MAX_MS);
            continue;
        }
        if client::now_ms() < socket_missing_until {
            page.on_link(Link::Polling);
            client::sleep(page.poll_ms()).await;
            continue;
        }
        let Some(mut ws) = Socket::open(&creds, page.path()) else {
            socket_missing_until = client::now_ms() + SOCKET_RETRY_MS;
            continue;
        };
        page.on_open();
        let registered = connected(&page, &creds, &handle, &mut ws).await;
        ws.close();
        page.on_close();
        if !handle.alive() {
            return;
        }
        if registered {
            backoff = BACKOFF_FIRST_MS;
            page.on_link(if client::online() {
                Link::Reconnecting
            } else {
                Link::Offline
            });
            client::sleep(client::jitter(REOPEN_MS)).await;
        } else {
            // The server has no such socket (or refused it): keep the page
            // current by polling, and try the socket again later.
            socket_missing_until = client::now_ms() + SOCKET_RETRY_MS;
            page.on_link(Link::Polling);
        }
    }
}

/// One connection, from `register` until it ends; whether it registered.
async fn connected<P: LivePage>(
    page: &P,
    creds: &Creds,
    handle: &LiveHandle,
    ws: &mut Socket,
) -> bool {
    let kicks = handle.kicks();
    let opened = client::now_ms();
    let mut last_lived = opened;
    let mut registered = false;
    let _ = ws.send(&signed(creds, page.register())).await;
    loop {
        if !handle.alive() || !client::online() || handle.kicks() != kicks {
            return registered;
        }
        if registered {
            page.tick(&mut Sender { ws, creds }).await;
        }
        match ws.next(TICK_MS).await {
            Frame::Text(t) => match page.parse(&t) {
                Ok(f) => match page.on_frame(f) {
                    Verdict::Registered => {
                        if !registered {
                            registered = true;
                            page.on_link(Link::Live);
                        }
                    }
                    Verdict::Continue => {}
                    Verdict::Drop => return registered,
                },
                Err(why) => leptos::logging::warn!("unexpected frame on {}: {why}", page.path()),
            },
            Frame::Timeout => {
                let now = client::now_ms();
                if now - last_lived >= LIVED_EVERY_MS {
                    last_lived = now;
                    let _ = ws
                        .send(&signed(creds, ClientFrame::of(FrameType::Lived)))
                        .await;
                }
                if !registered && now - opened >= REGISTER_WITHIN_MS {
                    return false;
                }
            }
            Frame::Closed => return registered,
        }
    }
}

/// An unread-count socket (`leida_query_info_num`, `gongzhonghao_query_info_num`):
/// every count goes to `set`; `set_live` tells whether counts arrive live,
/// and while they do not, the page's own REST poll keeps the count right.
pub struct CountPage<S, L> {
    pub path: &'static str,
    pub register: ClientFrame,
    pub parse: fn(&str) -> Result<CountUpdate, String>,
    pub set: S,
    pub set_live: L,
}

impl<S: Fn(i64), L: Fn(bool)> LivePage for CountPage<S, L> {
    type Frame = CountUpdate;
    fn path(&self) -> &'static str {
        self.path
    }
    fn parse(&self, text: &str) -> Result<CountUpdate, String> {
        (self.parse)(text)
    }
    fn register(&self) -> ClientFrame {
        self.register.clone()
    }
    fn poll_ms(&self) -> i32 {
        // Nothing to poll here: the socket is only retried.
        SOCKET_RETRY_MS as i32
    }
    fn on_frame(&self, frame: CountUpdate) -> Verdict {
        match frame {
            CountUpdate::Count(n) => {
                (self.set)(n);
                Verdict::Registered
            }
            CountUpdate::Lived => Verdict::Continue,
            CountUpdate::Refused(r) => fatal(&r),
        }
    }
    fn on_link(&self, link: Link) {
        (self.set_live)(link == Link::Live);
    }
}

/// A refusal after which the server closes the socket (credentials, relation);
/// others (a bad field) leave it open.
pub fn fatal(r: &Refusal) -> Verdict {
    if r.code == 400 || r.code == 307 {
        Verdict::Drop
    } else {
        Verdict::Continue
    }
}
