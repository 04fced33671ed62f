//! Sign-in inside WeCom (reps) and WeChat (customers), issue 16: the signed
//! `state` that carries a sign-in through the OAuth page and back.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;
use crate::db::Db;

/// The key that signs `state`s. Its `Debug` never shows it.
#[derive(Clone)]
pub struct StateKey(Arc<[u8]>);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(***)")
    }
}

impl StateKey {
    /// `RADAR_STATE_KEY` when set; else the database's key, made on the first
    /// start. Every instance must verify the `state`s the others signed (the
    /// OAuth page may send the browser back to any of them), and they already
    /// share the database, so the key lives there rather than in each process.
    pub async fn load(db: &Db, configured: Option<&Secret>) -> Result<StateKey, String> {
        if let Some(k) = configured {
            return Ok(StateKey(k.0.as_bytes().into()));
        }
        let mut fresh = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        sqlx::query(
            "INSERT INTO server_key (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(STATE_KEY_NAME)
        .bind(app::sign::hex(&fresh))
        .execute(&db.pool)
        .await
        .map_err(|e| format!("cannot store the sign-in key: {e}"))?;
        let stored: String = sqlx::query_scalar("SELECT value FROM server_key WHERE name = $1")
            .bind(STATE_KEY_NAME)
            .fetch_one(&db.pool)
            .await
            .map_err(|e| format!("cannot read the sign-in key: {e}"))?;
        Ok(StateKey(stored.as_bytes().into()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

const STATE_KEY_NAME: &str = "sign_in_state";

/// How long a `state` stays good: the time to get through the OAuth page.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// Longest `next` accepted.
pub const MAX_NEXT_CHARS: usize = 512;

/// Which sign-in a `state` belongs to, so one flow's state is no good for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Rep,
    Customer,
}

/// Where a sign-in lands: the company, the page, and (customers) the sharing rep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    pub company_id: i64,
    pub next: String,
    pub uid: Option<i64>,
}

impl StateKey {
    fn tag(&self, flow: Flow, landing: &Landing, issued_secs: i64) -> Hmac<Sha256> {
        let mut mac = self.mac();
        let flow = match flow {
            Flow::Rep => "wecom",
            Flow::Customer => "wechat",
        };
        let uid = landing.uid.map(|u| u.to_string()).unwrap_or_default();
        mac.update(
            format!(
                "{flow}|{}|{}|{uid}|{issued_secs}",
                landing.company_id, landing.next
            )
            .as_bytes(),
        );
        mac
    }

    /// `t<issued, epoch s>s<HMAC-SHA256 over flow|company_id|next|uid|issued,
    /// first 128 bits in hex>`. WeChat allows only `[a-zA-Z0-9]` and 128 bytes
    /// in `state`, so `next` and `uid` travel in the callback URL's query and
    /// the state signs them there.
    pub fn sign(&self, flow: Flow, landing: &Landing, now_ms: i64) -> String {
        let issued = now_ms.div_euclid(1000);
        let tag = self.tag(flow, landing, issued).finalize().into_bytes();
        format!("t{issued}s{}", app::sign::hex(&tag[..16]))
    }

    /// True when `state` was signed by this key for this flow and landing, and
    /// is at most [`STATE_TTL_MS`] old.
    pub fn verify(&self, flow: Flow, landing: &Landing, state: &str, now_ms: i64) -> bool {
        let Some((issued, tag)) = state.strip_prefix('t').and_then(|s| s.split_once('s')) else {
            return false;
        };
        let (Ok(issued), Some(tag)) = (issued.parse::<i64>(), unhex(tag)) else {
            return false;
        };
        let age_ms = now_ms - issued.saturating_mul(1000);
        if tag.len() != 16 || !(-60_000..=STATE_TTL_MS).contains(&age_ms) {
            return false;
        }
        self.tag(flow, landing, issued)
            .verify_truncated_left(&tag)
            .is_ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// `next` when it is a path on this site: starts with `/` but not `//`, no
/// backslash (browsers read `/\host` as `//host`), no fragment, only visible
/// ASCII (no control characters or spaces; it goes into a `Location` header).
/// A path cannot carry a scheme or a host, so the redirect stays here.
pub fn same_site_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_NEXT_CHARS
        && next
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'#');
    ok.then_some(next)
}

#[cfg(test)]
#[path = "tests/signin.rs"]
mod tests;
