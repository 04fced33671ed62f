use super::*;

/// A write whose caller goes away (client disconnect, request timeout) at any
/// point of `begin_write` must not leave its pooled connection inside a
/// transaction: on SQLite that connection would keep the file's write lock,
/// and every later write would fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_begins_leave_no_open_transaction() {
    let path = std::env::temp_dir().join(format!(
        "radar_db_cancel_{}_{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Db::connect(&url, 4).await.expect("connect");
    sqlx::query("CREATE TABLE t (n INTEGER)")
        .execute(&db.pool)
        .await
        .expect("table");
    // Cancel after 0–199 µs: before, during and after the BEGIN reaches
    // SQLite's worker thread.
    for i in 0..400u64 {
        let _ = tokio::time::timeout(Duration::from_micros(i % 200), db.begin_write()).await;
    }
    for n in 0..8 {
        let mut tx = tokio::time::timeout(Duration::from_secs(5), db.begin_write())
            .await
            .expect("a write begins within 5 s")
            .expect("begin");
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(&mut **tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(rows, 8);
    db.pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A relaxed write skips the WAL flush wait for its own transaction only: the
/// pooled connection goes back to durable commits afterwards.
#[tokio::test]
async fn relaxed_writes_are_relaxed_for_their_transaction_only() {
    let url = std::env::var("RADAR_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = Db::connect(&url, 1).await.expect("connect");
    let show = "SELECT current_setting('synchronous_commit')";
    let mut tx = db.begin_write_relaxed().await.expect("begin");
    let inside: String = sqlx::query_scalar(show)
        .fetch_one(&mut **tx)
        .await
        .expect("show");
    tx.commit().await.expect("commit");
    let after: String = sqlx::query_scalar(show)
        .fetch_one(&db.pool)
        .await
        .expect("show");
    let mut tx = db.begin_write().await.expect("begin");
    let durable: String = sqlx::query_scalar(show)
        .fetch_one(&mut **tx)
        .await
        .expect("show");
    drop(tx);
    assert_eq!(
        (inside.as_str(), after.as_str(), durable.as_str()),
        ("off", "on", "on")
    );
    db.pool.close().await;
}
