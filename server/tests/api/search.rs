//! Message search (`qiyeweixin/chat/search`, issue 15): Chinese from two
//! characters, the rep's own conversations only, literal wildcards, paging,
//! refusals, an index that follows inserts, and migration 0015's backfill.

use app::api::chat::SearchPage;
use serde_json::{json, Value};

use crate::both;
use crate::common::*;
use crate::wsutil::{C_SEND, S_SEND};

const SEARCH: &str = "/zhugeleida/qiyeweixin/chat/search";

async fn send_content(app: &TestApp, from_rep: bool, u: &Who, k: &Who, content: &str) -> i64 {
    let r = if from_rep {
        let cid = k.id.to_string();
        app.post_form(
            S_SEND,
            u,
            "",
            &[
                ("customer_id", &cid),
                ("send_type", "1"),
                ("content", content),
            ],
        )
        .await
    } else {
        let uid = u.id.to_string();
        app.post_form(
            C_SEND,
            k,
            "",
            &[("u_id", &uid), ("send_type", "2"), ("content", content)],
        )
        .await
    };
    assert_eq!(code(&r), 200, "{r}");
    r["data"]["id"].as_i64().expect("message id")
}

async fn rep_says(app: &TestApp, u: &Who, k: &Who, msg: &str) -> i64 {
    send_content(app, true, u, k, &text(msg)).await
}

async fn customer_says(app: &TestApp, k: &Who, u: &Who, msg: &str) -> i64 {
    send_content(app, false, u, k, &text(msg)).await
}

/// Percent-encodes every byte but ASCII letters and digits.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The raw answer of a search with `extra` query parameters.
async fn search_raw(app: &TestApp, u: &Who, extra: &str) -> (u16, Value) {
    let resp = app
        .http
        .get(app.url(SEARCH, u, extra))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

async fn search_page(app: &TestApp, u: &Who, q: &str, extra: &str) -> SearchPage {
    let sep = if extra.is_empty() { "" } else { "&" };
    let r = app
        .get(SEARCH, u, &format!("q={}{sep}{extra}", enc(q)))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "查询成功");
    serde_json::from_value(r["data"].clone()).expect("SearchPage")
}

async fn found(app: &TestApp, u: &Who, q: &str) -> Vec<i64> {
    search_page(app, u, q, "length=100")
        .await
        .ret_data
        .iter()
        .map(|h| h.id)
        .collect()
}

fn snippet_hit(h: &app::api::chat::SearchHit) -> String {
    h.snippet
        .chars()
        .skip(h.hit_start as usize)
        .take(h.hit_len as usize)
        .collect()
}

async fn chinese_from_two_characters(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let asked = customer_says(&app, &k, &u, "您好，我想开发票，抬头是公司").await;
    let other = rep_says(&app, &u, &k, "开发区的仓库明天发货").await;
    let answered = rep_says(&app, &u, &k, "发票已经寄出").await;
    // Only a text message's text counts: not a product, an image's link, or
    // a key or extra value of the JSON.
    send_content(
        &app,
        false,
        &u,
        &k,
        &json!({"info_type": 2, "product_name": "发票夹"}).to_string(),
    )
    .await;
    send_content(
        &app,
        true,
        &u,
        &k,
        &json!({"info_type": 4, "url": "https://img.example/fapiao.png"}).to_string(),
    )
    .await;
    send_content(
        &app,
        true,
        &u,
        &k,
        &json!({"info_type": 1, "msg": "好的", "note": "发票 fapiao"}).to_string(),
    )
    .await;

    assert_eq!(found(&app, &u, "发票").await, vec![answered, asked]);
    assert_eq!(found(&app, &u, "开发票").await, vec![asked]);
    assert_eq!(found(&app, &u, "开发").await, vec![other, asked]);
    for q in ["fapiao", "info_type", "msg", "product_name", "example"] {
        assert_eq!(found(&app, &u, q).await, Vec::<i64>::new(), "{q}");
    }

    let page = search_page(&app, &u, "开发票", "").await;
    assert_eq!(page.data_count, 1);
    let h = &page.ret_data[0];
    assert_eq!((h.customer_id, h.name.as_str()), (k.id, "客户"));
    assert_eq!(h.send_type.code(), 2);
    assert_eq!(h.snippet, "您好，我想开发票，抬头是公司");
    assert_eq!(snippet_hit(h), "开发票");
    assert!(h.date_time.contains('T'), "{}", h.date_time);
    assert!(!h.time_text.is_empty());

    // A long text is cut around the match, which stays marked.
    let long = format!("{}需要增值税专用发票{}", "前".repeat(40), "后".repeat(100));
    let id = customer_says(&app, &k, &u, &long).await;
    let page = search_page(&app, &u, "专用发票", "").await;
    assert_eq!(page.ret_data[0].id, id);
    let h = &page.ret_data[0];
    assert!(
        h.snippet.starts_with('…') && h.snippet.ends_with('…'),
        "{}",
        h.snippet
    );
    assert!(h.snippet.chars().count() < long.chars().count());
    assert_eq!(snippet_hit(h), "专用发票");

    // Latin letters match in either case.
    let id = customer_says(&app, &k, &u, "Please send the INVOICE").await;
    assert_eq!(found(&app, &u, "invoice").await, vec![id]);
    assert_eq!(found(&app, &u, "In").await, vec![id]);
}

async fn only_the_reps_own_conversations(b: Backend) {
    let app = spawn_app(b).await;
    let co = app.company("甲公司").await;
    let rep = app.user(co, "销售一").await;
    let colleague = app.user(co, "销售二").await;
    let k = app.customer(co, "客户").await;
    let k2 = app.customer(co, "客户二").await;
    app.relate(&rep, &k).await;
    app.relate(&colleague, &k).await;
    app.relate(&colleague, &k2).await;
    let other_co = app.company("乙公司").await;
    let stranger = app.user(other_co, "别家销售").await;
    let sk = app.customer(other_co, "别家客户").await;
    app.relate(&stranger, &sk).await;

    let mine = customer_says(&app, &k, &rep, "我要开发票").await;
    let colleagues = customer_says(&app, &k, &colleague, "我要开发票").await;
    let colleagues2 = rep_says(&app, &colleague, &k2, "给你开发票").await;
    let strangers = customer_says(&app, &sk, &stranger, "我要开发票").await;

    for q in ["发票", "开发票"] {
        assert_eq!(found(&app, &rep, q).await, vec![mine], "{q}");
        assert_eq!(
            found(&app, &colleague, q).await,
            vec![colleagues2, colleagues],
            "{q}"
        );
        assert_eq!(found(&app, &stranger, q).await, vec![strangers], "{q}");
    }
    // A customer's token is not a rep's.
    let (status, r) = search_raw(&app, &k, &format!("q={}", enc("发票"))).await;
    assert!(status < 500);
    assert_ne!(code(&r), 200, "{r}");
}

async fn wildcards_are_literal(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let percent = rep_says(&app, &u, &k, "折扣100%到账").await;
    let under = rep_says(&app, &u, &k, "编号a_b").await;
    let plain = rep_says(&app, &u, &k, "编号axb").await;
    let backslash = rep_says(&app, &u, &k, r"路径c:\d").await;
    let quote = rep_says(&app, &u, &k, r#"他说"好的"吧"#).await;
    assert!(plain > 0);

    assert_eq!(found(&app, &u, "%").await, vec![percent]);
    assert_eq!(found(&app, &u, "0%").await, vec![percent]);
    assert_eq!(found(&app, &u, "00%到").await, vec![percent]);
    assert_eq!(found(&app, &u, "_").await, vec![under]);
    assert_eq!(found(&app, &u, "a_b").await, vec![under]);
    assert_eq!(found(&app, &u, "号a_").await, vec![under]);
    assert_eq!(found(&app, &u, r"\").await, vec![backslash]);
    assert_eq!(found(&app, &u, r":\d").await, vec![backslash]);
    assert_eq!(found(&app, &u, r#""好的""#).await, vec![quote]);
    assert_eq!(found(&app, &u, "%%%").await, Vec::<i64>::new());
    assert_eq!(found(&app, &u, "___").await, Vec::<i64>::new());
}

async fn pages_newest_first(b: Backend) {
    // More sends than the write budget allows at once.
    let app = spawn_with(b, |c| c.write_rate = 0.0).await;
    let (u, k) = app.pair().await;
    let mut sent = Vec::new();
    for i in 0..23 {
        let id = if i % 2 == 0 {
            customer_says(&app, &k, &u, &format!("第{i}张发票")).await
        } else {
            rep_says(&app, &u, &k, &format!("发票{i}号已开")).await
        };
        sent.push(id);
        rep_says(&app, &u, &k, "收到").await;
    }
    sent.reverse();
    for q in ["发票", "张发票"] {
        let expected: Vec<i64> = if q == "发票" {
            sent.clone()
        } else {
            // The customer's, sent at even `i`: 22, 20, … 0.
            sent.iter().copied().step_by(2).collect()
        };
        let mut got = Vec::new();
        for page in 1..=3 {
            let p = search_page(&app, &u, q, &format!("current_page={page}&length=10")).await;
            assert_eq!(p.data_count, expected.len() as i64, "{q} page {page}");
            got.extend(p.ret_data.iter().map(|h| h.id));
        }
        assert_eq!(got, expected, "{q}");
        let past = search_page(&app, &u, q, "current_page=9&length=10").await;
        assert!(past.ret_data.is_empty());
        assert_eq!(past.data_count, expected.len() as i64);
    }
    // The default page is 20.
    assert_eq!(search_page(&app, &u, "发票", "").await.ret_data.len(), 20);
    let none = search_page(&app, &u, "没有这个词", "").await;
    assert_eq!((none.ret_data.len(), none.data_count), (0, 0));
}

async fn refuses_hostile_input(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let id = rep_says(&app, &u, &k, "开发票").await;
    let messages = app.count("chat_message").await;
    let long = "票".repeat(101);
    let cases = [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20%09", "q"),
        ("q=%E5%8F%91%00%E7%A5%A8", "q"),
        (&format!("q={}", enc(&long)) as &str, "q"),
        ("q=%E5%8F%91%E7%A5%A8&current_page=abc", "current_page"),
        ("q=%E5%8F%91%E7%A5%A8&length=1.5", "length"),
        ("q=%E5%8F%91%E7%A5%A8&length=%5B%5D", "length"),
    ];
    for (extra, field) in cases {
        let (status, r) = search_raw(&app, &u, extra).await;
        assert_eq!(status, 200, "{extra}: {r}");
        assert_eq!(code(&r), 402, "{extra}: {r}");
        assert!(r["data"][field].is_array(), "{extra}: {r}");
    }
    // A repeated or invalid-UTF-8 q, and one at the limit, are not errors of the server.
    for extra in [
        "q=%FF%FE",
        "q=a&q=b",
        "q=%E5%8F%91&current_page=-5&length=-1",
    ] {
        let (status, _) = search_raw(&app, &u, extra).await;
        assert!(status < 500, "{extra}");
    }
    let at_limit = search_page(&app, &u, &"票".repeat(100), "").await;
    assert!(at_limit.ret_data.is_empty());
    // Unsigned.
    let resp = app
        .http
        .get(format!("{}{SEARCH}?q=abc", app.base))
        .send()
        .await
        .unwrap();
    assert!(resp.status().as_u16() < 500);
    let r: Value = resp.json().await.unwrap();
    assert_ne!(code(&r), 200, "{r}");
    // A burst.
    let searches = (0..20).map(|i| {
        let q = if i % 2 == 0 { "发票" } else { "开发票" };
        let url = app.url(SEARCH, &u, &format!("q={}", enc(q)));
        let http = app.http.clone();
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    for status in futures_util::future::join_all(searches).await {
        assert_eq!(status.expect("answer"), 200);
    }
    assert_eq!(found(&app, &u, "发票").await, vec![id]);
    assert_eq!(app.count("chat_message").await, messages);
}

async fn finds_what_was_sent_after(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    assert!(found(&app, &u, "开发票").await.is_empty());
    assert!(found(&app, &u, "发票").await.is_empty());
    let id = customer_says(&app, &k, &u, "可以开发票吗").await;
    assert_eq!(found(&app, &u, "开发票").await, vec![id]);
    assert_eq!(found(&app, &u, "发票").await, vec![id]);
    let reply = rep_says(&app, &u, &k, "可以开发票").await;
    assert_eq!(found(&app, &u, "开发票").await, vec![reply, id]);
}

/// Migration 0015 indexes the messages stored before it: the test undoes
/// the migration (what a database from before it looks like), stores
/// messages, and migrates again. Undoing it completely is checked too: a
/// leftover would make the second run fail.
async fn migration_indexes_existing_messages(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let undo: &[&str] = match b {
        Backend::Sqlite => &[
            "DROP TRIGGER chat_message_fts_insert",
            "DROP TRIGGER chat_message_fts_delete",
            "DROP TRIGGER chat_message_fts_update_old",
            "DROP TRIGGER chat_message_fts_update_new",
            "DROP TABLE chat_message_fts",
        ],
        Backend::Postgres => &[
            "DROP TRIGGER chat_message_search_text ON chat_message",
            "DROP FUNCTION chat_message_search_text()",
            "DROP INDEX chat_message_search",
            "ALTER TABLE chat_message DROP COLUMN search_text",
            "DROP FUNCTION radar_message_text(TEXT)",
        ],
    };
    for sql in undo
        .iter()
        .chain(&["DELETE FROM _sqlx_migrations WHERE version = 15"])
    {
        sqlx::query(sql)
            .execute(&app.st.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let before = customer_says(&app, &k, &u, "上个月的发票收到了吗").await;
    let reply = rep_says(&app, &u, &k, "发票收到了，谢谢").await;
    rep_says(&app, &u, &k, "不相关").await;
    send_content(
        &app,
        false,
        &u,
        &k,
        &json!({"info_type": 2, "product_name": "发票收纳盒"}).to_string(),
    )
    .await;

    app.st.db.migrate().await.expect("migrate again");
    assert_eq!(found(&app, &u, "发票收").await, vec![reply, before]);
    assert_eq!(found(&app, &u, "发票").await, vec![reply, before]);
    let after = customer_says(&app, &k, &u, "那就好，发票收好").await;
    assert_eq!(found(&app, &u, "发票收").await, vec![after, reply, before]);
}

both!(
    chinese_from_two_characters,
    only_the_reps_own_conversations,
    wildcards_are_literal,
    pages_newest_first,
    refuses_hostile_input,
    finds_what_was_sent_after,
    migration_indexes_existing_messages,
);
