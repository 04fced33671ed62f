//! Company scope and drafts (contract §6 "Company scope"): a customer reaches
//! only its own company's reps and published articles, on every path, and a
//! refusal answers exactly like a missing article or relation and stores
//! nothing.

use radar::service::{admin, article as svc, signup};
use serde_json::{json, Value};

use crate::both;
use crate::common::*;
use crate::wsutil::*;

const VIEW: &str = "/zhugeleida/gongzhonghao/article/view_article";
const STAY: &str = "/zhugeleida/gongzhonghao/article/staytime";
const REVIEW: &str = "/zhugeleida/gongzhonghao/article/review_article";
const LIST: &str = "/zhugeleida/gongzhonghao/article/article_review_list";
const RECOMMEND: &str = "/zhugeleida/gongzhonghao/article/recommend_article_list";
const SIGN_UP: &str = "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity";

const DRAFT_BODY: &str = "DRAFT-BODY-must-not-leak";
const DRAFT_TITLE: &str = "DRAFT-TITLE-must-not-leak";
const FOREIGN_TITLE: &str = "FOREIGN-TITLE-must-not-leak";

/// Company A with a rep, a related customer, a published article and a draft;
/// company B with a rep and a published article.
struct World {
    app: TestApp,
    a: i64,
    rep: Who,
    cust: Who,
    published: i64,
    draft: i64,
    b: i64,
    rep_b: Who,
    foreign: i64,
}

async fn world(b: Backend) -> World {
    let app = spawn_app(b).await;
    let a = app.company("甲公司").await;
    let rep = app.user(a, "甲销售").await;
    let cust = app.customer(a, "甲客户").await;
    app.relate(&rep, &cust).await;
    let published = svc::create_article(&app.st, a, "甲的公开文章", 1, 5)
        .await
        .unwrap();
    let draft = svc::create_article(&app.st, a, DRAFT_TITLE, 2, 9_999)
        .await
        .unwrap();
    sqlx::query("UPDATE article SET body = $1, summary = $1 WHERE id = $2")
        .bind(DRAFT_BODY)
        .bind(draft)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let cb = app.company("乙公司").await;
    let rep_b = app.user(cb, "乙销售").await;
    let foreign = svc::create_article(&app.st, cb, FOREIGN_TITLE, 1, 9_999)
        .await
        .unwrap();
    World {
        app,
        a,
        rep,
        cust,
        published,
        draft,
        b: cb,
        rep_b,
        foreign,
    }
}

/// An article id that does not exist.
async fn missing_article(app: &TestApp) -> i64 {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM article")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    max.unwrap_or(0) + 1000
}

/// Everything a customer action could write: row counts and the counters and
/// watermarks it could move.
async fn state(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (name, sql) in [
        ("relations", "SELECT CAST(COUNT(*) AS BIGINT) FROM relation"),
        ("access logs", "SELECT CAST(COUNT(*) AS BIGINT) FROM access_log"),
        ("reviews", "SELECT CAST(COUNT(*) AS BIGINT) FROM article_comment"),
        ("sign-ups", "SELECT CAST(COUNT(*) AS BIGINT) FROM report_to_customer"),
        ("messages", "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message"),
        ("read counts", "SELECT CAST(COALESCE(SUM(read_count), 0) AS BIGINT) FROM article"),
        ("comment counts", "SELECT CAST(COALESCE(SUM(comment_count), 0) AS BIGINT) FROM article"),
        ("stay seconds", "SELECT CAST(COALESCE(SUM(stay_seconds), 0) AS BIGINT) FROM access_log"),
        (
            "relation activity",
            "SELECT CAST(COALESCE(SUM(COALESCE(last_activity_time, 0) + COALESCE(last_follow_time, 0)
               + customer_read_id + user_read_id + is_customer_msg_num + is_user_msg_num), 0) AS BIGINT) FROM relation",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&app.st.db.pool)
            .await
            .unwrap();
        out.push((name, n));
    }
    out
}

async fn view(app: &TestApp, who: &Who, article: i64, uid: Option<i64>) -> Value {
    let uid = uid.map(|u| u.to_string()).unwrap_or_default();
    let form: Vec<(&str, &str)> = if uid.is_empty() {
        vec![]
    } else {
        vec![("uid", uid.as_str())]
    };
    app.post_form(&format!("{VIEW}/{article}"), who, "", &form)
        .await
}

async fn review(app: &TestApp, who: &Who, article: i64, uid: Option<i64>) -> Value {
    let uid = uid.map(|u| u.to_string()).unwrap_or_default();
    let mut form = vec![("content", "很好的文章")];
    if !uid.is_empty() {
        form.push(("uid", uid.as_str()));
    }
    app.post_form(&format!("{REVIEW}/{article}"), who, "", &form)
        .await
}

async fn sign_up(app: &TestApp, who: &Who, activity: i64, uid: Option<i64>, phone: &str) -> Value {
    let uid = uid.map(|u| u.to_string()).unwrap_or_default();
    let mut form = vec![
        ("customer_name", "张三"),
        ("phone", phone),
        ("leave_message", "报名"),
    ];
    if !uid.is_empty() {
        form.push(("uid", uid.as_str()));
    }
    app.post_form(&format!("{SIGN_UP}/{activity}"), who, "", &form)
        .await
}

fn no_leak(v: &Value) {
    let s = v.to_string();
    for secret in [DRAFT_BODY, DRAFT_TITLE, FOREIGN_TITLE] {
        assert!(!s.contains(secret), "{secret} leaked: {s}");
    }
}

// ---------------------------------------------------------------------------
// Drafts.

async fn draft_view_answers_like_a_missing_article(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    // A customer of the company new to the rep: a view with `uid` would create
    // the relation.
    let newcomer = app.customer(w.a, "新客户").await;
    let missing = missing_article(app).await;
    let before = state(app).await;
    for who in [&w.cust, &newcomer] {
        for uid in [Some(w.rep.id), None] {
            let want = view(app, who, missing, uid).await;
            assert_eq!(code(&want), 301, "{want}");
            let r = view(app, who, w.draft, uid).await;
            assert_eq!(r, want, "draft view, uid {uid:?}");
            no_leak(&r);
        }
    }
    assert_eq!(state(app).await, before);
    assert_eq!(
        app.count(&format!(
            "relation WHERE user_id = {} AND customer_id = {}",
            w.rep.id, newcomer.id
        ))
        .await,
        0
    );
    // The published article opens: the refusal is about the draft.
    assert_eq!(
        code(&view(app, &newcomer, w.published, Some(w.rep.id)).await),
        200
    );
}

async fn stay(w: &World, log_id: i64) -> Value {
    let uid = w.rep.id.to_string();
    let log = log_id.to_string();
    w.app
        .post_form(
            &format!("{STAY}/{}", w.published),
            &w.cust,
            "",
            &[("uid", &uid), ("log_id", &log), ("seconds", "60")],
        )
        .await
}

async fn staytime_of_an_unpublished_article_is_refused(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let v = view(app, &w.cust, w.published, Some(w.rep.id)).await;
    assert_eq!(code(&v), 200, "{v}");
    let log_id = v["data"]["log_id"].as_i64().unwrap();
    // The article goes back to draft while the page is still open.
    sqlx::query("UPDATE article SET status = 2 WHERE id = $1")
        .bind(w.published)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let before = state(app).await;
    let want = stay(&w, log_id + 1000).await;
    assert_eq!(code(&want), 301, "{want}");
    assert_eq!(stay(&w, log_id).await, want);
    assert_eq!(state(app).await, before);
    assert_eq!(
        app.count(&format!(
            "access_log WHERE id = {log_id} AND stay_seconds = 0"
        ))
        .await,
        1
    );
}

async fn draft_review_answers_like_a_missing_article(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let newcomer = app.customer(w.a, "新客户").await;
    let missing = missing_article(app).await;
    let before = state(app).await;
    for who in [&w.cust, &newcomer] {
        for uid in [Some(w.rep.id), None] {
            let want = review(app, who, missing, uid).await;
            assert_eq!(code(&want), 301, "{want}");
            let r = review(app, who, w.draft, uid).await;
            assert_eq!(r, want, "draft review, uid {uid:?}");
        }
    }
    assert_eq!(state(app).await, before);
    assert_eq!(
        app.count(&format!("article_comment WHERE article_id = {}", w.draft))
            .await,
        0
    );
}

async fn list(w: &World, article: i64) -> Value {
    w.app.get(&format!("{LIST}/{article}"), &w.cust, "").await
}

async fn draft_review_list_answers_like_a_missing_article(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    // An approved review from when the article was published.
    let r = review(app, &w.cust, w.published, None).await;
    svc::approve_review(&app.st, r["data"]["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&list(&w, w.published).await), 200);
    sqlx::query("UPDATE article SET status = 2 WHERE id = $1")
        .bind(w.published)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let missing = missing_article(app).await;
    let want = list(&w, missing).await;
    assert_eq!(code(&want), 302, "{want}");
    let before = state(app).await;
    let r = list(&w, w.published).await;
    assert_eq!(r, want);
    assert!(!r.to_string().contains("很好的文章"), "{r}");
    assert_eq!(list(&w, w.draft).await, want);
    assert_eq!(state(app).await, before);
}

async fn recommend_lists_only_own_published_articles(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let second = svc::create_article(&app.st, w.a, "甲的第二篇", 1, 1)
        .await
        .unwrap();
    let q = format!("uid={}&company_id={}", w.rep.id, w.a);
    let r = app
        .get(&format!("{RECOMMEND}/{}", w.published), &w.cust, &q)
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let got: Vec<i64> = r["data"]["ret_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["article_id"].as_i64().unwrap())
        .collect();
    let want: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM article WHERE company_id = $1 AND status = 1 AND id <> $2
         ORDER BY read_count DESC, id DESC LIMIT 3",
    )
    .bind(w.a)
    .bind(w.published)
    .fetch_all(&app.st.db.pool)
    .await
    .unwrap();
    assert_eq!(got, want);
    assert!(got.contains(&second));
    no_leak(&r);

    // Another company's list, asked with that company's rep.
    let q = format!("uid={}&company_id={}", w.rep_b.id, w.b);
    let before = state(app).await;
    for id in [w.published, w.foreign] {
        let r = app.get(&format!("{RECOMMEND}/{id}"), &w.cust, &q).await;
        assert_eq!(code(&r), 402, "{r}");
        assert!(r["data"].get("ret_data").is_none(), "{r}");
        no_leak(&r);
    }
    assert_eq!(state(app).await, before);
}

async fn sign_up_for_a_draft_or_foreign_activity_is_refused(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let on_draft = signup::create_activity(&app.st, "草稿的活动", Some(w.draft))
        .await
        .unwrap();
    let on_foreign = signup::create_activity(&app.st, "乙的活动", Some(w.foreign))
        .await
        .unwrap();
    let newcomer = app.customer(w.a, "新客户").await;
    let missing = on_foreign + 1000;
    let before = state(app).await;
    for who in [&w.cust, &newcomer] {
        for uid in [Some(w.rep.id), Some(w.rep_b.id), None] {
            let want = sign_up(app, who, missing, uid, "13800138000").await;
            assert_eq!(code(&want), 301, "{want}");
            for act in [on_draft, on_foreign] {
                let r = sign_up(app, who, act, uid, "13800138000").await;
                assert_eq!(r, want, "activity {act}, uid {uid:?}");
            }
        }
    }
    assert_eq!(state(app).await, before);
    // The same sign-up on the company's own published article goes through.
    let own = signup::create_activity(&app.st, "甲的活动", Some(w.published))
        .await
        .unwrap();
    assert_eq!(
        code(&sign_up(app, &newcomer, own, Some(w.rep.id), "13800138000").await),
        200
    );
}

async fn article_head_of_a_draft_is_null(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let call = |id: i64| async move {
        let resp = app
            .http
            .post(format!("{}/api/article_head", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("id={id}"))
            .send()
            .await
            .expect("request");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    };
    let missing = missing_article(app).await;
    let want = call(missing).await;
    assert_eq!(want, (200, "null".to_owned()));
    let before = state(app).await;
    let got = call(w.draft).await;
    assert_eq!(got, want);
    assert!(!got.1.contains(DRAFT_BODY));
    assert_eq!(state(app).await, before);
    let (status, body) = call(w.published).await;
    assert_eq!(status, 200);
    assert!(body.contains("甲的公开文章"), "{body}");
}

// ---------------------------------------------------------------------------
// Other companies.

async fn foreign_uid_creates_no_relation_and_no_chat(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let missing = missing_article(app).await;
    let before = state(app).await;
    // B's article with B's rep as the sharer: like a missing article.
    let want = view(app, &w.cust, missing, Some(w.rep_b.id)).await;
    assert_eq!(code(&want), 301, "{want}");
    let r = view(app, &w.cust, w.foreign, Some(w.rep_b.id)).await;
    assert_eq!(r, want);
    no_leak(&r);
    assert_eq!(
        review(app, &w.cust, w.foreign, Some(w.rep_b.id)).await,
        review(app, &w.cust, missing, Some(w.rep_b.id)).await
    );
    // A's own article with B's rep as the sharer.
    let r = view(app, &w.cust, w.published, Some(w.rep_b.id)).await;
    assert_eq!(code(&r), 301, "{r}");
    assert!(r["msg"]["uid"].is_array(), "{r}");
    let r = review(app, &w.cust, w.published, Some(w.rep_b.id)).await;
    assert!(r["msg"]["uid"].is_array(), "{r}");
    // No relation, so no chat with B's rep.
    let r = app
        .post_form(
            C_SEND,
            &w.cust,
            "",
            &[
                ("u_id", &w.rep_b.id.to_string()),
                ("content", &text("你好")),
            ],
        )
        .await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(state(app).await, before);
    assert_eq!(
        app.count(&format!("relation WHERE user_id = {}", w.rep_b.id))
            .await,
        0
    );
}

/// A relation across companies left over from before the scope rules.
async fn legacy_relation(app: &TestApp, rep: &Who, cust: &Who) {
    sqlx::query(
        "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ($1, $2, 1, $3)",
    )
    .bind(rep.id)
    .bind(cust.id)
    .bind(app.now_ms())
    .execute(&app.st.db.pool)
    .await
    .unwrap();
}

/// Every chat path between `cust` and `rep`, REST and sockets, answers 307
/// and changes nothing.
async fn chat_is_closed(app: &TestApp, rep: &Who, cust: &Who) {
    let before = state(app).await;
    let uid = format!("u_id={}", rep.id);
    let cid = format!("customer_id={}", cust.id);
    let r = app
        .post_form(
            C_SEND,
            cust,
            "",
            &[("u_id", &rep.id.to_string()), ("content", &text("你好"))],
        )
        .await;
    assert_eq!(code(&r), 307, "customer send: {r}");
    for (path, who, q) in [
        (C_GET, cust, &uid),
        (C_NUM, cust, &uid),
        (C_HIST, cust, &uid),
        (S_GET, rep, &cid),
        (S_HIST, rep, &cid),
    ] {
        let r = app.get(path, who, q).await;
        assert_eq!(code(&r), 307, "{path}: {r}");
        assert!(!r.to_string().contains("LEAK"), "{path}: {r}");
    }
    let r = app
        .post_form(
            S_SEND,
            rep,
            "",
            &[
                ("customer_id", &cust.id.to_string()),
                ("content", &text("你好")),
            ],
        )
        .await;
    assert_eq!(code(&r), 307, "rep send: {r}");
    for (path, who, frame) in [
        (C_CHAT, cust, json!({"type": "register", "u_id": rep.id})),
        (C_NUM_WS, cust, json!({"type": "register", "u_id": rep.id})),
        (
            S_CHAT,
            rep,
            json!({"type": "register", "customer_id": cust.id}),
        ),
    ] {
        let mut ws = connect(&ws_url(&app.base, path, who)).await;
        ws.send(frame).await;
        let f = ws.next().await;
        assert_eq!(f["code"], 307, "{path}: {f}");
        assert_eq!(ws.expect_close().await, Some(1008), "{path}");
    }
    // A send frame on a socket without registration names the rep itself.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, cust)).await;
    ws.send(json!({"u_id": rep.id, "content": text("你好")}))
        .await;
    let f = ws.next().await;
    assert_eq!(f["code"], 307, "socket send: {f}");
    assert_eq!(state(app).await, before);
}

async fn cross_company_relation_is_unusable(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    legacy_relation(app, &w.rep_b, &w.cust).await;
    sqlx::query(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date) VALUES ($1, $2, 1, $3, $4)",
    )
    .bind(w.rep_b.id)
    .bind(w.cust.id)
    .bind(text("LEAK"))
    .bind(app.now_ms())
    .execute(&app.st.db.pool)
    .await
    .unwrap();
    chat_is_closed(app, &w.rep_b, &w.cust).await;
    // Nor does the old relation let B's rep hear of A's articles being read.
    let before = state(app).await;
    let r = view(app, &w.cust, w.published, Some(w.rep_b.id)).await;
    assert!(r["msg"]["uid"].is_array(), "{r}");
    assert_eq!(state(app).await, before);
    // The operator cannot create such a relation any more.
    let k2 = app.customer(w.a, "甲客户二").await;
    assert!(admin::create_relation(&app.st, w.rep_b.id, k2.id, 1)
        .await
        .is_err());
    assert_eq!(state(app).await, before);
    // The same customer's own rep still chats.
    let rest = Rest::new(&app.base);
    rest.customer_says(&w.cust, &w.rep, "你好").await;
}

// ---------------------------------------------------------------------------
// Customers without a company.

async fn customer_without_company_reaches_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let insert = "INSERT INTO customer (company_id, username, token, create_date) VALUES (NULL, 'legacy', $1, $2) RETURNING id";
    let token = "0123456789abcdef0123456789abcdef";
    // New rows must name a company, below the service layer too.
    let refused = sqlx::query_scalar::<_, i64>(insert)
        .bind(token)
        .bind(app.now_ms())
        .fetch_one(&app.st.db.pool)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(app.count("customer WHERE company_id IS NULL").await, 0);
    // A row from before migration 0007.
    let guard = match b {
        Backend::Sqlite => "DROP TRIGGER customer_company_required_insert",
        Backend::Postgres => "ALTER TABLE customer DROP CONSTRAINT customer_company_required",
    };
    sqlx::query(guard).execute(&app.st.db.pool).await.unwrap();
    let id: i64 = sqlx::query_scalar(insert)
        .bind(token)
        .bind(app.now_ms())
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let legacy = Who {
        id,
        token: token.to_owned(),
    };
    legacy_relation(app, &w.rep, &legacy).await;
    let r = review(app, &w.cust, w.published, None).await;
    svc::approve_review(&app.st, r["data"]["id"].as_i64().unwrap())
        .await
        .unwrap();
    let activity = signup::create_activity(&app.st, "甲的活动", Some(w.published))
        .await
        .unwrap();
    let bare = signup::create_activity(&app.st, "独立活动", None)
        .await
        .unwrap();
    let missing = missing_article(app).await;
    let before = state(app).await;

    for uid in [Some(w.rep.id), None] {
        assert_eq!(
            view(app, &legacy, w.published, uid).await,
            view(app, &legacy, missing, uid).await
        );
        assert_eq!(
            review(app, &legacy, w.published, uid).await,
            review(app, &legacy, missing, uid).await
        );
        let want = sign_up(app, &legacy, activity + bare + 1000, uid, "13800138000").await;
        assert_eq!(code(&want), 301, "{want}");
        for act in [activity, bare] {
            assert_eq!(sign_up(app, &legacy, act, uid, "13800138000").await, want);
        }
    }
    let r = app
        .get(&format!("{LIST}/{}", w.published), &legacy, "")
        .await;
    assert_eq!(code(&r), 302, "{r}");
    let q = format!("uid={}&company_id={}", w.rep.id, w.a);
    let r = app
        .get(&format!("{RECOMMEND}/{}", w.published), &legacy, &q)
        .await;
    assert_eq!(code(&r), 402, "{r}");
    assert!(r["data"].get("ret_data").is_none(), "{r}");
    assert_eq!(state(app).await, before);
    chat_is_closed(app, &w.rep, &legacy).await;
}

// ---------------------------------------------------------------------------
// Articles named in chat messages.

async fn send_with_article(
    w: &World,
    path: &str,
    who: &Who,
    peer: (&str, i64),
    article: Option<i64>,
    content: String,
) -> Value {
    let peer_id = peer.1.to_string();
    let article = article.map(|a| a.to_string());
    let mut form = vec![(peer.0, peer_id.as_str()), ("content", content.as_str())];
    if let Some(a) = &article {
        form.push(("article_id", a.as_str()));
    }
    w.app.post_form(path, who, "", &form).await
}

async fn customer_send(w: &World, article: Option<i64>, content: String) -> Value {
    send_with_article(w, C_SEND, &w.cust, ("u_id", w.rep.id), article, content).await
}

async fn rep_send(w: &World, article: Option<i64>, content: String) -> Value {
    send_with_article(
        w,
        S_SEND,
        &w.rep,
        ("customer_id", w.cust.id),
        article,
        content,
    )
    .await
}

async fn chat_article_must_be_of_the_pairs_company(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let missing = missing_article(app).await;
    let in_content =
        |a: i64| json!({"info_type": 1, "msg": "看看这篇", "article_id": a}).to_string();
    let before = state(app).await;

    let want = customer_send(&w, Some(missing), text("看看")).await;
    assert_eq!(code(&want), 402, "{want}");
    assert!(want["data"]["article_id"].is_array(), "{want}");
    // Another company's article, and for the customer the own company's draft.
    for a in [w.foreign, w.draft] {
        assert_eq!(customer_send(&w, Some(a), text("看看")).await, want, "{a}");
        let r = customer_send(&w, None, in_content(a)).await;
        assert_eq!(code(&r), 402, "{r}");
        assert!(r["data"]["content"].is_array(), "{r}");
    }
    let want = rep_send(&w, Some(missing), text("看看")).await;
    assert_eq!(code(&want), 402, "{want}");
    assert_eq!(rep_send(&w, Some(w.foreign), text("看看")).await, want);
    let r = rep_send(&w, None, in_content(w.foreign)).await;
    assert_eq!(code(&r), 402, "{r}");
    assert!(r["data"]["content"].is_array(), "{r}");
    // The customer's socket refuses the same frame.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &w.cust)).await;
    ws.send(json!({"type": "register", "u_id": w.rep.id})).await;
    assert_eq!(ws.next().await["code"], 199);
    ws.send(json!({"u_id": w.rep.id, "content": text("看看"), "article_id": w.foreign}))
        .await;
    let f = ws.next().await;
    assert_eq!(f["code"], 402, "{f}");
    assert!(ws.lived().await.is_empty());
    assert_eq!(state(app).await, before);

    // In scope: the customer names a published article of the company, the
    // rep any article of the company.
    let r = customer_send(&w, Some(w.published), in_content(w.published)).await;
    assert_eq!(code(&r), 200, "{r}");
    let r = rep_send(&w, Some(w.draft), in_content(w.draft)).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(
        app.count(&format!(
            "chat_message WHERE customer_id = {} AND article_id IN ({}, {})",
            w.cust.id, w.published, w.draft
        ))
        .await,
        2
    );
}

// ---------------------------------------------------------------------------
// The command line.

async fn cli_customer_create_requires_a_company(b: Backend) {
    let db = TestDb::new(b).await;
    let radar = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env_remove("RADAR_ADDR")
            .output()
            .expect("run radar")
    };
    let out = radar(&["admin", "company", "create", "--name", "公司"]);
    assert!(out.status.success());
    let company: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cid = company["id"].as_i64().unwrap();
    let missing = (cid + 1000).to_string();
    for (args, needle) in [
        (
            vec!["admin", "customer", "create", "--name", "无公司"],
            "--company-id",
        ),
        (
            vec![
                "admin",
                "customer",
                "create",
                "--name",
                "无公司",
                "--company-id",
                &missing,
            ],
            "company_id",
        ),
    ] {
        let out = radar(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let st = radar::AppState::start({
        let mut c = radar::Config::from_env().unwrap();
        c.database_url = db.url.clone();
        c
    })
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM customer")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let out = radar(&[
        "admin",
        "customer",
        "create",
        "--name",
        "有公司",
        "--company-id",
        &cid.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both!(
    draft_view_answers_like_a_missing_article,
    staytime_of_an_unpublished_article_is_refused,
    draft_review_answers_like_a_missing_article,
    draft_review_list_answers_like_a_missing_article,
    recommend_lists_only_own_published_articles,
    sign_up_for_a_draft_or_foreign_activity_is_refused,
    article_head_of_a_draft_is_null,
    foreign_uid_creates_no_relation_and_no_chat,
    cross_company_relation_is_unusable,
    customer_without_company_reaches_nothing,
    chat_article_must_be_of_the_pairs_company,
    cli_customer_create_requires_a_company,
);
