//! Write rate (contract §6): one token bucket per principal over REST writes and
//! socket sends together; over it HTTP 429 + `Retry-After` + the envelope (a
//! socket gets the frame and stays open); reads are never limited.
//!
//! The budgets here are small and slow (e.g. 10 at 1/s) so that refill during a
//! burst stays small on a loaded machine; every allowance is still computed
//! from the time the burst actually took, never assumed.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::both;
use crate::common::*;
use crate::wsutil::*;

const FOLLOW_ADD: &str = "/zhugeleida/qiyeweixin/follow_info/add";

async fn limited(b: Backend, burst: u32, rate: f64) -> TestApp {
    spawn_with(b, |c| {
        c.write_burst = burst;
        c.write_rate = rate;
    })
    .await
}

/// Most writes a budget can grant within `elapsed` (the bucket starts full).
fn allowance(burst: u32, rate: f64, elapsed: Duration) -> i64 {
    i64::from(burst) + (elapsed.as_secs_f64() * rate).floor() as i64
}

/// One raw POST: HTTP status, `Retry-After` and the body.
async fn raw_post(app: &TestApp, url: &str, form: &[(&str, String)]) -> (u16, Option<u64>, Value) {
    let r = app.http.post(url).form(form).send().await.expect("request");
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| {
        v.to_str()
            .expect("Retry-After is text")
            .parse::<u64>()
            .expect("Retry-After is whole seconds")
    });
    (status, retry, r.json().await.expect("json body"))
}

async fn customer_send(app: &TestApp, k: &Who, u: &Who, msg: String) -> (u16, Option<u64>, Value) {
    raw_post(
        app,
        &app.url(C_SEND, k, ""),
        &[("u_id", u.id.to_string()), ("content", text(&msg))],
    )
    .await
}

/// A refusal for the write rate, exactly as the contract spells it; returns
/// the seconds to wait.
fn assert_refused((status, retry, body): &(u16, Option<u64>, Value)) -> u64 {
    assert_eq!(*status, 429, "{body}");
    let s = retry.expect("429 carries Retry-After");
    assert!(s >= 1, "Retry-After {s}");
    assert_eq!(
        *body,
        json!({"code": 429, "msg": "请求过于频繁", "data": {"retry_after": s}, "note": {}})
    );
    s
}

fn accepted((status, _, body): &(u16, Option<u64>, Value)) -> bool {
    *status == 200 && body["code"] == 200
}

/// Sends until the first refusal (at most `max` tries); returns the accepted
/// count and the refusal.
async fn exhaust(app: &TestApp, k: &Who, u: &Who, max: usize) -> (i64, (u16, Option<u64>, Value)) {
    let mut ok = 0;
    for i in 0..max {
        let r = customer_send(app, k, u, format!("exhaust {i}")).await;
        if accepted(&r) {
            ok += 1;
        } else {
            assert_refused(&r);
            return (ok, r);
        }
    }
    panic!("{max} sends were all accepted: no write budget");
}

/// The outside tester's attack: a burst of sends at once by one customer.
async fn burst_of_sends_is_cut_at_the_budget(b: Backend) {
    let (burst, rate) = (10, 1.0);
    let app = limited(b, burst, rate).await;
    let (u, k) = app.pair().await;
    let n = burst as usize + 20;
    let before = app.count("chat_message").await;
    let start = Instant::now();
    let results = join_all((0..n).map(|i| customer_send(&app, &k, &u, format!("flood {i}")))).await;
    let elapsed = start.elapsed();
    let ok = results.iter().filter(|r| accepted(r)).count() as i64;
    for r in results.iter().filter(|r| !accepted(r)) {
        assert_refused(r);
    }
    let max = allowance(burst, rate, elapsed).min(n as i64);
    assert!(
        ok >= i64::from(burst) && ok <= max,
        "{ok} accepted of {n}; the budget allows {burst}..={max} in {elapsed:?}"
    );
    assert!(ok < n as i64, "nothing was refused");
    // Exactly the accepted sends were stored, nothing of the refused ones.
    assert_eq!(app.count("chat_message").await - before, ok);
}

/// REST writes and socket sends spend one budget; a refused socket send gets
/// the 429 frame and the socket keeps working.
async fn rest_and_socket_share_one_budget(b: Backend) {
    let (burst, rate) = (5, 0.2);
    let app = limited(b, burst, rate).await;
    let (u, k) = app.pair().await;
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    ws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(ws.next_where(|v| v["code"] != 200).await["code"], 199);

    let start = Instant::now();
    let (rest_ok, _) = exhaust(&app, &k, &u, 100).await;
    let stored = app.count("chat_message").await;
    // The socket now sends until it too is refused.
    let mut sock_ok = 0;
    let refusal = loop {
        ws.send(json!({"type": "send_msg", "u_id": u.id, "content": {"info_type": 1, "msg": "via socket"}}))
            .await;
        let v = ws
            .next_where(|v| v["msg"] != "实时推送公众号-最新聊天信息成功")
            .await;
        if v["code"] == 200 {
            sock_ok += 1;
            assert!(sock_ok < 100, "socket sends are not limited");
            continue;
        }
        break v;
    };
    let elapsed = start.elapsed();
    assert!(
        rest_ok + sock_ok <= allowance(burst, rate, elapsed),
        "REST {rest_ok} + socket {sock_ok} writes in {elapsed:?}: not one budget"
    );
    let s = refusal["data"]["retry_after"]
        .as_u64()
        .expect("retry_after seconds");
    assert!(s >= 1);
    assert_eq!(
        refusal,
        json!({"code": 429, "msg": "请求过于频繁", "data": {"retry_after": s}, "note": {}})
    );
    assert_eq!(app.count("chat_message").await, stored + sock_ok);
    // Still open and answering.
    ws.send(json!({"type": "lived"})).await;
    assert_eq!(
        ws.next_where(|v| v["msg"] != "实时推送公众号-最新聊天信息成功")
            .await["code"],
        270
    );
    // The socket's refusal is charged to the REST side as well: a REST send
    // right after is refused too unless the budget has refilled meanwhile.
    let r = customer_send(&app, &k, &u, "after socket".to_string()).await;
    if accepted(&r) {
        assert!(allowance(burst, rate, start.elapsed()) > rest_ok + sock_ok);
    } else {
        assert_refused(&r);
    }
}

/// Another customer, and the rep of the pair, keep their own budgets; a rep's
/// CRM writes are limited like sends, with nothing stored when refused.
async fn another_principal_is_unaffected(b: Backend) {
    let (burst, rate) = (5, 0.2);
    let app = limited(b, burst, rate).await;
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM customer WHERE id = $1")
        .bind(k.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let other = app.customer(company, "另一客户").await;
    app.relate(&u, &other).await;

    exhaust(&app, &k, &u, 100).await;
    let r = customer_send(&app, &other, &u, "other customer".to_string()).await;
    assert!(accepted(&r), "{:?}", r.2);
    let r = raw_post(
        &app,
        &app.url(S_SEND, &u, ""),
        &[("customer_id", k.id.to_string()), ("content", text("rep"))],
    )
    .await;
    assert!(accepted(&r), "{:?}", r.2);

    // Now the rep floods follow-up notes: refused beyond its budget, unstored.
    let start = Instant::now();
    let before = app.count("follow_info").await;
    let mut ok = 1; // the send above
    let mut refused = 0;
    for i in 0..burst + 5 {
        let r = raw_post(
            &app,
            &app.url(&format!("{FOLLOW_ADD}/{}", k.id), &u, ""),
            &[("follow_info", format!("note {i}"))],
        )
        .await;
        if accepted(&r) {
            ok += 1;
        } else {
            assert_refused(&r);
            refused += 1;
        }
    }
    assert!(refused > 0, "the rep's writes are not limited");
    assert!(ok <= allowance(burst, rate, start.elapsed()) + 1);
    assert_eq!(app.count("follow_info").await - before, ok - 1);
}

/// After the budget is spent, reads go on: REST GETs and socket reads.
async fn reads_are_never_limited(b: Backend) {
    let app = limited(b, 3, 0.1).await;
    let (u, k) = app.pair().await;
    exhaust(&app, &k, &u, 100).await;
    let uid = format!("u_id={}", u.id);
    for i in 0..100 {
        let path = match i % 3 {
            0 => C_HIST,
            1 => C_GET,
            _ => C_NUM,
        };
        let r = app.get(path, &k, &uid).await;
        assert_ne!(code(&r), 429, "GET {path}: {r}");
        assert!([200, 302].contains(&code(&r)), "GET {path}: {r}");
    }
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    ws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(ws.next_where(|v| v["code"] != 200).await["code"], 199);
    for _ in 0..20 {
        ws.send(json!({"type": "query_num", "u_id": u.id})).await;
        assert_eq!(ws.next().await["code"], 200);
        assert!(ws.lived().await.is_empty());
    }
    // And the writes are still refused.
    assert_refused(&customer_send(&app, &k, &u, "still over".to_string()).await);
}

/// `RADAR_WRITE_RATE=0` turns the limit off.
async fn rate_zero_disables(b: Backend) {
    let app = limited(b, 1, 0.0).await;
    let (u, k) = app.pair().await;
    let before = app.count("chat_message").await;
    let n = 25;
    let results = join_all((0..n).map(|i| customer_send(&app, &k, &u, format!("free {i}")))).await;
    for r in &results {
        assert!(accepted(r), "{:?}", r);
    }
    assert_eq!(app.count("chat_message").await - before, n);
}

/// Waiting `Retry-After` is enough: the next write goes through.
async fn refill_after_retry_after(b: Backend) {
    let app = limited(b, 2, 1.0).await;
    let (u, k) = app.pair().await;
    let (_, refusal) = exhaust(&app, &k, &u, 100).await;
    let s = assert_refused(&refusal);
    tokio::time::sleep(Duration::from_secs(s) + Duration::from_millis(20)).await;
    let before = app.count("chat_message").await;
    let r = customer_send(&app, &k, &u, "after the wait".to_string()).await;
    assert!(accepted(&r), "{:?}", r);
    assert_eq!(app.count("chat_message").await, before + 1);
}

/// Requests that fail authentication do not spend the named user's budget:
/// a stranger cannot lock a customer out by flooding in their name.
async fn unauthenticated_flood_spares_the_victim(b: Backend) {
    let (burst, rate) = (5, 0.1);
    let app = limited(b, burst, rate).await;
    let (u, k) = app.pair().await;
    let form = [("u_id", u.id.to_string()), ("content", text("forged"))];
    let before = app.count("chat_message").await;
    let forged = [
        // A wrong signature.
        format!(
            "{}{C_SEND}?user_id={}&timestamp={}&rand_str={}",
            app.base,
            k.id,
            app.now_ms(),
            "0".repeat(32)
        ),
        // A stale timestamp with a correct signature of it.
        format!(
            "{}{C_SEND}?{}",
            app.base,
            app::sign::signed_query(k.id, &k.token, app.now_ms() - 3_600_000)
        ),
        // No signature at all.
        format!("{}{C_SEND}?user_id={}", app.base, k.id),
    ];
    for i in 0..60 {
        let (status, _, body) = raw_post(&app, &forged[i % forged.len()], &form).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), 400, "{body}");
    }
    assert_eq!(app.count("chat_message").await, before);
    // The victim still has the whole budget.
    let start = Instant::now();
    let (ok, _) = exhaust(&app, &k, &u, 100).await;
    assert!(
        ok >= i64::from(burst) && ok <= allowance(burst, rate, start.elapsed()),
        "victim got {ok} of a budget of {burst}"
    );
}

/// The defaults the contract names.
async fn defaults_are_burst_30_rate_10(_b: Backend) {
    if std::env::var_os("RADAR_WRITE_BURST").is_some()
        || std::env::var_os("RADAR_WRITE_RATE").is_some()
    {
        return;
    }
    let c = radar::Config::from_env().expect("config");
    assert_eq!((c.write_burst, c.write_rate), (30, 10.0));
}

both!(
    burst_of_sends_is_cut_at_the_budget,
    rest_and_socket_share_one_budget,
    another_principal_is_unaffected,
    reads_are_never_limited,
    rate_zero_disables,
    refill_after_retry_after,
    unauthenticated_flood_spares_the_victim,
    defaults_are_burst_30_rate_10,
);
