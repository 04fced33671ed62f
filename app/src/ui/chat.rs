//! The live chat, for the rep (`/rep/chat/{customer_id}`) and for the customer
//! (`/h5/chat?u_id=U`).
//!
//! History comes from REST; live messages from the conversation's socket. After
//! every (re)connect the page first catches up over REST with `after_id` and then
//! registers on the socket with the same `after_id`, so nothing is missed; every
//! message is keyed by its server `id`, so nothing is shown twice. Where the socket
//! is not available the page keeps catching up over REST every few seconds.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde_json::{json, Map, Value};

use super::client::{self, int_of, list_of, str_of, Creds, Frame, Role, Socket};
use super::{Empty, Failed, Loading, TopBar, NO_CREDS_H5, NO_CREDS_REP};
use crate::api::{SEND_CUSTOMER_TO_SALES, SEND_SALES_TO_CUSTOMER, SEND_SYSTEM_TIP};
use crate::domain::{MessageContent, MAX_TEXT_CHARS};

const PAGE: i64 = 20;
const CATCH_UP: i64 = 100;
const POLL_MS: i32 = 2000;
/// The customer socket's answer to `query_num`: from then on it is in output mode.
const QUERY_NUM_ACK: &str = "查询成功-获取聊天数量";

/// Which end of the conversation this page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Rep { customer_id: i64 },
    Customer { rep_id: i64 },
}

impl Side {
    fn role(self) -> Role {
        match self {
            Side::Rep { .. } => Role::Rep,
            Side::Customer { .. } => Role::Customer,
        }
    }
    fn own_send_type(self) -> i64 {
        match self {
            Side::Rep { .. } => SEND_SALES_TO_CUSTOMER,
            Side::Customer { .. } => SEND_CUSTOMER_TO_SALES,
        }
    }
    fn history_path(self) -> &'static str {
        match self {
            Side::Rep { .. } => "qiyeweixin/chat",
            Side::Customer { .. } => "gongzhonghao/chat",
        }
    }
    fn peer(self) -> (&'static str, String) {
        match self {
            Side::Rep { customer_id } => ("customer_id", customer_id.to_string()),
            Side::Customer { rep_id } => ("u_id", rep_id.to_string()),
        }
    }
    fn socket_path(self) -> &'static str {
        match self {
            Side::Rep { .. } => "qiyeweixin/websocket/leida_chat",
            Side::Customer { .. } => "gongzhonghao/websocket/gongzhonghao_chat",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    /// Stable render key: the client id of a message sent from this page, else the server id.
    pub key: String,
    pub id: Option<i64>,
    pub client_id: Option<String>,
    pub mine: bool,
    pub system: bool,
    pub content: Map<String, Value>,
    pub time: String,
    /// Rep side: whether the customer has read this (own) message.
    pub read: Option<bool>,
    pub failed: bool,
}

impl Msg {
    fn from_item(side: Side, v: &Value) -> Option<Msg> {
        let id = int_of(v, "id")?;
        let send_type = int_of(v, "send_type").unwrap_or(0);
        let mine = send_type == side.own_send_type();
        let read = match side {
            Side::Rep { .. } if mine => int_of(v, "is_customer_already_read").map(|r| r != 0),
            _ => None,
        };
        Some(Msg {
            key: format!("m{id}"),
            id: Some(id),
            client_id: None,
            mine,
            system: send_type == SEND_SYSTEM_TIP,
            content: v.as_object().cloned().unwrap_or_default(),
            time: str_of(v, "dateTime"),
            read,
            failed: false,
        })
    }

    fn render_key(&self) -> String {
        format!("{}|{:?}|{:?}|{}", self.key, self.id, self.read, self.failed)
    }
}

/// Adds messages not seen yet (by id) and refreshes read receipts of known ones;
/// keeps server order, with messages still being sent last.
fn merge(list: &mut Vec<Msg>, incoming: Vec<Msg>) {
    for m in incoming {
        if let Some(x) = list.iter_mut().find(|x| x.id.is_some() && x.id == m.id) {
            if m.read.is_some() && x.read != Some(true) {
                x.read = m.read;
            }
            continue;
        }
        // Our own message pushed back before its send call answered: it takes
        // over the bubble that is still "sending" instead of showing twice.
        if let Some(x) = list
            .iter_mut()
            .find(|x| x.mine && m.mine && x.id.is_none() && !x.failed && same_content(x, &m))
        {
            x.id = m.id;
            x.time = m.time;
            x.read = m.read;
            continue;
        }
        list.push(m);
    }
    sort(list);
}

fn same_content(a: &Msg, b: &Msg) -> bool {
    let key = |m: &Msg| {
        let c = &m.content;
        (
            c.get("info_type").and_then(Value::as_i64),
            c.get("msg").cloned(),
            c.get("url").cloned(),
            c.get("product_name").cloned(),
        )
    };
    key(a) == key(b)
}

fn sort(list: &mut [Msg]) {
    list.sort_by_key(|m| (m.id.is_none(), m.id.unwrap_or(i64::MAX)));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Connecting,
    Live,
    Polling,
    Offline,
    Reconnecting,
}

impl Conn {
    fn label(self) -> &'static str {
        match self {
            Conn::Connecting => "连接中…",
            Conn::Live => "实时连接",
            Conn::Polling => "已连接（轮询）",
            Conn::Offline => "离线",
            Conn::Reconnecting => "重新连接中…",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Conn::Live => "conn conn-live",
            Conn::Polling => "conn conn-poll",
            Conn::Offline => "conn conn-off",
            _ => "conn conn-wait",
        }
    }
}

/// Everything the chat page and its background task share.
#[derive(Clone, Copy)]
struct Chat {
    side: Side,
    creds: StoredValue<Option<Creds>>,
    msgs: RwSignal<Vec<Msg>>,
    state: RwSignal<super::Load>,
    conn: RwSignal<Conn>,
    page: RwSignal<i64>,
    total: RwSignal<i64>,
    loading_more: RwSignal<bool>,
    peer_name: RwSignal<String>,
    /// Customer side: unread rep messages, from `gongzhonghao_query_info_num`.
    unread: RwSignal<i64>,
    /// Whether that count socket is live (else the count is polled over REST).
    unread_live: RwSignal<bool>,
    /// Customer side: the chat socket is in output mode (page hidden, messages stay unread).
    output: RwSignal<bool>,
}

impl Chat {
    fn new(side: Side) -> Chat {
        Chat {
            side,
            creds: StoredValue::new(None),
            msgs: RwSignal::new(Vec::new()),
            state: RwSignal::new(super::Load::Loading),
            conn: RwSignal::new(Conn::Connecting),
            page: RwSignal::new(1),
            total: RwSignal::new(0),
            loading_more: RwSignal::new(false),
            peer_name: RwSignal::new(String::new()),
            unread: RwSignal::new(0),
            unread_live: RwSignal::new(false),
            output: RwSignal::new(false),
        }
    }

    fn creds(&self) -> Option<Creds> {
        self.creds.try_get_value().flatten()
    }

    fn take_items(&self, items: &[Value]) {
        if self.side.own_send_type() == SEND_SALES_TO_CUSTOMER {
            if let Some(n) = items
                .iter()
                .find(|v| int_of(v, "send_type") == Some(SEND_CUSTOMER_TO_SALES))
                .map(|v| str_of(v, "name"))
            {
                if !n.is_empty() {
                    let _ = self.peer_name.try_set(n);
                }
            }
        }
        let new: Vec<Msg> = items
            .iter()
            .filter_map(|v| Msg::from_item(self.side, v))
            .collect();
        if new.is_empty() {
            return;
        }
        let _ = self.msgs.try_update(|l| merge(l, new));
        client::scroll_to_bottom("chat-scroll");
    }

    async fn history(&self, params: Vec<(&'static str, String)>) -> Result<client::Loose, String> {
        let creds = self.creds().ok_or("no creds")?;
        let mut p = vec![self.side.peer()];
        p.extend(params);
        client::loose_get(&creds, self.side.history_path(), &p).await
    }

    async fn load_first(self) {
        let _ = self.state.try_set(super::Load::Loading);
        match self
            .history(vec![
                ("current_page", "1".into()),
                ("length", PAGE.to_string()),
            ])
            .await
        {
            Ok(env) if env.code == 200 => {
                let _ = self
                    .total
                    .try_set(int_of(&env.data, "data_count").unwrap_or(0));
                if let Side::Customer { .. } = self.side {
                    let n = str_of(&env.data, "user_name");
                    if !n.is_empty() {
                        let _ = self.peer_name.try_set(n);
                    }
                }
                let _ = self.page.try_set(1);
                self.take_items(&list_of(&env));
                let _ = self.state.try_set(super::Load::Ready);
                client::scroll_to_bottom("chat-scroll");
            }
            Ok(env) => {
                let _ = self
                    .state
                    .try_set(super::Load::Failed(client::loose_describe(&env)));
            }
            Err(e) => {
                let _ = self.state.try_set(super::Load::Failed(e));
            }
        }
    }

    async fn load_earlier(self) {
        if self.loading_more.get_untracked() {
            return;
        }
        self.loading_more.set(true);
        let next = self.page.get_untracked() + 1;
        if let Ok(env) = self
            .history(vec![
                ("current_page", next.to_string()),
                ("length", PAGE.to_string()),
            ])
            .await
        {
            if env.code == 200 {
                let items: Vec<Msg> = list_of(&env)
                    .iter()
                    .filter_map(|v| Msg::from_item(self.side, v))
                    .collect();
                let _ = self.msgs.try_update(|l| merge(l, items));
                let _ = self.page.try_set(next);
            }
        }
        let _ = self.loading_more.try_set(false);
    }

    /// Highest confirmed id, or for the rep the message before the oldest own
    /// message the customer has not read yet, so that catching up also refreshes
    /// those read receipts.
    fn resume_point(&self) -> i64 {
        self.msgs
            .try_with_untracked(|l| {
                let max = l.iter().filter_map(|m| m.id).max().unwrap_or(0);
                let oldest_unread = l
                    .iter()
                    .filter(|m| m.mine && m.read == Some(false))
                    .filter_map(|m| m.id)
                    .min();
                match oldest_unread {
                    Some(u) => (u - 1).min(max),
                    None => max,
                }
            })
            .unwrap_or(0)
    }

    fn max_id(&self) -> i64 {
        self.msgs
            .try_with_untracked(|l| l.iter().filter_map(|m| m.id).max().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Fetches everything after the resume point over REST.
    async fn catch_up(&self) -> Result<(), String> {
        let mut after = self.resume_point();
        loop {
            let env = self
                .history(vec![
                    ("after_id", after.to_string()),
                    ("length", CATCH_UP.to_string()),
                ])
                .await?;
            if env.code != 200 {
                return Err(client::loose_describe(&env));
            }
            let items = list_of(&env);
            self.take_items(&items);
            let last = items.iter().filter_map(|v| int_of(v, "id")).max();
            match last {
                Some(l) if items.len() as i64 >= CATCH_UP && l > after => after = l,
                _ => return Ok(()),
            }
        }
    }

    /// The REST fallback of the count socket.
    async fn refresh_unread(&self) {
        let (Side::Customer { rep_id }, Some(c)) = (self.side, self.creds()) else {
            return;
        };
        if self.unread_live.get_untracked() {
            return;
        }
        if let Ok(env) = client::loose_get(
            &c,
            "gongzhonghao/chat/query_num/0",
            &[("u_id", rep_id.to_string())],
        )
        .await
        {
            if let Some(n) = int_of(&env.data, "chatinfo_count") {
                let _ = self.unread.try_set(n);
            }
        }
    }

    fn apply_frame(&self, v: &Value) -> bool {
        let code = int_of(v, "code").unwrap_or(0);
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        // The count in chat frames is the one before the push; the badge
        // follows the count socket instead.
        if let Some(items) = data.get("ret_data").and_then(Value::as_array) {
            self.take_items(items);
        }
        if code == 202 {
            // Read receipt: the customer has read up to `last_read_id` (all, if absent).
            let upto = int_of(&data, "last_read_id").unwrap_or(i64::MAX);
            let _ = self.msgs.try_update(|l| {
                for m in l
                    .iter_mut()
                    .filter(|m| m.mine && m.id.is_some_and(|id| id <= upto))
                {
                    m.read = Some(true);
                }
            });
        }
        code == 199
    }

    fn register_frame(&self, creds: &Creds) -> Value {
        let peer = match self.side {
            Side::Rep { customer_id } => ("customer_id", json!(customer_id)),
            Side::Customer { rep_id } => ("u_id", json!(rep_id)),
        };
        client::register_frame(creds, &[("after_id", json!(self.max_id())), peer])
    }

    /// Customer side: while the page is hidden the chat socket is switched to
    /// output mode (`query_num`), so the rep's messages stay unread and the count
    /// goes up; when it is visible again, registering switches back to input mode
    /// and `getmsg` marks what arrived meanwhile as read.
    async fn follow_visibility(&self, ws: &mut Socket, creds: &Creds, output: &mut bool) {
        let Side::Customer { rep_id } = self.side else {
            return;
        };
        let hidden = !client::visible();
        if hidden == *output {
            return;
        }
        *output = hidden;
        if hidden {
            let mut f = client::register_frame(creds, &[("u_id", json!(rep_id))]);
            if let Some(o) = f.as_object_mut() {
                o.insert("type".into(), json!("query_num"));
            }
            let _ = ws.send(&f).await;
            return;
        }
        let _ = ws.send(&self.register_frame(creds)).await;
        if let Ok(env) = client::loose_get(
            creds,
            "gongzhonghao/chat/getmsg/0",
            &[("u_id", rep_id.to_string())],
        )
        .await
        {
            if env.code == 200 {
                self.take_items(&list_of(&env));
            }
        }
    }

    /// The background task: catch up, go live on the socket, fall back to polling,
    /// reconnect with backoff; stops when the page goes away.
    async fn run(self, alive: Arc<AtomicBool>, kick: Arc<AtomicU32>) {
        let mut backoff = 1000;
        let mut socket_missing_until = 0i64;
        while alive.load(Ordering::Relaxed) {
            if !client::online() {
                let _ = self.conn.try_set(Conn::Offline);
                client::sleep(500).await;
                continue;
            }
            let Some(creds) = self.creds() else { return };
            if self.catch_up().await.is_err() {
                let _ = self.conn.try_set(Conn::Reconnecting);
                client::sleep(backoff).await;
                backoff = (backoff * 2).min(15_000);
                continue;
            }
            self.refresh_unread().await;
            if client::now_ms() < socket_missing_until {
                let _ = self.conn.try_set(Conn::Polling);
                client::sleep(POLL_MS).await;
                continue;
            }
            let Some(mut ws) = Socket::open(&creds, self.side.socket_path()) else {
                socket_missing_until = client::now_ms() + 30_000;
                continue;
            };
            let mut registered = false;
            let seen_kick = kick.load(Ordering::Relaxed);
            let opened = client::now_ms();
            let mut last_lived = opened;
            let mut output = false;
            let _ = ws.send(&self.register_frame(&creds)).await;
            loop {
                if !alive.load(Ordering::Relaxed)
                    || !client::online()
                    || kick.load(Ordering::Relaxed) != seen_kick
                {
                    break;
                }
                if registered {
                    self.follow_visibility(&mut ws, &creds, &mut output).await;
                    // Output mode counts only once the server answered `query_num`;
                    // until then it may still mark pushed messages read.
                    if !output {
                        let _ = self.output.try_set(false);
                    }
                }
                // Short waits: a hidden page must leave input mode promptly.
                match ws.next(250).await {
                    Frame::Json(v) => {
                        if output && v.get("msg").and_then(Value::as_str) == Some(QUERY_NUM_ACK) {
                            let _ = self.output.try_set(true);
                        }
                        if self.apply_frame(&v) {
                            registered = true;
                            backoff = 1000;
                            let _ = self.conn.try_set(Conn::Live);
                        }
                        if int_of(&v, "code") == Some(400) {
                            break;
                        }
                    }
                    Frame::Timeout => {
                        let now = client::now_ms();
                        if now - last_lived >= 25_000 {
                            last_lived = now;
                            let mut f = client::register_frame(&creds, &[]);
                            if let Some(o) = f.as_object_mut() {
                                o.insert("type".into(), json!("lived"));
                            }
                            let _ = ws.send(&f).await;
                        }
                        if !registered && now - opened >= 5000 {
                            break;
                        }
                    }
                    Frame::Closed => break,
                }
            }
            ws.close();
            let _ = self.output.try_set(false);
            if !alive.load(Ordering::Relaxed) {
                return;
            }
            if !registered {
                // The server has no socket for this conversation (or refused it):
                // keep the page live by polling and try the socket again later.
                socket_missing_until = client::now_ms() + 30_000;
                let _ = self.conn.try_set(Conn::Polling);
            } else {
                let _ = self.conn.try_set(if client::online() {
                    Conn::Reconnecting
                } else {
                    Conn::Offline
                });
                client::sleep(300).await;
            }
        }
    }

    fn send(self, content: Map<String, Value>, client_id: Option<String>) {
        let Some(creds) = self.creds() else { return };
        let client_id = client_id.unwrap_or_else(|| {
            format!(
                "web-{}-{}",
                client::now_ms(),
                self.msgs.with_untracked(Vec::len)
            )
        });
        let exists = self
            .msgs
            .with_untracked(|l| l.iter().any(|m| m.client_id.as_deref() == Some(&client_id)));
        if exists {
            self.msgs.update(|l| {
                if let Some(m) = l
                    .iter_mut()
                    .find(|m| m.client_id.as_deref() == Some(&client_id))
                {
                    m.failed = false;
                }
            });
        } else {
            self.msgs.update(|l| {
                l.push(Msg {
                    key: client_id.clone(),
                    id: None,
                    client_id: Some(client_id.clone()),
                    mine: true,
                    system: false,
                    content: content.clone(),
                    time: String::new(),
                    read: None,
                    failed: false,
                })
            });
        }
        client::scroll_to_bottom("chat-scroll");
        let body = Value::Object(content).to_string();
        leptos::task::spawn_local(async move {
            let (path, mut form) = match self.side {
                Side::Rep { customer_id } => (
                    "qiyeweixin/chat/send_msg/0",
                    vec![
                        ("customer_id", customer_id.to_string()),
                        ("user_id", creds.user_id.to_string()),
                        ("send_type", "1".to_string()),
                    ],
                ),
                Side::Customer { rep_id } => (
                    "gongzhonghao/chat/send_msg/0",
                    vec![("u_id", rep_id.to_string()), ("send_type", "2".to_string())],
                ),
            };
            form.push(("content", body));
            form.push(("client_msg_id", client_id.clone()));
            let res = client::loose_post(&creds, path, &[], &form).await;
            let _ = self.msgs.try_update(|l| {
                let Some(pos) = l
                    .iter()
                    .position(|m| m.client_id.as_deref() == Some(&client_id))
                else {
                    return;
                };
                match res {
                    Ok(env) if env.code == 200 => {
                        let id = int_of(&env.data, "id");
                        let adopted = l[pos].id;
                        if adopted.is_some() && adopted != id {
                            // The bubble took over a same-text message from another
                            // device; give that one its own bubble back.
                            let mut other = l[pos].clone();
                            other.key = format!("m{}", adopted.unwrap_or_default());
                            other.client_id = None;
                            l.push(other);
                        }
                        if adopted != id && id.is_some() && l.iter().any(|m| m.id == id) {
                            // The socket delivered it first.
                            l.retain(|m| m.client_id.as_deref() != Some(&client_id));
                        } else if let Some(m) = l
                            .iter_mut()
                            .find(|m| m.client_id.as_deref() == Some(&client_id))
                        {
                            m.id = id;
                            m.time = str_of(&env.data, "dateTime");
                            if matches!(self.side, Side::Rep { .. }) && m.read.is_none() {
                                m.read = Some(false);
                            }
                        }
                        sort(l);
                    }
                    _ => l[pos].failed = true,
                }
            });
        });
    }
}

#[component]
pub fn RepChat() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()));
    match id {
        Some(customer_id) if customer_id > 0 => view! { <ChatPage side=Side::Rep { customer_id }/> }.into_any(),
        _ => view! { <TopBar title=Signal::stored("聊天".to_string()) back="/rep"/><Failed msg="客户ID无效"/> }.into_any(),
    }
}

#[component]
pub fn CustomerChat() -> impl IntoView {
    // `u_id` is read in the browser (the server never needs it: the page loads its
    // data after hydration).
    let side = RwSignal::new(None::<Result<Side, String>>);
    Effect::new(move |_| {
        let s = match client::query_param("u_id").and_then(|u| u.trim().parse::<i64>().ok()) {
            Some(rep_id) if rep_id > 0 => Ok(Side::Customer { rep_id }),
            _ => Err("链接缺少顾问ID（u_id）".to_string()),
        };
        side.set(Some(s));
    });
    move || match side.get() {
        None => {
            view! { <TopBar title=Signal::stored("在线咨询".to_string())/><Loading/> }.into_any()
        }
        Some(Err(e)) => {
            view! { <TopBar title=Signal::stored("在线咨询".to_string())/><Failed msg=e/> }
                .into_any()
        }
        Some(Ok(s)) => view! { <ChatPage side=s/> }.into_any(),
    }
}

#[component]
fn ChatPage(side: Side) -> impl IntoView {
    let chat = Chat::new(side);
    let alive = Arc::new(AtomicBool::new(true));
    let kick = Arc::new(AtomicU32::new(0));
    on_cleanup({
        let a = alive.clone();
        move || a.store(false, Ordering::Relaxed)
    });
    {
        let alive = alive.clone();
        let kick = kick.clone();
        Effect::new(move |_| {
            let creds = client::take_creds(side.role());
            match creds {
                None => chat.state.set(super::Load::Failed(
                    if matches!(side, Side::Rep { .. }) {
                        NO_CREDS_REP
                    } else {
                        NO_CREDS_H5
                    }
                    .into(),
                )),
                Some(c) => {
                    chat.creds.set_value(Some(c.clone()));
                    if let Side::Customer { rep_id } = side {
                        let a = alive.clone();
                        leptos::task::spawn_local(client::follow_count(
                            c,
                            "gongzhonghao/websocket/gongzhonghao_query_info_num",
                            vec![("u_id", json!(rep_id))],
                            move || a.load(Ordering::Relaxed),
                            move |n| {
                                let _ = chat.unread.try_set(n);
                            },
                            move |live| {
                                let _ = chat.unread_live.try_set(live);
                            },
                        ));
                    }
                    let alive = alive.clone();
                    let kick = kick.clone();
                    leptos::task::spawn_local(async move {
                        chat.load_first().await;
                        if chat.state.try_get_untracked() == Some(super::Load::Ready) {
                            chat.run(alive, kick).await;
                        }
                    });
                }
            }
        });
    }
    // Dropping the socket when the browser goes offline makes the return visible
    // and resumes from the last id once it is back.
    {
        let kick = kick.clone();
        let h = window_event_listener(leptos::ev::offline, move |_| {
            kick.fetch_add(1, Ordering::Relaxed);
            chat.conn.set(Conn::Offline);
        });
        on_cleanup(move || h.remove());
    }

    let title = Signal::derive(move || {
        let name = chat.peer_name.get();
        match side {
            Side::Rep { customer_id } => {
                if name.is_empty() {
                    format!("客户 #{customer_id}")
                } else {
                    name
                }
            }
            Side::Customer { .. } => {
                if name.is_empty() {
                    "在线咨询".into()
                } else {
                    format!("与{name}聊天")
                }
            }
        }
    });
    Effect::new(move |_| {
        let n = chat.unread.get();
        let t = title.get();
        client::set_title(&if n > 0 { format!("({n}) {t}") } else { t });
    });

    let back = match side {
        Side::Rep { .. } => Some("/rep".to_string()),
        Side::Customer { .. } => None,
    };
    let retry = Callback::new(move |_| leptos::task::spawn_local(chat.load_first()));
    let has_more = move || chat.page.get() * PAGE < chat.total.get();

    view! {
        <div class="chat-page" data-mode=move || if chat.output.get() { "output" } else { "input" }>
            {match back {
                Some(b) => view! {
                    <TopBar title=title back=b>
                        <span class=move || chat.conn.get().class() data-testid="conn">{move || chat.conn.get().label()}</span>
                        {match side {
                            Side::Rep { customer_id } => Some(view! { <A href=format!("/rep/customer/{customer_id}") attr:class="topbar-link">"资料"</A> }),
                            _ => None,
                        }}
                    </TopBar>
                }.into_any(),
                None => view! {
                    <TopBar title=title>
                        <span class=move || chat.conn.get().class() data-testid="conn">{move || chat.conn.get().label()}</span>
                        {move || (chat.unread.get() > 0).then(|| view! { <span class="badge" data-testid="unread">{chat.unread.get()}</span> })}
                    </TopBar>
                }.into_any(),
            }}
            <div class="chat-scroll" id="chat-scroll">
                {move || match chat.state.get() {
                    super::Load::Loading => view! { <Loading text="正在加载聊天记录…"/> }.into_any(),
                    super::Load::Failed(m) => view! { <Failed msg=m retry=retry/> }.into_any(),
                    _ => view! {
                        {move || has_more().then(|| view! {
                            <button class="load-earlier" disabled=move || chat.loading_more.get()
                                on:click=move |_| leptos::task::spawn_local(chat.load_earlier())>
                                {move || if chat.loading_more.get() { "加载中…" } else { "查看更早的消息" }}
                            </button>
                        })}
                        {move || chat.msgs.with(Vec::is_empty).then(|| view! {
                            <Empty text="还没有消息，打个招呼吧" icon="💬"/>
                        })}
                        <ul class="msgs" data-testid="messages">
                            <For each=move || chat.msgs.get() key=Msg::render_key let:m>
                                <Bubble m=m chat=chat/>
                            </For>
                        </ul>
                    }.into_any(),
                }}
            </div>
            <Composer chat=chat/>
        </div>
    }
}

#[component]
fn Bubble(m: Msg, chat: Chat) -> impl IntoView {
    if m.system {
        return view! { <li class="msg-tip">{MessageContent::preview(&m.content)}</li> }.into_any();
    }
    let class = if m.mine { "msg mine" } else { "msg theirs" };
    let status = if m.failed {
        let content = m.content.clone();
        let cid = m.client_id.clone();
        view! {
            <span class="msg-status failed">"发送失败 "
                <button class="link" on:click=move |_| chat.send(content.clone(), cid.clone())>"重发"</button>
            </span>
        }
        .into_any()
    } else if m.id.is_none() {
        view! { <span class="msg-status sending">"发送中…"</span> }.into_any()
    } else {
        match m.read {
            Some(true) => view! { <span class="msg-status read">"已读"</span> }.into_any(),
            Some(false) => view! { <span class="msg-status unread">"未读"</span> }.into_any(),
            None => ().into_any(),
        }
    };
    let id_attr = m.id.map(|i| i.to_string()).unwrap_or_default();
    view! {
        <li class=class data-id=id_attr>
            <div class="msg-body">{content_view(&m.content)}</div>
            <div class="msg-meta">
                <span class="msg-time">{short_time(&m.time)}</span>
                {status}
            </div>
        </li>
    }
    .into_any()
}

/// `2018-09-21T15:18:01.548` or `2018-09-21 15:18:01` → `09-21 15:18`.
fn short_time(t: &str) -> String {
    let t = t.replace('T', " ");
    match (t.get(5..10), t.get(11..16)) {
        (Some(d), Some(h)) => format!("{d} {h}"),
        _ => t,
    }
}

fn content_view(c: &Map<String, Value>) -> AnyView {
    let s = |k: &str| {
        c.get(k)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    match c.get("info_type").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|x| x.parse().ok()))) {
        Some(2) => {
            let cover = s("product_cover_url");
            view! {
                <div class="card-product">
                    {(!cover.is_empty()).then(|| view! { <img src=cover alt="" loading="lazy"/> })}
                    <div>
                        <div class="card-title">{s("product_name")}</div>
                        {(!s("product_price").is_empty()).then(|| view! { <div class="card-price">"¥" {s("product_price")}</div> })}
                        <div class="card-hint">"产品咨询"</div>
                    </div>
                </div>
            }
            .into_any()
        }
        Some(3) => view! { <p class="msg-text ask-phone">"📞 " {s("msg")}</p> }.into_any(),
        Some(4) => view! { <img class="msg-image" src=s("url") alt="图片" loading="lazy"/> }.into_any(),
        Some(5) => view! { <video class="msg-video" src=s("url") controls=true preload="metadata"></video> }.into_any(),
        _ => view! { <p class="msg-text">{s("msg")}</p> }.into_any(),
    }
}

#[component]
fn Composer(chat: Chat) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move || {
        if chat.creds().is_none() || chat.state.get_untracked() != super::Load::Ready {
            return;
        }
        let t = text.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        match MessageContent::text(&t).object().clone() {
            obj if t.chars().count() <= MAX_TEXT_CHARS => {
                match MessageContent::from_object(obj.clone()) {
                    Ok(_) => {
                        error.set(None);
                        text.set(String::new());
                        chat.send(obj, None);
                    }
                    Err(e) => error.set(Some(e)),
                }
            }
            _ => error.set(Some(format!("消息不能超过{MAX_TEXT_CHARS}个字符"))),
        }
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || error.get().map(|e| view! { <p class="field-error">{e}</p> })}
            <div class="composer-row">
                <textarea rows="1" placeholder="输入消息…" aria-label="消息" data-testid="composer"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button type="submit" class="btn btn-primary" data-testid="send"
                    disabled=move || text.with(|t| t.trim().is_empty()) || chat.state.get() != super::Load::Ready>"发送"</button>
            </div>
        </form>
    }
}

#[cfg(test)]
#[path = "tests/chat.rs"]
mod tests;
