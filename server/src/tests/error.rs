//! Contract §6 "Database outage": an unreachable database answers HTTP 503 with
//! the busy envelope; every other database failure stays a 500.

use std::borrow::Cow;
use std::error::Error as StdError;

use serde_json::json;
use sqlx::error::{DatabaseError, ErrorKind};

use super::*;

/// A PostgreSQL-style error carrying only a SQLSTATE.
#[derive(Debug)]
struct State(&'static str);

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sqlstate {}", self.0)
    }
}
impl StdError for State {}
impl DatabaseError for State {
    fn message(&self) -> &str {
        self.0
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.0))
    }
    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

fn pg(code: &'static str) -> sqlx::Error {
    sqlx::Error::Database(Box::new(State(code)))
}

fn answer(e: sqlx::Error) -> (StatusCode, serde_json::Value) {
    let (status, env) = ApiError::from(e).envelope();
    (status, serde_json::to_value(env).unwrap_or_default())
}

fn busy() -> serde_json::Value {
    json!({"code": 500, "msg": "服务器繁忙,请稍后重试", "data": {}, "note": {}})
}

#[test]
fn unreachable_database_is_503_with_the_busy_envelope() {
    let cases = vec![
        sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed,
        sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
        sqlx::Error::Io(std::io::ErrorKind::UnexpectedEof.into()),
        pg("57P01"),
        pg("57P02"),
        pg("57P03"),
        pg("08006"),
        pg("08001"),
        pg("53300"),
        pg("25006"),
    ];
    for e in cases {
        let shown = e.to_string();
        assert_eq!(
            answer(e),
            (StatusCode::SERVICE_UNAVAILABLE, busy()),
            "{shown}"
        );
    }
}

#[test]
fn genuine_failures_stay_500() {
    let cases = vec![
        sqlx::Error::RowNotFound,
        sqlx::Error::ColumnNotFound("x".into()),
        sqlx::Error::Protocol("garbled".into()),
        pg("23505"),
        pg("42P01"),
        pg("22P02"),
        // All-digit SQLSTATEs are not read as SQLite codes (22005 & 0xff ≠ 5…).
        pg("22005"),
        pg("40001"),
    ];
    for e in cases {
        let shown = e.to_string();
        assert_eq!(
            answer(e),
            (StatusCode::INTERNAL_SERVER_ERROR, busy()),
            "{shown}"
        );
    }
    let (status, _) = ApiError::from(Error::Internal("bug".into())).envelope();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// Real SQLite errors through the `Any` driver: a file that cannot be opened is
/// an outage, a constraint violation is not.
#[tokio::test]
async fn sqlite_errors_are_classified_by_their_result_code() {
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("radar-no-such-dir-{}", std::process::id()));
    let url = format!("sqlite://{}/x.db?mode=rw", dir.display());
    let open = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await;
    let Err(e) = open else {
        panic!("opening {url} should fail");
    };
    assert!(
        matches!(&e, sqlx::Error::Database(_)),
        "expected a SQLite error, got {e:?}"
    );
    assert_eq!(answer(e).0, StatusCode::SERVICE_UNAVAILABLE);

    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
        .await
        .expect("memory db");
    sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        .execute(&mut c)
        .await
        .expect("create");
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&mut c)
        .await
        .expect("insert");
    let dup = sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&mut c)
        .await;
    let Err(e) = dup else {
        panic!("duplicate key accepted");
    };
    assert!(crate::db::is_unique_violation(&e));
    assert_eq!(answer(e).0, StatusCode::INTERNAL_SERVER_ERROR);
}
