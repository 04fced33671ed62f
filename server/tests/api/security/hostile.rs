//! Hostile input (contract §6 "Size of what is stored and pushed", "Hostile
//! text"): oversized product cards, NUL characters, unique-key races, large
//! unread backlogs, and a sweep of hostile values over every endpoint and frame.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::wsutil::*;

const TAGS: &str = "/zhugeleida/qiyeweixin/tag_list";
const FOLLOW_ADD: &str = "/zhugeleida/qiyeweixin/follow_info/add";
const SIGN_UP: &str = "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity";

fn customer_op(oper: &str, id: i64) -> String {
    format!("/zhugeleida/qiyeweixin/customer/{oper}/{id}")
}

/// The server for these tests, without the write budget that a flood of
/// hostile requests would hit.
async fn server(b: Backend) -> TestApp {
    spawn_with(b, |c| c.write_rate = 0.0).await
}

/// An HTTP answer whatever its status: (status, body as JSON or `null`).
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn post_form(app: &TestApp, path: &str, who: &Who, form: &[(&str, String)]) -> (u16, Value) {
    send(app.http.post(app.url(path, who, "")).form(form)).await
}

async fn post_owned(
    app: &TestApp,
    path: &str,
    who: &Who,
    form: Vec<(&'static str, String)>,
) -> (u16, Value) {
    post_form(app, path, who, &form).await
}

/// Row counts of every table, to prove a refused request stored nothing.
/// `rep_presence` is left out: it follows the sockets open on the instance
/// (written in the background), not what a request stored.
async fn snapshot(app: &TestApp) -> Vec<(String, i64)> {
    let tables: Vec<String> = match app.db.backend {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name NOT LIKE '_sqlx%' ORDER BY name",
        ),
        Backend::Postgres => sqlx::query_scalar(
            "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public'
             AND tablename NOT LIKE '_sqlx%' AND tablename <> 'rep_presence' ORDER BY tablename",
        ),
    }
    .fetch_all(&app.st.db.pool)
    .await
    .expect("tables");
    assert!(tables.len() >= 10, "tables: {tables:?}");
    let sql = tables
        .iter()
        .map(|t| format!("SELECT '{t}' AS t, CAST(COUNT(*) AS BIGINT) AS n FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = sqlx::query(&sql)
        .fetch_all(&app.st.db.pool)
        .await
        .expect("counts");
    let mut counts: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                crate::common::get_str(r, "t").expect("t"),
                crate::common::get_i64(r, "n").expect("n"),
            )
        })
        .collect();
    counts.sort();
    counts
}

// ---------------------------------------------------------------------------
// Unique-key races.

async fn tag_id(app: &TestApp, u: &Who, name: &str) -> i64 {
    let (s, r) = post_form(
        app,
        &format!("{TAGS}/add_tag/0"),
        u,
        &[("name", name.into())],
    )
    .await;
    assert_eq!((s, code(&r)), (200, 200), "{r}");
    r["data"]["tag_id"].as_i64().expect("tag_id")
}

async fn own_tags_of(app: &TestApp, u: &Who, k: &Who) -> Vec<i64> {
    let mut v: Vec<i64> = sqlx::query_scalar(
        "SELECT tc.tag_id FROM tag_customer tc JOIN tag t ON t.id = tc.tag_id
         WHERE tc.customer_id = $1 AND t.user_id = $2 ORDER BY tc.tag_id",
    )
    .bind(k.id)
    .bind(u.id)
    .fetch_all(&app.st.db.pool)
    .await
    .expect("tags");
    v.sort();
    v
}

/// Twelve concurrent `update_tag` for one customer, each with its own set:
/// no 5xx, and the final set is one of the requested ones.
async fn concurrent_update_tag_is_serialised(b: Backend) {
    let app = server(b).await;
    let (u, k) = app.pair().await;
    let mut tags = Vec::new();
    for i in 0..6 {
        tags.push(tag_id(&app, &u, &format!("标签{i}")).await);
    }
    let sets: Vec<Vec<i64>> = (0..12)
        .map(|i| {
            let mut s: Vec<i64> = tags
                .iter()
                .enumerate()
                .filter(|(j, _)| (i + j) % 3 != 0 || i % 4 == 0)
                .map(|(_, t)| *t)
                .collect();
            s.sort();
            s
        })
        .collect();
    for round in 0..3 {
        let reqs = sets.iter().map(|s| {
            let list = serde_json::to_string(s).unwrap();
            let path = customer_op("update_tag", k.id);
            let app = &app;
            let u = &u;
            async move { post_form(app, &path, u, &[("tag_list", list)]).await }
        });
        let answers = futures_util::future::join_all(reqs).await;
        for (s, r) in &answers {
            assert_eq!((*s, code(r)), (200, 200), "round {round}: {r}");
        }
        let now = own_tags_of(&app, &u, &k).await;
        assert!(
            sets.contains(&now),
            "round {round}: final set {now:?} was not requested"
        );
    }
}

/// Concurrent duplicates of everything with a unique key: one row, no 5xx.
async fn concurrent_duplicates_store_one_row(b: Backend) {
    let app = server(b).await;
    let (u, k) = app.pair().await;
    const N: usize = 8;

    // The same tag name, linked to the customer.
    let path = format!("{TAGS}/add_tag/{}", k.id);
    let answers = futures_util::future::join_all(
        (0..N).map(|_| post_owned(&app, &path, &u, vec![("name", "同名".into())])),
    )
    .await;
    let won = answers.iter().filter(|(_, r)| code(r) == 200).count();
    for (s, r) in &answers {
        assert_eq!(*s, 200, "{r}");
        assert!(code(r) == 200 || code(r) == 301, "{r}");
    }
    assert_eq!(won, 1, "{answers:?}");
    assert_eq!(
        app.count(&format!("tag WHERE user_id = {} AND name = '同名'", u.id))
            .await,
        1
    );

    // The same client_msg_id from the customer.
    let content = text("一次");
    let answers = futures_util::future::join_all((0..N).map(|_| {
        post_owned(
            &app,
            C_SEND,
            &k,
            vec![
                ("u_id", u.id.to_string()),
                ("content", content.clone()),
                ("client_msg_id", "dup-1".into()),
            ],
        )
    }))
    .await;
    let ids: Vec<i64> = answers
        .iter()
        .map(|(s, r)| {
            assert_eq!((*s, code(r)), (200, 200), "{r}");
            r["data"]["id"].as_i64().expect("id")
        })
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(
        app.count("chat_message WHERE client_msg_id = 'dup-1'")
            .await,
        1
    );

    // The same sign-up phone for one activity.
    let company = app.company("活动公司").await;
    let article = radar::service::article::create_article(&app.st, company, "文章", 1, 0)
        .await
        .unwrap();
    let activity = radar::service::signup::create_activity(&app.st, "沙龙", Some(article))
        .await
        .unwrap();
    let guest = app.customer(company, "访客").await;
    let path = format!("{SIGN_UP}/{activity}");
    let answers = futures_util::future::join_all((0..N).map(|_| {
        post_owned(
            &app,
            &path,
            &guest,
            vec![
                ("customer_name", "王".into()),
                ("phone", "13800000000".into()),
                ("leave_message", "来".into()),
            ],
        )
    }))
    .await;
    for (s, r) in &answers {
        assert_eq!(*s, 200, "{r}");
        assert!(code(r) == 200 || code(r) == 301, "{r}");
    }
    assert_eq!(answers.iter().filter(|(_, r)| code(r) == 200).count(), 1);
    assert_eq!(
        app.count(&format!(
            "report_to_customer WHERE activity_id = {activity}"
        ))
        .await,
        1
    );

    // The same relation, created by concurrent article views of a new rep's share.
    let rep = app.user(company, "新销售").await;
    let path = format!("/zhugeleida/gongzhonghao/article/view_article/{article}");
    let answers = futures_util::future::join_all(
        (0..N).map(|_| post_owned(&app, &path, &guest, vec![("uid", rep.id.to_string())])),
    )
    .await;
    for (s, r) in &answers {
        assert_eq!((*s, code(r)), (200, 200), "{r}");
    }
    assert_eq!(
        app.count(&format!(
            "relation WHERE user_id = {} AND customer_id = {}",
            rep.id, guest.id
        ))
        .await,
        1
    );

    // The same relation from the admin side (CLI / admin API): one wins, the
    // others are told it exists.
    let loner = app.customer(company, "独行").await;
    let answers = futures_util::future::join_all(
        (0..N).map(|_| radar::service::admin::create_relation(&app.st, rep.id, loner.id, 1)),
    )
    .await;
    assert_eq!(
        answers.iter().filter(|r| r.is_ok()).count(),
        1,
        "{answers:?}"
    );
    for r in answers.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(r, radar::error::Error::Fields(_)),
            "a lost race is a field error: {r:?}"
        );
    }

    // The rep's notes on the customer (information has a unique key).
    let path = customer_op("update_information", k.id);
    let answers = futures_util::future::join_all((0..N).map(|i| {
        post_owned(
            &app,
            &path,
            &u,
            vec![("username", format!("备注{i}")), ("sex", "1".into())],
        )
    }))
    .await;
    for (s, r) in &answers {
        assert_eq!((*s, code(r)), (200, 200), "{r}");
    }
    assert_eq!(
        app.count(&format!("information WHERE customer_id = {}", k.id))
            .await,
        1
    );
}

// ---------------------------------------------------------------------------
// Sizes: product cards, previews, frames, getmsg.

fn card(name: &str, price: &str, cover: &str) -> Value {
    json!({"info_type": 2, "product_name": name, "product_price": price, "product_cover_url": cover})
}

/// A 2,048-character https link, the longest allowed.
fn max_url(tag: &str) -> String {
    let head = format!("https://img.example.com/{tag}/");
    format!("{head}{}", "a".repeat(2048 - head.len()))
}

/// The outside tester's attack: product cards and links beyond the limits,
/// sent over REST (form and JSON) and the customer's socket. Each is a 402
/// with a `content` error and stores nothing; the limits themselves pass.
async fn oversized_product_cards_are_refused(b: Backend) {
    let app = server(b).await;
    let (u, k) = app.pair().await;
    let refused = [
        card(&"n".repeat(60_000), "9", "statics/p.png"),
        card(&"名".repeat(201), "9", "statics/p.png"),
        card("产品", &"9".repeat(33), "statics/p.png"),
        card("产品", "9", &format!("{}b", max_url("x"))),
        card("产品", "9", "javascript:alert(1)"),
        card("产品", "9", "JaVaScRiPt:alert(1)"),
        card("产品", "9", "data:text/html;base64,PHNjcmlwdD4="),
        card("产品", "9", "https://ok.example.com/a b.png"),
        json!({"info_type": 4, "url": "javascript:alert(1)"}),
        json!({"info_type": 5, "url": "vbscript:msgbox"}),
        json!({"info_type": 4, "url": format!("{}b", max_url("y"))}),
        json!({"info_type": 1, "msg": "hi", "product_url": "data:,x"}),
        json!({"info_type": 1, "msg": "hi", "extra": "x".repeat(40_000)}),
    ];
    let before = app.count("chat_message").await;
    for content in &refused {
        let form = [("u_id", u.id.to_string()), ("content", content.to_string())];
        let (s, r) = post_form(&app, C_SEND, &k, &form).await;
        assert_eq!((s, code(&r)), (200, 402), "form {r}");
        assert_eq!(r["data"]["content"][0]["code"], "invalid", "{r}");
        let body = json!({"u_id": u.id, "content": content});
        let (s, r) = send(app.http.post(app.url(C_SEND, &k, "")).json(&body)).await;
        assert_eq!((s, code(&r)), (200, 402), "json {r}");
        assert!(r["data"]["content"].is_array(), "{r}");
        let (s, r) = post_form(
            &app,
            S_SEND,
            &u,
            &[
                ("customer_id", k.id.to_string()),
                ("content", content.to_string()),
            ],
        )
        .await;
        assert_eq!((s, code(&r)), (200, 402), "rep {r}");
    }
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    for content in refused.iter().filter(|c| c.to_string().len() < 60_000) {
        ws.send(json!({"type": "send_msg", "u_id": u.id, "content": content}))
            .await;
        let v = ws.next().await;
        assert_eq!(code(&v), 402, "{v}");
        assert!(v["data"]["content"].is_array(), "{v}");
    }
    assert!(ws.lived().await.is_empty());
    assert_eq!(app.count("chat_message").await, before);

    // The limits themselves, and the site paths the original clients send.
    let allowed = [
        card(&"名".repeat(200), &"9".repeat(32), &max_url("c")),
        card("产品", "9800", "statics/zhugeleida/imgs/chat/product.png"),
        card("产品", "9800", "/pkg/p.png"),
        json!({"info_type": 4, "url": max_url("i")}),
        json!({"info_type": 5, "url": "http://v.example.com/v.mp4"}),
    ];
    for content in &allowed {
        let form = [("u_id", u.id.to_string()), ("content", content.to_string())];
        let (s, r) = post_form(&app, C_SEND, &k, &form).await;
        assert_eq!((s, code(&r)), (200, 200), "{r}");
    }
    assert_eq!(
        app.count("chat_message").await,
        before + allowed.len() as i64
    );
    // Avatars given to the CLI / admin API follow the same rule.
    let company = app.company("头像").await;
    let long = format!("{}b", max_url("a"));
    for bad in ["javascript:alert(1)", long.as_str()] {
        let r = radar::service::admin::create_customer(
            &app.st,
            radar::service::admin::NewCustomer {
                name: "坏头像",
                company_id: company,
                headimgurl: Some(bad),
                user_type: 1,
            },
        )
        .await;
        assert!(matches!(r, Err(radar::error::Error::Fields(_))), "{r:?}");
        let r = radar::service::admin::create_user(
            &app.st,
            radar::service::admin::NewUser {
                company_id: company,
                name: "坏头像",
                avatar: Some(bad),
                phone: None,
                wechat: None,
            },
        )
        .await;
        assert!(matches!(r, Err(radar::error::Error::Fields(_))), "{r:?}");
    }
    assert_eq!(
        app.count(&format!("customer WHERE company_id = {company}"))
            .await,
        0
    );
    assert_eq!(
        app.count(&format!("sales_user WHERE company_id = {company}"))
            .await,
        0
    );
}

/// Every text frame until the `lived` barrier.
async fn frames_until_lived(ws: &mut Ws) -> Vec<Value> {
    ws.lived().await
}

/// Five customers send maximal cards and long texts, and forty more with
/// maximal avatars write too: the rep's contact-list socket registers, every
/// frame is at most 64 KiB, and the parts together are the whole page.
async fn contact_list_frames_stay_under_64k(b: Backend) {
    let app = server(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let mut customers = Vec::new();
    for i in 0..45 {
        let avatar = max_url(&format!("avatar{i}"));
        let (id, token) = radar::service::admin::create_customer(
            &app.st,
            radar::service::admin::NewCustomer {
                name: &format!("客户{i}{}", "长".repeat(90)),
                company_id: c,
                headimgurl: Some(&avatar),
                user_type: 1,
            },
        )
        .await
        .expect("customer");
        let k = Who { id, token };
        app.relate(&u, &k).await;
        customers.push(k);
    }
    // Many tags on one customer: the entry lists only the newest.
    for i in 0..60 {
        let name = format!("{i}{}", "签".repeat(30));
        let r = post_form(
            &app,
            &format!("{TAGS}/add_tag/{}", customers[0].id),
            &u,
            &[("name", name)],
        )
        .await;
        assert_eq!(code(&r.1), 200, "{:?}", r.1);
    }
    for (i, k) in customers.iter().enumerate() {
        let content = if i < 5 {
            card(&"名".repeat(200), &"9".repeat(32), &max_url("card"))
        } else {
            json!({"info_type": 1, "msg": "长".repeat(5000)})
        };
        let out = radar::service::chat::Outgoing {
            content: app::domain::MessageContent::parse_value(&content).expect("allowed"),
            client_msg_id: None,
            article_id: None,
        };
        radar::service::chat::customer_send(&app.st, k.id, u.id, &out)
            .await
            .expect("send");
    }
    let rest = app.get(S_CONTACT, &u, "current_page=1&length=100").await;
    let page = rest["data"]["ret_data"].as_array().expect("page").clone();
    assert_eq!(page.len(), customers.len());
    for item in &page {
        let preview = item["msg"].as_str().expect("msg");
        assert!(preview.chars().count() <= 60, "{preview}");
        assert!(item["tags_list"].as_array().expect("tags").len() <= 50);
    }

    let mut ws = connect(&ws_url(&app.base, S_LIST, &u)).await;
    ws.send(json!({"type": "register", "length": 100})).await;
    let frames = frames_until_lived(&mut ws).await;
    assert!(frames.len() > 1, "a page this size is split");
    let mut union = Vec::new();
    let n = frames.len() as i64;
    for (i, f) in frames.iter().enumerate() {
        let size = f.to_string().len();
        assert!(size <= 64 * 1024, "frame {i} is {size} bytes");
        assert_eq!(code(f), 200, "{f}");
        assert_eq!(f["data"]["part"], i as i64 + 1, "{}", f["data"]);
        assert_eq!(f["data"]["parts"], n);
        assert_eq!(f["data"]["data_count"], rest["data"]["data_count"]);
        assert_eq!(f["data"]["unread_msg_num"], rest["data"]["unread_msg_num"]);
        union.extend(
            f["data"]["ret_data"]
                .as_array()
                .expect("slice")
                .iter()
                .cloned(),
        );
    }
    assert_eq!(union, page, "the parts are the page, in order");

    // The default page (10) fits one frame and carries no part markers; the
    // socket stays usable afterwards.
    let mut ws = connect(&ws_url(&app.base, S_LIST, &u)).await;
    ws.send(json!({"type": "register"})).await;
    let frames = frames_until_lived(&mut ws).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!(frames[0]["data"].get("parts").is_none());
    assert_eq!(
        frames[0]["data"]["ret_data"].as_array().map(Vec::len),
        Some(10)
    );
    // A live change pushes the page again, each frame within the limit.
    ws.send(json!({"type": "query_num", "length": 100})).await;
    for f in frames_until_lived(&mut ws).await {
        assert!(f.to_string().len() <= 64 * 1024);
    }
}

/// Sends `n` messages of 5000 four-byte characters from one side.
async fn backlog(app: &TestApp, u: &Who, k: &Who, from_rep: bool, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let out = radar::service::chat::Outgoing {
            content: app::domain::MessageContent::text(&format!("{i}:{}", "😀".repeat(4990))),
            client_msg_id: None,
            article_id: None,
        };
        let sent = if from_rep {
            radar::service::chat::sales_send(&app.st, u.id, k.id, &out).await
        } else {
            radar::service::chat::customer_send(&app.st, k.id, u.id, &out).await
        };
        ids.push(sent.expect("send").id);
    }
    ids
}

/// More than 1 MiB unread: `getmsg` answers at most 1 MiB of items, marks
/// only those read, and the next call brings the rest; nothing lost or twice.
async fn getmsg_answers_at_most_one_mib(b: Backend) {
    let app = server(b).await;
    let (u, k) = app.pair().await;
    for (from_rep, path, who, q) in [
        (true, C_GET, &k, format!("u_id={}", u.id)),
        (false, S_GET, &u, format!("customer_id={}", k.id)),
    ] {
        let sent = backlog(&app, &u, &k, from_rep, 60).await;
        let mut got = Vec::new();
        let mut calls = 0;
        loop {
            let r = app.get(path, who, &q).await;
            assert_eq!(code(&r), 200, "{r}");
            let items = r["data"]["ret_data"].as_array().expect("items").clone();
            if items.is_empty() {
                break;
            }
            calls += 1;
            let bytes: usize = items.iter().map(|i| i.to_string().len() + 1).sum();
            assert!(bytes <= 1024 * 1024, "call {calls}: {bytes} bytes of items");
            assert_eq!(r["data"]["data_count"], items.len());
            got.extend(items.iter().map(|i| i["id"].as_i64().expect("id")));
        }
        assert!(calls >= 2, "60 × 20 KB needs two calls");
        assert_eq!(got, sent, "every message once, in order");
    }
}

// ---------------------------------------------------------------------------
// NUL characters.

/// A `multipart/form-data` body of text fields (what `sendBeacon` sends).
fn multipart(req: reqwest::RequestBuilder, fields: &[(&str, String)]) -> reqwest::RequestBuilder {
    let boundary = "----radar-hostile-boundary";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    req.header(
        "content-type",
        format!("multipart/form-data; boundary={boundary}"),
    )
    .body(body)
}

fn nul_refusal(r: &Value, field: &str) {
    assert_eq!(code(r), 402, "{r}");
    let errs = &r["data"][field];
    assert_eq!(errs[0]["code"], "invalid", "{field}: {r}");
    assert!(errs[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// A NUL in any text field is a 402 field error on both databases, nothing
/// stored: form, JSON, multipart, query string, JSON text inside a form field
/// (`content`, `tag_list`), and socket frames.
async fn nul_characters_are_refused(b: Backend) {
    let app = server(b).await;
    let (u, k) = app.pair().await;
    let tag = tag_id(&app, &u, "正常").await;
    let company = app.company("文章公司").await;
    let article = radar::service::article::create_article(&app.st, company, "文章", 1, 0)
        .await
        .unwrap();
    let activity = radar::service::signup::create_activity(&app.st, "沙龙", Some(article))
        .await
        .unwrap();
    let reader = app.customer(company, "读者").await;
    let nul = "跟进\u{0}内容".to_string();

    // (path, who, valid form, the text fields to poison one by one)
    type Case<'a> = (String, &'a Who, Vec<(&'a str, String)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            format!("{FOLLOW_ADD}/{}", k.id),
            &u,
            vec![("follow_info", "正常".into())],
            vec!["follow_info"],
        ),
        (
            customer_op("update_information", k.id),
            &u,
            vec![
                ("username", "备注".into()),
                ("sex", "1".into()),
                ("phone", "13800000000".into()),
                ("email", "a@b.cn".into()),
                ("company", "公司".into()),
                ("position", "经理".into()),
                ("address", "地址".into()),
                ("birthday", "1990-01-01".into()),
                ("mem", "备忘".into()),
            ],
            vec![
                "username", "sex", "phone", "email", "company", "position", "address", "birthday",
                "mem",
            ],
        ),
        (
            customer_op("update_expected_time", k.id),
            &u,
            vec![("expected_time", "2030-1-1".into())],
            vec!["expected_time"],
        ),
        (
            format!("{TAGS}/add_tag/{}", k.id),
            &u,
            vec![("name", "新标签".into()), ("tag_type", "1".into())],
            vec!["name", "tag_type"],
        ),
        (
            S_SEND.into(),
            &u,
            vec![
                ("customer_id", k.id.to_string()),
                ("content", text("你好")),
                ("client_msg_id", "c-1".into()),
            ],
            vec!["customer_id", "content", "client_msg_id"],
        ),
        (
            C_SEND.into(),
            &k,
            vec![("u_id", u.id.to_string()), ("content", text("你好"))],
            vec!["content"],
        ),
        (
            format!("/zhugeleida/gongzhonghao/article/review_article/{article}"),
            &reader,
            vec![("content", "好文".into())],
            vec!["content"],
        ),
        (
            format!("{SIGN_UP}/{activity}"),
            &reader,
            vec![
                ("customer_name", "王".into()),
                ("phone", "13900000000".into()),
                ("leave_message", "来".into()),
                ("address", "北京".into()),
            ],
            vec!["customer_name", "phone", "leave_message", "address"],
        ),
    ];
    for (path, who, form, fields) in &cases {
        for field in fields {
            let poisoned: Vec<(&str, String)> = form
                .iter()
                .map(|(k, v)| {
                    if k == field {
                        (
                            *k,
                            if *k == "content" {
                                text(&nul)
                            } else {
                                nul.clone()
                            },
                        )
                    } else {
                        (*k, v.clone())
                    }
                })
                .collect();
            let before = snapshot(&app).await;
            let (s, r) = post_form(&app, path, who, &poisoned).await;
            assert_eq!(s, 200, "{path} {field}: {r}");
            nul_refusal(&r, field);
            // The same as a JSON body, and as multipart.
            let body: serde_json::Map<String, Value> = poisoned
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let (_, r) = send(app.http.post(app.url(path, who, "")).json(&body)).await;
            nul_refusal(&r, field);
            let (_, r) = send(multipart(app.http.post(app.url(path, who, "")), &poisoned)).await;
            nul_refusal(&r, field);
            assert_eq!(
                snapshot(&app).await,
                before,
                "{path} {field} stored something"
            );
        }
    }

    // Nested JSON: content as an object, tag_list entries, keys.
    let before = snapshot(&app).await;
    let body = json!({"u_id": u.id, "content": {"info_type": 1, "msg": nul}});
    let (_, r) = send(app.http.post(app.url(C_SEND, &k, "")).json(&body)).await;
    nul_refusal(&r, "content");
    let body = json!({"u_id": u.id, "content": {"info_type": 1, "msg": "x", "k\u{0}": 1}});
    let (_, r) = send(app.http.post(app.url(C_SEND, &k, "")).json(&body)).await;
    nul_refusal(&r, "content");
    let (_, r) = post_form(
        &app,
        &customer_op("update_tag", k.id),
        &u,
        &[("tag_list", format!("[{tag}, \"{tag}\\u0000\"]"))],
    )
    .await;
    nul_refusal(&r, "tag_list");
    // A query string.
    let r = app
        .get(
            "/zhugeleida/qiyeweixin/tongxunlu",
            &u,
            "username=%E7%8E%8B%00",
        )
        .await;
    nul_refusal(&r, "username");
    // A socket frame: refused, the socket stays open.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    ws.send(json!({"type": "send_msg", "u_id": u.id, "content": {"info_type": 1, "msg": nul}}))
        .await;
    let v = ws.next().await;
    nul_refusal(&v, "content");
    ws.send(json!({"type": "send_msg", "u_id": u.id, "content": text(&nul)}))
        .await;
    nul_refusal(&ws.next().await, "content");
    assert!(ws.lived().await.is_empty());
    assert_eq!(snapshot(&app).await, before);

    // A literal backslash-u0000 typed by a user is text, not NUL.
    let (_, r) = post_form(
        &app,
        &format!("{FOLLOW_ADD}/{}", k.id),
        &u,
        &[("follow_info", "\\u0000".into())],
    )
    .await;
    assert_eq!(code(&r), 200, "{r}");
    let (_, r) = post_form(
        &app,
        C_SEND,
        &k,
        &[("u_id", u.id.to_string()), ("content", text("\\u0000"))],
    )
    .await;
    assert_eq!(code(&r), 200, "{r}");
}

/// SQLite: a write transaction that reads first must not fail because another
/// process (the CLI next to the server) committed in between
/// (SQLITE_BUSY_SNAPSHOT). Two `Db` handles on one file stand for the two
/// processes: each has its own writer mutex, as separate processes do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_after_read_survives_another_process() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = radar::db::Db::connect(&db.url, 2).await.expect("db");
    server.migrate().await.expect("migrate");
    let cli = radar::db::Db::connect(&db.url, 2).await.expect("db");
    let mut tx = server.begin_write().await.expect("begin");
    let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company")
        .fetch_one(&mut **tx)
        .await
        .expect("read");
    let other = tokio::spawn(async move {
        let mut tx = cli.begin_write().await?;
        sqlx::query("INSERT INTO company (name, create_date) VALUES ('cli', 0)")
            .execute(&mut **tx)
            .await?;
        tx.commit().await
    });
    // Give the other process every chance to commit between our read and write.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("INSERT INTO company (name, create_date) VALUES ('serve', $1)")
        .bind(n)
        .execute(&mut **tx)
        .await
        .expect("the write after a read succeeds");
    tx.commit().await.expect("commit");
    other
        .await
        .expect("join")
        .expect("the other process's write");
    let total: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company")
        .fetch_one(&server.pool)
        .await
        .expect("count");
    assert_eq!(total, 2);
}

// ---------------------------------------------------------------------------
// The hostile-input sweep: every REST endpoint and socket frame, every field,
// every hostile value. Never a 5xx, never a dropped connection, and a refusal
// stores nothing.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Hv {
    Nul,
    Long,
    Emoji,
    MinusOne,
    Overflow,
    Max,
    Array,
    Object,
    Empty,
    Missing,
}

const HOSTILE: [Hv; 10] = [
    Hv::Nul,
    Hv::Long,
    Hv::Emoji,
    Hv::MinusOne,
    Hv::Overflow,
    Hv::Max,
    Hv::Array,
    Hv::Object,
    Hv::Empty,
    Hv::Missing,
];

impl Hv {
    /// As a form or query value (arrays and objects as JSON text); `None` = left out.
    fn text(self) -> Option<String> {
        Some(match self {
            Hv::Nul => "1\u{0}2".into(),
            Hv::Long => "9".repeat(100_000),
            Hv::Emoji => "😀👨‍👩‍👧🇨🇳".into(),
            Hv::MinusOne => "-1".into(),
            Hv::Overflow => "9223372036854775808".into(),
            Hv::Max => i64::MAX.to_string(),
            Hv::Array => r#"[1,"2",null,[3]]"#.into(),
            Hv::Object => r#"{"a":{"b":[1]},"info_type":1}"#.into(),
            Hv::Empty => String::new(),
            Hv::Missing => return None,
        })
    }
    /// As a value carried in the URL: an HTTP/1 request line cannot carry
    /// 100,000 characters (the client refuses URIs over 64 KiB), so `Long`
    /// is 60,000 there.
    fn url_text(self) -> Option<String> {
        match self {
            Hv::Long => Some("9".repeat(60_000)),
            other => other.text(),
        }
    }
    /// As a JSON value (real arrays, objects and numbers).
    fn json(self) -> Option<Value> {
        Some(match self {
            Hv::MinusOne => json!(-1),
            Hv::Overflow => json!(9_223_372_036_854_775_808u64),
            Hv::Max => json!(i64::MAX),
            Hv::Array => json!([1, "2", null, [3]]),
            Hv::Object => json!({"a": {"b": [1]}, "info_type": 1}),
            other => json!(other.text()?),
        })
    }
    /// As a path segment, percent-encoded; `None` for left out (the route
    /// without its last segment).
    fn segment(self) -> Option<String> {
        let t = self.url_text()?;
        Some(
            t.bytes()
                .map(|b| match b {
                    b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Get,
    Post,
}

/// One REST endpoint with a valid request: the sweep poisons one field at a time.
struct Ep {
    method: Method,
    /// With `{id}` where the path id goes.
    path: String,
    id: Option<String>,
    rep: bool,
    fields: Vec<(&'static str, String)>,
}

fn ep(
    method: Method,
    path: &str,
    id: Option<i64>,
    rep: bool,
    fields: &[(&'static str, String)],
) -> Ep {
    Ep {
        method,
        path: path.to_owned(),
        id: id.map(|i| i.to_string()),
        rep,
        fields: fields.to_vec(),
    }
}

/// What one field of a request is set to.
#[derive(Clone, Copy)]
enum Poison<'a> {
    None,
    Field(&'a str, Hv),
    PathId(Hv),
    Auth(&'a str, Hv),
}

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Query,
    Form,
    Json,
}

struct Sweep<'a> {
    app: &'a TestApp,
    rep: &'a Who,
    cust: &'a Who,
    last: Vec<(String, i64)>,
    requests: usize,
    refusals: usize,
}

impl Sweep<'_> {
    async fn rest(&mut self, e: &Ep, poison: Poison<'_>, enc: Enc) {
        let who = if e.rep { self.rep } else { self.cust };
        let id = match poison {
            Poison::PathId(h) => h.segment(),
            _ => e.id.clone(),
        };
        let path = match &id {
            Some(id) => e.path.replace("{id}", id),
            None => e.path.replace("/{id}", ""),
        };
        let mut auth: Vec<(String, String)> =
            serde_urlencoded::from_str(&app::sign::signed_query(who.id, &who.token, now_ms()))
                .expect("signed query");
        if let Poison::Auth(key, h) = poison {
            auth.retain(|(k, _)| k != key);
            if let Some(t) = h.url_text() {
                auth.push((key.to_owned(), t));
            }
        }
        let mut text: Vec<(String, String)> = Vec::new();
        let mut obj = serde_json::Map::new();
        for (k, v) in &e.fields {
            match poison {
                Poison::Field(f, h) if f == *k => {
                    let t = if enc == Enc::Query {
                        h.url_text()
                    } else {
                        h.text()
                    };
                    if let Some(t) = t {
                        text.push((k.to_string(), t));
                    }
                    if let Some(j) = h.json() {
                        obj.insert(k.to_string(), j);
                    }
                }
                _ => {
                    text.push((k.to_string(), v.clone()));
                    obj.insert(k.to_string(), json!(v));
                }
            }
        }
        let mut query = auth.clone();
        if enc == Enc::Query {
            query.extend(text.iter().cloned());
        }
        let url = format!(
            "{}{}?{}",
            self.app.base,
            path,
            serde_urlencoded::to_string(&query).expect("query")
        );
        let req = match (e.method, enc) {
            (Method::Get, _) => self.app.http.get(&url),
            (Method::Post, Enc::Json) => self.app.http.post(&url).json(&obj),
            (Method::Post, _) => self.app.http.post(&url).form(&text),
        };
        let what = format!(
            "{:?} {path} {enc_name} {poison_name}",
            e.method,
            path = if path.len() > 120 {
                &path[..120]
            } else {
                &path
            },
            enc_name = match enc {
                Enc::Query => "query",
                Enc::Form => "form",
                Enc::Json => "json",
            },
            poison_name = match poison {
                Poison::Field(f, h) => format!("{f}={h:?}"),
                Poison::PathId(h) => format!("<id>={h:?}"),
                Poison::Auth(f, h) => format!("auth {f}={h:?}"),
                Poison::None => "valid".into(),
            }
        );
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: connection dropped: {e}"));
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: body dropped: {e}"));
        assert!(
            status < 500,
            "{what}: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        );
        let env: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status == 200 {
            assert!(
                env["code"].is_i64(),
                "{what}: not an envelope: {}",
                String::from_utf8_lossy(&body)
            );
            assert!(code(&env) != 500, "{what}: {env}");
        }
        if matches!(poison, Poison::None) {
            assert_eq!(
                (status, code(&env)),
                (200, 200),
                "{what}: the valid request: {env}"
            );
        }
        self.after(status != 200 || code(&env) != 200, &what).await;
    }

    /// Takes a snapshot; a refusal must not have changed any row count.
    async fn after(&mut self, refused: bool, what: &str) {
        self.requests += 1;
        let now = snapshot(self.app).await;
        if refused {
            self.refusals += 1;
            assert_eq!(now, self.last, "{what}: a refusal stored something");
        }
        self.last = now;
    }

    async fn frame(
        &mut self,
        path: &str,
        rep: bool,
        base: &[(&'static str, Value)],
        poison: Option<(&str, Hv)>,
    ) {
        let who = if rep { self.rep } else { self.cust };
        let mut frame = serde_json::Map::new();
        for (k, v) in base {
            match poison {
                Some((f, h)) if f == *k => {
                    if let Some(j) = h.json() {
                        frame.insert(k.to_string(), j);
                    }
                }
                _ => {
                    frame.insert(k.to_string(), v.clone());
                }
            }
        }
        let what = format!(
            "{path} {} {:?}",
            base.first().map(|(_, v)| v.to_string()).unwrap_or_default(),
            poison.map(|(f, h)| format!("{f}={h:?}"))
        );
        let mut ws = connect(&ws_url(&self.app.base, path, who)).await;
        ws.send(Value::Object(frame)).await;
        let _ = ws
            .send_raw(tokio_tungstenite::tungstenite::Message::Text(
                json!({"type": "lived"}).to_string().into(),
            ))
            .await;
        let mut refused = false;
        loop {
            match ws.next_or_end().await {
                Ok(v) if v["code"] == 270 => break,
                Ok(v) => {
                    assert!(code(&v) != 500, "{what}: {v}");
                    if ![199, 200, 202].contains(&code(&v)) {
                        refused = true;
                    }
                }
                Err(End::Closed(Some(c))) => {
                    // Documented closes: `closed` (1000), a policy refusal
                    // (1008: credentials, missing ids, no relation) and a
                    // frame over 64 KiB (1009).
                    assert!([1000, 1008, 1009].contains(&c), "{what}: closed with {c}");
                    refused = true;
                    break;
                }
                Err(e) => panic!("{what}: connection dropped without a close frame: {e:?}"),
            }
        }
        self.after(refused, &what).await;
    }
}

/// The sweep's server, without the write budget.
async fn sweep_server(b: Backend) -> TestApp {
    spawn_with(b, |c| c.write_rate = 0.0).await
}

async fn hostile_input_sweep(b: Backend) {
    let started = std::time::Instant::now();
    let app = sweep_server(b).await;
    let (u, k) = app.pair().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let tag = tag_id(&app, &u, "标签").await;
    let doomed = tag_id(&app, &u, "待删").await;
    let article = radar::service::article::create_article(&app.st, company, "文章", 1, 0)
        .await
        .unwrap();
    // Another article, so that recommendations are not empty.
    radar::service::article::create_article(&app.st, company, "另一篇", 1, 5)
        .await
        .unwrap();
    let activity = radar::service::signup::create_activity(&app.st, "沙龙", Some(article))
        .await
        .unwrap();
    let (_, v) = post_form(
        &app,
        &format!("/zhugeleida/gongzhonghao/article/view_article/{article}"),
        &k,
        &[("uid", u.id.to_string())],
    )
    .await;
    let log_id = v["data"]["log_id"].as_i64().expect("log_id").to_string();
    let (uid, cid) = (u.id.to_string(), k.id.to_string());
    let s = |v: &str| v.to_owned();
    use Method::*;
    let eps = vec![
        ep(
            Post,
            "/zhugeleida/gongzhonghao/chat/send_msg/{id}",
            Some(0),
            false,
            &[
                ("u_id", uid.clone()),
                ("content", text("你好")),
                ("client_msg_id", s("m-1")),
                ("article_id", article.to_string()),
                ("send_type", s("2")),
            ],
        ),
        ep(
            Get,
            "/zhugeleida/gongzhonghao/chat/getmsg/{id}",
            Some(0),
            false,
            &[("u_id", uid.clone())],
        ),
        ep(
            Get,
            "/zhugeleida/gongzhonghao/chat/query_num/{id}",
            Some(0),
            false,
            &[("u_id", uid.clone())],
        ),
        ep(
            Get,
            "/zhugeleida/gongzhonghao/chat",
            None,
            false,
            &[
                ("u_id", uid.clone()),
                ("current_page", s("1")),
                ("length", s("20")),
                ("after_id", s("0")),
            ],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/chat/send_msg/{id}",
            Some(0),
            true,
            &[
                ("customer_id", cid.clone()),
                ("content", text("您好")),
                ("client_msg_id", s("r-1")),
                ("user_id", uid.clone()),
                ("send_type", s("1")),
            ],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/chat/getmsg/{id}",
            Some(0),
            true,
            &[("customer_id", cid.clone())],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/chat",
            None,
            true,
            &[
                ("customer_id", cid.clone()),
                ("current_page", s("1")),
                ("length", s("20")),
                ("after_id", s("0")),
            ],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/contact",
            None,
            true,
            &[("current_page", s("1")), ("length", s("20"))],
        ),
        ep(Get, "/zhugeleida/qiyeweixin/contact/{id}", None, true, &[]),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/tongxunlu",
            None,
            true,
            &[
                ("order", s("-expedted_pr")),
                ("customer_id", cid.clone()),
                ("customer_type", s("2")),
                ("customer__source", s("1")),
                ("username", s("客户")),
                ("current_page", s("1")),
                ("length", s("20")),
            ],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/customer",
            None,
            true,
            &[("customer_id", cid.clone())],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/customer/update_information/{id}",
            Some(k.id),
            true,
            &[
                ("username", s("备注")),
                ("sex", s("1")),
                ("phone", s("13800000000")),
                ("email", s("a@b.cn")),
                ("company", s("公司")),
                ("position", s("经理")),
                ("address", s("地址")),
                ("birthday", s("1990-1-1")),
                ("mem", s("备忘")),
            ],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/customer/update_expected_time/{id}",
            Some(k.id),
            true,
            &[("expected_time", s("2030-1-1"))],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/customer/update_expected_pr/{id}",
            Some(k.id),
            true,
            &[("expedted_pr", s("50%"))],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/customer/update_tag/{id}",
            Some(k.id),
            true,
            &[("tag_list", format!("[{tag}]"))],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/tag_list",
            None,
            true,
            &[("customer_id", cid.clone()), ("tag_type", s("1"))],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/tag_list/add_tag/{id}",
            Some(k.id),
            true,
            &[("name", s("新标签")), ("tag_type", s("1"))],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/tag_list/delete_tag/{id}",
            Some(doomed),
            true,
            &[],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/tag_list/customer_tag/{id}",
            Some(k.id),
            true,
            &[("tag_list", format!("[{tag}]"))],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/follow_info",
            None,
            true,
            &[
                ("customer_id", cid.clone()),
                ("current_page", s("1")),
                ("length", s("20")),
                ("order", s("-create_date")),
            ],
        ),
        ep(
            Post,
            "/zhugeleida/qiyeweixin/follow_info/add/{id}",
            Some(k.id),
            true,
            &[("follow_info", s("跟进"))],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/action/time",
            None,
            true,
            &[
                ("customer_id", cid.clone()),
                ("action", s("1")),
                ("create_date__gte", s("2020-01-01")),
                ("create_date__lt", s("2099-01-01")),
                ("current_page", s("1")),
                ("length", s("20")),
            ],
        ),
        ep(
            Get,
            "/zhugeleida/qiyeweixin/action/new_count",
            None,
            true,
            &[],
        ),
        ep(
            Post,
            "/zhugeleida/gongzhonghao/article/view_article/{id}",
            Some(article),
            false,
            &[("uid", uid.clone())],
        ),
        ep(
            Post,
            "/zhugeleida/gongzhonghao/article/staytime/{id}",
            Some(article),
            false,
            &[
                ("uid", uid.clone()),
                ("log_id", log_id.clone()),
                ("seconds", s("5")),
            ],
        ),
        ep(
            Post,
            "/zhugeleida/gongzhonghao/article/review_article/{id}",
            Some(article),
            false,
            &[("content", s("好文")), ("uid", uid.clone())],
        ),
        ep(
            Get,
            "/zhugeleida/gongzhonghao/article/article_review_list/{id}",
            Some(article),
            false,
            &[],
        ),
        ep(
            Get,
            "/zhugeleida/gongzhonghao/article/recommend_article_list/{id}",
            Some(article),
            false,
            &[("uid", uid.clone()), ("company_id", company.to_string())],
        ),
        ep(
            Post,
            "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity/{id}",
            Some(activity),
            false,
            &[
                ("customer_name", s("王")),
                ("phone", s("13900000000")),
                ("leave_message", s("来")),
                ("uid", uid.clone()),
                ("address", s("北京")),
                ("phone_verify_code", s("1234")),
            ],
        ),
    ];
    // `contact/{id}` takes its operation as the path segment.
    let mut eps = eps;
    for e in eps.iter_mut() {
        if e.path.ends_with("contact/{id}") {
            e.id = Some("query_num".into());
        }
    }
    let last = snapshot(&app).await;
    let mut sw = Sweep {
        app: &app,
        rep: &u,
        cust: &k,
        last,
        requests: 0,
        refusals: 0,
    };
    // The credentials are read by one extractor for every endpoint: they are
    // poisoned on one GET and one POST of each side.
    let auth_swept = [1, 0, 5, 4];
    for (i, e) in eps.iter().enumerate() {
        let encs: &[Enc] = match e.method {
            Method::Get => &[Enc::Query],
            Method::Post => &[Enc::Form, Enc::Json],
        };
        // The valid request first: the baseline the poisoned ones differ from.
        sw.rest(e, Poison::None, encs[0]).await;
        for h in HOSTILE {
            for (f, _) in &e.fields {
                for enc in encs {
                    sw.rest(e, Poison::Field(f, h), *enc).await;
                }
            }
            if e.id.is_some() {
                sw.rest(e, Poison::PathId(h), encs[0]).await;
            }
            if auth_swept.contains(&i) {
                for key in ["user_id", "timestamp", "rand_str"] {
                    sw.rest(e, Poison::Auth(key, h), encs[0]).await;
                }
            }
        }
    }
    let rest_requests = sw.requests;

    let t = |v: &str| json!(v);
    type FrameCase<'a> = (&'a str, bool, Vec<(&'static str, Value)>);
    let frames: Vec<FrameCase> = vec![
        (
            C_CHAT,
            false,
            vec![
                ("type", t("register")),
                ("u_id", json!(u.id)),
                ("after_id", json!(0)),
            ],
        ),
        (
            C_CHAT,
            false,
            vec![("type", t("query_num")), ("u_id", json!(u.id))],
        ),
        (
            C_CHAT,
            false,
            vec![
                ("type", t("send_msg")),
                ("u_id", json!(u.id)),
                ("content", json!({"info_type": 1, "msg": "嗨"})),
                ("client_msg_id", t("w-1")),
                ("article_id", json!(article)),
                ("send_type", json!(2)),
            ],
        ),
        (
            C_CHAT,
            false,
            vec![("type", t("lived")), ("user_id", json!(k.id))],
        ),
        (C_CHAT, false, vec![("type", t("closed"))]),
        (
            C_NUM_WS,
            false,
            vec![("type", t("register")), ("u_id", json!(u.id))],
        ),
        (
            C_NUM_WS,
            false,
            vec![("type", t("query_num")), ("u_id", json!(u.id))],
        ),
        (
            S_CHAT,
            true,
            vec![
                ("type", t("register")),
                ("customer_id", json!(k.id)),
                ("after_id", json!(0)),
                ("user_id", json!(u.id)),
            ],
        ),
        (S_BADGE, true, vec![("type", t("register"))]),
        (S_BADGE, true, vec![("type", t("query_num"))]),
        (
            S_LIST,
            true,
            vec![
                ("type", t("register")),
                ("current_page", json!(1)),
                ("length", json!(10)),
            ],
        ),
        (
            S_LIST,
            true,
            vec![
                ("type", t("query_num")),
                ("current_page", json!(2)),
                ("length", json!(10)),
            ],
        ),
    ];
    for (path, rep, base) in &frames {
        sw.frame(path, *rep, base, None).await;
        for (f, _) in base {
            for h in HOSTILE {
                sw.frame(path, *rep, base, Some((*f, h))).await;
            }
        }
    }
    eprintln!(
        "hostile sweep ({b:?}): {rest_requests} REST requests, {} socket frames, {} refusals, {:?}",
        sw.requests - rest_requests,
        sw.refusals,
        started.elapsed()
    );
    assert!(sw.refusals > 0 && sw.refusals < sw.requests);
}

crate::both!(
    hostile_input_sweep,
    concurrent_update_tag_is_serialised,
    concurrent_duplicates_store_one_row,
    oversized_product_cards_are_refused,
    contact_list_frames_stay_under_64k,
    getmsg_answers_at_most_one_mib,
    nul_characters_are_refused,
);
