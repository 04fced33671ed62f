//! The live chat, for the rep (`/rep/chat/{customer_id}`) and for the customer
//! (`/h5/chat?u_id=U`).
//!
//! History comes from REST; live messages from the conversation's socket,
//! kept live by [`live::run`]. Before every (re)connect the page catches up
//! over REST with `after_id` and then registers on the socket with the same
//! `after_id`, so nothing is missed; every message is keyed by its server
//! `id`, so nothing is shown twice. Where the socket is not available the page
//! keeps catching up over REST every few seconds.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::params::Params;

use super::client::{self, Creds, Role};
use super::live::{self, CountPage, Link, LiveHandle, LivePage, Sender, Verdict};
use super::{Empty, Failed, Loading, TopBar, NO_CREDS_H5, NO_CREDS_REP};
use crate::api::chat::{
    ChatInfoCount, ClientFrame, Content, ContentView, CountUpdate, CustomerChatFrame,
    CustomerHistory, CustomerMessage, FrameType, SalesChatFrame, SalesHistory, SalesMessage,
    SentMessage, Unread, Uploaded,
};
use crate::api::{Failure, SendType, Side};
use crate::domain::{MessageContent, MAX_TEXT_CHARS};

const PAGE: i64 = 20;
const CATCH_UP: i64 = 100;
const POLL_MS: i32 = 2000;
/// Pages of history loaded at most to reach a message opened from search.
const SEEK_MAX_PAGES: i64 = 500;
/// How long a message opened from search stays highlighted.
const HIGHLIGHT_MS: i32 = 4000;

/// Which end of the conversation this page is, and the other party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    pub side: Side,
    /// The customer (rep page) or the rep (customer page).
    pub peer: i64,
}

impl End {
    fn rep(customer_id: i64) -> End {
        End {
            side: Side::Sales,
            peer: customer_id,
        }
    }
    fn customer(rep_id: i64) -> End {
        End {
            side: Side::Customer,
            peer: rep_id,
        }
    }
    fn role(self) -> Role {
        match self.side {
            Side::Sales => Role::Rep,
            Side::Customer => Role::Customer,
        }
    }
    fn history_path(self) -> &'static str {
        match self.side {
            Side::Sales => "qiyeweixin/chat",
            Side::Customer => "gongzhonghao/chat",
        }
    }
    /// The query parameter naming the other party.
    fn peer_param(self) -> (&'static str, String) {
        match self.side {
            Side::Sales => ("customer_id", self.peer.to_string()),
            Side::Customer => ("u_id", self.peer.to_string()),
        }
    }
    fn socket_path(self) -> &'static str {
        match self.side {
            Side::Sales => "qiyeweixin/websocket/leida_chat",
            Side::Customer => "gongzhonghao/websocket/gongzhonghao_chat",
        }
    }
    /// A frame naming the other party.
    fn frame(self, kind: FrameType) -> ClientFrame {
        let mut f = ClientFrame::of(kind);
        match self.side {
            Side::Sales => f.customer_id = Some(self.peer),
            Side::Customer => f.u_id = Some(self.peer),
        }
        f
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
    pub content: Content,
    pub time: String,
    /// Rep side: whether the customer has read this (own) message.
    pub read: Option<bool>,
    pub failed: bool,
}

impl Msg {
    fn stored(id: i64, mine: bool, send_type: SendType, content: Content, time: String) -> Msg {
        Msg {
            key: format!("m{id}"),
            id: Some(id),
            client_id: None,
            mine,
            system: send_type == SendType::SystemTip,
            content,
            time,
            read: None,
            failed: false,
        }
    }

    /// A message as the rep's page shows it; the read receipt of the rep's own.
    fn from_sales(m: SalesMessage) -> Msg {
        let mine = m.send_type == Side::Sales.send_type();
        let read = mine.then(|| m.read());
        Msg {
            read,
            ..Msg::stored(m.id, mine, m.send_type, m.content, m.date_time)
        }
    }

    fn from_customer(m: CustomerMessage) -> Msg {
        let mine = m.send_type == Side::Customer.send_type();
        Msg::stored(m.id, mine, m.send_type, m.content, m.date_time)
    }

    fn render_key(&self) -> String {
        format!("{}|{:?}|{:?}|{}", self.key, self.id, self.read, self.failed)
    }
}

/// Messages for the rep's page, and the customer's name (from their messages).
fn sales_msgs(items: Vec<SalesMessage>) -> (Vec<Msg>, Option<String>) {
    let name = items
        .iter()
        .find(|m| m.send_type == Side::Customer.send_type())
        .map(|m| m.name.clone())
        .filter(|n| !n.is_empty());
    (items.into_iter().map(Msg::from_sales).collect(), name)
}

fn customer_msgs(items: Vec<CustomerMessage>) -> Vec<Msg> {
    items.into_iter().map(Msg::from_customer).collect()
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
    a.content.view() == b.content.view()
}

fn sort(list: &mut [Msg]) {
    list.sort_by_key(|m| (m.id.is_none(), m.id.unwrap_or(i64::MAX)));
}

fn link_label(l: Link) -> &'static str {
    match l {
        Link::Connecting => "连接中…",
        Link::Live => "实时连接",
        Link::Polling => "已连接（轮询）",
        Link::Offline => "离线",
        Link::Reconnecting => "重新连接中…",
    }
}

fn link_class(l: Link) -> &'static str {
    match l {
        Link::Live => "conn conn-live",
        Link::Polling => "conn conn-poll",
        Link::Offline => "conn conn-off",
        _ => "conn conn-wait",
    }
}

/// A page of history, whichever side reads it.
struct History {
    msgs: Vec<Msg>,
    data_count: i64,
    peer_name: Option<String>,
}

/// What a chat socket frame means to the page.
#[derive(Debug)]
pub enum ChatEvent {
    Registered,
    Msgs(Vec<Msg>, Option<String>),
    /// The customer has read the rep's messages up to this id.
    Receipt(i64),
    /// The customer socket answered `query_num`: it is in output mode.
    QueryNum,
    Refused(crate::api::Refusal),
    Other,
}

impl From<SalesChatFrame> for ChatEvent {
    fn from(f: SalesChatFrame) -> ChatEvent {
        match f {
            SalesChatFrame::Registered => ChatEvent::Registered,
            SalesChatFrame::Push(p) => {
                let (msgs, name) = sales_msgs(p.ret_data);
                ChatEvent::Msgs(msgs, name)
            }
            SalesChatFrame::Receipt(r) => ChatEvent::Receipt(r.last_read_id),
            SalesChatFrame::Refused(r) => ChatEvent::Refused(r),
            SalesChatFrame::Lived => ChatEvent::Other,
        }
    }
}

impl From<CustomerChatFrame> for ChatEvent {
    fn from(f: CustomerChatFrame) -> ChatEvent {
        match f {
            CustomerChatFrame::Registered => ChatEvent::Registered,
            // The count in chat frames is the one before the push; the badge
            // follows the count socket instead.
            CustomerChatFrame::Push(p) => ChatEvent::Msgs(customer_msgs(p.ret_data), None),
            CustomerChatFrame::QueryNum(_) => ChatEvent::QueryNum,
            CustomerChatFrame::Refused(r) => ChatEvent::Refused(r),
            CustomerChatFrame::Sent(_) | CustomerChatFrame::Lived => ChatEvent::Other,
        }
    }
}

/// Everything the chat page and its background task share.
#[derive(Clone, Copy)]
struct Chat {
    end: End,
    creds: StoredValue<Option<Creds>>,
    msgs: RwSignal<Vec<Msg>>,
    state: RwSignal<super::Load>,
    conn: RwSignal<Link>,
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
    /// Customer side: this connection asked for output mode (it counts once answered).
    want_output: StoredValue<bool>,
    /// The message opened from search (`?msg=`), while it is highlighted.
    highlight: RwSignal<Option<i64>>,
}

impl Chat {
    fn new(end: End) -> Chat {
        Chat {
            end,
            creds: StoredValue::new(None),
            msgs: RwSignal::new(Vec::new()),
            state: RwSignal::new(super::Load::Loading),
            conn: RwSignal::new(Link::Connecting),
            page: RwSignal::new(1),
            total: RwSignal::new(0),
            loading_more: RwSignal::new(false),
            peer_name: RwSignal::new(String::new()),
            unread: RwSignal::new(0),
            unread_live: RwSignal::new(false),
            output: RwSignal::new(false),
            want_output: StoredValue::new(false),
            highlight: RwSignal::new(None),
        }
    }

    fn creds(&self) -> Option<Creds> {
        self.creds.try_get_value().flatten()
    }

    fn take(&self, new: Vec<Msg>, peer_name: Option<String>) {
        if let Some(n) = peer_name {
            let _ = self.peer_name.try_set(n);
        }
        if new.is_empty() {
            return;
        }
        let _ = self.msgs.try_update(|l| merge(l, new));
        client::scroll_to_bottom("chat-scroll");
    }

    async fn history(&self, params: Vec<(&'static str, String)>) -> Result<History, Failure> {
        let creds = self
            .creds()
            .ok_or_else(|| Failure::Transport("no creds".into()))?;
        let mut p = vec![self.end.peer_param()];
        p.extend(params);
        let path = self.end.history_path();
        Ok(match self.end.side {
            Side::Sales => {
                let d = client::get::<SalesHistory>(&creds, path, &p).await?.data;
                let (msgs, peer_name) = sales_msgs(d.ret_data);
                History {
                    msgs,
                    data_count: d.data_count,
                    peer_name,
                }
            }
            Side::Customer => {
                let d = client::get::<CustomerHistory>(&creds, path, &p).await?.data;
                // The customer's page is titled with the rep's name, from the card.
                History {
                    msgs: customer_msgs(d.ret_data),
                    data_count: d.data_count,
                    peer_name: Some(d.user_name).filter(|n| !n.is_empty()),
                }
            }
        })
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
            Ok(h) => {
                let _ = self.total.try_set(h.data_count);
                let _ = self.page.try_set(1);
                self.take(h.msgs, h.peer_name);
                let _ = self.state.try_set(super::Load::Ready);
                client::scroll_to_bottom("chat-scroll");
            }
            Err(f) => {
                let _ = self
                    .state
                    .try_set(super::Load::Failed(client::describe(&f)));
            }
        }
    }

    async fn load_earlier(self) {
        if self.loading_more.get_untracked() {
            return;
        }
        self.loading_more.set(true);
        let next = self.page.get_untracked() + 1;
        if let Ok(h) = self
            .history(vec![
                ("current_page", next.to_string()),
                ("length", PAGE.to_string()),
            ])
            .await
        {
            let _ = self.msgs.try_update(|l| merge(l, h.msgs));
            let _ = self.page.try_set(next);
        }
        let _ = self.loading_more.try_set(false);
    }

    /// Loads earlier pages until message `id` is in the list, then scrolls
    /// to it and highlights it for a moment. Nothing happens when it is not
    /// in this conversation.
    async fn seek(self, id: i64) {
        for _ in 0..SEEK_MAX_PAGES {
            let Some((found, oldest)) = self.msgs.try_with_untracked(|l| {
                (
                    l.iter().any(|m| m.id == Some(id)),
                    l.iter().filter_map(|m| m.id).min(),
                )
            }) else {
                return;
            };
            if found {
                break;
            }
            let more = self.page.get_untracked() * PAGE < self.total.get_untracked();
            if !more || oldest.is_some_and(|o| o < id) {
                return;
            }
            if self.loading_more.get_untracked() {
                client::sleep(100).await;
            } else {
                self.load_earlier().await;
            }
        }
        let _ = self.highlight.try_set(Some(id));
        // The list renders after the signal settles.
        for _ in 0..40 {
            client::sleep(50).await;
            if client::scroll_to_message(id) {
                break;
            }
        }
        client::sleep(HIGHLIGHT_MS).await;
        if self.highlight.try_get_untracked() == Some(Some(id)) {
            let _ = self.highlight.try_set(None);
        }
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
            let h = self
                .history(vec![
                    ("after_id", after.to_string()),
                    ("length", CATCH_UP.to_string()),
                ])
                .await
                .map_err(|f| client::describe(&f))?;
            let n = h.msgs.len() as i64;
            let last = h.msgs.iter().filter_map(|m| m.id).max();
            self.take(h.msgs, h.peer_name);
            match last {
                Some(l) if n >= CATCH_UP && l > after => after = l,
                _ => return Ok(()),
            }
        }
    }

    /// The REST fallback of the count socket.
    async fn refresh_unread(&self) {
        let (Side::Customer, Some(c)) = (self.end.side, self.creds()) else {
            return;
        };
        if self.unread_live.get_untracked() {
            return;
        }
        if let Ok(env) = client::get::<ChatInfoCount>(
            &c,
            "gongzhonghao/chat/query_num/0",
            &[self.end.peer_param()],
        )
        .await
        {
            let _ = self.unread.try_set(env.data.chatinfo_count);
        }
    }

    /// Customer side: while the page is hidden the chat socket is switched to
    /// output mode (`query_num`), so the rep's messages stay unread and the count
    /// goes up; when it is visible again, registering switches back to input mode
    /// and `getmsg` marks what arrived meanwhile as read.
    async fn follow_visibility(&self, tx: &mut Sender<'_>) {
        if self.end.side != Side::Customer {
            return;
        }
        let hidden = !client::visible();
        let asked = self.want_output.try_get_value().unwrap_or(false);
        if hidden != asked {
            self.want_output.set_value(hidden);
            if hidden {
                let _ = tx.send(self.end.frame(FrameType::QueryNum)).await;
                return;
            }
            let _ = tx.send(self.register()).await;
            if let Some(c) = self.creds() {
                if let Ok(env) = client::get::<Unread<CustomerMessage>>(
                    &c,
                    "gongzhonghao/chat/getmsg/0",
                    &[self.end.peer_param()],
                )
                .await
                {
                    self.take(customer_msgs(env.data.ret_data), None);
                }
            }
        }
        // Output mode counts only once the server answered `query_num`; until
        // then it may still mark pushed messages read.
        if !hidden {
            let _ = self.output.try_set(false);
        }
    }

    fn send(self, content: Content, client_id: Option<String>) {
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
        let body = serde_json::to_string(&content).unwrap_or_default();
        leptos::task::spawn_local(async move {
            let peer = self.end.peer.to_string();
            let (path, mut form) = match self.end.side {
                Side::Sales => (
                    "qiyeweixin/chat/send_msg/0",
                    vec![
                        ("customer_id", peer),
                        ("user_id", creds.user_id.to_string()),
                        ("send_type", Side::Sales.send_type().code().to_string()),
                    ],
                ),
                Side::Customer => (
                    "gongzhonghao/chat/send_msg/0",
                    vec![
                        ("u_id", peer),
                        ("send_type", Side::Customer.send_type().code().to_string()),
                    ],
                ),
            };
            form.push(("content", body));
            form.push(("client_msg_id", client_id.clone()));
            let res = client::post::<SentMessage>(&creds, path, &[], &form).await;
            let _ = self.msgs.try_update(|l| {
                let Some(pos) = l
                    .iter()
                    .position(|m| m.client_id.as_deref() == Some(&client_id))
                else {
                    return;
                };
                match res {
                    Ok(env) => {
                        let id = Some(env.data.id);
                        let adopted = l[pos].id;
                        if adopted.is_some() && adopted != id {
                            // The bubble took over a same-text message from another
                            // device; give that one its own bubble back.
                            let mut other = l[pos].clone();
                            other.key = format!("m{}", adopted.unwrap_or_default());
                            other.client_id = None;
                            l.push(other);
                        }
                        if adopted != id && l.iter().any(|m| m.id == id) {
                            // The socket delivered it first.
                            l.retain(|m| m.client_id.as_deref() != Some(&client_id));
                        } else if let Some(m) = l
                            .iter_mut()
                            .find(|m| m.client_id.as_deref() == Some(&client_id))
                        {
                            m.id = id;
                            m.time = env.data.date_time;
                            if self.end.side == Side::Sales && m.read.is_none() {
                                m.read = Some(false);
                            }
                        }
                        sort(l);
                    }
                    Err(_) => l[pos].failed = true,
                }
            });
        });
    }
}

impl LivePage for Chat {
    type Frame = ChatEvent;

    fn path(&self) -> &'static str {
        self.end.socket_path()
    }

    fn parse(&self, text: &str) -> Result<ChatEvent, String> {
        match self.end.side {
            Side::Sales => SalesChatFrame::parse(text).map(ChatEvent::from),
            Side::Customer => CustomerChatFrame::parse(text).map(ChatEvent::from),
        }
    }

    /// `register` from the newest message the page holds.
    fn register(&self) -> ClientFrame {
        ClientFrame {
            after_id: Some(self.max_id()),
            ..self.end.frame(FrameType::Register)
        }
    }

    async fn prepare(&self, _creds: &Creds) -> Result<(), String> {
        self.catch_up().await?;
        self.refresh_unread().await;
        Ok(())
    }

    fn poll_ms(&self) -> i32 {
        POLL_MS
    }

    fn on_open(&self) {
        self.want_output.set_value(false);
    }

    fn on_frame(&self, frame: ChatEvent) -> Verdict {
        match frame {
            ChatEvent::Registered => Verdict::Registered,
            ChatEvent::Msgs(msgs, name) => {
                self.take(msgs, name);
                Verdict::Continue
            }
            ChatEvent::Receipt(upto) => {
                let _ = self.msgs.try_update(|l| {
                    for m in l
                        .iter_mut()
                        .filter(|m| m.mine && m.id.is_some_and(|id| id <= upto))
                    {
                        m.read = Some(true);
                    }
                });
                Verdict::Continue
            }
            ChatEvent::QueryNum => {
                if self.want_output.try_get_value() == Some(true) {
                    let _ = self.output.try_set(true);
                }
                Verdict::Continue
            }
            ChatEvent::Refused(r) if r.code == 400 => Verdict::Drop,
            ChatEvent::Refused(_) | ChatEvent::Other => Verdict::Continue,
        }
    }

    async fn tick(&self, tx: &mut Sender<'_>) {
        self.follow_visibility(tx).await;
    }

    fn on_close(&self) {
        let _ = self.output.try_set(false);
    }

    fn on_link(&self, link: Link) {
        let _ = self.conn.try_set(link);
    }
}

#[component]
pub fn RepChat() -> impl IntoView {
    match super::route_id() {
        Some(customer_id) => view! { <ChatPage end=End::rep(customer_id)/> }.into_any(),
        _ => view! { <TopBar title=Signal::stored("聊天".to_string()) back="/rep"/><Failed msg="客户ID无效"/> }.into_any(),
    }
}

#[component]
pub fn CustomerChat() -> impl IntoView {
    // `u_id` is read in the browser (the server never needs it: the page loads its
    // data after hydration).
    let end = RwSignal::new(None::<Result<End, String>>);
    Effect::new(move |_| {
        let s = match client::query_param("u_id").and_then(|u| u.trim().parse::<i64>().ok()) {
            Some(rep_id) if rep_id > 0 => Ok(End::customer(rep_id)),
            _ => Err("链接缺少顾问ID（u_id）".to_string()),
        };
        end.set(Some(s));
    });
    move || match end.get() {
        None => {
            view! { <TopBar title=Signal::stored("在线咨询".to_string())/><Loading/> }.into_any()
        }
        Some(Err(e)) => {
            view! { <TopBar title=Signal::stored("在线咨询".to_string())/><Failed msg=e/> }
                .into_any()
        }
        Some(Ok(e)) => view! { <ChatPage end=e/> }.into_any(),
    }
}

/// `?msg=ID`: the message a search result opened.
#[derive(Debug, Clone, PartialEq, Params)]
struct FoundQuery {
    msg: Option<i64>,
}

#[component]
fn ChatPage(end: End) -> impl IntoView {
    let chat = Chat::new(end);
    // The message a search result opened (`?msg=ID`), read from the router: a
    // client-side navigation may render before the address bar changes.
    let target = match end.side {
        Side::Sales => leptos_router::hooks::use_query::<FoundQuery>()
            .with_untracked(|q| q.as_ref().ok().and_then(|q| q.msg))
            .filter(|id| *id > 0),
        Side::Customer => None,
    };
    let handle = LiveHandle::default();
    on_cleanup({
        let h = handle.clone();
        move || h.stop()
    });
    {
        let handle = handle.clone();
        Effect::new(move |_| match client::take_creds(end.role()) {
            None => chat.state.set(super::Load::Failed(
                match end.side {
                    Side::Sales => NO_CREDS_REP,
                    Side::Customer => NO_CREDS_H5,
                }
                .into(),
            )),
            Some(c) => {
                chat.creds.set_value(Some(c.clone()));
                if end.side == Side::Customer {
                    let count = CountPage {
                        path: "gongzhonghao/websocket/gongzhonghao_query_info_num",
                        register: end.frame(FrameType::Register),
                        parse: CountUpdate::parse_customer,
                        set: move |n| {
                            let _ = chat.unread.try_set(n);
                        },
                        set_live: move |live| {
                            let _ = chat.unread_live.try_set(live);
                        },
                    };
                    leptos::task::spawn_local(live::run(count, c.clone(), handle.clone()));
                }
                let handle = handle.clone();
                leptos::task::spawn_local(async move {
                    chat.load_first().await;
                    if chat.state.try_get_untracked() == Some(super::Load::Ready) {
                        if let Some(id) = target.filter(|i| *i > 0) {
                            leptos::task::spawn_local(chat.seek(id));
                        }
                        live::run(chat, c, handle).await;
                    }
                });
            }
        });
    }
    // Dropping the socket when the browser goes offline makes the return visible
    // and resumes from the last id once it is back.
    {
        let handle = handle.clone();
        let h = window_event_listener(leptos::ev::offline, move |_| {
            handle.kick();
            chat.conn.set(Link::Offline);
        });
        on_cleanup(move || h.remove());
    }

    let title = Signal::derive(move || {
        let name = chat.peer_name.get();
        match end.side {
            Side::Sales => {
                if name.is_empty() {
                    format!("客户 #{}", end.peer)
                } else {
                    name
                }
            }
            Side::Customer => {
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

    let back = match end.side {
        Side::Sales => Some("/rep".to_string()),
        Side::Customer => None,
    };
    let retry = Callback::new(move |_| leptos::task::spawn_local(chat.load_first()));
    let has_more = move || chat.page.get() * PAGE < chat.total.get();

    view! {
        <div class="chat-page" data-mode=move || if chat.output.get() { "output" } else { "input" }>
            {match back {
                Some(b) => view! {
                    <TopBar title=title back=b>
                        <span class=move || link_class(chat.conn.get()) data-testid="conn">{move || link_label(chat.conn.get())}</span>
                        {match end.side {
                            Side::Sales => Some(view! { <A href=format!("/rep/customer/{}", end.peer) attr:class="topbar-link">"资料"</A> }),
                            Side::Customer => None,
                        }}
                    </TopBar>
                }.into_any(),
                None => view! {
                    <TopBar title=title>
                        <span class=move || link_class(chat.conn.get()) data-testid="conn">{move || link_label(chat.conn.get())}</span>
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
        return view! { <li class="msg-tip">{m.content.preview()}</li> }.into_any();
    }
    let side = if m.mine { "msg mine" } else { "msg theirs" };
    let own_id = m.id;
    let class = move || {
        if own_id.is_some() && chat.highlight.get() == own_id {
            format!("{side} msg-found")
        } else {
            side.to_string()
        }
    };
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

fn content_view(c: &Content) -> AnyView {
    match c.view() {
        ContentView::Product {
            name,
            price,
            cover_url,
        } => view! {
            <div class="card-product">
                {(!cover_url.is_empty()).then(|| view! { <img src=cover_url alt="" loading="lazy"/> })}
                <div>
                    <div class="card-title">{name}</div>
                    {(!price.is_empty()).then(|| view! { <div class="card-price">"¥" {price}</div> })}
                    <div class="card-hint">"产品咨询"</div>
                </div>
            </div>
        }
        .into_any(),
        ContentView::AskPhone(msg) => view! { <p class="msg-text ask-phone">"📞 " {msg}</p> }.into_any(),
        ContentView::Image(url) => view! { <MessageImage url/> }.into_any(),
        ContentView::Video(url) => view! { <video class="msg-video" src=url controls=true playsinline=true preload="metadata"></video> }.into_any(),
        ContentView::Text(msg) => view! { <p class="msg-text">{msg}</p> }.into_any(),
    }
}

/// A message picture; a tap opens it full size in an in-page viewer, because
/// a new tab is a dead end inside WeChat's webview. The link stays the
/// fallback until the page is hydrated.
#[component]
fn MessageImage(url: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let close_button = NodeRef::<leptos::html::Button>::new();
    // Focus inside the dialog, so that Escape reaches its key handler.
    Effect::new(move |_| {
        if open.get() {
            if let Some(b) = close_button.get() {
                let _ = b.focus();
            }
        }
    });
    let full = url.clone();
    let href = url.clone();
    let viewer = move || {
        open.get().then(|| {
            let src = full.clone();
            view! {
                <div class="image-viewer" role="dialog" aria-modal="true" aria-label="查看图片" data-testid="image-viewer"
                    on:click=move |_| open.set(false)
                    on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
                    <button type="button" class="image-viewer-close" aria-label="关闭" node_ref=close_button>"×"</button>
                    <img class="image-viewer-img" src=src alt="图片"/>
                </div>
            }
        })
    };
    view! {
        <a class="msg-image-link" href=href target="_blank" rel="noopener"
            on:click=move |ev| { ev.prevent_default(); open.set(true); }>
            <img class="msg-image" src=url alt="图片" loading="lazy"/>
        </a>
        {viewer}
    }
}

/// A photo or video on its way: previewed at once, uploaded with progress,
/// then sent as an `info_type` 4 or 5 message through [`Chat::send`] like
/// text. A failed upload keeps its preview, with a retry unless the server
/// refused the file itself.
#[derive(Clone, Copy)]
struct Attachment {
    chat: Chat,
    error: RwSignal<Option<String>>,
    file: StoredValue<Option<client::Picked>, client::PickedStorage>,
    preview: RwSignal<Option<(String, bool)>>,
    /// Fraction sent, `None` when not uploading.
    progress: RwSignal<Option<f64>>,
    failed: RwSignal<Option<UploadFailed>>,
}

/// Why an upload failed, and whether sending the same file again can help.
#[derive(Debug, Clone, PartialEq)]
struct UploadFailed {
    why: String,
    retry: bool,
}

/// The server's 402 field error on `file` refuses the file itself (its type,
/// its size): the same bytes would be refused again, so no retry. Anything
/// else (no answer, a 5xx, the write rate) may pass next time.
fn upload_failed(f: &Failure) -> UploadFailed {
    if let Failure::Refused(r) = f {
        if r.code == 402 {
            if let Some(why) = r.field_errors().message("file") {
                return UploadFailed {
                    why: why.to_owned(),
                    retry: false,
                };
            }
        }
    }
    UploadFailed {
        why: client::describe(f),
        retry: true,
    }
}

const MAX_IMAGE_MB: f64 = 10.0;
const MAX_VIDEO_MB: f64 = 50.0;

impl Attachment {
    fn new(chat: Chat, error: RwSignal<Option<String>>) -> Attachment {
        Attachment {
            chat,
            error,
            file: StoredValue::new_with_storage(None),
            preview: RwSignal::new(None),
            progress: RwSignal::new(None),
            failed: RwSignal::new(None),
        }
    }

    fn pick(self, file: Option<client::Picked>) {
        let Some(file) = file else { return };
        let (_, size, video) = client::picked_info(&file);
        let max = if video { MAX_VIDEO_MB } else { MAX_IMAGE_MB };
        if size > max * 1024.0 * 1024.0 {
            self.error.set(Some(format!(
                "{}不能超过{max}MB",
                if video { "视频" } else { "图片" }
            )));
            return;
        }
        self.error.set(None);
        self.clear();
        self.preview.set(Some((client::preview_url(&file), video)));
        self.file.set_value(Some(file));
        self.start();
    }

    fn clear(self) {
        if let Some((url, _)) = self.preview.get_untracked() {
            client::revoke_preview(&url);
        }
        self.preview.set(None);
        self.progress.set(None);
        self.failed.set(None);
        self.file.set_value(None);
    }

    fn start(self) {
        let Some(creds) = self.chat.creds() else {
            return;
        };
        self.failed.set(None);
        self.progress.set(Some(0.0));
        let path = match self.chat.end.side {
            Side::Sales => "qiyeweixin/chat/upload/0",
            Side::Customer => "gongzhonghao/chat/upload/0",
        };
        leptos::task::spawn_local(async move {
            let progress = self.progress;
            let Some(file) = self.file.get_value() else {
                return;
            };
            let res = client::upload::<Uploaded>(&creds, path, &file, move |p| {
                let _ = progress.try_set(Some(p));
            })
            .await;
            match res {
                Ok(env) => {
                    let mut m = serde_json::Map::new();
                    m.insert("info_type".into(), env.data.info_type.into());
                    m.insert("url".into(), env.data.url.into());
                    match MessageContent::from_object(m) {
                        Ok(valid) => {
                            self.clear();
                            self.chat.send(Content::from(&valid), None);
                        }
                        Err(why) => {
                            let _ = self.progress.try_set(None);
                            let _ = self.failed.try_set(Some(UploadFailed { why, retry: true }));
                        }
                    }
                }
                Err(f) => {
                    let _ = self.progress.try_set(None);
                    let _ = self.failed.try_set(Some(upload_failed(&f)));
                }
            }
        });
    }

    fn view(self) -> Option<AnyView> {
        let (url, video) = self.preview.get()?;
        let media = if video {
            view! { <video class="attach-preview" src=url muted=true playsinline=true></video> }
                .into_any()
        } else {
            view! { <img class="attach-preview" src=url alt="预览"/> }.into_any()
        };
        let status = match (self.progress.get(), self.failed.get()) {
            (_, Some(UploadFailed { why, retry })) => view! {
                <span class="msg-status failed" data-testid="upload-failed">{format!("上传失败：{why} ")}
                    {retry.then(|| view! { <button type="button" class="link" on:click=move |_| self.start()>"重试"</button> })}
                    <button type="button" class="link" on:click=move |_| self.clear()>"取消"</button>
                </span>
            }
            .into_any(),
            (Some(p), None) => {
                let pct = (p * 100.0).round() as i64;
                view! {
                    <progress class="attach-progress" max="100" value=pct.to_string() data-testid="upload-progress"></progress>
                    <span class="msg-status sending">{format!("上传中 {pct}%")}</span>
                }
                .into_any()
            }
            (None, None) => ().into_any(),
        };
        Some(view! { <div class="attach-pending" data-testid="attach-pending">{media}{status}</div> }.into_any())
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
        if t.chars().count() > MAX_TEXT_CHARS {
            error.set(Some(format!("消息不能超过{MAX_TEXT_CHARS}个字符")));
            return;
        }
        match MessageContent::from_object(MessageContent::text(&t).object().clone()) {
            Ok(valid) => {
                error.set(None);
                text.set(String::new());
                chat.send(Content::from(&valid), None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let attach = Attachment::new(chat, error);
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || error.get().map(|e| view! { <p class="field-error">{e}</p> })}
            {move || attach.view()}
            <div class="composer-row">
                <label class="btn attach" aria-label="发送图片或视频" title="发送图片或视频">
                    "＋"
                    <input type="file" accept="image/*,video/mp4" class="attach-input" data-testid="attach"
                        on:change=move |ev| attach.pick(client::picked_file(&ev))/>
                </label>
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
