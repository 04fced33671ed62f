//! The radar end to end, through the REST API only: each customer action (an
//! article view, its reading time, a review, a sign-up, a chat message) and each
//! rep follow-up shows up in the rep's access log, the "new activity" badge and
//! the contact list (issue 4 item 8, issue 3's closing note).

use crate::both;
use crate::common::*;
use chrono::NaiveDate;
use radar::service::article as svc;
use serde_json::Value;

const VIEW: &str = "/zhugeleida/gongzhonghao/article/view_article";
const STAY: &str = "/zhugeleida/gongzhonghao/article/staytime";
const REVIEW: &str = "/zhugeleida/gongzhonghao/article/review_article";
const SIGN_UP: &str = "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity";
const CUSTOMER_SEND: &str = "/zhugeleida/gongzhonghao/chat/send_msg/0";
const REP_SEND: &str = "/zhugeleida/qiyeweixin/chat/send_msg/0";
const CONTACTS: &str = "/zhugeleida/qiyeweixin/tongxunlu";
const DETAIL: &str = "/zhugeleida/qiyeweixin/customer";
const LOG: &str = "/zhugeleida/qiyeweixin/action/time";
const NEW_COUNT: &str = "/zhugeleida/qiyeweixin/action/new_count";

const TITLE_A: &str = "没【留量】比没流量更可怕";
const TITLE_B: &str = "销售雷达：谁在读你的文章";

fn at(path: &str, id: i64) -> String {
    format!("{path}/{id}")
}

/// `hh:mm` local (Asia/Shanghai) time on 2030-05-10 shifted by `day` days, as epoch ms.
fn local(app: &TestApp, day: i64, hh: i64, mm: i64) -> i64 {
    let base = NaiveDate::from_ymd_opt(2030, 5, 10).unwrap();
    let d = base + chrono::Duration::days(day);
    radar::timefmt::day_start_ms(app.st.config.tz, d) + (hh * 60 + mm) * 60_000
}

/// A company with a rep, three related customers, two articles and an
/// activity embedded in the first one.
struct World {
    app: TestApp,
    company: i64,
    rep: Who,
    /// The customer who reads, reviews and signs up.
    k: Who,
    /// A customer who chats in between, to push `k` down the list.
    k2: Who,
    k3: Who,
    a: i64,
    b: i64,
    activity: i64,
}

async fn world(b: Backend) -> World {
    let app = spawn_app(b).await;
    let company = app.company("雷达公司").await;
    let rep = app.user(company, "张聪").await;
    let k = app.customer(company, "王小明").await;
    let k2 = app.customer(company, "胡蓉").await;
    let k3 = app.customer(company, "Chesnut").await;
    for c in [&k, &k2, &k3] {
        app.relate(&rep, c).await;
    }
    let a = svc::create_article(&app.st, company, TITLE_A, 1, 10)
        .await
        .unwrap();
    let bid = svc::create_article(&app.st, company, TITLE_B, 1, 3)
        .await
        .unwrap();
    let activity = radar::service::signup::create_activity(&app.st, "私域增长线下沙龙", Some(a))
        .await
        .unwrap();
    World {
        app,
        company,
        rep,
        k,
        k2,
        k3,
        a,
        b: bid,
        activity,
    }
}

impl World {
    fn clock(&self, day: i64, hh: i64, mm: i64) {
        self.app.st.clock.set_now_ms(local(&self.app, day, hh, mm));
    }

    fn uid(&self) -> String {
        self.rep.id.to_string()
    }

    async fn customer_says(&self, who: &Who, msg: &str) {
        let r = self
            .app
            .post_form(
                CUSTOMER_SEND,
                who,
                "",
                &[("u_id", &self.uid()), ("content", &text(msg))],
            )
            .await;
        assert_eq!(code(&r), 200, "{r}");
    }

    async fn rep_says(&self, to: &Who, msg: &str) {
        let r = self
            .app
            .post_form(
                REP_SEND,
                &self.rep,
                "",
                &[("customer_id", &to.id.to_string()), ("content", &text(msg))],
            )
            .await;
        assert_eq!(code(&r), 200, "{r}");
    }

    async fn view(&self, who: &Who, article: i64) -> i64 {
        let r = self
            .app
            .post_form(&at(VIEW, article), who, "", &[("uid", &self.uid())])
            .await;
        assert_eq!(code(&r), 200, "{r}");
        r["data"]["log_id"].as_i64().unwrap()
    }

    /// The rep's contact list in `order`, all on one page.
    async fn contacts(&self, order: &str) -> Vec<Value> {
        let r = self
            .app
            .get(CONTACTS, &self.rep, &format!("order={order}&length=100"))
            .await;
        assert_eq!(code(&r), 200, "{r}");
        let items = r["data"]["ret_data"].as_array().unwrap().clone();
        assert_eq!(r["data"]["data_count"], items.len());
        items
    }

    /// Customer ids by most recent activity.
    async fn by_activity(&self) -> Vec<i64> {
        ids(&self.contacts("-last_activity_time").await)
    }

    async fn badge(&self) -> i64 {
        let r = self.app.get(NEW_COUNT, &self.rep, "").await;
        assert_eq!(code(&r), 200, "{r}");
        r["data"]["count"].as_i64().unwrap()
    }

    /// The rep's access log, newest first (reading it marks it seen).
    async fn log(&self) -> Vec<Value> {
        let r = self.app.get(LOG, &self.rep, "length=100").await;
        assert_eq!(code(&r), 200, "{r}");
        assert_eq!(r["msg"], "查询日志记录成功");
        let items = r["data"]["ret_data"].as_array().unwrap().clone();
        assert_eq!(r["data"]["data_count"], items.len());
        items
    }
}

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i["customer_id"].as_i64().unwrap())
        .collect()
}

fn item<'a>(items: &'a [Value], customer: &Who) -> &'a Value {
    items
        .iter()
        .find(|i| i["customer_id"] == customer.id)
        .unwrap_or_else(|| panic!("customer {} not listed", customer.id))
}

/// The contact-list columns the radar moves.
fn radar_cols(v: &Value) -> (Value, Value, Value, Value) {
    (
        v["last_activity_time"].clone(),
        v["article_id"].clone(),
        v["title"].clone(),
        v["customer_id"].clone(),
    )
}

/// The access-log columns of one row; `create_date` as `YYYY-MM-DDTHH:MM`.
fn log_cols(v: &Value) -> (i64, &str, i64, &str, Option<i64>, i64, &str) {
    (
        v["action"].as_i64().unwrap(),
        v["action_text"].as_str().unwrap(),
        v["customer_id"].as_i64().unwrap(),
        v["log"].as_str().unwrap(),
        v["article_id"].as_i64(),
        v["stay_seconds"].as_i64().unwrap(),
        // The clock keeps running after it is set: compare to the minute.
        v["create_date"].as_str().unwrap().get(..16).unwrap(),
    )
}

// ---------------------------------------------------------------------------

async fn customer_actions_reach_the_rep_one_by_one(b: Backend) {
    let w = world(b).await;
    let (k, k2, k3) = (&w.k, &w.k2, &w.k3);
    let log_a = format!("王小明正在查看文章《{TITLE_A}》,看来对您的文章感兴趣");

    // Earlier days: each customer said something once.
    w.clock(-3, 10, 0);
    w.customer_says(k, "你好").await;
    w.clock(-3, 11, 0);
    w.customer_says(k2, "在吗").await;
    w.clock(-2, 9, 30);
    w.customer_says(k3, "hello").await;

    w.clock(0, 9, 0);
    assert_eq!(w.by_activity().await, vec![k3.id, k2.id, k.id]);
    let before = w.contacts("-last_activity_time").await;
    assert_eq!(
        radar_cols(item(&before, k)),
        ("2030-05-07".into(), Value::Null, "".into(), k.id.into())
    );
    assert_eq!(item(&before, k3)["last_activity_time"], "2030-05-08");
    assert_eq!(w.badge().await, 0);
    assert!(w.log().await.is_empty());

    // 1. The view: a new row, the badge, the top of the list with the article.
    w.clock(0, 9, 1);
    let view_id = w.view(k, w.a).await;
    assert_eq!(w.badge().await, 1);
    let list = w.contacts("-last_activity_time").await;
    assert_eq!(ids(&list), vec![k.id, k3.id, k2.id]);
    assert_eq!(
        radar_cols(&list[0]),
        ("今天".into(), w.a.into(), TITLE_A.into(), k.id.into())
    );
    let log = w.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], view_id);
    assert_eq!(log[0]["user_id"], w.rep.id);
    assert_eq!(log[0]["customer_username"], "王小明");
    assert_eq!(
        log_cols(&log[0]),
        (
            14,
            "查看文章",
            k.id,
            log_a.as_str(),
            Some(w.a),
            0,
            "2030-05-10T09:01"
        )
    );
    assert_eq!(w.badge().await, 0, "reading the log marks it seen");

    // 2. A chat message moves the customer up but logs nothing.
    w.clock(0, 9, 2);
    w.customer_says(k2, "方案收到了").await;
    let list = w.contacts("-last_activity_time").await;
    assert_eq!(ids(&list), vec![k2.id, k.id, k3.id]);
    assert_eq!(
        radar_cols(&list[0]),
        ("今天".into(), Value::Null, "".into(), k2.id.into())
    );
    assert_eq!(w.badge().await, 0);
    assert_eq!(w.log().await.len(), 1);

    // 3. The reading time lands on the view's row and moves the customer up;
    // it is no new row, so the badge stays.
    w.clock(0, 9, 5);
    let r = w
        .app
        .post_form(
            &at(STAY, w.a),
            k,
            "",
            &[
                ("uid", &w.uid()),
                ("log_id", &view_id.to_string()),
                ("seconds", "75"),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["stay_seconds"], 75);
    assert_eq!(w.by_activity().await, vec![k.id, k2.id, k3.id]);
    assert_eq!(w.badge().await, 0);
    let log = w.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], view_id);
    assert_eq!(
        log_cols(&log[0]),
        (
            14,
            "查看文章",
            k.id,
            log_a.as_str(),
            Some(w.a),
            75,
            "2030-05-10T09:01"
        )
    );

    // 4. A review.
    w.clock(0, 9, 6);
    w.customer_says(k2, "好的").await;
    assert_eq!(w.by_activity().await[0], k2.id);
    w.clock(0, 9, 7);
    let r = w
        .app
        .post_form(
            &at(REVIEW, w.a),
            k,
            "",
            &[("content", "  写得真好  "), ("uid", &w.uid())],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(w.badge().await, 1);
    assert_eq!(w.by_activity().await, vec![k.id, k2.id, k3.id]);
    let log = w.log().await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log_cols(&log[0]),
        (
            25,
            "评论文章",
            k.id,
            format!("王小明评论了您的文章《{TITLE_A}》").as_str(),
            Some(w.a),
            0,
            "2030-05-10T09:07"
        )
    );
    assert_eq!(log[1]["id"], view_id);
    assert_eq!(w.badge().await, 0);

    // 5. The sign-up.
    w.clock(0, 9, 8);
    w.customer_says(k2, "周六见").await;
    assert_eq!(w.by_activity().await[0], k2.id);
    w.clock(0, 9, 9);
    let r = w
        .app
        .post_form(
            &at(SIGN_UP, w.activity),
            k,
            "",
            &[
                ("uid", &w.uid()),
                ("customer_name", "王先生"),
                ("phone", "13912345678"),
                ("leave_message", "带一位同事"),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "报名成功");
    assert_eq!(w.badge().await, 1);
    assert_eq!(w.by_activity().await, vec![k.id, k2.id, k3.id]);
    let log = w.log().await;
    assert_eq!(log.len(), 3);
    assert_eq!(
        log_cols(&log[0]),
        (
            17,
            "报名活动",
            k.id,
            // The customer's own name, not the one typed into the form.
            format!("王小明报名参加了文章《{TITLE_A}》的活动,具体详情在后台查看").as_str(),
            Some(w.a),
            0,
            "2030-05-10T09:09"
        )
    );
    assert_eq!(
        log.iter()
            .map(|l| l["action"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![17, 25, 14]
    );
    assert_eq!(w.badge().await, 0);

    // 6. A second article read: the contact list shows the latest one.
    w.clock(0, 9, 10);
    w.view(k, w.b).await;
    let list = w.contacts("-last_activity_time").await;
    assert_eq!(
        radar_cols(&list[0]),
        ("今天".into(), w.b.into(), TITLE_B.into(), k.id.into())
    );
    // One unseen row: this view.
    assert_eq!(w.badge().await, 1);
    let log = w.log().await;
    assert_eq!(log[0]["article_id"], w.b);
    assert_eq!(log.len(), 4);
    assert_eq!(w.badge().await, 0);

    // The next day the same activity reads 昨天 and the order is kept.
    w.clock(1, 8, 0);
    let list = w.contacts("-last_activity_time").await;
    assert_eq!(ids(&list), vec![k.id, k2.id, k3.id]);
    assert_eq!(list[0]["last_activity_time"], "昨天");
    assert_eq!(list[2]["last_activity_time"], "2030-05-08");
}

async fn rep_follow_up_moves_the_follow_columns(b: Backend) {
    let w = world(b).await;
    let (k, k2, k3) = (&w.k, &w.k2, &w.k3);
    let follow = |v: &Value| {
        (
            v["customer_id"].as_i64().unwrap(),
            v["last_follow_time"].as_str().unwrap().to_owned(),
            v["follow_status"].as_str().unwrap().to_owned(),
        )
    };
    // The rep wrote to k3 two days ago and set k2's probability yesterday.
    w.clock(-2, 16, 0);
    w.rep_says(k3, "您好，报价单已发").await;
    w.clock(-1, 16, 0);
    let r = w
        .app
        .post_form(
            &at("/zhugeleida/qiyeweixin/customer/update_expected_pr", k2.id),
            &w.rep,
            "",
            &[("expedted_pr", "60%")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");

    w.clock(0, 10, 0);
    let list = w.contacts("-last_follow_time").await;
    assert_eq!(
        list.iter().map(follow).collect::<Vec<_>>(),
        vec![
            (k2.id, "昨天".into(), "昨天已跟进".into()),
            (k3.id, "2天前".into(), "2030-05-08".into()),
            (k.id, "".into(), "未跟进过".into()),
        ]
    );
    assert_eq!(list[0]["expedted_pr"], 60);

    // Today's deal-field update puts k3 first with 今天跟进.
    w.clock(0, 10, 30);
    let r = w
        .app
        .post_form(
            &at(
                "/zhugeleida/qiyeweixin/customer/update_expected_time",
                k3.id,
            ),
            &w.rep,
            "",
            &[("expected_time", "2030-6-1")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let list = w.contacts("-last_follow_time").await;
    assert_eq!(
        list.iter().map(follow).collect::<Vec<_>>(),
        vec![
            (k3.id, "今天".into(), "今天跟进".into()),
            (k2.id, "昨天".into(), "昨天已跟进".into()),
            (k.id, "".into(), "未跟进过".into()),
        ]
    );
    assert_eq!(list[0]["expected_time"], "2030-06-01");
    // Ascending puts the never-followed first and today's last.
    let asc = w.contacts("last_follow_time").await;
    assert_eq!(ids(&asc), vec![k.id, k2.id, k3.id]);
    // A follow-up is the rep's move, not the customer's: no activity, no log.
    assert_eq!(item(&list, k3)["last_activity_time"], "");
    assert_eq!(w.badge().await, 0);
    assert!(w.log().await.is_empty());
}

async fn first_view_creates_the_relation(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let stranger = app.customer(w.company, "米多面多（永年店）").await;
    w.clock(-1, 12, 0);
    w.customer_says(&w.k, "早").await;

    w.clock(0, 20, 0);
    let only = format!("customer_id={}", stranger.id);
    let r = app.get(CONTACTS, &w.rep, &only).await;
    assert_eq!((code(&r), r["msg"].as_str()), (302, Some("没有数据")));
    let r = app.get(DETAIL, &w.rep, &only).await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(w.contacts("-create_date").await.len(), 3);

    let log_id = w.view(&stranger, w.b).await;
    assert_eq!(w.badge().await, 1);
    let list = w.contacts("-last_activity_time").await;
    assert_eq!(list.len(), 4);
    let top = &list[0];
    assert_eq!(
        radar_cols(top),
        (
            "今天".into(),
            w.b.into(),
            TITLE_B.into(),
            stranger.id.into()
        )
    );
    assert_eq!(top["customer_username"], "米多面多（永年店）");
    assert_eq!(top["source"], 4);
    assert_eq!(top["source_text"], "公众号文章");
    assert_eq!(top["customer_source"], 1);
    assert_eq!(top["customer_source_text"], "微信公众号");
    assert_eq!(top["last_follow_time"], "");
    assert_eq!(top["follow_status"], "未跟进过");
    // The newest relation heads the default creation order too.
    assert_eq!(ids(&w.contacts("-create_date").await)[0], stranger.id);
    // Only the article customers (`customer_type=1`, source 4).
    let r = app.get(CONTACTS, &w.rep, "customer_type=1").await;
    assert_eq!(
        ids(r["data"]["ret_data"].as_array().unwrap()),
        vec![stranger.id]
    );

    let log = w.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], log_id);
    assert_eq!(
        log_cols(&log[0]),
        (
            14,
            "查看文章",
            stranger.id,
            format!("米多面多（永年店）正在查看文章《{TITLE_B}》,看来对您的文章感兴趣").as_str(),
            Some(w.b),
            0,
            "2030-05-10T20:00"
        )
    );
    assert_eq!(w.badge().await, 0);

    // The rep may now open the customer; a second view reuses the relation.
    let r = app.get(DETAIL, &w.rep, &only).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["ret_data"][0]["source"], "公众号文章");
    assert_eq!(r["data"]["ret_data"][0]["source_id"], 4);
    w.clock(0, 20, 5);
    w.view(&stranger, w.a).await;
    assert_eq!(
        app.count(&format!("relation WHERE customer_id = {}", stranger.id))
            .await,
        1
    );
    assert_eq!(
        w.contacts("-last_activity_time").await[0]["article_id"],
        w.a
    );
    // The other rep of the company saw nothing of it.
    let other = app.user(w.company, "李娜").await;
    let r = app.get(NEW_COUNT, &other, "").await;
    assert_eq!(r["data"]["count"], 0);
    let r = app.get(CONTACTS, &other, "").await;
    assert_eq!(code(&r), 302);
}

/// `navigator.sendBeacon(url, formData)` posts `multipart/form-data`.
fn multipart(boundary: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body.into_bytes()
}

async fn beacon_reports_reading_time_as_multipart(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    w.clock(0, 9, 0);
    let log_id = w.view(&w.k, w.a).await;
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let post = |fields: Vec<(&'static str, String)>, ct: String| {
        let url = app.url(&at(STAY, w.a), &w.k, "");
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app
                .http
                .post(url)
                .header("content-type", ct)
                .body(multipart(boundary, &pairs))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let ct = format!("multipart/form-data; boundary={boundary}");
    let fields = |secs: &str| {
        vec![
            ("uid", w.uid()),
            ("log_id", log_id.to_string()),
            ("seconds", secs.to_owned()),
        ]
    };
    let r = post(fields("42"), ct.clone()).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["stay_seconds"], 42);
    assert_eq!(w.log().await[0]["stay_seconds"], 42);
    // Field rules apply as for a form: a negative time is a field error.
    let r = post(fields("-5"), ct.clone()).await;
    assert_eq!(code(&r), 301, "{r}");
    assert!(r["msg"]["seconds"].is_array(), "{r}");
    // A multipart body without its boundary is malformed: 402, nothing stored.
    let r = post(fields("300"), "multipart/form-data".into()).await;
    assert_eq!(code(&r), 402, "{r}");
    assert_eq!(w.log().await[0]["stay_seconds"], 42);
    // A quoted boundary parameter, as some clients send it.
    let r = post(
        fields("50"),
        format!("multipart/form-data; boundary=\"{boundary}\""),
    )
    .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(w.log().await[0]["stay_seconds"], 50);
}

async fn demo_seeds_a_radar_timeline(b: Backend) {
    let app = spawn_app(b).await;
    let demo = radar::cli::demo::seed(&app.st).await.unwrap();
    let who = |p: &radar::cli::demo::Person| Who {
        id: p.id,
        token: p.token.clone(),
    };
    let rep = who(&demo.reps[0]);
    let (rose, zzz) = (&demo.customers[1], &demo.customers[2]);
    let (a0, t0) = demo.articles[0].clone();
    let (a2, t2) = demo.articles[2].clone();

    let r = app.get(NEW_COUNT, &rep, "").await;
    assert_eq!(r["data"]["count"], 5);
    let r = app.get(LOG, &rep, "").await;
    let log = r["data"]["ret_data"].as_array().unwrap();
    let rows: Vec<(i64, i64, Option<i64>, i64)> = log
        .iter()
        .map(|l| {
            (
                l["action"].as_i64().unwrap(),
                l["customer_id"].as_i64().unwrap(),
                l["article_id"].as_i64(),
                l["stay_seconds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (25, zzz.id, Some(a2), 0),
            (14, zzz.id, Some(a2), 40),
            (17, rose.id, Some(a0), 0),
            (25, rose.id, Some(a0), 0),
            (14, rose.id, Some(a0), 95),
        ]
    );
    assert_eq!(
        log[2]["log"],
        format!("胡蓉💗Rose报名参加了文章《{t0}》的活动,具体详情在后台查看")
    );
    let r = app.get(NEW_COUNT, &rep, "").await;
    assert_eq!(r["data"]["count"], 0);

    let list = app.get(CONTACTS, &rep, "length=100").await;
    let list = list["data"]["ret_data"].as_array().unwrap();
    let titles = |c: &radar::cli::demo::Person| {
        let i = item(list, &who(c));
        (i["article_id"].clone(), i["title"].clone())
    };
    assert_eq!(titles(rose), (a0.into(), t0.clone().into()));
    assert_eq!(titles(zzz), (a2.into(), t2.into()));
    assert_eq!(titles(&demo.customers[0]), (Value::Null, "".into()));
    // The chats came after the radar: the customers who wrote are "today".
    assert_eq!(item(list, &who(rose))["last_activity_time"], "今天");

    // 胡蓉's review is approved, _zzz's waits: each sees what it should.
    let reviews = |c: &radar::cli::demo::Person, a: i64| {
        let app = &app;
        let c = who(c);
        async move {
            let r = app
                .get(
                    &at("/zhugeleida/gongzhonghao/article/article_review_list", a),
                    &c,
                    "",
                )
                .await;
            r["data"]["ret_data"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|i| {
                            (
                                i["from_customer_id"].as_i64().unwrap(),
                                i["pending"].as_bool().unwrap(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let chesnut = demo.customers[3].id;
    assert_eq!(
        reviews(&demo.customers[0], a0).await,
        vec![(chesnut, false), (rose.id, false)]
    );
    assert_eq!(reviews(zzz, a2).await, vec![(zzz.id, true)]);
    assert_eq!(reviews(&demo.customers[0], a2).await, vec![]);
    assert_eq!(
        app.count(&format!(
            "report_to_customer WHERE customer_id = {}",
            rose.id
        ))
        .await,
        1
    );

    // A second run finds the company and adds nothing.
    let again = radar::cli::demo::seed(&app.st).await.unwrap();
    assert!(!again.created);
    assert_eq!(app.count("access_log").await, 5);
    assert_eq!(app.count("article_comment").await, 3);
    assert_eq!(app.count("report_to_customer").await, 1);
}

both!(
    customer_actions_reach_the_rep_one_by_one,
    rep_follow_up_moves_the_follow_columns,
    first_view_creates_the_relation,
    beacon_reports_reading_time_as_multipart,
    demo_seeds_a_radar_timeline,
);
