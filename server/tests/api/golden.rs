//! Golden snapshots of the JSON wire: the contract as it was recorded before
//! issue 11 ("shared types end to end") moved the service layer and the UI onto
//! typed wire structs, so that refactor (and any later one) can prove it
//! changed nothing a client sees.
//!
//! One fixed fixture is built at a fixed server clock: a company with its
//! official-account app, two reps, two customers (one related), a global tag
//! group and the rep's own tags, follow-up notes, deal fields and private
//! notes, published and draft articles, an activity with a sign-up, reviews,
//! access-log rows of several actions, and a conversation both ways with a
//! product card and a system tip. Then every REST answer (each `oper` of each
//! route, and the representative error envelopes) and every socket frame kind
//! is recorded under `snapshots/`: HTTP status, content type and body, keys in
//! the order they are sent. SQLite and PostgreSQL compare against the same
//! files, so the snapshots also prove that both engines answer alike.
//!
//! A change to a `.snap` file is a change of the wire contract: it must be
//! additive (a new key, a new snapshot) and reviewed as such. Under `CI=true`
//! insta writes nothing and fails on any difference; to record an intended
//! change, run `INSTA_UPDATE=always cargo test -p server --test api -- golden`
//! and read the diff.
//!
//! Volatile values go through one normaliser (`Norm`): every table gets its own
//! band of ids, so any id, as a number or inside a string, becomes `[table#n]`
//! (or `{table#n}` inside a string), `n` counting that table's rows in id
//! order; clock times become markers that still name their format. Relative
//! day labels (今天, 昨天, N天前) and dates are kept: the clock makes them fixed.

use std::collections::HashMap;
use std::sync::Mutex;

use app::api::Action;
use app::api::Side;
use chrono::NaiveDate;
use futures_util::StreamExt;
use radar::service::{admin, article as svc, signup};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::both;
use crate::common::*;
use crate::wsutil::*;

const CONTACTS: &str = "/zhugeleida/qiyeweixin/tongxunlu";
const CUSTOMER: &str = "/zhugeleida/qiyeweixin/customer";
const TAGS: &str = "/zhugeleida/qiyeweixin/tag_list";
const FOLLOW: &str = "/zhugeleida/qiyeweixin/follow_info";
const ACTION: &str = "/zhugeleida/qiyeweixin/action";
const ARTICLE: &str = "/zhugeleida/gongzhonghao/article";
const SIGN_UP: &str = "/zhugeleida/gongzhonghao/plugin_report/sign_up_activity";
const C_CHAT_OP: &str = "/zhugeleida/gongzhonghao/chat";
const S_CHAT_OP: &str = "/zhugeleida/qiyeweixin/chat";

/// An id that no table holds (outside every band).
const MISSING: i64 = 9_999_999;

/// Tables whose ids reach the wire, with the label their ids get. Table `i`
/// numbers its rows from `(10 + i) * BAND + 1`, so an id alone says its table.
const TABLES: [(&str, &str); 14] = [
    ("company", "company"),
    ("gongzhonghao_app", "app"),
    ("sales_user", "user"),
    ("customer", "customer"),
    ("relation", "relation"),
    ("chat_message", "msg"),
    ("follow_info", "follow"),
    ("information", "info"),
    ("tag", "tag"),
    ("article", "article"),
    ("article_comment", "review"),
    ("plugin_report", "activity"),
    ("report_to_customer", "signup"),
    ("access_log", "log"),
];
const BAND: i64 = 100_000;

fn band_start(i: usize) -> i64 {
    (10 + i as i64) * BAND
}

fn table_of(id: i64) -> Option<(&'static str, &'static str)> {
    if id <= 0 || id % BAND == 0 {
        return None;
    }
    let k = usize::try_from(id / BAND - 10).ok()?;
    TABLES.get(k).copied()
}

/// Moves every table's id sequence to its band (the database is empty).
async fn id_bands(app: &TestApp) {
    for (i, (table, _)) in TABLES.iter().enumerate() {
        let start = band_start(i);
        let sql = match app.db.backend {
            Backend::Sqlite => {
                format!("INSERT INTO sqlite_sequence (name, seq) VALUES ('{table}', {start})")
            }
            Backend::Postgres => format!("SELECT setval('{table}_id_seq', {start})"),
        };
        sqlx::query(&sql)
            .execute(&app.st.db.pool)
            .await
            .expect("id band");
    }
}

/// The normaliser: ids to `table#n`, clock values to format markers.
#[derive(Default)]
struct Norm {
    labels: HashMap<i64, String>,
    counts: HashMap<&'static str, usize>,
}

/// `s` has the shape `pat`: `9` stands for any ASCII digit, anything else for itself.
fn shaped(s: &str, pat: &str) -> bool {
    s.len() == pat.len()
        && s.bytes().zip(pat.bytes()).all(|(c, p)| match p {
            b'9' => c.is_ascii_digit(),
            _ => c == p,
        })
}

fn time_marker(s: &str) -> Option<&'static str> {
    if shaped(s, "9999-99-99T99:99:99.999") || shaped(s, "9999-99-99T99:99:99") {
        Some("[iso time]")
    } else if shaped(s, "9999-99-99 99:99:99") {
        Some("[time]")
    } else if shaped(s, "99:99") {
        Some("[hh:mm]")
    } else {
        None
    }
}

fn is_token(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Norm {
    /// The label of an id, numbering a table's rows in the order first seen.
    fn label(&mut self, id: i64) -> Option<String> {
        if let Some(l) = self.labels.get(&id) {
            return Some(l.clone());
        }
        let (table, short) = table_of(id)?;
        let n = self.counts.entry(table).or_insert(0);
        *n += 1;
        let l = format!("{short}#{n}");
        self.labels.insert(id, l.clone());
        Some(l)
    }

    /// Every row of every table, in id order: the fixture's numbering does not
    /// depend on which snapshot shows a row first.
    async fn register_all(&mut self, app: &TestApp) {
        for (table, _) in TABLES {
            let ids: Vec<i64> = sqlx::query_scalar(&format!("SELECT id FROM {table} ORDER BY id"))
                .fetch_all(&app.st.db.pool)
                .await
                .expect("ids");
            for id in ids {
                self.label(id);
            }
        }
    }

    /// Digit runs of `s` that are ids become `{label}`.
    fn ids_in(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut digits = String::new();
        for c in s.chars().chain(std::iter::once('\0')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                match digits.parse::<i64>().ok().and_then(|id| self.label(id)) {
                    Some(l) => out.push_str(&format!("{{{l}}}")),
                    None => out.push_str(&digits),
                }
                digits.clear();
            }
            if c != '\0' {
                out.push(c);
            }
        }
        out
    }

    fn value(&mut self, v: Value) -> Value {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    if let Some(l) = self.label(i) {
                        return json!(format!("[{l}]"));
                    }
                    if i >= 1_000_000_000_000 {
                        return json!("[epoch ms]");
                    }
                } else if n.as_f64().is_some_and(|f| f >= 1e9) {
                    return json!("[epoch s]");
                }
                Value::Number(n)
            }
            Value::String(s) => {
                if let Some(m) = time_marker(&s) {
                    json!(m)
                } else if is_token(&s) {
                    json!("[token]")
                } else {
                    json!(self.ids_in(&s))
                }
            }
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, x)| (k, self.value(x))).collect())
            }
            other => other,
        }
    }
}

/// `hh:mm` local time (Asia/Shanghai) `day` days from the recording day, 2030-05-10.
fn local(day: i64, hh: i64, mm: i64) -> i64 {
    let d = NaiveDate::from_ymd_opt(2030, 5, 10).expect("date") + chrono::Duration::days(day);
    radar::timefmt::day_start_ms(chrono_tz::Asia::Shanghai, d) + (hh * 60 + mm) * 60_000
}

/// Settings every golden server runs with, whatever the environment says.
fn fixed_config(c: &mut radar::Config) {
    c.tz = chrono_tz::Asia::Shanghai;
    c.auth_max_skew_secs = 900;
    c.public_url = "https://radar.example.com".into();
    c.article_share = Some(radar::config::ArticleShare {
        api_url: "https://api.example.com".into(),
        authorization_url: "https://share.example.com".into(),
        component_appid: "wx_component_appid".into(),
    });
    c.write_burst = 1000;
    c.write_rate = 1000.0;
}

struct Golden {
    app: TestApp,
    norm: Mutex<Norm>,
    /// Answers recorded while the fixture is built, snapshotted once every
    /// fixture row has its label.
    kept: Mutex<Vec<(String, Value)>>,
    /// Every HTTP answer as sent (`method`, `path`, `status`, `body`), checked
    /// against the OpenAPI document at the end.
    wire: Mutex<Vec<Value>>,
}

impl Golden {
    async fn new(app: TestApp) -> Golden {
        id_bands(&app).await;
        Golden {
            app,
            norm: Mutex::new(Norm::default()),
            kept: Mutex::new(Vec::new()),
            wire: Mutex::new(Vec::new()),
        }
    }

    fn clock(&self, day: i64, hh: i64, mm: i64) {
        self.app.st.clock.set_now_ms(local(day, hh, mm));
    }

    fn snap(&self, name: &str, v: Value) {
        let v = self.norm.lock().expect("norm").value(v);
        insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_json_snapshot!(name, v);
        });
    }

    fn keep(&self, name: &str, v: Value) {
        self.kept.lock().expect("kept").push((name.to_owned(), v));
    }

    async fn flush(&self) {
        let mut norm = std::mem::take(&mut *self.norm.lock().expect("norm"));
        norm.register_all(&self.app).await;
        *self.norm.lock().expect("norm") = norm;
        let kept = std::mem::take(&mut *self.kept.lock().expect("kept"));
        for (name, v) in kept {
            self.snap(&name, v);
        }
    }

    /// `path` signed as `who` at the server's clock, with `extra` appended.
    fn url(&self, path: &str, who: &Who, extra: &str) -> String {
        self.app.url(path, who, extra)
    }

    /// Status, content type, `Retry-After` when sent, and the body (JSON if it is).
    async fn answer(&self, req: reqwest::RequestBuilder) -> Value {
        let req = req.build().expect("request");
        let (method, path) = (req.method().to_string(), req.url().path().to_owned());
        let resp = self.app.http.execute(req).await.expect("request");
        let mut out = Map::new();
        out.insert("status".into(), json!(resp.status().as_u16()));
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        out.insert("content_type".into(), json!(header(CONTENT_TYPE)));
        if let Some(r) = header(RETRY_AFTER) {
            out.insert("retry_after".into(), json!(r));
        }
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
        self.wire.lock().expect("wire").push(json!({
            "method": method, "path": path, "status": out["status"], "body": body,
        }));
        out.insert("body".into(), body);
        Value::Object(out)
    }

    async fn get(&self, path: &str, who: &Who, extra: &str) -> Value {
        self.answer(self.app.http.get(self.url(path, who, extra)))
            .await
    }

    async fn post(&self, path: &str, who: &Who, form: &[(&str, &str)]) -> Value {
        self.answer(self.app.http.post(self.url(path, who, "")).form(form))
            .await
    }

    async fn call(&self, method: Method, path: &str, who: &Who) -> Value {
        self.answer(self.app.http.request(method, self.url(path, who, "")))
            .await
    }

    /// A POST the fixture needs to succeed.
    async fn post_ok(&self, path: &str, who: &Who, form: &[(&str, &str)]) -> Value {
        let r = self.post(path, who, form).await;
        assert_eq!(r["body"]["code"], 200, "POST {path}: {r}");
        r
    }

    fn ws_url(&self, path: &str, who: &Who) -> String {
        format!(
            "{}?{}",
            ws_url_unsigned(&self.app.base, path),
            app::sign::signed_query(who.id, &who.token, self.app.now_ms())
        )
    }

    async fn socket(&self, path: &str, who: &Who) -> Ws {
        connect(&self.ws_url(path, who)).await
    }
}

/// The next thing the server does on `ws`: a frame, or its Close (code and reason).
async fn event(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(FRAME_WAIT, ws.s.next())
            .await
            .expect("no frame from the server within the wait");
        match m {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str()).expect("frame is JSON")
            }
            Some(Ok(Message::Close(c))) => {
                return json!({"close": c.map(|c| json!({"code": u16::from(c.code), "reason": c.reason.as_str()}))})
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return json!({"gone": true}),
        }
    }
}

/// Every frame up to and including the connection's end.
async fn until_end(ws: &mut Ws) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = event(ws).await;
        let end = v.get("close").is_some() || v.get("gone").is_some();
        out.push(v);
        if end {
            return out;
        }
    }
}

/// `frame`, then everything the server sent before its reply to `lived`.
async fn exchange(ws: &mut Ws, frame: Value) -> Value {
    ws.send(frame).await;
    json!(ws.lived().await)
}

struct World {
    g: Golden,
    company: i64,
    rep: Who,
    rep2: Who,
    /// Related to `rep`: reads, reviews, signs up and chats.
    k1: Who,
    /// Of the same company, never related to `rep`.
    k2: Who,
    article: i64,
    other_article: i64,
    draft: i64,
    activity: i64,
    view_log: i64,
}

async fn fixture(b: Backend) -> World {
    let g = Golden::new(spawn_with(b, fixed_config).await).await;
    let app = &g.app;
    let st = &app.st;
    let pool = &st.db.pool;

    // Three days before the recording day: accounts, articles, tags, a note.
    g.clock(-3, 9, 0);
    let company = app.company("雷达科技").await;
    sqlx::query(
        "INSERT INTO gongzhonghao_app (company_id, authorization_appid, qrcode_url, name)
         VALUES ($1, 'wx_authorizer_appid', 'https://img.example.com/qrcode.png', '雷达科技服务号')",
    )
    .bind(company)
    .execute(pool)
    .await
    .expect("app");
    let (id, token) = admin::create_user(
        st,
        admin::NewUser {
            company_id: company,
            name: "张聪",
            avatar: Some("https://img.example.com/rep.png"),
            phone: Some("13800138000"),
            wechat: Some("zhangcong_wx"),
        },
    )
    .await
    .expect("rep");
    let rep = Who { id, token };
    let rep2 = app.user(company, "李四").await;
    let (id, token) = admin::create_customer(
        st,
        admin::NewCustomer {
            name: "王小明",
            company_id: company,
            headimgurl: Some("https://img.example.com/k1.png"),
            user_type: 1,
        },
    )
    .await
    .expect("k1");
    let k1 = Who { id, token };
    let (id, token) = admin::create_customer(
        st,
        admin::NewCustomer {
            name: "胡蓉",
            company_id: company,
            headimgurl: None,
            user_type: 2,
        },
    )
    .await
    .expect("k2");
    let k2 = Who { id, token };
    app.relate(&rep, &k1).await;

    let article = svc::create_article(st, company, "没【留量】比没流量更可怕", 1, 10)
        .await
        .expect("article");
    sqlx::query(
        "UPDATE article SET summary = '私域流量的第一课', body = '<p>留量比流量更重要。</p>',
         cover_picture = 'https://img.example.com/cover.png' WHERE id = $1",
    )
    .bind(article)
    .execute(pool)
    .await
    .expect("article head");
    let other_article = svc::create_article(st, company, "销售雷达：谁在读你的文章", 1, 3)
        .await
        .expect("article");
    let draft = svc::create_article(st, company, "草稿：下季度计划", 2, 0)
        .await
        .expect("draft");
    let activity = signup::create_activity(st, "私域增长线下沙龙", Some(article))
        .await
        .expect("activity");
    // A global group (there is no command for one) with one of the rep's tags.
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO tag (user_id, name, tag_parent_id, tag_type, create_date)
         VALUES (NULL, '客户类型', NULL, NULL, $1) RETURNING id",
    )
    .bind(app.now_ms())
    .fetch_one(pool)
    .await
    .expect("group");
    sqlx::query(
        "INSERT INTO tag (user_id, name, tag_parent_id, tag_type, create_date) VALUES ($1, '高意向', $2, 1, $3)",
    )
    .bind(rep.id)
    .bind(group)
    .bind(app.now_ms())
    .execute(pool)
    .await
    .expect("tag");
    let r = g
        .post_ok(
            &format!("{FOLLOW}/add/{}", k1.id),
            &rep,
            &[("follow_info", "初次电话沟通，约了下周见面")],
        )
        .await;
    g.keep("rest__crm__follow_add", r);

    // Two days before: actions of the card and video pages (no endpoint of
    // this server logs them; the original's pages did).
    g.clock(-2, 11, 0);
    for (action, remark) in [
        (Action::ViewVideo, "正在查看您的视频"),
        (Action::ViewDiary, "正在查看您的日记"),
    ] {
        let mut tx = st.db.begin_write().await.expect("tx");
        radar::service::crm::access_log::record(
            &mut tx,
            action,
            rep.id,
            k1.id,
            None,
            remark,
            app.now_ms(),
        )
        .await
        .expect("record");
        tx.commit().await.expect("commit");
    }

    // Yesterday afternoon: a view and the first messages.
    g.clock(-1, 15, 0);
    let uid = rep.id.to_string();
    let r = g
        .post_ok(
            &format!("{ARTICLE}/view_article/{article}"),
            &k1,
            &[("uid", &uid)],
        )
        .await;
    let view_log = r["body"]["data"]["log_id"].as_i64().expect("log id");
    g.keep("rest__article__view", r);
    let r = g
        .post_ok(
            C_SEND,
            &k1,
            &[
                ("u_id", &uid),
                ("content", &text("你好，想了解一下产品")),
                ("client_msg_id", "k1-1"),
            ],
        )
        .await;
    g.keep("rest__chat__customer_send", r);
    let r = g
        .post_ok(
            S_SEND,
            &rep,
            &[
                ("customer_id", &k1.id.to_string()),
                ("content", &text("您好，我是张聪，有什么可以帮您？")),
            ],
        )
        .await;
    g.keep("rest__chat__sales_send", r);

    // The recording day, morning: everything else.
    g.clock(0, 9, 30);
    let r = g
        .post_ok(
            &format!("{ARTICLE}/staytime/{article}"),
            &k1,
            &[
                ("uid", &uid),
                ("log_id", &view_log.to_string()),
                ("seconds", "95"),
            ],
        )
        .await;
    g.keep("rest__article__staytime", r);
    let r = g
        .post_ok(
            &format!("{ARTICLE}/review_article/{article}"),
            &k1,
            &[("content", "写得很好，受益匪浅"), ("uid", &uid)],
        )
        .await;
    g.keep("rest__article__review", r);
    let r = g
        .post_ok(
            &format!("{ARTICLE}/review_article/{article}"),
            &k2,
            &[("content", "很实用的文章")],
        )
        .await;
    let approved = r["body"]["data"]["id"].as_i64().expect("review id");
    svc::approve_review(st, approved).await.expect("approve");
    let r = g
        .post_ok(
            &format!("{SIGN_UP}/{activity}"),
            &k1,
            &[
                ("customer_name", "王小明"),
                ("phone", "13900139000"),
                ("leave_message", "想带同事一起参加"),
                ("address", "上海市浦东新区"),
                ("uid", &uid),
            ],
        )
        .await;
    g.keep("rest__article__sign_up", r);
    let card = json!({"info_type": 2, "product_name": "雷达专业版", "product_price": "1999.00",
        "product_cover_url": "https://img.example.com/product.png"});
    let r = g
        .post_ok(
            C_SEND,
            &k1,
            &[
                ("u_id", &uid),
                ("content", &card.to_string()),
                ("article_id", &article.to_string()),
            ],
        )
        .await;
    g.keep("rest__chat__customer_send_card", r);
    // A system tip (send type 3): rows of the original system carry them; no
    // endpoint writes one.
    sqlx::query(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date)
         VALUES ($1, $2, 3, $3, $4)",
    )
    .bind(rep.id)
    .bind(k1.id)
    .bind(json!({"info_type": 1, "msg": "以上是历史消息"}).to_string())
    .bind(app.now_ms())
    .execute(pool)
    .await
    .expect("system tip");
    let r = g
        .post_ok(
            S_SEND,
            &rep,
            &[
                ("customer_id", &k1.id.to_string()),
                (
                    "content",
                    &json!({"info_type": 4, "url": "https://img.example.com/quote.png"})
                        .to_string(),
                ),
            ],
        )
        .await;
    g.keep("rest__chat__sales_send_image", r);
    let kid = k1.id.to_string();
    let r = g
        .post_ok(
            &format!("{CUSTOMER}/update_expected_pr/{kid}"),
            &rep,
            &[("expedted_pr", "60%")],
        )
        .await;
    g.keep("rest__crm__update_expected_pr", r);
    let r = g
        .post_ok(
            &format!("{CUSTOMER}/update_expected_time/{kid}"),
            &rep,
            &[("expected_time", "2030-06-01")],
        )
        .await;
    g.keep("rest__crm__update_expected_time", r);
    let info = [
        ("username", "小明-采购"),
        ("sex", "1"),
        ("phone", "13900139000"),
        ("email", "xiaoming@example.com"),
        ("company", "明日科技"),
        ("position", "采购经理"),
        ("address", "上海市浦东新区"),
        ("birthday", "1990-01-01"),
        ("mem", "关注价格"),
    ];
    let r = g
        .post_ok(&format!("{CUSTOMER}/update_information/{kid}"), &rep, &info)
        .await;
    g.keep("rest__crm__update_information_created", r);
    let r = g
        .post_ok(&format!("{CUSTOMER}/update_information/{kid}"), &rep, &info)
        .await;
    g.keep("rest__crm__update_information_changed", r);
    let r = g
        .post_ok(
            &format!("{TAGS}/add_tag/{kid}"),
            &rep,
            &[("name", "老客户")],
        )
        .await;
    let old_customer_tag = r["body"]["data"]["tag_id"].as_i64().expect("tag id");
    g.keep("rest__crm__add_tag_linked", r);
    let r = g
        .post_ok(&format!("{TAGS}/add_tag/0"), &rep, &[("name", "待跟进")])
        .await;
    g.keep("rest__crm__add_tag", r);
    let high: i64 = sqlx::query_scalar("SELECT id FROM tag WHERE name = '高意向'")
        .fetch_one(pool)
        .await
        .expect("tag");
    let list = json!([high, old_customer_tag]).to_string();
    let r = g
        .post_ok(
            &format!("{CUSTOMER}/update_tag/{kid}"),
            &rep,
            &[("tag_list", &list)],
        )
        .await;
    g.keep("rest__crm__update_tag", r);
    let r = g
        .post_ok(
            &format!("{TAGS}/customer_tag/{kid}"),
            &rep,
            &[("tag_list", &list)],
        )
        .await;
    g.keep("rest__crm__customer_tag", r);
    let r = g
        .post_ok(
            &format!("{FOLLOW}/add/{kid}"),
            &rep,
            &[("follow_info", "已发送报价单")],
        )
        .await;
    g.keep("rest__crm__follow_add_today", r);
    // The rep reads the conversation so far; the customer writes once more.
    let r = g.get(S_HIST, &rep, &format!("customer_id={kid}")).await;
    g.keep("rest__chat__sales_history", r);
    let r = g
        .post_ok(
            C_SEND,
            &k1,
            &[("u_id", &uid), ("content", &text("好的，我看看报价"))],
        )
        .await;
    g.keep("rest__chat__customer_send_later", r);

    g.clock(0, 10, 0);
    g.flush().await;
    World {
        g,
        company,
        rep,
        rep2,
        k1,
        k2,
        article,
        other_article,
        draft,
        activity,
        view_log,
    }
}

/// A labelled set of answers, one snapshot for several cases of one kind.
struct Cases(Map<String, Value>);

impl Cases {
    fn new() -> Cases {
        Cases(Map::new())
    }
    fn add(&mut self, case: &str, v: Value) {
        self.0.insert(case.to_owned(), v);
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// The id of the `n`-th newest message (1 = the newest).
async fn newest_msg(g: &Golden, n: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM chat_message ORDER BY id DESC LIMIT 1 OFFSET $1")
        .bind(n - 1)
        .fetch_one(&g.app.st.db.pool)
        .await
        .expect("message id")
}

async fn rest_reads(w: &World) {
    let g = &w.g;
    let (rep, k1) = (&w.rep, &w.k1);
    let u = format!("u_id={}", rep.id);
    let c = format!("customer_id={}", k1.id);

    g.snap(
        "rest__healthz",
        g.answer(g.app.http.get(format!("{}/healthz", g.app.base)))
            .await,
    );

    // Chat, customer side.
    g.snap("rest__chat__customer_query_num", g.get(C_NUM, k1, &u).await);
    g.snap("rest__chat__customer_getmsg", g.get(C_GET, k1, &u).await);
    g.snap(
        "rest__chat__customer_getmsg_empty",
        g.get(C_GET, k1, &u).await,
    );
    g.snap("rest__chat__customer_history", g.get(C_HIST, k1, &u).await);
    g.snap(
        "rest__chat__customer_history_page",
        g.get(C_HIST, k1, &format!("{u}&current_page=2&length=2"))
            .await,
    );
    let last = newest_msg(g, 1).await;
    g.snap(
        "rest__chat__customer_history_after",
        g.get(
            C_HIST,
            k1,
            &format!("{u}&after_id={}", newest_msg(g, 2).await),
        )
        .await,
    );
    let r = g
        .post(
            C_SEND,
            k1,
            &[
                ("u_id", &rep.id.to_string()),
                ("content", &text("你好，想了解一下产品")),
                ("client_msg_id", "k1-1"),
            ],
        )
        .await;
    g.snap("rest__chat__customer_send_duplicate", r);

    // Chat, rep side.
    g.snap(
        "rest__chat__sales_badge",
        g.get(S_BADGE_REST, rep, "").await,
    );
    g.snap(
        "rest__chat__sales_contacts",
        g.get(S_CONTACT, rep, "").await,
    );
    g.snap("rest__chat__sales_getmsg", g.get(S_GET, rep, &c).await);
    g.snap(
        "rest__chat__sales_getmsg_empty",
        g.get(S_GET, rep, &c).await,
    );
    g.snap(
        "rest__chat__sales_history_empty",
        g.get(S_HIST, rep, &format!("{c}&after_id={last}")).await,
    );

    // CRM.
    g.snap("rest__crm__contacts", g.get(CONTACTS, rep, "").await);
    g.snap(
        "rest__crm__contacts_filtered",
        g.get(
            CONTACTS,
            rep,
            "username=%E5%B0%8F%E6%98%8E&order=-last_activity_time&customer__source=1",
        )
        .await,
    );
    g.snap("rest__crm__customer", g.get(CUSTOMER, rep, &c).await);
    g.snap("rest__crm__tag_list", g.get(TAGS, rep, "").await);
    g.snap(
        "rest__crm__tag_list_customer",
        g.get(TAGS, rep, &format!("{c}&tag_type=1")).await,
    );
    g.snap("rest__crm__follow_list", g.get(FOLLOW, rep, &c).await);
    g.snap(
        "rest__crm__follow_list_ascending",
        g.get(FOLLOW, rep, &format!("{c}&order=create_date&length=1"))
            .await,
    );
    g.snap(
        "rest__crm__new_count",
        g.get(&format!("{ACTION}/new_count"), rep, "").await,
    );
    g.snap(
        "rest__crm__access_log_filtered",
        g.get(
            &format!("{ACTION}/time"),
            rep,
            &format!("{c}&action=14&create_date__gte=2030-05-09&create_date__lt=2030-05-10"),
        )
        .await,
    );
    g.snap(
        "rest__crm__access_log",
        g.get(&format!("{ACTION}/time"), rep, "length=20").await,
    );
    g.snap(
        "rest__crm__new_count_after_reading",
        g.get(&format!("{ACTION}/new_count"), rep, "").await,
    );
    let waiting: i64 = sqlx::query_scalar("SELECT id FROM tag WHERE name = '待跟进'")
        .fetch_one(&g.app.st.db.pool)
        .await
        .expect("tag");
    g.snap(
        "rest__crm__delete_tag",
        g.post(&format!("{TAGS}/delete_tag/{waiting}"), rep, &[])
            .await,
    );

    // Articles.
    g.snap(
        "rest__article__review_list",
        g.get(
            &format!("{ARTICLE}/article_review_list/{}", w.article),
            k1,
            "",
        )
        .await,
    );
    g.snap(
        "rest__article__recommend",
        g.get(
            &format!("{ARTICLE}/recommend_article_list/{}", w.article),
            k1,
            &format!("uid={}&company_id={}", rep.id, w.company),
        )
        .await,
    );
    g.snap(
        "rest__article__view_without_uid",
        g.post(
            &format!("{ARTICLE}/view_article/{}", w.other_article),
            &w.k2,
            &[],
        )
        .await,
    );
}

async fn rest_errors(w: &World) {
    let g = &w.g;
    let (rep, k1, k2) = (&w.rep, &w.k1, &w.k2);
    let uid = rep.id.to_string();
    let kid = k1.id.to_string();

    let mut auth = Cases::new();
    let signed = g.url(CONTACTS, rep, "");
    let forged = signed.replacen("rand_str=", "rand_str=0", 1);
    auth.add(
        "bad signature (400 token异常)",
        g.answer(g.app.http.get(&forged)).await,
    );
    let stale = app::sign::signed_query(rep.id, &rep.token, g.app.now_ms() - 3_600_000);
    auth.add(
        "stale timestamp",
        g.answer(g.app.http.get(format!("{}{CONTACTS}?{stale}", g.app.base)))
            .await,
    );
    auth.add(
        "no credentials",
        g.answer(g.app.http.get(format!("{}{CONTACTS}", g.app.base)))
            .await,
    );
    auth.add(
        "customer credentials on a rep path",
        g.get(CONTACTS, k1, "").await,
    );
    auth.add(
        "wrong method, bad signature (authentication first)",
        g.answer(g.app.http.delete(&forged)).await,
    );
    g.snap("rest__errors__auth", auth.done());

    let mut routing = Cases::new();
    routing.add(
        "unknown path (404)",
        g.get("/zhugeleida/qiyeweixin/nothing_here", rep, "").await,
    );
    routing.add(
        "wrong method on a GET route (402)",
        g.call(Method::DELETE, CONTACTS, rep).await,
    );
    routing.add(
        "GET on a POST route (402)",
        g.call(Method::GET, &format!("{CUSTOMER}/update_tag/{kid}"), rep)
            .await,
    );
    routing.add(
        "PUT on the article route (402)",
        g.call(Method::PUT, &format!("{ARTICLE}/view_article/1"), k1)
            .await,
    );
    routing.add(
        "unknown customer operation (code 0)",
        g.post(&format!("{CUSTOMER}/nothing/{kid}"), rep, &[]).await,
    );
    routing.add(
        "unknown tag operation (code 0)",
        g.post(&format!("{TAGS}/nothing/{kid}"), rep, &[]).await,
    );
    routing.add(
        "unknown follow operation (code 0)",
        g.post(&format!("{FOLLOW}/nothing/{kid}"), rep, &[]).await,
    );
    routing.add(
        "unknown action operation (code 0)",
        g.get(&format!("{ACTION}/nothing"), rep, "").await,
    );
    routing.add(
        "unknown contact operation (302 请求异常)",
        g.get(&format!("{S_CONTACT}/nothing"), rep, "").await,
    );
    routing.add(
        "customer chat, unknown POST operation (code 0)",
        g.post(&format!("{C_CHAT_OP}/nothing/0"), k1, &[]).await,
    );
    routing.add(
        "customer chat, unknown GET operation (402)",
        g.get(&format!("{C_CHAT_OP}/nothing/0"), k1, "").await,
    );
    routing.add(
        "rep chat, unknown POST operation (code 0)",
        g.post(&format!("{S_CHAT_OP}/nothing/0"), rep, &[]).await,
    );
    routing.add("rep chat, GET send_msg (402)", g.get(S_SEND, rep, "").await);
    routing.add(
        "article, GET on a POST operation (code 0)",
        g.get(&format!("{ARTICLE}/view_article/{}", w.article), k1, "")
            .await,
    );
    routing.add(
        "plugin report, unknown operation (code 0)",
        g.post("/zhugeleida/gongzhonghao/plugin_report/nothing/1", k1, &[])
            .await,
    );
    routing.add(
        "operation id not a number (402)",
        g.post(&format!("{FOLLOW}/add/abc"), rep, &[]).await,
    );
    routing.add(
        "plain GET on a socket path (402)",
        g.get(S_BADGE, rep, "").await,
    );
    g.snap("rest__errors__routing", routing.done());

    let mut chat = Cases::new();
    chat.add(
        "send without content (402 in data)",
        g.post(C_SEND, k1, &[("u_id", &uid)]).await,
    );
    chat.add(
        "send with content that is not JSON",
        g.post(C_SEND, k1, &[("u_id", &uid), ("content", "hello")])
            .await,
    );
    chat.add(
        "send without u_id",
        g.post(C_SEND, k1, &[("content", &text("x"))]).await,
    );
    chat.add(
        "send to an unknown rep",
        g.post(
            C_SEND,
            k1,
            &[("u_id", &MISSING.to_string()), ("content", &text("x"))],
        )
        .await,
    );
    chat.add(
        "send without relation (307)",
        g.post(C_SEND, k2, &[("u_id", &uid), ("content", &text("x"))])
            .await,
    );
    chat.add("customer getmsg without u_id", g.get(C_GET, k1, "").await);
    chat.add(
        "customer query_num without u_id (302 in data)",
        g.get(C_NUM, k1, "").await,
    );
    chat.add(
        "customer history with bad paging",
        g.get(C_HIST, k1, &format!("u_id={uid}&current_page=abc"))
            .await,
    );
    chat.add(
        "rep send with another user_id",
        g.post(
            S_SEND,
            rep,
            &[
                ("customer_id", &kid),
                ("user_id", &w.rep2.id.to_string()),
                ("content", &text("x")),
            ],
        )
        .await,
    );
    chat.add(
        "rep send to an unknown customer",
        g.post(
            S_SEND,
            rep,
            &[
                ("customer_id", &MISSING.to_string()),
                ("content", &text("x")),
            ],
        )
        .await,
    );
    chat.add(
        "rep history without customer_id (301 in msg)",
        g.get(S_HIST, rep, "").await,
    );
    chat.add(
        "rep history without relation (307)",
        g.get(S_HIST, rep, &format!("customer_id={}", k2.id)).await,
    );
    chat.add(
        "rep getmsg without relation (307)",
        g.get(S_GET, rep, &format!("customer_id={}", k2.id)).await,
    );
    chat.add(
        "contacts with bad paging (402 in data)",
        g.get(S_CONTACT, rep, "length=abc").await,
    );
    g.snap("rest__errors__chat", chat.done());

    let mut crm = Cases::new();
    crm.add(
        "contact list with bad paging (402 in data)",
        g.get(CONTACTS, rep, "current_page=abc").await,
    );
    crm.add(
        "contact list without match (302 没有数据)",
        g.get(CONTACTS, rep, "username=nobody").await,
    );
    crm.add(
        "customer without customer_id",
        g.get(CUSTOMER, rep, "").await,
    );
    crm.add(
        "customer without relation (307)",
        g.get(CUSTOMER, rep, &format!("customer_id={}", k2.id))
            .await,
    );
    crm.add(
        "unknown customer",
        g.get(CUSTOMER, rep, &format!("customer_id={MISSING}"))
            .await,
    );
    crm.add(
        "information with bad fields (303 in msg)",
        g.post(
            &format!("{CUSTOMER}/update_information/{kid}"),
            rep,
            &[("username", ""), ("sex", "5"), ("email", "not-mail")],
        )
        .await,
    );
    crm.add(
        "information without relation (307)",
        g.post(
            &format!("{CUSTOMER}/update_information/{}", k2.id),
            rep,
            &[("username", "x"), ("sex", "1")],
        )
        .await,
    );
    crm.add(
        "expected probability out of range (303 in msg)",
        g.post(
            &format!("{CUSTOMER}/update_expected_pr/{kid}"),
            rep,
            &[("expedted_pr", "150")],
        )
        .await,
    );
    crm.add(
        "expected time not a date (303 in msg)",
        g.post(
            &format!("{CUSTOMER}/update_expected_time/{kid}"),
            rep,
            &[("expected_time", "2030-02-30")],
        )
        .await,
    );
    crm.add(
        "tag list not a JSON array (301 in msg)",
        g.post(
            &format!("{CUSTOMER}/update_tag/{kid}"),
            rep,
            &[("tag_list", "high")],
        )
        .await,
    );
    crm.add(
        "tag list with someone else's tag",
        g.post(
            &format!("{TAGS}/customer_tag/{kid}"),
            rep,
            &[("tag_list", &format!("[{MISSING}]"))],
        )
        .await,
    );
    crm.add(
        "add a tag name already used (301 in msg)",
        g.post(&format!("{TAGS}/add_tag/0"), rep, &[("name", "老客户")])
            .await,
    );
    crm.add(
        "add a tag without name",
        g.post(&format!("{TAGS}/add_tag/0"), rep, &[]).await,
    );
    crm.add(
        "tag list of an unrelated customer (307)",
        g.get(TAGS, rep, &format!("customer_id={}", k2.id)).await,
    );
    crm.add(
        "tag list with bad tag_type",
        g.get(TAGS, rep, "tag_type=x").await,
    );
    crm.add(
        "follow note without text (301 in msg)",
        g.post(&format!("{FOLLOW}/add/{kid}"), rep, &[]).await,
    );
    crm.add(
        "follow notes without customer_id",
        g.get(FOLLOW, rep, "").await,
    );
    crm.add(
        "access log with unknown action and bad date",
        g.get(
            &format!("{ACTION}/time"),
            rep,
            "action=99&create_date__gte=yesterday",
        )
        .await,
    );
    g.snap("rest__errors__crm", crm.done());

    let mut article = Cases::new();
    article.add(
        "view of a missing article (301 in msg)",
        g.post(&format!("{ARTICLE}/view_article/{MISSING}"), k1, &[])
            .await,
    );
    article.add(
        "view of a draft",
        g.post(&format!("{ARTICLE}/view_article/{}", w.draft), k1, &[])
            .await,
    );
    article.add(
        "view shared by an unknown rep",
        g.post(
            &format!("{ARTICLE}/view_article/{}", w.article),
            k1,
            &[("uid", &MISSING.to_string())],
        )
        .await,
    );
    article.add(
        "staytime with bad fields",
        g.post(
            &format!("{ARTICLE}/staytime/{}", w.article),
            k1,
            &[("uid", &uid), ("seconds", "-3")],
        )
        .await,
    );
    article.add(
        "staytime of another customer's log",
        g.post(
            &format!("{ARTICLE}/staytime/{}", w.article),
            k2,
            &[
                ("uid", &uid),
                ("log_id", &w.view_log.to_string()),
                ("seconds", "5"),
            ],
        )
        .await,
    );
    article.add(
        "review without content",
        g.post(&format!("{ARTICLE}/review_article/{}", w.article), k1, &[])
            .await,
    );
    article.add(
        "review list without reviews (302 没有数据)",
        g.get(
            &format!("{ARTICLE}/article_review_list/{}", w.other_article),
            k1,
            "",
        )
        .await,
    );
    article.add(
        "recommendations without uid and company_id (402 in data)",
        g.get(
            &format!("{ARTICLE}/recommend_article_list/{}", w.article),
            k1,
            "",
        )
        .await,
    );
    article.add(
        "recommendations with another company_id",
        g.get(
            &format!("{ARTICLE}/recommend_article_list/{}", w.article),
            k1,
            &format!("uid={uid}&company_id={MISSING}"),
        )
        .await,
    );
    article.add(
        "sign-up with bad fields (301 in msg)",
        g.post(
            &format!("{SIGN_UP}/{}", w.activity),
            k1,
            &[("phone", "12345"), ("leave_message", "")],
        )
        .await,
    );
    article.add(
        "sign-up for a missing activity",
        g.post(
            &format!("{SIGN_UP}/{MISSING}"),
            k1,
            &[
                ("customer_name", "王小明"),
                ("phone", "13900139001"),
                ("leave_message", "x"),
            ],
        )
        .await,
    );
    article.add(
        "sign-up again with the same phone",
        g.post(
            &format!("{SIGN_UP}/{}", w.activity),
            k1,
            &[
                ("customer_name", "王小明"),
                ("phone", "13900139000"),
                ("leave_message", "x"),
            ],
        )
        .await,
    );
    g.snap("rest__errors__article", article.done());
}

async fn customer_sockets(w: &World) {
    let g = &w.g;
    let (rep, k1) = (&w.rep, &w.k1);
    let rest = |msg: &str| {
        let (g, rep, k1) = (g, rep, k1);
        let msg = msg.to_owned();
        async move {
            g.post_ok(
                S_SEND,
                rep,
                &[
                    ("customer_id", &k1.id.to_string()),
                    ("content", &text(&msg)),
                ],
            )
            .await;
        }
    };

    // The badge socket first, so that it sees the chat socket's reads.
    let mut num = g.socket(C_NUM_WS, k1).await;
    rest("明天上午给您回电话").await;
    g.snap(
        "ws__customer_num__register",
        exchange(&mut num, json!({"type": "register", "u_id": rep.id})).await,
    );
    rest("报价单已更新").await;
    g.snap("ws__customer_num__push", json!(num.lived().await));
    g.snap(
        "ws__customer_num__query_num",
        exchange(&mut num, json!({"type": "query_num"})).await,
    );

    let mut chat = g.socket(C_CHAT, k1).await;
    g.snap(
        "ws__customer_chat__register",
        exchange(&mut chat, json!({"type": "register", "u_id": rep.id})).await,
    );
    g.snap("ws__customer_num__push_read", json!(num.lived().await));
    rest("还有什么问题吗？").await;
    g.snap("ws__customer_chat__push", json!(chat.lived().await));
    g.snap(
        "ws__customer_chat__send",
        exchange(
            &mut chat,
            json!({"type": "send_msg", "content": {"info_type": 1, "msg": "没有了，谢谢"}, "client_msg_id": "k1-ws-1"}),
        )
        .await,
    );
    g.snap(
        "ws__customer_chat__query_num",
        exchange(&mut chat, json!({"type": "query_num"})).await,
    );
    chat.send(json!({"type": "lived"})).await;
    g.snap("ws__lived", event(&mut chat).await);
    let mut errors = Cases::new();
    errors.add(
        "unknown type",
        exchange(&mut chat, json!({"type": "bogus"})).await,
    );
    errors.add("no type", exchange(&mut chat, json!({})).await);
    errors.add(
        "register with a bad u_id",
        exchange(&mut chat, json!({"type": "register", "u_id": "abc"})).await,
    );
    errors.add(
        "register with a bad after_id",
        exchange(
            &mut chat,
            json!({"type": "register", "u_id": rep.id, "after_id": "x"}),
        )
        .await,
    );
    errors.add(
        "send with invalid content",
        exchange(
            &mut chat,
            json!({"type": "send_msg", "content": {"info_type": 9}}),
        )
        .await,
    );
    errors.add(
        "a NUL character",
        exchange(&mut chat, json!({"type": "query_num", "u_id": "1\u{0}"})).await,
    );
    g.snap("ws__customer_chat__errors", errors.done());
    chat.send(json!({"type": "closed"})).await;
    g.snap(
        "ws__customer_chat__closed",
        json!(until_end(&mut chat).await),
    );
    num.close().await;

    let mut resume = g.socket(C_CHAT, k1).await;
    let after = newest_msg(g, 3).await;
    g.snap(
        "ws__customer_chat__resume",
        exchange(
            &mut resume,
            json!({"type": "register", "u_id": rep.id, "after_id": after}),
        )
        .await,
    );
    resume.close().await;
}

async fn sales_sockets(w: &World) {
    let g = &w.g;
    let (rep, k1) = (&w.rep, &w.k1);
    let uid = rep.id.to_string();
    let customer_says = |msg: &str| {
        let (g, k1, uid) = (g, k1, uid.clone());
        let msg = msg.to_owned();
        async move {
            g.post_ok(C_SEND, k1, &[("u_id", &uid), ("content", &text(&msg))])
                .await;
        }
    };

    // The badge and the contact list first: while the rep's chat socket is
    // open it marks each customer message read as it arrives, so what these
    // two would push in between depends on timing.
    let mut badge = g.socket(S_BADGE, rep).await;
    let mut list = g.socket(S_LIST, rep).await;
    g.snap(
        "ws__sales_badge__register",
        exchange(&mut badge, json!({"type": "register"})).await,
    );
    g.snap(
        "ws__sales_contacts__register",
        exchange(&mut list, json!({"type": "register"})).await,
    );
    customer_says("想再确认一下价格").await;
    g.snap("ws__sales_badge__push", json!(badge.lived().await));
    g.snap("ws__sales_contacts__push", json!(list.lived().await));
    // A minute later, so that the latest activity surely moves.
    g.app.st.clock.advance_ms(60_000);
    g.post_ok(
        &format!("{ARTICLE}/view_article/{}", w.other_article),
        k1,
        &[("uid", &uid)],
    )
    .await;
    g.snap(
        "ws__sales_contacts__push_activity",
        json!(list.lived().await),
    );
    g.snap(
        "ws__sales_badge__query_num",
        exchange(&mut badge, json!({"type": "query_num"})).await,
    );
    g.snap(
        "ws__sales_contacts__query_num",
        exchange(
            &mut list,
            json!({"type": "query_num", "current_page": 1, "length": 5}),
        )
        .await,
    );

    let mut chat = g.socket(S_CHAT, rep).await;
    g.snap(
        "ws__sales_chat__register",
        exchange(&mut chat, json!({"type": "register", "customer_id": k1.id})).await,
    );
    g.snap("ws__sales_badge__push_read", json!(badge.lived().await));
    g.snap("ws__sales_contacts__push_read", json!(list.lived().await));
    let mut errors = Cases::new();
    errors.add(
        "chat: unknown type",
        exchange(&mut chat, json!({"type": "query_num"})).await,
    );
    errors.add(
        "chat: register with a bad customer_id",
        exchange(&mut chat, json!({"type": "register", "customer_id": "abc"})).await,
    );
    errors.add(
        "badge: unknown type",
        exchange(&mut badge, json!({"type": "bogus"})).await,
    );
    errors.add(
        "contacts: bad paging",
        exchange(&mut list, json!({"type": "query_num", "length": "x"})).await,
    );
    g.snap("ws__sales__errors", errors.done());
    badge.close().await;
    list.close().await;

    customer_says("还在吗？").await;
    g.snap("ws__sales_chat__push", json!(chat.lived().await));
    g.post_ok(
        S_SEND,
        rep,
        &[
            ("customer_id", &k1.id.to_string()),
            ("content", &text("在的，价格不变")),
        ],
    )
    .await;
    g.snap("ws__sales_chat__push_echo", json!(chat.lived().await));
    g.get(C_GET, k1, &format!("u_id={uid}")).await;
    g.snap("ws__sales_chat__receipt", json!(chat.lived().await));
    chat.close().await;

    let mut resume = g.socket(S_CHAT, rep).await;
    let after = newest_msg(g, 2).await;
    g.snap(
        "ws__sales_chat__resume",
        exchange(
            &mut resume,
            json!({"type": "register", "customer_id": k1.id, "after_id": after}),
        )
        .await,
    );
    resume.close().await;
}

/// Frames that end the connection.
async fn socket_endings(w: &World) {
    let g = &w.g;
    let (rep, k1, k2) = (&w.rep, &w.k1, &w.k2);
    let mut ends = Cases::new();

    let mut ws = g.socket(C_CHAT, k1).await;
    ws.send_raw(Message::Text("{not json".to_string().into()))
        .await;
    ends.add("not JSON (1007)", json!(until_end(&mut ws).await));
    let mut ws = g.socket(C_CHAT, k1).await;
    ws.send(json!([1, 2])).await;
    ends.add("not an object (1007)", json!(until_end(&mut ws).await));
    let mut ws = g.socket(C_CHAT, k1).await;
    ws.send(json!({"type": "register"})).await;
    ends.add(
        "register without u_id (401)",
        json!(until_end(&mut ws).await),
    );
    let mut ws = g.socket(S_CHAT, rep).await;
    ws.send(json!({"type": "register"})).await;
    ends.add(
        "rep register without customer_id (401)",
        json!(until_end(&mut ws).await),
    );
    let mut ws = g.socket(C_CHAT, k2).await;
    ws.send(json!({"type": "register", "u_id": rep.id})).await;
    ends.add("no relation (307)", json!(until_end(&mut ws).await));
    let mut ws = g.socket(S_CHAT, rep).await;
    ws.send(json!({"type": "register", "customer_id": k2.id}))
        .await;
    ends.add("rep, no relation (307)", json!(until_end(&mut ws).await));
    let forged = g.ws_url(C_CHAT, k1).replacen("rand_str=", "rand_str=0", 1);
    let mut ws = connect(&forged).await;
    ends.add(
        "customer, bad signature in the URL",
        json!(until_end(&mut ws).await),
    );
    let forged = g
        .ws_url(S_BADGE, rep)
        .replacen("rand_str=", "rand_str=0", 1);
    let mut ws = connect(&forged).await;
    ends.add(
        "rep, bad signature in the URL",
        json!(until_end(&mut ws).await),
    );
    let mut ws = connect(&ws_url_unsigned(&g.app.base, S_LIST)).await;
    ws.send(json!({"type": "register"})).await;
    ends.add(
        "unsigned socket, unsigned frame",
        json!(until_end(&mut ws).await),
    );
    let mut ws = g.socket(C_NUM_WS, k1).await;
    ws.send(json!({"type": "register", "u_id": rep.id, "user_id": k2.id}))
        .await;
    ends.add(
        "user_id of another customer in a frame",
        json!(until_end(&mut ws).await),
    );
    let mut ws = g.socket(S_BADGE, rep).await;
    ws.send_raw(Message::Text("x".repeat(70 * 1024).into()))
        .await;
    ends.add("frame over 64 KiB (1009)", json!(until_end(&mut ws).await));
    g.snap("ws__errors__closing", ends.done());

    // A flood of frames other than sends: the guard's frame, then the close.
    let mut ws = g.socket(S_BADGE, rep).await;
    for _ in 0..200 {
        if !ws
            .send_raw(Message::Text(r#"{"type":"lived"}"#.to_string().into()))
            .await
        {
            break;
        }
    }
    let frames = until_end(&mut ws).await;
    let tail = &frames[frames.len().saturating_sub(2)..];
    g.snap("ws__errors__flood", json!(tail));

    // Rotation ends the rotated token's sessions.
    let mut ws = g.socket(S_BADGE, &w.rep2).await;
    exchange(&mut ws, json!({"type": "register"})).await;
    admin::rotate_token(&g.app.st, Side::Sales, w.rep2.id)
        .await
        .expect("rotate");
    g.snap("ws__errors__rotation", json!(until_end(&mut ws).await));
}

/// A second server: a write budget of one, and a contact list too large for one frame.
async fn limits_and_parts(b: Backend) {
    let g = Golden::new(
        spawn_with(b, |c| {
            fixed_config(c);
            c.write_burst = 1;
            // So small that `Retry-After` is always the one-day cap.
            c.write_rate = 1e-6;
        })
        .await,
    )
    .await;
    g.clock(0, 10, 0);
    let st = &g.app.st;
    let company = g.app.company("雷达科技").await;
    let rep = g.app.user(company, "张聪").await;
    let mut customers = Vec::new();
    for i in 0..40 {
        let avatar = format!("https://img.example.com/{i}/{}", "a".repeat(1900));
        let (id, token) = admin::create_customer(
            st,
            admin::NewCustomer {
                name: &format!("客户{i:02}"),
                company_id: company,
                headimgurl: Some(&avatar),
                user_type: 1,
            },
        )
        .await
        .expect("customer");
        let k = Who { id, token };
        g.app.relate(&rep, &k).await;
        let out = radar::service::chat::Outgoing {
            content: app::domain::MessageContent::text(&format!("第{i}条")),
            client_msg_id: None,
            article_id: None,
        };
        radar::service::chat::customer_send(st, k.id, rep.id, &out)
            .await
            .expect("send");
        customers.push(k);
    }
    g.flush().await;

    let uid = rep.id.to_string();
    let k = &customers[0];
    let mut limited = Cases::new();
    limited.add(
        "first write",
        g.post(C_SEND, k, &[("u_id", &uid), ("content", &text("一"))])
            .await,
    );
    limited.add(
        "second write (429)",
        g.post(C_SEND, k, &[("u_id", &uid), ("content", &text("二"))])
            .await,
    );
    g.snap("rest__errors__rate_limited", limited.done());
    let mut ws = g.socket(C_CHAT, k).await;
    g.snap(
        "ws__customer_chat__rate_limited",
        exchange(
            &mut ws,
            json!({"type": "send_msg", "u_id": rep.id, "content": {"info_type": 1, "msg": "三"}}),
        )
        .await,
    );
    ws.close().await;

    // The page in parts: each frame's items are summarised (their shape is in
    // the one-frame snapshots), the frame keys and part markers are kept.
    let mut list = g.socket(S_LIST, &rep).await;
    let frames = exchange(&mut list, json!({"type": "register", "length": 100})).await;
    let summary: Vec<Value> = frames
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(items) = f["data"]["ret_data"].as_array().map(Vec::len) {
                f["data"]["ret_data"] = json!(format!("[{items} items]"));
            }
            f
        })
        .collect();
    g.snap("ws__sales_contacts__register_parts", json!(summary));
    list.close().await;
}

/// The lists' relative days a day and four days after the recording day.
async fn later_days(w: &World) {
    let g = &w.g;
    for (day, name) in [(1, "next_day"), (4, "four_days_later")] {
        g.clock(day, 10, 0);
        g.snap(
            &format!("rest__crm__contacts_{name}"),
            g.get(CONTACTS, &w.rep, "").await,
        );
        g.snap(
            &format!("rest__chat__sales_contacts_{name}"),
            g.get(S_CONTACT, &w.rep, "").await,
        );
    }
}

/// The document is true: every answer recorded here (successes and refusals)
/// fits the schema `/openapi.json` gives for its operation and HTTP status.
async fn answers_fit_the_document(g: &Golden) {
    let doc = crate::openapi::fetch_doc(&g.app).await;
    let wire = Value::Array(std::mem::take(&mut *g.wire.lock().expect("wire")));
    let (d, a) = (
        crate::openapi::Scratch::json("golden_doc", &doc),
        crate::openapi::Scratch::json("golden_answers", &wire),
    );
    let out = crate::openapi::check(&["answers", d.path(), a.path()]);
    let checked: usize = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checked >= 90, "{out}");
}

async fn golden(b: Backend) {
    let w = fixture(b).await;
    rest_reads(&w).await;
    rest_errors(&w).await;
    customer_sockets(&w).await;
    sales_sockets(&w).await;
    socket_endings(&w).await;
    later_days(&w).await;
    answers_fit_the_document(&w.g).await;
    limits_and_parts(b).await;
}

both!(golden);
