//! The article radar (API doc 2.1–2.4, semantics §4 and §3.7): views, reading
//! time, reviews, recommendations and sign-ups, and what each leaves in the rep's
//! access log and on the relation.

use crate::both;
use crate::common::*;
use radar::service::article as svc;
use radar::service::signup;
use serde_json::{json, Value};

const VIEW: &str = "/zhugeleida/gongzhonghao/article/view_article";
const STAY: &str = "/zhugeleida/gongzhonghao/article/staytime";
const REVIEW: &str = "/zhugeleida/gongzhonghao/article/review_article";
const LIST: &str = "/zhugeleida/gongzhonghao/article/article_review_list";
const RECOMMEND: &str = "/zhugeleida/gongzhonghao/article/recommend_article_list";
const SIGN_UP: &str = "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity";

fn at(path: &str, id: impl std::fmt::Display) -> String {
    format!("{path}/{id}")
}

/// A company with a rep, an unrelated customer of the company and one article.
struct World {
    app: TestApp,
    company: i64,
    rep: Who,
    cust: Who,
    article: i64,
}

async fn world(b: Backend) -> World {
    world_with(b, |_| {}).await
}

/// The original's share link hosts (`RADAR_ARTICLE_*`), as the API doc's example has them.
fn vendor_share(c: &mut radar::Config) {
    c.article_share = Some(radar::config::ArticleShare {
        api_url: "http://api.zhugeyingxiao.com".into(),
        authorization_url: "http://zhugeleida.zhugeyingxiao.com".into(),
        component_appid: "wx6ba07e6ddcdc69b3".into(),
    });
}

async fn world_with(b: Backend, tweak: impl FnOnce(&mut radar::Config)) -> World {
    let app = spawn_with(b, tweak).await;
    let company = app.company("雷达公司").await;
    let rep = app.user(company, "张聪").await;
    let cust = app.customer(company, "王小明").await;
    let article = svc::create_article(&app.st, company, "没【留量】比没流量更可怕", 1, 10)
        .await
        .unwrap();
    World {
        app,
        company,
        rep,
        cust,
        article,
    }
}

#[derive(Debug, PartialEq)]
struct Log {
    id: i64,
    action: i64,
    user_id: i64,
    customer_id: i64,
    article_id: Option<i64>,
    remark: String,
    stay_seconds: i64,
}

async fn logs(app: &TestApp) -> Vec<Log> {
    let rows = sqlx::query(
        "SELECT id, action, user_id, customer_id, article_id, remark, stay_seconds FROM access_log ORDER BY id",
    )
    .fetch_all(&app.st.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| Log {
            id: get_i64(r, "id").unwrap(),
            action: get_i64(r, "action").unwrap(),
            user_id: get_i64(r, "user_id").unwrap(),
            customer_id: get_i64(r, "customer_id").unwrap(),
            article_id: get_opt_i64(r, "article_id").unwrap(),
            remark: get_str(r, "remark").unwrap(),
            stay_seconds: get_i64(r, "stay_seconds").unwrap(),
        })
        .collect()
}

async fn scalar(app: &TestApp, sql: &str, id: i64) -> Option<i64> {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .bind(id)
        .fetch_optional(&app.st.db.pool)
        .await
        .unwrap()
        .flatten()
}

async fn read_count(app: &TestApp, article: i64) -> i64 {
    scalar(app, "SELECT read_count FROM article WHERE id = $1", article)
        .await
        .unwrap()
}

async fn comment_count(app: &TestApp, article: i64) -> i64 {
    scalar(
        app,
        "SELECT comment_count FROM article WHERE id = $1",
        article,
    )
    .await
    .unwrap()
}

async fn last_activity(app: &TestApp, rep: &Who, cust: &Who) -> Option<i64> {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT last_activity_time FROM relation WHERE user_id = $1 AND customer_id = $2",
    )
    .bind(rep.id)
    .bind(cust.id)
    .fetch_optional(&app.st.db.pool)
    .await
    .unwrap()
    .flatten()
}

async fn relation_source(app: &TestApp, rep: &Who, cust: &Who) -> Option<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT source FROM relation WHERE user_id = $1 AND customer_id = $2",
    )
    .bind(rep.id)
    .bind(cust.id)
    .fetch_optional(&app.st.db.pool)
    .await
    .unwrap()
}

/// The rep's customers by most recent activity (the contact list's `-last_activity_time`).
async fn contact_order(app: &TestApp, rep: &Who) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT customer_id FROM relation WHERE user_id = $1
         ORDER BY CASE WHEN last_activity_time IS NULL THEN 1 ELSE 0 END, last_activity_time DESC, id DESC",
    )
    .bind(rep.id)
    .fetch_all(&app.st.db.pool)
    .await
    .unwrap()
}

fn field_msg<'a>(v: &'a Value, field: &str) -> &'a str {
    v["msg"][field][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} error in {v}"))
}

fn data_field_msg<'a>(v: &'a Value, field: &str) -> &'a str {
    v["data"][field][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} error in {v}"))
}

async fn view(w: &World, cust: &Who, article: i64, uid: &str) -> Value {
    w.app
        .post_form(&at(VIEW, article), cust, "", &[("uid", uid)])
        .await
}

// ---------------------------------------------------------------------------

async fn view_logs_for_the_rep_and_creates_the_relation(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let mut events = app.st.bus.subscribe();
    assert_eq!(relation_source(app, &w.rep, &w.cust).await, None);

    let r = view(&w, &w.cust, w.article, &w.rep.id.to_string()).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "成功");
    assert_eq!(r["data"]["read_count"], 11);
    let log_id = r["data"]["log_id"].as_i64().unwrap();
    assert_eq!(read_count(app, w.article).await, 11);
    assert_eq!(
        logs(app).await,
        vec![Log {
            id: log_id,
            action: 14,
            user_id: w.rep.id,
            customer_id: w.cust.id,
            article_id: Some(w.article),
            remark: "正在查看文章《没【留量】比没流量更可怕》,看来对您的文章感兴趣".into(),
            stay_seconds: 0,
        }]
    );
    // The customer arrived through the article: relation with source 4, active now.
    assert_eq!(relation_source(app, &w.rep, &w.cust).await, Some(4));
    let first = last_activity(app, &w.rep, &w.cust).await.unwrap();
    assert!(first > 0);
    assert_eq!(
        events.try_recv().unwrap(),
        radar::bus::Event::ContactChanged {
            user_id: w.rep.id,
            customer_id: w.cust.id
        }
    );

    // A second view keeps the one relation and moves the activity time.
    app.st.clock.advance_ms(60_000);
    let r = view(&w, &w.cust, w.article, &w.rep.id.to_string()).await;
    assert_eq!(code(&r), 200, "{r}");
    assert!(r["data"]["log_id"].as_i64().unwrap() > log_id);
    assert_eq!(app.count("relation").await, 1);
    assert!(last_activity(app, &w.rep, &w.cust).await.unwrap() >= first + 60_000);
    assert_eq!(read_count(app, w.article).await, 12);

    // Without a rep only the counter moves.
    let r = app.post_form(&at(VIEW, w.article), &w.cust, "", &[]).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["log_id"], Value::Null);
    assert_eq!(read_count(app, w.article).await, 13);
    assert_eq!(app.count("access_log").await, 2);
}

async fn view_returns_the_article_content_and_its_activity(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let uid = w.rep.id.to_string();
    sqlx::query("UPDATE article SET summary = $1, body = $2, cover_picture = $3 WHERE id = $4")
        .bind("摘要 <b>")
        .bind("第一段\n\n第二段 🎉 <script>")
        .bind("https://img.example/cover.png")
        .bind(w.article)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let r = view(&w, &w.cust, w.article, &uid).await;
    assert_eq!(code(&r), 200, "{r}");
    let d = &r["data"];
    assert_eq!(d["title"], "没【留量】比没流量更可怕");
    assert_eq!(d["summary"], "摘要 <b>");
    assert_eq!(d["body"], "第一段\n\n第二段 🎉 <script>");
    assert_eq!(d["cover_picture"], "https://img.example/cover.png");
    assert_eq!(d["read_count"], 11);
    assert_eq!(d["company_id"], w.company);
    assert_eq!(d["id"], w.article);
    assert!(d["create_date"].as_str().unwrap().len() >= 16, "{d}");
    assert!(d["log_id"].as_i64().is_some());
    // No activity yet.
    assert_eq!(d["activity_id"], Value::Null);

    // An activity naming the article is its sign-up form.
    let named = signup::create_activity(&app.st, "沙龙", Some(w.article))
        .await
        .unwrap();
    let r = view(&w, &w.cust, w.article, &uid).await;
    assert_eq!(r["data"]["activity_id"], named);
    assert_eq!(r["data"]["read_count"], 12);

    // An article that embeds an activity (plugin_report_id) shows that one,
    // also to a view without a sharing rep.
    let embedded = signup::create_activity(&app.st, "嵌入的活动", None)
        .await
        .unwrap();
    let host = svc::create_article(&app.st, w.company, "承载文章", 1, 0)
        .await
        .unwrap();
    sqlx::query("UPDATE article SET plugin_report_id = $1 WHERE id = $2")
        .bind(embedded)
        .bind(host)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let r = app.post_form(&at(VIEW, host), &w.cust, "", &[]).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["activity_id"], embedded);
    assert_eq!(r["data"]["title"], "承载文章");
    assert_eq!(r["data"]["body"], "");
    assert_eq!(r["data"]["log_id"], Value::Null);

    // A foreign article shows nothing of its content.
    let other = app.company("别家").await;
    let foreign = svc::create_article(&app.st, other, "别家的文章", 1, 0)
        .await
        .unwrap();
    let r = view(&w, &w.cust, foreign, &uid).await;
    assert_ne!(code(&r), 200, "{r}");
    assert!(!r.to_string().contains("别家的文章"), "{r}");
}

async fn view_of_a_related_rep_of_another_company_is_refused(b: Backend) {
    // A relation across companies (left over from before the company scope;
    // it can no longer be created) does not let that rep hear of the view.
    let w = world(b).await;
    let other = w.app.company("别家").await;
    let rep2 = w.app.user(other, "外援").await;
    sqlx::query(
        "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ($1, $2, 1, $3)",
    )
    .bind(rep2.id)
    .bind(w.cust.id)
    .bind(w.app.now_ms())
    .execute(&w.app.st.db.pool)
    .await
    .unwrap();
    let reads = read_count(&w.app, w.article).await;
    let r = view(&w, &w.cust, w.article, &rep2.id.to_string()).await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(field_msg(&r, "uid"), "雷达用户不属于该文章的公司");
    assert_eq!(w.app.count("access_log").await, 0);
    assert_eq!(read_count(&w.app, w.article).await, reads);
}

async fn view_rejects_bad_input_and_stores_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let other = app.company("别家").await;
    let stranger = app.user(other, "外人").await;
    let outsider = app.customer(other, "外客").await;
    let deleted = svc::create_article(&app.st, w.company, "已删除", 3, 0)
        .await
        .unwrap();
    let uid = w.rep.id.to_string();

    for bad in ["abc", "1.5", "-1", "99999999999999999999"] {
        let r = app
            .post_form(&format!("{VIEW}/{bad}"), &w.cust, "", &[("uid", &uid)])
            .await;
        assert_eq!(code(&r), 402, "{bad}: {r}");
        assert_eq!(r["msg"], "请求异常");
    }
    let r = view(&w, &w.cust, 999_999, &uid).await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(field_msg(&r, "article_id"), "文章不存在");
    let r = view(&w, &w.cust, deleted, &uid).await;
    assert_eq!(field_msg(&r, "article_id"), "文章不存在");
    // A customer of another company cannot open this company's article.
    let r = view(&w, &outsider, w.article, &uid).await;
    assert_eq!(field_msg(&r, "article_id"), "文章不存在");
    // A rep of another company, not related to the customer.
    let r = view(&w, &w.cust, w.article, &stranger.id.to_string()).await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(field_msg(&r, "uid"), "雷达用户不属于该文章的公司");
    let r = view(&w, &w.cust, w.article, "424242").await;
    assert_eq!(field_msg(&r, "uid"), "雷达用户不存在");
    let r = view(&w, &w.cust, w.article, "x1").await;
    assert_eq!(r["msg"]["uid"][0]["code"], "invalid");

    assert_eq!(read_count(app, w.article).await, 10);
    assert_eq!(read_count(app, deleted).await, 0);
    assert_eq!(app.count("access_log").await, 0);
    assert_eq!(app.count("relation").await, 0);
}

async fn staytime(w: &World, log_id: i64, seconds: &str) -> Value {
    let (l, u) = (log_id.to_string(), w.rep.id.to_string());
    w.app
        .post_form(
            &at(STAY, w.article),
            &w.cust,
            "",
            &[("uid", &u), ("log_id", &l), ("seconds", seconds)],
        )
        .await
}

async fn staytime_is_monotonic_capped_and_beacon_friendly(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let log_id = view(&w, &w.cust, w.article, &w.rep.id.to_string()).await["data"]["log_id"]
        .as_i64()
        .unwrap();
    let before = last_activity(app, &w.rep, &w.cust).await.unwrap();

    app.st.clock.advance_ms(30_000);
    let r = staytime(&w, log_id, "30").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"], json!({"log_id": log_id, "stay_seconds": 30}));
    assert!(last_activity(app, &w.rep, &w.cust).await.unwrap() >= before + 30_000);

    // navigator.sendBeacon posts a string as text/plain: urlencoded fields inside.
    let beacon = |secs: i64| {
        let url = app.url(&at(STAY, w.article), &w.cust, "");
        let body = format!("uid={}&log_id={log_id}&seconds={secs}", w.rep.id);
        app.http
            .post(url)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    let r: Value = beacon(10).await.unwrap().json().await.unwrap();
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["stay_seconds"], 30, "never decreases");
    let r: Value = beacon(45).await.unwrap().json().await.unwrap();
    assert_eq!(r["data"]["stay_seconds"], 45);
    // JSON bodies work as well.
    let r = app
        .post_json(
            &at(STAY, w.article),
            &w.cust,
            "",
            &json!({"uid": w.rep.id, "log_id": log_id, "seconds": 50}),
        )
        .await;
    assert_eq!(r["data"]["stay_seconds"], 50);

    let r = staytime(&w, log_id, "20000").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["stay_seconds"], svc::STAY_CAP_SECS);
    assert_eq!(logs(app).await[0].stay_seconds, svc::STAY_CAP_SECS);
    assert_eq!(
        app.count("access_log").await,
        1,
        "reading time adds no rows"
    );
}

async fn staytime_rejects_bad_input_and_stores_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let log_id = view(&w, &w.cust, w.article, &w.rep.id.to_string()).await["data"]["log_id"]
        .as_i64()
        .unwrap();
    assert_eq!(code(&staytime(&w, log_id, "40").await), 200);

    for bad in [
        "-1",
        "86401",
        "99999999999999999999",
        "abc",
        "1e9",
        "12.5",
        "",
    ] {
        let r = staytime(&w, log_id, bad).await;
        assert_eq!(code(&r), 301, "{bad}: {r}");
        assert!(r["msg"]["seconds"].is_array(), "{bad}: {r}");
    }
    let r = app
        .post_form(&at(STAY, w.article), &w.cust, "", &[("seconds", "5")])
        .await;
    assert_eq!(code(&r), 301);
    assert_eq!(field_msg(&r, "uid"), "雷达用户ID不能为空");
    assert_eq!(field_msg(&r, "log_id"), "访问记录ID不能为空");

    // The row must be this customer's view of this article for this rep.
    let other_cust = app.customer(w.company, "李四").await;
    let other_log = view(&w, &other_cust, w.article, &w.rep.id.to_string()).await["data"]["log_id"]
        .as_i64()
        .unwrap();
    let r = staytime(&w, other_log, "60").await;
    assert_eq!(field_msg(&r, "log_id"), "访问记录不存在");
    let second = svc::create_article(&app.st, w.company, "另一篇", 1, 0)
        .await
        .unwrap();
    let (l, u) = (log_id.to_string(), w.rep.id.to_string());
    let r = app
        .post_form(
            &at(STAY, second),
            &w.cust,
            "",
            &[("uid", &u), ("log_id", &l), ("seconds", "60")],
        )
        .await;
    assert_eq!(field_msg(&r, "log_id"), "访问记录不存在");
    let rep2 = app.user(w.company, "李娜").await;
    let r = app
        .post_form(
            &at(STAY, w.article),
            &w.cust,
            "",
            &[
                ("uid", &rep2.id.to_string()),
                ("log_id", &l),
                ("seconds", "60"),
            ],
        )
        .await;
    assert_eq!(field_msg(&r, "log_id"), "访问记录不存在");
    let r = app
        .post_form(
            &format!("{STAY}/x"),
            &w.cust,
            "",
            &[("uid", &u), ("log_id", &l), ("seconds", "60")],
        )
        .await;
    assert_eq!(code(&r), 402);

    let stays: Vec<i64> = logs(app).await.iter().map(|l| l.stay_seconds).collect();
    assert_eq!(stays, vec![40, 0]);
}

// ---------------------------------------------------------------------------

async fn review(w: &World, cust: &Who, article: i64, form: &[(&str, &str)]) -> Value {
    w.app.post_form(&at(REVIEW, article), cust, "", form).await
}

async fn review_round_trip_and_approval(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let reader = app.customer(w.company, "路人").await;
    let uid = w.rep.id.to_string();

    let r = review(
        &w,
        &w.cust,
        w.article,
        &[("content", "  不错的文章。。。。\n"), ("uid", &uid)],
    )
    .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "成功");
    let first = r["data"]["id"].as_i64().unwrap();
    assert_eq!(comment_count(app, w.article).await, 1);
    let l = logs(app).await;
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].action, l[0].user_id, l[0].customer_id),
        (25, w.rep.id, w.cust.id)
    );
    assert_eq!(l[0].article_id, Some(w.article));
    assert_eq!(l[0].remark, "评论了您的文章《没【留量】比没流量更可怕》");
    assert_eq!(relation_source(app, &w.rep, &w.cust).await, Some(4));
    assert!(last_activity(app, &w.rep, &w.cust).await.is_some());

    // Pending: visible to its author only.
    let r = app.get(&at(LIST, w.article), &w.cust, "").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "查询成功");
    assert_eq!(r["data"]["data_count"], 1);
    let item = &r["data"]["ret_data"][0];
    assert_eq!(item["id"], first);
    assert_eq!(item["from_customer_id"], w.cust.id);
    assert_eq!(item["from_customer_name"], "王小明");
    assert_eq!(item["from_customer_headimgurl"], "statics/imgs/Avator.jpg");
    assert_eq!(item["content"], "不错的文章。。。。", "stored trimmed");
    assert_eq!(item["is_audit_pass"], 0);
    assert_eq!(item["pending"], true);
    let created = scalar(
        app,
        "SELECT create_date FROM article_comment WHERE id = $1",
        first,
    )
    .await
    .unwrap();
    assert_eq!(
        item["create_time"],
        radar::timefmt::plain(app.st.config.tz, created)
    );
    assert_eq!(item["create_time"].as_str().unwrap().len(), 19);
    let r = app.get(&at(LIST, w.article), &reader, "").await;
    assert_eq!(code(&r), 302, "{r}");
    assert_eq!(r["msg"], "没有数据");

    // Approved: visible to everyone; the reader's own pending review too, newest first.
    svc::approve_review(&app.st, first).await.unwrap();
    app.st.clock.advance_ms(1000);
    let long = "长".repeat(1000);
    let r = review(&w, &reader, w.article, &[("content", &long)]).await;
    assert_eq!(code(&r), 200, "1000 characters are allowed: {r}");
    let second = r["data"]["id"].as_i64().unwrap();
    let r = app.get(&at(LIST, w.article), &reader, "").await;
    let ids: Vec<i64> = r["data"]["ret_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![second, first]);
    assert_eq!(r["data"]["ret_data"][1]["pending"], false);
    assert_eq!(r["data"]["ret_data"][1]["is_audit_pass"], 1);
    assert_eq!(r["data"]["ret_data"][0]["pending"], true);
    // The author does not see the reader's pending review.
    let r = app.get(&at(LIST, w.article), &w.cust, "").await;
    assert_eq!(r["data"]["data_count"], 1);
    // No rep named: no access-log row.
    assert_eq!(app.count("access_log").await, 1);
    assert_eq!(comment_count(app, w.article).await, 2);

    // Equal times break by id, and a nameless customer gets the fallback name.
    svc::approve_review(&app.st, second).await.unwrap();
    sqlx::query("UPDATE article_comment SET create_date = $1")
        .bind(created)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE customer SET username = '' WHERE id = $1")
        .bind(reader.id)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let r = app.get(&at(LIST, w.article), &w.cust, "").await;
    let items = r["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items[0]["id"], second);
    assert_eq!(
        items[0]["from_customer_name"],
        format!("客户ID{}", reader.id)
    );
    assert_eq!(items[1]["id"], first);
}

async fn review_rejects_bad_input_and_stores_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let other = app.company("别家").await;
    let stranger = app.user(other, "外人").await;
    let outsider = app.customer(other, "外客").await;
    let uid = w.rep.id.to_string();

    let r = review(&w, &w.cust, w.article, &[]).await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(r["data"], json!({}));
    assert_eq!(
        r["msg"],
        json!({"content": [{"message": "内容不能为空", "code": "required"}]})
    );
    let r = review(&w, &w.cust, w.article, &[("content", " \n\t ")]).await;
    assert_eq!(field_msg(&r, "content"), "内容不能为空");
    let r = review(&w, &w.cust, w.article, &[("content", &"长".repeat(1001))]).await;
    assert_eq!(r["msg"]["content"][0]["code"], "invalid");
    let r = review(&w, &w.cust, 999_999, &[("content", "好")]).await;
    assert_eq!(
        r["msg"],
        json!({"article_id": [{"message": "文章不存在", "code": ""}]})
    );
    let r = review(&w, &outsider, w.article, &[("content", "好")]).await;
    assert_eq!(field_msg(&r, "article_id"), "文章不存在");
    let r = review(
        &w,
        &w.cust,
        w.article,
        &[("content", "好"), ("uid", &stranger.id.to_string())],
    )
    .await;
    assert_eq!(field_msg(&r, "uid"), "雷达用户不属于该文章的公司");
    let r = review(&w, &w.cust, w.article, &[("content", "好"), ("uid", "abc")]).await;
    assert_eq!(code(&r), 301);
    let r = app
        .post_form(
            &format!("{REVIEW}/abc"),
            &w.cust,
            "",
            &[("content", "好"), ("uid", &uid)],
        )
        .await;
    assert_eq!(code(&r), 402);

    assert_eq!(app.count("article_comment").await, 0);
    assert_eq!(comment_count(app, w.article).await, 0);
    assert_eq!(app.count("access_log").await, 0);
    assert_eq!(app.count("relation").await, 0);
}

async fn review_list_edges(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let r = app.get(&at(LIST, w.article), &w.cust, "").await;
    assert_eq!((code(&r), r["msg"].clone()), (302, json!("没有数据")));
    let r = app.get(&at(LIST, 999_999), &w.cust, "").await;
    assert_eq!(code(&r), 302);
    let r = app.get(&format!("{LIST}/abc"), &w.cust, "").await;
    assert_eq!(code(&r), 402);
    // Approved reviews of another company's article stay invisible to its outsiders.
    let r = review(&w, &w.cust, w.article, &[("content", "好")]).await;
    svc::approve_review(&app.st, r["data"]["id"].as_i64().unwrap())
        .await
        .unwrap();
    let other = app.company("别家").await;
    let outsider = app.customer(other, "外客").await;
    assert_eq!(
        code(&app.get(&at(LIST, w.article), &outsider, "").await),
        302
    );
    assert_eq!(code(&app.get(&at(LIST, w.article), &w.cust, "").await), 200);
}

// ---------------------------------------------------------------------------

async fn recommend_lists_the_three_most_read_others(b: Backend) {
    let w = world_with(b, vendor_share).await;
    let app = &w.app;
    sqlx::query("INSERT INTO gongzhonghao_app (company_id, authorization_appid) VALUES ($1, 'wxa77213c591897a13')")
        .bind(w.company)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    let mk = |t: &'static str, status: i64, reads: i64| {
        svc::create_article(&app.st, w.company, t, status, reads)
    };
    let a593 = mk("红蓝大战", 1, 593).await.unwrap();
    let tie_old = mk("并列一", 1, 227).await.unwrap();
    let tie_new = mk("并列二", 1, 227).await.unwrap();
    let _low = mk("测试图片", 1, 32).await.unwrap();
    let _draft = mk("草稿", 2, 9999).await.unwrap();
    let _deleted = mk("已删除", 3, 9999).await.unwrap();
    let other = app.company("别家").await;
    let _foreign = svc::create_article(&app.st, other, "别家的文章", 1, 100_000)
        .await
        .unwrap();
    // The current article has the most reads of all and is still excluded.
    sqlx::query("UPDATE article SET read_count = 100000 WHERE id = $1")
        .bind(w.article)
        .execute(&app.st.db.pool)
        .await
        .unwrap();

    let q = format!("uid={}&company_id={}", w.rep.id, w.company);
    let r = app.get(&at(RECOMMEND, w.article), &w.cust, &q).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "查询成功");
    assert_eq!(
        r["data"]["data_count"], 4,
        "all published candidates, not 3"
    );
    let items = r["data"]["ret_data"].as_array().unwrap();
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["article_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![a593, tie_new, tie_old]);
    assert_eq!(items[0]["title"], "红蓝大战");
    assert_eq!(items[0]["read_count"], 593);
    let created = scalar(app, "SELECT create_date FROM article WHERE id = $1", a593)
        .await
        .unwrap();
    assert_eq!(
        items[0]["create_date"],
        radar::timefmt::plain(app.st.config.tz, created)
    );
    assert_eq!(
        items[0]["article_url"],
        svc::article_url(
            app.st.config.article_share.as_ref().expect("configured"),
            "wxa77213c591897a13",
            a593,
            w.rep.id,
            w.company
        )
    );
    let url = items[0]["article_url"].as_str().unwrap();
    assert!(url.starts_with(
        "http://zhugeleida.zhugeyingxiao.com/zhugeleida/gongzhonghao/work_gongzhonghao_auth/redirect_share_url?share_url=https%3A%2F%2Fopen.weixin.qq.com"
    ));
    assert!(url.contains(&format!(
        "relate%3Darticle_id_{a593}%7Cpid_%7Clevel_1%7Cuid_{}%7Ccompany_id_{}",
        w.rep.id, w.company
    )));
    assert!(url.contains("scope%3Dsnsapi_userinfo"));

    // Reading another article: the current one is now a candidate.
    let r = app.get(&at(RECOMMEND, a593), &w.cust, &q).await;
    assert_eq!(r["data"]["ret_data"][0]["article_id"], w.article);
    assert_eq!(r["data"]["data_count"], 4);
}

/// Without `RADAR_ARTICLE_*` a share link is this deployment's article page;
/// with them, the original's OAuth-wrapped form on their hosts.
async fn share_links_point_at_this_deployment_unless_configured(b: Backend) {
    for configured in [false, true] {
        let w = if configured {
            world_with(b, vendor_share).await
        } else {
            world(b).await
        };
        let app = &w.app;
        let other = svc::create_article(&app.st, w.company, "第二篇", 1, 5)
            .await
            .unwrap();
        let q = format!("uid={}&company_id={}", w.rep.id, w.company);
        let r = app.get(&at(RECOMMEND, w.article), &w.cust, &q).await;
        assert_eq!(code(&r), 200, "{r}");
        let url = r["data"]["ret_data"][0]["article_url"]
            .as_str()
            .expect("article_url")
            .to_owned();
        let page = format!(
            "{}/h5/article/{other}?uid={}&company_id={}",
            app.st.config.public_url, w.rep.id, w.company
        );
        if configured {
            assert!(
                url.starts_with("http://zhugeleida.zhugeyingxiao.com/zhugeleida/gongzhonghao/work_gongzhonghao_auth/redirect_share_url?share_url="),
                "{url}"
            );
            assert!(
                url.contains("component_appid%3Dwx6ba07e6ddcdc69b3"),
                "{url}"
            );
            assert!(!url.contains(&app.st.config.public_url), "{url}");
        } else {
            assert!(app.st.config.article_share.is_none());
            assert_eq!(url, page);
            // The link's path opens the article page on this server.
            let path = &url[app.st.config.public_url.len()..];
            let res = app
                .http
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .expect("page");
            assert_eq!(res.status(), 200, "{path}");
        }
    }
}

async fn recommend_validates_and_scopes_by_company(b: Backend) {
    let w = world_with(b, vendor_share).await;
    let app = &w.app;
    let other = app.company("别家").await;
    let stranger = app.user(other, "外人").await;
    svc::create_article(&app.st, other, "别家的文章", 1, 5)
        .await
        .unwrap();
    let path = at(RECOMMEND, w.article);

    let r = app.get(&path, &w.cust, "").await;
    assert_eq!(code(&r), 402, "{r}");
    assert_eq!(r["msg"], "请求异常");
    assert_eq!(data_field_msg(&r, "uid"), "uidID不能为空");
    assert_eq!(data_field_msg(&r, "company_id"), "公司ID不能为空");
    let r = app
        .get(&path, &w.cust, &format!("uid=x&company_id={}", w.company))
        .await;
    assert_eq!(r["data"]["uid"][0]["code"], "invalid");
    // uid and company_id must agree: no listing of another company's articles.
    let r = app
        .get(
            &path,
            &w.cust,
            &format!("uid={}&company_id={other}", w.rep.id),
        )
        .await;
    assert_eq!(code(&r), 402);
    assert_eq!(data_field_msg(&r, "uid"), "雷达用户不属于该公司");
    let r = app.get(&path, &w.cust, "uid=424242&company_id=1").await;
    assert_eq!(data_field_msg(&r, "uid"), "雷达用户不存在");
    // A customer of this company asking for the other company, with a rep of it.
    let r = app
        .get(
            &path,
            &w.cust,
            &format!("uid={}&company_id={other}", stranger.id),
        )
        .await;
    assert_eq!(code(&r), 402);
    assert_eq!(data_field_msg(&r, "company_id"), "公司ID不正确");
    let r = app
        .get(
            &format!("{RECOMMEND}/abc"),
            &w.cust,
            &format!("uid={}&company_id={}", w.rep.id, w.company),
        )
        .await;
    assert_eq!(code(&r), 402);
    // Only the current article: nothing to recommend. No official-account app is fine.
    let r = app
        .get(
            &path,
            &w.cust,
            &format!("uid={}&company_id={}", w.rep.id, w.company),
        )
        .await;
    assert_eq!((code(&r), r["msg"].clone()), (302, json!("没有数据")));
    let second = svc::create_article(&app.st, w.company, "第二篇", 1, 1)
        .await
        .unwrap();
    let r = app
        .get(
            &path,
            &w.cust,
            &format!("uid={}&company_id={}", w.rep.id, w.company),
        )
        .await;
    assert_eq!(r["data"]["ret_data"][0]["article_id"], second);
    assert!(r["data"]["ret_data"][0]["article_url"]
        .as_str()
        .unwrap()
        .contains("appid%3D%26redirect_uri"));
}

// ---------------------------------------------------------------------------

async fn sign_up(w: &World, cust: &Who, activity: i64, form: &[(&str, &str)]) -> Value {
    w.app
        .post_form(&at(SIGN_UP, activity), cust, "", form)
        .await
}

fn form<'a>(phone: &'a str, uid: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("customer_name", "我是你大爷"),
        ("phone", phone),
        ("leave_message", "不错哦!!!"),
        ("phone_verify_code", "1231"),
        ("address", "北京"),
    ];
    if !uid.is_empty() {
        f.push(("uid", uid));
    }
    f
}

async fn sign_up_stores_and_logs_in_one_go(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let act = signup::create_activity(&app.st, "私域增长线下沙龙", Some(w.article))
        .await
        .unwrap();
    let uid = w.rep.id.to_string();

    let r = sign_up(&w, &w.cust, act, &form(" 13020002341 ", &uid)).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "报名成功");
    let row = sqlx::query("SELECT * FROM report_to_customer")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    assert_eq!(get_i64(&row, "activity_id").unwrap(), act);
    assert_eq!(get_opt_i64(&row, "customer_id").unwrap(), Some(w.cust.id));
    assert_eq!(get_opt_i64(&row, "user_id").unwrap(), Some(w.rep.id));
    assert_eq!(get_str(&row, "customer_name").unwrap(), "我是你大爷");
    assert_eq!(get_str(&row, "phone").unwrap(), "13020002341");
    assert_eq!(get_str(&row, "leave_message").unwrap(), "不错哦!!!");
    assert_eq!(get_str(&row, "address").unwrap(), "北京");
    let l = logs(app).await;
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].action, l[0].user_id, l[0].customer_id, l[0].article_id),
        (17, w.rep.id, w.cust.id, Some(w.article))
    );
    assert_eq!(
        l[0].remark,
        "报名参加了文章《没【留量】比没流量更可怕》的活动,具体详情在后台查看"
    );
    assert_eq!(relation_source(app, &w.rep, &w.cust).await, Some(4));
    assert!(last_activity(app, &w.rep, &w.cust).await.is_some());

    // The same phone again, by anyone, for this activity.
    let r = sign_up(&w, &w.cust, act, &form("13020002341", &uid)).await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(
        r["msg"],
        json!({"phone": [{"message": "手机号已存在", "code": ""}]})
    );
    let again = app.customer(w.company, "李四").await;
    let r = sign_up(&w, &again, act, &form("13020002341", "")).await;
    assert_eq!(field_msg(&r, "phone"), "手机号已存在");
    assert_eq!(app.count("report_to_customer").await, 1);
    assert_eq!(app.count("access_log").await, 1);

    // Another activity takes the same phone. Without a rep nothing is logged.
    let act2 = signup::create_activity(&app.st, "第二场", None)
        .await
        .unwrap();
    let r = sign_up(&w, &again, act2, &form("13020002341", "")).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(
        app.count(&format!(
            "report_to_customer WHERE activity_id = {act2} AND user_id IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(app.count("access_log").await, 1);
}

async fn sign_up_title_comes_from_the_activitys_article(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    w.app.relate(&w.rep, &w.cust).await;
    let uid = w.rep.id.to_string();
    // Embedded only through article.plugin_report_id.
    let act = signup::create_activity(&app.st, "活动标题", None)
        .await
        .unwrap();
    let host = svc::create_article(&app.st, w.company, "承载文章", 1, 0)
        .await
        .unwrap();
    sqlx::query("UPDATE article SET plugin_report_id = $1 WHERE id = $2")
        .bind(act)
        .bind(host)
        .execute(&app.st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        code(&sign_up(&w, &w.cust, act, &form("13900000001", &uid)).await),
        200
    );
    // No article at all: the activity's own title; a related rep is enough.
    let bare = signup::create_activity(&app.st, "独立活动", None)
        .await
        .unwrap();
    assert_eq!(
        code(&sign_up(&w, &w.cust, bare, &form("13900000002", &uid)).await),
        200
    );
    let l = logs(app).await;
    assert_eq!(
        l[0].remark,
        "报名参加了文章《承载文章》的活动,具体详情在后台查看"
    );
    assert_eq!(l[0].article_id, Some(host));
    assert_eq!(
        l[1].remark,
        "报名参加了文章《独立活动》的活动,具体详情在后台查看"
    );
    assert_eq!(l[1].article_id, None);
    // A rep of the company but not related cannot be named for an activity without article.
    let rep2 = app.user(w.company, "李娜").await;
    let r = sign_up(
        &w,
        &w.cust,
        bare,
        &form("13900000003", &rep2.id.to_string()),
    )
    .await;
    assert_eq!(field_msg(&r, "uid"), "雷达用户不属于该文章的公司");
    assert_eq!(app.count("report_to_customer").await, 2);
}

async fn sign_up_rejects_bad_input_and_stores_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let act = signup::create_activity(&app.st, "沙龙", Some(w.article))
        .await
        .unwrap();
    let other = app.company("别家").await;
    let stranger = app.user(other, "外人").await;
    let outsider = app.customer(other, "外客").await;

    let r = sign_up(
        &w,
        &w.cust,
        act,
        &[("customer_name", "  "), ("phone_verify_code", "1")],
    )
    .await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(r["data"], json!({}));
    assert_eq!(
        r["msg"],
        json!({
            "customer_name": [{"message": "客户姓名不能为空", "code": "required"}],
            "phone": [{"message": "客户报名手机号不能为空", "code": "required"}],
            "leave_message": [{"message": "活动留言不能为空", "code": "required"}],
        })
    );
    for bad in ["12345", "23800138000", "1380013800a", "+8613800138000"] {
        let r = sign_up(&w, &w.cust, act, &form(bad, "")).await;
        assert_eq!(r["msg"]["phone"][0]["code"], "invalid", "{bad}: {r}");
    }
    let long = "长".repeat(signup::MAX_LEAVE_MESSAGE_CHARS + 1);
    let r = sign_up(
        &w,
        &w.cust,
        act,
        &[
            ("customer_name", "甲"),
            ("phone", "13800138000"),
            ("leave_message", &long),
        ],
    )
    .await;
    assert_eq!(r["msg"]["leave_message"][0]["code"], "invalid");
    let r = sign_up(&w, &w.cust, 999_999, &form("13800138000", "")).await;
    assert_eq!(
        r["msg"],
        json!({"activity_id": [{"message": "报名活动不存在", "code": ""}]})
    );
    let r = sign_up(&w, &outsider, act, &form("13800138000", "")).await;
    assert_eq!(field_msg(&r, "activity_id"), "报名活动不存在");
    let r = sign_up(
        &w,
        &w.cust,
        act,
        &form("13800138000", &stranger.id.to_string()),
    )
    .await;
    assert_eq!(field_msg(&r, "uid"), "雷达用户不属于该文章的公司");
    let r = sign_up(&w, &w.cust, act, &form("13800138000", "424242")).await;
    assert_eq!(field_msg(&r, "uid"), "雷达用户不存在");
    let r = sign_up(&w, &w.cust, act, &form("13800138000", "abc")).await;
    assert_eq!(r["msg"]["uid"][0]["code"], "invalid");
    let r = app
        .post_form(
            &format!("{SIGN_UP}/abc"),
            &w.cust,
            "",
            &form("13800138000", ""),
        )
        .await;
    assert_eq!(code(&r), 402);

    assert_eq!(app.count("report_to_customer").await, 0);
    assert_eq!(app.count("access_log").await, 0);
    assert_eq!(app.count("relation").await, 0);
}

async fn concurrent_duplicate_sign_ups_store_one(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let act = signup::create_activity(&app.st, "沙龙", Some(w.article))
        .await
        .unwrap();
    let uid = w.rep.id.to_string();
    let f = form("13700000000", &uid);
    let results =
        futures_util::future::join_all((0..8).map(|_| sign_up(&w, &w.cust, act, &f))).await;
    let ok = results.iter().filter(|r| code(r) == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter(|r| code(r) != 200) {
        assert_eq!(code(r), 301, "{r}");
        assert_eq!(field_msg(r, "phone"), "手机号已存在");
    }
    assert_eq!(app.count("report_to_customer").await, 1);
    assert_eq!(app.count("access_log").await, 1);
}

// ---------------------------------------------------------------------------

async fn each_action_moves_the_contact_list(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let k2 = app.customer(w.company, "胡蓉").await;
    let k3 = app.customer(w.company, "Chesnut").await;
    app.relate(&w.rep, &w.cust).await;
    app.relate(&w.rep, &k2).await;
    app.relate(&w.rep, &k3).await;
    let act = signup::create_activity(&app.st, "沙龙", Some(w.article))
        .await
        .unwrap();
    let uid = w.rep.id.to_string();
    let step = || app.st.clock.advance_ms(1000);

    step();
    let log_id = view(&w, &w.cust, w.article, &uid).await["data"]["log_id"]
        .as_i64()
        .unwrap();
    assert_eq!(contact_order(app, &w.rep).await[0], w.cust.id);
    step();
    assert_eq!(
        code(&review(&w, &k2, w.article, &[("content", "好"), ("uid", &uid)]).await),
        200
    );
    assert_eq!(contact_order(app, &w.rep).await[0], k2.id);
    step();
    assert_eq!(
        code(&sign_up(&w, &k3, act, &form("13600000000", &uid)).await),
        200
    );
    assert_eq!(contact_order(app, &w.rep).await[0], k3.id);
    step();
    assert_eq!(code(&staytime(&w, log_id, "90").await), 200);
    assert_eq!(
        contact_order(app, &w.rep).await,
        vec![w.cust.id, k3.id, k2.id]
    );

    // The rep's access log, newest first, holds each action.
    let mut l = logs(app).await;
    l.reverse();
    let seen: Vec<(i64, i64)> = l.iter().map(|l| (l.action, l.customer_id)).collect();
    assert_eq!(seen, vec![(17, k3.id), (25, k2.id), (14, w.cust.id)]);
    assert_eq!(l[2].stay_seconds, 90);
    assert!(l.iter().all(|l| l.user_id == w.rep.id));
}

async fn methods_and_operations(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let bad = Who {
        id: w.cust.id,
        token: "0".repeat(32),
    };
    let send = |m: reqwest::Method, url: String| async move {
        let r = app.http.request(m, url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    use reqwest::Method as M;
    // Methods the route does not serve: authentication first, then 402.
    let r = send(M::PUT, app.url(&at(REVIEW, w.article), &w.cust, "")).await;
    assert_eq!((code(&r), r["msg"].clone()), (402, json!("请求异常")));
    let r = send(M::DELETE, app.url(&at(REVIEW, w.article), &bad, "")).await;
    assert_eq!((code(&r), r["msg"].clone()), (400, json!("token异常")));
    let r = send(M::GET, app.url(&at(SIGN_UP, 1), &w.cust, "")).await;
    assert_eq!(code(&r), 402);
    let r = send(M::GET, app.url(&at(SIGN_UP, 1), &bad, "")).await;
    assert_eq!(code(&r), 400);
    // An operation the method does not serve, or an unknown one: code 0.
    for (m, op) in [
        (M::GET, "review_article"),
        (M::GET, "view_article"),
        (M::POST, "article_review_list"),
        (M::GET, "nope"),
    ] {
        let r = send(
            m,
            app.url(
                &format!("/zhugeleida/gongzhonghao/article/{op}/{}", w.article),
                &w.cust,
                "",
            ),
        )
        .await;
        assert_eq!(
            r,
            json!({"code": 0, "msg": "", "data": {}, "note": {}}),
            "{op}"
        );
    }
    let r = send(
        M::POST,
        app.url("/zhugeleida/gongzhonghao/plugin_report/nope/1", &w.cust, ""),
    )
    .await;
    assert_eq!((code(&r), r["msg"].clone()), (0, json!("")));
    let r = send(M::POST, app.url(&at(REVIEW, w.article), &bad, "")).await;
    assert_eq!(code(&r), 400);
    // Trailing slash tolerated.
    let r = app
        .post_form(
            &format!("{}/", at(REVIEW, w.article)),
            &w.cust,
            "",
            &[("content", "好")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    // A JSON body works like a form.
    let r = app
        .post_json(
            &at(REVIEW, w.article),
            &w.cust,
            "",
            &json!({"content": "JSON 评论", "uid": w.rep.id}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(app.count("article_comment").await, 2);
    let r = app
        .post_form(&at(REVIEW, w.article), &w.cust, "", &[])
        .await;
    assert_eq!(code(&r), 301);
}

async fn demo_data_serves_the_radar(b: Backend) {
    let app = spawn_app(b).await;
    let demo = radar::cli::demo::seed(&app.st).await.unwrap();
    let rep = Who {
        id: demo.reps[0].id,
        token: demo.reps[0].token.clone(),
    };
    let cust = Who {
        id: demo.customers[0].id,
        token: demo.customers[0].token.clone(),
    };
    let article = demo.articles[0].0;
    let r = app.get(&at(LIST, article), &cust, "").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["data_count"], 2);
    let r = app
        .post_form(
            &at(VIEW, article),
            &cust,
            "",
            &[("uid", &rep.id.to_string())],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let r = app
        .post_form(
            &at(SIGN_UP, demo.activity_id.unwrap()),
            &cust,
            "",
            &[
                ("uid", &rep.id.to_string()),
                ("customer_name", "王小明"),
                ("phone", "13912345678"),
                ("leave_message", "报名"),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let q = format!("uid={}&company_id={}", rep.id, demo.company_id);
    let r = app.get(&at(RECOMMEND, article), &cust, &q).await;
    assert_eq!(r["data"]["data_count"], 3);
    // No RADAR_ARTICLE_*: the share link is this deployment's article page.
    let first = r["data"]["ret_data"][0]["article_id"].as_i64().unwrap();
    assert_eq!(
        r["data"]["ret_data"][0]["article_url"],
        format!(
            "{}/h5/article/{first}?uid={}&company_id={}",
            app.st.config.public_url, rep.id, demo.company_id
        )
    );
    assert_eq!(
        app.count(&format!(
            "access_log WHERE user_id = {} AND customer_id = {}",
            rep.id, cust.id
        ))
        .await,
        2
    );
    assert_eq!(contact_order(&app, &rep).await[0], cust.id);
}

// ---------------------------------------------------------------------------

/// Runs the `radar` binary against the test database; (exit ok, stdout JSON or Null, stderr).
async fn radar_cli(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let url = app.db.url.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env("RADAR_LOG", "error")
            .output()
            .expect("run radar");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = stdout.lines().collect();
        let v = match lines.as_slice() {
            [one] => serde_json::from_str(one).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (
            out.status.success(),
            v,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    })
    .await
    .unwrap()
}

async fn cli_manages_articles_activities_and_reviews(b: Backend) {
    let app = spawn_app(b).await;
    let (ok, v, _) = radar_cli(
        &app,
        &["admin", "company", "create", "--name", "命令行公司"],
    )
    .await;
    assert!(ok);
    let company = v["id"].as_i64().unwrap();
    let c = company.to_string();

    let (ok, v, err) = radar_cli(
        &app,
        &[
            "admin",
            "article",
            "create",
            "--company-id",
            &c,
            "--title",
            "命令行文章",
            "--read-count",
            "42",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let article = v["id"].as_i64().unwrap();
    assert_eq!(v, json!({"id": article}));
    assert_eq!(app.count(&format!("article WHERE id = {article} AND status = 1 AND read_count = 42 AND company_id = {company}")).await, 1);
    let (ok, v, _) = radar_cli(
        &app,
        &[
            "admin",
            "article",
            "create",
            "--company-id",
            &c,
            "--title",
            "草稿",
            "--status",
            "2",
        ],
    )
    .await;
    assert!(ok);
    assert_eq!(
        app.count(&format!("article WHERE id = {} AND status = 2", v["id"]))
            .await,
        1
    );

    let a = article.to_string();
    let (ok, v, err) = radar_cli(
        &app,
        &[
            "admin",
            "activity",
            "create",
            "--title",
            "命令行活动",
            "--article-id",
            &a,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let act = v["id"].as_i64().unwrap();
    assert_eq!(
        app.count(&format!(
            "plugin_report WHERE id = {act} AND article_id = {article}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "article WHERE id = {article} AND plugin_report_id = {act}"
        ))
        .await,
        1
    );
    let (ok, _, _) = radar_cli(
        &app,
        &["admin", "activity", "create", "--title", "无文章活动"],
    )
    .await;
    assert!(ok);

    let k = app.customer(company, "读者").await;
    let r = app
        .post_form(&at(REVIEW, article), &k, "", &[("content", "好文")])
        .await;
    let review = r["data"]["id"].as_i64().unwrap();
    let (ok, v, err) = radar_cli(
        &app,
        &["admin", "review", "approve", "--id", &review.to_string()],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(v, json!({"id": review}));
    assert_eq!(
        app.count(&format!(
            "article_comment WHERE id = {review} AND is_audit_pass = 1"
        ))
        .await,
        1
    );

    // Failures: stderr, non-zero exit, nothing stored.
    let before = app.count("article").await;
    for args in [
        vec![
            "admin",
            "article",
            "create",
            "--company-id",
            "999999",
            "--title",
            "x",
        ],
        vec![
            "admin",
            "article",
            "create",
            "--company-id",
            &c,
            "--title",
            "  ",
        ],
        vec![
            "admin",
            "article",
            "create",
            "--company-id",
            &c,
            "--title",
            "x",
            "--status",
            "9",
        ],
        vec![
            "admin",
            "article",
            "create",
            "--company-id",
            &c,
            "--title",
            "x",
            "--read-count",
            "-1",
        ],
        vec![
            "admin",
            "article",
            "create",
            "--company-id",
            "abc",
            "--title",
            "x",
        ],
    ] {
        let (ok, v, err) = radar_cli(&app, &args).await;
        assert!(!ok && v.is_null() && !err.is_empty(), "{args:?}");
    }
    assert_eq!(app.count("article").await, before);
    let (ok, _, err) = radar_cli(
        &app,
        &[
            "admin",
            "activity",
            "create",
            "--title",
            "x",
            "--article-id",
            "999999",
        ],
    )
    .await;
    assert!(!ok && err.contains("文章不存在"), "{err}");
    let (ok, _, err) = radar_cli(&app, &["admin", "review", "approve", "--id", "999999"]).await;
    assert!(!ok && err.contains("评论不存在"), "{err}");
    assert_eq!(app.count("plugin_report").await, 2);
}

both!(
    view_logs_for_the_rep_and_creates_the_relation,
    view_returns_the_article_content_and_its_activity,
    view_of_a_related_rep_of_another_company_is_refused,
    view_rejects_bad_input_and_stores_nothing,
    staytime_is_monotonic_capped_and_beacon_friendly,
    staytime_rejects_bad_input_and_stores_nothing,
    review_round_trip_and_approval,
    review_rejects_bad_input_and_stores_nothing,
    review_list_edges,
    recommend_lists_the_three_most_read_others,
    recommend_validates_and_scopes_by_company,
    share_links_point_at_this_deployment_unless_configured,
    sign_up_stores_and_logs_in_one_go,
    sign_up_title_comes_from_the_activitys_article,
    sign_up_rejects_bad_input_and_stores_nothing,
    concurrent_duplicate_sign_ups_store_one,
    each_action_moves_the_contact_list,
    methods_and_operations,
    demo_data_serves_the_radar,
    cli_manages_articles_activities_and_reviews,
);
