//! The leptos pages (SSR, hydrated by the WASM bundle) and the static site files
//! under `/pkg`: embedded in the binary when it was built with
//! `RADAR_EMBED_SITE=<site dir>` (see build.rs), else read from `RADAR_SITE_ROOT`.

use app::ui::server_fns::HeadSource;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
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

/// `app` cannot depend on the server, so its `article_head` server function
/// reaches the service layer through this context.
fn head_source(st: AppState) -> HeadSource {
    HeadSource::new(move |id| {
        let st = st.clone();
        async move {
            crate::service::article::public_head(&st, id)
                .await
                .map_err(|e| {
                    tracing::warn!(article_id = id, error = %e, "article head");
                    "文章信息暂时无法读取".to_string()
                })
        }
    })
}

/// Error bodies are short texts like `Args|invalid digit found in string`.
const SERVER_FN_ERROR_BODY_LIMIT: usize = 64 * 1024;

/// server_fn answers every failure with HTTP 500, including arguments it could
/// not decode; here bad input is the caller's fault (400), never a server error.
async fn server_fn_bad_input(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, SERVER_FN_ERROR_BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"MissingArg|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::ui::App);
    let ctx_state = state.clone();
    let heads = head_source(state.clone());
    let opts = state.leptos_options.clone();
    let router = Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || {
                provide_context(ctx_state.clone());
                provide_context(heads.clone());
            },
            move || app::ui::shell(opts.clone()),
        )
        .layer(axum::middleware::from_fn(server_fn_bad_input))
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
