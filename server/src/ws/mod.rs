//! The WebSocket endpoints (API doc "wocket" sections, semantics §5, §6, §10.7,
//! contract §4).
//!
//! One task per socket runs a single `select!` loop over: server shutdown, a
//! wake-up from the bus, the next client frame, and the ping timer. Nothing is
//! queued per socket: a wake-up makes the socket read from the database
//! everything newer than what it has already sent (`last_sent_id`), so pushes
//! survive lag, duplicate events and lost notifications alike. Frames are
//! processed one at a time; an acknowledgement is sent only after the service
//! layer committed.
//!
//! This module is the transport: what a socket is sent, and which reads its
//! deliveries mark, is `service::chat`'s (`Reader` for both chat sockets,
//! `UnreadFeed`, and `RepFeed` whose badge and inbox page a rep's sockets
//! share). Every frame is one of the types of `app::api::chat`, error frames
//! are `Refusal`s:
//! * `gongzhonghao_chat` (`chat.rs`, customer side): `register` → `Signal` 199, then
//!   `CustomerPush` frames; a send → `SendAck`; `query_num` → `CountFrame`;
//! * `leida_chat` (`chat.rs`, rep side): `register` → `Signal` 199, then
//!   `SalesPush` frames and `Receipt`s (202);
//! * `gongzhonghao_query_info_num` (`count.rs`): `CustomerCountFrame` on
//!   `register`, `query_num` and every change;
//! * `leida_query_info_num` (`count.rs`): `CountFrame` likewise;
//! * `leida_query_contact_list` (`inbox.rs`): `InboxFrame`, or `InboxPartFrame`s.
//!
//! No frame the server sends exceeds 64 KiB (`MAX_PUSH_BYTES`). Chat pushes
//! are split into several frames of the usual shape; a contact-list page that
//! would be larger goes out as parts: each frame has the page's keys, a slice
//! of `ret_data` (in order) and `"part": i, "parts": n` (a frame without them is
//! a whole page).
//!
//! Frames every socket answers (after authentication):
//! * `lived` → `{"code":270,"msg":"为了新中国的胜利向我开炮"}`; `closed` → Close frame 1000.
//!
//! Error frames (all sockets):
//! * not JSON / not an object → `{"code":400,"msg":"报错:<reason> 终止连接"}`, close 1007;
//! * no or bad credentials, or credentials / `user_id` of another user →
//!   `{"code":400,"msg":"公众号token验证未通过"|"雷达token验证未通过","note":{"reason":…}}`, close 1008;
//! * `register` without the other party's id → `{"code":401,"msg":"user_id和uid不能为空,终止连接"}`, close 1008;
//! * no relation → `{"code":307,"msg":"用户-客户关系不存在"}` (close 1008 on `register`);
//! * non-numeric ids, invalid content, a NUL character (U+0000) in any field,
//!   unknown or missing `type` →
//!   `{"code":402,"msg":"请求异常","data":{<field>:[{"message","code"}]}}`, the socket stays open;
//! * a send over the principal's write budget (shared with REST, contract §6) →
//!   `{"code":429,"msg":"请求过于频繁","data":{"retry_after":s}}`, the socket stays open;
//! * other frames beyond the per-socket flood guard (a burst of 60, 20/s: far
//!   above any real client) → `{"code":429,"msg":"请求过于频繁,终止连接"}`, close 1008;
//! * not authenticated (upgrade URL or a signed frame) within `RADAR_WS_AUTH_TIMEOUT_SECS`
//!   (10 s) → the 400 frame above, close 1008;
//! * over `RADAR_MAX_SOCKETS` open sockets → the upgrade answers HTTP 503 with the envelope;
//! * a frame over 64 KiB → close 1009; a database failure → `{"code":500,…}`, close 1011
//!   (the client reconnects with `after_id` and loses nothing).

mod chat;
mod count;
mod inbox;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use app::api::chat::Signal;
use app::api::{Empty, Envelope, ErrorData, Note, Refusal, Side};
use app::domain::FieldErrors;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::Value;
use tokio::time::{timeout, Instant, MissedTickBehavior};

use crate::auth::{verify_token, Credentials};
use crate::bus::{Key, SocketGuard, Subscription};
use crate::error::{ApiError, Error};
use crate::extract::{parse_id, Fields};
use crate::telemetry::{Principal, WsGauge};
use crate::AppState;

/// Bytes read from the network at a time. The tungstenite default (128 KiB)
/// is allocated per connection up front; client frames are small JSON, so
/// 4 KiB keeps an idle socket cheap and a large frame just takes more reads.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Outgoing bytes collected before they are written to the network. Every
/// push is flushed at once anyway, so a large buffer would only cost memory.
pub const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// Upper bound of unsent bytes (when the client does not read). It must hold
/// the write buffer plus one whole frame, and one message item alone may be
/// close to 64 KiB (the request body limit), so a push batch is capped below it.
pub const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Largest accepted client message and frame (contract §5); larger → close 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub use crate::service::chat::deliver::{BATCH, MAX_PUSH_BYTES, PUSH_SOFT_BYTES};
/// How often the server pings. A client that has not answered (or sent
/// anything) by the next ping is considered dead and reaped, so a vanished
/// client holds its socket for at most two intervals. Overridable with
/// `RADAR_WS_PING_SECS` (tests use 1 s).
pub const PING_INTERVAL: Duration = crate::edge::DEFAULT_WS_PING;
/// A client that does not take a frame within this time is dropped, so a
/// stalled reader cannot pin the task (and its buffers) forever.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's Close reply after ours.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Flood guard for frames other than sends (those have the write budget), a
/// token bucket per socket: a UI sends a few frames per user action plus a
/// heartbeat, so a burst of 60 refilled at 20 per second is never hit by a
/// real client, while a flood is cut off within a fraction of a second.
pub const FLOOD_BURST: f64 = 60.0;
pub const FLOOD_PER_SEC: f64 = 20.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CustomerChat,
    CustomerNum,
    SalesChat,
    SalesBadge,
    SalesContacts,
}

impl Kind {
    /// Who authenticates on this endpoint.
    fn party(self) -> Side {
        match self {
            Kind::CustomerChat | Kind::CustomerNum => Side::Customer,
            Kind::SalesChat | Kind::SalesBadge | Kind::SalesContacts => Side::Sales,
        }
    }

    /// The `feed` label of `radar_ws_connections`.
    fn feed(self) -> &'static str {
        match self {
            Kind::CustomerChat => "customer_chat",
            Kind::CustomerNum => "customer_num",
            Kind::SalesChat => "sales_chat",
            Kind::SalesBadge => "sales_badge",
            Kind::SalesContacts => "sales_contacts",
        }
    }
}

pub fn routes(t: &mut crate::rest::Routes) {
    t.route(
        "/gongzhonghao/websocket/gongzhonghao_chat",
        any(|s, p, w, q| upgrade(Kind::CustomerChat, s, p, w, q)),
    )
    .route(
        "/gongzhonghao/websocket/gongzhonghao_query_info_num",
        any(|s, p, w, q| upgrade(Kind::CustomerNum, s, p, w, q)),
    )
    .route(
        "/qiyeweixin/websocket/leida_chat",
        any(|s, p, w, q| upgrade(Kind::SalesChat, s, p, w, q)),
    )
    .route(
        "/qiyeweixin/websocket/leida_query_info_num",
        any(|s, p, w, q| upgrade(Kind::SalesBadge, s, p, w, q)),
    )
    .route(
        "/qiyeweixin/websocket/leida_query_contact_list",
        any(|s, p, w, q| upgrade(Kind::SalesContacts, s, p, w, q)),
    );
}

/// Credentials in the upgrade URL are checked before upgrading, but a failure
/// is still reported over the socket (error frame + close): browsers hide the
/// HTTP status of a refused upgrade from scripts.
async fn upgrade(
    kind: Kind,
    State(st): State<AppState>,
    principal: Option<Extension<Principal>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let Ok(ws) = ws else {
        let env = Envelope::new(402, "请求异常", Empty {})
            .with_note(Note::reason("WebSocket upgrade required"));
        return Json(env).into_response();
    };
    // Counted from here, so that upgrades in flight count against the cap too.
    let Some(slot) = st.bus.try_socket_opened(st.config.net.max_sockets) else {
        tracing::warn!(max = st.config.net.max_sockets, "socket cap reached");
        return crate::edge::envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            "连接数已达上限,请稍后重试",
        );
    };
    let pre = match q.as_deref().map(Fields::parse_urlencoded) {
        None => None,
        Some(Err(_)) => Some(Err(Error::Auth("query string unreadable"))),
        Some(Ok(f)) => {
            let c = Credentials::from_fields(&f);
            if c.is_present() {
                let v = verify_token(&st, kind.party(), &c).await;
                if let (Ok((id, _)), Some(Extension(p))) = (&v, &principal) {
                    p.set(kind.party(), *id);
                }
                Some(v)
            } else {
                None
            }
        }
    };
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(st, socket, kind, pre, slot))
}

/// The socket is done (closed, or closing was attempted).
#[derive(Debug)]
pub(crate) struct Stop;
pub(crate) type Step = Result<(), Stop>;

type BoxStep<'a> = Pin<Box<dyn Future<Output = Step> + Send + 'a>>;

/// Per-socket frame budget.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            tokens: FLOOD_BURST,
            last: Instant::now(),
        }
    }
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * FLOOD_PER_SEC;
        self.tokens = (self.tokens + refill).min(FLOOD_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One connection: the socket, who it is, and its limits.
pub(crate) struct Conn {
    pub st: AppState,
    socket: WebSocket,
    party: Side,
    /// The authenticated customer or sales user id.
    pub auth: Option<i64>,
    /// The token `auth` was proven with, and a wake-up when it is rotated.
    cred: Option<(Arc<str>, Subscription)>,
    bucket: Bucket,
    awaiting_pong: bool,
}

/// What an id field of a frame holds.
pub(crate) enum Id {
    Missing,
    Bad,
    Ok(i64),
}

pub(crate) fn id_field(f: &Fields, key: &str) -> Id {
    match f.trimmed(key) {
        None => Id::Missing,
        Some(s) => parse_id(&s).map(Id::Ok).unwrap_or(Id::Bad),
    }
}

/// An error frame with nothing in `data` and `note`.
fn plain(code: i64, msg: impl Into<app::api::Msg>) -> Refusal {
    Envelope::new(code, msg, ErrorData::default()).with_note(Note::default())
}

fn field_errors(field: &str, message: &str, code: &str) -> Refusal {
    let errs = FieldErrors::single(field, message, code);
    Envelope::new(402, "请求异常", ErrorData::Fields(errs)).with_note(Note::default())
}

impl Conn {
    /// Sends one JSON frame; a client that does not take it in time is dropped.
    pub async fn send<T: Serialize + ?Sized>(&mut self, frame: &T) -> Step {
        // The frames are plain data: serializing them cannot fail.
        let Ok(text) = serde_json::to_string(frame) else {
            return Err(Stop);
        };
        match timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop),
        }
    }

    /// Sends a Close frame and waits briefly for the client's reply, so that the
    /// connection ends with a handshake instead of a reset (which could discard
    /// the last frames before the client reads them).
    pub async fn close(&mut self, code: u16, reason: &'static str) -> Stop {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        if let Ok(Ok(())) = timeout(SEND_TIMEOUT, self.socket.send(frame)).await {
            let _ = timeout(CLOSE_GRACE, async {
                while let Some(Ok(m)) = self.socket.recv().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        Stop
    }

    /// An error frame, then close.
    pub async fn fail(&mut self, frame: &Refusal, code: u16) -> Stop {
        if self.send(frame).await.is_ok() {
            self.close(code, "").await
        } else {
            Stop
        }
    }

    pub async fn auth_failed(&mut self, reason: &'static str) -> Stop {
        let msg = match self.party {
            Side::Customer => "公众号token验证未通过",
            Side::Sales => "雷达token验证未通过",
        };
        let frame = plain(400, msg).with_note(Note::reason(reason));
        self.fail(&frame, close_code::POLICY).await
    }

    /// `register` without the other party's id (the original's 401).
    pub async fn missing_ids(&mut self) -> Stop {
        let frame = plain(401, "user_id和uid不能为空,终止连接");
        self.fail(&frame, close_code::POLICY).await
    }

    /// Takes one write from the principal's budget, shared with REST. Over
    /// it, the 429 frame goes out, the socket stays open, and `false` says
    /// the write must not happen.
    pub async fn write_allowed(&mut self, id: i64) -> Result<bool, Stop> {
        match self.st.writes.charge(self.party, id) {
            Ok(()) => Ok(true),
            Err(e) => self.reply_error(e).await.map(|()| false),
        }
    }

    /// A field-error frame; the socket stays open.
    pub async fn bad_field(&mut self, field: &str, message: &str) -> Step {
        self.send(&field_errors(field, message, "invalid")).await
    }

    pub async fn unknown_type(&mut self, ty: Option<&str>) -> Step {
        match ty {
            None => {
                self.send(&field_errors("type", "type不能为空", "required"))
                    .await
            }
            Some(t) => {
                // The echo is cut: a reply must stay small whatever was sent.
                let t = app::domain::cut_chars(t, 64);
                self.send(&field_errors(
                    "type",
                    &format!("未知的消息类型: {t}"),
                    "invalid",
                ))
                .await
            }
        }
    }

    fn error_frame(e: &Error) -> Refusal {
        let (_, env) = ApiError {
            error: clone_error(e),
            style: crate::error::IN_DATA_402,
        }
        .envelope();
        env
    }

    /// Reports a service error on a frame; the socket stays open unless the
    /// error is a database failure or an authentication failure.
    pub async fn reply_error(&mut self, e: Error) -> Step {
        match e {
            Error::Auth(reason) => Err(self.auth_failed(reason).await),
            Error::Db(_) | Error::Internal(_) => Err(self.fatal(e).await),
            other => self.send(&Self::error_frame(&other)).await,
        }
    }

    /// Reports an error and closes: 307 (no relation) → 1008, anything else → 1011.
    pub async fn fatal(&mut self, e: Error) -> Stop {
        match e {
            Error::Auth(reason) => self.auth_failed(reason).await,
            Error::NoRelation
            | Error::Fields(_)
            | Error::NoData
            | Error::BadRequest
            | Error::BodyTooLarge
            | Error::UnknownContactOperation
            | Error::UnknownOperation
            | Error::NoSuchTag => self.fail(&Self::error_frame(&e), close_code::POLICY).await,
            other => {
                let frame = Self::error_frame(&other);
                self.fail(&frame, close_code::ERROR).await
            }
        }
    }

    /// Unwraps a service result, or reports the error and stops.
    pub async fn check<T>(&mut self, r: Result<T, Error>) -> Result<T, Stop> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.fatal(e).await),
        }
    }

    /// The authenticated id; frames reach the feeds only after authentication.
    pub fn who(&self) -> Result<i64, Stop> {
        self.auth.ok_or(Stop)
    }

    /// Credentials in the frame are verified (and must name the user already
    /// authenticated, if any); without them the connection must already be
    /// authenticated, and a `user_id` in the frame must be that user.
    async fn authenticate(&mut self, f: &Fields) -> Step {
        let creds = Credentials::from_fields(f);
        if creds.is_present() {
            return match verify_token(&self.st, self.party, &creds).await {
                Ok((id, token)) if self.auth.is_none_or(|a| a == id) => {
                    self.authenticated(id, token);
                    Ok(())
                }
                Ok(_) => Err(self
                    .auth_failed("credentials of another user than the connection's")
                    .await),
                Err(Error::Auth(reason)) => Err(self.auth_failed(reason).await),
                Err(e) => Err(self.fatal(e).await),
            };
        }
        match self.auth {
            None => Err(self
                .auth_failed("not authenticated: sign the upgrade URL or the register frame")
                .await),
            Some(a) => match f.trimmed("user_id") {
                Some(u) if parse_id(&u) != Some(a) => Err(self
                    .auth_failed("user_id is not the authenticated user")
                    .await),
                _ => Ok(()),
            },
        }
    }

    fn authenticated(&mut self, id: i64, token: Arc<str>) {
        self.auth = Some(id);
        match &mut self.cred {
            Some((t, _)) => *t = token,
            None => {
                let sub = self.st.bus.watch(Key::Credential(self.party, id));
                self.cred = Some((token, sub));
            }
        }
    }

    /// A rotated token ends the session (contract §6 "Rotation"): the socket
    /// gets the authentication error frame and is closed (1008). The cache was
    /// already cleared by the event that woke us, so this reads the new token.
    async fn recheck_token(&mut self) -> Step {
        let (Some(id), Some((token, _))) = (self.auth, &self.cred) else {
            return Ok(());
        };
        let token = token.clone();
        match crate::auth::token_of(&self.st, self.party, id).await {
            Ok(Some(now)) if now == token => Ok(()),
            Ok(_) => Err(self.auth_failed("token rotated").await),
            Err(e) => Err(self.fatal(e).await),
        }
    }

    async fn on_tick(&mut self) -> Step {
        if self.awaiting_pong {
            return Err(self.close(close_code::AWAY, "ping timeout").await);
        }
        self.awaiting_pong = true;
        match timeout(
            SEND_TIMEOUT,
            self.socket.send(Message::Ping(Default::default())),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop),
        }
    }
}

/// `Error` is not `Clone` (it wraps `sqlx::Error`); frames only need its shape.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Auth(r) => Error::Auth(r),
        Error::Fields(f) => Error::Fields(f.clone()),
        Error::NoRelation => Error::NoRelation,
        Error::NoData => Error::NoData,
        Error::BadRequest => Error::BadRequest,
        Error::BodyTooLarge => Error::BodyTooLarge,
        Error::UnknownContactOperation => Error::UnknownContactOperation,
        Error::UnknownOperation => Error::UnknownOperation,
        Error::NoSuchTag => Error::NoSuchTag,
        Error::NotFound => Error::NotFound,
        // Still an outage (logged as such), not an internal error.
        Error::Db(e) if crate::db::is_unavailable(e) => {
            Error::Db(sqlx::Error::Io(std::io::Error::other(e.to_string())))
        }
        Error::RateLimited { retry_after } => Error::RateLimited {
            retry_after: *retry_after,
        },
        Error::Db(e) => Error::Internal(e.to_string()),
        Error::Internal(m) => Error::Internal(m.clone()),
    }
}

/// Resolves when the credential may have been rotated (never before authentication).
async fn cred_changed(cred: &Option<(Arc<str>, Subscription)>) {
    match cred {
        Some((_, sub)) => sub.changed().await,
        None => std::future::pending().await,
    }
}

/// The endpoint-specific part of a socket.
enum Feed {
    Chat(chat::Chat),
    Unread(count::Unread),
    Badge(count::Badge),
    Inbox(inbox::Inbox),
}

impl Feed {
    fn new(kind: Kind) -> Feed {
        match kind {
            Kind::CustomerChat => Feed::Chat(chat::Chat::new(Side::Customer)),
            Kind::SalesChat => Feed::Chat(chat::Chat::new(Side::Sales)),
            Kind::CustomerNum => Feed::Unread(count::Unread::default()),
            Kind::SalesBadge => Feed::Badge(count::Badge::default()),
            Kind::SalesContacts => Feed::Inbox(inbox::Inbox::default()),
        }
    }

    /// Resolves when what the feed shows may have changed (never before `register`).
    async fn changed(&self) {
        match self {
            Feed::Chat(f) => f.changed().await,
            Feed::Unread(f) => f.changed().await,
            Feed::Badge(f) => f.changed().await,
            Feed::Inbox(f) => f.changed().await,
        }
    }

    // The work futures are boxed: they hold database queries and are large,
    // while an idle socket only needs the small loop state.
    fn on_wake<'a>(&'a mut self, c: &'a mut Conn) -> BoxStep<'a> {
        match self {
            Feed::Chat(f) => Box::pin(f.catch_up(c)),
            Feed::Unread(f) => Box::pin(f.refresh(c)),
            Feed::Badge(f) => Box::pin(f.refresh(c)),
            Feed::Inbox(f) => Box::pin(f.refresh(c)),
        }
    }

    /// A frame that sends a message (charged to the write budget).
    fn is_send(&self, ty: Option<&str>, f: &Fields) -> bool {
        matches!(self, Feed::Chat(x) if x.side() == Side::Customer) && chat::is_send(ty, f)
    }

    fn on_frame<'a>(
        &'a mut self,
        c: &'a mut Conn,
        ty: Option<&'a str>,
        f: &'a Fields,
    ) -> BoxStep<'a> {
        match self {
            Feed::Chat(x) => Box::pin(x.on_frame(c, ty, f)),
            Feed::Unread(x) => Box::pin(x.on_frame(c, ty, f)),
            Feed::Badge(x) => Box::pin(x.on_frame(c, ty, f)),
            Feed::Inbox(x) => Box::pin(x.on_frame(c, ty, f)),
        }
    }
}

fn is_too_big(e: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    matches!(
        e.into_inner().downcast_ref::<WsError>(),
        Some(WsError::Capacity(_))
    )
}

async fn on_message(
    c: &mut Conn,
    feed: &mut Feed,
    m: Option<Result<Message, axum::Error>>,
) -> Step {
    let msg = match m {
        None => return Err(Stop),
        Some(Err(e)) => {
            return if is_too_big(e) {
                Err(c.close(close_code::SIZE, "frame too large").await)
            } else {
                Err(Stop)
            };
        }
        Some(Ok(msg)) => msg,
    };
    c.awaiting_pong = false;
    let bytes = match msg {
        Message::Pong(_) => return Ok(()),
        Message::Close(_) => {
            // tungstenite queued the Close reply; flush it.
            let _ = timeout(CLOSE_GRACE, futures_util::SinkExt::close(&mut c.socket)).await;
            return Err(Stop);
        }
        Message::Text(t) => t.as_str().as_bytes().to_vec(),
        Message::Binary(b) => b.to_vec(),
        _ => return Ok(()),
    };
    let f = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Fields(m),
        Ok(_) => {
            let frame = plain(400, "报错:frame is not a JSON object 终止连接");
            return Err(c.fail(&frame, close_code::INVALID).await);
        }
        Err(e) => {
            let frame = plain(400, format!("报错:{e} 终止连接"));
            return Err(c.fail(&frame, close_code::INVALID).await);
        }
    };
    drop(bytes);
    let ty = f.trimmed("type");
    // Sends are paced by the write budget, which answers 429 and keeps the
    // socket open; only the other frames count against the flood guard.
    if !feed.is_send(ty.as_deref(), &f) && !c.bucket.take() {
        let frame = plain(429, "请求过于频繁,终止连接");
        return Err(c.fail(&frame, close_code::POLICY).await);
    }
    c.authenticate(&f).await?;
    let f = match f.refuse_nul() {
        Ok(f) => f,
        Err(e) => return c.reply_error(e).await,
    };
    match ty.as_deref() {
        Some("lived") => c.send(&Signal::lived()).await,
        Some("closed") => Err(c.close(close_code::NORMAL, "closed").await),
        t => feed.on_frame(c, t, &f).await,
    }
}

async fn run(
    st: AppState,
    socket: WebSocket,
    kind: Kind,
    pre: Option<Result<(i64, Arc<str>), Error>>,
    _slot: SocketGuard,
) {
    let _gauge = WsGauge::open(kind.feed());
    let mut closing = st.bus.closing();
    let auth_deadline = tokio::time::sleep(st.config.net.ws_auth_timeout);
    tokio::pin!(auth_deadline);
    let mut c = Conn {
        st,
        socket,
        party: kind.party(),
        auth: None,
        cred: None,
        bucket: Bucket::new(),
        awaiting_pong: false,
    };
    match pre {
        Some(Ok((id, token))) => c.authenticated(id, token),
        Some(Err(e)) => {
            let _ = c.fatal(e).await;
            return;
        }
        None => {}
    }
    let mut feed = Feed::new(kind);
    let period = c.st.config.net.ws_ping;
    let mut ping = tokio::time::interval_at(Instant::now() + period, period);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        if *closing.borrow_and_update() {
            let _ = c.close(close_code::AWAY, "server shutting down").await;
            return;
        }
        // Shutdown first; then pushes before frames, so that a reply to a
        // frame never overtakes a push of something committed before it.
        let step = tokio::select! {
            biased;
            r = closing.changed() => if r.is_ok() { Ok(()) } else { Err(Stop) },
            _ = &mut auth_deadline, if c.auth.is_none() => {
                Err(c.auth_failed("not authenticated in time: sign the upgrade URL or the register frame").await)
            }
            _ = cred_changed(&c.cred) => c.recheck_token().await,
            _ = feed.changed() => feed.on_wake(&mut c).await,
            m = c.socket.recv() => Box::pin(on_message(&mut c, &mut feed, m)).await,
            _ = ping.tick() => c.on_tick().await,
        };
        if step.is_err() {
            return;
        }
    }
}
