//! Standard Webhooks (issue 12, contract §7).
//!
//! * **Endpoints.** [`create`], [`list`] and [`delete`] hold the rules; the
//!   CLI (and the admin API) only adapt them. A secret is `whsec_` + base64 of
//!   32 random bytes, stored as given (it keys the signatures) and shown once.
//! * **Outbox.** [`queue`] runs inside the transaction of what caused the
//!   event (a chat message, a sign-up, an article view, a review) and adds one
//!   `webhook_delivery` row per endpoint of the company subscribed to the
//!   type, with the body already rendered: a committed event always has its
//!   deliveries stored, and retries send the same bytes.
//! * **Worker.** [`run`], one per instance, claims due rows one at a time with
//!   an UPDATE that sets a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`) and
//!   attempts up to [`MAX_IN_FLIGHT`] at once, so that a silent endpoint does
//!   not hold up the others. With several instances each attempt is made by one
//!   of them; a row whose worker died is taken over when its lease ends. Per
//!   endpoint, rows go out in id order: a row is not claimed while an older one
//!   of its endpoint is pending (on PostgreSQL, events committed concurrently
//!   may commit out of id order; those of one conversation cannot, the
//!   relation's row lock orders them). Any 2xx acknowledges; anything else (3xx
//!   included: redirects are not followed), a refused connection or no answer
//!   within `Config::webhook_timeout` is retried after `Config::webhook_retry`,
//!   doubling up to [`RETRY_MAX_MS`], until [`HORIZON_MS`] after the event;
//!   then it is given up and the endpoint shows as failing until a later
//!   success. Done rows are deleted after [`RETENTION_MS`].

use std::sync::Arc;
use std::time::Duration;

use app::api::webhook::{
    EndpointState, EventType, WebhookCreated, WebhookData, WebhookDeleted, WebhookEndpoint,
    WebhookPayload,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use hyper::body::Bytes;
use rand::RngCore;
use sha2::Sha256;
use tokio::sync::Semaphore;

use super::outbox::{Pace, Turn};
use crate::db::Backend;
use crate::error::Error;
use crate::integrations::http::Failure;
use crate::AppState;

/// Retries stop this long after the event (ms); the event is then given up.
pub const HORIZON_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest pause between two attempts (ms).
pub const RETRY_MAX_MS: i64 = 60 * 60 * 1000;
/// Delivered and given-up rows are kept this long (ms), then deleted.
pub const RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2000;
/// Bytes of a new secret's key.
const SECRET_BYTES: usize = 32;
pub const SECRET_PREFIX: &str = "whsec_";
/// The longest the worker sleeps without looking at the outbox.
const POLL: Duration = Duration::from_secs(2);
/// How often an instance deletes expired rows.
const GC_EVERY: Duration = Duration::from_secs(3600);
const DB_BACKOFF_MIN: Duration = Duration::from_millis(200);
const DB_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Attempts under way at once per instance: a slow or silent endpoint holds
/// one slot until the timeout, and the other endpoints go on meanwhile.
const MAX_IN_FLIGHT: usize = 16;

pub const PENDING: i64 = 0;
pub const DELIVERED: i64 = 1;
pub const GIVEN_UP: i64 = 2;

pub use super::outbox::Kick;

// ---------------------------------------------------------------------------
// Endpoints

/// An endpoint URL: absolute http(s) with a host, no credentials, at most
/// [`MAX_URL_CHARS`]. The value never appears in the error.
fn url_ok(raw: &str) -> Result<String, Error> {
    let url = raw.trim();
    if url.contains('\0') {
        return Err(Error::field("url", crate::extract::NUL_MESSAGE, "invalid"));
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(Error::field(
            "url",
            &format!("地址不能超过{MAX_URL_CHARS}个字符"),
            "invalid",
        ));
    }
    let bad = || Error::field("url", "须为带主机名的http或https绝对地址", "invalid");
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri.host().is_some_and(|h| !h.is_empty());
    let userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
    // `Uri` keeps an out-of-range port in the text but not in `port()`.
    let port_ok = uri
        .authority()
        .is_none_or(|a| match a.as_str().rsplit_once(':') {
            Some((_, p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u16>().is_ok_and(|p| p > 0)
            }
            _ => true,
        });
    if !scheme_ok || !host_ok || userinfo || !port_ok {
        return Err(bad());
    }
    Ok(url.to_owned())
}

/// The subscription set of `names` (all four when `None`).
fn events_ok(names: Option<&[String]>) -> Result<i64, Error> {
    let Some(names) = names else {
        return Ok(EventType::ALL.iter().map(|t| t.bit()).sum());
    };
    let mut bits = 0;
    for name in names {
        let name = name.trim();
        match EventType::from_name(name) {
            Some(t) => bits |= t.bit(),
            None => {
                return Err(Error::field(
                    "events",
                    "事件类型只能是message.created、signup.created、article.viewed、review.created",
                    "invalid",
                ))
            }
        }
    }
    if bits == 0 {
        return Err(Error::field("events", "至少订阅一种事件", "required"));
    }
    Ok(bits)
}

fn events_of(bits: i64) -> Vec<EventType> {
    EventType::ALL
        .into_iter()
        .filter(|t| bits & t.bit() != 0)
        .collect()
}

fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

/// Registers an endpoint of company `company_id` for `events` (every type
/// when `None`); answers its id and secret, which is never shown again.
pub async fn create(
    st: &AppState,
    company_id: i64,
    url: &str,
    events: Option<&[String]>,
) -> Result<WebhookCreated, Error> {
    let url = url_ok(url)?;
    let bits = events_ok(events)?;
    if !crate::service::admin::exists(st, "company", company_id).await? {
        return Err(Error::field("company_id", "公司不存在", ""));
    }
    let secret = new_secret();
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_endpoint (company_id, url, secret, events, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company_id)
    .bind(&url)
    .bind(&secret)
    .bind(bits)
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(WebhookCreated { id, secret })
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    company_id: i64,
    url: String,
    events: i64,
    failing: i64,
    last_status: Option<i64>,
    last_attempt_at: Option<i64>,
    last_error: Option<String>,
    pending: i64,
}

/// Every endpoint, or those of `company_id`, oldest first (no secrets).
pub async fn list(st: &AppState, company_id: Option<i64>) -> Result<Vec<WebhookEndpoint>, Error> {
    let filter = if company_id.is_some() {
        "WHERE e.company_id = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT e.id, e.company_id, e.url, e.events, e.failing, e.last_status, e.last_attempt_at,
                e.last_error,
                (SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_delivery d
                 WHERE d.endpoint_id = e.id AND d.state = {PENDING}) AS pending
         FROM webhook_endpoint e {filter} ORDER BY e.id"
    );
    let mut q = sqlx::query_as::<_, EndpointRow>(&sql);
    if let Some(c) = company_id {
        q = q.bind(c);
    }
    let rows = q.fetch_all(&st.db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| WebhookEndpoint {
            id: r.id,
            company_id: r.company_id,
            url: r.url,
            events: events_of(r.events),
            state: if r.failing != 0 {
                EndpointState::Failing
            } else {
                EndpointState::Ok
            },
            last_status: r.last_status,
            last_attempt_at: r.last_attempt_at.map(rfc3339),
            last_error: r.last_error,
            pending: r.pending,
        })
        .collect())
}

/// Deletes an endpoint and its undelivered (and kept) deliveries.
pub async fn delete(st: &AppState, id: i64) -> Result<WebhookDeleted, Error> {
    let mut tx = st.db.begin_write().await?;
    let gone = sqlx::query("DELETE FROM webhook_endpoint WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(Error::field("id", "webhook不存在", ""));
    }
    sqlx::query("DELETE FROM webhook_delivery WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    tx.commit().await?;
    Ok(WebhookDeleted { id })
}

// ---------------------------------------------------------------------------
// Outbox

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T02:50:00.123Z`.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Queues event `data` of company `company_id`, which happened at `at_ms`,
/// for every endpoint of the company subscribed to its type, in the event's
/// transaction. True when a row was added (then wake the worker with
/// [`Kick::wake`] after the commit).
pub async fn queue(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    company_id: i64,
    data: WebhookData,
    at_ms: i64,
) -> Result<bool, Error> {
    let event_type = data.event_type();
    let body = serde_json::to_string(&WebhookPayload {
        event_type,
        timestamp: rfc3339(at_ms),
        data,
    })
    .map_err(|e| Error::Internal(format!("webhook payload: {e}")))?;
    let done = sqlx::query(
        "INSERT INTO webhook_delivery (endpoint_id, event_type, body, created_at, due_at)
         SELECT e.id, $2, $3, $4, $4 FROM webhook_endpoint e
         WHERE e.company_id = $1 AND (e.events & $5) <> 0 ORDER BY e.id",
    )
    .bind(company_id)
    .bind(event_type.name())
    .bind(&body)
    .bind(at_ms)
    .bind(event_type.bit())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

// ---------------------------------------------------------------------------
// Signing

/// `webhook-id`: stable per event and endpoint, so retries reuse it.
pub fn message_id(delivery_id: i64) -> String {
    format!("msg_{delivery_id}")
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
/// base64-decoded part of `secret` after `whsec_`. `None` for a malformed secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

// ---------------------------------------------------------------------------
// Worker

#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i64,
    endpoint_id: i64,
    body: String,
    created_at: i64,
    attempts: i64,
    lease_until: i64,
}

/// A pending row `d` with no older pending row of its endpoint: the head of
/// the endpoint's queue, the only one that may be attempted.
const HEAD: &str = "d.state = 0 AND NOT EXISTS (SELECT 1 FROM webhook_delivery p
     WHERE p.endpoint_id = d.endpoint_id AND p.state = 0 AND p.id < d.id)";

/// A claimed row stays this worker's while its attempt may still be running
/// and its outcome being recorded; a worker that died holds it this long.
fn lease_ms(st: &AppState) -> i64 {
    2 * st.config.webhook_timeout.as_millis() as i64 + 10_000
}

/// Takes the next due head row for this worker, if any.
async fn claim(st: &AppState) -> Result<Option<Claimed>, sqlx::Error> {
    let now = st.clock.now_ms();
    let skip_locked = match st.db.backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_delivery SET lease_until = $1, attempts = attempts + 1
         WHERE id = (SELECT d.id FROM webhook_delivery d
                     WHERE {HEAD} AND d.due_at <= $2 AND (d.lease_until IS NULL OR d.lease_until <= $2)
                     ORDER BY d.due_at, d.id LIMIT 1 {skip_locked})
           AND state = 0 AND (lease_until IS NULL OR lease_until <= $2)
         RETURNING id, endpoint_id, body, created_at, attempts, lease_until"
    );
    let mut tx = st.db.begin_write().await?;
    let row = sqlx::query_as::<_, Claimed>(&sql)
        .bind(now + lease_ms(st))
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// When the worker should look again: the earliest head row's due time (or
/// its lease's end).
async fn next_due(st: &AppState) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT MIN(CASE WHEN d.lease_until IS NOT NULL AND d.lease_until > d.due_at
                         THEN d.lease_until ELSE d.due_at END)
         FROM webhook_delivery d WHERE {HEAD}"
    ))
    .fetch_one(&st.db.pool)
    .await
}

#[derive(sqlx::FromRow)]
struct Target {
    url: String,
    secret: String,
}

enum Outcome {
    Delivered(u16),
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// The endpoint was deleted: the row goes too.
    Dropped,
}

async fn deliver(st: &AppState, c: &Claimed) -> Result<Outcome, sqlx::Error> {
    let target =
        sqlx::query_as::<_, Target>("SELECT url, secret FROM webhook_endpoint WHERE id = $1")
            .bind(c.endpoint_id)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some(target) = target else {
        return Ok(Outcome::Dropped);
    };
    let id = message_id(c.id);
    let timestamp = st.clock.now_ms().div_euclid(1000);
    let Some(sig) = signature(&target.secret, &id, timestamp, c.body.as_bytes()) else {
        return Ok(Outcome::Failed {
            status: None,
            error: "the stored secret is not whsec_ + base64".into(),
        });
    };
    let headers = [
        ("content-type", "application/json".to_owned()),
        (
            "user-agent",
            concat!("Radar-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
        ),
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sig),
    ];
    let sent = st
        .weixin
        .http
        .post_status(
            &target.url,
            &headers,
            Bytes::from(c.body.clone()),
            st.config.webhook_timeout,
        )
        .await;
    Ok(match sent {
        Ok(status) if (200..300).contains(&status) => Outcome::Delivered(status),
        Ok(status) => Outcome::Failed {
            status: Some(status),
            error: format!("HTTP status {status}"),
        },
        Err(Failure::Timeout) => Outcome::Failed {
            status: None,
            error: format!(
                "no answer within {} ms",
                st.config.webhook_timeout.as_millis()
            ),
        },
        Err(e) => Outcome::Failed {
            status: None,
            error: cut(&e.to_string(), 200),
        },
    })
}

fn cut(s: &str, max: usize) -> String {
    app::domain::cut_chars(s, max)
}

/// Back-off before attempt `attempts + 1`.
fn retry_delay_ms(st: &AppState, attempts: i64) -> i64 {
    let first = st.config.webhook_retry.as_millis() as i64;
    let shift = attempts.clamp(1, 30) - 1;
    first.saturating_mul(1i64 << shift).min(RETRY_MAX_MS)
}

/// What is done with a failed attempt: retried at the returned time, or
/// (`None`) given up because the horizon has passed.
fn next_attempt(st: &AppState, c: &Claimed, now: i64) -> Option<i64> {
    let deadline = c.created_at + HORIZON_MS;
    (now < deadline).then(|| (now + retry_delay_ms(st, c.attempts)).min(deadline))
}

/// Records the outcome of a claimed row and the endpoint's last status. The
/// database may be away right after an attempt: retried while the lease
/// lasts, so that a delivered event is not sent again by whoever takes over.
/// `now` is when the attempt ended, which decides between retrying and
/// giving up (the log line said which).
async fn finish(st: &AppState, c: &Claimed, outcome: &Outcome, attempted_at: i64, now: i64) {
    let mut backoff = DB_BACKOFF_MIN;
    loop {
        let r = async {
            let mut tx = st.db.begin_write().await?;
            let row = match outcome {
                Outcome::Delivered(status) => sqlx::query(
                    "UPDATE webhook_delivery SET state = $3, done_at = $4, lease_until = NULL, last_status = $5
                     WHERE id = $1 AND lease_until = $2",
                )
                .bind(c.id)
                .bind(c.lease_until)
                .bind(DELIVERED)
                .bind(now)
                .bind(i64::from(*status)),
                Outcome::Dropped => {
                    sqlx::query("DELETE FROM webhook_delivery WHERE id = $1 AND lease_until = $2")
                        .bind(c.id)
                        .bind(c.lease_until)
                }
                Outcome::Failed { status, .. } => match next_attempt(st, c, now) {
                    Some(due) => sqlx::query(
                        "UPDATE webhook_delivery SET due_at = $3, lease_until = NULL, last_status = $4
                         WHERE id = $1 AND lease_until = $2",
                    )
                    .bind(c.id)
                    .bind(c.lease_until)
                    .bind(due)
                    .bind(status.map(i64::from)),
                    None => sqlx::query(
                        "UPDATE webhook_delivery SET state = $3, done_at = $4, lease_until = NULL, last_status = $5
                         WHERE id = $1 AND lease_until = $2",
                    )
                    .bind(c.id)
                    .bind(c.lease_until)
                    .bind(GIVEN_UP)
                    .bind(now)
                    .bind(status.map(i64::from)),
                },
            }
            .execute(&mut **tx)
            .await?
            .rows_affected();
            let endpoint = match outcome {
                Outcome::Dropped => None,
                Outcome::Delivered(status) => Some(
                    sqlx::query(
                        "UPDATE webhook_endpoint SET failing = 0, last_status = $2, last_attempt_at = $3,
                         last_error = NULL WHERE id = $1",
                    )
                    .bind(c.endpoint_id)
                    .bind(i64::from(*status))
                    .bind(attempted_at),
                ),
                Outcome::Failed { status, error } => {
                    let gives_up = next_attempt(st, c, now).is_none();
                    Some(
                        sqlx::query(
                            "UPDATE webhook_endpoint SET failing = CASE WHEN $5 = 1 THEN 1 ELSE failing END,
                             last_status = $2, last_attempt_at = $3, last_error = $4 WHERE id = $1",
                        )
                        .bind(c.endpoint_id)
                        .bind(status.map(i64::from))
                        .bind(attempted_at)
                        .bind(error.clone())
                        .bind(i64::from(gives_up)),
                    )
                }
            };
            if row > 0 {
                if let Some(q) = endpoint {
                    q.execute(&mut **tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        }
        .await;
        match r {
            Ok(0) => {
                tracing::warn!(
                    delivery = c.id,
                    "webhook: the row was deleted with its endpoint, or its lease ended before the outcome was recorded (then it may be attempted again)"
                );
                return;
            }
            Ok(_) => return,
            Err(e) if st.clock.now_ms() < c.lease_until => {
                tracing::warn!(delivery = c.id, error = %e, "webhook: cannot record the outcome yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(DB_BACKOFF_MAX);
            }
            Err(e) => {
                tracing::error!(
                    delivery = c.id,
                    error = %e,
                    "webhook: outcome not recorded before the lease ended; the event will be attempted again"
                );
                return;
            }
        }
    }
}

/// Logs the attempt and counts it in `radar_webhook_deliveries_total`.
fn log(st: &AppState, c: &Claimed, outcome: &Outcome, now: i64) {
    let (endpoint, event, attempt) = (c.endpoint_id, message_id(c.id), c.attempts);
    match outcome {
        Outcome::Delivered(status) => {
            metrics::counter!("radar_webhook_deliveries_total", "result" => "success").increment(1);
            tracing::info!(endpoint, %event, status, attempt, "webhook: delivered");
        }
        Outcome::Dropped => {
            tracing::info!(endpoint, %event, "webhook: the endpoint was deleted; not sent")
        }
        Outcome::Failed { status, error } => match next_attempt(st, c, now) {
            Some(due) => {
                metrics::counter!("radar_webhook_deliveries_total", "result" => "failure")
                    .increment(1);
                tracing::warn!(endpoint, %event, ?status, attempt, error = %error,
                    retry_in_ms = due - now, "webhook: delivery failed; will retry");
            }
            None => {
                metrics::counter!("radar_webhook_deliveries_total", "result" => "given_up")
                    .increment(1);
                tracing::error!(endpoint, %event, ?status, attempt, error = %error,
                    "webhook: delivery failed for 24 h; giving up, the endpoint is failing");
            }
        },
    }
}

/// Delivers every due head row, up to [`MAX_IN_FLIGHT`] at once; returns
/// when the next one is due (ms, server clock).
async fn drain(st: &AppState, slots: &Arc<Semaphore>) -> Result<Option<i64>, sqlx::Error> {
    loop {
        let next = next_due(st).await?;
        if st.bus.is_closing() || next.is_none_or(|due| due > st.clock.now_ms()) {
            return Ok(next);
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(next);
        };
        let Some(c) = claim(st).await? else {
            // Another instance holds it: look again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let st = st.clone();
        tokio::spawn(async move {
            attempt(&st, c).await;
            drop(slot);
            // The endpoint's next event may go now.
            st.webhooks.wake();
        });
    }
}

/// One attempt of a claimed row, its log line and its outcome.
async fn attempt(st: &AppState, c: Claimed) {
    let attempted_at = st.clock.now_ms();
    match deliver(st, &c).await {
        Ok(outcome) => {
            let now = st.clock.now_ms();
            log(st, &c, &outcome, now);
            finish(st, &c, &outcome, attempted_at, now).await;
        }
        // The row stays leased; it is attempted again when the lease ends.
        Err(e) => tracing::warn!(delivery = c.id, error = %e,
            "webhook: cannot read the endpoint; the event will be attempted again"),
    }
}

/// Deletes rows done longer than [`RETENTION_MS`] ago.
pub async fn collect_garbage(st: &AppState) -> Result<u64, sqlx::Error> {
    let mut tx = st.db.begin_write().await?;
    let n = sqlx::query("DELETE FROM webhook_delivery WHERE state <> 0 AND done_at < $1")
        .bind(st.clock.now_ms() - RETENTION_MS)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// The delivery worker of this instance, until shutdown.
pub async fn run(st: AppState) {
    let mut closing = st.bus.closing();
    let mut pace = Pace::new(POLL, DB_BACKOFF_MIN, DB_BACKOFF_MAX);
    let mut gc_due = tokio::time::Instant::now();
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    tracing::debug!("webhook: worker started");
    loop {
        if *closing.borrow() {
            // Let the attempts under way record their outcome (serve bounds the wait).
            let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
            return;
        }
        if tokio::time::Instant::now() >= gc_due {
            match collect_garbage(&st).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(deleted = n, "webhook: old deliveries deleted");
                    }
                    gc_due = tokio::time::Instant::now() + GC_EVERY;
                }
                // Tried again on the next round; the drain below reports the outage.
                Err(e) => tracing::debug!(error = %e, "webhook: cannot delete old deliveries"),
            }
        }
        let round = drain(&st, &slots).await;
        let (pause, turn) = pace.after(st.clock.now_ms(), &round);
        match (turn, &round) {
            (Turn::Regained, _) => tracing::info!("webhook: the outbox is reachable again"),
            (Turn::Lost, Err(e)) => {
                tracing::warn!(error = %e, "webhook: cannot reach the outbox; retrying with back-off")
            }
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = st.webhooks.woken() => {}
            _ = closing.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published Standard Webhooks test vector: a receiver's library
    /// accepts what Radar signs only if this matches exactly.
    #[test]
    fn signature_matches_the_standard_webhooks_vector() {
        assert_eq!(
            signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#,
            )
            .as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(signature("no-prefix", "msg_1", 1, b"{}"), None);
    }

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let a = new_secret();
        let key = B64.decode(a.strip_prefix(SECRET_PREFIX).unwrap_or_default());
        assert_eq!(key.map(|k| k.len()).ok(), Some(SECRET_BYTES));
        assert_ne!(a, new_secret());
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        for ok in [
            "https://example.com/hook",
            "http://127.0.0.1:8080/x?y=1",
            "http://[::1]/h",
            "http://[::1]:65535/h",
        ] {
            assert!(url_ok(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "/hook",
            "http://",
            "https://u:p@example.com/",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://example.com:/",
            "http://a b/",
            "https://example.com/\0",
        ] {
            assert!(url_ok(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn events_parse_by_name() {
        assert_eq!(events_ok(None).ok(), Some(15));
        let names = ["review.created".to_owned(), " message.created ".to_owned()];
        assert_eq!(events_ok(Some(&names)).ok(), Some(9));
        assert_eq!(
            events_of(9),
            [EventType::MessageCreated, EventType::ReviewCreated]
        );
        assert!(events_ok(Some(&["nope".to_owned()])).is_err());
        assert!(events_ok(Some(&[])).is_err());
    }
}
