//! The sales CRM (issue 3): contact list, customer profile, deal fields, tags,
//! follow-up notes and the access log, on SQLite and PostgreSQL.

use crate::both;
use crate::common::*;
use app::api::Action;
use chrono::NaiveDate;
use serde_json::{json, Value};

const LIST: &str = "/zhugeleida/qiyeweixin/tongxunlu";
const DETAIL: &str = "/zhugeleida/qiyeweixin/customer";
const TAGS: &str = "/zhugeleida/qiyeweixin/tag_list";
const FOLLOW: &str = "/zhugeleida/qiyeweixin/follow_info";
const LOG: &str = "/zhugeleida/qiyeweixin/action/time";
const NEW_COUNT: &str = "/zhugeleida/qiyeweixin/action/new_count";

/// Form fields of a request.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn op(oper: &str, id: i64) -> String {
    format!("/zhugeleida/qiyeweixin/customer/{oper}/{id}")
}

/// Midnight at the start of a local (Asia/Shanghai) day, as epoch ms.
fn midnight(app: &TestApp, y: i32, m: u32, d: u32) -> i64 {
    radar::timefmt::day_start_ms(app.st.config.tz, NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

async fn exec(app: &TestApp, sql: &str, args: &[i64]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(&app.st.db.pool).await.expect("exec");
}

async fn record(
    app: &TestApp,
    action: Action,
    u: &Who,
    k: &Who,
    article: Option<i64>,
    remark: &str,
    at: i64,
) -> i64 {
    let mut tx = app.st.db.begin_write().await.unwrap();
    let id =
        radar::service::crm::access_log::record(&mut tx, action, u.id, k.id, article, remark, at)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn article(app: &TestApp, company: i64, title: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO article (company_id, title, create_date) VALUES ($1, $2, 0) RETURNING id",
    )
    .bind(company)
    .bind(title)
    .fetch_one(&app.st.db.pool)
    .await
    .unwrap()
}

async fn tag(app: &TestApp, u: &Who, name: &str) -> i64 {
    radar::service::crm::tags::create(&app.st, u.id, name, 1)
        .await
        .unwrap()
}

async fn link(app: &TestApp, tag: i64, k: &Who) {
    exec(
        app,
        "INSERT INTO tag_customer (tag_id, customer_id) VALUES ($1, $2)",
        &[tag, k.id],
    )
    .await;
}

async fn badge(app: &TestApp, who: &Who) -> i64 {
    app.get(NEW_COUNT, who, "").await["data"]["count"]
        .as_i64()
        .unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    v["data"]["ret_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["customer_id"].as_i64().unwrap())
        .collect()
}

fn field_msg<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj[field][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} error in {obj}"))
}

async fn contact_list_items(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let other = app.user(c, "别人").await;
    let k1 = app.customer(c, "张三").await;
    let k2 = app.customer(c, "李四").await;
    let foreign = app.customer(c, "王五").await;
    app.relate(&u, &k1).await;
    app.relate(&u, &k2).await;
    app.relate(&other, &foreign).await;
    exec(
        &app,
        "UPDATE relation SET source = 4, expedted_pr = 60 WHERE customer_id = $1",
        &[k1.id],
    )
    .await;
    exec(
        &app,
        "UPDATE customer SET is_subscribe = 0, user_type = 2 WHERE id = $1",
        &[k2.id],
    )
    .await;

    // The most recent article k1 viewed for this rep is reported.
    let a1 = article(&app, c, "第一篇").await;
    let a2 = article(&app, c, "第二篇").await;
    let now = app.now_ms();
    record(
        &app,
        Action::ViewArticle,
        &u,
        &k1,
        Some(a1),
        "看了",
        now - 2000,
    )
    .await;
    record(
        &app,
        Action::ViewArticle,
        &u,
        &k1,
        Some(a2),
        "看了",
        now - 1000,
    )
    .await;
    record(
        &app,
        Action::PraiseArticle,
        &u,
        &k1,
        Some(a1),
        "点赞",
        now - 500,
    )
    .await;
    record(
        &app,
        Action::ViewArticle,
        &other,
        &foreign,
        Some(a1),
        "看了",
        now,
    )
    .await;
    let uid = u.id.to_string();
    let sent = app
        .post_form(
            "/zhugeleida/gongzhonghao/chat/send_msg/0",
            &k1,
            "",
            &[("u_id", &uid), ("content", &text("在吗"))],
        )
        .await;
    assert_eq!(code(&sent), 200, "{sent}");

    let r = app.get(LIST, &u, "").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "查询成功");
    assert_eq!(r["data"]["data_count"], 2);
    assert_eq!(
        ids(&r),
        vec![k1.id, k2.id],
        "only the rep's own customers, -expedted_pr first"
    );
    let i1 = &r["data"]["ret_data"][0];
    assert_eq!(i1["customer_username"], "张三");
    assert_eq!(i1["headimgurl"], "statics/imgs/Avator.jpg");
    assert_eq!(i1["expedted_pr"], 60);
    assert_eq!(i1["expected_time"], Value::Null);
    assert_eq!(i1["source"], 4);
    assert_eq!(i1["source_text"], "公众号文章");
    assert_eq!(i1["customer_source"], 1);
    assert_eq!(i1["customer_source_text"], "微信公众号");
    assert_eq!(i1["is_subscribe"], 1);
    assert_eq!(i1["is_subscribe_text"], "已经订阅该公众号");
    assert_eq!(i1["article_id"], a2);
    assert_eq!(i1["title"], "第二篇");
    assert_eq!(i1["last_follow_time"], "");
    assert_eq!(i1["follow_status"], "未跟进过");
    assert_eq!(i1["last_activity_time"], "今天");
    assert_eq!(i1["unread_msg_num"], 1);
    assert_eq!(i1["last_msg"], "在吗");
    let i2 = &r["data"]["ret_data"][1];
    assert_eq!(i2["customer_source"], 2);
    assert_eq!(i2["customer_source_text"], "微信小程序");
    assert_eq!(i2["is_subscribe_text"], "取消订阅该公众号");
    assert_eq!(i2["source_text"], "扫码");
    assert_eq!(i2["article_id"], Value::Null);
    assert_eq!(i2["title"], "");
    assert_eq!(i2["last_activity_time"], "");
    assert_eq!(i2["unread_msg_num"], 0);

    // A rep without customers gets 没有数据.
    let lonely = app.user(c, "新人").await;
    let r = app.get(LIST, &lonely, "").await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (302, Some("没有数据")),
        "{r}"
    );
}

async fn contact_list_order_and_nulls(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let mut ks = Vec::new();
    for n in ["a", "b", "c", "d", "e"] {
        let k = app.customer(c, n).await;
        app.relate(&u, &k).await;
        ks.push(k);
    }
    // pr: a 50, b NULL, c 80, d 50, e 0; follow: a t+1, b NULL, c t, d t+2, e NULL.
    let t = app.now_ms() - 10_000;
    for (k, pr) in ks.iter().zip([Some(50), None, Some(80), Some(50), Some(0)]) {
        match pr {
            Some(p) => {
                exec(
                    &app,
                    "UPDATE relation SET expedted_pr = $1 WHERE customer_id = $2",
                    &[p, k.id],
                )
                .await
            }
            None => {
                exec(
                    &app,
                    "UPDATE relation SET expedted_pr = NULL WHERE customer_id = $1",
                    &[k.id],
                )
                .await
            }
        }
    }
    for (i, dt) in [(0, 1), (2, 0), (3, 2)] {
        exec(
            &app,
            "UPDATE relation SET last_follow_time = $1 WHERE customer_id = $2",
            &[t + dt, ks[i].id],
        )
        .await;
    }
    for (i, k) in ks.iter().enumerate() {
        exec(
            &app,
            "UPDATE relation SET create_date = $1 WHERE customer_id = $2",
            &[t + i as i64, k.id],
        )
        .await;
    }
    let id = |i: usize| ks[i].id;

    // Default -expedted_pr: ties (a, d) by newest relation first, NULL last.
    let want_desc = vec![id(2), id(3), id(0), id(4), id(1)];
    assert_eq!(ids(&app.get(LIST, &u, "").await), want_desc);
    assert_eq!(
        ids(&app.get(LIST, &u, "order=-expedted_pr").await),
        want_desc
    );
    for garbage in [
        "order=name",
        "order=-id%3BDROP",
        "order=",
        "order=--expedted_pr",
        "order=customer_id",
    ] {
        assert_eq!(
            ids(&app.get(LIST, &u, garbage).await),
            want_desc,
            "{garbage}"
        );
    }
    // Ascending: NULL first.
    assert_eq!(
        ids(&app.get(LIST, &u, "order=expedted_pr").await),
        vec![id(1), id(4), id(3), id(0), id(2)]
    );
    // Follow time: NULLs (b, e) last when descending, newest relation first among them.
    assert_eq!(
        ids(&app.get(LIST, &u, "order=-last_follow_time").await),
        vec![id(3), id(0), id(2), id(4), id(1)]
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "order=last_follow_time").await),
        vec![id(4), id(1), id(2), id(0), id(3)]
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "order=create_date").await),
        vec![id(0), id(1), id(2), id(3), id(4)]
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "order=-create_date").await),
        vec![id(4), id(3), id(2), id(1), id(0)]
    );
    // Activity: all NULL, so the tie-break alone decides.
    assert_eq!(
        ids(&app.get(LIST, &u, "order=-last_activity_time").await),
        vec![id(4), id(3), id(2), id(1), id(0)]
    );

    // Paging: default length 10; pages do not overlap.
    let p1 = app.get(LIST, &u, "length=2").await;
    let p2 = app.get(LIST, &u, "length=2&current_page=2").await;
    let p3 = app.get(LIST, &u, "length=2&current_page=3").await;
    assert_eq!(p1["data"]["data_count"], 5);
    let all: Vec<i64> = [ids(&p1), ids(&p2), ids(&p3)].concat();
    assert_eq!(all, want_desc);
    let far = app.get(LIST, &u, "length=2&current_page=99").await;
    assert_eq!((code(&far), ids(&far).len()), (200, 0), "{far}");
    for bad in ["current_page=x", "length=1.5", "length=abc&current_page=y"] {
        let r = app.get(LIST, &u, bad).await;
        assert_eq!(
            (code(&r), r["msg"].as_str()),
            (402, Some("请求异常")),
            "{bad}: {r}"
        );
        assert!(
            r["data"].get("current_page").is_some() || r["data"].get("length").is_some(),
            "{r}"
        );
    }
}

async fn contact_list_filters(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let zhang = app.customer(c, "张三 Alice").await;
    let li = app.customer(c, "李四").await;
    let pct = app.customer(c, "100%客户").await;
    for k in [&zhang, &li, &pct] {
        app.relate(&u, k).await;
    }
    exec(
        &app,
        "UPDATE relation SET source = 4 WHERE customer_id = $1",
        &[li.id],
    )
    .await;

    assert_eq!(
        ids(&app.get(LIST, &u, &format!("customer_id={}", li.id)).await),
        vec![li.id]
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "customer_type=1").await),
        vec![li.id]
    );
    let mut t2 = ids(&app.get(LIST, &u, "customer_type=2").await);
    t2.sort();
    assert_eq!(t2, vec![zhang.id, pct.id]);
    assert_eq!(
        ids(&app.get(LIST, &u, "username=%E5%BC%A0").await),
        vec![zhang.id],
        "张"
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "username=alice").await),
        vec![zhang.id],
        "case-insensitive"
    );
    assert_eq!(
        ids(&app.get(LIST, &u, "username=%25").await),
        vec![pct.id],
        "% is literal"
    );
    assert_eq!(
        code(&app.get(LIST, &u, "username=_").await),
        302,
        "_ is literal"
    );
    // The rep's memo name is searchable too.
    let r = app
        .post_form(
            &op("update_information", li.id),
            &u,
            "",
            &[("username", "大客户老李"), ("sex", "1")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(
        ids(&app.get(LIST, &u, "username=%E8%80%81%E6%9D%8E").await),
        vec![li.id],
        "老李"
    );
    assert_eq!(
        app.get(LIST, &u, &format!("customer_id={}", li.id)).await["data"]["ret_data"][0]
            ["memo_name"],
        "大客户老李"
    );

    // Another rep's customer id filters to nothing.
    let other = app.user(c, "别人").await;
    let theirs = app.customer(c, "别人的").await;
    app.relate(&other, &theirs).await;
    assert_eq!(
        code(
            &app.get(LIST, &u, &format!("customer_id={}", theirs.id))
                .await
        ),
        302
    );

    for bad in ["customer_type=x", "customer_type=3", "customer_id=abc"] {
        let r = app.get(LIST, &u, bad).await;
        assert_eq!(code(&r), 402, "{bad}: {r}");
    }
}

async fn relative_days_at_local_midnight(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let quiet = app.customer(1, "安静").await;
    app.relate(&u, &quiet).await;
    let m = midnight(&app, 2030, 3, 10);

    // Followed and active at 23:59 on 03-09 local time.
    app.st.clock.set_now_ms(m - 60_000);
    let r = app
        .post_form(
            &format!("{FOLLOW}/add/{}", k.id),
            &u,
            "",
            &[("follow_info", "电话沟通")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    record(
        &app,
        Action::ViewCard,
        &u,
        &k,
        None,
        "查看了名片",
        m - 60_000,
    )
    .await;

    let texts = |v: &Value| {
        let items = v["data"]["ret_data"].as_array().unwrap().clone();
        let it = items
            .iter()
            .find(|i| i["customer_id"] == k.id)
            .unwrap()
            .clone();
        (
            it["last_follow_time"].as_str().unwrap().to_owned(),
            it["follow_status"].as_str().unwrap().to_owned(),
            it["last_activity_time"].as_str().unwrap().to_owned(),
        )
    };
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());

    app.st.clock.set_now_ms(m - 30_000);
    assert_eq!(
        texts(&app.get(LIST, &u, "").await),
        s("今天", "今天跟进", "今天")
    );
    // Ninety seconds later, but on the next calendar day.
    app.st.clock.set_now_ms(m + 30_000);
    assert_eq!(
        texts(&app.get(LIST, &u, "").await),
        s("昨天", "昨天已跟进", "昨天")
    );
    app.st.clock.set_now_ms(m + 86_400_000 - 60_000);
    assert_eq!(
        texts(&app.get(LIST, &u, "").await),
        s("昨天", "昨天已跟进", "昨天")
    );
    // Two calendar days (barely 24 hours elapsed): 2天前, no off-by-one.
    app.st.clock.set_now_ms(m + 86_400_000 + 30_000);
    assert_eq!(
        texts(&app.get(LIST, &u, "").await),
        s("2天前", "2030-03-09", "2030-03-09")
    );
    app.st.clock.set_now_ms(m + 9 * 86_400_000 + 30_000);
    assert_eq!(
        texts(&app.get(LIST, &u, "").await),
        s("10天前", "2030-03-09", "2030-03-09")
    );

    // Never followed, never active.
    let r = app
        .get(LIST, &u, &format!("customer_id={}", quiet.id))
        .await;
    let it = &r["data"]["ret_data"][0];
    assert_eq!(
        (
            it["last_follow_time"].as_str(),
            it["follow_status"].as_str()
        ),
        (Some(""), Some("未跟进过"))
    );
    assert_eq!(it["last_activity_time"], "");

    // day_interval of the detail counts calendar days since the customer was created.
    let d = app.get(DETAIL, &u, &format!("customer_id={}", k.id)).await;
    assert!(
        d["data"]["ret_data"][0]["day_interval"].as_i64().unwrap() > 0,
        "{d}"
    );
}

async fn customer_detail_and_notes(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let other = app.user(c, "别人").await;
    let k = app.customer(c, "张三").await;
    let boss = app.customer(c, "上级").await;
    app.relate(&u, &k).await;
    app.relate(&other, &k).await;
    exec(
        &app,
        "UPDATE relation SET customer_parent_id = $1 WHERE user_id = $2",
        &[boss.id, u.id],
    )
    .await;
    exec(
        &app,
        "UPDATE customer SET phone = '13900000000' WHERE id = $1",
        &[k.id],
    )
    .await;
    let mine = tag(&app, &u, "重要客户").await;
    let theirs = tag(&app, &other, "他的标签").await;
    link(&app, mine, &k).await;
    link(&app, theirs, &k).await;
    let q = format!("customer_id={}", k.id);

    let r = app.get(DETAIL, &u, &q).await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("查询成功")),
        "{r}"
    );
    assert_eq!(r["data"]["data_count"], 1);
    let d = &r["data"]["ret_data"][0];
    let keys = [
        "id",
        "username",
        "headimgurl",
        "expected_time",
        "expedted_pr",
        "ai_pr",
        "superior",
        "source",
        "memo_name",
        "phone",
        "email",
        "company",
        "position",
        "address",
        "birthday",
        "mem",
        "sex",
        "tag",
        "user_type",
        "day_interval",
    ];
    for key in keys {
        assert!(d.get(key).is_some(), "missing {key} in {d}");
    }
    assert_eq!(d["id"], k.id);
    assert_eq!(d["username"], "张三");
    assert_eq!(d["superior"], "上级");
    assert_eq!(d["source"], "扫码");
    assert_eq!(d["expedted_pr"], 0);
    assert_eq!(d["ai_pr"], 0);
    assert_eq!(
        d["phone"], "13900000000",
        "the customer's phone until the rep saves one"
    );
    assert_eq!(d["memo_name"], "");
    assert_eq!(d["tag"], json!(["重要客户"]), "only this rep's tags");
    assert_eq!(d["day_interval"], 0);
    assert_eq!(d["user_type"], 1);

    // Notes: created by a form, changed by JSON; the saved phone is the one shown.
    let path = op("update_information", k.id);
    let r = app
        .post_form(
            &path,
            &u,
            "",
            &[
                ("username", "张总"),
                ("sex", "1"),
                ("phone", "15931788974"),
                ("email", "1224423@qq.com"),
                ("company", "合众康桥"),
                ("position", "开发"),
                ("address", "通州区"),
                ("mem", "我是一个兵"),
                ("birthday", "2018-06-1"),
            ],
        )
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("添加成功")),
        "{r}"
    );
    let d = app.get(DETAIL, &u, &q).await["data"]["ret_data"][0].clone();
    assert_eq!(d["memo_name"], "张总");
    assert_eq!(d["phone"], "15931788974");
    assert_eq!(d["email"], "1224423@qq.com");
    assert_eq!(d["company"], "合众康桥");
    assert_eq!(d["position"], "开发");
    assert_eq!(d["address"], "通州区");
    assert_eq!(d["mem"], "我是一个兵");
    assert_eq!(d["birthday"], "2018-06-01");
    assert_eq!(d["sex"], 1);
    // The other rep's view is untouched: notes are private.
    let od = app.get(DETAIL, &other, &q).await["data"]["ret_data"][0].clone();
    assert_eq!(
        (od["memo_name"].as_str(), od["phone"].as_str()),
        (Some(""), Some("13900000000"))
    );
    assert_eq!(od["tag"], json!(["他的标签"]));

    let r = app
        .post_json(
            &path,
            &u,
            "",
            &json!({"username": "张三丰", "sex": 2, "mem": "改了"}),
        )
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("修改成功")),
        "{r}"
    );
    let d = app.get(DETAIL, &u, &q).await["data"]["ret_data"][0].clone();
    assert_eq!(d["memo_name"], "张三丰");
    assert_eq!(d["sex"], 2);
    assert_eq!(d["mem"], "改了");
    assert_eq!(d["company"], "", "every field is overwritten");
    assert_eq!(d["birthday"], "");
    assert_eq!(
        d["phone"], "13900000000",
        "no saved phone any more: the customer's own"
    );
    assert_eq!(
        app.count(&format!("information WHERE customer_id = {}", k.id))
            .await,
        1
    );

    // Detail errors.
    let r = app.get(DETAIL, &u, "").await;
    assert_eq!(code(&r), 402, "{r}");
    assert_eq!(field_msg(&r["data"], "customer_id"), "客户ID不能为空");
    let r = app.get(DETAIL, &u, "customer_id=abc").await;
    assert_eq!(code(&r), 402, "{r}");
    let r = app.get(DETAIL, &u, "customer_id=999999").await;
    assert_eq!(code(&r), 402, "{r}");
    assert_eq!(field_msg(&r["data"], "customer_id"), "客户不存在");
    let stranger = app.customer(c, "陌生人").await;
    let r = app
        .get(DETAIL, &u, &format!("customer_id={}", stranger.id))
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (307, Some("用户-客户关系不存在")),
        "{r}"
    );
}

async fn information_rejects_bad_input(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let path = op("update_information", k.id);
    let cases: Vec<(Form, &str, &str)> = vec![
        (vec![("sex", "1")], "username", "备注名不能为空"),
        (
            vec![("username", "  "), ("sex", "1")],
            "username",
            "备注名不能为空",
        ),
        (vec![("username", "x")], "sex", "性别不能为空"),
        (
            vec![("username", "x"), ("sex", "男")],
            "sex",
            "Enter a whole number.",
        ),
        (
            vec![("username", "x"), ("sex", "3")],
            "sex",
            "性别只能是1(男)或2(女)",
        ),
        (
            vec![("username", "x"), ("sex", "1"), ("phone", "12345")],
            "phone",
            "手机号码格式错误",
        ),
        (
            vec![("username", "x"), ("sex", "1"), ("email", "a@b")],
            "email",
            "Enter a valid email address.",
        ),
        (
            vec![("username", "x"), ("sex", "1"), ("birthday", "2019-2-29")],
            "birthday",
            "Enter a valid date.",
        ),
    ];
    for (form, field, message) in cases {
        let r = app.post_form(&path, &u, "", &form).await;
        assert_eq!(code(&r), 303, "{form:?}: {r}");
        assert!(
            r["msg"].is_object(),
            "the error object, never a string: {r}"
        );
        assert_eq!(field_msg(&r["msg"], field), message, "{r}");
    }
    let r = app
        .post_json(
            &path,
            &u,
            "",
            &json!({"username": "x", "sex": 1, "phone": "1380013800"}),
        )
        .await;
    assert_eq!(field_msg(&r["msg"], "phone"), "手机号码格式错误", "{r}");
    // Both missing: both reported, in declaration order.
    let r = app.post_form(&path, &u, "", &[]).await;
    let keys: Vec<&String> = r["msg"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["username", "sex"]);

    let r = app
        .post_form(
            &op("update_information", 999_999),
            &u,
            "",
            &[("username", "x"), ("sex", "1")],
        )
        .await;
    assert_eq!(code(&r), 303, "{r}");
    assert_eq!(field_msg(&r["msg"], "id"), "客户不存在");
    let stranger = app.customer(1, "陌生人").await;
    let r = app
        .post_form(
            &op("update_information", stranger.id),
            &u,
            "",
            &[("username", "x"), ("sex", "1")],
        )
        .await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(app.count("information").await, 0, "nothing stored");
}

async fn deal_fields(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let mut events = app.st.bus.subscribe();
    let cq = format!("customer_id={}", k.id);

    let r = app
        .post_form(
            &op("update_expected_time", k.id),
            &u,
            "",
            &[("expected_time", "2030-6-1")],
        )
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("添加成功")),
        "{r}"
    );
    let ev = events.recv().await.unwrap();
    assert_eq!(
        ev,
        radar::bus::Event::ContactChanged {
            user_id: u.id,
            customer_id: k.id
        }
    );
    let r = app
        .post_json(
            &op("update_expected_pr", k.id),
            &u,
            "",
            &json!({"expedted_pr": "80%"}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let it = app.get(LIST, &u, "").await["data"]["ret_data"][0].clone();
    assert_eq!(it["expected_time"], "2030-06-01");
    assert_eq!(it["expedted_pr"], 80);
    assert_eq!(it["last_follow_time"], "今天");
    assert_eq!(it["follow_status"], "今天跟进");
    let r = app
        .post_json(
            &op("update_expected_pr", k.id),
            &u,
            "",
            &json!({"expedted_pr": 0}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let r = app
        .post_form(
            &op("update_expected_pr", k.id),
            &u,
            "",
            &[("expedted_pr", "100")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let r = app
        .post_json(
            &op("update_expected_time", k.id),
            &u,
            "",
            &json!({"expected_time": "2030/12/31"}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let d = app.get(DETAIL, &u, &cq).await["data"]["ret_data"][0].clone();
    assert_eq!(
        (d["expedted_pr"].as_i64(), d["expected_time"].as_str()),
        (Some(100), Some("2030-12-31"))
    );

    // Each update appended its follow-up record, newest first.
    let notes = app.get(FOLLOW, &u, &cq).await;
    let texts: Vec<&str> = notes["data"]["ret_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["follow_info"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "更新预计成交日期: 2030-12-31",
            "更新预计成交率为: 100",
            "更新预计成交率为: 0",
            "更新预计成交率为: 80",
            "更新预计成交日期: 2030-06-01"
        ]
    );

    // Bad values: 303 with the object, nothing stored.
    let before = app.count("follow_info").await;
    for bad in ["", "abc", "101", "-1", "80.5", "8 0", "80%%"] {
        let r = app
            .post_form(
                &op("update_expected_pr", k.id),
                &u,
                "",
                &[("expedted_pr", bad)],
            )
            .await;
        assert_eq!(code(&r), 303, "{bad}: {r}");
        assert!(r["msg"]["expedted_pr"].is_array(), "{r}");
    }
    let r = app
        .post_json(
            &op("update_expected_pr", k.id),
            &u,
            "",
            &json!({"expedted_pr": 50.5}),
        )
        .await;
    assert_eq!(code(&r), 303, "{r}");
    for bad in ["", "2030-13-01", "2030-2-30", "tomorrow", "30-1-1"] {
        let r = app
            .post_form(
                &op("update_expected_time", k.id),
                &u,
                "",
                &[("expected_time", bad)],
            )
            .await;
        assert_eq!(code(&r), 303, "{bad}: {r}");
        assert!(r["msg"].is_object(), "object, not a JSON string: {r}");
        assert!(r["msg"]["expected_time"].is_array(), "{r}");
    }
    let r = app
        .post_form(&op("update_expected_time", k.id), &u, "", &[])
        .await;
    assert_eq!(r["msg"]["expected_time"][0]["code"], "required", "{r}");
    let r = app
        .post_form(
            &op("update_expected_pr", 999_999),
            &u,
            "",
            &[("expedted_pr", "5")],
        )
        .await;
    assert_eq!(code(&r), 303, "{r}");
    assert_eq!(field_msg(&r["msg"], "customer_id"), "客户不存在");
    assert_eq!(app.count("follow_info").await, before);
    let d = app.get(DETAIL, &u, &cq).await["data"]["ret_data"][0].clone();
    assert_eq!(
        (d["expedted_pr"].as_i64(), d["expected_time"].as_str()),
        (Some(100), Some("2030-12-31"))
    );
}

async fn update_tag_replaces_only_own_tags(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let other = app.user(c, "别人").await;
    let k = app.customer(c, "客户").await;
    app.relate(&u, &k).await;
    app.relate(&other, &k).await;
    let t1 = tag(&app, &u, "一").await;
    let t2 = tag(&app, &u, "二").await;
    let t3 = tag(&app, &u, "三").await;
    let foreign = tag(&app, &other, "别人的").await;
    link(&app, foreign, &k).await;
    link(&app, t1, &k).await;
    let path = op("update_tag", k.id);
    let linked_sql = format!("tag_customer WHERE customer_id = {}", k.id);
    let tag_names = |v: Value| v["data"]["ret_data"][0]["tag"].clone();
    let q = format!("customer_id={}", k.id);

    // Form field with JSON text.
    let list = format!("[{t2},{t3}]");
    let r = app.post_form(&path, &u, "", &[("tag_list", &list)]).await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("添加成功")),
        "{r}"
    );
    assert_eq!(
        tag_names(app.get(DETAIL, &u, &q).await),
        json!(["三", "二"])
    );
    assert_eq!(
        tag_names(app.get(DETAIL, &other, &q).await),
        json!(["别人的"]),
        "other rep's tag untouched"
    );
    // JSON body with an array.
    let r = app
        .post_json(&path, &u, "", &json!({"tag_list": [t1]}))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(tag_names(app.get(DETAIL, &u, &q).await), json!(["一"]));
    // [] clears this rep's tags only.
    let r = app.post_form(&path, &u, "", &[("tag_list", "[]")]).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(tag_names(app.get(DETAIL, &u, &q).await), json!([]));
    assert_eq!(app.count(&linked_sql).await, 1);

    // Unknown or foreign tag: 301, nothing changes.
    let r = app
        .post_json(&path, &u, "", &json!({"tag_list": [t2]}))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    for bad in [format!("[{t1},{foreign}]"), format!("[{t1},999999]")] {
        let r = app.post_form(&path, &u, "", &[("tag_list", &bad)]).await;
        assert_eq!(
            (code(&r), r["msg"].as_str()),
            (301, Some("用户标签不存在")),
            "{bad}: {r}"
        );
    }
    for bad in ["[1,", "{\"a\":1}", "abc", "[1.5]", "[\"x\"]", ""] {
        let r = app.post_form(&path, &u, "", &[("tag_list", bad)]).await;
        assert_eq!(code(&r), 301, "{bad}: {r}");
        assert!(r["msg"]["tag_list"].is_array(), "{bad}: {r}");
    }
    let r = app
        .post_json(&path, &u, "", &json!({"tag_list": {"x": 1}}))
        .await;
    assert!(r["msg"]["tag_list"].is_array(), "{r}");
    assert_eq!(tag_names(app.get(DETAIL, &u, &q).await), json!(["二"]));
    assert_eq!(app.count(&linked_sql).await, 2);

    // Unknown customer, unrelated customer.
    let r = app
        .post_form(&op("update_tag", 999_999), &u, "", &[("tag_list", "[]")])
        .await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(field_msg(&r["msg"], "customer_id"), "客户不存在");
    let stranger = app.customer(c, "陌生人").await;
    link(&app, foreign, &stranger).await;
    let r = app
        .post_form(
            &op("update_tag", stranger.id),
            &u,
            "",
            &[("tag_list", &format!("[{t1}]"))],
        )
        .await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(
        app.count(&format!("tag_customer WHERE customer_id = {}", stranger.id))
            .await,
        1
    );

    // The original's successor route does the same.
    let r = app
        .post_form(
            &format!("{TAGS}/customer_tag/{}", k.id),
            &u,
            "",
            &[("tag_list", &format!("[{t3}]"))],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(tag_names(app.get(DETAIL, &u, &q).await), json!(["三"]));
}

async fn tag_editor(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let other = app.user(c, "别人").await;
    let k = app.customer(c, "客户").await;
    app.relate(&u, &k).await;
    assert_eq!(app.count("tag").await, 0);

    // The first tag creates the global 自定义 group and links the customer.
    let r = app
        .post_json(
            &format!("{TAGS}/add_tag/{}", k.id),
            &u,
            "",
            &json!({"name": "  爱撸串 "}),
        )
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("添加成功")),
        "{r}"
    );
    let t1 = r["data"]["tag_id"].as_i64().unwrap();
    let r = app
        .post_form(
            &format!("{TAGS}/add_tag/0"),
            &u,
            "",
            &[("name", "90后"), ("tag_type", "2")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let t2 = r["data"]["tag_id"].as_i64().unwrap();
    assert_eq!(
        app.count("tag WHERE user_id IS NULL AND name = '自定义'")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!("tag_customer WHERE customer_id = {}", k.id))
            .await,
        1
    );
    // Another rep may use the same name; the same rep may not.
    let r = app
        .post_form(
            &format!("{TAGS}/add_tag/0"),
            &other,
            "",
            &[("name", "爱撸串")],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let theirs = r["data"]["tag_id"].as_i64().unwrap();
    let r = app
        .post_form(&format!("{TAGS}/add_tag/0"), &u, "", &[("name", "爱撸串")])
        .await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(field_msg(&r["msg"], "name"), "标签名已存在");
    for (form, field) in [
        (vec![("name", " ")], "name"),
        (vec![("name", "x"), ("tag_type", "3")], "tag_type"),
        (vec![("name", "x"), ("tag_type", "a")], "tag_type"),
    ] {
        let r = app
            .post_form(&format!("{TAGS}/add_tag/0"), &u, "", &form)
            .await;
        assert_eq!(code(&r), 301, "{form:?}: {r}");
        assert!(r["msg"][field].is_array(), "{r}");
    }
    let long = "标".repeat(33);
    let r = app
        .post_form(&format!("{TAGS}/add_tag/0"), &u, "", &[("name", &long)])
        .await;
    assert_eq!(code(&r), 301, "{r}");
    let stranger = app.customer(c, "陌生人").await;
    let r = app
        .post_form(
            &format!("{TAGS}/add_tag/{}", stranger.id),
            &u,
            "",
            &[("name", "新的")],
        )
        .await;
    assert_eq!(code(&r), 307, "{r}");
    let r = app
        .post_form(
            &format!("{TAGS}/add_tag/999999"),
            &u,
            "",
            &[("name", "新的")],
        )
        .await;
    assert_eq!(code(&r), 301, "{r}");
    assert_eq!(
        app.count(&format!("tag WHERE user_id = {}", u.id)).await,
        2,
        "nothing stored on bad input"
    );

    // The editor's list: groups with this rep's tags, is_select for the customer.
    let r = app.get(TAGS, &u, &format!("customer_id={}", k.id)).await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("请求成功")),
        "{r}"
    );
    assert_eq!(r["data"]["tag_count"], 1);
    let g = &r["data"]["ret_data"][0];
    assert_eq!(g["name"], "自定义");
    assert_eq!(
        g["tags"],
        json!([{"id": t1, "name": "爱撸串", "is_select": true}, {"id": t2, "name": "90后", "is_select": false}])
    );
    let r = app.get(TAGS, &u, "").await;
    assert_eq!(r["data"]["ret_data"][0]["tags"][0]["is_select"], false);
    let r = app.get(TAGS, &u, "tag_type=1").await;
    assert_eq!(
        r["data"]["ret_data"][0]["tags"],
        json!([{"id": t1, "name": "爱撸串", "is_select": false}])
    );
    assert_eq!(
        code(
            &app.get(TAGS, &u, &format!("customer_id={}", stranger.id))
                .await
        ),
        307
    );
    assert_eq!(code(&app.get(TAGS, &u, "customer_id=x").await), 402);

    // Delete: own tags only, links go too; someone else's tag stays.
    let r = app
        .post_form(&format!("{TAGS}/delete_tag/{t1}"), &u, "", &[])
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("删除成功")),
        "{r}"
    );
    assert_eq!(app.count(&format!("tag WHERE id = {t1}")).await, 0);
    assert_eq!(
        app.count(&format!("tag_customer WHERE tag_id = {t1}"))
            .await,
        0
    );
    let r = app
        .post_form(&format!("{TAGS}/delete_tag/{theirs}"), &u, "", &[])
        .await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(app.count(&format!("tag WHERE id = {theirs}")).await, 1);
    // Its name is free again.
    let r = app
        .post_form(&format!("{TAGS}/add_tag/0"), &u, "", &[("name", "爱撸串")])
        .await;
    assert_eq!(code(&r), 200, "{r}");
}

async fn follow_notes(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let add = format!("{FOLLOW}/add/{}", k.id);
    let q = format!("customer_id={}", k.id);

    let r = app.get(FOLLOW, &u, &q).await;
    assert_eq!(
        (code(&r), r["data"]["data_count"].as_i64()),
        (200, Some(0)),
        "{r}"
    );
    let r = app
        .post_form(&add, &u, "", &[("follow_info", "第一次拜访")])
        .await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("添加成功")),
        "{r}"
    );
    let first = r["data"]["id"].as_i64().unwrap();
    let r = app
        .post_json(&add, &u, "", &json!({"follow_info": "第二次拜访"}))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let max = "字".repeat(256);
    assert_eq!(
        code(&app.post_form(&add, &u, "", &[("follow_info", &max)]).await),
        200
    );
    assert_eq!(
        app.get(LIST, &u, "").await["data"]["ret_data"][0]["follow_status"],
        "今天跟进"
    );

    let r = app.get(FOLLOW, &u, &format!("{q}&length=2")).await;
    assert_eq!(r["data"]["data_count"], 3);
    let items = r["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["follow_info"], "第二次拜访");
    let it = &items[1];
    for key in [
        "id",
        "user_customer_flowup__customer__headimgurl",
        "user_customer_flowup__user__avatar",
        "user_customer_flowup__user_id",
        "user_customer_flowup__customer_id",
        "follow_info",
        "create_date",
    ] {
        assert!(it.get(key).is_some(), "missing {key}: {it}");
    }
    assert_eq!(it["user_customer_flowup__user_id"], u.id);
    assert_eq!(
        it["user_customer_flowup__user__avatar"],
        "statics/imgs/setAvator.jpg"
    );
    let r = app
        .get(FOLLOW, &u, &format!("{q}&length=2&current_page=2"))
        .await;
    assert_eq!(r["data"]["ret_data"][0]["id"], first);
    let r = app.get(FOLLOW, &u, &format!("{q}&order=create_date")).await;
    assert_eq!(r["data"]["ret_data"][0]["id"], first);

    // Bad input: nothing stored.
    let too_long = "字".repeat(257);
    for form in [
        vec![],
        vec![("follow_info", "   ")],
        vec![("follow_info", too_long.as_str())],
    ] {
        let r = app.post_form(&add, &u, "", &form).await;
        assert_eq!(code(&r), 301, "{r}");
        assert!(r["msg"]["follow_info"].is_array(), "{r}");
    }
    let r = app
        .post_form(
            &format!("{FOLLOW}/add/999999"),
            &u,
            "",
            &[("follow_info", "x")],
        )
        .await;
    assert_eq!(code(&r), 301, "{r}");
    let stranger = app.customer(1, "陌生人").await;
    let r = app
        .post_form(
            &format!("{FOLLOW}/add/{}", stranger.id),
            &u,
            "",
            &[("follow_info", "x")],
        )
        .await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(
        code(
            &app.get(FOLLOW, &u, &format!("customer_id={}", stranger.id))
                .await
        ),
        307
    );
    assert_eq!(code(&app.get(FOLLOW, &u, "").await), 402);
    assert_eq!(
        code(&app.get(FOLLOW, &u, &format!("{q}&current_page=x")).await),
        402
    );
    assert_eq!(
        code(
            &app.post_form(&format!("{FOLLOW}/remove/{}", k.id), &u, "", &[])
                .await
        ),
        0
    );
    assert_eq!(app.count("follow_info").await, 3);
}

async fn access_log_by_time(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let other = app.user(c, "别人").await;
    let k1 = app.customer(c, "张三").await;
    let k2 = app.customer(c, "李四").await;
    for k in [&k1, &k2] {
        app.relate(&u, k).await;
        app.relate(&other, k).await;
    }
    let a = article(&app, c, "好文章").await;
    let m = midnight(&app, 2030, 3, 10);
    app.st.clock.set_now_ms(m + 2 * 86_400_000);
    let min = 60_000;
    let r1 = record(
        &app,
        Action::ViewArticle,
        &u,
        &k1,
        Some(a),
        "正在查看文章《好文章》",
        m - 30 * min,
    )
    .await;
    let r2 = record(
        &app,
        Action::SignUpActivity,
        &u,
        &k2,
        Some(a),
        "报名参加了活动",
        m + 10 * min,
    )
    .await;
    let r3 = record(
        &app,
        Action::ViewVideo,
        &u,
        &k1,
        None,
        "正在查看视频",
        m + 86_400_000 - 10 * min,
    )
    .await;
    let r4 = record(
        &app,
        Action::ViewDiary,
        &u,
        &k1,
        None,
        "查看了日记",
        m + 86_400_000 + 10 * min,
    )
    .await;
    // Same instant as r4: the larger id comes first.
    let r5 = record(
        &app,
        Action::ViewCard,
        &u,
        &k2,
        None,
        "查看了名片",
        m + 86_400_000 + 10 * min,
    )
    .await;
    record(&app, Action::ViewCard, &other, &k1, None, "查看了名片", m).await;

    assert_eq!(badge(&app, &u).await, 5);

    // Bad filters and paging: 402, nothing marked seen.
    for bad in [
        "action=99",
        "action=abc",
        "create_date__gte=2030-02-30",
        "create_date__lt=x",
        "current_page=x",
        "customer_id=y",
    ] {
        let r = app.get(LOG, &u, bad).await;
        assert_eq!(
            (code(&r), r["msg"].as_str()),
            (402, Some("请求异常")),
            "{bad}: {r}"
        );
    }
    assert_eq!(badge(&app, &u).await, 5);

    let log_ids = |v: &Value| -> Vec<i64> {
        v["data"]["ret_data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    // A filter marks only what it matches.
    let r = app.get(LOG, &u, &format!("customer_id={}", k2.id)).await;
    assert_eq!(
        (code(&r), r["msg"].as_str()),
        (200, Some("查询日志记录成功")),
        "{r}"
    );
    assert_eq!(log_ids(&r), vec![r5, r2]);
    assert_eq!(badge(&app, &u).await, 3);
    assert_eq!(badge(&app, &other).await, 1);

    // Newest first, paged; page 1 marks every page seen.
    let r = app.get(LOG, &u, "length=2").await;
    assert_eq!(r["data"]["data_count"], 5);
    assert_eq!(log_ids(&r), vec![r5, r4]);
    assert_eq!(badge(&app, &u).await, 0);
    assert_eq!(badge(&app, &other).await, 1);

    // Date bounds in the company zone, the end date inclusive.
    let r = app
        .get(
            LOG,
            &u,
            "create_date__gte=2030-03-10&create_date__lt=2030-03-10",
        )
        .await;
    assert_eq!(log_ids(&r), vec![r3, r2]);
    let r = app.get(LOG, &u, "create_date__gte=2030-3-10").await;
    assert_eq!(log_ids(&r), vec![r5, r4, r3, r2]);
    let r = app.get(LOG, &u, "create_date__lt=2030-03-09").await;
    assert_eq!(log_ids(&r), vec![r1]);
    let r = app.get(LOG, &u, "action=24").await;
    assert_eq!(log_ids(&r), vec![r3]);

    // Every documented key.
    let r = app.get(LOG, &u, "length=2&current_page=3").await;
    assert_eq!(log_ids(&r), vec![r1]);
    let it = &r["data"]["ret_data"][0];
    assert_eq!(it["user_id"], u.id);
    assert_eq!(it["customer_id"], k1.id);
    assert_eq!(it["customer_username"], "张三");
    assert_eq!(it["headimgurl"], "statics/imgs/Avator.jpg");
    assert_eq!(it["customer_source"], 1);
    assert_eq!(it["customer_source_text"], "微信公众号");
    assert_eq!(it["log"], "张三正在查看文章《好文章》");
    assert_eq!(it["log_type"], 1);
    assert_eq!(it["action"], 14);
    assert_eq!(it["action_text"], "查看文章");
    assert_eq!(it["article_id"], a);
    assert_eq!(it["stay_seconds"], 0);
    assert_eq!(it["create_date"], "2030-03-09T23:30:00");
    let all = app.get(LOG, &u, "").await;
    let by_id = |id: i64| {
        all["data"]["ret_data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(r3)["log_type"], 2);
    assert_eq!(by_id(r4)["log_type"], 3);
    assert_eq!(by_id(r2)["action_text"], "报名活动");

    // Rows logged after a read stay new.
    record(
        &app,
        Action::ViewCard,
        &u,
        &k1,
        None,
        "又来了",
        m + 2 * 86_400_000,
    )
    .await;
    assert_eq!(badge(&app, &u).await, 1);
    let r = app.get(LOG, &u, "action=17").await;
    assert_eq!(log_ids(&r), vec![r2]);
    assert_eq!(badge(&app, &u).await, 1);
    let r = app.get(LOG, &u, "customer_id=999999").await;
    assert_eq!((code(&r), r["data"]["data_count"].as_i64()), (200, Some(0)));
    assert_eq!(
        code(&app.get("/zhugeleida/qiyeweixin/action/nope", &u, "").await),
        0
    );
}

async fn authorisation_everywhere(b: Backend) {
    let app = spawn_app(b).await;
    let (owner, k) = app.pair().await;
    let intruder = app.user(1, "外人").await;
    let own_tag = tag(&app, &intruder, "外人的").await;
    let id = k.id;
    let q = format!("customer_id={id}");
    let posts: Vec<(String, Value)> = vec![
        (
            op("update_information", id),
            json!({"username": "x", "sex": 1}),
        ),
        (
            op("update_expected_time", id),
            json!({"expected_time": "2030-1-1"}),
        ),
        (op("update_expected_pr", id), json!({"expedted_pr": 5})),
        (op("update_tag", id), json!({"tag_list": [own_tag]})),
        (format!("{TAGS}/customer_tag/{id}"), json!({"tag_list": []})),
        (format!("{TAGS}/add_tag/{id}"), json!({"name": "新标签"})),
        (
            format!("{FOLLOW}/add/{id}"),
            json!({"follow_info": "偷偷跟进"}),
        ),
    ];
    for (path, body) in &posts {
        let r = app.post_json(path, &intruder, "", body).await;
        assert_eq!(
            (code(&r), r["msg"].as_str()),
            (307, Some("用户-客户关系不存在")),
            "{path}: {r}"
        );
    }
    for path in [DETAIL, TAGS, FOLLOW] {
        assert_eq!(code(&app.get(path, &intruder, &q).await), 307, "{path}");
    }
    assert_eq!(code(&app.get(LIST, &intruder, "").await), 302);
    assert_eq!(code(&app.get(LIST, &intruder, &q).await), 302);
    assert_eq!(app.count("information").await, 0);
    assert_eq!(app.count("follow_info").await, 0);
    assert_eq!(app.count("tag_customer").await, 0);
    assert_eq!(
        app.count("tag").await,
        1 + 1,
        "the intruder's tag and the 自定义 group only"
    );
    assert_eq!(
        app.count("relation WHERE last_follow_time IS NOT NULL OR expected_time IS NOT NULL")
            .await,
        0
    );
    let d = app.get(DETAIL, &owner, &q).await["data"]["ret_data"][0].clone();
    assert_eq!(
        (d["expedted_pr"].as_i64(), d["memo_name"].as_str()),
        (Some(0), Some(""))
    );

    // Unsigned requests never get past authentication.
    let url = format!(
        "{}{}?user_id={}&timestamp=1&rand_str=00",
        app.base,
        op("update_expected_pr", id),
        owner.id
    );
    let r: Value = app
        .http
        .post(&url)
        .form(&[("expedted_pr", "5")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 400);
}

async fn paths_and_methods(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    // Non-numeric ids in the path: 402, nothing stored.
    for path in [
        "/zhugeleida/qiyeweixin/customer/update_expected_pr/abc".to_owned(),
        "/zhugeleida/qiyeweixin/customer/update_tag/-1".to_owned(),
        "/zhugeleida/qiyeweixin/customer/update_information/1.5".to_owned(),
        format!("{TAGS}/delete_tag/x"),
        format!("{TAGS}/add_tag/%20"),
        format!("{FOLLOW}/add/1e3"),
    ] {
        let r = app
            .post_form(
                &path,
                &u,
                "",
                &[("expedted_pr", "5"), ("name", "n"), ("follow_info", "x")],
            )
            .await;
        assert_eq!(
            (code(&r), r["msg"].as_str()),
            (402, Some("请求异常")),
            "{path}: {r}"
        );
    }
    assert_eq!(app.count("follow_info").await + app.count("tag").await, 0);
    // Unknown operations: the original's empty envelope.
    let r = app
        .post_form(&op("update_everything", k.id), &u, "", &[])
        .await;
    assert_eq!((code(&r), r["msg"].as_str()), (0, Some("")), "{r}");
    assert_eq!(
        code(
            &app.post_form(&format!("{TAGS}/rename/1"), &u, "", &[])
                .await
        ),
        0
    );

    // Wrong methods: authentication first, then 402.
    let wrong = |method: reqwest::Method, path: &str, signed: bool| {
        let url = if signed {
            app.url(path, &u, "")
        } else {
            format!("{}{}?user_id={}", app.base, path, u.id)
        };
        let req = app.http.request(method, url);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            code(&resp.json::<Value>().await.unwrap())
        }
    };
    let upd = op("update_expected_pr", k.id);
    for path in [LIST, DETAIL, TAGS, FOLLOW, LOG, NEW_COUNT] {
        assert_eq!(
            wrong(reqwest::Method::POST, path, true).await,
            402,
            "{path}"
        );
        assert_eq!(
            wrong(reqwest::Method::POST, path, false).await,
            400,
            "{path}"
        );
    }
    for path in [
        upd.clone(),
        format!("{TAGS}/add_tag/0"),
        format!("{FOLLOW}/add/{}", k.id),
    ] {
        assert_eq!(
            wrong(reqwest::Method::GET, &path, true).await,
            402,
            "{path}"
        );
        assert_eq!(
            wrong(reqwest::Method::DELETE, &path, true).await,
            402,
            "{path}"
        );
        assert_eq!(
            wrong(reqwest::Method::GET, &path, false).await,
            400,
            "{path}"
        );
    }
    // Malformed bodies are envelopes too.
    let url = app.url(&upd, &u, "");
    let r: Value = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 402, "{r}");
    // A trailing slash is tolerated.
    assert_eq!(code(&app.get(&format!("{LIST}/"), &u, "").await), 200);
}

async fn cli_tag_create(b: Backend) {
    let app = spawn_app(b).await;
    let (u, _k) = app.pair().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .output()
            .expect("run radar")
    };
    let uid = u.id.to_string();
    let out = run(&[
        "admin",
        "tag",
        "create",
        "--user-id",
        uid.as_str(),
        "--name",
        "重要客户",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(
        app.count(&format!(
            "tag WHERE id = {id} AND user_id = {} AND tag_type = 1",
            u.id
        ))
        .await,
        1
    );
    let r = app.get(TAGS, &u, "").await;
    assert_eq!(r["data"]["ret_data"][0]["tags"][0]["id"], id);

    for args in [
        vec![
            "admin",
            "tag",
            "create",
            "--user-id",
            uid.as_str(),
            "--name",
            "重要客户",
        ],
        vec![
            "admin",
            "tag",
            "create",
            "--user-id",
            "999999",
            "--name",
            "x",
        ],
        vec![
            "admin",
            "tag",
            "create",
            "--user-id",
            uid.as_str(),
            "--name",
            " ",
        ],
        vec![
            "admin",
            "tag",
            "create",
            "--user-id",
            uid.as_str(),
            "--name",
            "y",
            "--tag-type",
            "7",
        ],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(app.count(&format!("tag WHERE user_id = {}", u.id)).await, 1);
}

both!(
    contact_list_items,
    contact_list_order_and_nulls,
    contact_list_filters,
    relative_days_at_local_midnight,
    customer_detail_and_notes,
    information_rejects_bad_input,
    deal_fields,
    update_tag_replaces_only_own_tags,
    tag_editor,
    follow_notes,
    access_log_by_time,
    authorisation_everywhere,
    paths_and_methods,
    cli_tag_create,
);
