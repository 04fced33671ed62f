//! The admin HTTP API (contract §7): `POST /admin/api/v1/…` provisions
//! companies, reps, customers and relations and re-keys tokens with the same
//! service functions as `radar admin …`, taking the CLI's options as JSON
//! fields and answering the CLI's JSON (`Created`, `Credentials`).
//!
//! It exists only when `RADAR_ADMIN_TOKEN` is set (`lib.rs` mounts it then;
//! otherwise its paths are unknown paths). Every request carries
//! `Authorization: Bearer <token>`. Refusals are `AdminError`
//! (`{"error", "fields"?}`) with the HTTP status saying which:
//! 400 not JSON, 401 no or wrong token, 404 unknown path or id, 405, 409 a
//! duplicate, 413 body over 16 KiB, 415 not `application/json`, 422 invalid
//! fields, 429 too many wrong tokens, 503 database unavailable.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::admin::{
    AdminError, Created, Credentials, NewCompany, NewCustomer, NewRelation, NewUser,
};
use app::api::Side;
use app::domain::FieldErrors;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::error::Error;
use crate::rest::Routes;
use crate::service::admin;
use crate::AppState;

/// Where the admin API is mounted.
pub const PREFIX: &str = "/admin/api/v1";

/// The largest request body: the largest valid one is well under 2 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Wrong tokens tolerated at once, then one more per [`FAILURE_REFILL`].
pub const FAILURE_BURST: f64 = 20.0;
pub const FAILURE_REFILL: Duration = Duration::from_secs(6);

/// The routes, under [`PREFIX`], behind the bearer check.
pub fn routes(token: &Secret) -> Routes {
    let gate = Arc::new(Gate::new(&token.0));
    let mut t = Routes::default();
    t.route("/companies", post(create_company))
        .route("/users", post(create_user))
        .route("/customers", post(create_customer))
        .route("/relations", post(create_relation))
        .route("/users/{id}/rotate-token", post(rotate_user))
        .route("/customers/{id}/rotate-token", post(rotate_customer));
    t.map_router(|r| {
        r.fallback(|| async { refuse(StatusCode::NOT_FOUND, "not found", None) })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn_with_state(gate, authenticate))
    });
    t
}

fn post<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(h).fallback(|| async {
        let mut res = refuse(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", None);
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        res
    })
}

/// An `AdminError` answer.
pub fn refuse(status: StatusCode, error: &str, fields: Option<FieldErrors>) -> Response {
    (
        status,
        Json(AdminError {
            error: error.to_owned(),
            fields,
        }),
    )
        .into_response()
}

fn invalid(field: &str, message: &str) -> Response {
    refuse(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid fields",
        Some(FieldErrors::single(field, message, "invalid")),
    )
}

/// A service error as the admin API answers it.
fn service_error(e: Error) -> Response {
    match e {
        Error::Fields(f) => {
            let duplicate =
                f.0.iter()
                    .any(|(_, errs)| errs.iter().any(|e| e.code == "unique"));
            if duplicate {
                refuse(StatusCode::CONFLICT, "already exists", Some(f))
            } else {
                refuse(StatusCode::UNPROCESSABLE_ENTITY, "invalid fields", Some(f))
            }
        }
        Error::Db(d) if crate::db::is_unavailable(&d) => {
            tracing::warn!(error = %d, "admin API: database unavailable");
            let mut res = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable, retry later",
                None,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
        other => {
            tracing::error!(error = %other, "admin API");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error", None)
        }
    }
}

fn answer<T: Serialize>(status: StatusCode, r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => service_error(e),
    }
}

// ---------------------------------------------------------------------------
// The bearer check

/// The token's digest and the budget of wrong tokens. Both sides are hashed
/// before the constant-time comparison, so neither the time nor the length of
/// the work depends on how much of the token a guess got right.
struct Gate {
    digest: [u8; 32],
    failures: Mutex<Budget>,
}

#[derive(Clone, Copy)]
struct Budget {
    level: f64,
    at: Instant,
}

/// Why a request did not pass the gate.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// No `Authorization: Bearer …` at all.
    Missing,
    Wrong,
    /// Too many wrong tokens lately: requests without the right token wait
    /// this many seconds. The right token is never locked out, or anyone who
    /// can reach the API could keep the operator out of it; guessing a token
    /// of at least 32 characters is hopeless at any rate, so the budget's job
    /// is to keep a flood of wrong tokens cheap and quiet.
    Locked(u64),
}

impl Gate {
    fn new(token: &str) -> Gate {
        Gate {
            digest: Sha256::digest(token.as_bytes()).into(),
            failures: Mutex::new(Budget {
                level: FAILURE_BURST,
                at: Instant::now(),
            }),
        }
    }

    fn matches(&self, presented: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(presented).into();
        d.ct_eq(&self.digest).into()
    }

    fn admit(&self, presented: Option<&[u8]>, now: Instant) -> Result<(), Refusal> {
        let per_sec = 1.0 / FAILURE_REFILL.as_secs_f64();
        // Nothing in here panics, so a poisoned lock still holds valid data.
        let mut b = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.level = (b.level + dt * per_sec).min(FAILURE_BURST);
        b.at = now.max(b.at);
        if presented.is_some_and(|t| self.matches(t)) {
            return Ok(());
        }
        if b.level < 1.0 {
            let wait = ((1.0 - b.level) / per_sec).ceil().max(1.0);
            return Err(Refusal::Locked(wait as u64));
        }
        b.level -= 1.0;
        Err(if presented.is_some() {
            Refusal::Wrong
        } else {
            Refusal::Missing
        })
    }
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = v.split_at(v.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

async fn authenticate(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let verdict = gate.admit(bearer(req.headers()), Instant::now());
    match verdict {
        Ok(()) => next.run(req).await,
        Err(Refusal::Locked(secs)) => {
            tracing::debug!(retry_after = secs, "admin API: locked after wrong tokens");
            let mut res = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed authentications, retry later",
                None,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            res
        }
        Err(r) => {
            // Never the token itself: only that one was refused.
            tracing::warn!(
                bearer_given = r == Refusal::Wrong,
                "admin API: authentication refused"
            );
            let challenge = if r == Refusal::Wrong {
                r#"Bearer realm="radar-admin", error="invalid_token""#
            } else {
                r#"Bearer realm="radar-admin""#
            };
            let mut res = refuse(StatusCode::UNAUTHORIZED, "unauthorized", None);
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            res
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies

/// A JSON body of type `T`, refused as an `AdminError`: 415 without a JSON
/// content type, 413 over [`MAX_BODY_BYTES`], 400 not JSON, 422 with the
/// offending field when the JSON does not fit `T`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !json {
            return Err(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json",
                None,
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the body is over {MAX_BODY_BYTES} bytes"),
                    None,
                ),
                _ => refuse(StatusCode::BAD_REQUEST, "the body could not be read", None),
            })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let v = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| body_error(&e.path().to_string(), e.into_inner()))?;
        de.end().map_err(|e| body_error(".", e))?;
        Ok(Body(v))
    }
}

fn body_error(path: &str, e: serde_json::Error) -> Response {
    if e.is_syntax() || e.is_eof() {
        return refuse(StatusCode::BAD_REQUEST, &format!("not JSON: {e}"), None);
    }
    let msg = e.to_string();
    let field = if path == "." {
        // `unknown field `x`…` and `missing field `x`` name the field.
        msg.split('`').nth(1).unwrap_or("body").to_owned()
    } else {
        path.to_owned()
    };
    invalid(&field, &msg)
}

// ---------------------------------------------------------------------------
// Handlers: the CLI's commands (`cli::admin_cmd`).

async fn create_company(State(st): State<AppState>, Body(c): Body<NewCompany>) -> Response {
    answer(
        StatusCode::CREATED,
        admin::create_company(&st, &c.name)
            .await
            .map(|id| Created { id }),
    )
}

async fn create_user(State(st): State<AppState>, Body(u): Body<NewUser>) -> Response {
    let r = admin::create_user_with(
        &st,
        admin::NewUser {
            company_id: u.company_id,
            name: &u.name,
            avatar: u.avatar.as_deref(),
            phone: u.phone.as_deref(),
            wechat: u.wechat.as_deref(),
        },
        u.wecom_userid.as_deref(),
    )
    .await;
    answer(
        StatusCode::CREATED,
        r.map(|(id, token)| Credentials { id, token }),
    )
}

async fn create_customer(State(st): State<AppState>, Body(c): Body<NewCustomer>) -> Response {
    let r = admin::create_customer(
        &st,
        admin::NewCustomer {
            name: &c.name,
            company_id: c.company_id,
            headimgurl: c.headimgurl.as_deref(),
            user_type: c.user_type,
        },
    )
    .await;
    answer(
        StatusCode::CREATED,
        r.map(|(id, token)| Credentials { id, token }),
    )
}

async fn create_relation(State(st): State<AppState>, Body(r): Body<NewRelation>) -> Response {
    answer(
        StatusCode::CREATED,
        admin::create_relation(&st, r.user_id, r.customer_id, r.source)
            .await
            .map(|id| Created { id }),
    )
}

async fn rotate(st: &AppState, side: Side, raw: &str) -> Response {
    // Anything but an integer names nothing that exists.
    let Ok(id) = raw.parse::<i64>() else {
        return refuse(StatusCode::NOT_FOUND, "not found", None);
    };
    match admin::rotate_token(st, side, id).await {
        Ok(token) => (StatusCode::OK, Json(Credentials { id, token })).into_response(),
        // The service names the missing row as a field error on `id`.
        Err(Error::Fields(f)) if f.has("id") => refuse(StatusCode::NOT_FOUND, "not found", Some(f)),
        Err(e) => service_error(e),
    }
}

async fn rotate_user(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    rotate(&st, Side::Sales, &id).await
}

async fn rotate_customer(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    rotate(&st, Side::Customer, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn bearer_parses_the_scheme_in_any_case() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        for (v, want) in [
            ("Bearer abc", Some(&b"abc"[..])),
            ("bearer  abc ", Some(&b"abc"[..])),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
            assert_eq!(bearer(&h), want, "{v}");
        }
    }

    #[test]
    fn only_the_token_passes() {
        let g = Gate::new(TOKEN);
        let now = Instant::now();
        assert_eq!(g.admit(Some(TOKEN.as_bytes()), now), Ok(()));
        assert_eq!(
            g.admit(Some(&TOKEN.as_bytes()[1..]), now),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            g.admit(Some(format!("{TOKEN}x").as_bytes()), now),
            Err(Refusal::Wrong)
        );
        assert_eq!(g.admit(None, now), Err(Refusal::Missing));
    }

    /// After the burst of wrong tokens, wrong and missing tokens wait while
    /// the right one still passes; one refill later one more wrong attempt is
    /// checked.
    #[test]
    fn wrong_tokens_lock_out_guesses_only() {
        let g = Gate::new(TOKEN);
        let t0 = Instant::now();
        for _ in 0..FAILURE_BURST as usize {
            assert_eq!(g.admit(Some(b"guess"), t0), Err(Refusal::Wrong));
        }
        assert_eq!(
            g.admit(Some(b"guess"), t0),
            Err(Refusal::Locked(FAILURE_REFILL.as_secs()))
        );
        assert!(matches!(g.admit(None, t0), Err(Refusal::Locked(_))));
        assert_eq!(g.admit(Some(TOKEN.as_bytes()), t0), Ok(()));
        let later = t0 + FAILURE_REFILL;
        assert_eq!(g.admit(Some(b"guess"), later), Err(Refusal::Wrong));
        assert!(matches!(
            g.admit(Some(b"guess"), later),
            Err(Refusal::Locked(_))
        ));
        // A correct token spends nothing.
        for _ in 0..100 {
            assert_eq!(g.admit(Some(TOKEN.as_bytes()), later), Ok(()));
        }
    }
}
