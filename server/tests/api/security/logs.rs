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
