//! Signed requests (contract §2): `rand_str == md5(timestamp + token)`, `user_id`
//! in the query string; customers on `gongzhonghao/*`, sales users on `qiyeweixin/*`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::{ApiError, Error};
use crate::extract::{parse_id, Fields};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Customer,
    Sales,
}

impl Party {
    fn table(self) -> &'static str {
        match self {
            Party::Customer => "SELECT token FROM customer WHERE id = $1",
            Party::Sales => "SELECT token FROM sales_user WHERE id = $1",
        }
    }
}

/// Tokens already read from the database, keyed by (party, id). Tokens are
/// never rotated or deleted, so an entry never goes stale; ids that are not
/// found are not remembered, so users created later are seen on first use.
/// Every signed request would otherwise pay one database round trip for it.
#[derive(Clone, Default)]
pub struct TokenCache(Arc<RwLock<TokenMap>>);

type TokenMap = HashMap<(Party, i64), Arc<str>>;

/// Bound on remembered tokens; when reached the cache starts over, so memory
/// stays bounded and the active users refill it.
const TOKEN_CACHE_MAX: usize = 100_000;

impl TokenCache {
    fn get(&self, party: Party, id: i64) -> Option<Arc<str>> {
        self.0.read().ok()?.get(&(party, id)).cloned()
    }
    fn insert(&self, party: Party, id: i64, token: Arc<str>) {
        if let Ok(mut m) = self.0.write() {
            if m.len() >= TOKEN_CACHE_MAX {
                m.clear();
            }
            m.insert((party, id), token);
        }
    }
}

async fn token_of(st: &AppState, party: Party, id: i64) -> Result<Option<Arc<str>>, Error> {
    if let Some(t) = st.tokens.get(party, id) {
        return Ok(Some(t));
    }
    let token: Option<String> = sqlx::query_scalar(party.table())
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(token.map(|t| {
        let t: Arc<str> = t.into();
        st.tokens.insert(party, id, t.clone());
        t
    }))
}

/// Credentials as sent: in the query string of HTTP requests and socket upgrades,
/// or as fields of a socket frame.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub user_id: Option<String>,
    pub timestamp: Option<String>,
    pub rand_str: Option<String>,
}

impl Credentials {
    pub fn from_fields(f: &Fields) -> Credentials {
        Credentials {
            user_id: f.text("user_id"),
            timestamp: f.text("timestamp"),
            rand_str: f.text("rand_str"),
        }
    }
    pub fn is_present(&self) -> bool {
        self.rand_str.is_some()
    }
}

/// Checks credentials against the party's table; returns the authenticated id.
pub async fn verify(st: &AppState, party: Party, c: &Credentials) -> Result<i64, Error> {
    let id = c
        .user_id
        .as_deref()
        .and_then(parse_id)
        .ok_or(Error::Auth("user_id missing or not a number"))?;
    let sent = c
        .rand_str
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Error::Auth("rand_str missing"))?;
    let ts = c.timestamp.clone().unwrap_or_default();
    let skew = st.config.auth_max_skew_secs;
    if skew > 0 {
        let ms: i64 = ts
            .trim()
            .parse()
            .map_err(|_| Error::Auth("timestamp missing or not epoch milliseconds"))?;
        if (st.clock.now_ms() - ms).abs() > skew.saturating_mul(1000) {
            return Err(Error::Auth("timestamp outside the allowed window"));
        }
    }
    let token = token_of(st, party, id)
        .await?
        .ok_or(Error::Auth("unknown user"))?;
    let expected = app::sign::rand_str(&ts, &token);
    if constant_time_eq(expected.as_bytes(), sent.to_ascii_lowercase().as_bytes()) {
        Ok(id)
    } else {
        Err(Error::Auth("signature mismatch"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every REST authentication goes through here, so every POST (the API's
/// writes) is charged to the write budget, once, and only after the
/// credentials were accepted: a stranger cannot spend someone else's budget.
async fn from_query(parts: &Parts, st: &AppState, party: Party) -> Result<i64, ApiError> {
    let q = Fields::parse_urlencoded(parts.uri.query().unwrap_or(""))
        .map_err(|_| Error::Auth("query string unreadable"))?;
    let id = verify(st, party, &Credentials::from_fields(&q)).await?;
    if parts.method == axum::http::Method::POST {
        st.writes.charge(party, id)?;
    }
    Ok(id)
}

/// An authenticated customer (`zgld_customer`).
#[derive(Debug, Clone, Copy)]
pub struct CustomerAuth(pub i64);

/// An authenticated sales user (`zgld_userprofile`).
#[derive(Debug, Clone, Copy)]
pub struct SalesAuth(pub i64);

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        from_query(parts, st, Party::Customer)
            .await
            .map(CustomerAuth)
    }
}

impl FromRequestParts<AppState> for SalesAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        from_query(parts, st, Party::Sales).await.map(SalesAuth)
    }
}

/// The party a documented path authenticates as.
pub fn party_of_path(path: &str) -> Party {
    if path.contains("/qiyeweixin/") {
        Party::Sales
    } else {
        Party::Customer
    }
}

/// Authenticates by path, for fallbacks that must answer `token异常` before `请求异常`.
pub async fn verify_for_path(parts: &Parts, st: &AppState) -> Result<i64, ApiError> {
    from_query(parts, st, party_of_path(parts.uri.path())).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_works() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
