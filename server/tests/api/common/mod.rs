//! Test harness: a real server on a random port over a fresh database (a temp
//! SQLite file, or a new PostgreSQL database), plus signed-request helpers.
#![allow(dead_code)]

pub mod contacts;
pub mod rng;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use radar::{AppState, Config};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(Backend)` test once per backend.
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )+};
}

pub fn pg_admin_url() -> String {
    std::env::var("RADAR_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("radar_t_{}_{}_{}", std::process::id(), n, nanos)
}

/// A fresh, empty database; dropped again when the guard goes.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Pg(String),
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    backend,
                    cleanup: Cleanup::File(path),
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is needed for the postgres tests: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    cleanup: Cleanup::Pg(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Cleanup::Pg(name) => {
                let name = name.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut c) =
                            <sqlx::AnyConnection as sqlx::Connection>::connect(&pg_admin_url())
                                .await
                        {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A party's credentials.
/// A fresh database migrated up to, not including, migration `version`: the
/// state a backfill test writes its rows into before the server's start
/// applies the rest.
pub async fn migrated_before(backend: Backend, version: i64) -> (TestDb, radar::db::Db) {
    let db = TestDb::new(backend).await;
    let pool = radar::db::Db::connect(&db.url, 2).await.expect("connect");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match backend {
        Backend::Sqlite => "../migrations/sqlite",
        Backend::Postgres => "../migrations/postgres",
    });
    let mut before = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    let older: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    before.migrations = older.into();
    before
        .run(&pool.pool)
        .await
        .unwrap_or_else(|e| panic!("migrate to before {version}: {e}"));
    (db, pool)
}

#[derive(Debug, Clone)]
pub struct Who {
    pub id: i64,
    pub token: String,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub st: AppState,
    pub http: reqwest::Client,
    pub db: TestDb,
    /// The upload directory this test's server was given (unused in S3 mode).
    pub media_dir: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    let mut config = Config::from_env().expect("config");
    config.database_url = db.url.clone();
    config.db_max_connections = 5;
    config.addr = "127.0.0.1:0".parse().expect("addr");
    // Each test keeps its uploads apart (a SQLite file's default would be
    // the temp directory's shared `media/`).
    let media_dir = std::env::temp_dir().join(format!("{}_media", unique_name()));
    config.media_url = None;
    config.media_dir = Some(media_dir.clone());
    tweak(&mut config);
    let st = AppState::start(config).await.expect("start");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_state = st.clone();
    tokio::spawn(async move {
        let _ = radar::serve(serve_state, listener, async move {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        st,
        // A hung request fails its test instead of stalling the whole run.
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("http client"),
        db,
        media_dir,
        shutdown: Some(tx),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.media_dir);
    }
}

impl TestApp {
    pub fn now_ms(&self) -> i64 {
        self.st.clock.now_ms()
    }

    pub async fn company(&self, name: &str) -> i64 {
        radar::service::admin::create_company(&self.st, name)
            .await
            .expect("company")
    }

    pub async fn user(&self, company_id: i64, name: &str) -> Who {
        let (id, token) = radar::service::admin::create_user(
            &self.st,
            radar::service::admin::NewUser {
                company_id,
                name,
                avatar: None,
                phone: None,
                wechat: None,
            },
        )
        .await
        .expect("user");
        Who { id, token }
    }

    pub async fn customer(&self, company_id: i64, name: &str) -> Who {
        let (id, token) = radar::service::admin::create_customer(
            &self.st,
            radar::service::admin::NewCustomer {
                name,
                company_id,
                headimgurl: None,
                user_type: 1,
            },
        )
        .await
        .expect("customer");
        Who { id, token }
    }

    pub async fn relate(&self, user: &Who, customer: &Who) -> i64 {
        radar::service::admin::create_relation(&self.st, user.id, customer.id, 1)
            .await
            .expect("relation")
    }

    /// A company with one rep and one related customer.
    pub async fn pair(&self) -> (Who, Who) {
        let c = self.company("公司").await;
        let u = self.user(c, "销售").await;
        let k = self.customer(c, "客户").await;
        self.relate(&u, &k).await;
        (u, k)
    }

    /// `path` signed as `who`, with `extra` query parameters appended.
    pub fn url(&self, path: &str, who: &Who, extra: &str) -> String {
        let q = app::sign::signed_query(who.id, &who.token, self.now_ms());
        let sep = if extra.is_empty() { "" } else { "&" };
        format!("{}{}?{}{}{}", self.base, path, q, sep, extra)
    }

    pub async fn get(&self, path: &str, who: &Who, extra: &str) -> Value {
        self.get_url(&self.url(path, who, extra)).await
    }

    pub async fn get_url(&self, url: &str) -> Value {
        let resp = self.http.get(url).send().await.expect("request");
        assert_eq!(resp.status(), 200, "GET {url}");
        resp.json().await.expect("json")
    }

    pub async fn post_form(
        &self,
        path: &str,
        who: &Who,
        extra: &str,
        form: &[(&str, &str)],
    ) -> Value {
        let url = self.url(path, who, extra);
        let resp = self
            .http
            .post(&url)
            .form(form)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "POST {url}");
        resp.json().await.expect("json")
    }

    pub async fn post_json(&self, path: &str, who: &Who, extra: &str, body: &Value) -> Value {
        let url = self.url(path, who, extra);
        let resp = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "POST {url}");
        resp.json().await.expect("json")
    }

    /// Rows of a table matching a condition, to prove nothing was stored.
    pub async fn count(&self, table_and_where: &str) -> i64 {
        sqlx::query_scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {table_and_where}"
        ))
        .fetch_one(&self.st.db.pool)
        .await
        .expect("count")
    }
}

pub fn text(msg: &str) -> String {
    serde_json::json!({"info_type": 1, "msg": msg}).to_string()
}

pub fn code(v: &Value) -> i64 {
    v["code"].as_i64().unwrap_or(-1)
}

/// Column reads for the tests' own checks on stored rows.
pub fn get_i64(row: &sqlx::any::AnyRow, col: &str) -> Result<i64, sqlx::Error> {
    sqlx::Row::try_get::<i64, _>(row, col)
}
pub fn get_opt_i64(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::Row::try_get::<Option<i64>, _>(row, col)
}
pub fn get_str(row: &sqlx::any::AnyRow, col: &str) -> Result<String, sqlx::Error> {
    Ok(sqlx::Row::try_get::<Option<String>, _>(row, col)?.unwrap_or_default())
}
