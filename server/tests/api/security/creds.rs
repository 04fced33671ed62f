//! Credentials (contract §6 "Freshness", "Rotation", "Links"): signatures dated
//! ahead of the server clock, stale and overflowing timestamps, token rotation
//! reaching every running instance (in-process and from the CLI in another
//! process), and page links that keep the token out of the query string.

use std::process::Output;
use std::time::{Duration, Instant};

use radar::auth::{Party, MAX_FUTURE_SECS};
use serde_json::{json, Value};

use crate::both;
use crate::common::*;
use crate::wsutil::*;

/// The contract's bound for a rotation to reach every running instance.
const ROTATION_DEADLINE: Duration = Duration::from_secs(5);

/// `path` signed by `who` with the timestamp `ts` (any text), the signature
/// itself correct, so that only the timestamp can be refused.
fn signed_at(base: &str, path: &str, who: &Who, ts: &str, extra: &str) -> String {
    let rand = app::sign::rand_str(ts, &who.token);
    let ts = app::ui::client::encode(ts);
    format!(
        "{base}{path}?rand_str={rand}&timestamp={ts}&user_id={}&{extra}",
        who.id
    )
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).send().await.expect("request");
    assert_eq!(r.status(), 200, "GET {url}");
    r.json().await.expect("json")
}

fn is_token_error(v: &Value) -> bool {
    v["code"] == 400 && v["msg"] == "token异常"
}

async fn future_timestamps_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let http = &app.http;
    let ahead = |secs: i64| (app.now_ms() + secs * 1000).to_string();
    let too_far = MAX_FUTURE_SECS + 1;
    let within = MAX_FUTURE_SECS / 2;

    // A read a minute and a second ahead: refused, with the reason.
    let uid = format!("u_id={}", u.id);
    let r = get_json(
        http,
        &signed_at(&app.base, C_NUM, &k, &ahead(too_far), &uid),
    )
    .await;
    assert!(is_token_error(&r), "{r}");
    assert!(
        r["note"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("future"),
        "{r}"
    );
    // The same request inside the allowance is served.
    let r = get_json(http, &signed_at(&app.base, C_NUM, &k, &ahead(within), &uid)).await;
    assert_eq!(r["code"], 200, "{r}");

    // A write dated ahead stores nothing.
    let before = app.count("chat_message").await;
    let url = signed_at(&app.base, C_SEND, &k, &ahead(too_far), "");
    let r: Value = http
        .post(&url)
        .form(&[("u_id", u.id.to_string()), ("content", text("预签名"))])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(is_token_error(&r), "{r}");
    assert_eq!(app.count("chat_message").await, before);

    // The sales side and the socket upgrade URL follow the same rule.
    let r = get_json(
        http,
        &signed_at(&app.base, S_BADGE_REST, &u, &ahead(too_far), ""),
    )
    .await;
    assert!(is_token_error(&r), "{r}");

    // A `register` frame dated ahead: error frame, then close (1008).
    let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    let ts = ahead(too_far);
    ws.send(
        json!({"type": "register", "user_id": k.id, "u_id": u.id, "timestamp": ts,
        "rand_str": app::sign::rand_str(&ts, &k.token)}),
    )
    .await;
    let v = ws.next().await;
    assert_eq!(v["code"], 400, "{v}");
    assert_eq!(ws.expect_close().await, Some(1008));
    // …and one inside the allowance registers.
    let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    let ts = ahead(within);
    ws.send(
        json!({"type": "register", "user_id": k.id, "u_id": u.id, "timestamp": ts,
        "rand_str": app::sign::rand_str(&ts, &k.token)}),
    )
    .await;
    assert_eq!(ws.next().await["code"], 199);
}

/// With the past window switched off for legacy clients (`RADAR_AUTH_MAX_SKEW_SECS=0`),
/// the future rule still holds: a date ahead only buys a signature a longer life.
async fn future_rule_holds_with_the_past_window_off(b: Backend) {
    let app = spawn_with(b, |c| c.auth_max_skew_secs = 0).await;
    let (u, k) = app.pair().await;
    let uid = format!("u_id={}", u.id);
    let ahead = (app.now_ms() + (MAX_FUTURE_SECS + 1) * 1000).to_string();
    let r = get_json(&app.http, &signed_at(&app.base, C_NUM, &k, &ahead, &uid)).await;
    assert!(is_token_error(&r), "{r}");
    // Legacy clients: a day-old signature still works.
    let old = (app.now_ms() - 86_400_000).to_string();
    let r = get_json(&app.http, &signed_at(&app.base, C_NUM, &k, &old, &uid)).await;
    assert_eq!(r["code"], 200, "{r}");
}

async fn stale_and_overflowing_timestamps_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let skew = app.st.config.auth_max_skew_secs;
    assert!(skew > 0, "the default keeps a past window");
    let uid = format!("u_id={}", u.id);
    let stale = (app.now_ms() - (skew + 1) * 1000).to_string();
    let mut attacks = vec![
        stale,
        i64::MIN.to_string(),
        i64::MAX.to_string(),
        "99999999999999999999999999".into(),
        "-99999999999999999999999999".into(),
        "0".into(),
        "-1".into(),
        "1e30".into(),
    ];
    attacks.push(format!("{}.5", app.now_ms()));
    for ts in &attacks {
        let r = get_json(&app.http, &signed_at(&app.base, C_NUM, &k, ts, &uid)).await;
        assert!(is_token_error(&r), "timestamp {ts}: {r}");
    }
    // The same on a socket, with the timestamp as a JSON number.
    for ts in [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e300),
    ] {
        let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
        let text_ts = match &ts {
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        ws.send(
            json!({"type": "register", "user_id": k.id, "u_id": u.id, "timestamp": ts,
            "rand_str": app::sign::rand_str(&text_ts, &k.token)}),
        )
        .await;
        let v = ws.next().await;
        assert_eq!(v["code"], 400, "timestamp {ts}: {v}");
        assert_eq!(ws.expect_close().await, Some(1008));
    }
    // The server is unharmed.
    let r = app.get(C_NUM, &k, &uid).await;
    assert_eq!(r["code"], 200, "{r}");
}

/// Polls `ok` (a request with the old token answering `token异常`) until it holds;
/// fails after the contract's deadline, counted from `since`.
async fn refused_within<F, Fut>(since: Instant, what: &str, mut refused: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if refused().await {
            return;
        }
        assert!(
            since.elapsed() < ROTATION_DEADLINE,
            "{what}: old token still accepted {:?} after rotation",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The socket sends the authentication error and closes, within the deadline.
async fn socket_ends(ws: &mut Ws, since: Instant) {
    let v = ws.next_where(|v| v["code"] == 400).await;
    assert_eq!(v["note"]["reason"], "token rotated", "{v}");
    assert_eq!(ws.expect_close().await, Some(1008));
    assert!(
        since.elapsed() < ROTATION_DEADLINE,
        "socket closed only {:?} after rotation",
        since.elapsed()
    );
}

async fn rotation_in_process_ends_the_old_token(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let rest = Rest::new(&app.base);
    let uid = format!("u_id={}", u.id);
    // Warm the token cache and open sockets with the old tokens.
    assert_eq!(app.get(C_NUM, &k, &uid).await["code"], 200);
    assert_eq!(app.get(S_BADGE_REST, &u, "").await["code"], 200);
    let mut kws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    kws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(kws.next().await["code"], 199);
    let mut uws = connect(&ws_url(&app.base, S_BADGE, &u)).await;
    uws.send(signed(&u, json!({"type": "register"}))).await;
    uws.next().await;

    let rotations = app.count("token_rotation").await;
    let new_k = radar::service::admin::rotate_token(&app.st, Party::Customer, k.id)
        .await
        .expect("rotate customer");
    let since = Instant::now();
    assert_ne!(new_k, k.token);
    assert_eq!(app.count("token_rotation").await, rotations + 1);
    refused_within(since, "customer REST", || async {
        is_token_error(&app.get(C_NUM, &k, &uid).await)
    })
    .await;
    socket_ends(&mut kws, since).await;
    let k2 = Who {
        id: k.id,
        token: new_k,
    };
    assert_eq!(app.get(C_NUM, &k2, &uid).await["code"], 200);
    // Sockets of the new token work; the rep's socket was not touched.
    let mut kws = connect(&ws_url(&app.base, C_CHAT, &k2)).await;
    kws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(kws.next().await["code"], 199);
    rest.customer_says(&k2, &u, "新令牌").await;
    uws.lived().await;

    let new_u = radar::service::admin::rotate_token(&app.st, Party::Sales, u.id)
        .await
        .expect("rotate user");
    let since = Instant::now();
    refused_within(since, "sales REST", || async {
        is_token_error(&app.get(S_BADGE_REST, &u, "").await)
    })
    .await;
    socket_ends(&mut uws, since).await;
    let u2 = Who {
        id: u.id,
        token: new_u,
    };
    assert_eq!(app.get(S_BADGE_REST, &u2, "").await["code"], 200);

    // An unknown id: a field error, nothing logged.
    let before = app.count("token_rotation").await;
    let e = radar::service::admin::rotate_token(&app.st, Party::Sales, i64::MAX).await;
    assert!(matches!(e, Err(radar::error::Error::Fields(_))), "{e:?}");
    assert_eq!(app.count("token_rotation").await, before);
}

fn cli(url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RADAR_LOG", "warn")
        .env_remove("RADAR_ADDR")
        .output()
        .expect("run radar")
}

fn rotated_token(out: &Output, id: i64, old: &str) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(v["id"], id, "{v}");
    let token = v["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), old.len());
    assert_ne!(token, old);
    token
}

/// Two running `radar serve` processes, their token caches warm; the CLI, a
/// third process, rotates on the shared database. No process tells SQLite
/// servers anything: they must notice by themselves.
async fn rotation_by_the_cli_reaches_every_running_server(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let company = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    let u = new_user(&st, company, "销售").await;
    let k = new_customer(&st, company, "客户").await;
    relate(&st, &u, &k).await;
    let servers = [
        spawn_server(&db.url, &[]).await,
        spawn_server(&db.url, &[]).await,
    ];
    let rests: Vec<Rest> = servers.iter().map(|s| Rest::new(&s.base)).collect();
    let uid = format!("u_id={}", u.id);
    for r in &rests {
        assert_eq!(r.get(C_NUM, &k, &uid).await["code"], 200);
        assert_eq!(r.get(S_BADGE_REST, &u, "").await["code"], 200);
    }
    let mut kws = connect(&ws_url(&servers[1].base, C_CHAT, &k)).await;
    kws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(kws.next().await["code"], 199);

    let id = k.id.to_string();
    let out = cli(&db.url, &["admin", "customer", "rotate-token", "--id", &id]);
    let since = Instant::now();
    let new_k = rotated_token(&out, k.id, &k.token);
    for (i, r) in rests.iter().enumerate() {
        refused_within(since, &format!("server {i}"), || async {
            is_token_error(&r.get(C_NUM, &k, &uid).await)
        })
        .await;
    }
    socket_ends(&mut kws, since).await;
    let k2 = Who {
        id: k.id,
        token: new_k,
    };
    for r in &rests {
        assert_eq!(r.get(C_NUM, &k2, &uid).await["code"], 200);
    }

    let id = u.id.to_string();
    let out = cli(&db.url, &["admin", "user", "rotate-token", "--id", &id]);
    let since = Instant::now();
    let new_u = rotated_token(&out, u.id, &u.token);
    for (i, r) in rests.iter().enumerate() {
        refused_within(since, &format!("server {i}"), || async {
            is_token_error(&r.get(S_BADGE_REST, &u, "").await)
        })
        .await;
    }
    let u2 = Who {
        id: u.id,
        token: new_u,
    };
    for r in &rests {
        assert_eq!(r.get(S_BADGE_REST, &u2, "").await["code"], 200);
    }

    // Unknown ids: non-zero exit, a message on stderr, nothing on stdout or in the log.
    let before: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM token_rotation")
        .fetch_one(&st.db.pool)
        .await
        .expect("count");
    for what in ["user", "customer"] {
        let out = cli(
            &db.url,
            &["admin", what, "rotate-token", "--id", "987654321"],
        );
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("不存在"), "{err}");
    }
    let after: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM token_rotation")
        .fetch_one(&st.db.pool)
        .await
        .expect("count");
    assert_eq!(after, before);
}

/// Every `token=` that `radar demo` prints sits after a `#` of its line: page
/// links carry it in the fragment, which no proxy or access log sees.
async fn demo_links_keep_the_token_in_the_fragment(b: Backend) {
    let db = TestDb::new(b).await;
    let out = cli(&db.url, &["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut links = 0;
    for line in text.lines() {
        if let Some(at) = line.find("token=") {
            let hash = line.find('#');
            assert!(
                hash.is_some_and(|h| h < at),
                "token in the query string: {line}"
            );
            links += 1;
        }
    }
    let demo: Value =
        serde_json::from_slice(&cli(&db.url, &["demo", "--json"]).stdout).expect("demo json");
    let people = demo["reps"].as_array().map_or(0, Vec::len)
        + 2 * demo["customers"].as_array().map_or(0, Vec::len);
    assert!(links > 0 && links <= people, "{links} links for {people}");
    // And the links are the ones the contract names.
    for needle in ["/rep#user_id=", "/h5/chat?u_id=", "/h5/article/"] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
}

/// A legacy link (token in the query) reaches the server; its HTML must not
/// repeat the token anywhere (pages read credentials in the browser).
async fn pages_never_echo_the_token(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM customer WHERE id = $1")
        .bind(k.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let article = radar::service::article::create_article(&app.st, company, "标题", 1, 0)
        .await
        .expect("article");
    for (path, who) in [
        ("/rep?".to_string(), &u),
        (format!("/rep/chat/{}?", k.id), &u),
        (format!("/rep/customer/{}?", k.id), &u),
        (format!("/h5/chat?u_id={}&", u.id), &k),
        (format!("/h5/article/{article}?uid={}&", u.id), &k),
    ] {
        let url = format!("{}{path}user_id={}&token={}", app.base, who.id, who.token);
        let resp = app.http.get(&url).send().await.expect("page");
        assert_eq!(resp.status(), 200, "{url}");
        let html = resp.text().await.expect("html");
        assert!(html.contains("<html"), "{url}: not a page");
        assert!(
            !html.contains(&who.token),
            "{path}: token echoed in the HTML"
        );
    }
}

both!(
    future_timestamps_are_refused,
    future_rule_holds_with_the_past_window_off,
    stale_and_overflowing_timestamps_are_refused,
    rotation_in_process_ends_the_old_token,
    rotation_by_the_cli_reaches_every_running_server,
    demo_links_keep_the_token_in_the_fragment,
    pages_never_echo_the_token,
);
