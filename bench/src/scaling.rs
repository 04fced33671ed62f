//! The scaling scenario (issue 13, flat costs): one rep's book grows to each N
//! of `--scale-n` customers (and one conversation to 2N messages, at most
//! 100,000), loaded with bulk SQL; at each N a fresh server answers every
//! request of a rep's screens one at a time, and the report gives the median
//! and p90 of each with its ratio to the first N. The first pages, badges,
//! inbox and history must stay within 2× of it.
//!
//! The loader writes base rows only: the triggers of migrations 0016, 0018
//! and 0019 keep the counters, each conversation's ends and the name index
//! (the same ones every write of the service goes through). One write is
//! timed at each N too: a relation joining the book, which must not cost
//! more because the book is bigger.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::fixtures::{self, Who};
use super::procs::{BenchDb, ServerProc};
use super::rest::signed;
use super::stats::round3;
use radar::service::admin::{self, NewCustomer, NewUser};
use radar::AppState;

/// Messages of the one long conversation at most.
pub const MAX_CONVERSATION: usize = 100_000;
/// Every this many customers, one writes one message (the inbox and the
/// rep's badge then span many conversations).
const CHATTY_EVERY: usize = 10;
/// Rows per INSERT statement.
const CHUNK: usize = 500;

#[derive(Debug, Clone)]
pub struct ScalePlan {
    /// Book sizes, ascending; the first is the reference.
    pub ns: Vec<usize>,
    /// Timed requests of each kind per N (after a warm-up).
    pub samples: usize,
    pub warmup: usize,
}

/// Requests whose median must stay within 2× of the first N's. A name
/// search is reported, not a target: it reads the postings of the rep's name
/// index (migration 0019), so its cost follows its matches, which grow with
/// the book here (11 at N = 1,000, 111 from 10,000 on).
fn flat(name: &str) -> bool {
    !name.contains("deep page") && !name.contains("search") && name != "action/new_count"
}

/// What is measured: a name and the URL (signed at request time) as the rep
/// (`true`) or the conversation's customer.
fn requests(base: &str, n: usize, customer_id: i64, rep_id: i64) -> Vec<(String, bool, String)> {
    let tx = format!("{base}/zhugeleida/qiyeweixin/tongxunlu");
    let mut out = Vec::new();
    for order in [
        "-expedted_pr",
        "expedted_pr",
        "-last_follow_time",
        "last_follow_time",
        "-last_activity_time",
        "last_activity_time",
        "-create_date",
        "create_date",
    ] {
        out.push((
            format!("tongxunlu first page order={order}"),
            true,
            format!("{tx}?order={order}"),
        ));
    }
    for filter in ["customer_type=1", "customer_type=2", "customer__source=3"] {
        out.push((
            format!("tongxunlu first page {filter}"),
            true,
            format!("{tx}?{filter}"),
        ));
    }
    // Matches "scaling customer 57", 570–579 and 5700–5799: one customer at
    // the smoke run's N = 100, 111 from N = 10,000 on.
    out.push((
        "tongxunlu name search".into(),
        true,
        format!("{tx}?username=customer%2057"),
    ));
    // The last page, and the middle one: the deepest walk there is (a page
    // nearer the end is read from the end).
    let last = n.div_ceil(10).max(1);
    out.push((
        "tongxunlu deep page (last)".into(),
        true,
        format!("{tx}?current_page={last}"),
    ));
    out.push((
        "tongxunlu deep page (middle)".into(),
        true,
        format!("{tx}?current_page={}", last.div_ceil(2)),
    ));
    out.push((
        "contact (inbox)".into(),
        true,
        format!("{base}/zhugeleida/qiyeweixin/contact"),
    ));
    out.push((
        "contact/query_num (rep badge)".into(),
        true,
        format!("{base}/zhugeleida/qiyeweixin/contact/query_num"),
    ));
    out.push((
        "chat/query_num (customer badge)".into(),
        false,
        format!("{base}/zhugeleida/gongzhonghao/chat/query_num/0?u_id={rep_id}"),
    ));
    out.push((
        "action/new_count".into(),
        true,
        format!("{base}/zhugeleida/qiyeweixin/action/new_count"),
    ));
    // Last: the first read marks the conversation read by the rep.
    out.push((
        "history first page".into(),
        true,
        format!("{base}/zhugeleida/qiyeweixin/chat?customer_id={customer_id}"),
    ));
    out
}

fn with_sign(url: &str, who: &Who) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", signed(who))
}

/// Deterministic noise for sort keys: ties and NULLs included.
fn mix(i: usize, salt: u64) -> u64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

async fn exec(st: &AppState, sql: &str) -> Result<(), String> {
    sqlx::query(sql)
        .execute(&st.db.pool)
        .await
        .map(|_| ())
        .map_err(|e| format!("scaling load: {e}"))
}

/// The rep, the conversation's customer, and how far the book is loaded.
struct Book {
    company: i64,
    rep: Who,
    customer: Who,
    customers: usize,
    messages: usize,
}

async fn start(st: &AppState) -> Result<Book, String> {
    let err = |e: radar::error::Error| format!("scaling fixtures: {e}");
    let company = admin::create_company(st, "Radar scaling")
        .await
        .map_err(err)?;
    let (rep_id, rep_token) = admin::create_user(
        st,
        NewUser {
            company_id: company,
            name: "scaling rep",
            avatar: None,
            phone: None,
            wechat: None,
        },
    )
    .await
    .map_err(err)?;
    let (cid, ctoken) = admin::create_customer(
        st,
        NewCustomer {
            name: "scaling chat",
            company_id: company,
            headimgurl: None,
            user_type: 1,
        },
    )
    .await
    .map_err(err)?;
    admin::create_relation(st, rep_id, cid, 4)
        .await
        .map_err(err)?;
    Ok(Book {
        company,
        rep: Who {
            id: rep_id,
            token: rep_token,
        },
        customer: Who {
            id: cid,
            token: ctoken,
        },
        customers: 1,
        messages: 0,
    })
}

/// Grows the book to `n` customers and the conversation to 2n messages (capped).
async fn grow(st: &AppState, b: &mut Book, n: usize) -> Result<(), String> {
    let now = st.clock.now_ms();
    let day = 86_400_000i64;
    let rep = b.rep.id;
    while b.customers < n {
        let k = (n - b.customers).min(CHUNK);
        let from = b.customers;
        let values: Vec<String> = (from..from + k)
            .map(|i| {
                format!(
                    "({}, 'scaling customer {i}', 'scale{i}x{}', {})",
                    b.company,
                    mix(i, 7),
                    now - (mix(i, 1) % 1000) as i64 * day
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO customer (company_id, username, token, create_date) VALUES {} RETURNING id",
            values.join(",")
        );
        let mut tx = st.db.pool.begin().await.map_err(|e| e.to_string())?;
        let ids: Vec<i64> = sqlx::query_scalar(&sql)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| format!("scaling load: {e}"))?;
        let opt = |v: Option<i64>| v.map_or("NULL".to_owned(), |x| x.to_string());
        let rels: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let i = from + j;
                let r = |s| mix(i, s);
                // Ties (a few values) and NULLs in every sort key.
                let pr = (r(2) % 6 != 0).then(|| (r(3) % 11) as i64 * 10);
                let follow = (r(4) % 3 != 0).then(|| now - (r(5) % 400) as i64 * day);
                let seen = (r(6) % 4 != 0).then(|| now - (r(8) % 100_000) as i64 * 60_000);
                format!(
                    "({rep}, {id}, {}, {}, {}, {}, {}, {})",
                    1 + r(9) % 5,
                    now - (r(10) % 500) as i64 * day,
                    opt(pr),
                    opt(follow),
                    opt(seen),
                    if r(11) % 2 == 0 {
                        "'2027-01-01'"
                    } else {
                        "NULL"
                    }
                )
            })
            .collect();
        sqlx::query(&format!(
            "INSERT INTO relation (user_id, customer_id, source, create_date, expedted_pr,
               last_follow_time, last_activity_time, expected_time) VALUES {}",
            rels.join(",")
        ))
        .execute(&mut *tx)
        .await
        .map_err(|e| format!("scaling load: {e}"))?;
        let chats: Vec<String> = ids
            .iter()
            .enumerate()
            .filter(|(j, _)| (from + j).is_multiple_of(CHATTY_EVERY))
            .map(|(j, id)| {
                format!(
                    "({rep}, {id}, 2, '{{\"info_type\":1,\"msg\":\"hello {}\"}}', {now})",
                    from + j
                )
            })
            .collect();
        if !chats.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date) VALUES {}",
                chats.join(",")
            ))
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("scaling load: {e}"))?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        b.customers += k;
    }
    let want = (2 * n).min(MAX_CONVERSATION);
    while b.messages < want {
        let k = (want - b.messages).min(CHUNK);
        let values: Vec<String> = (b.messages..b.messages + k)
            .map(|i| {
                format!(
                    "({rep}, {}, {}, '{{\"info_type\":1,\"msg\":\"message {i}\"}}', {now})",
                    b.customer.id,
                    1 + i % 2
                )
            })
            .collect();
        exec(
            st,
            &format!(
                "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date) VALUES {}",
                values.join(",")
            ),
        )
        .await?;
        b.messages += k;
    }
    // Autovacuum would have analyzed and vacuumed tables grown this much by
    // the time a real book got there. Measuring on the stale statistics of a
    // bulk load would measure the planner's guesses, and measuring before any
    // vacuum would measure the load: each of the conversation's messages moved
    // its relation's last_msg_id, and the walks of relation_user_last_msg
    // crossed those dead index entries (0.6 ms of the inbox at N = 50,000).
    // SQLite never analyzes on its own (nor does the server), so it is
    // measured without.
    // The load's writes (the name index's grams above all: about twenty rows
    // per customer) are then flushed by a checkpoint of their own, not by one
    // that PostgreSQL would start while the requests are being timed.
    // SQLite's equivalent moves the load out of the WAL into the database
    // file: reads of pages still in a long WAL go through its index (the
    // first orders measured at N = 50,000 took 2.3-3.0 ms, the later ones
    // 0.9-1.2).
    if st.db.backend == radar::db::Backend::Postgres {
        exec(st, "VACUUM (ANALYZE)").await?;
        if let Err(e) = exec(st, "CHECKPOINT").await {
            eprintln!("scaling: CHECKPOINT refused ({e}); measuring anyway");
        }
    } else if let Err(e) = exec(st, "PRAGMA wal_checkpoint(TRUNCATE)").await {
        eprintln!("scaling: wal_checkpoint failed ({e}); measuring anyway");
    }
    Ok(())
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Times each request, one at a time, on a server started for this N.
async fn measure(
    plan: &ScalePlan,
    server: &ServerProc,
    b: &Book,
    n: usize,
) -> Result<Vec<(String, f64, f64)>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let reqs = requests(&server.base(), n, b.customer.id, b.rep.id);
    // One round of everything but the history (whose first read marks the
    // conversation read) first: a fresh server's first answers pay for
    // connections and cold caches.
    for (name, as_rep, url) in reqs.iter().filter(|r| !r.0.starts_with("history")) {
        let who = if *as_rep { &b.rep } else { &b.customer };
        client
            .get(with_sign(url, who))
            .send()
            .await
            .map_err(|e| format!("{name}: {e}"))?;
    }
    let mut out = Vec::new();
    for (name, as_rep, url) in reqs {
        let who = if as_rep { &b.rep } else { &b.customer };
        let mut times = Vec::with_capacity(plan.samples);
        for i in 0..plan.warmup + plan.samples {
            let u = with_sign(&url, who);
            let t = Instant::now();
            let resp = client
                .get(&u)
                .send()
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| format!("{name}: {e}"))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if status != 200 || code != Some(200) {
                return Err(format!(
                    "{name} at N={n}: HTTP {status}, code {code:?}: {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
            if i >= plan.warmup {
                times.push(ms);
            }
        }
        times.sort_by(|a, c| a.total_cmp(c));
        out.push((name, pct(&times, 0.5), pct(&times, 0.9)));
    }
    Ok(out)
}

/// The one write timed at each N: a new customer joining the book (the
/// relation's insert, with every trigger it fires: counters, the name index).
/// Timed through the service layer from this process, since only the
/// relation is timed, not the customer created before it; both are removed
/// again so that the next N starts from the same book.
pub const NEW_RELATION: &str = "new relation (service)";

async fn measure_writes(
    plan: &ScalePlan,
    st: &AppState,
    b: &Book,
) -> Result<(String, f64, f64), String> {
    let err = |e: radar::error::Error| format!("{NEW_RELATION}: {e}");
    let mut times = Vec::with_capacity(plan.samples);
    let mut made = Vec::new();
    let outcome = async {
        for i in 0..plan.warmup + plan.samples {
            let (cid, _) = admin::create_customer(
                st,
                NewCustomer {
                    name: &format!("joining customer {i}"),
                    company_id: b.company,
                    headimgurl: None,
                    user_type: 1,
                },
            )
            .await
            .map_err(err)?;
            made.push(cid);
            let t = Instant::now();
            admin::create_relation(st, b.rep.id, cid, 1)
                .await
                .map_err(err)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if i >= plan.warmup {
                times.push(ms);
            }
        }
        Ok::<(), String>(())
    }
    .await;
    for cid in &made {
        exec(
            st,
            &format!("DELETE FROM relation WHERE customer_id = {cid}"),
        )
        .await?;
        exec(st, &format!("DELETE FROM customer WHERE id = {cid}")).await?;
    }
    outcome?;
    times.sort_by(|a, c| a.total_cmp(c));
    Ok((NEW_RELATION.to_owned(), pct(&times, 0.5), pct(&times, 0.9)))
}

/// The scenario on one database; its servers are stopped whatever happens.
pub async fn run(
    plan: &ScalePlan,
    radar_bin: &std::path::Path,
    db: &BenchDb,
) -> Result<Value, String> {
    let st = fixtures::connect(&db.url).await?;
    let out = run_on(plan, radar_bin, db, &st).await;
    st.db.pool.close().await;
    out
}

async fn run_on(
    plan: &ScalePlan,
    radar_bin: &std::path::Path,
    db: &BenchDb,
    st: &AppState,
) -> Result<Value, String> {
    let mut b = start(st).await?;
    let mut runs = Vec::new();
    let mut first: Option<Vec<(String, f64, f64)>> = None;
    for &n in &plan.ns {
        eprintln!("   scaling: loading N={n} …");
        let t = Instant::now();
        grow(st, &mut b, n).await?;
        let load_secs = t.elapsed().as_secs_f64();
        eprintln!("   scaling: measuring N={n} …");
        // A fresh server per N: whatever it caches starts from the loaded
        // rows. The contact-list cache is off: a page served from memory is
        // flat anyway, and what must not grow with N is the database's path
        // (every page after a write takes it).
        let server = ServerProc::radar_with(
            radar_bin,
            "radar-scaling",
            &db.url,
            &[("RADAR_CONTACT_CACHE", "off")],
        )
        .await?;
        let measured = measure(plan, &server, &b, n).await;
        let crashed = !server_alive(server).await;
        let mut measured = measured?;
        if crashed {
            return Err(format!("the server died while measuring N={n}"));
        }
        measured.push(measure_writes(plan, st, &b).await?);
        let reference = first.get_or_insert_with(|| measured.clone()).clone();
        let mut reqs = Map::new();
        for (name, p50, p90) in &measured {
            let base = reference
                .iter()
                .find(|r| &r.0 == name)
                .map(|r| r.1)
                .filter(|b| *b > 0.0);
            reqs.insert(
                name.clone(),
                json!({
                    "p50_ms": round3(*p50),
                    "p90_ms": round3(*p90),
                    "ratio_to_first": base.map(|b| round3(p50 / b)),
                    "flat_target": flat(name),
                }),
            );
        }
        runs.push(json!({
            "n": n,
            "customers": b.customers,
            "conversation_messages": b.messages,
            "load_secs": round3(load_secs),
            "requests": reqs,
        }));
    }
    Ok(json!({
        "config": {
            "ns": plan.ns,
            "samples": plan.samples,
            "warmup": plan.warmup,
            "conversation_cap": MAX_CONVERSATION,
            "chatty_every": CHATTY_EVERY,
        },
        "runs": runs,
    }))
}

async fn server_alive(mut s: ServerProc) -> bool {
    let alive = s.alive();
    s.stop().await;
    alive
}

/// The flat-cost targets: each request's median at the largest N within 2× of
/// the first N's.
pub fn targets(backend: &str, sc: &Value, out: &mut Vec<Value>) {
    let Some(runs) = sc.get("runs").and_then(Value::as_array) else {
        return;
    };
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return;
    };
    if runs.len() < 2 {
        return;
    }
    let n0 = first.get("n").and_then(Value::as_u64).unwrap_or(0);
    let n1 = last.get("n").and_then(Value::as_u64).unwrap_or(0);
    let Some(reqs) = last.get("requests").and_then(Value::as_object) else {
        return;
    };
    for (name, r) in reqs {
        if r.get("flat_target").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let value = r.get("ratio_to_first").and_then(Value::as_f64);
        out.push(json!({
            "backend": backend,
            "target": format!("scaling: {name} p50 at N={n1} ≤ 2× N={n0}"),
            "value": value,
            "limit": 2.0,
            "pass": value.map(|v| v <= 2.0),
        }));
    }
}

/// Table rows: one per N and request.
pub fn rows(sc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for run in sc
        .get("runs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let n = run.get("n").and_then(Value::as_u64).unwrap_or(0);
        for (name, r) in run
            .get("requests")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let f = |k: &str| {
                r.get(k)
                    .and_then(Value::as_f64)
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into())
            };
            out.push((
                format!("N={n} {name}"),
                format!(
                    "p50 {} p90 {} ms, {}× N={}",
                    f("p50_ms"),
                    f("p90_ms"),
                    f("ratio_to_first"),
                    sc.pointer("/config/ns/0")
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_flat_requests_are_targets() {
        let sc = json!({"runs": [
            {"n": 100, "requests": {}},
            {"n": 300, "requests": {
                "contact (inbox)": {"ratio_to_first": 1.5, "flat_target": true},
                "history first page": {"ratio_to_first": 2.5, "flat_target": true},
                "tongxunlu deep page (last)": {"ratio_to_first": 9.0, "flat_target": false}
            }}
        ]});
        let mut t = Vec::new();
        targets("sqlite", &sc, &mut t);
        assert_eq!(t.len(), 2, "{t:?}");
        let pass: Vec<_> = t.iter().map(|x| x["pass"].clone()).collect();
        assert_eq!(pass, vec![json!(true), json!(false)]);
        assert!(!flat("tongxunlu deep page (last)"));
        assert!(!flat("tongxunlu name search"));
        assert!(flat(NEW_RELATION));
        assert!(flat("tongxunlu first page customer_type=1"));
        assert!(flat("tongxunlu first page order=create_date"));
    }

    #[test]
    fn requests_cover_every_order_and_both_badges() {
        let r = requests("http://x", 1000, 5, 7);
        let names: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names.iter().filter(|n| n.contains("order=")).count(), 8);
        assert!(names.contains(&"contact/query_num (rep badge)"));
        assert!(names.contains(&"chat/query_num (customer badge)"));
        assert_eq!(names.last(), Some(&"history first page"));
        assert!(r.iter().any(|x| x.2.ends_with("current_page=100")));
        assert!(r.iter().any(|x| x.2.ends_with("current_page=50")));
    }
}
