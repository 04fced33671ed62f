//! WeCom notifications to reps who are away (issue 16), against the fake
//! WeCom API: offline → one card, online → none, a burst → one per window,
//! WeCom failing then recovering → delivered once, kill -9 between commit and
//! delivery → delivered after restart, a socket on another instance counts.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::common::*;
use crate::fakeweixin::*;
use crate::signin::env;
use crate::wsutil::{
    connect, new_customer, relate, seed_state, spawn_server, ws_url, Rest, Server, C_SEND, S_BADGE,
};
use radar::service::admin::{self, NewUser};
use radar::service::notify;

/// Polls `check` until it holds (at most 20 s).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Longer than the worker's poll: what it would have sent is sent by then.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

async fn rep(st: &radar::AppState, company_id: i64, name: &str, userid: Option<&str>) -> Who {
    let (id, token) = admin::create_user_with(
        st,
        NewUser {
            company_id,
            name,
            avatar: None,
            phone: None,
            wechat: None,
        },
        userid,
    )
    .await
    .expect("rep");
    Who { id, token }
}

/// A company with the fake's WeCom app, a rep known to WeCom as `lisi`, and
/// a related customer 王五.
async fn setup(st: &radar::AppState) -> (i64, Who, Who) {
    let c = admin::create_company(st, "公司").await.expect("company");
    admin::set_wecom_app(st, c, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom app");
    let u = rep(st, c, "李四", Some("lisi")).await;
    let k = new_customer(st, c, "王五").await;
    relate(st, &u, &k).await;
    (c, u, k)
}

async fn says(app: &TestApp, k: &Who, u: &Who, msg: &str) {
    let r = app
        .post_form(
            C_SEND,
            k,
            "",
            &[("u_id", &u.id.to_string()), ("content", &text(msg))],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
}

fn sent_to(fake: &Fake, userid: &str) -> Vec<Value> {
    fake.sent()
        .into_iter()
        .filter(|m| m["touser"] == userid)
        .collect()
}

async fn notices(st: &radar::AppState, user_id: i64, state: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM rep_notice WHERE user_id = $1 AND state = $2",
    )
    .bind(user_id)
    .bind(state)
    .fetch_one(&st.db.pool)
    .await
    .expect("notices")
}

async fn offline_rep_gets_one_card(b: Backend) {
    let e = env(b).await;
    let st = &e.app.st;
    let (c, u, k) = setup(st).await;
    says(&e.app, &k, &u, "你好，价格多少？").await;
    until("one card", || async { sent_to(&e.fake, "lisi").len() == 1 }).await;
    let m = &sent_to(&e.fake, "lisi")[0];
    assert_eq!(m["msgtype"], "textcard");
    assert_eq!(m["agentid"], AGENT_ID);
    assert!(
        m["textcard"]["title"]
            .as_str()
            .is_some_and(|t| t.contains("王五")),
        "{m}"
    );
    assert_eq!(m["textcard"]["description"], "你好，价格多少？");
    assert_eq!(
        m["textcard"]["url"],
        notify::chat_link(&st.config.public_url, c, k.id)
    );
    let url = m["textcard"]["url"].as_str().unwrap_or("");
    assert_eq!(
        query_param(url, "next").as_deref(),
        Some(format!("/rep/chat/{}", k.id).as_str())
    );
    settle().await;
    assert_eq!(sent_to(&e.fake, "lisi").len(), 1);
    assert_eq!(notices(st, u.id, notify::SENT).await, 1);

    // The link signs the rep in and lands on the chat.
    e.fake.set_next_person(Person {
        id: "lisi".into(),
        name: "李四".into(),
        avatar: String::new(),
    });
    let at = url.find("/auth/").expect("a path");
    let landed = e.sign_in(&url[at..]).await;
    assert_eq!(landed.status, 302, "{landed:?}");
    assert!(
        landed
            .location
            .starts_with(&format!("/rep/chat/{}#user_id={}&", k.id, u.id)),
        "{landed:?}"
    );

    // A rep without a WeCom user id, a company without WeCom: nothing queued.
    let plain = rep(st, c, "无企微", None).await;
    let k2 = e.app.customer(c, "赵六").await;
    e.app.relate(&plain, &k2).await;
    says(&e.app, &k2, &plain, "在吗").await;
    let bare = e.app.company("未配置").await;
    let u3 = rep(st, bare, "周七", Some("zhouqi")).await;
    let k3 = e.app.customer(bare, "吴八").await;
    e.app.relate(&u3, &k3).await;
    says(&e.app, &k3, &u3, "在吗").await;
    // A rep's own message notifies nobody.
    let r = e
        .app
        .post_form(
            crate::wsutil::S_SEND,
            &u,
            "",
            &[
                ("customer_id", &k.id.to_string()),
                ("content", &text("好的")),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    settle().await;
    assert_eq!(e.app.count("rep_notice").await, 1);
    assert_eq!(e.fake.sent().len(), 1);
}

async fn online_rep_gets_none(b: Backend) {
    let e = env(b).await;
    let st = &e.app.st;
    let (_, u, k) = setup(st).await;
    let mut ws = connect(&ws_url(&e.app.base, S_BADGE, &u)).await;
    ws.send(json!({"type": "register"})).await;
    let first = ws.next().await;
    assert!(first["code"] == 200 || first["code"] == 199, "{first}");
    assert!(st.bus.rep_connected(u.id));
    says(&e.app, &k, &u, "在吗").await;
    says(&e.app, &k, &u, "在吗？").await;
    settle().await;
    assert!(e.fake.sent().is_empty(), "{:?}", e.fake.sent());
    assert_eq!(e.app.count("rep_notice").await, 0);

    // Gone: the next message notifies.
    ws.close().await;
    until("the socket is gone", || async {
        !st.bus.rep_connected(u.id)
    })
    .await;
    says(&e.app, &k, &u, "人呢").await;
    until("one card", || async { sent_to(&e.fake, "lisi").len() == 1 }).await;
    assert_eq!(
        sent_to(&e.fake, "lisi")[0]["textcard"]["description"],
        "人呢"
    );
}

async fn burst_is_one_per_window(b: Backend) {
    let e = env(b).await;
    let st = &e.app.st;
    let (c, u, k) = setup(st).await;
    for i in 0..6 {
        says(&e.app, &k, &u, &format!("第{i}条")).await;
    }
    until("one card", || async { sent_to(&e.fake, "lisi").len() == 1 }).await;
    assert_eq!(
        sent_to(&e.fake, "lisi")[0]["textcard"]["description"],
        "第0条"
    );
    // Still inside the window after the card went out.
    st.clock.advance_ms(notify::WINDOW_MS - 10_000);
    says(&e.app, &k, &u, "还在吗").await;
    settle().await;
    assert_eq!(sent_to(&e.fake, "lisi").len(), 1);
    // Past it: the next message notifies again.
    st.clock.advance_ms(20_000);
    says(&e.app, &k, &u, "五分钟后").await;
    until("a second card", || async {
        sent_to(&e.fake, "lisi").len() == 2
    })
    .await;
    assert_eq!(
        sent_to(&e.fake, "lisi")[1]["textcard"]["description"],
        "五分钟后"
    );
    // Another conversation of the same rep has its own window.
    let k2 = e.app.customer(c, "钱九").await;
    e.app.relate(&u, &k2).await;
    says(&e.app, &k2, &u, "我也问一下").await;
    until("the other conversation's card", || async {
        sent_to(&e.fake, "lisi").len() == 3
    })
    .await;
}

async fn wecom_failing_then_recovering_delivers_once(b: Backend) {
    let e = env(b).await;
    let st = &e.app.st;
    let (_, u, k) = setup(st).await;
    e.fake.set_down(true);
    says(&e.app, &k, &u, "在吗").await;
    let attempts = || async {
        sqlx::query_scalar::<_, i64>("SELECT attempts FROM rep_notice WHERE user_id = $1")
            .bind(u.id)
            .fetch_one(&st.db.pool)
            .await
            .expect("attempts")
    };
    until("two failed attempts", || async { attempts().await >= 2 }).await;
    // More messages meanwhile: the pending card covers them.
    says(&e.app, &k, &u, "在吗？").await;
    assert!(e.fake.sent().is_empty());
    // WeCom answers again, first with a token it then rejects (40014).
    e.fake.set_down(false);
    e.fake.invalidate_tokens(1);
    until("delivered", || async {
        sent_to(&e.fake, "lisi").len() == 1
    })
    .await;
    settle().await;
    assert_eq!(sent_to(&e.fake, "lisi").len(), 1);
    assert_eq!(
        sent_to(&e.fake, "lisi")[0]["textcard"]["description"],
        "在吗"
    );
    assert_eq!(notices(st, u.id, notify::SENT).await, 1);
    assert_eq!(e.app.count("rep_notice").await, 1);
}

both!(
    offline_rep_gets_one_card,
    online_rep_gets_none,
    burst_is_one_per_window,
    wecom_failing_then_recovering_delivers_once,
);

fn serve_envs(fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("RADAR_WECOM_API", fake.base.clone()),
        ("RADAR_LOG", "info,sqlx=warn".into()),
        ("NO_COLOR", "1".into()),
        ("RADAR_WRITE_RATE", "0".into()),
    ]
}

async fn serve(db: &TestDb, fake: &Fake) -> Server {
    let envs = serve_envs(fake);
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_server(&db.url, &envs).await
}

/// A real `radar serve`, killed with SIGKILL after the message is committed
/// and before WeCom took the card: the next process delivers it.
async fn killed_before_delivery_delivers_after_restart(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let (_, u, k) = setup(&st).await;
    let fake = spawn_fake().await;
    // WeCom refuses every token: the card stays in the outbox.
    fake.invalidate_tokens(u32::MAX);
    let mut first = serve(&db, &fake).await;
    let r = Rest::new(&first.base);
    r.customer_says(&k, &u, "关机前的消息").await;
    until("a failed attempt recorded", || async {
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT attempts, lease_until FROM rep_notice WHERE user_id = $1")
                .bind(u.id)
                .fetch_optional(&st.db.pool)
                .await
                .expect("row");
        matches!(row, Some((n, None)) if n >= 1)
    })
    .await;
    first.child.start_kill().expect("SIGKILL");
    let _ = first.child.wait().await;
    assert!(fake.sent().is_empty());
    until("the failure logged with its errcode", || async {
        first.saw("notify: WeCom message failed") && first.saw("errcode=40014")
    })
    .await;

    fake.invalidate_tokens(0);
    let second = serve(&db, &fake).await;
    until("delivered after restart", || async {
        sent_to(&fake, "lisi").len() == 1
    })
    .await;
    settle().await;
    assert_eq!(sent_to(&fake, "lisi").len(), 1);
    assert_eq!(
        sent_to(&fake, "lisi")[0]["textcard"]["description"],
        "关机前的消息"
    );
    until("the delivery logged", || async {
        second.saw("notify: WeCom message sent to the rep")
    })
    .await;
    // No secret or access token in the logs.
    for s in [&first, &second] {
        let lines = s.lines.lock().map(|l| l.join("\n")).unwrap_or_default();
        assert!(!lines.contains(CORP_SECRET), "{lines}");
        assert!(!lines.contains("access_token"), "{lines}");
        assert!(!lines.contains("tok1x"), "{lines}");
    }
}

both!(killed_before_delivery_delivers_after_restart);

/// A private PostgreSQL cluster crashes while a card waits for WeCom, and comes
/// back: the worker says it cannot reach the database, keeps going, and the
/// card goes out once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_delays_but_delivers_once() {
    let pg = crate::security::outage::PgCluster::create();
    let url = pg.url();
    let st = seed_state(&url).await;
    let (_, u, k) = setup(&st).await;
    let fake = spawn_fake().await;
    fake.set_down(true);
    let server = {
        let envs = serve_envs(&fake);
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        spawn_server(&url, &envs).await
    };
    Rest::new(&server.base)
        .customer_says(&k, &u, "重启前的消息")
        .await;
    until("a failed attempt recorded", || async {
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT attempts, lease_until FROM rep_notice WHERE user_id = $1")
                .bind(u.id)
                .fetch_optional(&st.db.pool)
                .await
                .expect("row");
        matches!(row, Some((n, None)) if n >= 1)
    })
    .await;
    st.db.pool.close().await;

    assert!(pg.crash(), "pg_ctl stop failed");
    fake.set_down(false);
    // Long enough for the worker's next attempt to meet the outage.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(fake.sent().is_empty(), "sent while the database was down");
    pg.start();

    until("delivered after the database came back", || async {
        sent_to(&fake, "lisi").len() == 1
    })
    .await;
    settle().await;
    assert_eq!(sent_to(&fake, "lisi").len(), 1);
    assert_eq!(
        sent_to(&fake, "lisi")[0]["textcard"]["description"],
        "重启前的消息"
    );
    assert!(
        server.saw("notify:"),
        "the worker says what it does in its log"
    );
}

/// PostgreSQL, two instances: a socket on B keeps A from notifying; once it
/// closes, A notifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_on_another_instance_counts() {
    let db = TestDb::new(Backend::Postgres).await;
    let st = seed_state(&db.url).await;
    let (_, u, k) = setup(&st).await;
    let fake = spawn_fake().await;
    let a = serve(&db, &fake).await;
    let b = serve(&db, &fake).await;
    let mut ws = connect(&ws_url(&b.base, S_BADGE, &u)).await;
    ws.send(json!({"type": "register"})).await;
    let _ = ws.next().await;
    until("B publishes the rep's presence", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM rep_presence WHERE user_id = $1",
        )
        .bind(u.id)
        .fetch_one(&st.db.pool)
        .await
        .expect("presence")
            == 1
    })
    .await;
    let ra = Rest::new(&a.base);
    ra.customer_says(&k, &u, "在吗").await;
    settle().await;
    assert!(fake.sent().is_empty(), "{:?}", fake.sent());

    ws.close().await;
    until("B withdraws it", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM rep_presence WHERE user_id = $1",
        )
        .bind(u.id)
        .fetch_one(&st.db.pool)
        .await
        .expect("presence")
            == 0
    })
    .await;
    ra.customer_says(&k, &u, "人呢").await;
    until("A notifies", || async { sent_to(&fake, "lisi").len() == 1 }).await;
    settle().await;
    assert_eq!(sent_to(&fake, "lisi").len(), 1);
    drop((a, b));
}
