//! Sign-in inside WeCom (reps) and WeChat (customers), issue 16: the signed
//! `state` that carries a sign-in through the OAuth page and back.

use app::api::signin::SignInOptions;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;
use crate::db::Db;
use crate::error::Error;
use crate::integrations::http::enc;
use crate::integrations::wechat::{self, OfficialAccount};
use crate::integrations::wecom::{self, WecomApp};
use crate::integrations::ApiError;
use crate::service::admin::MAX_NAME_CHARS;
use crate::AppState;

/// The key that signs `state`s, ready as an HMAC. Its `Debug` never shows it.
#[derive(Clone)]
pub struct StateKey(Hmac<Sha256>);

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
            return StateKey::new(k.0.as_bytes());
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
        StateKey::new(stored.as_bytes())
    }

    /// Keyed once at start, so signing and checking a `state` cannot fail.
    pub fn new(key: &[u8]) -> Result<StateKey, String> {
        Hmac::<Sha256>::new_from_slice(key)
            .map(StateKey)
            .map_err(|e| format!("unusable sign-in key: {e}"))
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.0.clone()
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

/// Why a sign-in was refused; the adapter shows each as a page.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A missing or malformed parameter, or a `next` off this site (400).
    #[error("bad request")]
    BadRequest,
    /// A `state` that is forged, altered or expired (400).
    #[error("bad state")]
    BadState,
    /// A `code` that is malformed, used or expired (400).
    #[error("bad code")]
    BadCode,
    /// No such company, or it has not set up this sign-in (403).
    #[error("sign-in not configured")]
    Unconfigured,
    /// The company's account has expired (403).
    #[error("company account expired")]
    Expired,
    /// The WeCom member is not a rep of this company (403).
    #[error("unknown rep")]
    UnknownRep,
    /// WeCom or WeChat is unreachable or refused for another reason (503).
    #[error("upstream: {0}")]
    Upstream(ApiError),
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Internal(e.into())
    }
}

/// A successful sign-in: whose credentials, and the page to open with them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: i64,
    pub token: String,
    pub next: String,
}

/// The rep's landing page when the link names none.
pub const REP_HOME: &str = "/rep";
/// Longest `code` accepted (WeCom's and WeChat's are 32 characters).
pub const MAX_CODE_CHARS: usize = 512;

fn code_ok(code: &str) -> Result<&str, Refusal> {
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(code).ok_or(Refusal::BadCode)
}

fn next_ok(next: Option<&str>, default: Option<&str>) -> Result<String, Refusal> {
    next.or(default)
        .and_then(same_site_path)
        .map(str::to_owned)
        .ok_or(Refusal::BadRequest)
}

/// A positive rep id, when the link carries one.
pub fn uid_ok(uid: Option<&str>) -> Result<Option<i64>, Refusal> {
    match uid {
        None => Ok(None),
        Some(u) => match u.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Refusal::BadRequest),
        },
    }
}

/// What the upstream failure means for the person signing in.
fn upstream(company_id: i64, service: &'static str, e: ApiError) -> Refusal {
    if e.is_bad_code() {
        return Refusal::BadCode;
    }
    // errcode and the failure's kind only: never the URL, which holds secrets.
    tracing::warn!(company_id, service, errcode = ?e.errcode(), error = %e, "sign-in call failed");
    Refusal::Upstream(e)
}

/// The company exists and its account has not expired.
async fn company_open(st: &AppState, company_id: i64) -> Result<(), Refusal> {
    let expiry: Option<Option<i64>> =
        sqlx::query_scalar("SELECT account_expired_time FROM company WHERE id = $1")
            .bind(company_id)
            .fetch_optional(&st.db.pool)
            .await?;
    match expiry {
        None => Err(Refusal::Unconfigured),
        Some(Some(t)) if t <= st.clock.now_ms() => Err(Refusal::Expired),
        Some(_) => Ok(()),
    }
}

pub async fn wecom_app(st: &AppState, company_id: i64) -> Result<Option<WecomApp>, Error> {
    Ok(sqlx::query_as::<_, WecomApp>(
        "SELECT company_id, corp_id, agent_id, secret FROM wecom_app WHERE company_id = $1",
    )
    .bind(company_id)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// The company's Official Account when customers can sign in with it (it has a secret).
pub async fn official_account(
    st: &AppState,
    company_id: i64,
) -> Result<Option<OfficialAccount>, Error> {
    Ok(sqlx::query_as::<_, OfficialAccount>(
        "SELECT company_id, authorization_appid AS appid, secret FROM gongzhonghao_app
         WHERE company_id = $1 AND secret <> '' AND authorization_appid <> ''",
    )
    .bind(company_id)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// The article page a share link lands on. It keeps `?uid=`, the rep the page
/// reports the view to, and `company_id`, so that someone who opens a
/// forwarded copy (without credentials) is offered this sign-in.
pub fn article_page(company_id: i64, article_id: i64, uid: i64) -> String {
    format!("/h5/article/{article_id}?uid={uid}&company_id={company_id}")
}

/// The link a rep shares for an article when the company's customers sign in
/// with its Official Account: through `/auth/wechat/{company_id}/start`, which
/// lands on the article signed in and bound to `uid`. Absolute, on
/// `RADAR_PUBLIC_URL`, because it is opened from WeChat, off this site.
pub fn share_link(public_url: &str, company_id: i64, article_id: i64, uid: i64) -> String {
    format!(
        "{}/auth/wechat/{company_id}/start?next={}&uid={uid}",
        public_url.trim_end_matches('/'),
        enc(&article_page(company_id, article_id, uid))
    )
}

/// The sign-ins a company offers: each one whose start link would send the
/// person on to WeCom or WeChat rather than refuse.
pub async fn options(st: &AppState, company_id: i64) -> Result<SignInOptions, Error> {
    match company_open(st, company_id).await {
        Ok(()) => {}
        Err(Refusal::Internal(e)) => return Err(e),
        Err(_) => return Ok(SignInOptions::default()),
    }
    Ok(SignInOptions {
        wecom: wecom_app(st, company_id).await?.is_some(),
        wechat: official_account(st, company_id).await?.is_some(),
    })
}

fn callback_uri(st: &AppState, kind: &str, l: &Landing) -> String {
    let mut uri = format!(
        "{}/auth/{kind}/{}?next={}",
        st.config.public_url.trim_end_matches('/'),
        l.company_id,
        enc(&l.next)
    );
    if let Some(uid) = l.uid {
        uri.push_str(&format!("&uid={uid}"));
    }
    uri
}

/// `GET /auth/wecom/{company_id}/start`: the WeCom authorize page to send the
/// rep to, coming back to `/auth/wecom/{company_id}` with a code.
pub async fn rep_start(
    st: &AppState,
    company_id: i64,
    next: Option<&str>,
) -> Result<String, Refusal> {
    let next = next_ok(next, Some(REP_HOME))?;
    company_open(st, company_id).await?;
    let app = wecom_app(st, company_id)
        .await?
        .ok_or(Refusal::Unconfigured)?;
    let landing = Landing {
        company_id,
        next,
        uid: None,
    };
    let state = st.state_key.sign(Flow::Rep, &landing, st.clock.now_ms());
    let redirect = callback_uri(st, "wecom", &landing);
    Ok(wecom::authorize_url(
        &st.weixin.open,
        &app,
        &redirect,
        &state,
    ))
}

/// `GET /auth/wecom/{company_id}?code&state&next`: the rep WeCom signed in,
/// with their name and avatar brought up to date.
pub async fn rep_callback(
    st: &AppState,
    company_id: i64,
    code: Option<&str>,
    state: Option<&str>,
    next: Option<&str>,
) -> Result<SignedIn, Refusal> {
    let next = next_ok(next, Some(REP_HOME))?;
    let code = code_ok(code.unwrap_or(""))?;
    let landing = Landing {
        company_id,
        next,
        uid: None,
    };
    if !st
        .state_key
        .verify(Flow::Rep, &landing, state.unwrap_or(""), st.clock.now_ms())
    {
        return Err(Refusal::BadState);
    }
    company_open(st, company_id).await?;
    let app = wecom_app(st, company_id)
        .await?
        .ok_or(Refusal::Unconfigured)?;
    let member = st
        .weixin
        .wecom
        .sign_in(&app, code)
        .await
        .map_err(|e| upstream(company_id, "wecom", e))?
        .ok_or(Refusal::UnknownRep)?;
    let rep: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, token FROM sales_user WHERE company_id = $1 AND wecom_userid = $2",
    )
    .bind(company_id)
    .bind(&member.userid)
    .fetch_optional(&st.db.pool)
    .await?;
    let (user_id, token) = rep.ok_or(Refusal::UnknownRep)?;
    let name = member.name.as_deref().and_then(display_name);
    let avatar = member.avatar.as_deref().and_then(picture);
    if name.is_some() || avatar.is_some() {
        let mut tx = st.db.begin_write().await?;
        sqlx::query(
            "UPDATE sales_user SET username = COALESCE($1, username), avatar = COALESCE($2, avatar)
             WHERE id = $3",
        )
        .bind(name)
        .bind(avatar)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
    }
    Ok(SignedIn {
        user_id,
        token,
        next: landing.next,
    })
}

/// A name from WeCom or WeChat as Radar stores names: trimmed, without control
/// characters, at most [`MAX_NAME_CHARS`]; `None` when nothing is left.
fn display_name(raw: &str) -> Option<String> {
    let clean: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// An avatar link, when it passes the rules of links (`check_url`).
fn picture(raw: &str) -> Option<&str> {
    app::domain::check_url(raw).ok().map(|_| raw)
}

/// The relation source of a customer who came through a rep's article share.
pub const SOURCE_ARTICLE_SHARE: i64 = 4;
/// A customer whose WeChat nickname is empty.
pub const NO_NICKNAME: &str = "微信用户";

/// `GET /auth/wechat/{company_id}/start?next&uid`: the Official Account's
/// authorize page, coming back to `/auth/wechat/{company_id}` with a code.
pub async fn customer_start(
    st: &AppState,
    company_id: i64,
    next: Option<&str>,
    uid: Option<&str>,
) -> Result<String, Refusal> {
    let next = next_ok(next, None)?;
    let uid = uid_ok(uid)?;
    company_open(st, company_id).await?;
    let oa = official_account(st, company_id)
        .await?
        .ok_or(Refusal::Unconfigured)?;
    let landing = Landing {
        company_id,
        next,
        uid,
    };
    let state = st
        .state_key
        .sign(Flow::Customer, &landing, st.clock.now_ms());
    let redirect = callback_uri(st, "wechat", &landing);
    Ok(wechat::authorize_url(
        &st.weixin.open,
        &oa,
        &redirect,
        &state,
    ))
}

#[derive(sqlx::FromRow)]
struct Known {
    id: i64,
    token: String,
}

/// `GET /auth/wechat/{company_id}?code&state&next&uid`: the customer WeChat
/// signed in, found by (company, openid) or created, nickname and avatar
/// brought up to date, and bound to the sharing rep when that rep is of the
/// same company (a `uid` from elsewhere is ignored).
pub async fn customer_callback(
    st: &AppState,
    company_id: i64,
    code: Option<&str>,
    state: Option<&str>,
    next: Option<&str>,
    uid: Option<&str>,
) -> Result<SignedIn, Refusal> {
    let next = next_ok(next, None)?;
    let uid = uid_ok(uid)?;
    let code = code_ok(code.unwrap_or(""))?;
    let landing = Landing {
        company_id,
        next,
        uid,
    };
    if !st.state_key.verify(
        Flow::Customer,
        &landing,
        state.unwrap_or(""),
        st.clock.now_ms(),
    ) {
        return Err(Refusal::BadState);
    }
    company_open(st, company_id).await?;
    let oa = official_account(st, company_id)
        .await?
        .ok_or(Refusal::Unconfigured)?;
    let reader = st
        .weixin
        .wechat
        .sign_in(&oa, code)
        .await
        .map_err(|e| upstream(company_id, "wechat", e))?;
    let nickname = reader.nickname.as_deref().and_then(display_name);
    let headimgurl = reader.headimgurl.as_deref().and_then(picture);
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let known = sqlx::query_as::<_, Known>(
        "SELECT id, token FROM customer WHERE company_id = $1 AND openid = $2",
    )
    .bind(company_id)
    .bind(&reader.openid)
    .fetch_optional(&mut **tx)
    .await?;
    let customer = match known {
        Some(k) => {
            sqlx::query(
                "UPDATE customer SET username = COALESCE($1, username),
                 headimgurl = COALESCE($2, headimgurl) WHERE id = $3",
            )
            .bind(nickname.as_deref())
            .bind(headimgurl)
            .bind(k.id)
            .execute(&mut **tx)
            .await?;
            k
        }
        None => {
            let token = super::new_token();
            // Two first visits at once (PostgreSQL): the second waits for the
            // first to commit, inserts nothing, and reads the first's row.
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO customer (company_id, username, headimgurl, token, openid, user_type, create_date)
                 VALUES ($1, $2, COALESCE($3, 'statics/imgs/Avator.jpg'), $4, $5, 1, $6)
                 ON CONFLICT (company_id, openid) WHERE openid IS NOT NULL DO NOTHING RETURNING id",
            )
            .bind(company_id)
            .bind(nickname.as_deref().unwrap_or(NO_NICKNAME))
            .bind(headimgurl)
            .bind(&token)
            .bind(&reader.openid)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
            match id {
                Some(id) => Known { id, token },
                None => {
                    sqlx::query_as::<_, Known>(
                        "SELECT id, token FROM customer WHERE company_id = $1 AND openid = $2",
                    )
                    .bind(company_id)
                    .bind(&reader.openid)
                    .fetch_one(&mut **tx)
                    .await?
                }
            }
        }
    };
    if let Some(uid) = uid {
        let same_company: Option<i64> =
            sqlx::query_scalar("SELECT id FROM sales_user WHERE id = $1 AND company_id = $2")
                .bind(uid)
                .bind(company_id)
                .fetch_optional(&mut **tx)
                .await?;
        if same_company.is_some() {
            sqlx::query(
                "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, customer_id) DO NOTHING",
            )
            .bind(uid)
            .bind(customer.id)
            .bind(SOURCE_ARTICLE_SHARE)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(SignedIn {
        user_id: customer.id,
        token: customer.token,
        next: landing.next,
    })
}
#[cfg(test)]
#[path = "tests/signin.rs"]
mod tests;
