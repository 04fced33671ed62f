//! The leptos pages (SSR, hydrated by the WASM bundle) and the static site files
//! under `/pkg` (`crate::assets`): embedded in the binary when it was built with
//! `RADAR_EMBED_SITE=<site dir>` (see build.rs), else read from `RADAR_SITE_ROOT`.

use app::ui::server_fns::HeadSource;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::assets::{self, Site};
use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));
}

/// `output_name` is `radar.<hash>` when the bundle is there (`Site::output_name`).
pub fn leptos_options(
    site_root: &str,
    addr: std::net::SocketAddr,
    output_name: &str,
) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// True when this binary carries the site itself.
pub fn site_embedded() -> bool {
    !embedded::FILES.is_empty()
}

/// The `/pkg` files: the embedded ones, else those under `site_root`.
pub fn load_site(site_root: &str) -> Site {
    Site::load(site_root, embedded::FILES)
}

async fn pkg(
    State(st): State<AppState>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    st.site.respond(&path, &method, &headers)
}

async fn not_found(
    st: AppState,
    req: Request,
    context: impl Fn() + Clone + Send + 'static,
) -> Response {
    let (parts, body) = req.into_parts();
    let probe = Request::from_parts(parts.clone(), Body::empty());
    if let Some(res) = public_file(&st.config.site_root, probe).await {
        return res;
    }
    let req = Request::from_parts(parts, body);
    let options = st.leptos_options.clone();
    let css = st.site.css_href().to_owned();
    let mut res = leptos_axum::handle_response_inner(
        context,
        move || app::ui::shell(options, css),
        req,
        |app, chunks, _supports_ooo| {
            Box::pin(async move {
                let app = app.to_html_stream_in_order().collect::<String>().await;
                let chunks = chunks();
                Box::pin(futures_util::stream::once(async move { app }).chain(chunks))
                    as std::pin::Pin<Box<dyn futures_util::Stream<Item = String> + Send>>
            })
        },
    )
    .await;
    // A redirect set by the app stays; a rendered page is a 404.
    if res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    res
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

/// The page's Content-Security-Policy: scripts only from this site and the
/// inline ones marked with this response's nonce (leptos marks its hydration
/// and streaming scripts); WASM needs `'wasm-unsafe-eval'`. Images and video
/// may come from any https origin (WeChat avatars, product pictures); inline
/// styles are allowed, they cannot run code.
pub fn page_csp(nonce: &str, host: Option<&str>) -> String {
    // CSP3 lets 'self' cover ws:/wss: of the same host; older engines (some
    // WebViews) do not, so the socket URLs are named as well. `blob:` in
    // connect-src: Chromium reads a picked file's preview URL as a
    // connection; blob: URLs are only ever made by this origin's scripts.
    let sockets = host
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         connect-src 'self' blob:{sockets}; img-src 'self' https: data: blob:; \
         media-src 'self' https: data: blob:; style-src 'self' 'unsafe-inline'; \
         font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// Runs in the context of every page render: leptos_axum has provided a fresh
/// nonce (128 random bits) for this response, which its scripts carry; the
/// CSP header names the same nonce.
fn page_headers() {
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let parts = use_context::<http::request::Parts>();
    let host = parts
        .as_ref()
        .and_then(|p| p.headers.get(header::HOST))
        .and_then(|h| h.to_str().ok());
    if let Ok(v) = HeaderValue::from_str(&page_csp(&nonce, host)) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, v);
    }
    // The page names content-hashed assets: it must be revalidated so a
    // new build's names reach the browser.
    res.insert_header(
        header::CACHE_CONTROL,
        HeaderValue::from_static(assets::NO_CACHE),
    );
}

/// A file of the site root that the build copied from `public/`.
async fn public_file(site_root: &str, req: Request) -> Option<Response> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let name = req.uri().path().strip_prefix('/')?;
    let name = *embedded::PUBLIC.iter().find(|p| **p == name)?;
    if site_embedded() {
        let (_, bytes) = embedded::FILES.iter().find(|(n, _)| *n == name)?;
        return Some(
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(assets::content_type(name)),
                )],
                *bytes,
            )
                .into_response(),
        );
    }
    let path = std::path::Path::new(site_root).join(name);
    let Ok(res) = ServeFile::new(path).oneshot(req).await;
    (res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED)
        .then(|| res.into_response())
}

/// The pages and the site's files, with the patterns of their routes (the
/// pages' and `/pkg/…`; the fallback serves `public/` files and the 404 page).
pub fn routes(state: &AppState) -> (Router<AppState>, Vec<String>) {
    let routes = generate_route_list(app::ui::App);
    let mut patterns: Vec<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    patterns.push("/pkg/{*path}".into());
    let ctx_state = state.clone();
    let heads = head_source(state.clone());
    let context = move || {
        provide_context(ctx_state.clone());
        provide_context(heads.clone());
        page_headers();
    };
    let opts = state.leptos_options.clone();
    let css = state.site.css_href().to_owned();
    let not_found_context = context.clone();
    let router = Router::new()
        .leptos_routes_with_context(state, routes, context, move || {
            app::ui::shell(opts.clone(), css.clone())
        })
        .layer(axum::middleware::from_fn(server_fn_bad_input))
        // Only the files of `public/` from the site root; any other path
        // renders the app's own "页面不存在" page with HTTP 404.
        .fallback(move |State(st): State<AppState>, req: Request| {
            not_found(st, req, not_found_context.clone())
        });
    // Every file, hashed or not, embedded or read from the site root, goes
    // through the same in-memory table (`assets::Site`).
    let router = router.route("/pkg/{*path}", get(pkg));
    (router, patterns)
}
