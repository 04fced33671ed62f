//! `GET /metrics`: the fixed metric names count what happened, the route label
//! is the matched pattern, and `RADAR_METRICS_TOKEN` guards the page.
//!
//! Counts are checked on a real `radar serve` process: the recorder is global
//! to a process, and the in-process test servers share one.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{parse_metrics, value, Sample};
use crate::both;
use crate::common::*;
use crate::wsutil::*;

const CHAT_ROUTE: &str = "/zhugeleida/gongzhonghao/chat/{oper}/{o_id}";

fn signed_url(base: &str, path: &str, who: &Who) -> String {
    format!(
        "{base}{path}?{}",
        app::sign::signed_query(who.id, &who.token, now_ms())
    )
}

async fn scrape(http: &reqwest::Client, base: &str) -> Vec<Sample> {
    let r = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    parse_metrics(&r.text().await.expect("body"))
}

/// Scrapes until `ok` holds (a socket's end is counted when its task ends).
async fn scrape_until(
    http: &reqwest::Client,
    base: &str,
    ok: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = Instant::now() + FRAME_WAIT;
    loop {
        let s = scrape(http, base).await;
        if ok(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn metrics_count_requests_by_route_pattern(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let company = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    let u = new_user(&st, company, "销售").await;
    let k = new_customer(&st, company, "客户").await;
    relate(&st, &u, &k).await;
    let server = spawn_server(&db.url, &[]).await;
    let http = reqwest::Client::new();

    // Three ids on one route, a 404 nobody routes, and a message sent.
    for o_id in [11, 22, 33] {
        let url = signed_url(
            &server.base,
            &format!("/zhugeleida/gongzhonghao/chat/getmsg/{o_id}"),
            &k,
        );
        let r = http
            .get(format!("{url}&u_id={}", u.id))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
    }
    let r = http
        .get(format!("{}/no/such/page-98765", server.base))
        .send()
        .await
        .expect("404");
    assert_eq!(r.status(), 404);
    let r: serde_json::Value = http
        .post(signed_url(&server.base, S_SEND, &u))
        .form(&[("customer_id", k.id.to_string()), ("content", text("你好"))])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["code"], 200, "{r}");
    let mut ws = connect(&ws_url(&server.base, S_BADGE, &u)).await;
    ws.send(json!({"type": "register"})).await;
    assert_eq!(ws.next().await["code"], 200);

    let s = scrape(&http, &server.base).await;
    let requests = "radar_http_requests_total";
    assert_eq!(
        value(
            &s,
            requests,
            &[("route", CHAT_ROUTE), ("method", "GET"), ("status", "200")]
        ),
        Some(3.0),
        "{s:#?}"
    );
    assert_eq!(
        value(
            &s,
            requests,
            &[("route", "unmatched"), ("method", "GET"), ("status", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            requests,
            &[
                ("route", "/zhugeleida/qiyeweixin/chat/{oper}/{o_id}"),
                ("method", "POST"),
                ("status", "200")
            ]
        ),
        Some(1.0)
    );
    for sample in &s {
        for v in sample.labels.values() {
            assert!(
                !v.contains("getmsg") && !v.contains("98765") && !v.contains('?'),
                "a raw path in a label: {sample:?}"
            );
        }
    }
    let hist = "radar_http_request_duration_seconds";
    assert_eq!(
        value(&s, &format!("{hist}_count"), &[("route", CHAT_ROUTE)]),
        Some(3.0)
    );
    assert_eq!(
        value(
            &s,
            &format!("{hist}_bucket"),
            &[("route", CHAT_ROUTE), ("le", "+Inf")]
        ),
        Some(3.0),
        "a histogram with buckets, not a summary"
    );
    assert!(
        value(&s, "radar_bus_events_total", &[("kind", "message_created")]) >= Some(1.0),
        "{s:#?}"
    );
    assert_eq!(
        value(&s, "radar_ws_connections", &[("feed", "sales_badge")]),
        Some(1.0)
    );
    let idle = value(&s, "radar_db_pool_connections", &[("state", "idle")]).expect("idle");
    let in_use = value(&s, "radar_db_pool_connections", &[("state", "in_use")]).expect("in_use");
    assert!(
        idle >= 0.0 && in_use >= 0.0 && idle + in_use >= 1.0,
        "{idle} {in_use}"
    );

    // The socket's end is counted too.
    ws.close().await;
    let s = scrape_until(&http, &server.base, |s| {
        value(s, "radar_ws_connections", &[("feed", "sales_badge")]) == Some(0.0)
    })
    .await;
    assert_eq!(
        value(&s, "radar_ws_connections", &[("feed", "sales_badge")]),
        Some(0.0)
    );
    // Each scrape counts as a request of its own route.
    assert!(value(&s, requests, &[("route", "/metrics"), ("status", "200")]) >= Some(1.0));
}

/// A counter any module records with the `metrics` macros (webhook
/// deliveries, workers) shows up without registering anything.
async fn metrics_show_counters_recorded_anywhere(b: Backend) {
    let app = spawn_app(b).await;
    let name = format!("radar_test_probe_{}_total", b as u8);
    metrics::counter!(name.clone(), "result" => "ok").increment(2);
    let s = scrape(&app.http, &app.base).await;
    assert!(value(&s, &name, &[("result", "ok")]) >= Some(2.0), "{s:#?}");
}

/// With `RADAR_METRICS_TOKEN` the page wants the bearer token; without it, a
/// refusal that tells nothing.
async fn metrics_token_guards_the_page(b: Backend) {
    let token = "metrics-token-for-the-test-7f3a";
    let app = spawn_with(b, |c| {
        c.metrics_token = Some(radar::config::Secret(token.into()));
    })
    .await;
    let url = format!("{}/metrics", app.base);
    for auth in [
        None,
        Some("Bearer wrong".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("Bearer {token}x")),
        Some("Bearer ".to_owned()),
    ] {
        let mut req = app.http.get(&url);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("metrics");
        assert_eq!(r.status(), 401, "{auth:?}");
        let body = r.text().await.expect("body");
        assert!(!body.contains("radar_"), "{body}");
    }
    let r = app
        .http
        .get(&url)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("body");
    assert!(body.contains("radar_http_requests_total"), "{body}");
    assert!(!body.contains(token));
}

both!(
    metrics_count_requests_by_route_pattern,
    metrics_show_counters_recorded_anywhere,
    metrics_token_guards_the_page,
);
