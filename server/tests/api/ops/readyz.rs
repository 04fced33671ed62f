//! `GET /readyz`: 200 once the migrations have run, while the database
//! answers and (PostgreSQL) the event listener is connected; 503 otherwise.
//! `/healthz` keeps its meaning (its answers are golden).

use std::time::{Duration, Instant};

use crate::both;
use crate::common::*;
use crate::security::outage::PgCluster;

async fn readyz(http: &reqwest::Client, base: &str) -> (u16, String) {
    match http.get(format!("{base}/readyz")).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let cache = r
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            assert_eq!(cache, "no-store");
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => panic!("/readyz: {e}"),
    }
}

/// Polls until `/readyz` answers `status` (or gives up after `within`).
async fn until(http: &reqwest::Client, base: &str, status: u16, within: Duration) -> (u16, String) {
    let t = Instant::now();
    loop {
        let got = readyz(http, base).await;
        if got.0 == status || t.elapsed() > within {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ready after start; not ready while a migration this binary knows of is
/// missing from the database; ready again once it is back.
async fn readyz_wants_every_migration(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(readyz(&app.http, &app.base).await, (200, "ready".into()));
    let latest: i64 =
        sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations")
            .fetch_one(&app.st.db.pool)
            .await
            .expect("latest");
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version = $1")
        .bind(latest)
        .execute(&app.st.db.pool)
        .await
        .expect("hide");
    assert_eq!(
        readyz(&app.http, &app.base).await,
        (503, "migrations pending".into())
    );
    // `/healthz` only asks whether the database answers.
    let h = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(h.status(), 200);
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version = $1")
        .bind(-latest)
        .execute(&app.st.db.pool)
        .await
        .expect("restore");
    assert_eq!(readyz(&app.http, &app.base).await, (200, "ready".into()));
}

both!(readyz_wants_every_migration);

/// 503 while the PostgreSQL cluster is down, 200 again once it is back and
/// the event listener has reconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_a_postgres_outage() {
    let pg = PgCluster::create();
    let url = pg.url();
    let app = spawn_with(Backend::Postgres, |c| c.database_url = url.clone()).await;
    assert_eq!(readyz(&app.http, &app.base).await, (200, "ready".into()));
    assert_eq!(app.st.bus.listener_connected(), Some(true));

    assert!(pg.crash(), "pg_ctl stop failed");
    let (status, why) = until(&app.http, &app.base, 503, Duration::from_secs(20)).await;
    assert_eq!(status, 503, "{why}");
    assert!(
        ["database unavailable", "event listener disconnected"].contains(&why.as_str()),
        "{why}"
    );

    pg.start();
    let (status, why) = until(&app.http, &app.base, 200, Duration::from_secs(30)).await;
    assert_eq!((status, why.as_str()), (200, "ready"));
    assert_eq!(app.st.bus.listener_connected(), Some(true));
}

/// The database answers but the event listener cannot reconnect (new
/// connections are refused while the request pool keeps its own): 503
/// "event listener disconnected" until it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_wants_the_event_listener() {
    let pg = PgCluster::create();
    sqlx::any::install_default_drivers();
    // The test's own connection is to `postgres`; the server's database is `radar`.
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&pg.url())
        .await
        .expect("admin connection");
    sqlx::query("CREATE DATABASE radar")
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = format!("postgres://postgres@127.0.0.1:{}/radar", pg.port());
    let app = spawn_with(Backend::Postgres, |c| c.database_url = url.clone()).await;
    assert_eq!(readyz(&app.http, &app.base).await, (200, "ready".into()));
    // The request pool keeps an open connection through what follows.
    let held = app.st.db.pool.acquire().await.expect("connection");
    drop(held);
    sqlx::query("ALTER DATABASE radar ALLOW_CONNECTIONS false")
        .execute(&mut admin)
        .await
        .expect("refuse new connections");
    let cut: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity WHERE datname = 'radar' AND application_name LIKE 'radar-bus-%'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("terminate the bus connections");
    assert!(cut >= 1, "the listener's connection");
    let (status, why) = until(&app.http, &app.base, 503, Duration::from_secs(20)).await;
    assert_eq!((status, why.as_str()), (503, "event listener disconnected"));
    assert_eq!(app.st.bus.listener_connected(), Some(false));

    sqlx::query("ALTER DATABASE radar ALLOW_CONNECTIONS true")
        .execute(&mut admin)
        .await
        .expect("allow connections");
    let (status, why) = until(&app.http, &app.base, 200, Duration::from_secs(30)).await;
    assert_eq!((status, why.as_str()), (200, "ready"));
    assert_eq!(app.st.bus.listener_connected(), Some(true));
}
