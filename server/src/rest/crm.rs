//! CRM endpoints under `/zhugeleida/qiyeweixin/` (API doc 1.5–1.9, action/time,
//! semantics §10.8–10.9).

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
