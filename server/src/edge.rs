//! The edge of the server (contract §6 "Browsers", "Connections", "Panics"):
//! the HTTP/1 accept loop with its header-read timeout, and the layers every
//! request passes: the access log (`telemetry::access`), CORS on the API, `nosniff`/`no-referrer`, the
//! request timeout and the panic catcher.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use app::api::{Empty, Envelope};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{Layer, Service, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub const DEFAULT_MAX_SOCKETS: usize = 50_000;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_WS_AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server pings a socket (see `ws::PING_INTERVAL`).
pub const DEFAULT_WS_PING: Duration = Duration::from_secs(30);
/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<HeaderValue>),
}

/// Connection limits and browser rules (`Config::net`).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// `RADAR_CORS_ORIGINS`: comma list, default `*`.
    pub cors_origins: CorsOrigins,
    /// `RADAR_REQUEST_TIMEOUT_SECS` (30): a request still running then answers 503.
    pub request_timeout: Duration,
    /// `RADAR_HEADER_TIMEOUT_SECS` (10): a connection whose request headers have
    /// not arrived by then is dropped (also bounds an idle keep-alive connection).
    pub header_timeout: Duration,
    /// `RADAR_WS_AUTH_TIMEOUT_SECS` (10): a socket not authenticated by then is closed (1008).
    pub ws_auth_timeout: Duration,
    /// `RADAR_MAX_SOCKETS` (50,000): open sockets; over it the upgrade answers 503.
    pub max_sockets: usize,
    /// `RADAR_WS_PING_SECS` (30): the sockets' ping interval (tests use 1 s).
    pub ws_ping: Duration,
}

/// A positive number of seconds in variable `k`, or `default` when unset.
pub fn positive_secs(
    var: &dyn Fn(&str) -> Option<String>,
    k: &str,
    default: Duration,
) -> Result<Duration, String> {
    match var(k) {
        None => Ok(default),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
            _ => Err(format!("{k} is not a positive number of seconds: {s}")),
        },
    }
}

impl NetConfig {
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<NetConfig, String> {
        let secs = |k: &str, default: Duration| positive_secs(var, k, default);
        let max_sockets = crate::config::integer(var, "RADAR_MAX_SOCKETS", DEFAULT_MAX_SOCKETS)?;
        Ok(NetConfig {
            cors_origins: parse_origins(var("RADAR_CORS_ORIGINS").as_deref())?,
            request_timeout: secs("RADAR_REQUEST_TIMEOUT_SECS", DEFAULT_REQUEST_TIMEOUT)?,
            header_timeout: secs("RADAR_HEADER_TIMEOUT_SECS", DEFAULT_HEADER_TIMEOUT)?,
            ws_auth_timeout: secs("RADAR_WS_AUTH_TIMEOUT_SECS", DEFAULT_WS_AUTH_TIMEOUT)?,
            max_sockets,
            ws_ping: secs("RADAR_WS_PING_SECS", DEFAULT_WS_PING)?,
        })
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            cors_origins: CorsOrigins::Any,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            ws_auth_timeout: DEFAULT_WS_AUTH_TIMEOUT,
            max_sockets: DEFAULT_MAX_SOCKETS,
            ws_ping: DEFAULT_WS_PING,
        }
    }
}

/// `*` (or nothing) allows every origin; else a comma list of origins such as
/// `https://h5.example.com`, compared exactly (scheme, host and port).
pub fn parse_origins(s: Option<&str>) -> Result<CorsOrigins, String> {
    let s = s.map(str::trim).unwrap_or("*");
    if s.is_empty() || s == "*" {
        return Ok(CorsOrigins::Any);
    }
    let mut list = Vec::new();
    for o in s.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if o == "*" {
            return Ok(CorsOrigins::Any);
        }
        let o = o.trim_end_matches('/');
        let valid = match o.split_once("://") {
            Some(("http" | "https", host)) => {
                !host.is_empty() && !host.contains(['/', '?', '#', '@'])
            }
            _ => false,
        };
        let value = HeaderValue::from_str(o).ok().filter(|_| valid);
        list.push(value.ok_or_else(|| {
            format!("RADAR_CORS_ORIGINS: not an origin (scheme://host[:port]): {o}")
        })?);
    }
    Ok(CorsOrigins::List(list))
}

/// The API's CORS rules. Authentication is in the query string, never in
/// cookies, so credentials are never allowed.
pub fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(l) => AllowOrigin::list(l.iter().cloned()),
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE)
}

pub fn envelope(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, Json(Envelope::new(code, msg, Empty {}))).into_response()
}

/// The layers around the whole router (innermost first): request timeout,
/// panic catcher, CORS on the API, the two headers every response carries,
/// and outermost the access log (request id, span, metrics), so its latency
/// covers them all.
pub fn layers(router: Router, net: &NetConfig) -> Router {
    let limit = net.request_timeout;
    let cors = Arc::new(ApiCors::new(&net.cors_origins));
    router
        .layer(compression())
        .layer(axum::middleware::from_fn(no_compression_for_secrets))
        .layer(axum::middleware::from_fn(read_api_body))
        .layer(axum::middleware::from_fn(move |req, next| {
            request_timeout(limit, req, next)
        }))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(move |req, next| {
            api_cors(cors.clone(), req, next)
        }))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::access))
}

/// Answers smaller than this go out as they are: compressing them saves
/// less than it costs.
pub const COMPRESS_MIN_BYTES: u16 = 1024;

/// On-the-fly brotli/gzip (tower-http's default levels: brotli 4, gzip 6) for
/// HTML pages and JSON answers of at least [`COMPRESS_MIN_BYTES`] (a streamed
/// page has no known size and always qualifies). Everything else is left
/// alone: the `/pkg` files carry their own precompressed variants (and a
/// `Content-Encoding`, which the layer never touches), `/media` is images and
/// video, a WebSocket's 101 has no body.
fn compression() -> CompressionLayer<impl Predicate> {
    let html_or_json =
        |_: StatusCode, _: http::Version, h: &http::HeaderMap, _: &http::Extensions| {
            let ct = h
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let ct = ct.split(';').next().unwrap_or_default().trim();
            ct.eq_ignore_ascii_case("text/html") || ct.eq_ignore_ascii_case("application/json")
        };
    CompressionLayer::new().compress_when(SizeAbove::new(COMPRESS_MIN_BYTES).and(html_or_json))
}

/// BREACH: a compressed answer can leak a secret it carries when an attacker
/// can both make the victim's client send requests with text of the
/// attacker's choosing and watch the answers' sizes. The pages and the REST
/// API carry no ambient credential (no cookies: rep and customer tokens live
/// in the URL fragment and sign each request), so a forged request cannot
/// draw a secret into an answer. The admin API is the one place whose answers
/// hold secrets (new tokens, webhook secrets); it is called by other servers,
/// answers are small, and it is simply never compressed.
async fn no_compression_for_secrets(mut req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(crate::rest::admin::PREFIX) {
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    next.run(req).await
}

/// Reads an API request's whole body before it is routed. A request can be
/// refused before its handler reads the body (bad signature, write budget);
/// hyper then closes the keep-alive connection if the rest of the body has not
/// arrived yet, without saying so, and the client's next request on that
/// connection fails. Bodies are at most `MAX_BODY_BYTES`, so reading them
/// first costs little. A larger body reaches the handler as a failed body
/// (the extractor answers its 402 as before) and the connection is closed
/// with `Connection: close` instead of reading the rest.
async fn read_api_body(req: Request, next: Next) -> Response {
    // Uploads stream their (larger) bodies through their own cap instead.
    if req.method() == Method::GET
        || !req.uri().path().starts_with("/zhugeleida/")
        || crate::rest::media::is_upload_path(req.uri().path())
    {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, crate::extract::MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => {
            let failed = Body::from_stream(futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("request body over the limit"))
            }));
            let mut res = next.run(Request::from_parts(parts, failed)).await;
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

/// Only the time until the response head counts: a WebSocket's life runs
/// after its 101 answer, outside this future.
async fn request_timeout(limit: Duration, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(%method, %path, ?limit, "request timed out");
            envelope(StatusCode::SERVICE_UNAVAILABLE, 503, "请求超时,请稍后重试")
        }
    }
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    tracing::error!(panic = %what, "request handler panicked");
    envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        500,
        "服务器繁忙,请稍后重试",
    )
}

/// The API's CORS (`cors_layer`), split for speed: tower-http answers the
/// preflights, and the headers it puts on an actual answer are taken from it
/// once, at start, then copied onto every answer. Its per-request service
/// clones the whole layer, about a twentieth of a polled badge's CPU.
pub struct ApiCors {
    layer: CorsLayer,
    /// What tower-http adds to an actual answer without an `Origin`: `Vary`,
    /// `Access-Control-Expose-Headers`, and `Access-Control-Allow-Origin: *`
    /// when any origin is allowed.
    fixed: Vec<(header::HeaderName, HeaderValue)>,
    /// The origins allowed by name (`RADAR_CORS_ORIGINS`), echoed back.
    listed: Vec<HeaderValue>,
}

impl ApiCors {
    pub fn new(origins: &CorsOrigins) -> ApiCors {
        let layer = cors_layer(origins);
        let probe = Request::get("/zhugeleida/").body(Body::empty());
        // The wrapped service answers at once, so the future is ready.
        let fixed = match probe.map(|req| layer.layer(empty_answer()).oneshot(req).now_or_never()) {
            Ok(Some(Ok(res))) => res
                .headers()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let listed = match origins {
            CorsOrigins::Any => Vec::new(),
            CorsOrigins::List(l) => l.clone(),
        };
        ApiCors {
            layer,
            fixed,
            listed,
        }
    }

    /// Puts on `res` what tower-http's `Cors` would for a request from `origin`.
    fn decorate(&self, origin: Option<&HeaderValue>, res: &mut Response) {
        let h = res.headers_mut();
        for (k, v) in &self.fixed {
            if k == header::VARY {
                h.append(k.clone(), v.clone());
            } else {
                h.insert(k.clone(), v.clone());
            }
        }
        if let Some(o) = origin.filter(|o| self.listed.contains(o)) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone());
        }
    }
}

/// A service answering every request with an empty 200: what `Cors` wraps
/// where only the headers it adds matter.
fn empty_answer(
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|_: Request| async { Ok::<_, Infallible>(Response::new(Body::empty())) })
}

/// CORS for the documented API only (the pages are same-origin). A preflight
/// is answered here, before routing and authentication, with 204.
async fn api_cors(cors: Arc<ApiCors>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/zhugeleida/") {
        return next.run(req).await;
    }
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        // `Cors` answers a preflight itself and never calls the service it wraps.
        let Ok(mut res) = cors.layer.layer(empty_answer()).oneshot(req).await;
        *res.status_mut() = StatusCode::NO_CONTENT;
        return res;
    }
    if req.method() == Method::OPTIONS {
        // Not a preflight: `Cors` would treat it as one; the API answers it.
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut res = next.run(req).await;
    cors.decorate(origin.as_ref(), &mut res);
    res
}

/// Serves HTTP/1 on `listener` until `shutdown` resolves, like `axum::serve`
/// with graceful shutdown (stop accepting, let open requests finish), plus a
/// header-read timeout, which `axum::serve` does not expose: a client that
/// trickles its request head is dropped after `header_timeout`.
pub async fn serve_http<S>(
    listener: TcpListener,
    service: S,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    // Every connection task holds a receiver; shutdown waits until all are gone.
    let (close_tx, close_rx) = watch::channel(());
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = signal_tx.closed() => break,
        };
        let svc = service
            .clone()
            .map_request(|req: axum::http::Request<Incoming>| req.map(Body::new));
        let svc = TowerToHyperService::new(svc);
        let builder = builder.clone();
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let mut conn = pin!(builder
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades());
            let mut signal = pin!(signal_tx.closed().fuse());
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%remote, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = &mut signal => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// As hyper 0.14 and axum do: a failed accept of one connection is ignored;
/// anything else (such as running out of file descriptors) is logged and
/// retried after a pause instead of spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept error");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
#[path = "tests/edge.rs"]
mod tests;
