//! Standard Webhooks (contract §7) against a local receiver that checks every
//! delivery the way an integrator would: the HMAC recomputed from the raw
//! body and headers, compared in constant time, and the timestamp within
//! tolerance. Endpoints are made with the `radar` command line.

use std::collections::VecDeque;
use std::future::Future;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::both;
use crate::common::*;
use crate::wsutil::{seed_state, spawn_server, Rest, Server, C_SEND, S_SEND};
use radar::service::webhook;

/// How far a receiver lets `webhook-timestamp` stray from its clock (s).
const TOLERANCE_SECS: i64 = 300;

// ---------------------------------------------------------------------------
// The receiver

/// What the receiver answers to one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// 302 to `/elsewhere` on the same receiver.
    Redirect,
    /// Never answers (within the test).
    Hang,
}

#[derive(Debug, Clone)]
struct Got {
    id: String,
    body: Value,
    /// What it answered (0 for a hang).
    answered: u16,
    at: Instant,
}

#[derive(Default)]
struct RecvState {
    secret: Mutex<String>,
    got: Mutex<Vec<Got>>,
    /// Replies to the next requests, then `default`.
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    /// Requests whose signature or timestamp did not check out.
    rejected: AtomicUsize,
    /// Hits on the redirect target (never followed: must stay 0).
    elsewhere: AtomicUsize,
    /// The receiver's clock: the in-process server's when set (its test clock
    /// moves), else the wall clock.
    clock: Mutex<Option<radar::Clock>>,
    /// Events (`data.id`) answered 503 whatever the script says.
    fail_ids: Mutex<Vec<i64>>,
}

struct Receiver {
    url: String,
    s: Arc<RecvState>,
}

/// Checks a delivery as a receiver must: `v1,` signatures over
/// `{id}.{timestamp}.{raw body}` keyed with the decoded secret (any of the
/// space-separated ones may match), constant-time, and a fresh timestamp.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now_secs: i64) -> bool {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(ts_n) = ts.parse::<i64>() else {
        return false;
    };
    if (now_secs - ts_n).abs() > TOLERANCE_SECS {
        return false;
    }
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
    else {
        return false;
    };
    sigs.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = B64.decode(b64) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&expected).is_ok()
    })
}

async fn hook(
    axum::extract::State(s): axum::extract::State<Arc<RecvState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let clock = s.clock.lock().ok().and_then(|c| c.clone());
    let now = clock.map_or_else(wall_ms, |c| c.now_ms()).div_euclid(1000);
    let secret = s.secret.lock().map(|x| x.clone()).unwrap_or_default();
    let ok = verify(&secret, &headers, &body, now)
        && headers
            .get("content-type")
            .is_some_and(|v| v == "application/json");
    if !ok {
        s.rejected.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let data_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["data"]["id"].as_i64());
    let failing = data_id.is_some_and(|id| s.fail_ids.lock().is_ok_and(|f| f.contains(&id)));
    let reply = s
        .script
        .lock()
        .ok()
        .and_then(|mut q| q.pop_front())
        .or_else(|| s.default.lock().ok().and_then(|d| *d))
        .unwrap_or(Reply::Status(200));
    let reply = if failing { Reply::Status(503) } else { reply };
    let answered = match reply {
        Reply::Status(c) => c,
        Reply::Redirect => 302,
        Reply::Hang => 0,
    };
    if let Ok(mut g) = s.got.lock() {
        g.push(Got {
            id: headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            answered,
            at: Instant::now(),
        });
    }
    match reply {
        Reply::Status(c) => StatusCode::from_u16(c)
            .unwrap_or(StatusCode::OK)
            .into_response(),
        Reply::Redirect => (StatusCode::FOUND, [("location", "/elsewhere")]).into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn elsewhere(axum::extract::State(s): axum::extract::State<Arc<RecvState>>) -> StatusCode {
    s.elsewhere.fetch_add(1, Ordering::Relaxed);
    StatusCode::OK
}

fn wall_ms() -> i64 {
    crate::wsutil::now_ms()
}

impl Receiver {
    async fn start() -> Receiver {
        let s = Arc::new(RecvState::default());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .route("/elsewhere", axum::routing::post(elsewhere).get(elsewhere))
            .with_state(s.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            s,
        }
    }
    fn set_secret(&self, secret: &str) {
        *self.s.secret.lock().expect("lock") = secret.to_owned();
    }
    fn script(&self, replies: &[Reply]) {
        self.s
            .script
            .lock()
            .expect("lock")
            .extend(replies.iter().copied());
    }
    fn answer(&self, reply: Reply) {
        *self.s.default.lock().expect("lock") = Some(reply);
    }
    fn got(&self) -> Vec<Got> {
        self.s.got.lock().map(|g| g.clone()).unwrap_or_default()
    }
    /// The acknowledged deliveries (a 2xx answer), in arrival order.
    fn acked(&self) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| (200..300).contains(&g.answered))
            .collect()
    }
    fn rejected(&self) -> usize {
        self.s.rejected.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// Polls `check` until it holds (at most 30 s).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Longer than the worker's poll: what it would have sent is sent by then.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

fn radar(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RADAR_ADDR")
        .output()
        .expect("run radar")
}

fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    serde_json::from_str(lines[0]).expect("json")
}

/// `radar admin webhook create`; answers the id and sets the receiver's secret.
fn create(db_url: &str, company: i64, r: &Receiver, events: Option<&str>) -> i64 {
    let company = company.to_string();
    let mut args = vec![
        "admin",
        "webhook",
        "create",
        "--company-id",
        &company,
        "--url",
        &r.url,
    ];
    if let Some(e) = events {
        args.extend(["--events", e]);
    }
    let v = json_out(&radar(db_url, &args));
    let secret = v["secret"].as_str().expect("secret");
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 key");
    assert!(key.len() >= 24, "{} key bytes", key.len());
    assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{v}");
    r.set_secret(secret);
    v["id"].as_i64().expect("id")
}

fn list(db_url: &str) -> Vec<Value> {
    let out = radar(db_url, &["admin", "webhook", "list"]);
    json_out(&out).as_array().cloned().expect("an array")
}

fn endpoint(db_url: &str, id: i64) -> Value {
    list(db_url)
        .into_iter()
        .find(|e| e["id"] == id)
        .expect("listed")
}

fn fast(c: &mut radar::Config) {
    c.webhook_timeout = Duration::from_millis(500);
    c.webhook_retry = Duration::from_millis(200);
    c.write_rate = 0.0;
}

async fn say(app: &TestApp, from: &Who, to: &Who, customer: bool, msg: &str) -> i64 {
    let (path, key) = if customer {
        (C_SEND, "u_id")
    } else {
        (S_SEND, "customer_id")
    };
    let r = app
        .post_form(
            path,
            from,
            "",
            &[(key, &to.id.to_string()), ("content", &text(msg))],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    r["data"]["id"].as_i64().expect("id")
}

/// The delivery row's attempts and whether it is leased.
async fn delivery(st: &radar::AppState, endpoint_id: i64) -> Vec<(i64, i64, Option<i64>)> {
    sqlx::query_as(
        "SELECT attempts, state, lease_until FROM webhook_delivery WHERE endpoint_id = $1 ORDER BY id",
    )
    .bind(endpoint_id)
    .fetch_all(&st.db.pool)
    .await
    .expect("deliveries")
}

// ---------------------------------------------------------------------------

/// Every kind of event reaches the company's subscribed endpoints once, with
/// the right data; another company's endpoint gets nothing.
async fn events_reach_subscribed_endpoints(b: Backend) {
    let app = spawn_with(b, fast).await;
    let url = app.db.url.clone();
    let ca = app.company("甲公司").await;
    let u = app.user(ca, "销售").await;
    let k = app.customer(ca, "客户").await;
    app.relate(&u, &k).await;
    let cb = app.company("乙公司").await;
    let u2 = app.user(cb, "乙销售").await;
    let k2 = app.customer(cb, "乙客户").await;
    app.relate(&u2, &k2).await;
    let article = radar::service::article::create_article(&app.st, ca, "文章", 1, 3)
        .await
        .expect("article");
    let activity = radar::service::signup::create_activity(&app.st, "活动", Some(article))
        .await
        .expect("activity");

    let all_a = Receiver::start().await;
    let msg_a = Receiver::start().await;
    let all_b = Receiver::start().await;
    let e_all = create(&url, ca, &all_a, None);
    let e_msg = create(&url, ca, &msg_a, Some("message.created"));
    let e_b = create(&url, cb, &all_b, None);
    let listed = list(&url);
    assert_eq!(listed.len(), 3);
    let text_of_list = serde_json::to_string(&listed).unwrap_or_default();
    assert!(!text_of_list.contains("whsec_"), "{text_of_list}");
    let first = endpoint(&url, e_msg);
    assert_eq!(first["events"], serde_json::json!(["message.created"]));
    assert_eq!(first["state"], "ok");
    assert_eq!(first["last_status"], Value::Null);
    assert_eq!(first["pending"], 0);
    assert_eq!(
        endpoint(&url, e_all)["events"].as_array().map(Vec::len),
        Some(4)
    );
    let only_b = json_out(&radar(
        &url,
        &["admin", "webhook", "list", "--company-id", &cb.to_string()],
    ));
    assert_eq!(only_b.as_array().map(Vec::len), Some(1));
    assert_eq!(only_b[0]["id"], e_b);

    let started = Instant::now();
    let m1 = say(&app, &k, &u, true, "客户的消息").await;
    let m2 = say(&app, &u, &k, false, "销售的回复").await;
    let uid = u.id.to_string();
    let r = app
        .post_form(
            &format!("/zhugeleida/gongzhonghao/plugin_report/sign_up_activity/{activity}"),
            &k,
            "",
            &[
                ("customer_name", "王五"),
                ("phone", "13800138000"),
                ("leave_message", "想了解"),
                ("phone_verify_code", "1231"),
                ("address", "北京"),
                ("uid", &uid),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let signup_id = r["data"]["id"].as_i64().expect("sign-up id");
    let r = app
        .post_form(
            &format!("/zhugeleida/gongzhonghao/article/view_article/{article}"),
            &k,
            "",
            &[("uid", &uid)],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let read_count = r["data"]["read_count"].as_i64().expect("read_count");
    let log_id = r["data"]["log_id"].as_i64();
    let r = app
        .post_form(
            &format!("/zhugeleida/gongzhonghao/article/review_article/{article}"),
            &k,
            "",
            &[("content", "写得好"), ("uid", &uid)],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let review_id = r["data"]["id"].as_i64().expect("review id");

    until("five events at the all-events endpoint", || async {
        all_a.acked().len() >= 5
    })
    .await;
    until("two messages at the message-only endpoint", || async {
        msg_a.acked().len() >= 2
    })
    .await;
    let last = all_a.acked().last().map(|g| g.at).expect("one");
    println!(
        "5 events delivered {} ms after the first was sent",
        last.duration_since(started).as_millis()
    );
    settle().await;

    let got = all_a.got();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(all_a.rejected(), 0);
    let types: Vec<&str> = got.iter().filter_map(|g| g.body["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "message.created",
            "message.created",
            "signup.created",
            "article.viewed",
            "review.created"
        ]
    );
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one webhook-id per event");
    for g in &got {
        let ts = g.body["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
            "not RFC 3339: {ts}"
        );
    }
    let d = |i: usize| got[i].body["data"].clone();
    assert_eq!(d(0)["id"], m1);
    assert_eq!(d(0)["company_id"], ca);
    assert_eq!(d(0)["user_id"], u.id);
    assert_eq!(d(0)["customer_id"], k.id);
    assert_eq!(d(0)["side"], "customer");
    assert_eq!(d(0)["send_type"], 2);
    assert_eq!(d(0)["info_type"], 1);
    assert_eq!(d(0)["content"]["msg"], "客户的消息");
    assert_eq!(d(1)["id"], m2);
    assert_eq!(d(1)["side"], "sales");
    assert_eq!(d(1)["send_type"], 1);
    assert_eq!(d(1)["content"]["msg"], "销售的回复");
    // The message as the chat API renders it to the rep.
    let hist = app
        .get(
            "/zhugeleida/qiyeweixin/chat",
            &u,
            &format!("customer_id={}", k.id),
        )
        .await;
    let shown = hist["data"]["ret_data"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["id"] == m2).cloned())
        .expect("the rep's message in the history");
    // The chat API renders the content's keys inside the item.
    let content = d(1)["content"].as_object().cloned().expect("an object");
    assert!(!content.is_empty());
    for (key, value) in content {
        assert_eq!(shown[&key], value, "{key}");
    }
    assert_eq!(d(2)["id"], signup_id);
    assert_eq!(d(2)["company_id"], ca);
    assert_eq!(d(2)["activity_id"], activity);
    assert_eq!(d(2)["article_id"], article);
    assert_eq!(d(2)["user_id"], u.id);
    assert_eq!(d(2)["phone"], "13800138000");
    assert_eq!(d(2)["customer_name"], "王五");
    assert_eq!(d(3)["article_id"], article);
    assert_eq!(d(3)["company_id"], ca);
    assert_eq!(d(3)["customer_id"], k.id);
    assert_eq!(d(3)["read_count"], read_count);
    assert_eq!(d(3)["log_id"], serde_json::json!(log_id));
    assert_eq!(d(4)["id"], review_id);
    assert_eq!(d(4)["content"], "写得好");
    assert_eq!(d(4)["article_id"], article);
    // Each typed struct reads its own payload.
    for g in &got {
        let p: app::api::webhook::WebhookPayload =
            serde_json::from_value(g.body.clone()).expect("a WebhookPayload");
        assert_eq!(
            serde_json::to_value(p.data.event_type()).ok(),
            Some(g.body["type"].clone())
        );
    }

    // The document is true: each delivery fits its `webhooks` entry, and a
    // payload missing its data, or with the data of another type, does not.
    let doc = crate::openapi::fetch_doc(&app).await;
    let mut samples: Vec<Value> = got
        .iter()
        .map(|g| serde_json::json!({"body": g.body, "valid": true}))
        .collect();
    let mut no_data = got[0].body.clone();
    no_data.as_object_mut().map(|o| o.remove("data"));
    let mut swapped = got[0].body.clone();
    swapped["data"] = got[4].body["data"].clone();
    samples.push(serde_json::json!({"body": no_data, "valid": false}));
    samples.push(serde_json::json!({"body": swapped, "valid": false}));
    let d = crate::openapi::Scratch::json("webhooks_doc", &doc);
    let p = crate::openapi::Scratch::json("webhooks_payloads", &Value::Array(samples));
    crate::openapi::check(&["webhooks", d.path(), p.path()]);

    let msgs = msg_a.got();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0].body["data"]["id"], m1);
    assert_eq!(msgs[1].body["data"]["id"], m2);
    assert_eq!(msg_a.rejected(), 0);
    assert!(all_b.got().is_empty(), "{:?}", all_b.got());

    let e = endpoint(&url, e_all);
    assert_eq!(e["state"], "ok");
    assert_eq!(e["last_status"], 200);
    assert_eq!(e["last_error"], Value::Null);
    assert_eq!(e["pending"], 0);
    assert!(e["last_attempt_at"].as_str().is_some());

    // Company B's own events reach B only.
    say(&app, &k2, &u2, true, "乙").await;
    until("B's message", || async { all_b.acked().len() == 1 }).await;
    assert_eq!(all_b.got()[0].body["data"]["company_id"], cb);

    // Deleting an endpoint: `{"id"}`, gone from the list, no more deliveries.
    let out = json_out(&radar(
        &url,
        &["admin", "webhook", "delete", "--id", &e_msg.to_string()],
    ));
    assert_eq!(out, serde_json::json!({ "id": e_msg }));
    assert_eq!(list(&url).len(), 2);
    say(&app, &k, &u, true, "删除之后").await;
    until("the remaining endpoint gets it", || async {
        all_a.acked().len() == 6
    })
    .await;
    settle().await;
    assert_eq!(msg_a.got().len(), 2);
}

/// 500, 500, then 200: three attempts with one webhook-id, and the later
/// events wait behind it and arrive in order.
async fn retries_keep_order(b: Backend) {
    let app = spawn_with(b, fast).await;
    let url = app.db.url.clone();
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let r = Receiver::start().await;
    r.script(&[Reply::Status(500), Reply::Status(500)]);
    let e = create(&url, company, &r, None);
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(say(&app, &k, &u, true, &format!("第{i}条")).await);
    }
    until("three events acknowledged", || async {
        r.acked().len() == 3
    })
    .await;
    settle().await;
    let got = r.got();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(r.rejected(), 0);
    let answered: Vec<u16> = got.iter().map(|g| g.answered).collect();
    assert_eq!(answered, [500, 500, 200, 200, 200]);
    assert!(got[..3].iter().all(|g| g.id == got[0].id), "{got:?}");
    let order: Vec<i64> = got
        .iter()
        .filter_map(|g| g.body["data"]["id"].as_i64())
        .collect();
    assert_eq!(order, [sent[0], sent[0], sent[0], sent[1], sent[2]]);
    // Retries resend the same bytes.
    assert_eq!(got[0].body, got[2].body);
    let rows = delivery(&app.st, e).await;
    let attempts: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(attempts, [3, 1, 1]);
    assert!(rows
        .iter()
        .all(|r| r.1 == webhook::DELIVERED && r.2.is_none()));
    let listed = endpoint(&url, e);
    assert_eq!(listed["state"], "ok");
    assert_eq!(listed["last_status"], 200);
    assert_eq!(listed["pending"], 0);
}

/// No 2xx for 24 h: the event is given up, the endpoint shows failing, the
/// next event goes out, and a success makes the endpoint ok again. Done rows
/// go after the retention period; deleting an endpoint deletes its pending rows.
async fn gives_up_after_24_hours(b: Backend) {
    let app = spawn_with(b, fast).await;
    let url = app.db.url.clone();
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let r = Receiver::start().await;
    *r.s.clock.lock().expect("lock") = Some(app.st.clock.clone());
    let e = create(&url, company, &r, None);
    r.answer(Reply::Status(503));
    let first = say(&app, &k, &u, true, "没人接").await;
    r.s.fail_ids.lock().expect("lock").push(first);
    r.answer(Reply::Status(200));
    let second = say(&app, &k, &u, true, "排队中").await;
    until("two failed attempts", || async {
        delivery(&app.st, e)
            .await
            .first()
            .is_some_and(|d| d.0 >= 2 && d.2.is_none())
    })
    .await;
    let listed = endpoint(&url, e);
    assert_eq!(listed["state"], "ok", "not failing before the horizon");
    assert_eq!(listed["last_status"], 503);
    assert!(
        listed["last_error"]
            .as_str()
            .is_some_and(|s| s.contains("503")),
        "{listed}"
    );
    assert_eq!(listed["pending"], 2);
    assert!(r.got().iter().all(|g| g.body["data"]["id"] == first));

    // A day later the first still fails: given up; the second goes out.
    app.st.clock.advance_ms(webhook::HORIZON_MS + 60_000);
    app.st.webhooks.wake();
    until("the second event delivered", || async {
        r.acked().iter().any(|g| g.body["data"]["id"] == second)
    })
    .await;
    let rows = delivery(&app.st, e).await;
    assert_eq!(rows[0].1, webhook::GIVEN_UP);
    assert_eq!(rows[1].1, webhook::DELIVERED);
    assert_eq!(r.rejected(), 0);
    let listed = endpoint(&url, e);
    assert_eq!(listed["state"], "ok", "the later success made it ok");
    assert_eq!(listed["last_status"], 200);

    // Given up while nothing else succeeds: failing.
    r.answer(Reply::Status(500));
    say(&app, &k, &u, true, "又没人接").await;
    until("an attempt of the third event", || async {
        delivery(&app.st, e)
            .await
            .get(2)
            .is_some_and(|d| d.0 >= 1 && d.2.is_none())
    })
    .await;
    app.st.clock.advance_ms(webhook::HORIZON_MS + 60_000);
    app.st.webhooks.wake();
    until("given up", || async {
        delivery(&app.st, e)
            .await
            .get(2)
            .is_some_and(|d| d.1 == webhook::GIVEN_UP)
    })
    .await;
    let listed = endpoint(&url, e);
    assert_eq!(listed["state"], "failing");
    assert_eq!(listed["last_status"], 500);
    assert_eq!(listed["pending"], 0);

    // A week later the done rows are deleted; pending ones stay.
    say(&app, &k, &u, true, "还在等").await;
    app.st.clock.advance_ms(webhook::RETENTION_MS + 60_000);
    let deleted = webhook::collect_garbage(&app.st).await.expect("gc");
    assert_eq!(deleted, 3);
    assert_eq!(app.count("webhook_delivery").await, 1);
    json_out(&radar(
        &url,
        &["admin", "webhook", "delete", "--id", &e.to_string()],
    ));
    assert_eq!(app.count("webhook_delivery").await, 0);
    assert_eq!(app.count("webhook_endpoint").await, 0);
}

/// A 3xx is a failure and is not followed; a receiver that never answers
/// fails by the timeout (`RADAR_WEBHOOK_TIMEOUT_MS`, here 500 ms).
async fn redirects_and_silence_fail(b: Backend) {
    let app = spawn_with(b, fast).await;
    let url = app.db.url.clone();
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let moved = Receiver::start().await;
    moved.answer(Reply::Redirect);
    let silent = Receiver::start().await;
    silent.answer(Reply::Hang);
    let e_moved = create(&url, company, &moved, None);
    let e_silent = create(&url, company, &silent, None);
    say(&app, &k, &u, true, "你好").await;
    until("a failed attempt at each", || async {
        let a = delivery(&app.st, e_moved).await;
        let b = delivery(&app.st, e_silent).await;
        a.first().is_some_and(|d| d.0 >= 1 && d.2.is_none())
            && b.first().is_some_and(|d| d.0 >= 1 && d.2.is_none())
    })
    .await;
    let m = endpoint(&url, e_moved);
    assert_eq!(m["last_status"], 302, "{m}");
    assert!(
        m["last_error"].as_str().is_some_and(|s| s.contains("302")),
        "{m}"
    );
    assert_eq!(m["pending"], 1);
    assert_eq!(
        moved.s.elsewhere.load(Ordering::Relaxed),
        0,
        "a redirect was followed"
    );
    let s = endpoint(&url, e_silent);
    assert_eq!(s["last_status"], Value::Null, "{s}");
    assert!(
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("no answer")),
        "{s}"
    );

    moved.answer(Reply::Status(200));
    silent.answer(Reply::Status(200));
    until("both delivered", || async {
        moved.acked().len() == 1 && silent.acked().len() == 1
    })
    .await;
    assert_eq!(moved.s.elsewhere.load(Ordering::Relaxed), 0);
    assert!(moved.got().len() >= 2 && silent.got().len() >= 2);
    for r in [&moved, &silent] {
        let got = r.got();
        assert!(got.iter().all(|g| g.id == got[0].id), "{got:?}");
        assert_eq!(r.rejected(), 0);
    }
    assert_eq!(endpoint(&url, e_moved)["last_error"], Value::Null);
}

/// An endpoint that never answers holds up no other company's: B's event
/// is delivered while A's first attempt is still waiting (10 s timeout).
async fn a_silent_endpoint_holds_up_no_other(b: Backend) {
    let app = spawn_with(b, |c| {
        c.webhook_timeout = Duration::from_secs(10);
        c.write_rate = 0.0;
    })
    .await;
    let url = app.db.url.clone();
    let ca = app.company("甲").await;
    let (ua, ka) = (
        app.user(ca, "甲销售").await,
        app.customer(ca, "甲客户").await,
    );
    app.relate(&ua, &ka).await;
    let cb = app.company("乙").await;
    let (ub, kb) = (
        app.user(cb, "乙销售").await,
        app.customer(cb, "乙客户").await,
    );
    app.relate(&ub, &kb).await;
    let silent = Receiver::start().await;
    silent.answer(Reply::Hang);
    let fine = Receiver::start().await;
    let ea = create(&url, ca, &silent, None);
    create(&url, cb, &fine, None);
    say(&app, &ka, &ua, true, "甲的消息").await;
    until("A's attempt under way", || async {
        !silent.got().is_empty()
    })
    .await;
    say(&app, &kb, &ub, true, "乙的消息").await;
    until("B's event delivered", || async { fine.acked().len() == 1 }).await;
    let a = delivery(&app.st, ea).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0, 1, "A's first attempt");
    assert!(a[0].2.is_some(), "A's first attempt is still under way");
    assert_eq!(silent.got().len(), 1);
}

/// Hostile `radar admin webhook create` input: refused with a message on
/// stderr and a non-zero exit; nothing stored.
async fn hostile_cli_input_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let url = app.db.url.clone();
    let c = app.company("公司").await.to_string();
    let huge = format!("https://example.com/{}", "a".repeat(5000));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--company-id", &c, "--url", &huge], "url"),
        (
            vec!["--company-id", &c, "--url", "ftp://example.com/x"],
            "url",
        ),
        (
            vec!["--company-id", &c, "--url", "javascript:alert(1)"],
            "url",
        ),
        (vec!["--company-id", &c, "--url", "/relative/path"], "url"),
        (vec!["--company-id", &c, "--url", "http://"], "url"),
        (
            vec!["--company-id", &c, "--url", "http://user:pw@example.com/"],
            "url",
        ),
        (
            vec!["--company-id", &c, "--url", "http://exa mple.com/"],
            "url",
        ),
        (
            vec![
                "--company-id",
                &c,
                "--url",
                "https://example.com/h",
                "--events",
                "message.deleted",
            ],
            "events",
        ),
        (
            vec![
                "--company-id",
                &c,
                "--url",
                "https://example.com/h",
                "--events",
                "",
            ],
            "events",
        ),
        (
            vec!["--company-id", "999999", "--url", "https://example.com/h"],
            "company_id",
        ),
        (
            vec!["--company-id", "abc", "--url", "https://example.com/h"],
            "company-id",
        ),
        (vec!["--url", "https://example.com/h"], "company-id"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["admin", "webhook", "create"];
        args.extend(extra.iter().copied());
        let out = radar(&url, &args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle),
            "{args:?}: stderr {err:?} lacks {needle:?}"
        );
        assert!(
            err.len() < 2000,
            "the error echoes the input: {} bytes",
            err.len()
        );
    }
    // NUL cannot travel in a process argument; the service refuses it too.
    let cid: i64 = c.parse().expect("id");
    for (u, ev) in [
        ("https://example.com/\0x", None),
        (
            "https://example.com/",
            Some(vec!["message.created\0".to_owned()]),
        ),
    ] {
        let r = webhook::create(&app.st, cid, u, ev.as_deref()).await;
        assert!(matches!(r, Err(radar::error::Error::Fields(_))), "{r:?}");
    }
    let out = radar(&url, &["admin", "webhook", "delete", "--id", "424242"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("id"));
    assert_eq!(app.count("webhook_endpoint").await, 0);
    assert_eq!(app.count("webhook_delivery").await, 0);
}

both!(
    events_reach_subscribed_endpoints,
    retries_keep_order,
    gives_up_after_24_hours,
    redirects_and_silence_fail,
    a_silent_endpoint_holds_up_no_other,
    hostile_cli_input_is_refused,
);

// ---------------------------------------------------------------------------
// Real processes

fn serve_envs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("RADAR_LOG", "info,sqlx=warn"),
        ("NO_COLOR", "1"),
        ("RADAR_WRITE_RATE", "0"),
        ("RADAR_WEBHOOK_TIMEOUT_MS", "2000"),
        ("RADAR_WEBHOOK_RETRY_MS", "300"),
    ]
}

async fn company_pair(st: &radar::AppState, name: &str) -> (i64, Who, Who) {
    let c = radar::service::admin::create_company(st, name)
        .await
        .expect("company");
    let u = crate::wsutil::new_user(st, c, "销售").await;
    let k = crate::wsutil::new_customer(st, c, "客户").await;
    crate::wsutil::relate(st, &u, &k).await;
    (c, u, k)
}

/// A real `radar serve` killed with SIGKILL while it waits for the receiver's
/// answer: the next process takes the event over when the lease ends and
/// delivers it with the same webhook-id.
async fn killed_mid_delivery_delivers_after_restart(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let (c, u, k) = company_pair(&st, "公司").await;
    let r = Receiver::start().await;
    r.answer(Reply::Hang);
    let e = create(&db.url, c, &r, None);
    let mut first = spawn_server(&db.url, &serve_envs()).await;
    let id = Rest::new(&first.base)
        .customer_says(&k, &u, "关机前的消息")
        .await;
    until("the attempt under way", || async { !r.got().is_empty() }).await;
    first.child.start_kill().expect("SIGKILL");
    let _ = first.child.wait().await;
    let leased = delivery(&st, e).await;
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].1, webhook::PENDING);

    r.answer(Reply::Status(200));
    let second = spawn_server(&db.url, &serve_envs()).await;
    until("delivered after restart", || async { r.acked().len() == 1 }).await;
    settle().await;
    let got = r.got();
    assert_eq!(r.acked().len(), 1);
    assert!(got.iter().all(|g| g.id == got[0].id), "{got:?}");
    assert_eq!(got[0].body["data"]["id"], id);
    assert_eq!(r.rejected(), 0);
    until("the delivery logged", || async {
        second.saw("webhook: delivered")
    })
    .await;
    for s in [&first, &second] {
        let lines = s.lines.lock().map(|l| l.join("\n")).unwrap_or_default();
        assert!(!lines.contains("whsec_"), "a secret in the log");
        assert!(!lines.contains("关机前的消息"), "a body in the log");
    }
}

both!(killed_mid_delivery_delivers_after_restart);

/// PostgreSQL, two instances on one database: every event is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let st = seed_state(&db.url).await;
    let mut parties = Vec::new();
    let mut receivers = Vec::new();
    for i in 0..3 {
        let (c, u, k) = company_pair(&st, &format!("公司{i}")).await;
        let r = Receiver::start().await;
        create(&db.url, c, &r, Some("message.created"));
        parties.push((u, k));
        receivers.push(r);
    }
    let a = spawn_server(&db.url, &serve_envs()).await;
    let b = spawn_server(&db.url, &serve_envs()).await;
    let (ra, rb) = (Rest::new(&a.base), Rest::new(&b.base));
    const PER_COMPANY: usize = 10;
    let mut sent = vec![Vec::new(); 3];
    for n in 0..PER_COMPANY {
        for (i, (u, k)) in parties.iter().enumerate() {
            let rest = if (n + i) % 2 == 0 { &ra } else { &rb };
            sent[i].push(rest.customer_says(k, u, &format!("消息{n}")).await);
        }
    }
    until("every event delivered", || async {
        receivers.iter().all(|r| r.acked().len() >= PER_COMPANY)
    })
    .await;
    settle().await;
    for (i, r) in receivers.iter().enumerate() {
        let got = r.got();
        let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(got.len(), PER_COMPANY, "duplicates: {got:?}");
        assert_eq!(ids.len(), PER_COMPANY);
        assert_eq!(r.rejected(), 0);
        // In order per endpoint.
        let order: Vec<i64> = got
            .iter()
            .filter_map(|g| g.body["data"]["id"].as_i64())
            .collect();
        assert_eq!(order, sent[i]);
    }
    let count = |s: &Server| {
        s.lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|x| x.contains("webhook: delivered"))
                    .count()
            })
            .unwrap_or(0)
    };
    println!(
        "deliveries by instance A: {}, by B: {}",
        count(&a),
        count(&b)
    );
    assert_eq!(count(&a) + count(&b), 3 * PER_COMPANY);
}

/// A private PostgreSQL cluster crashes while an event waits for its
/// receiver and comes back: the worker logs the outage and delivers the event
/// once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_delays_but_delivers() {
    let pg = crate::security::outage::PgCluster::create();
    let url = pg.url();
    let st = seed_state(&url).await;
    let (c, u, k) = company_pair(&st, "公司").await;
    let r = Receiver::start().await;
    r.answer(Reply::Status(500));
    let e = create(&url, c, &r, None);
    let mut envs = serve_envs();
    // A failed attempt is retried 3 s later: the crash comes before that.
    envs.push(("RADAR_WEBHOOK_RETRY_MS", "3000"));
    let server = spawn_server(&url, &envs).await;
    let id = Rest::new(&server.base)
        .customer_says(&k, &u, "重启前的消息")
        .await;
    until("a failed attempt recorded", || async {
        delivery(&st, e)
            .await
            .first()
            .is_some_and(|d| d.0 >= 1 && d.2.is_none())
    })
    .await;
    st.db.pool.close().await;
    assert!(pg.crash(), "pg_ctl stop failed");
    r.answer(Reply::Status(200));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        r.acked().is_empty(),
        "delivered while the database was down"
    );
    pg.start();
    until("delivered after the database came back", || async {
        r.acked().len() == 1
    })
    .await;
    settle().await;
    assert_eq!(r.acked().len(), 1);
    assert_eq!(r.acked()[0].body["data"]["id"], id);
    assert!(
        server.saw("webhook: cannot reach the outbox"),
        "the worker says it cannot reach the database"
    );
    assert!(server.saw("webhook: the outbox is reachable again"));
}
