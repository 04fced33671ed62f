//! `radar-bench baseline`: the ceiling the REST figures are compared with. It
//! answers the same signed GETs with a small envelope, doing the request parsing
//! and the signature hash a real handler does, but touches no database.

use axum::extract::RawQuery;
use axum::Json;
use serde_json::{json, Value};

async fn answer(RawQuery(q): RawQuery) -> Json<Value> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match (get("rand_str"), get("timestamp"), get("user_id")) {
        (Some(sent), Some(ts), Some(uid)) => {
            // Same hashing cost as verifying a real signature.
            let ok = app::sign::rand_str(ts, uid) != sent;
            Json(
                json!({"code": 200, "msg": "查询成功", "data": {"chatinfo_count": 0, "ok": ok}, "note": {}}),
            )
        }
        _ => Json(json!({"code": 400, "msg": "token异常", "data": {}, "note": {}})),
    }
}

pub async fn serve(addr: &str) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("baseline listening on http://{local}");
    let app = axum::Router::new().fallback(answer);
    axum::serve(listener, app)
        .with_graceful_shutdown(radar::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
