//! The socket frames against the document (contract §7): each feed is driven
//! through what it can send (register, pushes, a send, `query_num`, resume,
//! keep-alive, errors, `closed`, a rotated token, a page in parts), and every
//! frame received, and every frame sent, is validated against the JSON Schema
//! `x-websockets` gives for that feed and direction. A frame kind the
//! document lacks fits no `oneOf` branch and fails; a kind the document has
//! but the run never saw fails too. Frames the server refuses are checked not
//! to fit the client schema.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::both;
use crate::common::*;
use crate::openapi::{check, fetch_doc, Scratch};
use crate::wsutil::*;

type Log = Arc<Mutex<Vec<Value>>>;

/// A socket that records what goes through it.
struct Sock {
    ws: Ws,
    feed: &'static str,
    log: Log,
}

impl Sock {
    async fn open(app: &TestApp, log: &Log, feed: &'static str, who: &Who) -> Sock {
        Sock {
            ws: connect(&ws_url(&app.base, feed, who)).await,
            feed,
            log: log.clone(),
        }
    }

    async fn unsigned(app: &TestApp, log: &Log, feed: &'static str) -> Sock {
        Sock {
            ws: connect(&ws_url_unsigned(&app.base, feed)).await,
            feed,
            log: log.clone(),
        }
    }

    fn record(&self, dir: &str, frame: &Value, valid: bool) {
        if let Ok(mut l) = self.log.lock() {
            l.push(json!({"feed": self.feed, "dir": dir, "frame": frame, "valid": valid}));
        }
    }

    /// A frame the document says the server takes.
    async fn send(&mut self, v: Value) {
        self.record("receive", &v, true);
        self.ws.send(v).await;
    }

    /// A frame the server refuses (and the document must not describe).
    async fn send_bad(&mut self, v: Value) {
        self.record("receive", &v, false);
        self.ws.send(v).await;
    }

    async fn next(&mut self) -> Value {
        let v = self.ws.next().await;
        self.record("send", &v, true);
        v
    }

    async fn next_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Frames until the server closes; the close code.
    async fn until_close(&mut self) -> Option<u16> {
        loop {
            match self.ws.next_or_end().await {
                Ok(v) => self.record("send", &v, true),
                Err(End::Closed(c)) => return c,
                Err(End::Gone) => return None,
            }
        }
    }

    async fn lived(&mut self) {
        self.send(json!({"type": "lived"})).await;
        self.next_where(|v| v["code"] == 270).await;
    }
}

async fn socket_frames_fit_the_document(b: Backend) {
    let app = spawn_with(b, |c| c.write_rate = 0.0).await;
    let rest = Rest::new(&app.base);
    let (u, k) = app.pair().await;
    let log: Log = Arc::default();
    let reg_u = json!({"type": "register", "u_id": u.id});

    // -- gongzhonghao_chat
    rest.rep_says(&u, &k, "在吗").await;
    let mut c = Sock::open(&app, &log, C_CHAT, &k).await;
    c.send(reg_u.clone()).await;
    assert_eq!(c.next().await["code"], 199);
    assert_eq!(c.next().await["msg"], "实时推送公众号-最新聊天信息成功");
    c.send(json!({"content": text("经由套接字"), "u_id": u.id.to_string()}))
        .await;
    let ack = c.next_where(|v| v["msg"] == "小程序消息-发送成功").await;
    let sent = ack["data"]["id"].as_i64().expect("id");
    c.next_where(|v| ids(v).contains(&sent)).await;
    c.send(json!({"type": "send_msg", "content": {"info_type": 1, "msg": "对象"}, "client_msg_id": "d-1"}))
        .await;
    c.next_where(|v| v["msg"] == "小程序消息-发送成功").await;
    c.send(json!({"type": "query_num"})).await;
    c.next_where(|v| v["msg"] == "查询成功-获取聊天数量").await;
    let m = rest.rep_says(&u, &k, "推送").await;
    c.next_where(|v| ids(v).contains(&m)).await;
    c.lived().await;
    c.send_bad(json!({"type": "nonsense"})).await;
    assert_eq!(c.next_where(|v| v["code"] != 200).await["code"], 402);
    c.send_bad(json!({"content": {"info_type": 9}})).await;
    assert_eq!(c.next().await["code"], 402);
    c.send_bad(json!({"content": text("x"), "u_id": "abc"}))
        .await;
    assert_eq!(c.next().await["code"], 402);
    c.send(json!({"type": "closed"})).await;
    assert_eq!(c.until_close().await, Some(1000));
    // Resume after a message id; then not JSON: a 400 frame and close 1007.
    let mut c = Sock::open(&app, &log, C_CHAT, &k).await;
    c.send(json!({"type": "register", "u_id": u.id, "after_id": 0}))
        .await;
    assert_eq!(c.next().await["code"], 199);
    c.lived().await;
    assert!(c.ws.send_raw(Message::Text("not json".into())).await);
    assert_eq!(c.until_close().await, Some(1007));
    // A rotated token closes the socket with a 400 frame.
    let mut c = Sock::open(&app, &log, C_CHAT, &k).await;
    c.send(reg_u.clone()).await;
    assert_eq!(c.next().await["code"], 199);
    let token = radar::service::admin::rotate_token(&app.st, app::api::Side::Customer, k.id)
        .await
        .expect("rotate");
    assert_eq!(c.until_close().await, Some(1008));
    let k = Who { id: k.id, token };

    // -- gongzhonghao_query_info_num, signed in the register frame
    let mut n = Sock::unsigned(&app, &log, C_NUM_WS).await;
    n.send(signed(&k, reg_u.clone())).await;
    let before = n.next().await["msg_data"]["unread_msg_num"]
        .as_i64()
        .expect("count");
    rest.rep_says(&u, &k, "计数").await;
    assert_eq!(n.next().await["msg_data"]["unread_msg_num"], before + 1);
    n.send(json!({"type": "query_num", "u_id": u.id})).await;
    n.next().await;
    n.lived().await;
    n.send_bad(json!({"type": "register", "u_id": "abc"})).await;
    assert_eq!(n.next().await["code"], 402);
    // Not signed at all: 400 and close 1008.
    let mut n = Sock::unsigned(&app, &log, C_NUM_WS).await;
    n.send(reg_u.clone()).await;
    assert_eq!(n.until_close().await, Some(1008));

    // -- leida_chat
    rest.customer_says(&k, &u, "你好").await;
    let mut s = Sock::open(&app, &log, S_CHAT, &u).await;
    s.send(json!({"type": "register", "customer_id": k.id.to_string(), "user_id": u.id}))
        .await;
    assert_eq!(s.next().await["code"], 199);
    assert_eq!(s.next().await["msg"], "实时推送雷达-最新聊天信息成功");
    let r = rest.rep_says(&u, &k, "回复").await;
    s.next_where(|v| ids(v).contains(&r)).await;
    rest.get(C_GET, &k, &format!("u_id={}", u.id)).await;
    assert_eq!(s.next_where(|v| v["code"] != 200).await["code"], 202);
    s.lived().await;
    s.send_bad(json!({"type": "register", "customer_id": "abc"}))
        .await;
    assert_eq!(s.next().await["code"], 402);
    let other = app.company("别家").await;
    let stranger = app.customer(other, "陌生人").await;
    s.send(json!({"type": "register", "customer_id": stranger.id}))
        .await;
    assert_eq!(s.next().await["code"], 307);
    assert_eq!(s.until_close().await, Some(1008));

    // -- leida_query_info_num
    let mut g = Sock::open(&app, &log, S_BADGE, &u).await;
    g.send(json!({"type": "register"})).await;
    assert_eq!(g.next().await["msg"], "注册成功返回【消息数量】成功");
    rest.customer_says(&k, &u, "角标").await;
    assert_eq!(g.next().await["msg"], "实时获取雷达【消息数量】成功");
    g.send(json!({"type": "query_num"})).await;
    g.next().await;
    g.lived().await;
    g.send_bad(json!({"type": 5})).await;
    assert_eq!(g.next().await["code"], 402);
    g.send(json!({"type": "register", "user_id": u.id + 1000}))
        .await;
    assert_eq!(g.until_close().await, Some(1008));

    // -- leida_query_contact_list, with a page over the frame limit
    let mut l = Sock::open(&app, &log, S_LIST, &u).await;
    l.send(json!({"type": "register", "current_page": 1, "length": "10"}))
        .await;
    assert_eq!(l.next().await["msg"], "注册成功返回【消息数量】成功");
    rest.customer_says(&k, &u, "列表").await;
    l.next_where(|v| v["msg"] == "实时获取雷达【消息数量】成功")
        .await;
    l.send(json!({"type": "query_num", "current_page": 2, "length": 1}))
        .await;
    l.next().await;
    l.send_bad(json!({"type": "query_num", "current_page": "x"}))
        .await;
    assert_eq!(l.next_where(|v| v["code"] != 200).await["code"], 402);
    l.lived().await;
    l.ws.close().await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .expect("company");
    let avatar = format!("https://example.com/{}", "a".repeat(2000));
    for i in 0..40 {
        let (id, token) = radar::service::admin::create_customer(
            &app.st,
            radar::service::admin::NewCustomer {
                name: &format!("客户{i}{}", "长".repeat(90)),
                company_id: company,
                headimgurl: Some(&avatar),
                user_type: 1,
            },
        )
        .await
        .expect("customer");
        let who = Who { id, token };
        app.relate(&u, &who).await;
        rest.customer_says(&who, &u, "多").await;
    }
    let mut l = Sock::open(&app, &log, S_LIST, &u).await;
    l.send(json!({"type": "register", "length": 100})).await;
    let first = l.next().await;
    assert_eq!(
        first["data"]["part"], 1,
        "a page over 64 KiB comes in parts"
    );
    let parts = first["data"]["parts"].as_i64().expect("parts");
    for _ in 1..parts {
        l.next().await;
    }
    l.lived().await;

    let frames: Vec<Value> = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(frames.len() > 50, "{}", frames.len());
    let doc = fetch_doc(&app).await;
    let d = Scratch::json("ws_doc", &doc);
    let f = Scratch::json("ws_frames", &Value::Array(frames));
    let out = check(&["frames", d.path(), f.path()]);
    let unseen: Vec<&str> = out.lines().filter(|l| l.starts_with("unseen")).collect();
    assert!(unseen.is_empty(), "frame kinds never exercised:\n{out}");
    println!("{out}");
}

both!(socket_frames_fit_the_document);
