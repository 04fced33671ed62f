//! The leptos UI: the HTML shell, the routes and the shared page pieces.
//!
//! Routes (third parties link to them):
//! `/rep` contact list, `/rep/customer/{id}` customer editor, `/rep/chat/{id}` chat
//! panel, `/h5/chat` customer chat, `/h5/article/{id}` article companion.

pub mod article;
pub mod chat;
pub mod client;
pub mod contacts;
pub mod customer;
pub mod live;
pub mod server_fns;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::params::Params;
use leptos_router::{path, SsrMode};

/// The `{id}` of the routes that name a customer or an article.
#[derive(Debug, Clone, PartialEq, Params)]
struct IdParam {
    id: Option<i64>,
}

/// The positive `{id}` of the current route, if it has one.
pub fn route_id() -> Option<i64> {
    leptos_router::hooks::use_params::<IdParam>()
        .with_untracked(|p| p.as_ref().ok().and_then(|p| p.id))
        .filter(|i| *i > 0)
}

/// The HTML document around [`App`]; `stylesheet` is the URL of the site's
/// CSS (content-hashed by the server), linked here rather than from `App` so
/// the browser never needs to know it.
pub fn shell(options: LeptosOptions, stylesheet: String) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="theme-color" content="#1677ff"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as interactive, which
    // the end-to-end tests wait for before they click.
    Effect::new(move |_| client::mark_hydrated());
    view! {
        <Title text="诸葛雷达"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("/rep") view=contacts::ContactList/>
                    <Route path=path!("/rep/customer/:id") view=customer::CustomerEditor/>
                    <Route path=path!("/rep/chat/:id") view=chat::RepChat/>
                    <Route path=path!("/h5/chat") view=chat::CustomerChat/>
                    // Partially blocked: the article's public head (a blocking resource) is
                    // rendered into the HTML itself, for clients that never run the WASM.
                    <Route path=path!("/h5/article/:id") view=article::ArticlePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <div class="state state-empty">
            <div class="state-icon">"🔍"</div>
            <p>"页面不存在"</p>
            <A href="/">"返回首页"</A>
        </div>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <section class="home">
            <h1>"诸葛雷达"</h1>
            <p class="muted">"销售雷达：谁在读你的文章，谁最可能成交，实时聊天。"</p>
            <ul class="home-links">
                <li>"销售：" <code>"/rep#user_id=…&token=…"</code></li>
                <li>"客户聊天：" <code>"/h5/chat?u_id=…#user_id=…&token=…"</code></li>
                <li>"文章：" <code>"/h5/article/{id}?uid=…#user_id=…&token=…"</code></li>
            </ul>
            <p class="muted">"运行 " <code>"radar demo"</code> " 获取演示账号链接。"</p>
        </section>
    }
}

/// What a page section is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Loading,
    Ready,
    Empty,
    Failed(String),
}

#[component]
pub fn Loading(#[prop(into, default = "加载中…".to_string())] text: String) -> impl IntoView {
    view! {
        <div class="state state-loading" role="status">
            <span class="spinner"></span>
            <span>{text}</span>
        </div>
    }
}

#[component]
pub fn Failed(
    #[prop(into)] msg: String,
    #[prop(optional, into)] retry: Option<Callback<()>>,
) -> impl IntoView {
    let offer = match msg.as_str() {
        NO_CREDS_REP => Some(client::Role::Rep),
        NO_CREDS_H5 => Some(client::Role::Customer),
        _ => None,
    };
    view! {
        <div class="state state-error" role="alert">
            <div class="state-icon">"⚠️"</div>
            <p class="error-text">{msg}</p>
            {retry.map(|r| view! { <button class="btn" on:click=move |_| r.run(())>"重试"</button> })}
            {offer.map(|role| view! { <SignInOffer role=role/> })}
        </div>
    }
}

/// The sign-in link of a page opened without credentials, when its address
/// names the company (`?company_id=`) and the company offers that sign-in
/// (`GET /auth/options/{company_id}`, asked in the browser only).
#[component]
fn SignInOffer(role: client::Role) -> impl IntoView {
    let href = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let num = |k: &str| {
            client::query_param(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v > 0)
        };
        let Some(company) = num("company_id") else {
            return;
        };
        // The customer chat names its rep `u_id`, the article page `uid`.
        let uid = num("uid").or_else(|| num("u_id"));
        leptos::task::spawn_local(async move {
            let offer = client::sign_in_options(company).await;
            let next = client::here();
            let link = client::sign_in_href(role, company, &offer, next.as_deref(), uid);
            let _ = href.try_set(link);
        });
    });
    let label = match role {
        client::Role::Rep => "企业微信登录",
        client::Role::Customer => "微信登录",
    };
    // `rel="external"`: a server page, not a route of the app's router.
    move || {
        href.get()
            .map(|h| view! { <a class="btn btn-primary sign-in" rel="external" href=h>{label}</a> })
    }
}

#[component]
pub fn Empty(
    #[prop(into)] text: String,
    #[prop(into, default = "📭".to_string())] icon: String,
) -> impl IntoView {
    view! {
        <div class="state state-empty">
            <div class="state-icon">{icon}</div>
            <p>{text}</p>
        </div>
    }
}

/// Shows `Loading`/`Empty`/`Failed` for a section, and nothing when it is ready.
pub fn load_state(
    state: RwSignal<Load>,
    empty_text: &'static str,
    retry: Option<Callback<()>>,
) -> impl IntoView {
    move || match state.get() {
        Load::Loading => view! { <Loading/> }.into_any(),
        Load::Empty => view! { <Empty text=empty_text/> }.into_any(),
        Load::Failed(m) => match retry {
            Some(r) => view! { <Failed msg=m retry=r/> }.into_any(),
            None => view! { <Failed msg=m/> }.into_any(),
        },
        Load::Ready => ().into_any(),
    }
}

/// Stored default avatars are relative (`statics/imgs/Avator.jpg`, as the
/// original wrote them); on `/h5/chat` such a path would resolve under
/// `/h5/`, so it is taken from the site root.
pub fn site_path(src: &str) -> String {
    let s = src.trim();
    let absolute = s.starts_with('/')
        || s.starts_with("http://")
        || s.starts_with("https://")
        || s.starts_with("data:")
        || s.starts_with("blob:");
    if absolute || s.is_empty() {
        s.to_owned()
    } else {
        format!("/{s}")
    }
}

/// A round avatar: the picture when there is one, else the first character.
#[component]
pub fn Avatar(#[prop(into)] src: String, #[prop(into)] name: String) -> impl IntoView {
    let initial = name
        .chars()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "?".into());
    // A picture that fails to load (offline, expired WeChat URL) falls back to
    // the initial instead of a broken-image icon.
    let failed = RwSignal::new(src.trim().is_empty());
    let src = site_path(&src);
    // Only once hydrated, so the error listener is there before the picture
    // loads (a server-rendered <img> could fail before it existed).
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    view! {
        <span class="avatar avatar-text" aria-hidden="true">
            {initial}
            {move || (mounted.get() && !failed.get()).then(|| view! {
                <img class="avatar-img" src=src.clone() alt="" loading="lazy" on:error=move |_| failed.set(true)/>
            })}
        </span>
    }
}

/// Header bar of a page, with an optional back link.
#[component]
pub fn TopBar(
    #[prop(into)] title: Signal<String>,
    #[prop(optional, into)] back: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="topbar">
            {back.map(|href| view! { <A href=href attr:class="back" attr:aria-label="返回">"‹"</A> })}
            <h1 class="topbar-title">{move || title.get()}</h1>
            <div class="topbar-extra">{children.map(|c| c())}</div>
        </header>
    }
}

/// Message shown when a page is opened without (or with stale) credentials.
pub const NO_CREDS_REP: &str = "缺少登录信息：请从企业微信中的链接打开（/rep#user_id=…&token=…）";
pub const NO_CREDS_H5: &str = "缺少登录信息：请从公众号消息中的链接打开此页面";

#[cfg(test)]
mod avatar_tests {
    #[test]
    fn relative_avatars_come_from_the_site_root() {
        use super::site_path;
        assert_eq!(
            site_path("statics/imgs/Avator.jpg"),
            "/statics/imgs/Avator.jpg"
        );
        assert_eq!(site_path("/media/a.png"), "/media/a.png");
        assert_eq!(site_path("https://wx.qlogo.cn/x"), "https://wx.qlogo.cn/x");
        assert_eq!(site_path(" "), "");
    }
}
