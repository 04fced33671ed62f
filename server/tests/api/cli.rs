//! The `radar` command line against a real database.

use std::process::{Command, Output};

use crate::both;
use crate::common::*;
use serde_json::Value;

fn radar(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("RADAR_ADDR")
        .output()
        .expect("run radar")
}

/// Exactly one JSON object line on stdout, exit 0.
fn json_line(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    assert!(v.is_object());
    v
}

fn fails(out: &Output, needle: &str) {
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
}

async fn admin_create_commands(b: Backend) {
    let db = TestDb::new(b).await;
    let company = json_line(&radar(
        &db,
        &["admin", "company", "create", "--name", "演示公司"],
    ));
    let cid = company["id"].as_i64().unwrap().to_string();
    let user = json_line(&radar(
        &db,
        &[
            "admin",
            "user",
            "create",
            "--company-id",
            &cid,
            "--name",
            "张三",
            "--phone",
            "13800138000",
            "--wechat",
            "zs",
        ],
    ));
    let token = user["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert!(token
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    let customer = json_line(&radar(
        &db,
        &[
            "admin",
            "customer",
            "create",
            "--name",
            "客户😀",
            "--company-id",
            &cid,
        ],
    ));
    assert_eq!(customer["token"].as_str().unwrap().len(), 32);
    let uid = user["id"].as_i64().unwrap().to_string();
    let kid = customer["id"].as_i64().unwrap().to_string();
    let rel = json_line(&radar(
        &db,
        &[
            "admin",
            "relation",
            "create",
            "--user-id",
            &uid,
            "--customer-id",
            &kid,
            "--source",
            "4",
        ],
    ));
    assert!(rel["id"].as_i64().unwrap() > 0);

    // Failures: clear message on stderr, non-zero exit, nothing printed on stdout.
    fails(
        &radar(
            &db,
            &[
                "admin",
                "relation",
                "create",
                "--user-id",
                &uid,
                "--customer-id",
                &kid,
            ],
        ),
        "已存在",
    );
    fails(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "create",
                "--company-id",
                "999",
                "--name",
                "x",
            ],
        ),
        "company_id",
    );
    fails(
        &radar(
            &db,
            &[
                "admin",
                "relation",
                "create",
                "--user-id",
                "999",
                "--customer-id",
                &kid,
            ],
        ),
        "user_id",
    );
    fails(
        &radar(
            &db,
            &[
                "admin",
                "relation",
                "create",
                "--user-id",
                &uid,
                "--customer-id",
                &kid,
                "--source",
                "9",
            ],
        ),
        "source",
    );
    fails(
        &radar(&db, &["admin", "company", "create", "--name", "  "]),
        "name",
    );
    fails(
        &radar(
            &db,
            &[
                "admin",
                "user",
                "create",
                "--company-id",
                "abc",
                "--name",
                "x",
            ],
        ),
        "company-id",
    );

    // The relation command stores no chat message.
    let st = radar::AppState::start({
        let mut c = radar::Config::from_env().unwrap();
        c.database_url = db.url.clone();
        c
    })
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

async fn demo_is_idempotent_and_prints_urls(b: Backend) {
    let db = TestDb::new(b).await;
    let first = radar(&db, &["demo"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout);
    for needle in [
        "/rep#user_id=",
        "/h5/chat?u_id=",
        "/h5/article/",
        "#user_id=",
        "&token=",
        "curl",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    let a = json_line(&radar(&db, &["demo", "--json"]));
    let again = json_line(&radar(&db, &["demo", "--json"]));
    assert_eq!(a["created"], false);
    assert_eq!(a, again);
    assert_eq!(a["reps"].as_array().unwrap().len(), 2);
    assert!(a["customers"].as_array().unwrap().len() >= 5);
    let companies = json_line(&radar(
        &db,
        &["admin", "company", "create", "--name", "next"],
    ));
    // Only the demo company and this one exist: the second demo run created nothing.
    assert_eq!(
        companies["id"].as_i64().unwrap(),
        a["company_id"].as_i64().unwrap() + 1
    );
}

async fn serve_answers_healthz_and_migrate_is_repeatable(b: Backend) {
    let db = TestDb::new(b).await;
    assert!(radar(&db, &["migrate"]).status.success());
    assert!(radar(&db, &["migrate"]).status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["serve", "--addr", &addr])
        .env("DATABASE_URL", &db.url)
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut status = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://{addr}/healthz")).send().await {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, Some(200));
}

async fn bad_database_url_fails_clearly(_b: Backend) {
    let out = Command::new(env!("CARGO_BIN_EXE_radar"))
        .args([
            "admin",
            "company",
            "create",
            "--name",
            "x",
            "--database-url",
            "mysql://nope",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

both!(
    admin_create_commands,
    demo_is_idempotent_and_prints_urls,
    serve_answers_healthz_and_migrate_is_repeatable,
    bad_database_url_fails_clearly,
);
