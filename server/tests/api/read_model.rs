//! The read model's invariant (after Zulip's `test_events`): whatever a
//! seeded random schedule of sends (both sides), reads (getmsg, history, a
//! chat socket in input mode) and new relations did, every value the read
//! model serves — the customer's `query_num`, the rep's badge and company,
//! `getmsg`'s "nothing unread" — and the contact list's cached pages equal
//! a fresh reading of the database. On one instance (both databases) the
//! value must be exact as soon as the write's answer is back; with two instances on one PostgreSQL database the
//! other instance must get there (polled, with a deadline), and while its
//! event listener is down it must be exact at once (the model is bypassed).
//!
//! Replay a failure with `RADAR_SEED=<seed printed in the panic>`;
//! `RADAR_READMODEL_STEPS` sets the schedule length (default 60).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::both;
use crate::common::contacts::{agrees, LIST};
use crate::common::rng::{self, seed, Rng};
use crate::common::*;
use crate::wsutil::*;
use serde_json::json;

fn steps() -> usize {
    rng::steps("RADAR_READMODEL_STEPS", 60)
}

/// How long another instance may take to hear of a write.
const PROPAGATION: Duration = Duration::from_secs(15);

/// The parties of a schedule and which pairs are related.
struct World {
    company: i64,
    reps: Vec<Who>,
    customers: Vec<Who>,
    related: BTreeSet<(i64, i64)>,
}

impl World {
    async fn create(st: &radar::AppState) -> World {
        let company = radar::service::admin::create_company(st, "读模型")
            .await
            .expect("company");
        let mut reps = Vec::new();
        for i in 0..2 {
            reps.push(new_user(st, company, &format!("销售{i}")).await);
        }
        let mut customers = Vec::new();
        for i in 0..4 {
            customers.push(new_customer(st, company, &format!("客户{i}")).await);
        }
        let mut w = World {
            company,
            reps,
            customers,
            related: BTreeSet::new(),
        };
        // Five of the eight pairs to begin with; the schedule relates the rest.
        for (r, c) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 3)] {
            let (u, k) = (w.reps[r].clone(), w.customers[c].clone());
            relate(st, &u, &k).await;
            w.related.insert((u.id, k.id));
        }
        w
    }

    fn related_pairs(&self) -> Vec<(Who, Who)> {
        self.pairs(true)
    }

    fn pairs(&self, related: bool) -> Vec<(Who, Who)> {
        let mut out = Vec::new();
        for u in &self.reps {
            for k in &self.customers {
                if self.related.contains(&(u.id, k.id)) == related {
                    out.push((u.clone(), k.clone()));
                }
            }
        }
        out
    }
}

/// Counts straight from the tables, written independently of the server's SQL.
struct Truth<'a>(&'a sqlx::AnyPool, &'a radar::AppState);

impl Truth<'_> {
    /// Rep messages above the customer's watermark; `None` without relation.
    async fn customer_unread(&self, u: i64, k: i64) -> Option<i64> {
        let watermark: Option<i64> = sqlx::query_scalar(
            "SELECT customer_read_id FROM relation WHERE user_id = $1 AND customer_id = $2",
        )
        .bind(u)
        .bind(k)
        .fetch_optional(self.0)
        .await
        .expect("relation");
        let watermark = watermark?;
        Some(
            sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message
                 WHERE user_id = $1 AND customer_id = $2 AND send_type = 1 AND id > $3",
            )
            .bind(u)
            .bind(k)
            .bind(watermark)
            .fetch_one(self.0)
            .await
            .expect("count"),
        )
    }

    /// Customer messages above the rep's watermark, over all the rep's relations.
    async fn badge(&self, u: i64) -> i64 {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT customer_id, user_read_id FROM relation WHERE user_id = $1")
                .bind(u)
                .fetch_all(self.0)
                .await
                .expect("relations");
        let mut n = 0;
        for (k, watermark) in rows {
            let c: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message
                 WHERE user_id = $1 AND customer_id = $2 AND send_type = 2 AND id > $3",
            )
            .bind(u)
            .bind(k)
            .bind(watermark)
            .fetch_one(self.0)
            .await
            .expect("count");
            n += c;
        }
        n
    }

    /// What `getmsg` of the customer (`customer` true) or the rep must return.
    async fn pending(&self, customer: bool, u: i64, k: i64) -> Vec<i64> {
        let (col, own) = if customer {
            ("customer_read_id", 2)
        } else {
            ("user_read_id", 1)
        };
        let watermark: i64 = sqlx::query_scalar(&format!(
            "SELECT {col} FROM relation WHERE user_id = $1 AND customer_id = $2"
        ))
        .bind(u)
        .bind(k)
        .fetch_one(self.0)
        .await
        .expect("relation");
        sqlx::query_scalar(
            "SELECT id FROM chat_message WHERE user_id = $1 AND customer_id = $2
             AND send_type <> $3 AND id > $4 ORDER BY id",
        )
        .bind(u)
        .bind(k)
        .bind(own)
        .bind(watermark)
        .fetch_all(self.0)
        .await
        .expect("pending")
    }
}

/// Every cached value of one instance against the database; the first
/// difference as an error.
async fn check(rest: &Rest, truth: &Truth<'_>, w: &World) -> Result<(), String> {
    for u in &w.reps {
        let r = rest.get(S_BADGE_REST, u, "").await;
        let want = truth.badge(u.id).await;
        if code(&r) != 200 || r["data"]["chatinfo_count"] != want {
            return Err(format!(
                "{}: rep {} badge {r}, database {want}",
                rest.base, u.id
            ));
        }
        if r["data"]["company_id"] != w.company {
            return Err(format!("{}: rep {} company {r}", rest.base, u.id));
        }
        // The contact list's cache (last message, unread counts).
        for q in ["", "order=-last_activity_time&length=2"] {
            agrees(truth.1, u.id, q, rest.get(LIST, u, q))
                .await
                .map_err(|e| format!("{}: {e}", rest.base))?;
        }
    }
    for u in &w.reps {
        for k in &w.customers {
            let r = rest.get(C_NUM, k, &format!("u_id={}", u.id)).await;
            match truth.customer_unread(u.id, k.id).await {
                Some(n) if code(&r) == 200 && r["data"]["chatinfo_count"] == n => {}
                None if code(&r) == 307 => {}
                want => {
                    return Err(format!(
                        "{}: query_num of customer {} with rep {}: {r}, database {want:?}",
                        rest.base, k.id, u.id
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Exact now (the instance that answered the write, or a bypassed one).
async fn exact(rest: &Rest, truth: &Truth<'_>, w: &World, seed: u64, what: &str) {
    if let Err(e) = check(rest, truth, w).await {
        panic!("seed {seed}, after {what}: {e}");
    }
}

/// Exact within the propagation deadline (another instance).
async fn converges(rest: &Rest, truth: &Truth<'_>, w: &World, seed: u64, what: &str) {
    let started = Instant::now();
    loop {
        match check(rest, truth, w).await {
            Ok(()) => return,
            Err(e) if started.elapsed() > PROPAGATION => {
                panic!("seed {seed}, after {what}, still after {PROPAGATION:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A `getmsg` returns exactly what the database says is unread.
async fn getmsg(rest: &Rest, truth: &Truth<'_>, customer: bool, u: &Who, k: &Who) -> String {
    let want = truth.pending(customer, u.id, k.id).await;
    let r = if customer {
        rest.get(C_GET, k, &format!("u_id={}", u.id)).await
    } else {
        rest.get(S_GET, u, &format!("customer_id={}", k.id)).await
    };
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(
        ids(&r),
        want,
        "getmsg ({}) of pair {}/{} on {}",
        if customer { "customer" } else { "rep" },
        u.id,
        k.id,
        rest.base
    );
    format!(
        "{} getmsg {}/{} ({} unread)",
        if customer { "customer" } else { "rep" },
        u.id,
        k.id,
        want.len()
    )
}

/// A chat socket in input mode: what it delivers on register is read.
async fn socket_reads(base: &str, customer: bool, u: &Who, k: &Who) -> String {
    let (path, who, frame) = if customer {
        (C_CHAT, k, json!({"type": "register", "u_id": u.id}))
    } else {
        (S_CHAT, u, json!({"type": "register", "customer_id": k.id}))
    };
    let mut ws = connect(&ws_url(base, path, who)).await;
    ws.send(frame).await;
    let first = ws.next().await;
    assert!(first["code"] == 199 || first["code"] == 200, "{first}");
    // A barrier: the register's deliveries and their read marks are done.
    ws.lived().await;
    ws.close().await;
    format!(
        "{} socket {}/{}",
        if customer { "customer" } else { "rep" },
        u.id,
        k.id
    )
}

/// Count sockets (`gongzhonghao_query_info_num`), one per related pair, kept
/// open through the schedule: their `query_num` answers come from the read
/// model too.
#[derive(Default)]
struct CountSockets(std::collections::BTreeMap<(i64, i64), Ws>);

impl CountSockets {
    async fn agree(&mut self, base: &str, truth: &Truth<'_>, w: &World) -> Result<(), String> {
        for (u, k) in w.related_pairs() {
            let ws = match self.0.entry((u.id, k.id)) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let mut ws = connect(&ws_url(base, C_NUM_WS, &k)).await;
                    ws.send(json!({"type": "register", "u_id": u.id})).await;
                    // The register's answer carries the same msg as a query's.
                    ws.next_where(|f| f["msg"] == "获取成功").await;
                    e.insert(ws)
                }
            };
            // Live pushes may come first; the answer has its own msg.
            ws.send(json!({"type": "query_num"})).await;
            let answer = ws
                .next_where(|f| f["msg"] == "获取成功" && f["code"] == 200)
                .await;
            let want = truth.customer_unread(u.id, k.id).await;
            if answer["msg_data"]["unread_msg_num"].as_i64() != want {
                return Err(format!(
                    "count socket of customer {} with rep {}: {answer}, database {want:?}",
                    k.id, u.id
                ));
            }
        }
        Ok(())
    }
}

/// One random step on `rest` (one of the instances); returns what it did.
async fn step(
    rng: &mut Rng,
    rest: &Rest,
    truth: &Truth<'_>,
    st: &radar::AppState,
    w: &mut World,
    n: usize,
) -> String {
    let related = w.related_pairs();
    let (u, k) = related[rng.below(related.len())].clone();
    match rng.below(9) {
        0 | 1 => {
            let id = rest.customer_says(&k, &u, &format!("客户说 {n}")).await;
            format!("customer send {id} ({}/{})", u.id, k.id)
        }
        2 | 3 => {
            let id = rest.rep_says(&u, &k, &format!("销售说 {n}")).await;
            format!("rep send {id} ({}/{})", u.id, k.id)
        }
        4 => getmsg(rest, truth, rng.below(2) == 0, &u, &k).await,
        5 => {
            let customer = rng.below(2) == 0;
            let r = if customer {
                rest.get(C_HIST, &k, &format!("u_id={}", u.id)).await
            } else {
                rest.get(S_HIST, &u, &format!("customer_id={}", k.id)).await
            };
            assert_eq!(code(&r), 200, "{r}");
            format!(
                "{} history {}/{}",
                if customer { "customer" } else { "rep" },
                u.id,
                k.id
            )
        }
        6 => socket_reads(&rest.base, rng.below(2) == 0, &u, &k).await,
        7 => {
            let free = w.pairs(false);
            if free.is_empty() {
                return getmsg(rest, truth, true, &u, &k).await;
            }
            let (u, k) = free[rng.below(free.len())].clone();
            relate(st, &u, &k).await;
            w.related.insert((u.id, k.id));
            format!("new relation {}/{}", u.id, k.id)
        }
        _ => getmsg(rest, truth, false, &u, &k).await,
    }
}

/// One instance: every value exact right after every step.
async fn read_model_stays_exact(b: Backend) {
    let app = spawn_app(b).await;
    let seed = seed();
    let mut rng = Rng(seed);
    let mut w = World::create(&app.st).await;
    let rest = Rest::new(&app.base);
    let truth = Truth(&app.st.db.pool, &app.st);
    exact(&rest, &truth, &w, seed, "setup").await;
    let mut sockets = CountSockets::default();
    for n in 0..steps() {
        let what = step(&mut rng, &rest, &truth, &app.st, &mut w, n).await;
        exact(&rest, &truth, &w, seed, &format!("step {n}: {what}")).await;
        if let Err(e) = sockets.agree(&app.base, &truth, &w).await {
            panic!("seed {seed}, after step {n}: {what}: {e}");
        }
    }
    // The model answered (a schedule served by the database alone proves nothing).
    let s = app.st.reads.stats();
    assert!(s.hits > 0 && s.fills > 0, "seed {seed}: {s:?}");
}

both!(read_model_stays_exact);

/// A warm `query_num` (either side) needs no database at all: with the
/// request pool closed it still answers, and with the right numbers.
async fn warm_query_num_needs_no_database(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let rest = Rest::new(&app.base);
    rest.rep_says(&u, &k, "一").await;
    rest.customer_says(&k, &u, "二").await;
    rest.customer_says(&k, &u, "三").await;
    let uq = format!("u_id={}", u.id);
    let kq = format!("customer_id={}", k.id);
    assert_eq!(
        rest.get(S_BADGE_REST, &u, "").await["data"]["chatinfo_count"],
        2
    );
    assert_eq!(ids(&rest.get(S_GET, &u, &kq).await).len(), 2);
    // Warm: the second round is answered from memory.
    for _ in 0..2 {
        assert_eq!(rest.get(C_NUM, &k, &uq).await["data"]["chatinfo_count"], 1);
        assert_eq!(
            rest.get(S_BADGE_REST, &u, "").await["data"]["chatinfo_count"],
            0
        );
        assert_eq!(ids(&rest.get(S_GET, &u, &kq).await), Vec::<i64>::new());
    }
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    app.st.db.pool.close().await;
    let r = rest.get(C_NUM, &k, &uq).await;
    assert_eq!(
        (code(&r), &r["data"]["chatinfo_count"]),
        (200, &json!(1)),
        "{r}"
    );
    let r = rest.get(S_BADGE_REST, &u, "").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(
        r["data"],
        json!({"chatinfo_count": 0, "company_id": company})
    );
    let r = rest.get(S_GET, &u, &kq).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["ret_data"], json!([]));
    // Anything not cached needs the (closed) database: it is refused, not made up.
    let url = format!(
        "{}{C_GET}?{}&{uq}",
        app.base,
        app::sign::signed_query(k.id, &k.token, now_ms())
    );
    let r = rest.http.get(&url).send().await.expect("request");
    assert_eq!(r.status(), 503);
}

both!(warm_query_num_needs_no_database);

struct Two {
    // Field order is drop order: processes first, then the database.
    a: Server,
    b: Server,
    st: radar::AppState,
    w: World,
    db: TestDb,
}

async fn two_instances() -> Two {
    let db = TestDb::new(Backend::Postgres).await;
    let st = seed_state(&db.url).await;
    let w = World::create(&st).await;
    let a = spawn_server(&db.url, &[]).await;
    let b = spawn_server(&db.url, &[]).await;
    Two { a, b, st, w, db }
}

/// Two instances on one PostgreSQL database: the one that took a write is
/// exact at once, the other as soon as the event reached it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_model_stays_exact_across_instances() {
    let mut two = two_instances().await;
    let seed = seed();
    let mut rng = Rng(seed);
    let rests = [Rest::new(&two.a.base), Rest::new(&two.b.base)];
    let truth = Truth(&two.st.db.pool, &two.st);
    for r in &rests {
        exact(r, &truth, &two.w, seed, "setup").await;
    }
    for n in 0..steps() {
        let i = rng.below(2);
        let what = step(&mut rng, &rests[i], &truth, &two.st, &mut two.w, n).await;
        let what = format!("step {n} on instance {i}: {what}");
        // A relation is made by this test's own state, a third process:
        // neither instance took that write, so both learn of it by
        // notification (the contact list's cache).
        if what.contains("new relation") {
            converges(&rests[i], &truth, &two.w, seed, &what).await;
        } else {
            exact(&rests[i], &truth, &two.w, seed, &what).await;
        }
        converges(&rests[1 - i], &truth, &two.w, seed, &what).await;
    }
    drop(two.st);
}

async fn readyz(base: &str) -> (u16, String) {
    let r = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn until_ready(base: &str, want: u16) {
    let started = Instant::now();
    loop {
        let (status, why) = readyz(base).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "/readyz of {base} still {status} {why}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// B's event listener is cut off (and cannot reconnect) while A takes
/// writes: B answers from the database, exact at once; after the listener
/// is back B is exact at once too (what it cached before was dropped), and
/// follows A's later writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_outage_bypasses_the_read_model() {
    let two = two_instances().await;
    let seed = seed();
    let (ra, rb) = (Rest::new(&two.a.base), Rest::new(&two.b.base));
    let truth = Truth(&two.st.db.pool, &two.st);
    let w = &two.w;
    let (u, k) = w.related_pairs()[0].clone();
    // A has sent (its notifier connection is open); both have warm caches.
    ra.rep_says(&u, &k, "之前").await;
    ra.customer_says(&k, &u, "之前").await;
    exact(&ra, &truth, w, seed, "setup").await;
    converges(&rb, &truth, w, seed, "setup").await;
    exact(&rb, &truth, w, seed, "setup, warm").await;
    // B's request pool must not need a new connection while the database
    // refuses them: open a few now (they stay idle in the pool).
    let uq = format!("u_id={}", u.id);
    let warm = (0..8).map(|_| rb.get(C_HIST, &k, &uq));
    futures_util::future::join_all(warm).await;

    let dbname = two.db.url.rsplit('/').next().expect("db name").to_owned();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&pg_admin_url())
        .await
        .expect("admin connection");
    sqlx::query(&format!("ALTER DATABASE {dbname} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .expect("refuse new connections");
    let killed: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND datname = $2) t",
    )
    .bind(format!("{}-{}", radar::bus::PG_APPLICATION_NAME, two.b.pid()))
    .bind(&dbname)
    .fetch_one(&mut admin)
    .await
    .expect("kill B's bus connections");
    assert!(killed >= 1, "B's bus connections: {killed}");
    until_ready(&two.b.base, 503).await;

    for (n, (u, k)) in w.related_pairs().into_iter().enumerate() {
        ra.rep_says(&u, &k, &format!("断线时 {n}")).await;
        exact(
            &rb,
            &truth,
            w,
            seed,
            &format!("rep send {n} on A, B not listening"),
        )
        .await;
        ra.customer_says(&k, &u, &format!("断线时 {n}")).await;
        exact(
            &rb,
            &truth,
            w,
            seed,
            &format!("customer send {n} on A, B not listening"),
        )
        .await;
        ra.get(C_GET, &k, &format!("u_id={}", u.id)).await;
        exact(
            &rb,
            &truth,
            w,
            seed,
            &format!("customer read {n} on A, B not listening"),
        )
        .await;
    }

    sqlx::query(&format!("ALTER DATABASE {dbname} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("allow connections");
    until_ready(&two.b.base, 200).await;
    exact(&rb, &truth, w, seed, "B listening again").await;
    exact(&rb, &truth, w, seed, "B listening again, warm").await;
    ra.customer_says(&k, &u, "之后").await;
    converges(&rb, &truth, w, seed, "customer send on A after the outage").await;
}

/// A value the model serves is the one its database holds: a quick check
/// of [`check`] itself, so that a check that cannot fail is noticed.
async fn the_check_sees_a_wrong_count(b: Backend) {
    let app = spawn_app(b).await;
    let w = World::create(&app.st).await;
    let rest = Rest::new(&app.base);
    let truth = Truth(&app.st.db.pool, &app.st);
    let (u, k) = w.related_pairs()[0].clone();
    rest.rep_says(&u, &k, "一").await;
    check(&rest, &truth, &w).await.expect("exact");
    // A message stored behind the server's back (no event, no invalidation):
    // the warm count is now stale, and the check must say so.
    sqlx::query(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date)
         VALUES ($1, $2, 1, $3, $4)",
    )
    .bind(u.id)
    .bind(k.id)
    .bind(text("绕过"))
    .bind(now_ms())
    .execute(&app.st.db.pool)
    .await
    .expect("insert");
    let e = check(&rest, &truth, &w).await.expect_err("stale");
    assert!(e.contains("query_num"), "{e}");
    // An event repairs it (what a NOTIFY from another instance would do).
    app.st.bus.publish_local(radar::bus::Event::Resync);
    check(&rest, &truth, &w).await.expect("exact again");
}

both!(the_check_sees_a_wrong_count);
