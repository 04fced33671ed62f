//! "Did anything change in the database since?", answered without a
//! statement, for caches of whole query results (the contact list,
//! `service::crm::contacts`).
//!
//! The answer is an epoch that only moves forward, and moves after every
//! commit that could change a cached answer, whoever made it:
//! - this process's write transactions move it right after their commit
//!   (`WriteTx::commit`), so a client reads its own writes;
//! - on SQLite every commit, by any process on the file (`radar admin …`
//!   next to `radar serve` too), rewrites the WAL-index header at the start
//!   of the `-shm` file before the commit returns (SQLite's documented WAL
//!   format: the header carries a change counter, the last commit frame and
//!   the WAL's salts). Reading those 48 bytes is one `pread`; any difference
//!   from the last reading moves the epoch. A connection of our own is held
//!   open for the process's life because SQLite deletes the `-shm` file when
//!   its last connection closes, and a recreated file would not be the one
//!   watched;
//! - on PostgreSQL, a write transaction of a process whose bus runs is
//!   published after its commit as a `Touched` event, batched with the
//!   others (`set_publisher`); any other transaction that writes a table the
//!   caches read (`radar demo`'s bulk statements, SQL by hand) is announced
//!   by migration 0017's statement triggers with `pg_notify('radar_touch',
//!   '')`. The bus's listener moves the epoch for either. While it is down
//!   notifications may be lost, so the epoch is unknown and caches are
//!   bypassed; the reconnect moves it before the listener reports itself
//!   connected again.
//!
//! A cache stores an answer under the epoch read *before* its statement ran
//! and serves it only while the epoch is unchanged. A commit after that
//! reading moves the epoch, so whatever the statement saw of it is dropped.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use sqlx::Connection;

/// The bytes of the first copy of the WAL-index header.
const WAL_INDEX_HEADER: usize = 48;

#[derive(Clone, Default)]
pub struct Changes(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// Tells the other instances of a commit of this process (the bus, on
    /// PostgreSQL); see [`Changes::set_publisher`].
    publisher: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    epoch: AtomicU64,
    /// The outside signature (SQLite header hash, PostgreSQL notification
    /// count) the epoch last accounted for.
    seen: AtomicU64,
    source: Source,
}

#[derive(Default)]
enum Source {
    /// Nothing tells us about other writers: the epoch is never known.
    #[default]
    Unknown,
    Sqlite(ShmWatch),
    Postgres {
        touched: AtomicU64,
        listening: AtomicBool,
    },
}

struct ShmWatch {
    file: std::fs::File,
    /// Keeps the `-shm` file from being deleted (see the module doc).
    _keep: Mutex<sqlx::AnyConnection>,
}

impl ShmWatch {
    fn signature(&self) -> Option<u64> {
        let mut header = [0u8; WAL_INDEX_HEADER];
        match self.file.read_at(&mut header, 0) {
            Ok(WAL_INDEX_HEADER) => {}
            _ => return None,
        }
        Some(fnv1a(&header))
    }
}

/// A fixed hash: the same header always gives the same signature.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Changes {
    /// Watches an SQLite file through its `-shm` file; `Unknown` (caches
    /// bypassed, with a warning) when the file has none, e.g. in memory.
    pub async fn sqlite(url: &str) -> Changes {
        match Self::open_sqlite(url).await {
            Ok(w) => Changes::with(Source::Sqlite(w)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the SQLite file for changes; result caches are off");
                Changes::default()
            }
        }
    }

    async fn open_sqlite(url: &str) -> Result<ShmWatch, String> {
        let opts: sqlx::sqlite::SqliteConnectOptions =
            url.parse().map_err(|e| format!("bad SQLite URL: {e}"))?;
        let path = opts.get_filename();
        let mut keep = sqlx::AnyConnection::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        // A read maps the WAL index, creating the `-shm` file if needed.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut keep)
            .await
            .map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("journal mode {mode}, not WAL"));
        }
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        let file = std::fs::File::open(&shm)
            .map_err(|e| format!("{}: {e}", std::path::Path::new(&shm).display()))?;
        let watch = ShmWatch {
            file,
            _keep: Mutex::new(keep),
        };
        watch
            .signature()
            .ok_or("the WAL index header cannot be read")?;
        Ok(watch)
    }

    /// Told by the bus's listener; unknown until it says it listens.
    pub fn postgres() -> Changes {
        Changes::with(Source::Postgres {
            touched: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        })
    }

    fn with(source: Source) -> Changes {
        Changes(Arc::new(Inner {
            source,
            ..Inner::default()
        }))
    }

    /// The current epoch, or `None` when changes by others may go unseen.
    pub fn epoch(&self) -> Option<u64> {
        let outside = match &self.0.source {
            Source::Unknown => return None,
            Source::Sqlite(w) => w.signature()?,
            Source::Postgres { touched, listening } => {
                if !listening.load(SeqCst) {
                    return None;
                }
                touched.load(SeqCst)
            }
        };
        // Moved before `seen` is updated: a reader that finds `seen` already
        // current must also find the epoch already moved.
        if self.0.seen.load(SeqCst) != outside {
            self.0.epoch.fetch_add(1, SeqCst);
            self.0.seen.store(outside, SeqCst);
        }
        Some(self.0.epoch.load(SeqCst))
    }

    /// This process committed a write (or may have: a COMMIT whose answer
    /// was lost counts too).
    pub fn committed(&self) {
        self.0.epoch.fetch_add(1, SeqCst);
        if let Some(publish) = self.0.publisher.get() {
            publish();
        }
    }

    /// From now on every [`Self::committed`] also calls `f`, which tells the
    /// other instances. The write transactions of this process then skip the
    /// triggers' own notification (`Db::begin_write`): a NOTIFY inside a
    /// transaction makes PostgreSQL serialize its commit, WAL flush included,
    /// with every other notifying commit, while the bus sends one for a burst
    /// after the commits, without waiting for a flush.
    pub fn set_publisher(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.0.publisher.set(Box::new(f));
    }

    /// Whether commits of this process are published (see [`Self::set_publisher`]).
    pub fn publishes(&self) -> bool {
        self.0.publisher.get().is_some()
    }

    /// A `radar_touch` notification arrived (or may have been missed).
    pub fn touched(&self) {
        if let Source::Postgres { touched, .. } = &self.0.source {
            touched.fetch_add(1, SeqCst);
        }
    }

    /// Whether the listener is connected; a reconnect must call
    /// [`Self::touched`] first.
    pub fn set_listening(&self, on: bool) {
        if let Source::Postgres { listening, .. } = &self.0.source {
            listening.store(on, SeqCst);
        }
    }
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.0.source {
            Source::Unknown => "unknown",
            Source::Sqlite(_) => "sqlite-shm",
            Source::Postgres { .. } => "postgres-notify",
        };
        f.debug_struct("Changes")
            .field("source", &source)
            .field("epoch", &self.0.epoch.load(SeqCst))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_epoch_is_unknown_until_listening_and_moves_per_touch() {
        let c = Changes::postgres();
        assert_eq!(c.epoch(), None);
        c.touched();
        c.set_listening(true);
        let a = c.epoch().unwrap();
        assert_eq!(c.epoch(), Some(a));
        c.touched();
        let b = c.epoch().unwrap();
        assert!(b > a);
        c.committed();
        assert!(c.epoch().unwrap() > b);
        c.set_listening(false);
        assert_eq!(c.epoch(), None);
    }

    #[test]
    fn unknown_never_has_an_epoch() {
        let c = Changes::default();
        c.committed();
        assert_eq!(c.epoch(), None);
    }

    #[tokio::test]
    async fn another_connections_commit_moves_the_sqlite_epoch() {
        let dir = std::env::temp_dir().join(format!("radar-changes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        sqlx::any::install_default_drivers();
        let mut w = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut w)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            .execute(&mut w)
            .await
            .unwrap();
        let c = Changes::sqlite(&url).await;
        let a = c.epoch().expect("a WAL file is watched");
        assert_eq!(c.epoch(), Some(a), "no commit, no move");
        sqlx::query("SELECT COUNT(*) FROM t")
            .execute(&mut w)
            .await
            .unwrap();
        assert_eq!(c.epoch(), Some(a), "a read does not move it");
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut w)
            .await
            .unwrap();
        let b = c.epoch().unwrap();
        assert!(b > a, "a commit of another connection moves it");
        drop(w);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn an_in_memory_database_is_not_watched() {
        sqlx::any::install_default_drivers();
        let c = Changes::sqlite("sqlite::memory:").await;
        assert_eq!(c.epoch(), None);
    }
}
