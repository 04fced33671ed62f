//! The contact list's name search through the rep's name index (migration
//! 0019) against brute force, after every step of a seeded random schedule of
//! the writes that change a name or a book: new customers and relations,
//! renames, memo names set and removed, relations moved and deleted, through
//! the API and behind its back.
//!
//! Two oracles, neither using the index or its views:
//! - the index itself equals the grams computed here from every relation's
//!   `LOWER()`ed names (three characters from each position, `''` for a
//!   name over 128 characters);
//! - every answer equals the rep's book in the list's order, filtered here
//!   by substring on those names.
//!
//! Replay a failure with `RADAR_SEED=<seed printed in the panic>`;
//! `RADAR_NAME_STEPS` sets the schedule length (default 50).

use std::collections::BTreeSet;

use crate::both;
use crate::common::rng::{self, seed, Rng};
use crate::common::*;
use radar::service::admin;
use serde_json::Value;
use sqlx::Row;

const LIST: &str = "/zhugeleida/qiyeweixin/tongxunlu";

/// Characters of the names: Chinese, ASCII in both cases, full-width letters
/// (which SQLite's LOWER leaves alone), LIKE's wildcards and escape, and the
/// code points around the surrogates and at the top (the prefix bounds).
const ALPHABET: &[char] = &[
    '张',
    '王',
    '小',
    '明',
    'a',
    'A',
    'b',
    'B',
    'Ａ',
    'ａ',
    'Ä',
    'ä',
    '%',
    '_',
    '\\',
    ' ',
    '1',
    '\u{D7FF}',
    '\u{E000}',
    '\u{10FFFF}',
];

/// The longest name the index holds grams of (migration 0019).
const MAX_INDEXED: usize = 128;

/// A name of one to six characters that is never blank, or (when `long`
/// may be, now and then) one past the index's positions, which only SQL
/// can write: the API caps names.
fn random_name(rng: &mut Rng, long: bool) -> String {
    if long && rng.below(6) == 0 {
        // Past the index's positions: read by every search.
        let len = MAX_INDEXED + 1 + rng.below(10);
        return (0..len).map(|_| *rng.pick(ALPHABET)).collect();
    }
    let len = 1 + rng.below(6);
    let name: String = (0..len).map(|_| *rng.pick(ALPHABET)).collect();
    if name.trim().is_empty() {
        format!("张{name}")
    } else {
        name.trim().to_owned()
    }
}

/// The grams the index must hold for one `LOWER()`ed name.
fn grams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() > MAX_INDEXED {
        return vec![String::new()];
    }
    (0..chars.len())
        .map(|p| chars[p..(p + 3).min(chars.len())].iter().collect())
        .collect()
}

/// A query as the server folds it before comparing with `LOWER()`ed names.
fn fold(q: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => q.to_ascii_lowercase(),
        Backend::Postgres => q.to_lowercase(),
    }
}

struct Named {
    relation_id: i64,
    user_id: i64,
    customer_id: i64,
    names: Vec<String>,
}

/// Every relation with its `LOWER()`ed names; one rep's in the list's
/// default order (`-expedted_pr`, NULLs last, newest relation first).
async fn book(app: &TestApp, rep: Option<i64>) -> Vec<Named> {
    let sql = format!(
        "SELECT r.id, r.user_id, r.customer_id, LOWER(c.username) AS u, LOWER(i.note_name) AS n
         FROM relation r JOIN customer c ON c.id = r.customer_id
         LEFT JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id
         {}
         ORDER BY CASE WHEN r.expedted_pr IS NULL THEN 1 ELSE 0 END, r.expedted_pr DESC, r.id DESC",
        rep.map(|id| format!("WHERE r.user_id = {id}"))
            .unwrap_or_default()
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&app.st.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| Named {
            relation_id: r.try_get(0).expect("id"),
            user_id: r.try_get(1).expect("user_id"),
            customer_id: r.try_get(2).expect("customer_id"),
            names: [r.try_get::<Option<String>, _>(3), r.try_get(4)]
                .into_iter()
                .filter_map(|n| n.expect("name"))
                .collect(),
        })
        .collect()
}

/// The index equals the grams of every relation's names.
async fn index_exact(app: &TestApp, at: &str) -> usize {
    let want: BTreeSet<(i64, String, i64)> = book(app, None)
        .await
        .into_iter()
        .flat_map(|n| {
            n.names
                .iter()
                .flat_map(|name| grams(name))
                .map(|g| (n.user_id, g, n.relation_id))
                .collect::<Vec<_>>()
        })
        .collect();
    let got: BTreeSet<(i64, String, i64)> =
        sqlx::query_as("SELECT user_id, gram, relation_id FROM contact_gram")
            .fetch_all(&app.st.db.pool)
            .await
            .expect("contact_gram")
            .into_iter()
            .collect();
    if got != want {
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&want).take(5).collect();
        panic!("{at}: the name index differs: missing {missing:?}, extra {extra:?}");
    }
    want.len()
}

fn ids(v: &Value) -> Vec<i64> {
    v["data"]["ret_data"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["customer_id"].as_i64()).collect())
        .unwrap_or_default()
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The answers to `q` equal the rep's book filtered by substring: the whole
/// list, its second page and its last page. Returns how many matched.
async fn search_exact(app: &TestApp, rep: &Who, q: &str, at: &str) -> usize {
    let needle = fold(q.trim(), app.db.backend);
    let want: Vec<i64> = book(app, Some(rep.id))
        .await
        .into_iter()
        .filter(|n| n.names.iter().any(|name| name.contains(&needle)))
        .map(|n| n.customer_id)
        .collect();
    let what = format!("{at}: rep {} username={q:?}", rep.id);
    let v = app
        .get(LIST, rep, &format!("length=1000&username={}", urlencode(q)))
        .await;
    if want.is_empty() {
        assert_eq!(code(&v), 302, "{what}: {v}");
        return 0;
    }
    assert_eq!(code(&v), 200, "{what}: {v}");
    assert_eq!(ids(&v), want, "{what}");
    assert_eq!(
        v["data"]["data_count"].as_i64(),
        Some(want.len() as i64),
        "{what}"
    );
    let v = app
        .get(
            LIST,
            rep,
            &format!("length=2&current_page=2&username={}", urlencode(q)),
        )
        .await;
    let page2: Vec<i64> = want.iter().skip(2).take(2).copied().collect();
    assert_eq!(ids(&v), page2, "{what}, page 2: {v}");
    assert_eq!(
        v["data"]["data_count"].as_i64(),
        Some(want.len() as i64),
        "{what}, page 2"
    );
    want.len()
}

/// Queries for one step: pieces of the names present (one to four
/// characters, in another case too) and random strings.
fn queries(rng: &mut Rng, names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..6 {
        if names.is_empty() || rng.below(4) == 0 {
            let len = 1 + rng.below(3);
            out.push((0..len).map(|_| *rng.pick(ALPHABET)).collect());
            continue;
        }
        let chars: Vec<char> = rng.pick(names).chars().collect();
        let len = (1 + rng.below(4)).min(chars.len());
        let start = rng.below(chars.len() - len + 1);
        let piece: String = chars[start..start + len].iter().collect();
        out.push(if rng.below(3) == 0 {
            piece.to_uppercase()
        } else {
            piece
        });
    }
    out.retain(|q| !q.trim().is_empty());
    out
}

/// A write behind the server's back, seen by the contact list's cache
/// (PostgreSQL tells it through migration 0017's notification).
async fn behind(app: &TestApp, sql: &str, args: Vec<String>, at: &str) {
    let before = app.st.db.changes.epoch();
    let mut q = sqlx::query(sql);
    for a in &args {
        q = q.bind(a.as_str());
    }
    q.execute(&app.st.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{at}: {sql}: {e}"));
    let started = std::time::Instant::now();
    while app.db.backend == Backend::Postgres && app.st.db.changes.epoch() == before {
        assert!(started.elapsed().as_secs() < 10, "{at}: never notified");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn name_index_stays_exact(backend: Backend) {
    let seed = seed();
    // Printed with the output of a failure that panics without it (a request helper's).
    eprintln!("name_index_stays_exact: RADAR_SEED={seed}");
    let mut rng = Rng(seed);
    let app = spawn_app(backend).await;
    let company = app.company("名字公司").await;
    let reps = vec![
        app.user(company, "销售甲").await,
        app.user(company, "销售乙").await,
    ];
    let mut customers: Vec<Who> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let steps = rng::steps("RADAR_NAME_STEPS", 50);
    let mut matched = 0;
    for step in 0..steps {
        let at = format!("seed {seed}, step {step}");
        match rng.below(8) {
            0 | 1 => {
                let name = random_name(&mut rng, false);
                let k = app.customer(company, &name).await;
                admin::create_relation(&app.st, rng.pick(&reps).id, k.id, 1)
                    .await
                    .expect("relation");
                customers.push(k);
                names.push(name);
            }
            2 if !customers.is_empty() => {
                // The other rep too, when it has none yet.
                let k = rng.pick(&customers).clone();
                let rep = rng.pick(&reps).clone();
                let _ = admin::create_relation(&app.st, rep.id, k.id, 2).await;
            }
            3 if !customers.is_empty() => {
                let i = rng.below(customers.len());
                let name = random_name(&mut rng, true);
                behind(
                    &app,
                    &format!(
                        "UPDATE customer SET username = $1 WHERE id = {}",
                        customers[i].id
                    ),
                    vec![name.clone()],
                    &at,
                )
                .await;
                names[i] = name;
            }
            4 | 5 => {
                // A memo name through the API, set or replaced, on one of the
                // relations there are.
                let related = book(&app, None).await;
                if related.is_empty() {
                    continue;
                }
                let r = rng.pick(&related);
                let Some(rep) = reps.iter().find(|w| w.id == r.user_id) else {
                    continue;
                };
                let memo = random_name(&mut rng, false);
                let v = app
                    .post_form(
                        &format!(
                            "/zhugeleida/qiyeweixin/customer/update_information/{}",
                            r.customer_id
                        ),
                        rep,
                        "",
                        &[("username", &memo), ("sex", "1")],
                    )
                    .await;
                assert_eq!(code(&v), 200, "{at}: memo {memo:?}: {v}");
                names.push(memo);
            }
            6 if !customers.is_empty() => {
                let k = rng.pick(&customers).clone();
                behind(
                    &app,
                    &format!("DELETE FROM information WHERE customer_id = {}", k.id),
                    Vec::new(),
                    &at,
                )
                .await;
            }
            7 if !customers.is_empty() => {
                // A relation moved to the other rep, or deleted.
                let k = rng.pick(&customers).clone();
                let sql = if rng.below(2) == 0 {
                    format!(
                        "UPDATE relation SET user_id = CASE WHEN user_id = {a} THEN {b} ELSE {a} END
                         WHERE customer_id = {k} AND NOT EXISTS (
                           SELECT 1 FROM relation o WHERE o.customer_id = {k} AND o.user_id <> relation.user_id)",
                        a = reps[0].id,
                        b = reps[1].id,
                        k = k.id
                    )
                } else {
                    format!(
                        "DELETE FROM relation WHERE customer_id = {} AND user_id = {}",
                        k.id,
                        rng.pick(&reps).id
                    )
                };
                behind(&app, &sql, Vec::new(), &at).await;
            }
            _ => continue,
        }
        index_exact(&app, &at).await;
        for q in queries(&mut rng, &names) {
            for rep in &reps {
                matched += search_exact(&app, rep, &q, &at).await;
            }
        }
    }
    let indexed = index_exact(&app, "the end").await;
    assert!(
        indexed > 0 && matched > 0,
        "seed {seed}: nothing indexed or found"
    );
}

/// Names written before 0019 are indexed by its backfill.
async fn backfill_indexes_every_name(backend: Backend) {
    let (db, pool) = migrated_before(backend, 19).await;
    let exec = |sql: &str, args: Vec<String>| {
        let (pool, sql) = (pool.pool.clone(), sql.to_owned());
        async move {
            let mut q = sqlx::query(&sql);
            for a in &args {
                q = q.bind(a.as_str());
            }
            q.execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    };
    exec(
        "INSERT INTO company (name, create_date) VALUES ('c', 1)",
        vec![],
    )
    .await;
    for u in 1..=2 {
        exec(
            &format!("INSERT INTO sales_user (company_id, username, token, create_date) VALUES (1, 'u{u}', 't{u}', 1)"),
            vec![],
        )
        .await;
    }
    let mut rng = Rng(seed());
    for k in 1..=10 {
        exec(
            &format!("INSERT INTO customer (company_id, username, token, create_date) VALUES (1, $1, 'k{k}', 1)"),
            vec![random_name(&mut rng, true)],
        )
        .await;
        for u in 1..=2 {
            if rng.below(3) == 0 {
                continue;
            }
            exec(
                &format!("INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ({u}, {k}, 1, 1)"),
                vec![],
            )
            .await;
            if rng.below(2) == 0 {
                exec(
                    &format!("INSERT INTO information (customer_id, user_id, note_name, create_date) VALUES ({k}, {u}, $1, 1)"),
                    vec![random_name(&mut rng, true)],
                )
                .await;
            }
        }
    }
    pool.pool.close().await;
    let app = spawn_with(backend, |c| c.database_url = db.url.clone()).await;
    let indexed = index_exact(&app, "after the backfill").await;
    assert!(indexed > 0, "the fixture indexed nothing");
}

/// PostgreSQL: a rename committing while a new relation of the customer is
/// still open waits for it, so the relation is indexed under the new name
/// (neither transaction sees the other's row otherwise).
async fn rename_during_a_new_relation(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.company("并发公司").await;
    let rep = app.user(company, "销售").await;
    let k = app.customer(company, "旧名字").await;
    let pool = app.st.db.pool.clone();
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(&format!(
        "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ({}, {}, 1, 1)",
        rep.id, k.id
    ))
    .execute(&mut *tx)
    .await
    .expect("relation");
    let rename = tokio::spawn({
        let pool = pool.clone();
        let id = k.id;
        async move {
            sqlx::query("UPDATE customer SET username = '新名字' WHERE id = $1")
                .bind(id)
                .execute(&pool)
                .await
                .expect("rename");
        }
    });
    if backend == Backend::Postgres {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !rename.is_finished(),
            "the rename did not wait for the new relation"
        );
    }
    tx.commit().await.expect("commit");
    rename.await.expect("rename task");
    index_exact(&app, "after both").await;
    let v = app
        .get(LIST, &rep, &format!("username={}", urlencode("新名")))
        .await;
    assert_eq!(ids(&v), vec![k.id], "{v}");
}

/// A memo name sharing trigrams with the customer's name, or repeating one,
/// set and then replaced: the replacement is an upsert's DO UPDATE, whose
/// conflict policy SQLite applies to the statements of the triggers it fires.
async fn memo_names_sharing_grams(backend: Backend) {
    let app = spawn_app(backend).await;
    let company = app.company("重名公司").await;
    let rep = app.user(company, "销售").await;
    let k = app.customer(company, "abcd").await;
    app.relate(&rep, &k).await;
    for memo in ["abc", "xabcabc", "abcd abcd", "ABCD"] {
        let v = app
            .post_form(
                &format!(
                    "/zhugeleida/qiyeweixin/customer/update_information/{}",
                    k.id
                ),
                &rep,
                "",
                &[("username", memo), ("sex", "1")],
            )
            .await;
        assert_eq!(code(&v), 200, "memo {memo:?}: {v}");
        index_exact(&app, &format!("memo {memo:?}")).await;
        search_exact(&app, &rep, memo, &format!("memo {memo:?}")).await;
    }
}

both!(
    memo_names_sharing_grams,
    name_index_stays_exact,
    backfill_indexes_every_name,
    rename_during_a_new_relation
);
