//! The WebSocket endpoints (API doc "wocket" sections, semantics §5, §6, §10.7).

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
