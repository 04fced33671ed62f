//! WebSocket test clients (tokio-tungstenite) and REST helpers that work against
//! any server base URL (an in-process `spawn_app` or a spawned `radar serve`).
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{text, Who};

/// Fails a test that waits for a frame which never comes (never a timing assertion).
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

pub const C_CHAT: &str = "/zhugeleida/gongzhonghao/websocket/gongzhonghao_chat";
pub const C_NUM_WS: &str = "/zhugeleida/gongzhonghao/websocket/gongzhonghao_query_info_num";
pub const S_CHAT: &str = "/zhugeleida/qiyeweixin/websocket/leida_chat";
pub const S_BADGE: &str = "/zhugeleida/qiyeweixin/websocket/leida_query_info_num";
pub const S_LIST: &str = "/zhugeleida/qiyeweixin/websocket/leida_query_contact_list";

pub const C_SEND: &str = "/zhugeleida/gongzhonghao/chat/send_msg/0";
pub const C_GET: &str = "/zhugeleida/gongzhonghao/chat/getmsg/0";
pub const C_NUM: &str = "/zhugeleida/gongzhonghao/chat/query_num/0";
pub const C_HIST: &str = "/zhugeleida/gongzhonghao/chat";
pub const S_SEND: &str = "/zhugeleida/qiyeweixin/chat/send_msg/0";
pub const S_GET: &str = "/zhugeleida/qiyeweixin/chat/getmsg/0";
pub const S_HIST: &str = "/zhugeleida/qiyeweixin/chat";
pub const S_CONTACT: &str = "/zhugeleida/qiyeweixin/contact";
pub const S_BADGE_REST: &str = "/zhugeleida/qiyeweixin/contact/query_num";

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `rand_str`/`timestamp` (a JSON number)/`user_id` for a frame.
pub fn creds(who: &Who) -> Value {
    let ts = now_ms();
    json!({"rand_str": app::sign::rand_str(&ts.to_string(), &who.token), "timestamp": ts, "user_id": who.id})
}

/// `frame` with `who`'s credentials merged in.
pub fn signed(who: &Who, frame: Value) -> Value {
    let mut v = creds(who);
    if let (Some(o), Value::Object(f)) = (v.as_object_mut(), frame) {
        o.extend(f);
    }
    v
}

fn ws_base(base: &str) -> String {
    base.replacen("http://", "ws://", 1)
}

/// A socket URL signed as `who` in the query string.
pub fn ws_url(base: &str, path: &str, who: &Who) -> String {
    format!(
        "{}{}?{}",
        ws_base(base),
        path,
        app::sign::signed_query(who.id, &who.token, now_ms())
    )
}

pub fn ws_url_unsigned(base: &str, path: &str) -> String {
    format!("{}{}", ws_base(base), path)
}

pub struct Ws {
    pub s: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub async fn connect(url: &str) -> Ws {
    let (s, resp) = tokio::time::timeout(FRAME_WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap_or_else(|_| panic!("connect {url}: timed out"))
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    assert_eq!(resp.status(), 101);
    Ws { s }
}

/// What the server did instead of sending a frame.
#[derive(Debug, PartialEq)]
pub enum End {
    Closed(Option<u16>),
    Gone,
}

impl Ws {
    pub async fn send(&mut self, v: Value) {
        self.s
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, m: Message) -> bool {
        self.s.send(m).await.is_ok()
    }

    /// The next text frame as JSON, or how the connection ended.
    pub async fn next_or_end(&mut self) -> Result<Value, End> {
        loop {
            let m = tokio::time::timeout(FRAME_WAIT, self.s.next())
                .await
                .expect("no frame from the server within the wait");
            match m {
                Some(Ok(Message::Text(t))) => {
                    return Ok(serde_json::from_str(t.as_str()).expect("frame is JSON"))
                }
                Some(Ok(Message::Close(c))) => {
                    return Err(End::Closed(c.map(|c| u16::from(c.code))))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(End::Gone),
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        match self.next_or_end().await {
            Ok(v) => v,
            Err(e) => panic!("expected a frame, the connection ended: {e:?}"),
        }
    }

    /// Skips frames until one satisfies `pred`.
    pub async fn next_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Expects the server to close; returns the close code (None if it just hung up).
    pub async fn expect_close(&mut self) -> Option<u16> {
        match self.next_or_end().await {
            Ok(v) => panic!("expected close, got frame {v}"),
            Err(End::Closed(c)) => c,
            Err(End::Gone) => None,
        }
    }

    /// Sends `lived` and returns every frame received before its 270 reply. On
    /// one instance, a push of anything committed before the call is ahead of
    /// the reply, so this is also a barrier.
    pub async fn lived(&mut self) -> Vec<Value> {
        self.send(json!({"type": "lived"})).await;
        let mut before = Vec::new();
        loop {
            let v = self.next().await;
            if v["code"] == 270 {
                assert_eq!(v["msg"], "为了新中国的胜利向我开炮");
                return before;
            }
            before.push(v);
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .s
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
    }
}

/// Ids of the items of a push frame.
pub fn ids(v: &Value) -> Vec<i64> {
    v["data"]["ret_data"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// REST against any base URL, signed as a party.
#[derive(Clone)]
pub struct Rest {
    pub base: String,
    pub http: reqwest::Client,
}

impl Rest {
    pub fn new(base: &str) -> Rest {
        Rest {
            base: base.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str, who: &Who, extra: &str) -> String {
        let q = app::sign::signed_query(who.id, &who.token, now_ms());
        let sep = if extra.is_empty() { "" } else { "&" };
        format!("{}{}?{}{}{}", self.base, path, q, sep, extra)
    }

    pub async fn get(&self, path: &str, who: &Who, extra: &str) -> Value {
        let url = self.url(path, who, extra);
        let r = self.http.get(&url).send().await.expect("request");
        assert_eq!(r.status(), 200, "GET {url}");
        r.json().await.expect("json")
    }

    pub async fn post(&self, path: &str, who: &Who, form: &[(&str, String)]) -> Value {
        let url = self.url(path, who, "");
        let r = self
            .http
            .post(&url)
            .form(form)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "POST {url}");
        r.json().await.expect("json")
    }

    /// The customer writes to the rep; returns the new message id.
    pub async fn customer_says(&self, k: &Who, u: &Who, msg: &str) -> i64 {
        let r = self
            .post(
                C_SEND,
                k,
                &[("u_id", u.id.to_string()), ("content", text(msg))],
            )
            .await;
        assert_eq!(r["code"], 200, "{r}");
        r["data"]["id"].as_i64().expect("id")
    }

    /// The rep writes to the customer; returns the new message id.
    pub async fn rep_says(&self, u: &Who, k: &Who, msg: &str) -> i64 {
        let r = self
            .post(
                S_SEND,
                u,
                &[("customer_id", k.id.to_string()), ("content", text(msg))],
            )
            .await;
        assert_eq!(r["code"], 200, "{r}");
        r["data"]["id"].as_i64().expect("id")
    }
}

/// A `radar serve` process on `database_url`; killed when dropped.
pub struct Server {
    pub child: tokio::process::Child,
    pub base: String,
    /// Every line the process printed on stdout after its "listening" line.
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// True when the process has printed a line containing `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .map(|l| l.iter().any(|x| x.contains(needle)))
            .unwrap_or(false)
    }
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}

/// Starts the real binary on a free port and waits for its "listening" line.
pub async fn spawn_server(database_url: &str, envs: &[(&str, &str)]) -> Server {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_radar"));
    cmd.arg("serve")
        .arg("--addr")
        .arg("127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("RADAR_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn radar");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("radar listening on ") {
                return rest.split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .expect("radar serve did not start in time")
    .expect("radar serve exited before listening");
    // Keep draining stdout so the child never blocks on a full pipe.
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = kept.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut v) = sink.lock() {
                v.push(line);
            }
        }
    });
    Server {
        child,
        base,
        lines: kept,
    }
}

/// An in-process state on an existing database, for seeding data.
pub async fn seed_state(database_url: &str) -> radar::AppState {
    let mut config = radar::Config::from_env().expect("config");
    config.database_url = database_url.to_owned();
    config.db_max_connections = 3;
    radar::AppState::start(config).await.expect("start")
}

pub async fn new_user(st: &radar::AppState, company_id: i64, name: &str) -> Who {
    let (id, token) = radar::service::admin::create_user(
        st,
        radar::service::admin::NewUser {
            company_id,
            name,
            avatar: None,
            phone: None,
            wechat: None,
        },
    )
    .await
    .expect("user");
    Who { id, token }
}

pub async fn new_customer(st: &radar::AppState, company_id: i64, name: &str) -> Who {
    let (id, token) = radar::service::admin::create_customer(
        st,
        radar::service::admin::NewCustomer {
            name,
            company_id,
            headimgurl: None,
            user_type: 1,
        },
    )
    .await
    .expect("customer");
    Who { id, token }
}

pub async fn relate(st: &radar::AppState, u: &Who, k: &Who) {
    radar::service::admin::create_relation(st, u.id, k.id, 1)
        .await
        .expect("relation");
}
