//! `/rep`: the rep's customers, sorted by deal probability, last follow-up or last
//! activity (`tongxunlu`), decorated with the unread count and last message of the
//! rep's inbox feed (`leida_query_contact_list`, kept live by [`live::run`]),
//! which updates live: a customer who writes, reads an article or signs up
//! gets fresh data and takes the place the chosen order gives it (see
//! [`place`]). More rows load as the list is scrolled to its end.
//!
//! A search box above the list finds messages of the rep's conversations
//! (`qiyeweixin/chat/search`); a result opens the chat at that message.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;

use super::client::{self, Creds, Role};
use super::live::{self, CountPage, Link, LiveHandle, LivePage, Verdict};
use super::{Avatar, Empty, Failed, Load, Loading, TopBar, NO_CREDS_REP};
use crate::api::chat::{
    ClientFrame, CountUpdate, FrameType, InboxItem, InboxPage, InboxUpdate, LastSeen, SearchHit,
    SearchPage,
};
use crate::api::crm::{ContactItem, Page};
use crate::api::Failure;

const LENGTH: i64 = 20;

/// Where a re-read row goes in the list under `order` (`at`: where it was,
/// already taken out). A message or a view is activity, so the row leads
/// `-last_activity_time`; under `-expedted_pr` it goes by its probability,
/// highest first and none last, as the server sorts (staying where it was
/// among equals); under the other orders it keeps its place, a new row
/// (no follow-up yet) going last.
fn place(order: &str, rows: &[Row], row: &Row, at: Option<usize>) -> usize {
    let rank = |r: &Row| r.pr.unwrap_or(-1);
    match order {
        "-last_activity_time" => 0,
        "-expedted_pr" => {
            let me = rank(row);
            if let Some(i) = at.filter(|&i| i <= rows.len()) {
                let after_higher = i == 0 || rank(&rows[i - 1]) >= me;
                let before_lower = i == rows.len() || rank(&rows[i]) <= me;
                if after_higher && before_lower {
                    return i;
                }
            }
            rows.iter().position(|r| rank(r) < me).unwrap_or(rows.len())
        }
        _ => at.map_or(rows.len(), |i| i.min(rows.len())),
    }
}

const ORDERS: [(&str, &str); 3] = [
    ("-expedted_pr", "预计成交概率"),
    ("-last_follow_time", "最后跟进"),
    ("-last_activity_time", "最后活动"),
];

#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: i64,
    name: String,
    avatar: String,
    pr: Option<i64>,
    expected: String,
    follow_status: String,
    last_seen: String,
    source: String,
}

impl From<ContactItem> for Row {
    fn from(v: ContactItem) -> Row {
        let id = v.customer_id;
        Row {
            id,
            name: if v.customer_username.is_empty() {
                format!("客户ID{id}")
            } else {
                v.customer_username
            },
            avatar: v.headimgurl,
            pr: v.expected_pr,
            expected: v.expected_time.unwrap_or_default(),
            follow_status: v.follow_status,
            last_seen: v.last_seen,
            source: if v.source_text.is_empty() {
                v.customer_source_text
            } else {
                v.source_text
            },
        }
    }
}

impl Row {
    /// Rows are re-rendered when their data changes, not only when they move.
    fn render_key(&self) -> String {
        format!(
            "{}|{:?}|{}|{}|{}",
            self.id, self.pr, self.follow_status, self.last_seen, self.expected
        )
    }
}

/// Last message and unread count of one conversation, from the inbox feed.
#[derive(Debug, Clone, PartialEq, Default)]
struct Feed {
    msg: String,
    when: String,
    unread: i64,
    last_msg_id: i64,
}

#[derive(Clone, Copy)]
struct Contacts {
    creds: StoredValue<Option<Creds>>,
    order: RwSignal<&'static str>,
    rows: RwSignal<Vec<Row>>,
    page: RwSignal<i64>,
    total: RwSignal<i64>,
    state: RwSignal<Load>,
    more: RwSignal<Load>,
    generation: StoredValue<u32>,
    feed: RwSignal<HashMap<i64, Feed>>,
    /// The rep's total unread count, from `leida_query_info_num`.
    badge: RwSignal<i64>,
    badge_live: RwSignal<bool>,
    live: RwSignal<bool>,
    /// The latest customer activity the feed reported.
    latest: StoredValue<Option<LastSeen>>,
    /// The socket's first page since it (re)connected is the baseline: it
    /// moves nobody to the top.
    baseline: StoredValue<bool>,
}

impl Contacts {
    /// Loads the next page when the end of the list is in view.
    fn maybe_more(self) {
        let more = (self.rows.with_untracked(Vec::len) as i64) < self.total.get_untracked();
        if more
            && self.state.get_untracked() == Load::Ready
            && self.more.get_untracked() != Load::Loading
            && client::near_bottom(300.0)
        {
            leptos::task::spawn_local(self.load(false));
        }
    }

    /// Re-reads one customer's row and puts it at the top of the list.
    async fn bump(self, customer_id: i64) {
        let Some(creds) = self.creds.try_get_value().flatten() else {
            return;
        };
        let fresh = match client::get::<Page<ContactItem>>(
            &creds,
            "qiyeweixin/tongxunlu",
            &[
                ("customer_id", customer_id.to_string()),
                ("current_page", "1".into()),
                ("length", "1".into()),
            ],
        )
        .await
        {
            Ok(env) => env.data.ret_data.into_iter().next().map(Row::from),
            Err(_) => None,
        };
        let mut added = false;
        let order = self.order.get_untracked();
        let _ = self.rows.try_update(|l| {
            let at = l.iter().position(|r| r.id == customer_id);
            let old = at.map(|i| l.remove(i));
            added = old.is_none() && fresh.is_some();
            if let Some(r) = fresh.or(old) {
                let i = place(order, l, &r, at);
                l.insert(i, r);
            }
        });
        if added {
            let _ = self.total.try_update(|t| *t += 1);
            if self.state.get_untracked() == Load::Empty {
                let _ = self.state.try_set(Load::Ready);
            }
        }
    }
    async fn load(self, reset: bool) {
        let Some(creds) = self.creds.try_get_value().flatten() else {
            return;
        };
        let page = if reset {
            1
        } else {
            self.page.get_untracked() + 1
        };
        if reset {
            self.generation.update_value(|g| *g += 1);
            self.state.set(Load::Loading);
        } else {
            self.more.set(Load::Loading);
        }
        let generation = self.generation.get_value();
        let order = self.order.get_untracked();
        let res = client::get::<Page<ContactItem>>(
            &creds,
            "qiyeweixin/tongxunlu",
            &[
                ("order", order.into()),
                ("current_page", page.to_string()),
                ("length", LENGTH.to_string()),
            ],
        )
        .await;
        if self.generation.try_get_value() != Some(generation) {
            return;
        }
        let target = if reset { self.state } else { self.more };
        match res {
            Ok(env) => {
                let rows: Vec<Row> = env.data.ret_data.into_iter().map(Row::from).collect();
                let _ = self.total.try_set(env.data.data_count);
                let _ = self.rows.try_update(|l| {
                    if reset {
                        l.clear();
                    }
                    for r in rows {
                        if !l.iter().any(|x| x.id == r.id) {
                            l.push(r);
                        }
                    }
                });
                let _ = self.page.try_set(page);
                let _ = target.try_set(Load::Ready);
            }
            Err(Failure::Refused(r)) if r.code == 302 => {
                if reset {
                    let _ = self.rows.try_set(Vec::new());
                    let _ = self.total.try_set(0);
                    let _ = target.try_set(Load::Empty);
                } else {
                    let _ = self
                        .total
                        .try_set(self.rows.with_untracked(Vec::len) as i64);
                    let _ = target.try_set(Load::Ready);
                }
            }
            Err(f) => {
                let _ = target.try_set(Load::Failed(client::describe(&f)));
            }
        }
    }

    /// The inbox feed's count stands in only while the badge socket is down.
    fn fallback_badge(&self, n: i64) {
        if self.badge_live.try_get_untracked() == Some(false) {
            let _ = self.badge.try_set(n);
        }
    }

    /// Takes feed entries; with `live`, customers whose conversation has a new
    /// message move to the top.
    fn apply_feed(&self, items: &[InboxItem], replace: bool, live: bool) {
        let mut moved = Vec::new();
        let _ = self.feed.try_update(|f| {
            if replace {
                f.clear();
            }
            for v in items {
                let id = v.customer_id;
                if live && f.get(&id).is_none_or(|old| old.last_msg_id < v.last_msg_id) {
                    moved.push(id);
                }
                f.insert(
                    id,
                    Feed {
                        msg: v.msg.clone(),
                        when: v.date_time.clone(),
                        unread: v.count,
                        last_msg_id: v.last_msg_id,
                    },
                );
            }
        });
        // Oldest change first, so the newest ends up on top.
        for id in moved.into_iter().rev() {
            leptos::task::spawn_local(self.bump(id));
        }
    }

    /// An article view, a sign-up or a message moved the rep's latest activity.
    fn apply_latest(&self, latest: Option<LastSeen>, live: bool) {
        let before = self.latest.try_get_value().flatten();
        if latest.is_none() || latest == before {
            return;
        }
        self.latest.set_value(latest);
        if let (true, Some(_), Some(now)) = (live, before, latest) {
            leptos::task::spawn_local(self.bump(now.customer_id));
        }
    }

    /// The REST inbox, before the socket and while it is unavailable.
    async fn poll_feed(&self, creds: &Creds) {
        if let Ok(env) = client::get::<InboxPage>(
            creds,
            "qiyeweixin/contact",
            &[("current_page", "1".into()), ("length", "100".into())],
        )
        .await
        {
            self.apply_feed(&env.data.ret_data, true, false);
            self.fallback_badge(env.data.unread_msg_num);
        }
    }
}

impl LivePage for Contacts {
    type Frame = InboxUpdate;

    fn path(&self) -> &'static str {
        "qiyeweixin/websocket/leida_query_contact_list"
    }

    fn parse(&self, text: &str) -> Result<InboxUpdate, String> {
        InboxUpdate::parse(text)
    }

    fn register(&self) -> ClientFrame {
        ClientFrame::of(FrameType::Register)
    }

    async fn prepare(&self, creds: &Creds) -> Result<(), String> {
        self.poll_feed(creds).await;
        Ok(())
    }

    fn poll_ms(&self) -> i32 {
        5000
    }

    fn on_open(&self) {
        self.baseline.set_value(true);
    }

    fn on_frame(&self, frame: InboxUpdate) -> Verdict {
        match frame {
            InboxUpdate::Page(page) => {
                // A page over the frame limit comes in parts (`part` of
                // `parts`, each a slice of `ret_data`); it is complete with
                // its last part.
                let live = !self.baseline.try_get_value().unwrap_or(true);
                self.apply_feed(&page.ret_data, false, live);
                self.apply_latest(page.last_seen, live);
                if page.completes_page() {
                    self.baseline.set_value(false);
                }
                self.fallback_badge(page.unread_msg_num);
                Verdict::Registered
            }
            InboxUpdate::Lived => Verdict::Continue,
            InboxUpdate::Refused(r) => live::fatal(&r),
        }
    }

    fn on_link(&self, link: Link) {
        let _ = self.live.try_set(link == Link::Live);
    }
}

#[component]
pub fn ContactList() -> impl IntoView {
    let c = Contacts {
        creds: StoredValue::new(None),
        order: RwSignal::new(ORDERS[0].0),
        rows: RwSignal::new(Vec::new()),
        page: RwSignal::new(1),
        total: RwSignal::new(0),
        state: RwSignal::new(Load::Loading),
        more: RwSignal::new(Load::Ready),
        generation: StoredValue::new(0),
        feed: RwSignal::new(HashMap::new()),
        badge: RwSignal::new(0),
        badge_live: RwSignal::new(false),
        live: RwSignal::new(false),
        latest: StoredValue::new(None),
        baseline: StoredValue::new(true),
    };
    let handle = LiveHandle::default();
    on_cleanup({
        let h = handle.clone();
        move || h.stop()
    });
    Effect::new(move |_| match client::take_creds(Role::Rep) {
        None => c.state.set(Load::Failed(NO_CREDS_REP.into())),
        Some(creds) => {
            c.creds.set_value(Some(creds.clone()));
            leptos::task::spawn_local(c.load(true));
            leptos::task::spawn_local(live::run(c, creds.clone(), handle.clone()));
            let badge = CountPage {
                path: "qiyeweixin/websocket/leida_query_info_num",
                register: ClientFrame::of(FrameType::Register),
                parse: CountUpdate::parse_badge,
                set: move |n| {
                    let _ = c.badge.try_set(n);
                },
                set_live: move |live| {
                    let _ = c.badge_live.try_set(live);
                },
            };
            leptos::task::spawn_local(live::run(badge, creds, handle.clone()));
        }
    });
    let retry = Callback::new(move |_| leptos::task::spawn_local(c.load(true)));
    // Infinite scroll: near the end of the page, and after every load (a short
    // first page does not scroll at all).
    let h = window_event_listener(leptos::ev::scroll, move |_| c.maybe_more());
    on_cleanup(move || h.remove());
    Effect::new(move |_| {
        if c.state.get() == Load::Ready && c.more.get() == Load::Ready {
            let _ = c.rows.with(Vec::len);
            c.maybe_more();
        }
    });
    let has_more = move || (c.rows.with(Vec::len) as i64) < c.total.get();
    let search = Search::new(c.creds);
    let title = Signal::derive(move || {
        let n = c.badge.get();
        if n > 0 {
            format!("客户 · {n}条未读")
        } else {
            "客户".to_string()
        }
    });

    view! {
        <TopBar title=title>
            {move || {
                let n = c.badge.get();
                (n > 0).then(|| view! {
                    <span class="badge" data-testid="total-unread" title="未读消息">{if n > 99 { "99+".to_string() } else { n.to_string() }}</span>
                })
            }}
            <span class=move || if c.live.get() { "conn conn-live" } else { "conn conn-poll" }>
                {move || if c.live.get() { "实时" } else { "自动刷新" }}
            </span>
        </TopBar>
        <SearchBox s=search/>
        <div class="contacts-pane" style:display=move || if search.active.with(Option::is_some) { "none" } else { "" }>
        <nav class="chips" aria-label="排序">
            {ORDERS.iter().map(|(key, label)| {
                let key = *key;
                view! {
                    <button class=move || if c.order.get() == key { "chip active" } else { "chip" }
                        aria-pressed=move || (c.order.get() == key).to_string()
                        data-order=key
                        on:click=move |_| {
                            if c.order.get_untracked() != key {
                                c.order.set(key);
                                leptos::task::spawn_local(c.load(true));
                            }
                        }>{*label}</button>
                }
            }).collect_view()}
        </nav>
        {move || match c.state.get() {
            Load::Loading => view! { <Loading text="正在加载客户…"/> }.into_any(),
            Load::Empty => view! { <Empty text="还没有客户。分享文章或名片后，客户会出现在这里。" icon="👥"/> }.into_any(),
            Load::Failed(m) => view! { <Failed msg=m retry=retry/> }.into_any(),
            Load::Ready => view! {
                <ul class="contacts" data-testid="contacts">
                    <For each=move || c.rows.get() key=Row::render_key let:r>
                        <ContactRow r=r feed=c.feed/>
                    </For>
                </ul>
                {move || match c.more.get() {
                    Load::Loading => view! { <Loading text="加载更多…"/> }.into_any(),
                    Load::Failed(m) => view! { <Failed msg=m retry=Callback::new(move |_| leptos::task::spawn_local(c.load(false)))/> }.into_any(),
                    _ => if has_more() {
                        view! { <button class="load-more" data-testid="load-more" on:click=move |_| leptos::task::spawn_local(c.load(false))>"加载更多"</button> }.into_any()
                    } else {
                        view! { <p class="list-end">{move || format!("共 {} 位客户", c.rows.with(Vec::len))}</p> }.into_any()
                    },
                }}
            }.into_any(),
        }}
        </div>
    }
}

/// Message search over the rep's conversations.
#[derive(Clone, Copy)]
struct Search {
    creds: StoredValue<Option<Creds>>,
    /// What the box holds.
    text: RwSignal<String>,
    /// The query whose results are shown; `None` shows the contact list.
    active: RwSignal<Option<String>>,
    hits: RwSignal<Vec<SearchHit>>,
    total: RwSignal<i64>,
    page: RwSignal<i64>,
    state: RwSignal<Load>,
    more: RwSignal<Load>,
    generation: StoredValue<u32>,
}

impl Search {
    fn new(creds: StoredValue<Option<Creds>>) -> Search {
        Search {
            creds,
            text: RwSignal::new(String::new()),
            active: RwSignal::new(None),
            hits: RwSignal::new(Vec::new()),
            total: RwSignal::new(0),
            page: RwSignal::new(1),
            state: RwSignal::new(Load::Ready),
            more: RwSignal::new(Load::Ready),
            generation: StoredValue::new(0),
        }
    }

    fn clear(self) {
        self.generation.update_value(|g| *g += 1);
        self.text.set(String::new());
        self.active.set(None);
        self.hits.set(Vec::new());
    }

    /// The first page for the box's text (`reset`), or the next page.
    async fn load(self, reset: bool) {
        let Some(creds) = self.creds.try_get_value().flatten() else {
            return;
        };
        let q = if reset {
            let q = self.text.get_untracked().trim().to_string();
            if q.is_empty() {
                self.clear();
                return;
            }
            self.generation.update_value(|g| *g += 1);
            self.active.set(Some(q.clone()));
            self.state.set(Load::Loading);
            q
        } else {
            match self.active.get_untracked() {
                Some(q) => q,
                None => return,
            }
        };
        if !reset {
            self.more.set(Load::Loading);
        }
        let page = if reset {
            1
        } else {
            self.page.get_untracked() + 1
        };
        let generation = self.generation.get_value();
        let res = client::get::<SearchPage>(
            &creds,
            "qiyeweixin/chat/search",
            &[
                ("q", q),
                ("current_page", page.to_string()),
                ("length", LENGTH.to_string()),
            ],
        )
        .await;
        if self.generation.try_get_value() != Some(generation) {
            return;
        }
        let target = if reset { self.state } else { self.more };
        match res {
            Ok(env) => {
                let _ = self.total.try_set(env.data.data_count);
                let _ = self.hits.try_update(|l| {
                    if reset {
                        l.clear();
                    }
                    for h in env.data.ret_data {
                        if !l.iter().any(|x| x.id == h.id) {
                            l.push(h);
                        }
                    }
                });
                let _ = self.page.try_set(page);
                let _ = target.try_set(Load::Ready);
            }
            Err(f) => {
                let msg = match client::field_errors(&f).message("q") {
                    Some(m) => m.to_string(),
                    None => client::describe(&f),
                };
                let _ = target.try_set(Load::Failed(msg));
            }
        }
    }
}

#[component]
fn SearchBox(s: Search) -> impl IntoView {
    let has_more = move || (s.hits.with(Vec::len) as i64) < s.total.get();
    view! {
        <form class="search-box" role="search"
            on:submit=move |ev| { ev.prevent_default(); leptos::task::spawn_local(s.load(true)); }>
            <input type="search" placeholder="搜索聊天记录" aria-label="搜索聊天记录" data-testid="search-input"
                maxlength="100" enterkeyhint="search"
                prop:value=move || s.text.get()
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    let blank = v.trim().is_empty();
                    s.text.set(v);
                    if blank {
                        s.clear();
                    }
                }/>
            <button type="submit" class="btn btn-primary" data-testid="search-submit"
                disabled=move || s.text.with(|t| t.trim().is_empty())>"搜索"</button>
            {move || s.active.with(Option::is_some).then(|| view! {
                <button type="button" class="btn" data-testid="search-clear" on:click=move |_| s.clear()>"取消"</button>
            })}
        </form>
        {move || s.active.get().map(|q| match s.state.get() {
            Load::Loading => view! { <Loading text="正在搜索…"/> }.into_any(),
            Load::Failed(m) => view! { <Failed msg=m retry=Callback::new(move |_| leptos::task::spawn_local(s.load(true)))/> }.into_any(),
            _ if s.hits.with(Vec::is_empty) => view! { <Empty text=format!("没有包含“{q}”的聊天记录") icon="🔍"/> }.into_any(),
            _ => view! {
                <p class="search-count" data-testid="search-count">{move || format!("找到 {} 条聊天记录", s.total.get())}</p>
                <ul class="contacts search-results" data-testid="search-results">
                    <For each=move || s.hits.get() key=|h| h.id let:h>
                        <SearchRow h=h/>
                    </For>
                </ul>
                {move || match s.more.get() {
                    Load::Loading => view! { <Loading text="加载更多…"/> }.into_any(),
                    Load::Failed(m) => view! { <Failed msg=m retry=Callback::new(move |_| leptos::task::spawn_local(s.load(false)))/> }.into_any(),
                    _ => has_more().then(|| view! {
                        <button class="load-more" data-testid="search-more" on:click=move |_| leptos::task::spawn_local(s.load(false))>"加载更多"</button>
                    }).into_any(),
                }}
            }.into_any(),
        })}
    }
}

#[component]
fn SearchRow(h: SearchHit) -> impl IntoView {
    let (before, hit, after) = h.parts();
    view! {
        <li class="contact search-hit" data-msg-id=h.id.to_string() data-customer-id=h.customer_id.to_string()>
            <A href=format!("/rep/chat/{}?msg={}", h.customer_id, h.id) attr:class="contact-main">
                <div class="avatar-wrap"><Avatar src=h.src.clone() name=h.name.clone()/></div>
                <div class="contact-text">
                    <div class="contact-top">
                        <span class="contact-name">{h.name.clone()}</span>
                        <span class="contact-when">{h.time_text.clone()}</span>
                    </div>
                    <div class="search-snippet">{before}<mark>{hit}</mark>{after}</div>
                </div>
            </A>
        </li>
    }
}

#[component]
fn ContactRow(r: Row, feed: RwSignal<HashMap<i64, Feed>>) -> impl IntoView {
    let id = r.id;
    let f = move || feed.with(|m| m.get(&id).cloned()).unwrap_or_default();
    let pr = match r.pr {
        Some(p) => format!("{p}%"),
        None => "—".into(),
    };
    let seen = if r.last_seen.is_empty() {
        "暂无活动".to_string()
    } else {
        format!("活动：{}", r.last_seen)
    };
    view! {
        <li class="contact" data-customer-id=id.to_string()>
            <A href=format!("/rep/chat/{id}") attr:class="contact-main">
                <div class="avatar-wrap">
                    <Avatar src=r.avatar.clone() name=r.name.clone()/>
                    {move || { let n = f().unread; (n > 0).then(|| view! { <span class="badge" data-testid="unread">{if n > 99 { "99+".to_string() } else { n.to_string() }}</span> }) }}
                </div>
                <div class="contact-text">
                    <div class="contact-top">
                        <span class="contact-name">{r.name.clone()}</span>
                        <span class="contact-when">{move || f().when}</span>
                    </div>
                    <div class="contact-last">{move || { let m = f().msg; if m.is_empty() { "暂无消息".to_string() } else { m } }}</div>
                    <div class="contact-tags">
                        <span class="pill pill-pr" title="预计成交概率">{pr}</span>
                        <span class="pill pill-follow">{r.follow_status.clone()}</span>
                        <span class="pill pill-muted">{seen}</span>
                        {(!r.source.is_empty()).then(|| view! { <span class="pill pill-muted">{r.source.clone()}</span> })}
                    </div>
                </div>
            </A>
            <A href=format!("/rep/customer/{id}") attr:class="contact-edit" attr:aria-label="客户资料">"资料"</A>
        </li>
    }
}

#[cfg(test)]
mod place_tests {
    use super::{place, Row};

    fn row(id: i64, pr: Option<i64>) -> Row {
        Row {
            id,
            name: String::new(),
            avatar: String::new(),
            pr,
            expected: String::new(),
            follow_status: String::new(),
            last_seen: String::new(),
            source: String::new(),
        }
    }

    #[test]
    fn a_live_update_keeps_the_chosen_order() {
        // Sorted by probability: 90, 75, 0, none; the one at 0 writes.
        let rest = vec![row(1, Some(90)), row(2, Some(75)), row(4, None)];
        let zero = row(3, Some(0));
        assert_eq!(place("-expedted_pr", &rest, &zero, Some(2)), 2);
        // Not loaded before, or its probability was raised to 80 meanwhile.
        assert_eq!(place("-expedted_pr", &rest, &zero, None), 2);
        assert_eq!(place("-expedted_pr", &rest, &row(3, Some(80)), Some(2)), 1);
        assert_eq!(place("-expedted_pr", &rest, &row(5, None), None), 3);
        // Activity leads its own order; the follow-up order is untouched by a message.
        assert_eq!(place("-last_activity_time", &rest, &zero, Some(2)), 0);
        assert_eq!(place("-last_follow_time", &rest, &zero, Some(2)), 2);
        assert_eq!(place("-last_follow_time", &rest, &zero, None), 3);
    }
}
