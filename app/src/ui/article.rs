//! `/h5/article/{article_id}?uid=U`: what a customer sees under a shared article.
//! It reports the view and the reading time to the rep who shared it, lists and
//! posts reviews, recommends other articles and carries the event sign-up form.
//!
//! The article itself (title, text, cover), its company (for recommendations)
//! and its sign-up activity come from the view report's answer; `company_id` and
//! `activity_id` in the query string, which older links carry, are the fallback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

use super::client::{self, Creds, Role};
use super::server_fns::article_head;
use super::{Avatar, Empty, Failed, Load, Loading, TopBar, NO_CREDS_H5};
use crate::api::article::{
    RecommendItem, RecommendList, RecommendQuery, ReviewForm, ReviewList, ReviewPosted, SignUpForm,
    SignedUp, StayForm, ViewForm, ViewedArticle,
};
use crate::api::{ArticleHead, Failure};
use crate::domain::MobilePhone;

pub const MAX_REVIEW_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
struct Review {
    name: String,
    avatar: String,
    content: String,
    time: String,
    pending: bool,
}

/// The article as the view report returns it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Content {
    summary: String,
    body: String,
    cover: String,
    reads: Option<i64>,
    date: String,
}

#[derive(Clone, Copy)]
struct Page {
    id: i64,
    creds: StoredValue<Option<Creds>>,
    uid: RwSignal<Option<i64>>,
    title: RwSignal<String>,
    content: RwSignal<Content>,
    company_id: RwSignal<Option<i64>>,
    activity_id: RwSignal<Option<i64>>,
    log_id: StoredValue<Option<i64>>,
    state: RwSignal<Load>,
    reviews: RwSignal<Vec<Review>>,
    reviews_state: RwSignal<Load>,
    review_text: RwSignal<String>,
    review_error: RwSignal<Option<String>>,
    review_note: RwSignal<Option<(bool, String)>>,
    recs: RwSignal<Vec<RecommendItem>>,
    recs_state: RwSignal<Load>,
    su_name: RwSignal<String>,
    su_phone: RwSignal<String>,
    su_message: RwSignal<String>,
    su_errors: RwSignal<Vec<(&'static str, String)>>,
    su_note: RwSignal<Option<(bool, String)>>,
    su_done: RwSignal<bool>,
    /// Visible reading time so far, in milliseconds, and when the current visible stretch began.
    read_ms: StoredValue<i64>,
    visible_since: StoredValue<Option<i64>>,
}

impl Page {
    fn creds(&self) -> Option<Creds> {
        self.creds.try_get_value().flatten()
    }

    async fn start(self) {
        let Some(c) = self.creds() else { return };
        let Some(uid) = self.uid.get_untracked() else {
            self.state
                .set(Load::Failed("链接缺少分享人ID（uid）".into()));
            return;
        };
        let res = client::post::<ViewedArticle>(
            &c,
            &format!("gongzhonghao/article/view_article/{}", self.id),
            &[],
            &ViewForm { uid: Some(uid) }.form(),
        )
        .await;
        match res {
            Ok(env) => {
                let d = env.data;
                let _ = self.log_id.try_update_value(|l| *l = d.log_id);
                if !d.title.is_empty() {
                    let _ = self.title.try_set(d.title);
                }
                let _ = self.content.try_set(Content {
                    summary: d.summary,
                    body: d.body,
                    cover: d.cover_picture,
                    reads: Some(d.read_count),
                    date: d.create_date.chars().take(10).collect(),
                });
                let _ = self.company_id.try_set(Some(d.company_id));
                // The server knows the article's sign-up activity; a link's own wins only
                // when the server has none.
                if let Some(a) = d.activity_id {
                    let _ = self.activity_id.try_set(Some(a));
                }
                let _ = self.state.try_set(Load::Ready);
            }
            Err(f @ Failure::Refused(_)) => {
                // The page still works without the view report (e.g. an older server).
                if is_code(&f, 400) {
                    let _ = self.state.try_set(Load::Failed(client::describe(&f)));
                    return;
                }
                let _ = self.state.try_set(Load::Ready);
            }
            Err(f @ Failure::Transport(_)) => {
                let _ = self.state.try_set(Load::Failed(client::describe(&f)));
                return;
            }
        }
        self.load_reviews().await;
        self.load_recs().await;
    }

    async fn load_reviews(self) {
        let Some(c) = self.creds() else { return };
        let me = c.user_id;
        let res = client::get::<ReviewList>(
            &c,
            &format!("gongzhonghao/article/article_review_list/{}", self.id),
            &[],
        )
        .await;
        match listed(res.map(|env| env.data.ret_data)) {
            Ok(items) => {
                let list: Vec<Review> = items
                    .into_iter()
                    .map(|r| Review {
                        pending: r.from_customer_id == me && r.pending,
                        name: r.from_customer_name,
                        avatar: r.from_customer_headimgurl,
                        content: r.content,
                        time: r.create_time,
                    })
                    .collect();
                let empty = list.is_empty();
                let _ = self.reviews.try_set(list);
                let _ = self
                    .reviews_state
                    .try_set(if empty { Load::Empty } else { Load::Ready });
            }
            Err(f) => {
                let _ = self
                    .reviews_state
                    .try_set(Load::Failed(client::describe(&f)));
            }
        }
    }

    async fn load_recs(self) {
        let (Some(c), Some(uid)) = (self.creds(), self.uid.get_untracked()) else {
            return;
        };
        let Some(company) = self.company_id.get_untracked() else {
            let _ = self.recs_state.try_set(Load::Empty);
            return;
        };
        let query = RecommendQuery {
            uid,
            company_id: company,
        };
        let res = client::get::<RecommendList>(
            &c,
            &format!("gongzhonghao/article/recommend_article_list/{}", self.id),
            &query.params(),
        )
        .await;
        match listed(res.map(|env| env.data.ret_data)) {
            Ok(list) => {
                let empty = list.is_empty();
                let _ = self.recs.try_set(list);
                let _ = self
                    .recs_state
                    .try_set(if empty { Load::Empty } else { Load::Ready });
            }
            Err(f) => {
                let _ = self.recs_state.try_set(Load::Failed(client::describe(&f)));
            }
        }
    }

    fn post_review(self) {
        let text = self.review_text.get_untracked();
        let t = text.trim().to_owned();
        let n = t.chars().count();
        if n == 0 {
            self.review_error.set(Some("内容不能为空".into()));
            return;
        }
        if n > MAX_REVIEW_CHARS {
            self.review_error.set(Some(format!(
                "评论不能超过{MAX_REVIEW_CHARS}个字符（当前{n}）"
            )));
            return;
        }
        self.review_error.set(None);
        let Some(c) = self.creds() else { return };
        self.review_note.set(Some((true, "提交中…".into())));
        // `uid` tells the server which rep shared the article, so the review
        // shows up in that rep's access log.
        let form = ReviewForm {
            content: t,
            uid: self.uid.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let res = client::post::<ReviewPosted>(
                &c,
                &format!("gongzhonghao/article/review_article/{}", self.id),
                &[],
                &form.form(),
            )
            .await;
            match res {
                Ok(_) => {
                    let _ = self.review_text.try_set(String::new());
                    let _ = self
                        .review_note
                        .try_set(Some((true, "评论已提交，审核通过后其他人可见".into())));
                    self.load_reviews().await;
                }
                Err(f) => {
                    if let Failure::Refused(_) = f {
                        let fe = client::field_errors(&f);
                        let _ = self
                            .review_error
                            .try_set(fe.message("content").map(str::to_owned));
                    }
                    let _ = self
                        .review_note
                        .try_set(Some((false, client::describe(&f))));
                }
            }
        });
    }

    fn sign_up(self) {
        let Some(activity) = self.activity_id.get_untracked() else {
            return;
        };
        let name = self.su_name.get_untracked().trim().to_owned();
        let phone = self.su_phone.get_untracked().trim().to_owned();
        let message = self.su_message.get_untracked().trim().to_owned();
        let mut errs = Vec::new();
        if name.is_empty() {
            errs.push(("customer_name", "客户姓名不能为空".to_string()));
        }
        if phone.is_empty() {
            errs.push(("phone", "客户报名手机号不能为空".to_string()));
        } else if let Err(e) = MobilePhone::parse(&phone) {
            errs.push(("phone", e.to_string()));
        }
        if message.is_empty() {
            errs.push(("leave_message", "留言不能为空".to_string()));
        }
        if !errs.is_empty() {
            self.su_errors.set(errs);
            self.su_note.set(Some((false, "请先改正标红的字段".into())));
            return;
        }
        self.su_errors.set(Vec::new());
        let (Some(c), Some(uid)) = (self.creds(), self.uid.get_untracked()) else {
            return;
        };
        self.su_note.set(Some((true, "提交中…".into())));
        let form = SignUpForm {
            uid: Some(uid),
            customer_name: name,
            phone,
            leave_message: message,
            address: None,
        };
        leptos::task::spawn_local(async move {
            match client::post::<SignedUp>(
                &c,
                &format!("gongzhonghao/plugin_report/sign_up_activity/{activity}"),
                &[],
                &form.form(),
            )
            .await
            {
                Ok(env) => {
                    let _ = self.su_done.try_set(true);
                    let m = env.msg.text();
                    let _ = self.su_note.try_set(Some((
                        true,
                        if m.is_empty() {
                            "报名成功".into()
                        } else {
                            m
                        },
                    )));
                }
                Err(f) => {
                    if let Failure::Refused(_) = f {
                        let fe = client::field_errors(&f);
                        let errs: Vec<(&'static str, String)> =
                            ["customer_name", "phone", "leave_message"]
                                .into_iter()
                                .filter_map(|k| fe.message(k).map(|m| (k, m.to_owned())))
                                .collect();
                        let _ = self.su_errors.try_set(errs);
                    }
                    let _ = self.su_note.try_set(Some((false, client::describe(&f))));
                }
            }
        });
    }

    fn su_error(&self, field: &'static str) -> Option<String> {
        self.su_errors
            .with(|l| l.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone()))
    }

    /// Closes the current visible stretch and sends the total reading time.
    fn report_stay(&self) {
        let now = client::now_ms();
        if let Some(since) = self.visible_since.try_get_value().flatten() {
            self.read_ms.update_value(|t| *t += (now - since).max(0));
            self.visible_since.set_value(None);
        }
        let (Some(c), Some(uid), Some(Some(log_id))) = (
            self.creds(),
            self.uid.try_get_untracked().flatten(),
            self.log_id.try_get_value(),
        ) else {
            return;
        };
        let form = StayForm {
            uid,
            log_id,
            seconds: self.read_ms.get_value() / 1000,
        };
        client::beacon(
            &c,
            &format!("gongzhonghao/article/staytime/{}", self.id),
            &form.form(),
        );
    }
}

/// Whether a call was refused with `code`.
fn is_code(f: &Failure, code: i64) -> bool {
    matches!(f, Failure::Refused(r) if r.code == code)
}

/// A list answer: `302 没有数据` is an empty list, not a failure.
fn listed<T>(res: Result<Vec<T>, Failure>) -> Result<Vec<T>, Failure> {
    match res {
        Err(f) if is_code(&f, 302) => Ok(Vec::new()),
        other => other,
    }
}

#[component]
pub fn ArticlePage() -> impl IntoView {
    let Some(id) = super::route_id() else {
        return view! { <TopBar title=Signal::stored("文章".to_string())/><Failed msg="文章ID无效"/> }.into_any();
    };
    // Link previews (WeChat's share card) read only the server's HTML and never
    // run the WASM, and the customer should see the title before the bundle
    // loads: the public head is a blocking resource, so the server waits for it
    // before it sends <head>, and hydration reuses the serialized value instead
    // of calling the server function again.
    let head = OnceResource::new_blocking(article_head(id));
    let fallback = move || view! { <TopBar title=Signal::stored(format!("文章 #{id}"))/><Loading text="正在打开文章…"/> };
    view! {
        <Suspense fallback=fallback>
            {move || Suspend::new(async move {
                let head = head.await.ok().flatten();
                view! { <ArticleView id=id head=head/> }
            })}
        </Suspense>
    }
    .into_any()
}

/// What link previews read: title, description and the Open Graph card.
fn head_tags(head: &ArticleHead) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let title = super::server_fns::escape_title(&head.title);
    #[cfg(not(feature = "ssr"))]
    let title = head.title.clone();
    let summary = (!head.summary.trim().is_empty()).then(|| head.summary.clone());
    let image = is_absolute_url(&head.cover_picture).then(|| head.cover_picture.clone());
    view! {
        <Title text=title/>
        <Meta property="og:type" content="article"/>
        <Meta property="og:title" content=head.title.clone()/>
        {summary.map(|s| view! {
            <Meta name="description" content=s.clone()/>
            <Meta property="og:description" content=s/>
        })}
        {image.map(|i| view! { <Meta property="og:image" content=i/> })}
    }
}

fn is_absolute_url(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

#[component]
fn ArticleView(id: i64, head: Option<ArticleHead>) -> impl IntoView {
    let tags = head.as_ref().map(head_tags);
    let has_head = head.is_some();
    let (title, content) = match head {
        Some(h) => (
            h.title,
            Content {
                summary: h.summary,
                cover: h.cover_picture,
                ..Content::default()
            },
        ),
        None => (format!("文章 #{id}"), Content::default()),
    };
    let p = Page {
        id,
        creds: StoredValue::new(None),
        uid: RwSignal::new(None),
        title: RwSignal::new(title),
        content: RwSignal::new(content),
        company_id: RwSignal::new(None),
        activity_id: RwSignal::new(None),
        log_id: StoredValue::new(None),
        state: RwSignal::new(Load::Loading),
        reviews: RwSignal::new(Vec::new()),
        reviews_state: RwSignal::new(Load::Loading),
        review_text: RwSignal::new(String::new()),
        review_error: RwSignal::new(None),
        review_note: RwSignal::new(None),
        recs: RwSignal::new(Vec::new()),
        recs_state: RwSignal::new(Load::Loading),
        su_name: RwSignal::new(String::new()),
        su_phone: RwSignal::new(String::new()),
        su_message: RwSignal::new(String::new()),
        su_errors: RwSignal::new(Vec::new()),
        su_note: RwSignal::new(None),
        su_done: RwSignal::new(false),
        read_ms: StoredValue::new(0),
        visible_since: StoredValue::new(None),
    };
    let alive = Arc::new(AtomicBool::new(true));
    Effect::new(move |_| {
        let num = |k: &str| {
            client::query_param(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v > 0)
        };
        p.uid.set(num("uid"));
        p.company_id.set(num("company_id"));
        p.activity_id.set(num("activity_id"));
        match client::take_creds(Role::Customer) {
            None => p.state.set(Load::Failed(NO_CREDS_H5.into())),
            Some(c) => {
                p.creds.set_value(Some(c));
                if client::visible() {
                    p.visible_since.set_value(Some(client::now_ms()));
                }
                leptos::task::spawn_local(p.start());
            }
        }
    });
    let h1 = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if client::visible() {
            p.visible_since.set_value(Some(client::now_ms()));
        } else {
            p.report_stay();
        }
    });
    let h2 = window_event_listener(leptos::ev::pagehide, move |_| p.report_stay());
    on_cleanup({
        let a = alive.clone();
        move || {
            a.store(false, Ordering::Relaxed);
            h1.remove();
            h2.remove();
        }
    });
    let title = Signal::derive(move || p.title.get());
    // The server-rendered head stays on screen while the view report loads, and
    // when it fails (no credentials, say) the reader still sees what was shared.
    let show_card = Memo::new(move |_| has_head || p.state.with(|s| *s == Load::Ready));
    view! {
        {tags}
        <TopBar title=title/>
        {move || show_card.get().then(|| view! { <ArticleCard p=p/> })}
        {move || match p.state.get() {
            Load::Loading => view! { <Loading text="正在打开文章…"/> }.into_any(),
            Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
            _ => view! { <ArticleBody p=p/> }.into_any(),
        }}
    }
}

#[component]
fn ArticleCard(p: Page) -> impl IntoView {
    view! {
        <article class="card article" data-testid="article">
            <h1 class="article-title" data-testid="article-title">{move || p.title.get()}</h1>
            {move || p.content.with(|c| {
                let meta = match (c.date.is_empty(), c.reads) {
                    (false, Some(r)) => format!("{} · 阅读 {r}", c.date),
                    (true, Some(r)) => format!("阅读 {r}"),
                    (false, None) => c.date.clone(),
                    (true, None) => String::new(),
                };
                (!meta.is_empty()).then(|| view! { <p class="article-meta">{meta}</p> })
            })}
            {move || p.content.with(|c| {
                let safe = c.cover.starts_with("https://") || c.cover.starts_with("http://") || c.cover.starts_with('/');
                safe.then(|| view! { <img class="article-cover" src=c.cover.clone() alt=""/> })
            })}
            // A body that opens with the summary already says it; an article
            // without a body shows its summary once, here.
            {move || p.content.with(|c| (!c.summary.trim().is_empty() && !c.body.starts_with(&c.summary)).then(|| view! {
                <p class="article-summary" data-testid="article-summary">{c.summary.clone()}</p>
            }))}
            <div class="article-body" data-testid="article-body">
                {move || p.content.with(|c| {
                    c.body.split('\n')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| view! { <p>{l.to_owned()}</p> })
                        .collect_view()
                })}
            </div>
        </article>
    }
}

#[component]
fn ArticleBody(p: Page) -> impl IntoView {
    let count = move || p.review_text.with(|t| t.trim().chars().count());
    view! {
        {move || p.activity_id.get().map(|_| view! {
            <section class="card" aria-labelledby="su-h">
                <h2 id="su-h">"活动报名"</h2>
                {move || if p.su_done.get() {
                    view! { <div class="state state-done" data-testid="signup-done"><div class="state-icon">"🎉"</div><p>"报名成功，我们会尽快与您联系"</p></div> }.into_any()
                } else {
                    view! {
                        <form class="profile-form" novalidate=true on:submit=move |ev| { ev.prevent_default(); p.sign_up(); }>
                            <label class=move || if p.su_error("customer_name").is_some() { "field has-error" } else { "field" }>
                                <span class="field-label">"姓名 *"</span>
                                <input type="text" name="customer_name" maxlength="64" prop:value=move || p.su_name.get()
                                    on:input=move |ev| p.su_name.set(event_target_value(&ev))/>
                                {move || p.su_error("customer_name").map(|m| view! { <span class="field-error" data-field="customer_name">{m}</span> })}
                            </label>
                            <label class=move || if p.su_error("phone").is_some() { "field has-error" } else { "field" }>
                                <span class="field-label">"手机号 *"</span>
                                <input type="tel" name="phone" inputmode="numeric" maxlength="11" prop:value=move || p.su_phone.get()
                                    on:input=move |ev| p.su_phone.set(event_target_value(&ev))/>
                                {move || p.su_error("phone").map(|m| view! { <span class="field-error" data-field="phone">{m}</span> })}
                            </label>
                            <label class=move || if p.su_error("leave_message").is_some() { "field has-error" } else { "field" }>
                                <span class="field-label">"留言 *"</span>
                                <textarea name="leave_message" rows="2" maxlength="500" prop:value=move || p.su_message.get()
                                    on:input=move |ev| p.su_message.set(event_target_value(&ev))></textarea>
                                {move || p.su_error("leave_message").map(|m| view! { <span class="field-error" data-field="leave_message">{m}</span> })}
                            </label>
                            <button class="btn btn-primary btn-block" type="submit" data-testid="signup">"立即报名"</button>
                        </form>
                    }.into_any()
                }}
                {move || p.su_note.get().filter(|_| !p.su_done.get()).map(|(ok, m)| view! { <p class=if ok { "save-note ok" } else { "save-note err" } data-testid="signup-result">{m}</p> })}
            </section>
        })}

        <section class="card" aria-labelledby="rv-h">
            <h2 id="rv-h">"评论"</h2>
            <form class="review-form" on:submit=move |ev| { ev.prevent_default(); p.post_review(); }>
                <textarea name="content" rows="3" placeholder="写下你的看法…" aria-label="评论内容"
                    prop:value=move || p.review_text.get()
                    on:input=move |ev| { p.review_text.set(event_target_value(&ev)); p.review_error.set(None); }></textarea>
                <div class="review-bar">
                    <span class={move || if count() > MAX_REVIEW_CHARS { "counter over" } else { "counter" }}>
                        {move || format!("{}/{}", count(), MAX_REVIEW_CHARS)}
                    </span>
                    <button class="btn btn-primary" type="submit" data-testid="post-review">"发表评论"</button>
                </div>
                {move || p.review_error.get().map(|m| view! { <span class="field-error" data-field="content">{m}</span> })}
                {move || p.review_note.get().map(|(ok, m)| view! { <p class=if ok { "save-note ok" } else { "save-note err" } data-testid="review-result">{m}</p> })}
            </form>
            {move || match p.reviews_state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
                Load::Empty => view! { <Empty text="还没有评论，来抢沙发吧" icon="💭"/> }.into_any(),
                Load::Ready => view! {
                    <ul class="reviews" data-testid="reviews">
                        {move || p.reviews.get().into_iter().map(|r| view! {
                            <li class="review">
                                <Avatar src=r.avatar.clone() name=r.name.clone()/>
                                <div class="review-main">
                                    <div class="review-top">
                                        <span class="review-name">{r.name.clone()}</span>
                                        {r.pending.then(|| view! { <span class="pill pill-warn" data-testid="pending">"待审核"</span> })}
                                        <span class="tl-time">{r.time.chars().take(16).collect::<String>()}</span>
                                    </div>
                                    <p class="review-text">{r.content.clone()}</p>
                                </div>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>

        <section class="card" aria-labelledby="rec-h">
            <h2 id="rec-h">"推荐阅读"</h2>
            {move || match p.recs_state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
                Load::Empty => view! { <Empty text="暂无推荐文章" icon="📰"/> }.into_any(),
                Load::Ready => view! {
                    <ul class="recs" data-testid="recs">
                        {move || p.recs.get().into_iter().map(|r| {
                            let url = r.article_url;
                            let safe = url.starts_with("http://") || url.starts_with("https://");
                            view! {
                                <li>
                                    {if safe {
                                        view! { <a href=url rel="noopener">{r.title.clone()}</a> }.into_any()
                                    } else {
                                        view! { <span>{r.title.clone()}</span> }.into_any()
                                    }}
                                    <span class="tl-time">{format!("阅读 {}", r.read_count)}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
