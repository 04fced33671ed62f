//! The OpenAPI document (contract §7): it covers every route of the router, a
//! real validator accepts it, the server's answers fit it (the golden answers,
//! see `golden.rs`, and a schemathesis fuzz run driven by the document), and
//! `/docs` renders it with Radar's own assets only.
//!
//! The Python tools live in a venv that `scripts/py-tools.sh` installs
//! (idempotent; `scripts/setup.sh` runs it too).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::both;
use crate::common::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv with openapi-spec-validator, jsonschema and schemathesis.
pub(crate) fn py_tools() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let mut cmd = Command::new(repo().join("scripts/py-tools.sh"));
        // The test binary is target/debug/deps/api-…: the venv goes beside the build.
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            if let Some(t) = std::env::current_exe()
                .ok()
                .and_then(|e| e.ancestors().nth(3).map(Path::to_path_buf))
            {
                cmd.env("CARGO_TARGET_DIR", t);
            }
        }
        let out = cmd.output().expect("scripts/py-tools.sh");
        assert!(
            out.status.success(),
            "scripts/py-tools.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Runs scripts/openapi_check.py; panics with its output unless it succeeds.
pub fn check(args: &[&str]) -> String {
    let out = Command::new(py_tools().join("bin/python"))
        .arg(repo().join("scripts/openapi_check.py"))
        .args(args)
        .output()
        .expect("python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openapi_check.py {args:?}:\n{text}");
    text
}

/// A scratch file under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn json(tag: &str, v: &Value) -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "radar_openapi_{tag}_{}_{}.json",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::write(&p, v.to_string()).expect("write scratch");
        Scratch(p)
    }
    pub fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub async fn fetch_doc(app: &TestApp) -> Value {
    let resp = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    resp.json().await.expect("json")
}

/// `doc_path` (a documented path under /zhugeleida, `{o_id}` its parameter)
/// is served by router `pattern`: same segments, a pattern's `{…}` taking any
/// one segment, a documented `{…}` only a pattern's `{…}`.
fn served_by(doc_path: &str, pattern: &str) -> bool {
    let d: Vec<&str> = doc_path.split('/').collect();
    let p: Vec<&str> = pattern.split('/').collect();
    d.len() == p.len()
        && d.iter().zip(&p).all(|(d, p)| {
            let param = |s: &str| s.starts_with('{') && s.ends_with('}');
            param(p) || (!param(d) && d == p)
        })
}

/// Routes the document leaves out on purpose, and why: they serve people and
/// browsers, not API clients.
const NOT_API: &[(&str, &str)] = &[
    ("/docs", "the HTML rendering of this document"),
    ("/docs/{file}", "the script and style of that rendering"),
    (
        "/pkg/{*path}",
        "the site's built JavaScript, WebAssembly and CSS",
    ),
    (
        "/statics/imgs/{file}",
        "the original's two default avatar pictures, at its paths",
    ),
];

/// The leptos pages (`app::ui` router): HTML for people, rendered by the UI.
fn is_page(pattern: &str) -> bool {
    pattern == "/"
        || pattern == "/rep"
        || pattern.starts_with("/rep/")
        || pattern.starts_with("/h5/")
}

/// Every route of the whole router (with the admin API enabled) is in the
/// document or in the exclusions above, and every documented path is a route:
/// a new route without documentation fails here. Then each documented
/// operation is called (signed, empty) and answers its envelope, never 404,
/// while an undocumented path answers 404.
async fn covers_router(b: Backend) {
    let app = spawn_with(b, |c| {
        c.admin_token = Some(radar::config::Secret(crate::admin_api::TOKEN.into()));
    })
    .await;
    let doc = fetch_doc(&app).await;
    let all = radar::route_patterns(&app.st);
    let api_patterns: Vec<&str> = all
        .iter()
        .filter_map(|p| p.strip_prefix("/zhugeleida"))
        .collect();
    assert!(api_patterns.len() >= 20, "{all:?}");
    let paths = doc["paths"].as_object().expect("paths");
    let sockets = doc["x-websockets"].as_object().expect("x-websockets");
    let mut api_paths = Vec::new();
    for p in paths.keys() {
        match p.strip_prefix("/zhugeleida") {
            Some(rest) => api_paths.push(rest.to_owned()),
            None => assert!(all.contains(p), "documented path {p} is no route"),
        }
    }
    // The router prefers a static segment over a parameter
    // (`…/chat/upload/{o_id}` over `…/chat/{oper}/{o_id}`): of the patterns
    // that match, the one with the fewest parameters serves the path.
    let params = |r: &str| r.matches('{').count();
    for p in &api_paths {
        let matching: Vec<_> = api_patterns.iter().filter(|r| served_by(p, r)).collect();
        let fewest = matching.iter().map(|r| params(r)).min().unwrap_or(0);
        let by: Vec<_> = matching
            .into_iter()
            .filter(|r| params(r) == fewest)
            .collect();
        assert_eq!(by.len(), 1, "{p} is served by {by:?}");
        let op = radar::openapi::OPS
            .iter()
            .find(|o| o.path == p)
            .expect("an OPS entry");
        assert_eq!(op.route, *by[0], "{p}");
    }
    let mut excluded = Vec::new();
    for r in &all {
        let documented = match r.strip_prefix("/zhugeleida") {
            Some(api) => {
                api_paths.iter().any(|p| served_by(p, api)) || sockets.contains_key(r.as_str())
            }
            None => paths.contains_key(r.as_str()),
        };
        if documented {
            continue;
        }
        assert!(
            is_page(r) || NOT_API.iter().any(|(p, _)| p == r),
            "route {r} is neither in /openapi.json nor excluded in tests/api/openapi.rs"
        );
        excluded.push(r.as_str());
    }
    // The exclusions are routes (no stale entries), and the sign-in and admin
    // routes are documented, not excluded.
    for (p, why) in NOT_API {
        assert!(
            all.iter().any(|r| r == p),
            "excluded {p} ({why}) is no route"
        );
    }
    assert!(excluded.iter().any(|r| is_page(r)), "{excluded:?}");
    for must in [
        "/auth/wecom/{company_id}/start",
        "/admin/api/v1/users/{id}/rotate-token",
    ] {
        assert!(all.iter().any(|r| r == must), "{must} is no route: {all:?}");
        assert!(paths.contains_key(must), "{must} is not documented");
    }
    for s in sockets.keys() {
        assert!(all.contains(s), "{s} is no route");
    }
    // Without the token the admin routes are not served at all.
    let plain = spawn_app(b).await;
    let without = radar::route_patterns(&plain.st);
    assert!(
        !without.iter().any(|r| r.starts_with("/admin/")),
        "{without:?}"
    );

    let (rep, customer) = app.pair().await;
    for (path, item) in paths {
        let Some(rest) = path.strip_prefix("/zhugeleida") else {
            continue;
        };
        let who = if rest.starts_with("/qiyeweixin/") {
            &rep
        } else {
            &customer
        };
        let concrete = path.replace("{o_id}", "0");
        for method in item.as_object().expect("item").keys() {
            let url = app.url(&concrete, who, "");
            let resp = match method.as_str() {
                "get" => app.http.get(&url),
                "post" => app.http.post(&url),
                m => panic!("{m} {path}"),
            }
            .send()
            .await
            .expect("request");
            assert_eq!(resp.status(), 200, "{method} {path}");
            let body: Value = resp.json().await.expect("json");
            assert!(body["code"].is_i64(), "{method} {path}: {body}");
            assert_ne!(body["code"], 404, "{method} {path}");
        }
    }
    for undocumented in [
        "/zhugeleida/qiyeweixin/nothing_here",
        "/zhugeleida/gongzhonghao/chat/send_msg",
    ] {
        let resp = app
            .http
            .get(app.url(undocumented, &rep, ""))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 404, "{undocumented}");
    }
}

/// openapi-spec-validator accepts the document as OpenAPI 3.1.
async fn valid_document(b: Backend) {
    let app = spawn_app(b).await;
    let doc = fetch_doc(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for scheme in ["user_id", "timestamp", "rand_str"] {
        let s = &doc["components"]["securitySchemes"][scheme];
        assert_eq!(s["type"], "apiKey", "{scheme}");
        assert_eq!(s["in"], "query", "{scheme}");
    }
    assert!(doc["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("md5_hex(timestamp + token)")));
    let f = Scratch::json("doc", &doc);
    let out = check(&["validate", f.path()]);
    assert!(out.contains("valid OpenAPI 3.1.0"), "{out}");
}

/// Schemathesis, driven by the document, signs each request (the hook in
/// scripts/openapi_fuzz_hooks.py) and finds no 5xx, no undocumented status
/// and no answer outside its schema. `RADAR_FUZZ_EXAMPLES` sets the examples
/// per operation (default 25, a short CI run).
async fn fuzz(b: Backend) {
    let app = spawn_with(b, |c| {
        c.write_rate = 0.0;
        c.admin_token = Some(radar::config::Secret(crate::admin_api::TOKEN.into()));
    })
    .await;
    let company = app.company("公司").await;
    let rep = app.user(company, "销售").await;
    let customer = app.customer(company, "客户").await;
    app.relate(&rep, &customer).await;
    let article = radar::service::article::create_article(&app.st, company, "文章", 1, 3)
        .await
        .expect("article");
    let activity = radar::service::signup::create_activity(&app.st, "活动", Some(article))
        .await
        .expect("activity");
    // The sign-in starts redirect only for a company that offers them.
    radar::service::admin::set_wecom_app(&app.st, company, "wwfuzz", 1000001, "fuzz-secret")
        .await
        .expect("wecom app");
    radar::service::admin::set_official_account(&app.st, company, "wxfuzz", "fuzz-secret")
        .await
        .expect("official account");
    // Re-keyed by the admin API's rotate-token operations.
    let victim_rep = app.user(company, "轮换销售").await;
    let victim_customer = app.customer(company, "轮换客户").await;
    let examples = std::env::var("RADAR_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let work = std::env::temp_dir().join(format!("radar_fuzz_{}_{:?}", std::process::id(), b));
    std::fs::create_dir_all(&work).expect("work dir");
    let st = py_tools().join("bin/st");
    let app_base = app.base.clone();
    let work2 = work.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .current_dir(&work2)
            .env("PYTHONPATH", repo().join("scripts"))
            .env("SCHEMATHESIS_HOOKS", "openapi_fuzz_hooks")
            .env("RADAR_FUZZ_REP_ID", rep.id.to_string())
            .env("RADAR_FUZZ_REP_TOKEN", &rep.token)
            .env("RADAR_FUZZ_CUSTOMER_ID", customer.id.to_string())
            .env("RADAR_FUZZ_CUSTOMER_TOKEN", &customer.token)
            .env("RADAR_FUZZ_COMPANY_ID", company.to_string())
            .env("RADAR_FUZZ_ARTICLE_ID", article.to_string())
            .env("RADAR_FUZZ_ACTIVITY_ID", activity.to_string())
            .env("RADAR_FUZZ_ADMIN_TOKEN", crate::admin_api::TOKEN)
            .env("RADAR_FUZZ_ROTATE_REP_ID", victim_rep.id.to_string())
            .env("RADAR_FUZZ_ROTATE_CUSTOMER_ID", victim_customer.id.to_string())
            .env("NO_COLOR", "1")
            .args([
                "run",
                &format!("{app_base}/openapi.json"),
                "--url",
                &app_base,
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                &examples,
                "--seed",
                "7",
                "--request-timeout",
                "20",
                "--no-color",
            ])
            .output()
            .expect("schemathesis")
    })
    .await
    .expect("join");
    let _ = std::fs::remove_dir_all(&work);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The summary, for the record (`cargo test -- --nocapture`).
    println!("{b:?} fuzz:\n{}", tail(&text, 40));
    assert!(out.status.success(), "schemathesis failed:\n{text}");
    // The signatures and real ids got the run past authentication and the
    // relation checks: it stored messages both ways, notes and views.
    for (table, what) in [
        ("chat_message WHERE send_type = 1", "rep messages"),
        ("chat_message WHERE send_type = 2", "customer messages"),
        ("follow_info", "follow-up notes"),
        ("access_log", "access-log rows"),
    ] {
        let n = app.count(table).await;
        println!("{what}: {n}");
        assert!(n > 0, "the fuzz run stored no {what}");
    }
    // The bearer token got it past the admin API's gate: it created
    // companies beside the fixture's.
    let companies = app.count("company").await;
    println!("companies: {companies}");
    assert!(companies > 1, "the fuzz run created no company");
    let rotations = app.count("token_rotation").await;
    println!("token rotations: {rotations}");
    assert!(rotations > 0, "the fuzz run rotated no token");
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `/docs`: the viewer, its start-up script and style come from Radar; the
/// page allows no other origin and no inline script; the signing snippet is there.
async fn docs_page(b: Backend) {
    let app = spawn_app(b).await;
    let resp = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("CSP")
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");
    let html = resp.text().await.expect("html");
    assert!(
        radar::openapi::docs_bundle().is_some(),
        "the /docs viewer is not bundled: run scripts/setup.sh, then rebuild"
    );
    assert!(html.contains("md5(timestamp + token)"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let srcs: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .chain(html.split("href=\"").skip(1))
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(srcs.contains(&"/docs/viewer.js"), "{srcs:?}");
    for src in srcs {
        assert!(src.starts_with('/'), "asset from elsewhere: {src}");
        let resp = app
            .http
            .get(format!("{}{src}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{src}");
        if src.ends_with(".js") {
            let ct = resp.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .to_owned();
            assert!(ct.starts_with("text/javascript"), "{src}: {ct}");
            let body = resp.text().await.expect("body");
            if src == "/docs/init.js" {
                assert!(body.contains("'/openapi.json'"), "{body}");
                assert!(body.contains("withDefaultFonts: false"), "{body}");
            }
        }
    }
    let missing = app
        .http
        .get(format!("{}/docs/other.js", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
}

both!(covers_router, valid_document, fuzz, docs_page);
