//! Article endpoints under `/zhugeleida/gongzhonghao/` (API doc 2.1–2.4 and the
//! view/staytime producers).

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
