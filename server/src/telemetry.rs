//! What an operator watches (issue 14): Prometheus metrics at `/metrics`, the
//! access log (one line per request, with its request id), the log format, and
//! `/readyz`.
//!
//! Metrics go through the `metrics` crate's global recorder, so any module
//! (webhooks, workers) counts with `metrics::counter!` and the exporter shows
//! it; the exporter has no listener of its own, `/metrics` renders it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use app::api::Side;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::AppState;

pub const HTTP_REQUESTS: &str = "radar_http_requests_total";
pub const HTTP_DURATION: &str = "radar_http_request_duration_seconds";
pub const WS_CONNECTIONS: &str = "radar_ws_connections";
pub const DB_POOL: &str = "radar_db_pool_connections";
pub const BUS_EVENTS: &str = "radar_bus_events_total";
pub const BUS_NOTIFIES: &str = "radar_bus_notifications_total";
pub const RESULT_CACHE: &str = "radar_result_cache_total";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";
/// The response (and accepted request) header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";
/// The longest incoming request id taken over.
pub const MAX_REQUEST_ID: usize = 128;

/// Request latency buckets (seconds): the API answers in milliseconds, a slow
/// database in seconds, the request timeout is 30 s.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Without explicit buckets the exporter renders a summary, not the
        // histogram dashboards expect.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows nothing");
        }
        describe();
        // Histograms buffer samples until upkeep folds them into buckets; a
        // server nobody scrapes must not grow.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            })
            .ok();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by matched route pattern, method and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to the response head, by matched route pattern"
    );
    metrics::describe_gauge!(WS_CONNECTIONS, "Open WebSockets, by feed");
    metrics::describe_gauge!(
        DB_POOL,
        "Request pool connections, idle or in use (sampled at scrape)"
    );
    metrics::describe_counter!(
        BUS_EVENTS,
        "Events delivered by the event bus (local and from other instances), by kind; touched: commits of this instance announced to the others"
    );
    metrics::describe_counter!(
        BUS_NOTIFIES,
        "PostgreSQL NOTIFYs this instance sent to the others (each carries a burst of events), by result"
    );
    metrics::describe_counter!(
        RESULT_CACHE,
        "Lookups in a result cache, by cache and result (hit, fill, miss: read and not kept, bypass: changes unobservable)"
    );
}

/// `GET /metrics`: Prometheus text format. With `RADAR_METRICS_TOKEN` set it
/// wants `Authorization: Bearer <token>`; without, it is open and the
/// reverse proxy must not forward it (README "Running in production").
pub async fn metrics_endpoint(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &st.config.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, t)| t);
        if !crate::auth::constant_time_eq(sent.trim().as_bytes(), token.0.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics token required\n",
            )
                .into_response();
        }
    }
    let size = st.db.pool.size();
    let idle = u32::try_from(st.db.pool.num_idle())
        .unwrap_or(u32::MAX)
        .min(size);
    metrics::gauge!(DB_POOL, "state" => "idle").set(f64::from(idle));
    metrics::gauge!(DB_POOL, "state" => "in_use").set(f64::from(size - idle));
    let handle = metrics_handle();
    handle.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        handle.render(),
    )
        .into_response()
}

/// Counts a socket of `feed` while alive.
pub struct WsGauge(&'static str);

impl WsGauge {
    pub fn open(feed: &'static str) -> WsGauge {
        metrics::gauge!(WS_CONNECTIONS, "feed" => feed).increment(1.0);
        WsGauge(feed)
    }
}

impl Drop for WsGauge {
    fn drop(&mut self) {
        metrics::gauge!(WS_CONNECTIONS, "feed" => self.0).decrement(1.0);
    }
}

/// Who a request authenticated as, filled in by the authentication that
/// accepted it and read by the access log. Shared, because the extractors see
/// a copy of the request's extensions, not the middleware's.
#[derive(Clone, Default)]
pub struct Principal(Arc<Mutex<Option<(Side, i64)>>>);

impl Principal {
    pub fn set(&self, party: Side, id: i64) {
        if let Ok(mut p) = self.0.lock() {
            *p = Some((party, id));
        }
    }

    fn label(&self) -> String {
        match self.0.lock().ok().and_then(|p| *p) {
            Some((Side::Sales, id)) => format!("sales:{id}"),
            Some((Side::Customer, id)) => format!("customer:{id}"),
            None => "-".into(),
        }
    }
}

/// Records the principal on the request's slot, when there is one.
pub fn set_principal(ext: &axum::http::Extensions, party: Side, id: i64) {
    if let Some(p) = ext.get::<Principal>() {
        p.set(party, id);
    }
}

/// An incoming request id is taken over when it is 1 to 128 characters of
/// `[A-Za-z0-9._:/+=@-]`: enough for UUIDs, hex, base64 and proxies' ids, and
/// nothing that could forge a field or a line in a text log.
pub fn sane_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_REQUEST_ID
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/+=@-".contains(&b));
    ok.then_some(s)
}

/// One route's metric handles. Looking a labelled metric up in the recorder
/// hashes and copies its labels; a polled badge did that twice per request.
struct RouteMetrics {
    route: Arc<str>,
    duration: metrics::Histogram,
    /// By method and status: a handful per route.
    requests: Mutex<Vec<(&'static str, StatusCode, metrics::Counter)>>,
}

impl RouteMetrics {
    fn requests(&self, method: &'static str, status: StatusCode) -> metrics::Counter {
        let mut known = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, c)) = known.iter().find(|(m, s, _)| *m == method && *s == status) {
            return c.clone();
        }
        let c = metrics::counter!(HTTP_REQUESTS,
            "route" => self.route.to_string(), "method" => method, "status" => status.as_str().to_owned());
        known.push((method, status, c.clone()));
        c
    }
}

/// The handles of `route`: a matched route template or [`UNMATCHED`], so
/// the map holds at most one entry per route of the router.
fn route_metrics(route: &str) -> Arc<RouteMetrics> {
    static ROUTES: OnceLock<RwLock<HashMap<Box<str>, Arc<RouteMetrics>>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(m) = routes.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return m.clone();
    }
    let mut w = routes.write().unwrap_or_else(|e| e.into_inner());
    w.entry(route.into())
        .or_insert_with(|| {
            Arc::new(RouteMetrics {
                route: Arc::from(route),
                duration: metrics::histogram!(HTTP_DURATION, "route" => route.to_owned()),
                requests: Mutex::new(Vec::new()),
            })
        })
        .clone()
}

/// 128 random bits in hex.
pub fn new_request_id() -> String {
    let bits: u128 = rand::random();
    format!("{bits:032x}")
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        // Any other method string would be a label value chosen by the client.
        _ => "other",
    }
}

/// The outermost layer: request id, a span for everything the request logs,
/// the metrics, and the access log line. The raw URI never appears: signed
/// requests carry the token's `rand_str` and the user id in the query string.
pub async fn access(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let method = method_label(req.method());
    let principal = Principal::default();
    req.extensions_mut().insert(principal.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut res = next.run(req).instrument(span).await;
    let latency = started.elapsed();
    let status = res.status();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let handles = route_metrics(route);
    handles.requests(method, status).increment(1);
    handles.duration.record(latency.as_secs_f64());
    tracing::info!(
        target: "radar::access",
        request_id = %id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        principal = %principal.label(),
        "answered"
    );
    res
}

/// `RADAR_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("RADAR_LOG_FORMAT must be text or json: {other}")),
        }
    }
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format the logger was set up with (text before that).
pub fn log_format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Sets up the logger on stdout: `filter` is a tracing `EnvFilter` (`RADAR_LOG`).
/// In json mode every line is one JSON object, and so is a panic's message.
pub fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let done = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .try_init()
            .is_ok(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .try_init()
            .is_ok(),
    };
    if done {
        let _ = FORMAT.set(format);
        if format == LogFormat::Json {
            std::panic::set_hook(Box::new(|info| {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let what = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %what, at = %at, "panicked");
            }));
        }
    }
}

pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// A line for the operator on stdout or stderr: plain text, or in json mode
/// one JSON object like every log line.
pub fn say(line: &str, error: bool) {
    if log_format() == LogFormat::Json {
        let v = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": if error { "ERROR" } else { "INFO" },
            "message": line,
            "target": "radar",
        });
        if error {
            eprintln!("{v}");
        } else {
            println!("{v}");
        }
    } else if error {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}
