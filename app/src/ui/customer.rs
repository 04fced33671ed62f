//! `/rep/customer/{id}`: the customer editor. Deal fields (probability, expected
//! date), the rep's private profile notes, tags, follow-up notes and the
//! customer's access-log timeline. Inputs are checked with the same parsers the
//! server uses; the server's answer is shown next to what was saved.

use leptos::prelude::*;
use leptos_router::components::A;
use serde::de::DeserializeOwned;

use super::client::{self, Creds, Role};
use super::{Avatar, Empty, Failed, Load, Loading, TopBar, NO_CREDS_REP};
use crate::api::crm::{
    AccessLogItem, CustomerProfile, ExpectedPrForm, ExpectedTimeForm, FollowForm, FollowNote,
    InformationForm, NewTagForm, NoteAdded, Page, TagAdded, TagGroups, TagListForm,
};
use crate::api::{self, Failure};
use crate::domain::{Date, Email, FieldErrors, MobilePhone, Probability};

/// The outcome of a save, shown under the section that saved.
#[derive(Debug, Clone, PartialEq)]
enum Saved {
    Idle,
    Saving,
    Ok(String),
    Err(String),
}

fn saved_view(s: RwSignal<Saved>, testid: &'static str) -> impl IntoView {
    move || match s.get() {
        Saved::Idle => ().into_any(),
        Saved::Saving => view! { <p class="save-note" data-testid=testid>"保存中…"</p> }.into_any(),
        Saved::Ok(m) => {
            view! { <p class="save-note ok" role="status" data-testid=testid>"✓ " {m}</p> }
                .into_any()
        }
        Saved::Err(m) => {
            view! { <p class="save-note err" role="alert" data-testid=testid>{m}</p> }.into_any()
        }
    }
}

/// One editable profile field with its inline error.
#[derive(Clone, Copy)]
struct Field {
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
}

impl Field {
    fn new() -> Field {
        Field {
            value: RwSignal::new(String::new()),
            error: RwSignal::new(None),
        }
    }
}

#[component]
fn Input(
    label: &'static str,
    name: &'static str,
    field: Field,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] check: Option<Check>,
) -> impl IntoView {
    view! {
        <label class=move || if field.error.get().is_some() { "field has-error" } else { "field" }>
            <span class="field-label">{label}{required.then_some(" *")}</span>
            <input type=kind name=name prop:value=move || field.value.get()
                aria-invalid=move || field.error.get().is_some().to_string()
                on:input=move |ev| { field.value.set(event_target_value(&ev)); field.error.set(None); }
                on:blur=move |_| if let Some(c) = check { field.error.set(c(&field.value.get_untracked())); }
            />
            {move || field.error.get().map(|e| view! { <span class="field-error" data-field=name>{e}</span> })}
        </label>
    }
}

/// A field rule: the error message for a value, if any.
type Check = fn(&str) -> Option<String>;

fn check_phone(s: &str) -> Option<String> {
    (!s.trim().is_empty())
        .then(|| MobilePhone::parse(s).err().map(str::to_owned))
        .flatten()
}
fn check_email(s: &str) -> Option<String> {
    (!s.trim().is_empty())
        .then(|| Email::parse(s).err().map(|_| "邮箱格式错误".to_owned()))
        .flatten()
}
fn check_date(s: &str) -> Option<String> {
    (!s.trim().is_empty())
        .then(|| Date::parse(s).err().map(|_| "日期格式错误".to_owned()))
        .flatten()
}
fn check_required(s: &str) -> Option<String> {
    s.trim().is_empty().then(|| "备注名不能为空".to_owned())
}

#[derive(Debug, Clone, PartialEq)]
struct Tag {
    id: i64,
    name: String,
    selected: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Group {
    name: String,
    tags: Vec<Tag>,
}

#[derive(Clone, Copy)]
struct Editor {
    id: i64,
    creds: StoredValue<Option<Creds>>,
    state: RwSignal<Load>,
    name: RwSignal<String>,
    avatar: RwSignal<String>,
    source: RwSignal<String>,
    pr: RwSignal<String>,
    pr_error: RwSignal<Option<String>>,
    pr_saved: RwSignal<Saved>,
    date: RwSignal<String>,
    date_error: RwSignal<Option<String>>,
    date_saved: RwSignal<Saved>,
    memo: Field,
    sex: Field,
    phone: Field,
    email: Field,
    company: Field,
    position: Field,
    address: Field,
    birthday: Field,
    mem: Field,
    info_saved: RwSignal<Saved>,
    groups: RwSignal<Vec<Group>>,
    tags_state: RwSignal<Load>,
    tags_saved: RwSignal<Saved>,
    new_tag: RwSignal<String>,
    notes: RwSignal<Vec<(String, String)>>,
    notes_state: RwSignal<Load>,
    note_text: RwSignal<String>,
    note_saved: RwSignal<Saved>,
    timeline: RwSignal<Vec<(String, String)>>,
    timeline_state: RwSignal<Load>,
}

impl Editor {
    fn creds(&self) -> Option<Creds> {
        self.creds.try_get_value().flatten()
    }

    async fn load_detail(self) {
        let Some(c) = self.creds() else { return };
        let _ = self.state.try_set(Load::Loading);
        let params = [("customer_id", self.id.to_string())];
        match client::get::<Page<CustomerProfile>>(&c, "qiyeweixin/customer", &params).await {
            Ok(env) => {
                let Some(d) = env.data.ret_data.into_iter().next() else {
                    let _ = self.state.try_set(Load::Failed("客户不存在".into()));
                    return;
                };
                let name = if d.username.is_empty() {
                    format!("客户ID{}", self.id)
                } else {
                    d.username.clone()
                };
                let _ = self.name.try_set(name);
                let _ = self.avatar.try_set(d.headimgurl);
                let _ = self.source.try_set(d.source);
                let _ = self
                    .pr
                    .try_set(d.expected_pr.map(|p| p.to_string()).unwrap_or_default());
                let _ = self.date.try_set(d.expected_time.unwrap_or_default());
                let memo = if d.memo_name.is_empty() {
                    d.username
                } else {
                    d.memo_name
                };
                let _ = self.memo.value.try_set(memo);
                let _ = self
                    .sex
                    .value
                    .try_set(d.sex.0.map(|s| s.to_string()).unwrap_or_default());
                for (f, v) in [
                    (self.phone, d.phone),
                    (self.email, d.email),
                    (self.company, d.company),
                    (self.position, d.position),
                    (self.address, d.address),
                    (self.birthday, d.birthday),
                    (self.mem, d.mem),
                ] {
                    let _ = f.value.try_set(v);
                }
                let _ = self.state.try_set(Load::Ready);
            }
            Err(f) => {
                let _ = self.state.try_set(Load::Failed(client::describe(&f)));
            }
        }
    }

    async fn load_tags(self) {
        let Some(c) = self.creds() else { return };
        let params = [
            ("customer_id", self.id.to_string()),
            ("tag_type", "1".into()),
        ];
        match client::get::<TagGroups>(&c, "qiyeweixin/tag_list", &params).await {
            Ok(env) => {
                let groups: Vec<Group> = env
                    .data
                    .ret_data
                    .into_iter()
                    .map(|g| Group {
                        name: g.name,
                        tags: g
                            .tags
                            .into_iter()
                            .map(|t| Tag {
                                id: t.id,
                                name: t.name,
                                selected: t.is_select,
                            })
                            .collect(),
                    })
                    .collect();
                let empty = groups.iter().all(|g| g.tags.is_empty());
                let _ = self.groups.try_set(groups);
                let _ = self
                    .tags_state
                    .try_set(if empty { Load::Empty } else { Load::Ready });
            }
            Err(Failure::Refused(r)) if r.code == 302 => {
                let _ = self.tags_state.try_set(Load::Empty);
            }
            Err(f) => {
                let _ = self.tags_state.try_set(Load::Failed(client::describe(&f)));
            }
        }
    }

    async fn load_notes(self) {
        let Some(c) = self.creds() else { return };
        let params = [
            ("customer_id", self.id.to_string()),
            ("length", "50".into()),
        ];
        let res = client::get::<Page<FollowNote>>(&c, "qiyeweixin/follow_info", &params).await;
        let notes: Vec<(String, String)> = match res {
            Ok(env) => env
                .data
                .ret_data
                .into_iter()
                .map(|n| (n.follow_info, n.create_date))
                .collect(),
            // No notes yet, or the original's empty answer.
            Err(Failure::Refused(r)) if r.code == 302 || r.code == 0 => Vec::new(),
            Err(f) => {
                let _ = self.notes_state.try_set(Load::Failed(client::describe(&f)));
                return;
            }
        };
        let empty = notes.is_empty();
        let _ = self.notes.try_set(notes);
        let _ = self
            .notes_state
            .try_set(if empty { Load::Empty } else { Load::Ready });
    }

    /// The customer's access log toward the rep, newest first.
    async fn load_timeline(self) {
        let Some(c) = self.creds() else { return };
        let params = [
            ("customer_id", self.id.to_string()),
            ("current_page", "1".into()),
            ("length", "30".into()),
        ];
        let res = client::get::<Page<AccessLogItem>>(&c, "qiyeweixin/action/time", &params).await;
        let items: Vec<(String, String)> = match res {
            Ok(env) => env
                .data
                .ret_data
                .into_iter()
                .map(|n| (n.log, n.create_date))
                .collect(),
            Err(Failure::Refused(r)) if r.code == 302 => Vec::new(),
            Err(f) => {
                let _ = self
                    .timeline_state
                    .try_set(Load::Failed(client::describe(&f)));
                return;
            }
        };
        let empty = items.is_empty();
        let _ = self.timeline.try_set(items);
        let _ = self
            .timeline_state
            .try_set(if empty { Load::Empty } else { Load::Ready });
    }

    /// POSTs and reports into `saved`; field errors of a refusal go to
    /// `on_fields`. The answer's `data` when saved.
    async fn save<T: DeserializeOwned + Default>(
        self,
        path: String,
        form: Vec<(&'static str, String)>,
        saved: RwSignal<Saved>,
        on_fields: impl Fn(&FieldErrors),
    ) -> Option<T> {
        let c = self.creds()?;
        let _ = saved.try_set(Saved::Saving);
        match client::post::<T>(&c, &path, &[], &form).await {
            Ok(env) => {
                let m = env.msg.text();
                let _ = saved.try_set(Saved::Ok(if m.is_empty() { "已保存".into() } else { m }));
                Some(env.data)
            }
            Err(f) => {
                if let Failure::Refused(r) = &f {
                    on_fields(&r.field_errors());
                }
                let _ = saved.try_set(Saved::Err(client::describe(&f)));
                None
            }
        }
    }

    fn save_pr(self) {
        // A new attempt: the previous attempt's result no longer applies.
        self.pr_saved.set(Saved::Idle);
        match Probability::parse(&self.pr.get_untracked()) {
            Err(e) => self.pr_error.set(Some(e.into())),
            Ok(p) => {
                self.pr_error.set(None);
                leptos::task::spawn_local(async move {
                    let pr_error = self.pr_error;
                    let form = ExpectedPrForm {
                        expected_pr: p.get(),
                    };
                    let saved = self
                        .save::<api::Empty>(
                            format!("qiyeweixin/customer/update_expected_pr/{}", self.id),
                            form.pairs(),
                            self.pr_saved,
                            move |fe| {
                                let _ =
                                    pr_error.try_set(fe.message("expedted_pr").map(str::to_owned));
                            },
                        )
                        .await;
                    if saved.is_some() {
                        self.load_notes().await;
                    }
                });
            }
        }
    }

    fn save_date(self) {
        self.date_saved.set(Saved::Idle);
        match Date::parse(&self.date.get_untracked()) {
            Err(_) => self.date_error.set(Some("请选择有效的预计成交日期".into())),
            Ok(d) => {
                self.date_error.set(None);
                leptos::task::spawn_local(async move {
                    let date_error = self.date_error;
                    let form = ExpectedTimeForm {
                        expected_time: d.to_string(),
                    };
                    let saved = self
                        .save::<api::Empty>(
                            format!("qiyeweixin/customer/update_expected_time/{}", self.id),
                            form.pairs(),
                            self.date_saved,
                            move |fe| {
                                let _ = date_error
                                    .try_set(fe.message("expected_time").map(str::to_owned));
                            },
                        )
                        .await;
                    if saved.is_some() {
                        self.load_notes().await;
                    }
                });
            }
        }
    }

    fn profile_fields(&self) -> [(&'static str, Field); 9] {
        [
            ("username", self.memo),
            ("sex", self.sex),
            ("phone", self.phone),
            ("email", self.email),
            ("company", self.company),
            ("position", self.position),
            ("address", self.address),
            ("birthday", self.birthday),
            ("mem", self.mem),
        ]
    }

    fn save_info(self) {
        let checks: [(Field, Check); 4] = [
            (self.memo, check_required),
            (self.phone, check_phone),
            (self.email, check_email),
            (self.birthday, check_date),
        ];
        let mut bad = false;
        for (f, c) in checks {
            let e = c(&f.value.get_untracked());
            bad |= e.is_some();
            f.error.set(e);
        }
        if !matches!(self.sex.value.get_untracked().as_str(), "1" | "2") {
            self.sex.error.set(Some("请选择性别".into()));
            bad = true;
        }
        if bad {
            self.info_saved.set(Saved::Err("请先改正标红的字段".into()));
            return;
        }
        let text = |f: Field| f.value.get_untracked().trim().to_owned();
        let birthday = self.birthday.value.get_untracked();
        let form = InformationForm {
            username: text(self.memo),
            sex: text(self.sex),
            phone: text(self.phone),
            email: text(self.email),
            company: text(self.company),
            position: text(self.position),
            address: text(self.address),
            birthday: Date::parse(&birthday)
                .map(|d| d.to_string())
                .unwrap_or(birthday),
            mem: text(self.mem),
        };
        let fields = self.profile_fields();
        leptos::task::spawn_local(async move {
            self.save::<api::Empty>(
                format!("qiyeweixin/customer/update_information/{}", self.id),
                form.pairs(),
                self.info_saved,
                move |fe| {
                    for (k, f) in fields {
                        if let Some(m) = fe.message(k) {
                            let _ = f.error.try_set(Some(m.to_owned()));
                        }
                    }
                },
            )
            .await;
        });
    }

    fn toggle_tag(self, tag_id: i64) {
        self.groups.update(|gs| {
            for t in gs
                .iter_mut()
                .flat_map(|g| g.tags.iter_mut())
                .filter(|t| t.id == tag_id)
            {
                t.selected = !t.selected;
            }
        });
        let tag_list: Vec<i64> = self.groups.with_untracked(|gs| {
            gs.iter()
                .flat_map(|g| g.tags.iter())
                .filter(|t| t.selected)
                .map(|t| t.id)
                .collect()
        });
        let form = TagListForm { tag_list };
        leptos::task::spawn_local(async move {
            let saved = self
                .save::<api::Empty>(
                    format!("qiyeweixin/customer/update_tag/{}", self.id),
                    form.pairs(),
                    self.tags_saved,
                    |_| {},
                )
                .await;
            if saved.is_none() {
                self.load_tags().await;
            }
        });
    }

    fn add_tag(self) {
        let name = self.new_tag.get_untracked().trim().to_owned();
        if name.is_empty() {
            self.tags_saved.set(Saved::Err("标签不能为空".into()));
            return;
        }
        if name.chars().count() > 32 {
            self.tags_saved
                .set(Saved::Err("标签不能超过32个字符".into()));
            return;
        }
        let form = NewTagForm { name, tag_type: 1 };
        leptos::task::spawn_local(async move {
            let added = self
                .save::<TagAdded>(
                    format!("qiyeweixin/tag_list/add_tag/{}", self.id),
                    form.pairs(),
                    self.tags_saved,
                    |_| {},
                )
                .await;
            if added.is_some() {
                let _ = self.new_tag.try_set(String::new());
                self.load_tags().await;
            }
        });
    }

    fn delete_tag(self, tag_id: i64) {
        leptos::task::spawn_local(async move {
            self.save::<api::Empty>(
                format!("qiyeweixin/tag_list/delete_tag/{tag_id}"),
                vec![],
                self.tags_saved,
                |_| {},
            )
            .await;
            self.load_tags().await;
        });
    }

    fn add_note(self) {
        let text = self.note_text.get_untracked().trim().to_owned();
        if text.is_empty() {
            self.note_saved.set(Saved::Err("跟进信息不能为空".into()));
            return;
        }
        if text.chars().count() > 256 {
            self.note_saved
                .set(Saved::Err("跟进信息不能超过256个字符".into()));
            return;
        }
        let form = FollowForm { follow_info: text };
        leptos::task::spawn_local(async move {
            let added = self
                .save::<NoteAdded>(
                    format!("qiyeweixin/follow_info/add/{}", self.id),
                    form.pairs(),
                    self.note_saved,
                    |_| {},
                )
                .await;
            if added.is_some() {
                let _ = self.note_text.try_set(String::new());
                self.load_notes().await;
            }
        });
    }
}

#[component]
pub fn CustomerEditor() -> impl IntoView {
    let Some(id) = super::route_id() else {
        return view! { <TopBar title=Signal::stored("客户资料".to_string()) back="/rep"/><Failed msg="客户ID无效"/> }.into_any();
    };
    let e = Editor {
        id,
        creds: StoredValue::new(None),
        state: RwSignal::new(Load::Loading),
        name: RwSignal::new(String::new()),
        avatar: RwSignal::new(String::new()),
        source: RwSignal::new(String::new()),
        pr: RwSignal::new(String::new()),
        pr_error: RwSignal::new(None),
        pr_saved: RwSignal::new(Saved::Idle),
        date: RwSignal::new(String::new()),
        date_error: RwSignal::new(None),
        date_saved: RwSignal::new(Saved::Idle),
        memo: Field::new(),
        sex: Field::new(),
        phone: Field::new(),
        email: Field::new(),
        company: Field::new(),
        position: Field::new(),
        address: Field::new(),
        birthday: Field::new(),
        mem: Field::new(),
        info_saved: RwSignal::new(Saved::Idle),
        groups: RwSignal::new(Vec::new()),
        tags_state: RwSignal::new(Load::Loading),
        tags_saved: RwSignal::new(Saved::Idle),
        new_tag: RwSignal::new(String::new()),
        notes: RwSignal::new(Vec::new()),
        notes_state: RwSignal::new(Load::Loading),
        note_text: RwSignal::new(String::new()),
        note_saved: RwSignal::new(Saved::Idle),
        timeline: RwSignal::new(Vec::new()),
        timeline_state: RwSignal::new(Load::Loading),
    };
    Effect::new(move |_| match client::take_creds(Role::Rep) {
        None => e.state.set(Load::Failed(NO_CREDS_REP.into())),
        Some(c) => {
            e.creds.set_value(Some(c));
            leptos::task::spawn_local(async move {
                e.load_detail().await;
                if e.state.try_get_untracked() == Some(Load::Ready) {
                    e.load_tags().await;
                    e.load_notes().await;
                    e.load_timeline().await;
                }
            });
        }
    });
    let retry = Callback::new(move |_| leptos::task::spawn_local(e.load_detail()));
    let title = Signal::derive(move || {
        let n = e.name.get();
        if n.is_empty() {
            "客户资料".to_string()
        } else {
            n
        }
    });
    view! {
        <TopBar title=title back="/rep">
            <A href=format!("/rep/chat/{id}") attr:class="topbar-link">"聊天"</A>
        </TopBar>
        {move || match e.state.get() {
            Load::Loading => view! { <Loading text="正在加载客户资料…"/> }.into_any(),
            Load::Failed(m) => view! { <Failed msg=m retry=retry/> }.into_any(),
            _ => view! { <EditorBody e=e/> }.into_any(),
        }}
    }
    .into_any()
}

#[component]
fn EditorBody(e: Editor) -> impl IntoView {
    let slider = StoredValue::new(0i64);
    view! {
        <section class="profile-head">
            <Avatar src=e.avatar.get_untracked() name=e.name.get_untracked()/>
            <div>
                <div class="profile-name" data-testid="customer-name">{move || e.name.get()}</div>
                <div class="muted">{move || { let s = e.source.get(); if s.is_empty() { String::new() } else { format!("来源：{s}") } }}</div>
            </div>
        </section>

        <section class="card" aria-labelledby="deal-h">
            <h2 id="deal-h">"成交预测"</h2>
            <div class="field">
                <span class="field-label">"预计成交概率"</span>
                <div class="slider-row">
                    <input type="range" min="0" max="100" step="5" name="expedted_pr_range" aria-label="预计成交概率滑块"
                        prop:value=move || {
                            // While the text is not a valid probability the slider stays put.
                            if let Ok(p) = Probability::parse(&e.pr.get()) {
                                slider.set_value(p.get());
                            }
                            slider.get_value().to_string()
                        }
                        on:input=move |ev| { e.pr.set(event_target_value(&ev)); e.pr_error.set(None); }/>
                    <input class="pr-input" type="text" inputmode="numeric" name="expedted_pr" aria-label="预计成交概率"
                        prop:value=move || e.pr.get()
                        on:input=move |ev| { e.pr.set(event_target_value(&ev)); e.pr_error.set(None); }/>
                    <span>"%"</span>
                    <button class="btn" data-testid="save-pr" on:click=move |_| e.save_pr()>"保存"</button>
                </div>
                {move || e.pr_error.get().map(|m| view! { <span class="field-error" data-field="expedted_pr">{m}</span> })}
                {saved_view(e.pr_saved, "pr-result")}
            </div>
            <div class="field">
                <span class="field-label">"预计成交日期"</span>
                <div class="slider-row">
                    <input type="date" name="expected_time" aria-label="预计成交日期" prop:value=move || e.date.get()
                        on:input=move |ev| { e.date.set(event_target_value(&ev)); e.date_error.set(None); }/>
                    <button class="btn" data-testid="save-date" on:click=move |_| e.save_date()>"保存"</button>
                </div>
                {move || e.date_error.get().map(|m| view! { <span class="field-error" data-field="expected_time">{m}</span> })}
                {saved_view(e.date_saved, "date-result")}
            </div>
        </section>

        <section class="card" aria-labelledby="tags-h">
            <h2 id="tags-h">"标签"</h2>
            {move || match e.tags_state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
                Load::Empty => view! { <p class="muted">"还没有标签，在下面添加一个。"</p> }.into_any(),
                Load::Ready => view! {
                    <div class="tag-groups" data-testid="tags">
                        {move || e.groups.get().into_iter().filter(|g| !g.tags.is_empty()).map(|g| view! {
                            <div class="tag-group">
                                <div class="tag-group-name">{g.name.clone()}</div>
                                <div class="tag-list">
                                    {g.tags.into_iter().map(|t| {
                                        let id = t.id;
                                        view! {
                                            <span class=if t.selected { "tag selected" } else { "tag" }>
                                                <button class="tag-toggle" aria-pressed=t.selected.to_string() data-tag=t.name.clone()
                                                    on:click=move |_| e.toggle_tag(id)>{t.name.clone()}</button>
                                                <button class="tag-del" aria-label=format!("删除标签{}", t.name)
                                                    on:click=move |_| e.delete_tag(id)>"×"</button>
                                            </span>
                                        }
                                    }).collect_view()}
                                </div>
                            </div>
                        }).collect_view()}
                    </div>
                }.into_any(),
            }}
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); e.add_tag(); }>
                <input type="text" name="new_tag" placeholder="新标签" aria-label="新标签" maxlength="32"
                    prop:value=move || e.new_tag.get() on:input=move |ev| e.new_tag.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="add-tag">"添加"</button>
            </form>
            {saved_view(e.tags_saved, "tags-result")}
        </section>

        <section class="card" aria-labelledby="info-h">
            <h2 id="info-h">"客户信息"</h2>
            <form class="profile-form" novalidate=true on:submit=move |ev| { ev.prevent_default(); e.save_info(); }>
                <Input label="备注名" name="username" field=e.memo required=true check=check_required/>
                <div class=move || if e.sex.error.get().is_some() { "field has-error" } else { "field" }>
                    <span class="field-label">"性别 *"</span>
                    <div class="radio-row" role="radiogroup">
                        <label><input type="radio" name="sex" value="1" prop:checked=move || e.sex.value.get() == "1"
                            on:change=move |_| { e.sex.value.set("1".into()); e.sex.error.set(None); }/>" 男"</label>
                        <label><input type="radio" name="sex" value="2" prop:checked=move || e.sex.value.get() == "2"
                            on:change=move |_| { e.sex.value.set("2".into()); e.sex.error.set(None); }/>" 女"</label>
                    </div>
                    {move || e.sex.error.get().map(|m| view! { <span class="field-error" data-field="sex">{m}</span> })}
                </div>
                <Input label="手机号" name="phone" field=e.phone kind="tel" check=check_phone/>
                <Input label="邮箱" name="email" field=e.email kind="email" check=check_email/>
                <Input label="公司" name="company" field=e.company/>
                <Input label="职位" name="position" field=e.position/>
                <Input label="地址" name="address" field=e.address/>
                <Input label="生日" name="birthday" field=e.birthday kind="date" check=check_date/>
                <label class="field">
                    <span class="field-label">"备注"</span>
                    <textarea name="mem" rows="3" prop:value=move || e.mem.value.get()
                        on:input=move |ev| e.mem.value.set(event_target_value(&ev))></textarea>
                </label>
                <button class="btn btn-primary btn-block" type="submit" data-testid="save-info">"保存客户信息"</button>
                {saved_view(e.info_saved, "info-result")}
            </form>
        </section>

        <section class="card" aria-labelledby="notes-h">
            <h2 id="notes-h">"跟进记录"</h2>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); e.add_note(); }>
                <input type="text" name="follow_info" placeholder="记录一次跟进…" aria-label="跟进内容" maxlength="256"
                    prop:value=move || e.note_text.get() on:input=move |ev| e.note_text.set(event_target_value(&ev))/>
                <button class="btn" type="submit" data-testid="add-note">"添加"</button>
            </form>
            {saved_view(e.note_saved, "note-result")}
            {move || match e.notes_state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
                Load::Empty => view! { <Empty text="暂无跟进记录" icon="📝"/> }.into_any(),
                Load::Ready => view! {
                    <ul class="timeline" data-testid="notes">
                        {move || e.notes.get().into_iter().map(|(t, d)| view! {
                            <li><span class="tl-text">{t}</span><span class="tl-time">{d.replace('T', " ").chars().take(16).collect::<String>()}</span></li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>

        <section class="card" aria-labelledby="tl-h">
            <h2 id="tl-h">"客户动态"
                <button class="link small" on:click=move |_| leptos::task::spawn_local(e.load_timeline())>"刷新"</button>
            </h2>
            {move || match e.timeline_state.get() {
                Load::Loading => view! { <Loading/> }.into_any(),
                Load::Failed(m) => view! { <Failed msg=m/> }.into_any(),
                Load::Empty => view! { <Empty text="客户还没有动态" icon="📡"/> }.into_any(),
                Load::Ready => view! {
                    <ul class="timeline" data-testid="timeline">
                        {move || e.timeline.get().into_iter().map(|(t, d)| view! {
                            <li><span class="tl-text">{t}</span><span class="tl-time">{d.replace('T', " ").chars().take(16).collect::<String>()}</span></li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
