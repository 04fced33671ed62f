//! Signed requests (contract §2): `rand_str == md5(timestamp + token)`, `user_id`
//! in the query string; customers on `gongzhonghao/*`, sales users on `qiyeweixin/*`.

use std::collections::HashMap;
use std::num::IntErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::api::Side;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::bus::{Bus, Event};
use crate::error::{ApiError, Error};
use crate::extract::{parse_id, Fields, ParsedQuery};
use crate::AppState;

/// How far ahead of the server clock a signature may be dated (contract §6
/// "Freshness"). Independent of `RADAR_AUTH_MAX_SKEW_SECS`, which bounds the past.
pub const MAX_FUTURE_SECS: i64 = 60;

/// How often every instance reads the rotation log. Rotation must reach every
/// instance within 5 s (contract §6); one small indexed query a second does it
/// even when another process (the CLI on SQLite) rotated without telling anyone.
pub const ROTATION_POLL: Duration = Duration::from_secs(1);

/// The query reading a party's token.
fn token_sql(party: Side) -> &'static str {
    match party {
        Side::Customer => "SELECT token FROM customer WHERE id = $1",
        Side::Sales => "SELECT token FROM sales_user WHERE id = $1",
    }
}

/// A party's name in the `token_rotation` log.
pub fn party_name(party: Side) -> &'static str {
    match party {
        Side::Customer => "customer",
        Side::Sales => "sales",
    }
}

fn parse_party(s: &str) -> Option<Side> {
    match s {
        "customer" => Some(Side::Customer),
        "sales" => Some(Side::Sales),
        _ => None,
    }
}

/// Tokens already read from the database, keyed by (party, id): every signed
/// request would otherwise pay one database round trip for it. A rotated token
/// is evicted by the `TokenRotated` event (this process, PostgreSQL NOTIFY, or
/// the rotation log poll), so entries need no lifetime. Ids that are not found
/// are not remembered, so users created later are seen on first use.
#[derive(Clone, Default)]
pub struct TokenCache(Arc<CacheInner>);

#[derive(Default)]
struct CacheInner {
    map: RwLock<TokenMap>,
    /// Bumped on every eviction. A token read from the database is only cached
    /// if no eviction happened since the read began: otherwise a read racing a
    /// rotation could put the old token back after its eviction.
    epoch: AtomicU64,
}

type TokenMap = HashMap<(Side, i64), Arc<str>>;

/// Bound on remembered tokens; when reached the cache starts over, so memory
/// stays bounded and the active users refill it.
const TOKEN_CACHE_MAX: usize = 100_000;

impl TokenCache {
    /// A cache that drops rotated tokens as the bus delivers their events.
    pub fn following(bus: &Bus) -> TokenCache {
        let cache = TokenCache::default();
        let c = cache.clone();
        bus.set_observer(move |ev| {
            if let Event::TokenRotated { party, id } = ev {
                c.evict(*party, *id);
            }
        });
        cache
    }
    fn get(&self, party: Side, id: i64) -> Option<Arc<str>> {
        self.0.map.read().ok()?.get(&(party, id)).cloned()
    }
    fn epoch(&self) -> u64 {
        self.0.epoch.load(Ordering::Acquire)
    }
    fn insert(&self, party: Side, id: i64, token: Arc<str>, read_at: u64) {
        if let Ok(mut m) = self.0.map.write() {
            if self.epoch() != read_at {
                return;
            }
            if m.len() >= TOKEN_CACHE_MAX {
                m.clear();
            }
            m.insert((party, id), token);
        }
    }
    pub fn evict(&self, party: Side, id: i64) {
        let mut m = self.0.map.write().unwrap_or_else(|e| e.into_inner());
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
        m.remove(&(party, id));
    }
    pub fn clear(&self) {
        let mut m = self.0.map.write().unwrap_or_else(|e| e.into_inner());
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
        m.clear();
    }
}

/// The party's current token (cached), `None` for an unknown id.
pub async fn token_of(st: &AppState, party: Side, id: i64) -> Result<Option<Arc<str>>, Error> {
    if let Some(t) = st.tokens.get(party, id) {
        return Ok(Some(t));
    }
    let read_at = st.tokens.epoch();
    let token: Option<String> = sqlx::query_scalar(token_sql(party))
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(token.map(|t| {
        let t: Arc<str> = t.into();
        st.tokens.insert(party, id, t.clone(), read_at);
        t
    }))
}

/// One row of the `token_rotation` log.
#[derive(sqlx::FromRow)]
struct RotationRow {
    id: i64,
    party: String,
    ref_id: i64,
}

/// Follows the `token_rotation` log of the database: every row written after
/// this instance started becomes a local `TokenRotated` event (evicting the
/// cached token, waking the sockets it authenticated). Runs until aborted.
pub async fn follow_rotations(st: AppState) {
    let mut tick = tokio::time::interval(ROTATION_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen: Option<i64> = None;
    loop {
        tick.tick().await;
        match seen {
            None => {
                let max: Result<i64, _> = sqlx::query_scalar(
                    "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM token_rotation",
                )
                .fetch_one(&st.db.pool)
                .await;
                if let Ok(max) = max {
                    seen = Some(max);
                    // A token cached before the log's end was known may be one
                    // rotated just before it: start from the database.
                    st.tokens.clear();
                }
            }
            Some(after) => {
                let rows = sqlx::query_as::<_, RotationRow>(
                    "SELECT id, party, ref_id FROM token_rotation WHERE id > $1 ORDER BY id LIMIT 1000",
                )
                .bind(after)
                .fetch_all(&st.db.pool)
                .await;
                let Ok(rows) = rows else {
                    continue;
                };
                for r in rows {
                    seen = Some(r.id);
                    if let Some(party) = parse_party(&r.party) {
                        st.bus.publish_local(Event::TokenRotated {
                            party,
                            id: r.ref_id,
                        });
                    }
                }
            }
        }
    }
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
pub async fn verify(st: &AppState, party: Side, c: &Credentials) -> Result<i64, Error> {
    verify_token(st, party, c).await.map(|(id, _)| id)
}

/// As [`verify`], also returning the token the signature was checked against
/// (a socket keeps it, to notice when it is rotated).
pub async fn verify_token(
    st: &AppState,
    party: Side,
    c: &Credentials,
) -> Result<(i64, Arc<str>), Error> {
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
    check_fresh(&ts, st.clock.now_ms(), st.config.auth_max_skew_secs)?;
    let token = token_of(st, party, id)
        .await?
        .ok_or(Error::Auth("unknown user"))?;
    let expected = app::sign::rand_str(&ts, &token);
    if constant_time_eq(expected.as_bytes(), sent.to_ascii_lowercase().as_bytes()) {
        Ok((id, token))
    } else {
        Err(Error::Auth("signature mismatch"))
    }
}

/// Freshness (contract §2, §6): `ts` (epoch ms) may lie at most
/// [`MAX_FUTURE_SECS`] ahead of `now_ms` and at most `skew_secs` behind it.
/// `skew_secs == 0` (legacy clients) lifts the past bound and lets a timestamp
/// that is not a number through, but a numeric timestamp dated too far ahead is
/// refused whatever the setting: a future date only serves to make a signature
/// that stays valid longer. No arithmetic here can overflow.
pub fn check_fresh(ts: &str, now_ms: i64, skew_secs: i64) -> Result<(), Error> {
    const FUTURE: Error = Error::Auth("timestamp too far in the future");
    const STALE: Error = Error::Auth("timestamp outside the allowed window");
    let ms = match ts.trim().parse::<i64>() {
        Ok(ms) => ms,
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => return Err(FUTURE),
        Err(e) if *e.kind() == IntErrorKind::NegOverflow && skew_secs > 0 => return Err(STALE),
        Err(_) if skew_secs <= 0 => return Ok(()),
        Err(_) => return Err(Error::Auth("timestamp missing or not epoch milliseconds")),
    };
    let future_ms = (MAX_FUTURE_SECS as u64) * 1000;
    if ms > now_ms && ms.abs_diff(now_ms) > future_ms {
        return Err(FUTURE);
    }
    let past_ms = u64::try_from(skew_secs).unwrap_or(0).saturating_mul(1000);
    if past_ms > 0 && ms < now_ms && now_ms.abs_diff(ms) > past_ms {
        return Err(STALE);
    }
    Ok(())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every REST authentication goes through here, so every POST (the API's
/// writes) is charged to the write budget, once, and only after the
/// credentials were accepted: a stranger cannot spend someone else's budget.
async fn from_query(parts: &Parts, st: &AppState, party: Side) -> Result<(i64, Fields), ApiError> {
    let q = Fields::parse_urlencoded(parts.uri.query().unwrap_or(""))
        .map_err(|_| Error::Auth("query string unreadable"))?;
    let id = verify(st, party, &Credentials::from_fields(&q)).await?;
    crate::telemetry::set_principal(&parts.extensions, party, id);
    if parts.method == axum::http::Method::POST {
        st.writes.charge(party, id)?;
    }
    Ok((id, q))
}

/// Authenticates, and leaves the parsed query for the handler's `Query`.
async fn authenticate(parts: &mut Parts, st: &AppState, party: Side) -> Result<i64, ApiError> {
    let (id, q) = from_query(parts, st, party).await?;
    parts.extensions.insert(ParsedQuery(q));
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
        authenticate(parts, st, Side::Customer)
            .await
            .map(CustomerAuth)
    }
}

impl FromRequestParts<AppState> for SalesAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, st, Side::Sales).await.map(SalesAuth)
    }
}

/// The party a documented path authenticates as.
pub fn party_of_path(path: &str) -> Side {
    if path.contains("/qiyeweixin/") {
        Side::Sales
    } else {
        Side::Customer
    }
}

/// Authenticates by path, for fallbacks that must answer `token异常` before `请求异常`.
pub async fn verify_for_path(parts: &Parts, st: &AppState) -> Result<i64, ApiError> {
    from_query(parts, st, party_of_path(parts.uri.path()))
        .await
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::check_fresh;

    #[test]
    fn freshness_bounds() {
        let now = 1_700_000_000_000i64;
        let ahead = |s: i64| (now + s * 1000).to_string();
        let lim = super::MAX_FUTURE_SECS;
        assert!(check_fresh(&ahead(lim), now, 900).is_ok());
        assert!(check_fresh(&ahead(lim + 1), now, 900).is_err());
        assert!(
            check_fresh(&ahead(lim + 1), now, 0).is_err(),
            "future rule stays on"
        );
        assert!(check_fresh(&ahead(-900), now, 900).is_ok());
        assert!(check_fresh(&ahead(-901), now, 900).is_err());
        assert!(check_fresh(&ahead(-1_000_000), now, 0).is_ok());
        for extreme in [i64::MIN, i64::MAX, -1, 0] {
            assert!(
                check_fresh(&extreme.to_string(), now, 900).is_err(),
                "{extreme}"
            );
        }
        assert!(check_fresh(&i64::MAX.to_string(), now, 0).is_err());
        assert!(check_fresh("99999999999999999999999", now, 0).is_err());
        assert!(check_fresh("-99999999999999999999999", now, 900).is_err());
        assert!(check_fresh("abc", now, 900).is_err());
        assert!(check_fresh("abc", now, 0).is_ok(), "legacy clients");
        assert!(check_fresh(&now.to_string(), i64::MIN, 900).is_err());
        assert!(check_fresh(&now.to_string(), i64::MAX, i64::MAX).is_ok());
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
