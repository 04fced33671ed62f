//! Behaviour the hot-path optimisations must keep: the token cache, the folded
//! lookups' error codes, the badge over unread conversations, the article
//! attribution of rep messages and the history header fields.

use crate::both;
use crate::common::*;
use crate::wsutil::{C_GET, C_HIST, C_SEND, S_BADGE_REST as S_NUM, S_SEND};
use serde_json::Value;

async fn customer_says(app: &TestApp, k: &Who, u: &Who, msg: &str, article: Option<i64>) -> Value {
    let uid = u.id.to_string();
    let a = article.map(|a| a.to_string()).unwrap_or_default();
    let mut form = vec![("u_id", uid.as_str()), ("send_type", "2")];
    let t = text(msg);
    form.push(("content", &t));
    if article.is_some() {
        form.push(("article_id", &a));
    }
    app.post_form(C_SEND, k, "", &form).await
}

async fn rep_says(app: &TestApp, u: &Who, k: &Who, msg: &str) -> Value {
    let cid = k.id.to_string();
    let t = text(msg);
    app.post_form(
        S_SEND,
        u,
        "",
        &[("customer_id", &cid), ("send_type", "1"), ("content", &t)],
    )
    .await
}

async fn last_article(app: &TestApp) -> Option<i64> {
    sqlx::query_scalar("SELECT article_id FROM chat_message ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap()
}

/// An id that failed authentication is not remembered: the user created with
/// it afterwards signs in; a remembered token still rejects a wrong signature
/// and a stale timestamp.
async fn token_cache_remembers_only_known_users(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let c: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let next = k.id + 1;
    let ghost = Who {
        id: next,
        token: "0".repeat(32),
    };
    let uq = format!("u_id={}", u.id);
    let r = app.get(C_GET, &ghost, &uq).await;
    assert_eq!(code(&r), 400, "{r}");
    assert_eq!(r["msg"], "token异常");
    let k2 = app.customer(c, "后来的客户").await;
    assert_eq!(k2.id, next);
    app.relate(&u, &k2).await;
    for _ in 0..2 {
        let r = app.get(C_GET, &k2, &uq).await;
        assert_eq!(code(&r), 200, "{r}");
    }
    let wrong = Who {
        id: k2.id,
        token: k.token.clone(),
    };
    let r = app.get(C_GET, &wrong, &uq).await;
    assert_eq!(code(&r), 400, "{r}");
    let old = app.now_ms() - 3_600_000;
    let q = app::sign::signed_query(k2.id, &k2.token, old);
    let r = app.get_url(&format!("{}{C_GET}?{q}&{uq}", app.base)).await;
    assert_eq!(code(&r), 400, "{r}");
    assert_eq!(r["note"]["reason"], "timestamp outside the allowed window");
}

/// Unknown rep: 402 用户名不存在; existing rep without relation: 307; on the
/// send, the history and the rep's send to an unknown customer.
async fn folded_lookups_keep_their_codes(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let c: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let stranger = app.user(c, "别的销售").await;
    let ghost = Who {
        id: 999_999,
        token: String::new(),
    };
    for (who, want) in [(&ghost, 402), (&stranger, 307)] {
        let r = customer_says(&app, &k, who, "hi", None).await;
        assert_eq!(code(&r), want, "send {r}");
        let r = app.get(C_HIST, &k, &format!("u_id={}", who.id)).await;
        assert_eq!(code(&r), want, "history {r}");
        if want == 402 {
            assert!(r.to_string().contains("用户名不存在"), "{r}");
        }
    }
    let nobody = Who {
        id: 999_999,
        token: String::new(),
    };
    let r = rep_says(&app, &u, &nobody, "hi").await;
    assert!(r.to_string().contains("客户不存在"), "{r}");
    let k2 = app.customer(c, "无关系").await;
    let r = rep_says(&app, &u, &k2, "hi").await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(app.count("chat_message").await, 0);
}

async fn badge(app: &TestApp, u: &Who) -> Value {
    app.get(S_NUM, u, "").await["data"]["chatinfo_count"].clone()
}

/// The badge counts unread customer messages over all conversations, also
/// when the rep answered without reading, and not what the rep has read.
async fn badge_counts_only_unread(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k1) = app.pair().await;
    let c: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let k2 = app.customer(c, "二").await;
    app.relate(&u, &k2).await;
    assert_eq!(badge(&app, &u).await, 0);
    customer_says(&app, &k1, &u, "1", None).await;
    customer_says(&app, &k1, &u, "2", None).await;
    customer_says(&app, &k2, &u, "3", None).await;
    rep_says(&app, &u, &k1, "answer without reading").await;
    assert_eq!(badge(&app, &u).await, 3);
    let r = app
        .get(
            "/zhugeleida/qiyeweixin/chat",
            &u,
            &format!("customer_id={}", k1.id),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["data_count"], 3);
    assert_eq!(badge(&app, &u).await, 1);
}

/// A rep message carries the article of the customer's latest message with
/// one; explicit articles and customer messages without one are kept as sent.
async fn rep_messages_inherit_the_article(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let c: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let mut articles = Vec::new();
    for t in ["一", "二"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO article (company_id, title, create_date) VALUES ($1, $2, 0) RETURNING id",
        )
        .bind(c)
        .bind(t)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
        articles.push(id);
    }
    rep_says(&app, &u, &k, "before any article").await;
    assert_eq!(last_article(&app).await, None);
    assert_eq!(
        code(&customer_says(&app, &k, &u, "a", Some(articles[0])).await),
        200
    );
    assert_eq!(last_article(&app).await, Some(articles[0]));
    rep_says(&app, &u, &k, "r1").await;
    assert_eq!(last_article(&app).await, Some(articles[0]));
    customer_says(&app, &k, &u, "b", Some(articles[1])).await;
    customer_says(&app, &k, &u, "no article", None).await;
    assert_eq!(last_article(&app).await, None);
    rep_says(&app, &u, &k, "r2").await;
    assert_eq!(last_article(&app).await, Some(articles[1]));
    let last_msg: i64 = sqlx::query_scalar("SELECT last_msg_id FROM relation")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let max: i64 = sqlx::query_scalar("SELECT MAX(id) FROM chat_message")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    assert_eq!(last_msg, max);
    let (sent_by_rep, sent_by_customer): (i64, i64) = {
        let row = sqlx::query("SELECT is_user_msg_num, is_customer_msg_num FROM relation")
            .fetch_one(&app.st.db.pool)
            .await
            .unwrap();
        use sqlx::Row;
        (row.get(0), row.get(1))
    };
    assert_eq!((sent_by_rep, sent_by_customer), (3, 3));
}

/// The customer's history page: header fields, count, first-message flag and
/// pages past the end.
async fn customer_history_header(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    for i in 0..3 {
        rep_says(&app, &u, &k, &format!("m{i}")).await;
    }
    let r = app
        .get(C_HIST, &k, &format!("u_id={}&length=2", u.id))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let d = &r["data"];
    assert_eq!(d["data_count"], 3);
    assert_eq!(d["user_name"], "销售");
    assert_eq!(d["company_name"], "公司");
    let items = d["ret_data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["is_first_info"] == false));
    let r = app
        .get(
            C_HIST,
            &k,
            &format!("u_id={}&length=2&current_page=2", u.id),
        )
        .await;
    let items = r["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["is_first_info"], true);
    let r = app
        .get(
            C_HIST,
            &k,
            &format!("u_id={}&length=2&current_page=9", u.id),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["data_count"], 3);
    assert_eq!(r["data"]["ret_data"].as_array().unwrap().len(), 0);
}

both!(
    token_cache_remembers_only_known_users,
    folded_lookups_keep_their_codes,
    badge_counts_only_unread,
    rep_messages_inherit_the_article,
    customer_history_header,
);
