//! The server-rendered pages as clients without JavaScript see them: WeChat's
//! link preview reads `/h5/article/{id}`'s `<title>` and Open Graph tags from
//! the first HTML response and never runs the WASM. Also the `article_head`
//! server function behind that first paint, called directly over HTTP.

use crate::common::{Backend, TestApp};
use serde_json::Value;

/// How leptos writes text content (and our `<title>`): `&`, `<`, `>` escaped.
fn esc_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// How leptos writes attribute values: text escaping plus `"`.
fn esc_attr(s: &str) -> String {
    esc_text(s).replace('"', "&quot;")
}

async fn article(app: &TestApp, company: i64, title: &str, status: i64) -> i64 {
    radar::service::article::create_article(&app.st, company, title, status, 0)
        .await
        .expect("article")
}

async fn set_head(app: &TestApp, id: i64, summary: &str, cover: &str) {
    sqlx::query("UPDATE article SET summary = $1, cover_picture = $2 WHERE id = $3")
        .bind(summary)
        .bind(cover)
        .bind(id)
        .execute(&app.st.db.pool)
        .await
        .expect("update article");
}

/// The page as a client without credentials, cookies or JavaScript gets it.
async fn page(app: &TestApp, path: &str) -> String {
    let resp = app
        .http
        .get(format!("{}{}", app.base, path))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.expect("html")
}

/// The text of the document's `<title>` element (up to the first `</title>`,
/// which is where a browser ends it too).
fn title_of(html: &str) -> Option<&str> {
    let head = &html[..html.find("</head>")?];
    let start = head.find("<title>")? + "<title>".len();
    let len = head[start..].find("</title>")?;
    Some(&head[start..start + len])
}

fn head_of(html: &str) -> &str {
    &html[..html.find("</head>").expect("</head>")]
}

async fn article_head_page(b: Backend) {
    let app = crate::common::spawn_app(b).await;
    let c = app.company("公司").await;
    let title = r#"季度复盘</title><script>window.__x=1</script> & "引号""#;
    let summary = r#"摘要"><script>alert(2)</script> 第二句"#;
    let cover = "https://img.example.com/c.png?w=1&h=2";
    let id = article(&app, c, title, 1).await;
    set_head(&app, id, summary, cover).await;

    let html = page(&app, &format!("/h5/article/{id}")).await;
    let head = head_of(&html);
    assert_eq!(title_of(&html), Some(esc_text(title).as_str()), "{head}");
    assert_eq!(head.matches("<title>").count(), 1, "{head}");
    assert!(
        head.contains(&format!(
            r#"<meta property="og:title" content="{}">"#,
            esc_attr(title)
        )),
        "{head}"
    );
    for tag in [
        format!(
            r#"<meta name="description" content="{}">"#,
            esc_attr(summary)
        ),
        format!(
            r#"<meta property="og:description" content="{}">"#,
            esc_attr(summary)
        ),
        format!(
            r#"<meta property="og:image" content="{}">"#,
            esc_attr(cover)
        ),
    ] {
        assert!(head.contains(&tag), "missing {tag} in {head}");
    }
    // Nothing the author typed becomes markup, in the head or in the body.
    assert!(!html.contains("<script>window.__x"), "{html}");
    assert!(!html.contains("<script>alert(2)"), "{html}");
    // The page header carries the title, the summary and the cover before any
    // script runs (the body and the reviews come after hydration).
    // `<!>` is a hydration marker (a comment) that the type-erased views
    // (`erase_components`) put after dynamic text; it is not content.
    let body = html[html.find("<body").expect("<body")..].replace("<!>", "");
    assert!(
        body.contains(&format!(r#"class="topbar-title">{}</h1>"#, esc_text(title))),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            r#"class="article-title">{}</h1>"#,
            esc_text(title)
        )),
        "{body}"
    );
    assert!(body.contains(&esc_text(summary)), "{body}");
    assert!(
        body.contains(&format!(r#"src="{}""#, esc_attr(cover))),
        "{body}"
    );
    // Anonymous reads are not views: no read count, no access log.
    assert_eq!(
        app.count(&format!("article WHERE id = {id} AND read_count = 0"))
            .await,
        1
    );
    assert_eq!(app.count("access_log").await, 0);
}

async fn hidden_articles_have_no_head(b: Backend) {
    let app = crate::common::spawn_app(b).await;
    let c = app.company("公司").await;
    let draft_title = "未发布的草稿标题-DRAFT";
    let deleted_title = "已删除的文章标题-GONE";
    let draft = article(&app, c, draft_title, 2).await;
    set_head(
        &app,
        draft,
        "草稿摘要-DRAFT",
        "https://img.example.com/d.png",
    )
    .await;
    let deleted = article(&app, c, deleted_title, 3).await;
    set_head(
        &app,
        deleted,
        "删除摘要-GONE",
        "https://img.example.com/g.png",
    )
    .await;
    for id in [draft, deleted, 999_999] {
        let html = page(&app, &format!("/h5/article/{id}")).await;
        let head = head_of(&html);
        assert_eq!(title_of(&html), Some("诸葛雷达"), "{head}");
        assert!(!head.contains("og:"), "{head}");
        assert!(!head.contains(r#"name="description""#), "{head}");
        for leak in ["DRAFT", "GONE", "img.example.com"] {
            assert!(!html.contains(leak), "{leak} leaked for {id}: {html}");
        }
        // The page's own state: the placeholder title and the loading view the
        // client replaces with its answer (or an error) after hydration.
        assert!(
            html.replace("<!>", "")
                .contains(&format!(r#"class="topbar-title">文章 #{id}</h1>"#)),
            "{html}"
        );
        assert!(html.contains("正在打开文章…"), "{html}");
    }
}

async fn call_head(app: &TestApp, body: &str) -> (u16, String) {
    let resp = app
        .http
        .post(format!("{}/api/article_head", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

async fn head_server_fn_over_http(b: Backend) {
    let app = crate::common::spawn_app(b).await;
    let c = app.company("公司").await;
    let published = article(&app, c, "公开文章", 1).await;
    set_head(&app, published, "公开摘要", "https://img.example.com/p.png").await;
    let draft = article(&app, c, "草稿-DRAFT", 2).await;
    let deleted = article(&app, c, "删除-GONE", 3).await;

    let (status, body) = call_head(&app, &format!("id={published}")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v,
        serde_json::json!({
            "title": "公开文章",
            "summary": "公开摘要",
            "cover_picture": "https://img.example.com/p.png",
        })
    );
    for id in [draft, deleted, 999_999, 0, -1] {
        let (status, body) = call_head(&app, &format!("id={id}")).await;
        assert_eq!((status, body.as_str()), (200, "null"), "id {id}");
    }
    // Arguments it cannot decode are the caller's mistake, not a server error.
    for bad in ["id=abc", "", "id=", "id=99999999999999999999", "ids=1"] {
        let (status, body) = call_head(&app, bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    let resp = app
        .http
        .get(format!("{}/api/article_head?id={published}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 405);
    assert_eq!(
        app.count(&format!(
            "article WHERE id = {published} AND read_count = 0"
        ))
        .await,
        1
    );
    assert_eq!(app.count("access_log").await, 0);
}

// One runtime for the whole file, the cases one after another, as in a real
// `radar serve` process: with leptos's SSR in several test runtimes at once a
// page render hung about once in forty runs here, which one production
// process under 3,000 concurrent page requests never did.
#[test]
fn server_rendered_pages() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for b in [Backend::Sqlite, Backend::Postgres] {
            article_head_page(b).await;
            hidden_articles_have_no_head(b).await;
            head_server_fn_over_http(b).await;
        }
    });
}
