//! The leptos UI: the HTML shell and the routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
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
    view! {
        <Stylesheet id="leptos" href="/pkg/radar.css"/>
        <Title text="诸葛雷达"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p class="empty">"页面不存在"</p> }>
                    <Route path=StaticSegment("") view=HomePage/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <section class="home">
            <h1>"诸葛雷达 Radar"</h1>
            <p>"销售雷达：谁在读你的文章，谁最可能成交，实时聊天。"</p>
            <p id="hydrated">{move || if hydrated.get() { "hydrated" } else { "ssr" }}</p>
        </section>
    }
}
