//! WeCom notifications to reps who are away (issue 16).
//!
//! When a customer's message is committed and the rep has no socket open on
//! any instance, the rep gets a WeCom app message (a `textcard`: the
//! customer's name, a preview, a link that signs the rep in and opens the
//! chat). At most one per conversation per [`WINDOW_MS`].
//!
//! * **Outbox.** [`queue`] runs inside the message's transaction and adds a
//!   `rep_notice` row, so a committed message always has its notification
//!   stored, whatever happens to the process next. It queues nothing when the
//!   rep has no WeCom user id or the company no WeCom app (such a row could
//!   only be dropped), when the rep is online, when a notification of the
//!   conversation is still pending (it covers this message too) or when one
//!   was sent less than [`WINDOW_MS`] ago.
//! * **Worker.** [`run`], one per instance, claims due rows one at a time with
//!   an UPDATE that sets a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so
//!   with several instances each row is delivered by one of them. It decides
//!   again at delivery time: a rep who came online or read the message in the
//!   meantime is not notified (the row is deleted). A failed call is retried
//!   with back-off (1 s doubling to 5 min) up to [`MAX_ATTEMPTS`] times; a row
//!   claimed by a process that died is taken over when its lease ends.
//! * **Presence.** A rep is online while one of their sockets is authenticated
//!   (`Bus::rep_connected`). This instance knows its own sockets; on
//!   PostgreSQL, instances publish theirs in `rep_presence` ([`presence`]):
//!   rewritten when a rep's first socket opens or last one closes and every
//!   [`HEARTBEAT`], counted while refreshed within [`PRESENCE_STALE_SECS`] by
//!   the database clock. SQLite serves from one process: its own sockets are
//!   the whole truth and nothing is written.

use std::time::Duration;

use app::domain::{cut_chars, MessageContent};

use super::outbox::{Pace, Turn};
use crate::db::Backend;
use crate::integrations::http::enc;
use crate::integrations::wecom::{TextCard, TextCardMessage};
use crate::integrations::ApiError;
use crate::AppState;

/// At most one notification per conversation in this window (ms).
pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// A claimed row belongs to its worker this long (a delivery takes at most
/// a few WeCom calls of 5 s each).
pub const LEASE_MS: i64 = 60 * 1000;
/// Attempts before a notification is given up (about an hour of retries).
pub const MAX_ATTEMPTS: i64 = 20;
const RETRY_MIN_MS: i64 = 1000;
const RETRY_MAX_MS: i64 = 5 * 60 * 1000;
/// The longest the worker sleeps without looking at the outbox (rows queued
/// by other instances, retries coming due).
const POLL: Duration = Duration::from_secs(2);
/// Back-off of the worker and of presence while the database is away.
const DB_BACKOFF_MIN: Duration = Duration::from_millis(200);
const DB_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Presence rows are refreshed this often, and count while younger than
/// `PRESENCE_STALE_SECS`; rows older than `PRESENCE_GC_SECS` (instances that
/// died) are deleted.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
pub const PRESENCE_STALE_SECS: i64 = 30;
const PRESENCE_GC_SECS: i64 = 600;

pub const PENDING: i64 = 0;
pub const SENT: i64 = 1;
pub const GIVEN_UP: i64 = 2;

pub use super::outbox::Kick;

/// The condition "rep `$1` has a fresh presence row of another instance than
/// `$me`", PostgreSQL only.
fn present_elsewhere(me: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM rep_presence p WHERE p.user_id = $1 AND p.instance_id <> {me}
           AND p.seen_at > now() - make_interval(secs => {PRESENCE_STALE_SECS}))"
    )
}

/// Queues the notification of customer message `message_id` to rep `user_id`,
/// in the message's transaction. True when a row was added (then wake the
/// worker with [`Kick::wake`] after the commit).
pub async fn queue(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: i64,
    customer_id: i64,
    message_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if st.bus.rep_connected(user_id) {
        return Ok(false);
    }
    let elsewhere = match st.db.backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => format!(
            "AND NOT {}",
            present_elsewhere(&st.bus.instance_id().to_string())
        ),
    };
    let sql = format!(
        "INSERT INTO rep_notice (user_id, customer_id, message_id, created_at, due_at)
         SELECT u.id, $2, $3, $4, $4 FROM sales_user u JOIN wecom_app w ON w.company_id = u.company_id
         WHERE u.id = $1 AND u.wecom_userid IS NOT NULL AND u.wecom_userid <> ''
           AND NOT EXISTS (SELECT 1 FROM rep_notice n
                           WHERE n.user_id = $1 AND n.customer_id = $2 AND n.state = {PENDING})
           AND NOT EXISTS (SELECT 1 FROM rep_notice n
                           WHERE n.user_id = $1 AND n.customer_id = $2 AND n.state = {SENT}
                             AND n.done_at > $5)
           {elsewhere}"
    );
    let done = sqlx::query(&sql)
        .bind(user_id)
        .bind(customer_id)
        .bind(message_id)
        .bind(now)
        .bind(now - WINDOW_MS)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// True while rep `user_id` has a socket open on some instance.
pub async fn rep_online(st: &AppState, user_id: i64) -> Result<bool, sqlx::Error> {
    if st.bus.rep_connected(user_id) {
        return Ok(true);
    }
    if st.db.backend == Backend::Sqlite {
        return Ok(false);
    }
    let sql = format!(
        "SELECT CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT)",
        present_elsewhere("$2")
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(user_id)
        .bind(st.bus.instance_id())
        .fetch_one(&st.db.pool)
        .await?;
    Ok(n == 1)
}

#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i64,
    user_id: i64,
    customer_id: i64,
    message_id: i64,
    attempts: i64,
    lease_until: i64,
}

/// Takes the next due row for this worker, if any.
async fn claim(st: &AppState) -> Result<Option<Claimed>, sqlx::Error> {
    let now = st.clock.now_ms();
    let skip_locked = match st.db.backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let free = "state = 0 AND due_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)";
    let sql = format!(
        "UPDATE rep_notice SET lease_until = $1, attempts = attempts + 1
         WHERE id = (SELECT id FROM rep_notice WHERE {free} ORDER BY due_at, id LIMIT 1 {skip_locked})
           AND {free}
         RETURNING id, user_id, customer_id, message_id, attempts, lease_until"
    );
    let mut tx = st.db.begin_write().await?;
    let row = sqlx::query_as::<_, Claimed>(&sql)
        .bind(now + LEASE_MS)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// When the worker should look again: the earliest pending row's due time
/// (or its lease's end).
async fn next_due(st: &AppState) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > due_at
                         THEN lease_until ELSE due_at END)
         FROM rep_notice WHERE state = 0",
    )
    .fetch_one(&st.db.pool)
    .await
}

#[derive(Debug, sqlx::FromRow)]
struct Card {
    company_id: i64,
    wecom_userid: Option<String>,
    customer_name: String,
    content: Option<String>,
    user_read_id: Option<i64>,
}

enum Outcome {
    Sent,
    /// Not needed any more; the reason goes to the log.
    Dropped(&'static str),
    Failed(ApiError),
}

/// The link in the card: signs the rep in through WeCom and opens the chat.
pub fn chat_link(public_url: &str, company_id: i64, customer_id: i64) -> String {
    format!(
        "{}/auth/wecom/{company_id}/start?next={}",
        public_url.trim_end_matches('/'),
        enc(&format!("/rep/chat/{customer_id}"))
    )
}

/// The `textcard` for rep `touser` of agent `agentid`.
pub fn card(
    touser: &str,
    agentid: i64,
    customer_name: &str,
    preview: &str,
    url: String,
) -> TextCardMessage {
    let name = cut_chars(customer_name.trim(), 20);
    let name = if name.is_empty() {
        "客户".into()
    } else {
        name
    };
    let preview = if preview.is_empty() {
        "[消息]".to_owned()
    } else {
        preview.to_owned()
    };
    TextCardMessage {
        touser: touser.to_owned(),
        msgtype: "textcard",
        agentid,
        textcard: TextCard {
            title: format!("{name}给您发来新消息"),
            description: preview,
            url,
            btntxt: "回复".into(),
        },
    }
}

async fn deliver(st: &AppState, c: &Claimed) -> Result<Outcome, sqlx::Error> {
    let info = sqlx::query_as::<_, Card>(
        "SELECT u.company_id, u.wecom_userid, k.username AS customer_name, m.content, r.user_read_id
         FROM sales_user u JOIN customer k ON k.id = $2
         LEFT JOIN chat_message m ON m.id = $3
         LEFT JOIN relation r ON r.user_id = u.id AND r.customer_id = k.id
         WHERE u.id = $1",
    )
    .bind(c.user_id)
    .bind(c.customer_id)
    .bind(c.message_id)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(info) = info else {
        return Ok(Outcome::Dropped("the rep or the customer is gone"));
    };
    let Some(touser) = info.wecom_userid.filter(|u| !u.is_empty()) else {
        return Ok(Outcome::Dropped("the rep has no WeCom user id"));
    };
    if info.user_read_id.unwrap_or(0) >= c.message_id {
        return Ok(Outcome::Dropped("the rep read the message"));
    }
    if rep_online(st, c.user_id).await? {
        return Ok(Outcome::Dropped("the rep is online"));
    }
    let app = match crate::service::signin::wecom_app(st, info.company_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return Ok(Outcome::Dropped("the company has no WeCom app")),
        Err(crate::error::Error::Db(e)) => return Err(e),
        Err(e) => return Err(sqlx::Error::Protocol(e.to_string())),
    };
    let preview = info
        .content
        .as_deref()
        .map(MessageContent::stored_preview)
        .unwrap_or_default();
    let message = card(
        &touser,
        app.agent_id,
        &info.customer_name,
        &preview,
        chat_link(&st.config.public_url, info.company_id, c.customer_id),
    );
    Ok(match st.weixin.wecom.send(&app, &message).await {
        Ok(()) => Outcome::Sent,
        Err(e) => Outcome::Failed(e),
    })
}

/// Back-off before attempt `attempts + 1`.
fn retry_delay_ms(attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 20) - 1;
    (RETRY_MIN_MS << shift).min(RETRY_MAX_MS)
}

/// Records the outcome of a claimed row. The database may be away right after
/// a delivery: retried while the lease lasts, so that a sent notification is
/// not sent again by whoever takes the row over.
async fn finish(st: &AppState, c: &Claimed, outcome: &Outcome) {
    let mut backoff = DB_BACKOFF_MIN;
    loop {
        let now = st.clock.now_ms();
        let q = match outcome {
            Outcome::Sent => sqlx::query(
                "UPDATE rep_notice SET state = $3, done_at = $4, lease_until = NULL, last_errcode = NULL
                 WHERE id = $1 AND lease_until = $2",
            )
            .bind(c.id)
            .bind(c.lease_until)
            .bind(SENT)
            .bind(now),
            Outcome::Dropped(_) => {
                sqlx::query("DELETE FROM rep_notice WHERE id = $1 AND lease_until = $2")
                    .bind(c.id)
                    .bind(c.lease_until)
            }
            Outcome::Failed(e) if c.attempts >= MAX_ATTEMPTS => sqlx::query(
                "UPDATE rep_notice SET state = $3, done_at = $4, lease_until = NULL, last_errcode = $5
                 WHERE id = $1 AND lease_until = $2",
            )
            .bind(c.id)
            .bind(c.lease_until)
            .bind(GIVEN_UP)
            .bind(now)
            .bind(e.errcode()),
            Outcome::Failed(e) => sqlx::query(
                "UPDATE rep_notice SET due_at = $3, lease_until = NULL, last_errcode = $4
                 WHERE id = $1 AND lease_until = $2",
            )
            .bind(c.id)
            .bind(c.lease_until)
            .bind(now + retry_delay_ms(c.attempts))
            .bind(e.errcode()),
        };
        let r = async {
            let mut tx = st.db.begin_write().await?;
            let done = q.execute(&mut **tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        }
        .await;
        match r {
            Ok(0) => {
                tracing::warn!(
                    notice = c.id,
                    "notify: the lease ended before the outcome was recorded; another worker may repeat it"
                );
                return;
            }
            Ok(_) => return,
            Err(e) if st.clock.now_ms() < c.lease_until => {
                tracing::warn!(notice = c.id, error = %e, "notify: cannot record the outcome yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(DB_BACKOFF_MAX);
            }
            Err(e) => {
                tracing::error!(
                    notice = c.id,
                    error = %e,
                    "notify: outcome not recorded before the lease ended; the row will be attempted again"
                );
                return;
            }
        }
    }
}

fn log(c: &Claimed, outcome: &Outcome) {
    let (notice, user_id, customer_id, attempt) = (c.id, c.user_id, c.customer_id, c.attempts);
    match outcome {
        Outcome::Sent => tracing::info!(
            notice,
            user_id,
            customer_id,
            attempt,
            "notify: WeCom message sent to the rep"
        ),
        Outcome::Dropped(reason) => {
            tracing::info!(notice, user_id, customer_id, reason, "notify: not sent")
        }
        Outcome::Failed(e) => {
            let errcode = e.errcode();
            if attempt >= MAX_ATTEMPTS {
                tracing::error!(notice, user_id, customer_id, attempt, errcode, error = %e,
                    "notify: WeCom message failed; giving up");
            } else {
                tracing::warn!(notice, user_id, customer_id, attempt, errcode, error = %e,
                    retry_in_ms = retry_delay_ms(attempt), "notify: WeCom message failed; will retry");
            }
        }
    }
}

/// Delivers every due row; returns when the next one is due (ms, server clock).
/// An idle outbox costs one read: the claim, a write, runs only when a row is due.
async fn drain(st: &AppState) -> Result<Option<i64>, sqlx::Error> {
    loop {
        let next = next_due(st).await?;
        if st.bus.is_closing() || next.is_none_or(|due| due > st.clock.now_ms()) {
            return Ok(next);
        }
        let Some(c) = claim(st).await? else {
            // Another instance is claiming it: look again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let outcome = match deliver(st, &c).await {
            Ok(o) => o,
            Err(e) => {
                // The row stays leased; it is attempted again when the lease ends.
                tracing::warn!(notice = c.id, error = %e, "notify: cannot read the notification's data");
                return Err(e);
            }
        };
        log(&c, &outcome);
        finish(st, &c, &outcome).await;
    }
}

/// The delivery worker of this instance, until shutdown.
pub async fn run(st: AppState) {
    let mut closing = st.bus.closing();
    let mut pace = Pace::new(POLL, DB_BACKOFF_MIN, DB_BACKOFF_MAX);
    tracing::debug!("notify: worker started");
    loop {
        if *closing.borrow() {
            return;
        }
        let round = drain(&st).await;
        let (pause, turn) = pace.after(st.clock.now_ms(), &round);
        match (turn, &round) {
            (Turn::Regained, _) => tracing::info!("notify: the outbox is reachable again"),
            (Turn::Lost, Err(e)) => {
                tracing::warn!(error = %e, "notify: cannot reach the outbox; retrying with back-off")
            }
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = st.notify.woken() => {}
            _ = closing.changed() => {}
        }
    }
}

/// Publishes this instance's online reps in `rep_presence` (PostgreSQL).
pub async fn presence(st: AppState) {
    if st.db.backend != Backend::Postgres {
        return;
    }
    let mut changed = st.bus.reps_changed();
    let mut closing = st.bus.closing();
    let mut failing = false;
    loop {
        let reps = st.bus.connected_reps();
        let pause = match write_presence(&st, &reps).await {
            Ok(()) => {
                if failing {
                    tracing::info!("notify: presence published again");
                    failing = false;
                }
                HEARTBEAT
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "notify: cannot publish presence; retrying");
                    failing = true;
                }
                DB_BACKOFF_MAX
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            r = changed.changed() => if r.is_err() { return; },
            _ = closing.changed() => {
                // Sockets are closing: this instance's reps are going.
                let _ = write_presence(&st, &[]).await;
                return;
            }
        }
    }
}

/// Replaces this instance's presence rows by `reps`, and deletes the rows of
/// instances that stopped refreshing long ago.
async fn write_presence(st: &AppState, reps: &[i64]) -> Result<(), sqlx::Error> {
    let me = st.bus.instance_id();
    let mut tx = st.db.pool.begin().await?;
    sqlx::query("DELETE FROM rep_presence WHERE instance_id = $1")
        .bind(me)
        .execute(&mut *tx)
        .await?;
    for chunk in reps.chunks(500) {
        let values = (0..chunk.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO rep_presence (instance_id, user_id) VALUES {values}");
        let mut q = sqlx::query(&sql).bind(me);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query(&format!(
        "DELETE FROM rep_presence WHERE seen_at < now() - make_interval(secs => {PRESENCE_GC_SECS})"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
