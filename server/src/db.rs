//! The database handle: one `AnyPool` on SQLite or PostgreSQL, chosen by URL.
//!
//! SQLite allows one writer at a time; instead of letting concurrent
//! transactions fight over the file lock (and fail with SQLITE_BUSY on lock
//! upgrade), writers queue on an in-process mutex. PostgreSQL needs no such lock.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::changes::Changes;

/// Longest wait for a pooled connection, connecting included (sqlx retries a
/// refused connect within it). Contract §6: while the database is away a
/// request answers within 3 s, so this must leave room for the rest of it.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// `/healthz` gives up on the database after this long: the acquire is bounded
/// by `ACQUIRE_TIMEOUT`, but a checked-out connection whose peer vanished
/// without a reset would otherwise hang the query.
pub const PING_TIMEOUT: Duration = Duration::from_millis(2500);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "unsupported database URL (use sqlite: or postgres://): {url}"
            ))
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    pub url: String,
    writer: Arc<Mutex<()>>,
    /// Tells result caches whether anything was committed since (`changes`).
    pub changes: Changes,
}

/// A write transaction; on SQLite it also holds the writer lock until dropped.
pub struct WriteTx<'a> {
    pub tx: Transaction<'static, sqlx::Any>,
    _guard: Option<MutexGuard<'a, ()>>,
    changes: &'a Changes,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let done = self.tx.commit().await;
        // Also when the COMMIT's answer was lost: it may have committed.
        self.changes.committed();
        done
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Transaction<'static, sqlx::Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}
impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        let opts = match backend {
            // sqlx pings an idle connection before every checkout; on SQLite
            // that is one more round trip to the connection's worker thread
            // per statement and can only fail if the file is gone, which the
            // statement itself would report.
            Backend::Sqlite => opts
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA temp_store = MEMORY",
                            "PRAGMA cache_size = -8192",
                            "PRAGMA mmap_size = 268435456",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                }),
            // After a database restart every pooled connection is dead; the
            // ping before checkout discards them instead of failing a request.
            Backend::Postgres => opts.test_before_acquire(true),
        };
        let pool = opts
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}{}", redact(url), connect_hint(&e)))?;
        let changes = match backend {
            Backend::Sqlite => Changes::sqlite(url).await,
            Backend::Postgres => Changes::postgres(),
        };
        Ok(Db {
            pool,
            backend,
            url: url.to_owned(),
            writer: Arc::new(Mutex::new(())),
            changes,
        })
    }

    pub async fn migrate(&self) -> Result<(), String> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.run(&self.pool)
            .await
            .map_err(|e| format!("migration failed: {e}"))
    }

    pub async fn begin_write(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        let (guard, tx) = match self.backend {
            // IMMEDIATE takes the file's write lock before the first read. A
            // deferred transaction that reads and then writes fails with
            // SQLITE_BUSY_SNAPSHOT (517) when another connection committed in
            // between, which the mutex cannot prevent for another process on
            // the same file (`radar admin …` next to `radar serve`), and
            // busy_timeout does not retry. SQLite retries a stale snapshot
            // itself while beginning (BEGIN IMMEDIATE waits like any lock),
            // so no transaction needs to be re-run.
            Backend::Sqlite => {
                let guard = self.writer.lock().await;
                (
                    Some(guard),
                    self.begin_detached(Some("BEGIN IMMEDIATE")).await?,
                )
            }
            Backend::Postgres => {
                let begin = if self.changes.publishes() {
                    Some("BEGIN; SET LOCAL radar.writer = 'bus'")
                } else {
                    None
                };
                (None, self.begin_detached(begin).await?)
            }
        };
        Ok(WriteTx {
            tx,
            _guard: guard,
            changes: &self.changes,
        })
    }

    /// A write whose loss in a crash takes nothing back that anyone relies
    /// on, such as a read watermark (the messages would show as unread
    /// again). On PostgreSQL it commits without waiting for the WAL flush, so
    /// that a socket marking each delivery read does not add a disk flush per
    /// pushed message; a later durable commit flushes it along (the WAL is
    /// one sequence), so nothing a durable write saw can be lost.
    pub async fn begin_write_relaxed(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.begin_write().await,
            // One round trip: the simple-query protocol runs both statements.
            Backend::Postgres => Ok(WriteTx {
                tx: self
                    .begin_detached(Some(if self.changes.publishes() {
                        "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL radar.writer = 'bus'"
                    } else {
                        "BEGIN; SET LOCAL synchronous_commit = off"
                    }))
                    .await?,
                _guard: None,
                changes: &self.changes,
            }),
        }
    }

    /// Begins in a task of its own. A caller that goes away (the client
    /// disconnected, the request timed out) while the BEGIN is under way would
    /// otherwise drop it after the database began but before sqlx handed out
    /// the `Transaction` whose drop rolls back: the connection went back to
    /// the pool inside a transaction, on SQLite holding the file's write lock,
    /// and every later write failed with "database is locked". Now the task
    /// finishes the BEGIN and, if nobody takes the transaction, drops it,
    /// which rolls back.
    async fn begin_detached(
        &self,
        statement: Option<&'static str>,
    ) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
        let pool = self.pool.clone();
        let begun = tokio::spawn(async move {
            match statement {
                Some(s) => pool.begin_with(s).await,
                None => pool.begin().await,
            }
        });
        begun
            .await
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(e.to_string())))?
    }

    /// Whether every migration this binary knows of is applied; also a ping
    /// (bounded like [`Db::ping`]).
    pub async fn migrated(&self) -> Result<bool, sqlx::Error> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let latest = m.iter().map(|m| m.version).max().unwrap_or(0);
        let q = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&self.pool);
        match tokio::time::timeout(PING_TIMEOUT, q).await {
            Ok(r) => r.map(|applied| applied.unwrap_or(0) >= latest),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let q = sqlx::query("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(PING_TIMEOUT, q).await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// `$2, $3, …` placeholders for an `IN (…)` list starting after `first - 1` binds.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The rows of `sql` (which ends in `IN (` [`placeholders`]`(1, ids.len())` `)`)
/// in the order of `ids`, the result of an index walk. The rows statement
/// itself has no ORDER BY, so that one plan serves every walk.
pub async fn rows_in_walk_order<T>(
    pool: &AnyPool,
    sql: &str,
    ids: &[i64],
    id_of: impl Fn(&T) -> i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut q = sqlx::query_as::<_, T>(sql);
    for id in ids {
        q = q.bind(*id);
    }
    let mut rows = q.fetch_all(pool).await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == id_of(r)));
    Ok(rows)
}

/// What an operator can do about a refused connection, when the error says.
fn connect_hint(e: &sqlx::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("no encryption") {
        " (the server accepts only TLS connections: add sslmode=require, or verify-full with sslrootcert=<CA file>, to DATABASE_URL)"
    } else if matches!(e, sqlx::Error::Tls(_)) || text.contains("certificate") {
        " (TLS: check sslrootcert and that the server certificate names the host in DATABASE_URL; see README \"Running in production\")"
    } else {
        ""
    }
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// True when the error is a unique-constraint violation on either backend.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || d.code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// True when the error means the database is unreachable or refusing work for
/// now (→ HTTP 503, "try again"), as opposed to a bug or bad data (→ 500).
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let Some(code) = d.code() else {
                return false;
            };
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_unavailable(&code)
            } else {
                postgres_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLSTATE: class 08 connection exception, class 53 insufficient resources
/// (disk full, out of memory, too many connections), 57P01 admin shutdown,
/// 57P02 crash shutdown, 57P03 cannot connect now (starting up or shutting
/// down), 25006 read-only transaction (a standby after a failover), 55000
/// object not in prerequisite state (a new connection to a database set to
/// `ALLOW_CONNECTIONS false` during maintenance).
pub fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "25006" | "55000")
}

/// SQLite extended result code; the primary code is its low byte: BUSY (5),
/// LOCKED (6), IOERR (10), CANTOPEN (14).
pub fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 14))
}

#[cfg(test)]
#[path = "tests/db.rs"]
mod tests;
