//! Logs (issue 11 "Request tracing"): every request gets a span with its
//! method, matched route, status and latency, and no log line ever carries a
//! token or a request signature, whatever the log level.

use crate::both;
use crate::common::*;
use crate::wsutil::*;

/// Drops ANSI colour sequences, so field names and values read as `k=v`.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A request signed at a known timestamp, so its `rand_str` is known too.
fn signed(base: &str, path: &str, who: &Who, extra: &str) -> (String, String) {
    let ts = now_ms();
    let rand = app::sign::rand_str(&ts.to_string(), &who.token);
    let q = app::sign::signed_query(who.id, &who.token, ts);
    (format!("{base}{path}?{q}&{extra}"), rand)
}

async fn request_spans_name_the_route_and_never_the_credentials(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let company = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    let u = new_user(&st, company, "销售").await;
    let k = new_customer(&st, company, "客户").await;
    relate(&st, &u, &k).await;
    let admin_token = crate::admin_api::TOKEN;
    let server = spawn_server(
        &db.url,
        &[("RADAR_LOG", "trace"), ("RADAR_ADMIN_TOKEN", admin_token)],
    )
    .await;
    let http = reqwest::Client::new();
    let mut rands = Vec::new();

    // The admin API: the right bearer token, a wrong one, and the token it
    // hands out.
    let wrong_admin = "wrong-admin-token-0000000000000000000000000";
    let resp = http
        .post(format!("{}/admin/api/v1/customers", server.base))
        .bearer_auth(admin_token)
        .json(&serde_json::json!({"company_id": company, "name": "接口客户"}))
        .send()
        .await
        .expect("admin post");
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.expect("json");
    let handed_out = created["token"].as_str().expect("token").to_owned();
    let resp = http
        .post(format!("{}/admin/api/v1/companies", server.base))
        .bearer_auth(wrong_admin)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .expect("admin post");
    assert_eq!(resp.status(), 401);

    let (url, rand) = signed(&server.base, C_NUM, &k, &format!("u_id={}", u.id));
    rands.push(rand);
    let r: serde_json::Value = http
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 200, "{r}");

    let (url, rand) = signed(&server.base, S_SEND, &u, "");
    rands.push(rand);
    let form = [("customer_id", k.id.to_string()), ("content", text("你好"))];
    let r: serde_json::Value = http
        .post(&url)
        .form(&form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 200, "{r}");

    // A refused signature, and a socket that signs in by its upgrade URL.
    let forged = Who {
        id: u.id,
        token: "0".repeat(32),
    };
    let (url, rand) = signed(&server.base, S_CONTACT, &forged, "");
    rands.push(rand);
    let r: serde_json::Value = http
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 400, "{r}");
    let mut ws = connect(&ws_url(&server.base, S_BADGE, &u)).await;
    ws.send(serde_json::json!({"type": "register"})).await;
    assert_eq!(ws.next().await["code"], 200);
    ws.close().await;

    // The last request's span is written when it is answered.
    let route = "route=/zhugeleida/qiyeweixin/contact";
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while !server.saw(route) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let lines: Vec<String> = server
        .lines
        .lock()
        .map(|l| l.iter().map(|x| plain(x)).collect())
        .unwrap_or_default();
    let answered = |route: &str, status: u16| {
        lines.iter().any(|l| {
            l.contains("answered")
                && l.contains(&format!("route={route} "))
                && l.contains(&format!("status={status}"))
                && l.contains("latency_ms=")
        })
    };
    assert!(
        answered("/zhugeleida/gongzhonghao/chat/{oper}/{o_id}", 200),
        "the matched pattern, not the raw path:\n{}",
        lines.join("\n")
    );
    assert!(answered("/zhugeleida/qiyeweixin/chat/{oper}/{o_id}", 200));
    assert!(answered("/zhugeleida/qiyeweixin/contact", 200));
    // The access line names the request id and, once signed, the principal.
    assert!(
        lines.iter().any(|l| l.contains("radar::access")
            && l.contains("request_id=")
            && l.contains("route=/zhugeleida/gongzhonghao/chat/{oper}/{o_id} ")
            && l.contains(&format!("principal=customer:{}", k.id))),
        "{}",
        lines.join("\n")
    );
    assert!(answered("/admin/api/v1/customers", 201));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("admin API: authentication refused")),
        "a refused admin token is logged (without the token)"
    );
    for line in &lines {
        for secret in [
            &u.token,
            &k.token,
            &forged.token,
            &admin_token.to_owned(),
            &wrong_admin.to_owned(),
            &handed_out,
        ] {
            assert!(
                !line.contains(secret.as_str()),
                "a token in the log: {line}"
            );
        }
        for rand in &rands {
            assert!(
                !line.contains(rand.as_str()),
                "a signature in the log: {line}"
            );
        }
        assert!(
            !line.contains("rand_str="),
            "a signed query in the log: {line}"
        );
    }
}

both!(request_spans_name_the_route_and_never_the_credentials);

/// A `radar serve` with `RADAR_LOG_FORMAT=json`: stdout and stderr, line by line.
struct JsonServer {
    child: tokio::process::Child,
    base: String,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

async fn spawn_json_server(database_url: &str) -> JsonServer {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url)
        .env("RADAR_LOG", "trace")
        .env("RADAR_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn radar");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let out = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let err = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    for mut stream in [
        Box::new(out) as Box<dyn LineSource>,
        Box::new(err) as Box<dyn LineSource>,
    ] {
        let (sink, tx) = (lines.clone(), tx.clone());
        tokio::spawn(async move {
            while let Some(line) = stream.next().await {
                if let Ok(mut v) = sink.lock() {
                    v.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let base = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = rx.recv().await {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["message"] == "radar listening" {
                return v["local"].as_str().map(|a| format!("http://{a}"));
            }
        }
        None
    })
    .await
    .expect("radar serve did not start in time")
    .expect("radar serve exited before listening");
    JsonServer { child, base, lines }
}

/// The two pipes' line readers, behind one trait object.
trait LineSource: Send {
    fn next(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + '_>>;
}

impl<R: tokio::io::AsyncBufRead + Unpin + Send> LineSource for tokio::io::Lines<R> {
    fn next(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + '_>> {
        Box::pin(async move { self.next_line().await.ok().flatten() })
    }
}

/// In json mode every line on stdout and stderr, from the banner to the
/// shutdown, is one JSON object; the access lines carry the request id, the
/// pattern, the status, the latency and the principal; no token, signature
/// or query string is in any of them.
async fn json_logs_are_json_and_keep_secrets_out(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let company = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    let u = new_user(&st, company, "销售").await;
    let k = new_customer(&st, company, "客户").await;
    relate(&st, &u, &k).await;
    let mut server = spawn_json_server(&db.url).await;
    let http = reqwest::Client::new();
    let mut rands = Vec::new();

    let (url, rand) = signed(&server.base, C_NUM, &k, &format!("u_id={}", u.id));
    rands.push(rand);
    let r = http
        .get(&url)
        .header("x-request-id", "customer-count-1")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["x-request-id"], "customer-count-1");
    assert_eq!(r.status(), 200);
    let (url, rand) = signed(&server.base, S_SEND, &u, "");
    rands.push(rand);
    let r: serde_json::Value = http
        .post(&url)
        .header("x-request-id", "rep-send-1")
        .form(&[("customer_id", k.id.to_string()), ("content", text("你好"))])
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 200, "{r}");
    let forged = Who {
        id: u.id,
        token: "0".repeat(32),
    };
    let (url, rand) = signed(&server.base, S_CONTACT, &forged, "");
    rands.push(rand);
    let r = http
        .get(&url)
        .header("x-request-id", "forged-1")
        .send()
        .await
        .expect("get");
    assert!(r.status().as_u16() < 500);
    // Tokens in the query strings of a page, an unknown path and a hostile id.
    for path in ["/h5/article/1", "/no/such/path", "/healthz"] {
        let r = http
            .get(format!(
                "{}{path}?token={}&rand_str={}&user_id={}",
                server.base, u.token, rands[0], u.id
            ))
            .header("x-request-id", "not a sane id")
            .send()
            .await
            .expect("get");
        assert!(r.status().as_u16() < 500);
    }
    let mut ws = connect(&ws_url(&server.base, S_BADGE, &u)).await;
    ws.send(serde_json::json!({"type": "register"})).await;
    assert_eq!(ws.next().await["code"], 200);
    ws.close().await;

    // SIGTERM: the server drains, logs its last lines and exits.
    let pid = server.child.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), server.child.wait())
        .await
        .expect("radar serve did not stop")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    // The readers finish with the pipes.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let lines = server.lines.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(lines.len() > 10, "{lines:?}");
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v.is_object(), "{l}");
            assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
            v
        })
        .collect();
    for line in &lines {
        for secret in [&u.token, &k.token, &forged.token] {
            assert!(
                !line.contains(secret.as_str()),
                "a token in the log: {line}"
            );
        }
        for rand in &rands {
            assert!(
                !line.contains(rand.as_str()),
                "a signature in the log: {line}"
            );
        }
        assert!(
            !line.contains("rand_str="),
            "a signed query in the log: {line}"
        );
    }
    let access = |id: &str| {
        parsed
            .iter()
            .find(|v| v["target"] == "radar::access" && v["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id}:\n{}", lines.join("\n")))
            .clone()
    };
    let a = access("customer-count-1");
    assert_eq!(a["route"], "/zhugeleida/gongzhonghao/chat/{oper}/{o_id}");
    assert_eq!(a["method"], "GET");
    assert_eq!(a["status"], 200);
    assert!(a["latency_ms"].as_f64().is_some_and(|l| l >= 0.0), "{a}");
    assert_eq!(a["principal"], format!("customer:{}", k.id));
    let a = access("rep-send-1");
    assert_eq!(a["method"], "POST");
    assert_eq!(a["principal"], format!("sales:{}", u.id));
    assert_eq!(access("forged-1")["principal"], "-");
    // The socket's upgrade, signed in its URL.
    assert!(
        parsed.iter().any(|v| v["target"] == "radar::access"
            && v["route"] == "/zhugeleida/qiyeweixin/websocket/leida_query_info_num"
            && v["status"] == 101
            && v["principal"] == format!("sales:{}", u.id)),
        "{}",
        lines.join("\n")
    );
    assert!(parsed.iter().any(|v| v["message"] == "radar listening"));
}

both!(json_logs_are_json_and_keep_secrets_out);

/// A start-up failure in json mode is a JSON line on stderr too.
#[test]
fn json_start_up_errors_are_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["serve"])
        .env("RADAR_LOG_FORMAT", "json")
        .env("RADAR_ADDR", "not-an-address")
        .output()
        .expect("radar serve");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(v["level"], "ERROR");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("RADAR_ADDR")),
        "{v}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
}
