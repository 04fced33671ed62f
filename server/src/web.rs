//! The leptos pages (SSR, hydrated by the WASM bundle) and the static site files
//! under `/pkg`: embedded in the binary when it was built with
//! `RADAR_EMBED_SITE=<site dir>` (see build.rs), else read from `RADAR_SITE_ROOT`.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;

use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));
}

pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("radar")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// True when this binary carries the site itself.
pub fn site_embedded() -> bool {
    !embedded::FILES.is_empty()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

async fn embedded_pkg(Path(path): Path<String>) -> Response {
    let key = format!("pkg/{path}");
    match embedded::FILES.iter().find(|(name, _)| *name == key) {
        Some((name, bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(name)),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::ui::App);
    let ctx_state = state.clone();
    let opts = state.leptos_options.clone();
    let router = Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(ctx_state.clone()),
            move || app::ui::shell(opts.clone()),
        )
        // Any other path renders the app's own "页面不存在" page with HTTP 404.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::ui::shell,
        ));
    if site_embedded() {
        router.route("/pkg/{*path}", get(embedded_pkg))
    } else {
        router.nest_service(
            "/pkg",
            ServeDir::new(format!("{}/pkg", state.config.site_root)),
        )
    }
}
