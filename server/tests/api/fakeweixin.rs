//! A fake WeCom and WeChat API on a local port, for the sign-in and notification
//! tests: the documented JSON shapes and error codes (40029 invalid or used
//! code, 40014 invalid token, 42001 expired token), the OAuth authorize page,
//! and a record of every call (app messages included).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// A WeCom member or a WeChat reader the fake signs in.
#[derive(Debug, Clone, Default)]
pub struct Person {
    /// WeCom user id, or WeChat openid.
    pub id: String,
    pub name: String,
    pub avatar: String,
}

#[derive(Default)]
pub struct FakeState {
    /// corp id → secret, and app id → secret, that the fake accepts.
    pub corps: HashMap<String, String>,
    pub apps: HashMap<String, String>,
    /// WeCom access tokens: token → still valid.
    pub tokens: HashMap<String, bool>,
    /// The next this many token uses answer 42001 (and retire the token).
    pub expire_next: u32,
    /// The next this many token uses answer 40014.
    pub invalidate_next: u32,
    /// Codes not used yet (each works once): code → person.
    pub wecom_codes: HashMap<String, Person>,
    pub wechat_codes: HashMap<String, Person>,
    pub tickets: HashMap<String, Person>,
    /// WeChat web-page access tokens → person.
    pub sns_tokens: HashMap<String, Person>,
    /// Who the authorize page signs in next (WeCom and WeChat alike).
    pub next_person: Option<Person>,
    /// Answer every API call with HTTP 502, as a proxy in front of a dead service.
    pub down: bool,
    pub gettoken_calls: u32,
    /// Bodies of `cgi-bin/message/send`.
    pub sent: Vec<Value>,
    /// Every request's path and query, in order.
    pub calls: Vec<String>,
    serial: u64,
}

impl FakeState {
    fn fresh(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}x{:08x}", self.serial, rand_u32())
    }
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ 0x9e37_79b9
}

type Shared = Arc<Mutex<FakeState>>;

pub struct Fake {
    pub base: String,
    pub state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub const CORP_ID: &str = "wwfakecorp0001";
pub const CORP_SECRET: &str = "corp-secret-Zq8vX2pL9kW4";
pub const AGENT_ID: i64 = 1000002;
pub const APP_ID: &str = "wxfakeapp00001";
pub const APP_SECRET: &str = "app-secret-Mn3bV7cR1tY6";

pub async fn spawn_fake() -> Fake {
    let state: Shared = Arc::default();
    {
        let mut s = state.lock().expect("fake state");
        s.corps.insert(CORP_ID.into(), CORP_SECRET.into());
        s.apps.insert(APP_ID.into(), APP_SECRET.into());
    }
    let app = Router::new()
        .route("/cgi-bin/gettoken", get(gettoken))
        .route("/cgi-bin/auth/getuserinfo", get(getuserinfo))
        .route("/cgi-bin/auth/getuserdetail", post(getuserdetail))
        .route("/cgi-bin/message/send", post(message_send))
        .route("/sns/oauth2/access_token", get(sns_access_token))
        .route("/sns/userinfo", get(sns_userinfo))
        .route("/connect/oauth2/authorize", get(authorize))
        .layer(axum::middleware::from_fn_with_state(state.clone(), record))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Fake {
        base: format!("http://{addr}"),
        state,
        stop: Some(tx),
    }
}

impl Fake {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// A fresh WeCom OAuth code for member `userid`.
    pub fn wecom_code(&self, userid: &str, name: &str, avatar: &str) -> String {
        self.with(|s| {
            let code = s.fresh("wc");
            s.wecom_codes.insert(
                code.clone(),
                Person {
                    id: userid.into(),
                    name: name.into(),
                    avatar: avatar.into(),
                },
            );
            code
        })
    }

    /// A fresh WeChat OAuth code for reader `openid`.
    pub fn wechat_code(&self, openid: &str, nickname: &str, headimgurl: &str) -> String {
        self.with(|s| {
            let code = s.fresh("xc");
            s.wechat_codes.insert(
                code.clone(),
                Person {
                    id: openid.into(),
                    name: nickname.into(),
                    avatar: headimgurl.into(),
                },
            );
            code
        })
    }

    pub fn set_next_person(&self, p: Person) {
        self.with(|s| s.next_person = Some(p));
    }
    /// The next `n` calls with a WeCom access token answer 42001.
    pub fn expire_tokens(&self, n: u32) {
        self.with(|s| s.expire_next = n);
    }
    /// The next `n` calls with a WeCom access token answer 40014.
    pub fn invalidate_tokens(&self, n: u32) {
        self.with(|s| s.invalidate_next = n);
    }
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }
    pub fn gettoken_calls(&self) -> u32 {
        self.with(|s| s.gettoken_calls)
    }
    pub fn sent(&self) -> Vec<Value> {
        self.with(|s| s.sent.clone())
    }
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }
}

async fn record(
    State(st): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let line = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let down = {
        let mut s = st.lock().expect("fake state");
        s.calls.push(line);
        s.down
    };
    if down && !req.uri().path().starts_with("/connect/") {
        return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
    }
    next.run(req).await
}

fn err(code: i64, msg: &str) -> Json<Value> {
    Json(json!({"errcode": code, "errmsg": msg}))
}

type Q = Query<HashMap<String, String>>;

fn q<'a>(q: &'a Q, k: &str) -> &'a str {
    q.0.get(k).map(String::as_str).unwrap_or("")
}

async fn gettoken(State(st): State<Shared>, query: Q) -> Json<Value> {
    let mut s = st.lock().expect("fake state");
    s.gettoken_calls += 1;
    if s.corps.get(q(&query, "corpid")).map(String::as_str) != Some(q(&query, "corpsecret")) {
        return err(40001, "invalid credential");
    }
    let token = s.fresh("tok");
    s.tokens.insert(token.clone(), true);
    Json(json!({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}))
}

/// The access-token check of every WeCom call, with the injected failures.
fn check_token(s: &mut FakeState, token: &str) -> Result<(), Json<Value>> {
    if s.tokens.get(token) != Some(&true) {
        return Err(err(40014, "invalid access_token"));
    }
    if s.expire_next > 0 {
        s.expire_next -= 1;
        s.tokens.insert(token.to_owned(), false);
        return Err(err(42001, "access_token expired"));
    }
    if s.invalidate_next > 0 {
        s.invalidate_next -= 1;
        s.tokens.insert(token.to_owned(), false);
        return Err(err(40014, "invalid access_token"));
    }
    Ok(())
}

async fn getuserinfo(State(st): State<Shared>, query: Q) -> Json<Value> {
    let mut s = st.lock().expect("fake state");
    if let Err(e) = check_token(&mut s, q(&query, "access_token")) {
        return e;
    }
    let Some(p) = s.wecom_codes.remove(q(&query, "code")) else {
        return err(40029, "invalid code");
    };
    let ticket = s.fresh("tk");
    s.tickets.insert(ticket.clone(), p.clone());
    Json(
        json!({"errcode": 0, "errmsg": "ok", "userid": p.id, "user_ticket": ticket, "expires_in": 1800}),
    )
}

async fn getuserdetail(State(st): State<Shared>, query: Q, Json(body): Json<Value>) -> Json<Value> {
    let mut s = st.lock().expect("fake state");
    if let Err(e) = check_token(&mut s, q(&query, "access_token")) {
        return e;
    }
    let ticket = body["user_ticket"].as_str().unwrap_or("");
    let Some(p) = s.tickets.get(ticket).cloned() else {
        return err(40129, "invalid user_ticket");
    };
    Json(
        json!({"errcode": 0, "errmsg": "ok", "userid": p.id, "name": p.name, "gender": "1", "avatar": p.avatar}),
    )
}

async fn message_send(State(st): State<Shared>, query: Q, Json(body): Json<Value>) -> Json<Value> {
    let mut s = st.lock().expect("fake state");
    if let Err(e) = check_token(&mut s, q(&query, "access_token")) {
        return e;
    }
    s.sent.push(body);
    Json(json!({"errcode": 0, "errmsg": "ok", "invaliduser": ""}))
}

async fn sns_access_token(State(st): State<Shared>, query: Q) -> Json<Value> {
    let mut s = st.lock().expect("fake state");
    if s.apps.get(q(&query, "appid")).map(String::as_str) != Some(q(&query, "secret")) {
        return err(40125, "invalid appsecret");
    }
    if q(&query, "grant_type") != "authorization_code" {
        return err(40002, "invalid grant_type");
    }
    let Some(p) = s.wechat_codes.remove(q(&query, "code")) else {
        return err(40029, "invalid code");
    };
    let token = s.fresh("sns");
    s.sns_tokens.insert(token.clone(), p.clone());
    Json(json!({
        "access_token": token, "expires_in": 7200, "refresh_token": "r", "openid": p.id,
        "scope": "snsapi_userinfo"
    }))
}

async fn sns_userinfo(State(st): State<Shared>, query: Q) -> Json<Value> {
    let s = st.lock().expect("fake state");
    let Some(p) = s.sns_tokens.get(q(&query, "access_token")) else {
        return err(40014, "invalid access_token");
    };
    if p.id != q(&query, "openid") {
        return err(40003, "invalid openid");
    }
    Json(json!({
        "openid": p.id, "nickname": p.name, "sex": 1, "province": "", "city": "", "country": "",
        "headimgurl": p.avatar, "privilege": []
    }))
}

/// The OAuth page: signs in `next_person` at once (no consent screen) and
/// sends the browser to `redirect_uri` with a fresh code and the `state`.
async fn authorize(State(st): State<Shared>, query: Q) -> Response {
    let mut s = st.lock().expect("fake state");
    let Some(p) = s.next_person.clone() else {
        return (StatusCode::FORBIDDEN, "no person to sign in").into_response();
    };
    let wecom = s.corps.contains_key(q(&query, "appid"));
    let code = s.fresh(if wecom { "wc" } else { "xc" });
    if wecom {
        s.wecom_codes.insert(code.clone(), p);
    } else {
        s.wechat_codes.insert(code.clone(), p);
    }
    let redirect = q(&query, "redirect_uri");
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let state: String = url_encode(q(&query, "state"));
    let location = format!("{redirect}{sep}code={code}&state={state}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query parameter `key` of `url`, decoded.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
