//! Radar: the sales CRM and live chat server.

pub mod assets;
pub mod auth;
pub mod bus;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod edge;
pub mod error;
pub mod extract;
pub mod integrations;
pub mod limit;
pub mod openapi;
pub mod rest;
pub mod service;
pub mod telemetry;
pub mod timefmt;
pub mod web;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use crate::bus::Bus;
pub use crate::clock::Clock;
pub use crate::config::Config;
pub use crate::db::Db;

/// What every request, socket and worker shares, behind one `Arc`: axum
/// clones the state for each extractor of each request, and cloning the
/// fields one by one (the HTTPS clients, the leptos options, …) cost a
/// quarter of a cached `query_num`'s CPU. Fields are reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The leptos routes take their options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(st: &AppState) -> LeptosOptions {
        st.leptos_options.clone()
    }
}

/// The fields of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    pub bus: Bus,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// The files under `/pkg` (`assets`).
    pub site: Arc<assets::Site>,
    pub tokens: auth::TokenCache,
    pub writes: limit::WriteLimiter,
    /// The badge and inbox page shared by each rep's sockets.
    pub rep_views: service::chat::RepViews,
    /// Unread counts and badges in memory, for the polling endpoints.
    pub reads: service::chat::readmodel::ReadModel,
    /// Contact-list pages, kept while nothing was committed since.
    pub contacts: Arc<service::crm::contacts::ContactCache>,
    /// The WeCom and WeChat clients (sign-in, app messages).
    pub weixin: integrations::Weixin,
    pub state_key: service::signin::StateKey,
    /// Wakes the WeCom notification worker (`service::notify`).
    pub notify: service::outbox::Kick,
    /// Wakes the webhook delivery worker (`service::webhook`).
    pub webhooks: service::outbox::Kick,
    /// Uploaded photos and videos (`service::media`).
    pub media: service::media::Media,
}

impl AppState {
    /// Connects, migrates and starts the event bus.
    pub async fn start(config: Config) -> Result<AppState, String> {
        telemetry::metrics_handle();
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        db.migrate().await?;
        let bus = Bus::new();
        if db.backend == db::Backend::Postgres {
            bus.start_postgres(&config.database_url, db.changes.clone())
                .await?;
        }
        let site = Arc::new(web::load_site(&config.site_root));
        let leptos_options =
            web::leptos_options(&config.site_root, config.addr, site.output_name());
        let tokens = auth::TokenCache::following(&bus);
        let reads = service::chat::readmodel::ReadModel::following(&bus);
        let writes = limit::WriteLimiter::new(config.write_burst, config.write_rate);
        let weixin = integrations::Weixin::new(&config)?;
        let state_key = service::signin::StateKey::load(&db, config.state_key.as_ref()).await?;
        let media = service::media::Media::open(
            service::media::Location::resolve(
                config.media_url.as_deref(),
                config.media_dir.as_deref(),
                &config.database_url,
            )?,
            &config.media_s3_options,
        )?;
        Ok(AppState(Arc::new(Shared {
            db,
            bus,
            clock: Clock::default(),
            config: Arc::new(config),
            leptos_options,
            site,
            tokens,
            writes,
            rep_views: service::chat::RepViews::default(),
            reads,
            contacts: Default::default(),
            weixin,
            state_key,
            notify: service::outbox::Kick::default(),
            webhooks: service::outbox::Kick::default(),
            media,
        })))
    }

    /// The same state with its own clock (the demo seeds "in the past").
    pub fn with_clock(&self, clock: Clock) -> AppState {
        let mut parts = (*self.0).clone();
        parts.clock = clock;
        AppState(Arc::new(parts))
    }
}

async fn healthz(State(st): State<AppState>) -> (StatusCode, &'static str) {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// `GET /readyz`: 200 once the migrations have run, while the database
/// answers and (PostgreSQL) the event listener is connected; else 503 and why.
async fn readyz(
    State(st): State<AppState>,
) -> (
    StatusCode,
    [(header::HeaderName, &'static str); 1],
    &'static str,
) {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let answer = match st.db.migrated().await {
        Err(_) => Err("database unavailable"),
        Ok(false) => Err("migrations pending"),
        Ok(true) if st.bus.listener_connected() == Some(false) => {
            Err("event listener disconnected")
        }
        Ok(true) => Ok("ready"),
    };
    match answer {
        Ok(ready) => (StatusCode::OK, no_store, ready),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, no_store, why),
    }
}

/// Every route of the server: the admin API only when `RADAR_ADMIN_TOKEN` is
/// set (otherwise its paths are unknown paths like any other).
fn route_table(state: &AppState) -> rest::Routes {
    let mut t = rest::Routes::default();
    t.route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(telemetry::metrics_endpoint))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(openapi::docs_page))
        .route("/docs/{file}", get(openapi::docs_asset))
        .nest("/zhugeleida", rest::routes());
    rest::signin::routes(&mut t);
    rest::media::routes(&mut t);
    if let Some(token) = &state.config.admin_token {
        t.nest(rest::admin::PREFIX, rest::admin::routes(token));
    }
    let (pages, patterns) = web::routes(state);
    t.merge(pages, patterns);
    t
}

/// The pattern of every route [`router`] serves with this state, as
/// registered: the OpenAPI test holds the document to this list.
pub fn route_patterns(state: &AppState) -> Vec<String> {
    route_table(state).patterns().to_vec()
}

pub fn router(state: AppState) -> Router {
    let net = state.config.net.clone();
    let app = route_table(&state).into_router().with_state(state);
    edge::layers(app, &net)
}

/// How long shutdown waits for sockets to finish their close handshake and for
/// queued cross-instance notifications to go out.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until `shutdown` resolves: stops accepting, drains open requests,
/// closes every WebSocket with a Close frame (1001) and flushes the bus.
/// Upgraded sockets are not tracked by the HTTP graceful shutdown, hence the bus.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bus = state.bus.clone();
    let header_timeout = state.config.net.header_timeout;
    let rotations = tokio::spawn(auth::follow_rotations(state.clone()));
    let notifier = tokio::spawn(service::notify::run(state.clone()));
    let presence = tokio::spawn(service::notify::presence(state.clone()));
    let webhooks = tokio::spawn(service::webhook::run(state.clone()));
    let app = NormalizePathLayer::trim_trailing_slash().layer(router(state));
    let signal_bus = bus.clone();
    let shutdown = async move {
        shutdown.await;
        signal_bus.begin_shutdown();
    };
    let served = edge::serve_http(listener, app, header_timeout, shutdown).await;
    bus.begin_shutdown();
    bus.drain(SHUTDOWN_GRACE).await;
    rotations.abort();
    // The workers stop between two deliveries; one under way may finish.
    for task in [notifier, presence, webhooks] {
        let abort = task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
        }
    }
    served
}

/// `radar serve`: bind, announce, serve until SIGINT/SIGTERM. The logger is
/// set up by the caller (`cli`), before the configuration is read.
pub async fn run_server(config: Config) -> Result<(), String> {
    let addr = config.addr;
    let state = AppState::start(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let backend = state.db.backend.name();
    match telemetry::log_format() {
        // The log line is the banner: one JSON object like every other line.
        telemetry::LogFormat::Json => tracing::info!(%local, backend, "radar listening"),
        telemetry::LogFormat::Text => {
            tracing::info!(%local, backend, "radar listening");
            println!("radar listening on http://{local} ({backend})");
        }
    }
    serve(state, listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
