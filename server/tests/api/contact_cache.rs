//! The contact-list cache (`service::crm::contacts`, `changes.rs`): whatever
//! a seeded random schedule wrote — messages and read marks, deal fields,
//! memo names, follow-ups, article views, new relations, and writes behind
//! the server's back (another process, raw SQL) — every page served equals
//! the page read fresh from the database, at once on SQLite and as soon as
//! PostgreSQL's notification arrived. The day-relative texts are made per
//! request, so moving the clock is one of the steps.
//!
//! Replay a failure with `RADAR_SEED=<seed printed in the panic>`;
//! `RADAR_CONTACTS_STEPS` sets the schedule length (default 40).

use std::time::{Duration, Instant};

use crate::both;
use crate::common::contacts::{agrees, LIST, QUERIES};
use crate::common::rng::{self, seed, Rng};
use crate::common::*;
use radar::service::admin;
use radar::service::article::create_article;
use serde_json::json;

fn steps() -> usize {
    rng::steps("RADAR_CONTACTS_STEPS", 40)
}

/// Waits until this process has seen a commit made behind its back. On
/// SQLite it is seen as it commits (a write that changes no byte commits
/// nothing and needs no notice); PostgreSQL's notification takes a moment.
async fn seen(app: &TestApp, b: Backend, before: Option<u64>, what: &str) {
    if b == Backend::Sqlite {
        return;
    }
    let started = Instant::now();
    while app.st.db.changes.epoch() == before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: the commit never moved the epoch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn check_all(app: &TestApp, reps: &[Who], at: &str) {
    for rep in reps {
        for q in QUERIES {
            // Twice: the second answer comes from the cache when nothing moved.
            for _ in 0..2 {
                if let Err(e) = agrees(&app.st, rep.id, q, app.get(LIST, rep, q)).await {
                    panic!("{at}: {e}");
                }
            }
        }
    }
}

async fn contact_cache_stays_exact(b: Backend) {
    let seed = seed();
    let mut rng = Rng(seed);
    let app = spawn_app(b).await;
    let company = app.company("缓存公司").await;
    let reps = vec![
        app.user(company, "销售甲").await,
        app.user(company, "销售乙").await,
    ];
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(app.customer(company, &format!("客户{i}")).await);
    }
    let articles = vec![
        create_article(&app.st, company, "第一篇", 1, 0)
            .await
            .expect("article"),
        create_article(&app.st, company, "第二篇", 1, 0)
            .await
            .expect("article"),
    ];
    let mut pairs: Vec<(usize, Who)> = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        admin::create_relation(&app.st, reps[i % 2].id, c.id, 1 + (i as i64 % 4))
            .await
            .expect("relation");
        pairs.push((i % 2, c.clone()));
    }
    check_all(&app, &reps, &format!("seed {seed}, setup")).await;
    for step in 0..steps() {
        let (ri, c) = rng.pick(&pairs).clone();
        let rep = reps[ri].clone();
        let op = rng.below(12);
        let at = format!("seed {seed}, step {step} (op {op})");
        let ok = |v: serde_json::Value| assert_eq!(code(&v), 200, "{at}: {v}");
        match op {
            0 => ok(app
                .post_form(
                    "/zhugeleida/gongzhonghao/chat/send_msg/0",
                    &c,
                    "",
                    &[
                        ("u_id", &rep.id.to_string()),
                        ("send_type", "2"),
                        ("content", &text(&format!("客户说{step}"))),
                    ],
                )
                .await),
            1 => ok(app
                .post_form(
                    "/zhugeleida/qiyeweixin/chat/send_msg/0",
                    &rep,
                    "",
                    &[
                        ("customer_id", &c.id.to_string()),
                        ("send_type", "1"),
                        ("content", &text(&format!("销售说{step}"))),
                    ],
                )
                .await),
            2 => ok(app
                .get(
                    "/zhugeleida/qiyeweixin/chat/getmsg/0",
                    &rep,
                    &format!("customer_id={}", c.id),
                )
                .await),
            3 => ok(app
                .post_json(
                    &format!(
                        "/zhugeleida/qiyeweixin/customer/update_expected_pr/{}",
                        c.id
                    ),
                    &rep,
                    "",
                    &json!({"expedted_pr": format!("{}%", rng.below(11) * 10)}),
                )
                .await),
            4 => ok(app
                .post_form(
                    &format!(
                        "/zhugeleida/qiyeweixin/customer/update_expected_time/{}",
                        c.id
                    ),
                    &rep,
                    "",
                    &[("expected_time", &format!("2031-{}-1", 1 + rng.below(12)))],
                )
                .await),
            5 => ok(app
                .post_form(
                    &format!(
                        "/zhugeleida/qiyeweixin/customer/update_information/{}",
                        c.id
                    ),
                    &rep,
                    "",
                    &[("username", &format!("备注{step}")), ("sex", "1")],
                )
                .await),
            6 => ok(app
                .post_form(
                    &format!("/zhugeleida/qiyeweixin/follow_info/add/{}", c.id),
                    &rep,
                    "",
                    &[("follow_info", &format!("跟进{step}"))],
                )
                .await),
            7 => {
                // The customer reads an article the rep shared: the access
                // log, the activity time, the title shown.
                let article = *rng.pick(&articles);
                ok(app
                    .post_form(
                        &format!("/zhugeleida/gongzhonghao/article/view_article/{article}"),
                        &c,
                        "",
                        &[("uid", &rep.id.to_string())],
                    )
                    .await)
            }
            8 => {
                // Behind the server's back, as another process would:
                // nothing in the service knows of these writes.
                let sql = match rng.below(4) {
                    0 => format!(
                        "UPDATE article SET title = '改名{step}' WHERE id = {}",
                        rng.pick(&articles)
                    ),
                    1 => format!(
                        "UPDATE customer SET username = '外部{step}', headimgurl = 'https://x/{step}.png' WHERE id = {}",
                        c.id
                    ),
                    2 => format!(
                        "UPDATE customer SET is_subscribe = {} WHERE id = {}",
                        rng.below(2),
                        c.id
                    ),
                    _ => format!(
                        "UPDATE relation SET expedted_pr = NULL, last_follow_time = {} WHERE user_id = {} AND customer_id = {}",
                        app.now_ms() - 86_400_000 * rng.below(3) as i64,
                        rep.id,
                        c.id
                    ),
                };
                let before = app.st.db.changes.epoch();
                sqlx::query(&sql)
                    .execute(&app.st.db.pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                seen(&app, b, before, &format!("{at}: {sql}")).await;
            }
            9 => {
                // A new relation: an unrelated pair, or a new customer.
                let ri = rng.below(reps.len());
                let free = customers
                    .iter()
                    .find(|k| !pairs.iter().any(|(r, p)| *r == ri && p.id == k.id))
                    .cloned();
                let k = match free {
                    Some(k) if rng.below(2) == 0 => k,
                    _ => {
                        let k = app
                            .customer(company, &format!("新客户{}", customers.len()))
                            .await;
                        customers.push(k.clone());
                        k
                    }
                };
                admin::create_relation(&app.st, reps[ri].id, k.id, 1 + rng.below(5) as i64)
                    .await
                    .expect("relation");
                pairs.push((ri, k));
            }
            10 => {
                // The day-relative texts ("今天", "昨天") follow the clock.
                app.st.clock.advance_ms(86_400_000);
            }
            _ => {
                // No write: the answers must come from the cache unchanged.
            }
        }
        check_all(&app, &reps, &at).await;
    }
    let s = app.st.contacts.stats();
    assert!(s.hits > 0, "seed {seed}: the cache never answered: {s:?}");
    assert!(s.fills > 0, "seed {seed}: nothing was cached: {s:?}");
    assert_eq!(s.bypasses, 0, "seed {seed}: {s:?}");
}

/// `radar admin` in its own process, next to the serving one: the next
/// answer shows what it wrote (SQLite: at once; PostgreSQL: once notified).
async fn another_process_writes_are_seen(b: Backend) {
    let app = spawn_app(b).await;
    let company = app.company("进程公司").await;
    let rep = app.user(company, "销售").await;
    let first = app.customer(company, "老客户").await;
    admin::create_relation(&app.st, rep.id, first.id, 2)
        .await
        .expect("relation");
    let stranger = app.customer(company, "新客户").await;
    for q in QUERIES {
        for _ in 0..2 {
            agrees(&app.st, rep.id, q, app.get(LIST, &rep, q))
                .await
                .expect("warm");
        }
    }
    let hits = app.st.contacts.stats().hits;
    assert!(hits >= QUERIES.len() as u64, "warm: {hits} hits");
    let before = app.st.db.changes.epoch();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(["admin", "relation", "create", "--user-id"])
        .arg(rep.id.to_string())
        .args(["--customer-id", &stranger.id.to_string(), "--source", "4"])
        .env("DATABASE_URL", &app.db.url)
        .env_remove("RADAR_ADDR")
        .output()
        .expect("run radar admin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if b == Backend::Sqlite {
        assert_ne!(app.st.db.changes.epoch(), before, "SQLite: seen at once");
    }
    seen(&app, b, before, "radar admin").await;
    let v = app.get(LIST, &rep, "").await;
    assert_eq!(v["data"]["data_count"], 2, "{v}");
    for q in QUERIES {
        agrees(&app.st, rep.id, q, app.get(LIST, &rep, q))
            .await
            .expect("after the other process");
    }
}

/// `RADAR_CONTACT_CACHE=off`: every page is read from the database.
async fn cache_off_reads_every_page(b: Backend) {
    let app = spawn_with(b, |c| c.contact_cache = false).await;
    let (rep, _) = app.pair().await;
    for q in QUERIES {
        for _ in 0..2 {
            agrees(&app.st, rep.id, q, app.get(LIST, &rep, q))
                .await
                .expect("uncached");
        }
    }
    assert_eq!(
        app.st.contacts.stats(),
        Default::default(),
        "the cache was used"
    );
}

both!(
    contact_cache_stays_exact,
    another_process_writes_are_seen,
    cache_off_reads_every_page
);

/// The check can fail: with PostgreSQL's notification removed, a write
/// behind the server's back leaves a stale page, and [`agrees`] says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_sees_a_stale_page() {
    let app = spawn_app(Backend::Postgres).await;
    let (rep, k) = app.pair().await;
    agrees(&app.st, rep.id, "", app.get(LIST, &rep, ""))
        .await
        .expect("cold");
    agrees(&app.st, rep.id, "", app.get(LIST, &rep, ""))
        .await
        .expect("warm");
    sqlx::query("DROP TRIGGER customer_touch ON customer")
        .execute(&app.st.db.pool)
        .await
        .expect("drop trigger");
    sqlx::query("UPDATE customer SET username = '无人知晓' WHERE id = $1")
        .bind(k.id)
        .execute(&app.st.db.pool)
        .await
        .expect("rename");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stale = agrees(&app.st, rep.id, "", app.get(LIST, &rep, "")).await;
    assert!(
        stale.is_err_and(|e| e.contains("无人知晓")),
        "a stale page went unnoticed"
    );
}

/// On PostgreSQL the server's own write transactions are announced by its
/// bus after they commit, not by the triggers' NOTIFY inside them (which
/// would serialize every notifying commit, WAL flush included); any other
/// writer's transaction is announced by the triggers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_outside_writers_notify_from_inside_their_transaction() {
    let app = spawn_app(Backend::Postgres).await;
    let (rep, k) = app.pair().await;
    let mut listener = sqlx::postgres::PgListener::connect(&app.db.url)
        .await
        .expect("listener");
    listener
        .listen(radar::bus::TOUCH_CHANNEL)
        .await
        .expect("listen");
    let before = app.st.db.changes.epoch();
    let r = app
        .post_json(
            &format!(
                "/zhugeleida/qiyeweixin/customer/update_expected_pr/{}",
                k.id
            ),
            &rep,
            "",
            &json!({"expedted_pr": "30%"}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_ne!(
        app.st.db.changes.epoch(),
        before,
        "the writer's epoch moved"
    );
    let quiet = tokio::time::timeout(Duration::from_millis(500), listener.recv()).await;
    assert!(quiet.is_err(), "the server's write notified: {quiet:?}");
    sqlx::query("UPDATE customer SET username = '手工' WHERE id = $1")
        .bind(k.id)
        .execute(&app.st.db.pool)
        .await
        .expect("by hand");
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
    assert!(
        matches!(heard, Ok(Ok(ref n)) if n.channel() == radar::bus::TOUCH_CHANNEL),
        "a write outside the bus's transactions notifies: {heard:?}"
    );
}
