//! The counters kept on write (migration 0016: per-relation message and unread
//! counts, the rep's unread total and chat count, the rep's book per source)
//! against a fresh recount from the base tables, after every step of a seeded
//! random schedule driven through the real server (after Zulip's
//! `test_events`). The answers built on them (badges, inbox, contact list in
//! every order and filter, history) are compared with the full queries they
//! replaced. And the migration's backfill is checked on a database populated
//! before it.
//!
//! Replay a failure with `RADAR_SEED=<seed printed in the panic>`;
//! `RADAR_COUNTER_STEPS` sets the schedule length (default 60).

use std::collections::BTreeMap;

use crate::both;
use crate::common::rng::{self, seed, Rng};
use crate::common::*;
use app::api::Side;
use radar::service::admin;
use radar::service::chat::{pair, unread};
use serde_json::Value;

fn steps() -> usize {
    rng::steps("RADAR_COUNTER_STEPS", 60)
}

async fn rows(app: &TestApp, sql: &str) -> Vec<Vec<i64>> {
    rows_on(&app.st.db.pool, sql).await
}

async fn rows_on(pool: &sqlx::AnyPool, sql: &str) -> Vec<Vec<i64>> {
    let rows = sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            use sqlx::Row;
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<i64>, _>(i)
                        .unwrap_or_else(|e| panic!("{sql}: column {i}: {e}"))
                        .unwrap_or(-1)
                })
                .collect()
        })
        .collect()
}

/// A text message of the pair, sent by `from` through the REST API.
async fn send(app: &TestApp, rep: &Who, c: &Who, from: Side, msg: &str) -> Value {
    match from {
        Side::Customer => {
            app.post_form(
                "/zhugeleida/gongzhonghao/chat/send_msg/0",
                c,
                "",
                &[
                    ("u_id", &rep.id.to_string()),
                    ("send_type", "2"),
                    ("content", &text(msg)),
                ],
            )
            .await
        }
        Side::Sales => {
            app.post_form(
                "/zhugeleida/qiyeweixin/chat/send_msg/0",
                rep,
                "",
                &[
                    ("customer_id", &c.id.to_string()),
                    ("send_type", "1"),
                    ("content", &text(msg)),
                ],
            )
            .await
        }
    }
}

/// The recount of one side's unread messages of relation `r`.
fn recount(send_type: i64, watermark: &str) -> String {
    format!(
        "(SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m
          WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id
            AND m.send_type = {send_type} AND m.id > r.{watermark})"
    )
}

/// Every counter equals its recount from the base tables; returns how many
/// counters were compared and how many of them were non-zero.
async fn counters_exact(pool: &sqlx::AnyPool, at: &str) -> (usize, usize) {
    let mut compared = 0;
    let mut nonzero = 0;
    let rel = rows_on(
        pool,
        &format!(
            "SELECT r.id, r.msg_count,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m
                      WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id),
                    r.user_unread, {}, r.customer_unread, {},
                    r.first_msg_id,
                    (SELECT MIN(m.id) FROM chat_message m
                      WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id),
                    r.last_msg_id,
                    (SELECT MAX(m.id) FROM chat_message m
                      WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id)
             FROM relation r ORDER BY r.id",
            recount(2, "user_read_id"),
            recount(1, "customer_read_id")
        ),
    )
    .await;
    for r in &rel {
        assert_eq!(r[1], r[2], "{at}: relation {} msg_count", r[0]);
        assert_eq!(r[3], r[4], "{at}: relation {} user_unread", r[0]);
        assert_eq!(r[5], r[6], "{at}: relation {} customer_unread", r[0]);
        assert_eq!(r[7], r[8], "{at}: relation {} first_msg_id", r[0]);
        assert_eq!(r[9], r[10], "{at}: relation {} last_msg_id", r[0]);
        compared += 5;
        nonzero += [r[1], r[3], r[5]].iter().filter(|n| **n != 0).count();
        nonzero += [r[7], r[9]].iter().filter(|n| **n > 0).count();
    }
    let reps = rows_on(
        pool,
        &format!(
            "SELECT u.id, u.unread_msg_num,
                    (SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM relation r WHERE r.user_id = u.id),
                    u.chat_count,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM relation r
                      WHERE r.user_id = u.id AND r.last_msg_id IS NOT NULL)
             FROM sales_user u ORDER BY u.id",
            recount(2, "user_read_id")
        ),
    )
    .await;
    for r in &reps {
        assert_eq!(r[1], r[2], "{at}: sales_user {} unread_msg_num", r[0]);
        assert_eq!(r[3], r[4], "{at}: sales_user {} chat_count", r[0]);
        compared += 2;
        nonzero += [r[1], r[3]].iter().filter(|n| **n != 0).count();
    }
    let book: BTreeMap<(i64, i64), i64> = rows_on(
        pool,
        "SELECT user_id, source, customers FROM rep_book WHERE customers <> 0",
    )
    .await
    .into_iter()
    .map(|r| ((r[0], r[1]), r[2]))
    .collect();
    let fresh: BTreeMap<(i64, i64), i64> = rows_on(
        pool,
        "SELECT user_id, source, CAST(COUNT(*) AS BIGINT) FROM relation GROUP BY user_id, source",
    )
    .await
    .into_iter()
    .map(|r| ((r[0], r[1]), r[2]))
    .collect();
    assert_eq!(book, fresh, "{at}: rep_book");
    compared += fresh.len();
    nonzero += fresh.len();
    (compared, nonzero)
}

/// The contact list's orders as the API names them, each with the column and
/// direction of the full query it replaced.
const ORDERS: [(&str, &str, bool); 9] = [
    ("", "expedted_pr", true),
    ("-expedted_pr", "expedted_pr", true),
    ("expedted_pr", "expedted_pr", false),
    ("-last_follow_time", "last_follow_time", true),
    ("last_follow_time", "last_follow_time", false),
    ("-last_activity_time", "last_activity_time", true),
    ("last_activity_time", "last_activity_time", false),
    ("-create_date", "create_date", true),
    ("create_date", "create_date", false),
];

/// Filters of the contact list: query string and the condition on `r`.
const FILTERS: [(&str, &str); 5] = [
    ("", ""),
    ("customer_type=1", "AND r.source IN (4)"),
    ("customer_type=2", "AND r.source IN (1, 2, 3)"),
    ("customer__source=2", "AND r.source = 2"),
    (
        "customer_type=2&customer__source=1",
        "AND r.source IN (1, 2, 3) AND r.source = 1",
    ),
];

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v["data"]["ret_data"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i[key].as_i64()).collect())
        .unwrap_or_default()
}

/// Every answer built on the counters equals the full query it replaced.
async fn answers_match(app: &TestApp, reps: &[Who], pairs: &[(usize, Who)], at: &str) {
    for rep in reps {
        let old_badge = rows(
            app,
            &format!(
                "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM relation r WHERE r.user_id = {}",
                recount(2, "user_read_id"),
                rep.id
            ),
        )
        .await[0][0];
        let badge = app
            .get("/zhugeleida/qiyeweixin/contact/query_num", rep, "")
            .await;
        assert_eq!(
            badge["data"]["chatinfo_count"].as_i64(),
            Some(old_badge),
            "{at}: rep badge {badge}"
        );
        // The inbox: order, count, per-entry unread and the badge inside.
        let old = rows(
            app,
            &format!(
                "SELECT r.customer_id, {} FROM relation r
                 WHERE r.user_id = {} AND r.last_msg_id IS NOT NULL ORDER BY r.last_msg_id DESC",
                recount(2, "user_read_id"),
                rep.id
            ),
        )
        .await;
        let inbox = app
            .get("/zhugeleida/qiyeweixin/contact", rep, "length=100")
            .await;
        assert_eq!(code(&inbox), 200, "{at}: {inbox}");
        assert_eq!(
            inbox["data"]["data_count"].as_i64(),
            Some(old.len() as i64),
            "{at}: inbox data_count"
        );
        assert_eq!(inbox["data"]["unread_msg_num"].as_i64(), Some(old_badge));
        let got: Vec<(i64, i64)> = inbox["data"]["ret_data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i["customer_id"].as_i64().unwrap_or(-1),
                            i["count"].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<(i64, i64)> = old.iter().map(|r| (r[0], r[1])).collect();
        assert_eq!(got, want, "{at}: inbox of rep {}", rep.id);
        let page2 = app
            .get(
                "/zhugeleida/qiyeweixin/contact",
                rep,
                "length=2&current_page=2",
            )
            .await;
        let want2: Vec<i64> = want.iter().skip(2).take(2).map(|p| p.0).collect();
        assert_eq!(ids(&page2, "customer_id"), want2, "{at}: inbox page 2");
        // The walk writes its OFFSET into the statement: the largest page
        // number must still be a number both databases take.
        let far = app
            .get(
                "/zhugeleida/qiyeweixin/contact",
                rep,
                "length=100&current_page=9223372036854775807",
            )
            .await;
        assert_eq!(code(&far), 200, "{at}: {far}");
        assert_eq!(ids(&far, "customer_id"), Vec::<i64>::new(), "{at}: {far}");
        assert_eq!(
            far["data"]["data_count"].as_i64(),
            Some(old.len() as i64),
            "{at}: {far}"
        );

        // The contact list in every order and filter, whole and paged.
        for (order, col, desc) in ORDERS {
            let sort = if desc {
                format!("CASE WHEN r.{col} IS NULL THEN 1 ELSE 0 END, r.{col} DESC, r.id DESC")
            } else {
                format!("CASE WHEN r.{col} IS NULL THEN 0 ELSE 1 END, r.{col} ASC, r.id DESC")
            };
            for (query, cond) in FILTERS {
                let old = rows(
                    app,
                    &format!(
                        "SELECT r.customer_id, {} FROM relation r JOIN customer c ON c.id = r.customer_id
                         WHERE r.user_id = {} {cond} ORDER BY {sort}",
                        recount(2, "user_read_id"),
                        rep.id
                    ),
                )
                .await;
                let mut extra = vec!["length=100".to_owned()];
                if !order.is_empty() {
                    extra.push(format!("order={order}"));
                }
                if !query.is_empty() {
                    extra.push(query.to_owned());
                }
                let v = app
                    .get("/zhugeleida/qiyeweixin/tongxunlu", rep, &extra.join("&"))
                    .await;
                let what = format!("{at}: tongxunlu of rep {} {}", rep.id, extra.join("&"));
                if old.is_empty() {
                    assert_eq!(code(&v), 302, "{what}: {v}");
                    continue;
                }
                assert_eq!(code(&v), 200, "{what}: {v}");
                assert_eq!(
                    v["data"]["data_count"].as_i64(),
                    Some(old.len() as i64),
                    "{what}"
                );
                let want: Vec<i64> = old.iter().map(|r| r[0]).collect();
                assert_eq!(ids(&v, "customer_id"), want, "{what}");
                let unread: Vec<i64> = v["data"]["ret_data"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|i| i["unread_msg_num"].as_i64().unwrap_or(-1))
                            .collect()
                    })
                    .unwrap_or_default();
                let want_unread: Vec<i64> = old.iter().map(|r| r[1]).collect();
                assert_eq!(unread, want_unread, "{what}: unread_msg_num");
                // The last page (read from the end of the index).
                let last_page = old.len().div_ceil(3);
                extra[0] = format!("length=3&current_page={last_page}");
                let v = app
                    .get("/zhugeleida/qiyeweixin/tongxunlu", rep, &extra.join("&"))
                    .await;
                let want: Vec<i64> = old.iter().skip((last_page - 1) * 3).map(|r| r[0]).collect();
                assert_eq!(ids(&v, "customer_id"), want, "{what}, last page");
                extra[0] = "length=2&current_page=2".into();
                let v = app
                    .get("/zhugeleida/qiyeweixin/tongxunlu", rep, &extra.join("&"))
                    .await;
                let want: Vec<i64> = old.iter().skip(2).take(2).map(|r| r[0]).collect();
                assert_eq!(ids(&v, "customer_id"), want, "{what}, page 2");
                assert_eq!(
                    v["data"]["data_count"].as_i64(),
                    Some(old.len() as i64),
                    "{what}, page 2"
                );
            }
        }
    }
    // The customer's badge and each history's count.
    for (ri, c) in pairs {
        let rep = &reps[*ri];
        let related = rows(
            app,
            &format!(
                "SELECT {}, (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m
                   WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id)
                 FROM relation r WHERE r.user_id = {} AND r.customer_id = {}",
                recount(1, "customer_read_id"),
                rep.id,
                c.id
            ),
        )
        .await;
        let Some(old) = related.first() else { continue };
        let v = app
            .get(
                "/zhugeleida/gongzhonghao/chat/query_num/0",
                c,
                &format!("u_id={}", rep.id),
            )
            .await;
        assert_eq!(
            v["data"]["chatinfo_count"].as_i64(),
            Some(old[0]),
            "{at}: customer badge {} of rep {}: {v}",
            c.id,
            rep.id
        );
        // after_id beyond every message reads the count without marking anything.
        let v = app
            .get(
                "/zhugeleida/qiyeweixin/chat",
                rep,
                &format!("customer_id={}&after_id=9000000000000", c.id),
            )
            .await;
        assert_eq!(
            v["data"]["data_count"].as_i64(),
            Some(old[1]),
            "{at}: history count {v}"
        );
    }
}

async fn counters_stay_exact(backend: Backend) {
    let seed = seed();
    let mut rng = Rng(seed);
    let app = spawn_app(backend).await;
    let company = app.company("计数公司").await;
    let mut reps = Vec::new();
    for i in 0..2 {
        reps.push(app.user(company, &format!("销售{i}")).await);
    }
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(app.customer(company, &format!("客户{i}")).await);
    }
    // (rep index, customer) of each relation.
    let mut pairs: Vec<(usize, Who)> = Vec::new();
    for (i, c) in customers.iter().enumerate().take(3) {
        admin::create_relation(&app.st, reps[i % 2].id, c.id, 1 + (i as i64 % 4))
            .await
            .expect("relation");
        pairs.push((i % 2, c.clone()));
    }
    let n = steps();
    let mut touched = 0;
    for step in 0..n {
        let at = format!("seed {seed}, step {step}");
        let (ri, c) = rng.pick(&pairs).clone();
        let rep = reps[ri].clone();
        let op = rng.below(10);
        let v = match op {
            0 | 1 => send(&app, &rep, &c, Side::Customer, &format!("c{step}")).await,
            2 => send(&app, &rep, &c, Side::Sales, &format!("r{step}")).await,
            3 => {
                app.get(
                    "/zhugeleida/gongzhonghao/chat/getmsg/0",
                    &c,
                    &format!("u_id={}", rep.id),
                )
                .await
            }
            4 => {
                app.get(
                    "/zhugeleida/qiyeweixin/chat/getmsg/0",
                    &rep,
                    &format!("customer_id={}", c.id),
                )
                .await
            }
            5 => {
                let len = 1 + rng.below(4);
                app.get(
                    "/zhugeleida/gongzhonghao/chat",
                    &c,
                    &format!("u_id={}&length={len}", rep.id),
                )
                .await
            }
            6 => {
                // Resume after a random message: only what is returned is read.
                let after = rows(
                    &app,
                    &format!(
                        "SELECT id FROM chat_message WHERE user_id = {} AND customer_id = {} ORDER BY id",
                        rep.id, c.id
                    ),
                )
                .await;
                let after = if after.is_empty() {
                    0
                } else {
                    rng.pick(&after)[0] - 1
                };
                let len = 1 + rng.below(3);
                app.get(
                    "/zhugeleida/qiyeweixin/chat",
                    &rep,
                    &format!("customer_id={}&after_id={after}&length={len}", c.id),
                )
                .await
            }
            7 => {
                // A watermark set by a socket's read frame may name any id,
                // even one beyond the newest message.
                let side = if rng.below(2) == 0 {
                    Side::Sales
                } else {
                    Side::Customer
                };
                let p = pair::pair(&app.st, rep.id, c.id).await.expect("pair");
                let top = rows(
                    &app,
                    &format!(
                        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM chat_message
                         WHERE user_id = {} AND customer_id = {}",
                        rep.id, c.id
                    ),
                )
                .await[0][0];
                let up_to = top - 1 + rng.below(4) as i64;
                unread::mark_read(&app.st, &p, side, up_to)
                    .await
                    .expect("mark_read");
                Value::Null
            }
            8 => {
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
                let source = 1 + rng.below(5) as i64;
                admin::create_relation(&app.st, reps[ri].id, k.id, source)
                    .await
                    .expect("relation");
                pairs.push((ri, k));
                Value::Null
            }
            _ => {
                // Sort keys with ties and NULLs (what deals, notes and the
                // access log write), for the contact list's orders.
                let pick = |r: &mut Rng| match r.below(3) {
                    0 => "NULL".to_owned(),
                    1 => "10".to_owned(),
                    _ => (r.below(3) * 10).to_string(),
                };
                let sql = format!(
                    "UPDATE relation SET expedted_pr = {}, last_follow_time = {}, last_activity_time = {}
                     WHERE user_id = {} AND customer_id = {}",
                    pick(&mut rng),
                    pick(&mut rng),
                    pick(&mut rng),
                    rep.id,
                    c.id
                );
                let before = app.st.db.changes.epoch();
                sqlx::query(&sql)
                    .execute(&app.st.db.pool)
                    .await
                    .expect("sort keys");
                // A write behind the server's back reaches the contact
                // list's cache through PostgreSQL's notification (SQLite's
                // commit is seen as it happens).
                let started = std::time::Instant::now();
                while backend == Backend::Postgres && app.st.db.changes.epoch() == before {
                    assert!(started.elapsed().as_secs() < 10, "{at}: never notified");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Value::Null
            }
        };
        if !v.is_null() {
            assert_eq!(code(&v), 200, "{at}: op {op}: {v}");
        }
        let (_, nonzero) = counters_exact(&app.st.db.pool, &at).await;
        touched = touched.max(nonzero);
        if step % 5 == 4 || step + 1 == n {
            answers_match(&app, &reps, &pairs, &at).await;
        }
    }
    assert!(touched > 0, "seed {seed}: no counter ever moved");
}

/// A database written before 0016 (base rows only, watermarks anywhere, a
/// system tip) gets counters equal to the recount.
async fn backfill_matches_recount(backend: Backend) {
    let (db, pool) = migrated_before(backend, 16).await;
    let exec = |sql: String| {
        let pool = pool.pool.clone();
        async move {
            sqlx::query(&sql)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    };
    exec("INSERT INTO company (name, create_date) VALUES ('c', 1)".into()).await;
    for u in 1..=3 {
        exec(format!(
            "INSERT INTO sales_user (company_id, username, token, create_date) VALUES (1, 'u{u}', 't{u}', 1)"
        ))
        .await;
    }
    let mut rng = Rng(seed());
    let mut next_msg: i64 = 1;
    for k in 1..=8 {
        exec(format!(
            "INSERT INTO customer (company_id, username, token, create_date) VALUES (1, 'k{k}', 'k{k}', 1)"
        ))
        .await;
        for u in 1..=3 {
            if rng.below(3) == 0 {
                continue;
            }
            let msgs = rng.below(12);
            let first = next_msg;
            for _ in 0..msgs {
                exec(format!(
                    "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date)
                     VALUES ({u}, {k}, {}, '{{\"info_type\":1,\"msg\":\"x\"}}', 1)",
                    1 + rng.below(3)
                ))
                .await;
                next_msg += 1;
            }
            let last = if msgs == 0 {
                "NULL".to_owned()
            } else {
                (next_msg - 1).to_string()
            };
            let mark = |r: &mut Rng| first - 1 + r.below(msgs + 2) as i64;
            exec(format!(
                "INSERT INTO relation (user_id, customer_id, source, create_date, user_read_id, customer_read_id, last_msg_id)
                 VALUES ({u}, {k}, {}, 1, {}, {}, {last})",
                1 + rng.below(5),
                mark(&mut rng),
                mark(&mut rng)
            ))
            .await;
        }
    }
    pool.pool.close().await;
    // The server's start applies 0016.
    let mut config = radar::Config::from_env().expect("config");
    config.database_url = db.url.clone();
    config.db_max_connections = 2;
    let st = radar::AppState::start(config).await.expect("start");
    let (compared, nonzero) = counters_exact(&st.db.pool, "after the backfill").await;
    assert!(compared > 0 && nonzero > 0, "the fixture counted nothing");
    st.db.pool.close().await;
    drop(db);
}

/// A conversation's first and last message ids on its relation (migration
/// 0018) follow sends and deletes by any writer, and the history's
/// `is_first_info` follows the first.
async fn conversation_ends_follow_every_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let (rep, c) = app.pair().await;
    let send = |who: usize, n: usize| {
        let (app, rep, c) = (&app, rep.clone(), c.clone());
        async move {
            let side = if who == 0 {
                Side::Customer
            } else {
                Side::Sales
            };
            let v = send(app, &rep, &c, side, &format!("m{n}")).await;
            assert_eq!(code(&v), 200, "send {v}");
        }
    };
    let ends = || async {
        rows(
            &app,
            &format!(
                "SELECT r.first_msg_id, r.last_msg_id,
                        (SELECT MIN(m.id) FROM chat_message m
                          WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id),
                        (SELECT MAX(m.id) FROM chat_message m
                          WHERE m.user_id = r.user_id AND m.customer_id = r.customer_id)
                 FROM relation r WHERE r.user_id = {} AND r.customer_id = {}",
                rep.id, c.id
            ),
        )
        .await[0]
            .clone()
    };
    let first_shown = || async {
        let v = app
            .get(
                "/zhugeleida/gongzhonghao/chat",
                &c,
                &format!("u_id={}&length=50", rep.id),
            )
            .await;
        assert_eq!(code(&v), 200, "history {v}");
        let firsts: Vec<i64> = v["data"]["ret_data"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|m| m["is_first_info"] == Value::Bool(true))
                    .filter_map(|m| m["id"].as_i64())
                    .collect()
            })
            .unwrap_or_default();
        firsts
    };
    assert_eq!(ends().await, vec![-1, -1, -1, -1], "no message yet");
    for n in 0..5 {
        send(n % 2, n).await;
        let e = ends().await;
        assert_eq!((e[0], e[1]), (e[2], e[3]), "after send {n}");
        assert!(e[0] > 0 && e[1] >= e[0], "after send {n}: {e:?}");
        assert_eq!(first_shown().await, vec![e[0]], "after send {n}");
    }
    counters_exact(&app.st.db.pool, "after the sends").await;
    // Behind the server's back: the first, then the last, then a middle one.
    let pick = ["MIN(m.id)", "MAX(m.id)", "MIN(m.id) + 1"];
    for (step, which) in pick.iter().enumerate() {
        let before = ends().await;
        let sql = format!(
            "DELETE FROM chat_message WHERE id = (SELECT {which} FROM chat_message m
               WHERE m.user_id = {} AND m.customer_id = {})",
            rep.id, c.id
        );
        sqlx::query(&sql)
            .execute(&app.st.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let e = ends().await;
        assert_eq!((e[0], e[1]), (e[2], e[3]), "after delete {step}");
        match step {
            0 => assert!(e[0] > before[0], "the first moved: {before:?} -> {e:?}"),
            1 => assert!(e[1] < before[1], "the last moved: {before:?} -> {e:?}"),
            _ => assert_eq!(e, before, "a middle delete moves neither end"),
        }
        assert_eq!(first_shown().await, vec![e[0]], "after delete {step}");
        counters_exact(&app.st.db.pool, &format!("after delete {step}")).await;
    }
    let sql = format!(
        "DELETE FROM chat_message WHERE user_id = {} AND customer_id = {}",
        rep.id, c.id
    );
    sqlx::query(&sql)
        .execute(&app.st.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(ends().await, vec![-1, -1, -1, -1], "all deleted");
    counters_exact(&app.st.db.pool, "all deleted").await;
    send(0, 9).await;
    let e = ends().await;
    assert!(
        e[0] > 0 && e[0] == e[1] && e[1] == e[3],
        "a new first: {e:?}"
    );
    assert_eq!(first_shown().await, vec![e[0]], "a new first");
}

both!(
    counters_stay_exact,
    backfill_matches_recount,
    conversation_ends_follow_every_write
);
