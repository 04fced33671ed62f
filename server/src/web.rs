//! The leptos pages (SSR, hydrated by the WASM bundle) and the static site files.

use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;

use crate::AppState;

pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("radar")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::ui::App);
    let ctx_state = state.clone();
    let opts = state.leptos_options.clone();
    let pkg = format!("{}/pkg", state.config.site_root);
    Router::new()
        .leptos_routes_with_context(
            state,
            routes,
            move || provide_context(ctx_state.clone()),
            move || app::ui::shell(opts.clone()),
        )
        .nest_service("/pkg", ServeDir::new(pkg))
}
