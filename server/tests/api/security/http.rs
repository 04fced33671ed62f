//! Contract §6 "Browsers", "Connections", "Links" (Referrer-Policy) and the
//! site root: what a partner page on another origin, a slow or silent client,
//! a socket flood and a path-guessing scanner get.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use radar::edge::CorsOrigins;
use reqwest::header::HeaderValue;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;

use crate::both;
use crate::common::*;
use crate::wsutil::*;

const FOREIGN: &str = "https://evil.example";
const PARTNER: &str = "https://h5.partner.example";

/// A CORS preflight as a browser sends it before a cross-origin form POST.
async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, format!("{}{}", app.base, path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("preflight")
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A preflight is answered before routing and authentication: 204, the CORS
/// headers, no credentials, and nothing stored or signed.
async fn preflight_from_foreign_origin(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let before = app.count("chat_message").await;
    // Signed or not, the preflight never reaches the handler.
    for url in [
        C_SEND.to_string(),
        app.url(C_SEND, &k, "")[app.base.len()..].to_string(),
    ] {
        let r = preflight(&app, &url, FOREIGN).await;
        assert_eq!(r.status(), 204, "{url}");
        assert_eq!(header(&r, "access-control-allow-origin"), Some("*"));
        let methods = header(&r, "access-control-allow-methods").unwrap_or("");
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = header(&r, "access-control-allow-headers").unwrap_or("");
        assert!(headers.contains("content-type"), "{headers}");
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
        assert!(r.text().await.expect("body").is_empty());
    }
    assert_eq!(app.count("chat_message").await, before);

    // The actual cross-origin request then carries the origin header too and
    // works like any other (authentication is the signature, not the origin).
    let r = app
        .http
        .post(app.url(C_SEND, &k, ""))
        .header("Origin", FOREIGN)
        .form(&[("u_id", u.id.to_string()), ("content", text("跨域"))])
        .send()
        .await
        .expect("post");
    assert_eq!(header(&r, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&r, "access-control-allow-credentials"), None);
    assert_eq!(
        header(&r, "access-control-expose-headers"),
        Some("retry-after")
    );
    assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(code(&v), 200, "{v}");
    assert_eq!(app.count("chat_message").await, before + 1);

    // An unsigned cross-origin request is still refused by the signature check.
    let r = app
        .http
        .post(format!("{}{}", app.base, C_SEND))
        .header("Origin", FOREIGN)
        .form(&[("u_id", u.id.to_string()), ("content", text("x"))])
        .send()
        .await
        .expect("post");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(code(&v), 400, "{v}");
    assert_eq!(app.count("chat_message").await, before + 1);
}

/// With `RADAR_CORS_ORIGINS` set, only the listed origin is allowed.
async fn configured_origins(b: Backend) {
    let app = spawn_with(b, |c| {
        c.net.cors_origins = CorsOrigins::List(vec![HeaderValue::from_static(PARTNER)]);
    })
    .await;
    let (_, k) = app.pair().await;
    let r = preflight(&app, C_SEND, PARTNER).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "access-control-allow-origin"), Some(PARTNER));
    let r = preflight(&app, C_SEND, FOREIGN).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "access-control-allow-origin"), None);

    for (origin, allowed) in [(PARTNER, Some(PARTNER)), (FOREIGN, None)] {
        let r = app
            .http
            .get(app.url(C_NUM, &k, ""))
            .header("Origin", origin)
            .send()
            .await
            .expect("get");
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            allowed,
            "{origin}"
        );
        let vary = r
            .headers()
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        assert!(vary.contains("origin"), "{vary}");
        assert_eq!(
            header(&r, "access-control-expose-headers"),
            Some("retry-after"),
            "{origin}"
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
    }
}

/// The `'nonce-…'` of the policy's script-src, after checking the directive
/// allows no inline script without it.
fn script_nonce(csp: &str) -> String {
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
    assert!(!script_src.contains('*'), "{csp}");
    assert!(script_src.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonces: Vec<&str> = script_src
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .collect();
    assert_eq!(nonces.len(), 1, "{csp}");
    nonces[0].to_owned()
}

/// Every `<script …>` start tag of the document.
fn script_tags(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<script") {
        let start = at + i;
        let end = start + lower[start..].find('>').expect("tag end");
        out.push(&html[start..=end]);
        at = end;
    }
    out
}

/// Loads a page and checks its headers; returns the nonce.
async fn page_nonce(app: &TestApp, path: &str, status: u16) -> String {
    let r = app
        .http
        .get(format!("{}{}", app.base, path))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), status, "{path}");
    assert_eq!(
        header(&r, "x-content-type-options"),
        Some("nosniff"),
        "{path}"
    );
    assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"), "{path}");
    let csp = header(&r, "content-security-policy")
        .unwrap_or_else(|| panic!("{path}: no CSP"))
        .to_owned();
    for d in ["object-src 'none'", "base-uri 'self'"] {
        assert!(csp.contains(d), "{path}: {csp}");
    }
    let img = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("img-src "))
        .unwrap_or_default();
    assert!(img.contains("https:"), "{path}: {csp}");
    let nonce = script_nonce(&csp);
    let html = r.text().await.expect("html");
    let tags = script_tags(&html);
    assert!(
        !tags.is_empty(),
        "{path}: no script at all, nothing checked"
    );
    for t in tags {
        assert!(t.contains(&format!("nonce=\"{nonce}\"")), "{path}: {t}");
    }
    nonce
}

async fn html_pages_carry_headers_and_nonce(b: Backend) {
    let app = spawn_app(b).await;
    let company = app.company("公司").await;
    let u = app.user(company, "销售").await;
    let article = radar::service::article::create_article(&app.st, company, "文章", 1, 0)
        .await
        .expect("article");
    let pages = [
        ("/rep".to_string(), 200),
        (format!("/h5/chat?u_id={}", u.id), 200),
        (format!("/h5/article/{article}?uid={}", u.id), 200),
        ("/no/such/page".to_string(), 404),
    ];
    for (path, status) in pages {
        let first = page_nonce(&app, &path, status).await;
        let second = page_nonce(&app, &path, status).await;
        assert_ne!(first, second, "{path}: the nonce is reused");
        assert!(first.len() >= 16, "{path}: nonce {first} is short");
    }
}

/// Waits for the server's next move on a socket, longer than `FRAME_WAIT`.
async fn next_within(ws: &mut Ws, wait: Duration) -> Result<serde_json::Value, End> {
    let deadline = Instant::now() + wait;
    loop {
        let m = tokio::time::timeout_at(deadline.into(), ws.s.next())
            .await
            .expect("the server neither sent nor closed in time");
        match m {
            Some(Ok(tungstenite::Message::Text(t))) => {
                return Ok(serde_json::from_str(t.as_str()).expect("json"))
            }
            Some(Ok(tungstenite::Message::Close(c))) => {
                return Err(End::Closed(c.map(|c| u16::from(c.code))))
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(End::Gone),
        }
    }
}

/// A socket that never authenticates is told so and closed with 1008 after
/// the contract's 10 s, while sockets that authenticated on the URL or in a
/// later `register` frame stay open.
async fn unauthenticated_socket_closed(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(app.st.config.net.ws_auth_timeout, Duration::from_secs(10));
    let (u, k) = app.pair().await;
    let opened = Instant::now();
    let mut silent = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    let mut signed_url = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    let mut late = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    late.send(signed(
        &k,
        serde_json::json!({"type": "register", "u_id": u.id}),
    ))
    .await;
    assert_eq!(late.next().await["code"], 199);

    let err = next_within(&mut silent, Duration::from_secs(20))
        .await
        .expect("an error frame before the close");
    assert_eq!(err["code"], 400, "{err}");
    assert_eq!(
        next_within(&mut silent, Duration::from_secs(5)).await,
        Err(End::Closed(Some(1008)))
    );
    let after = opened.elapsed();
    assert!(
        after >= Duration::from_secs(9) && after <= Duration::from_secs(18),
        "closed after {after:?}"
    );
    // Past the deadline, the authenticated ones still answer.
    signed_url.lived().await;
    late.lived().await;
}

async fn read_to_end(s: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, &'static str> {
    let mut buf = Vec::new();
    match tokio::time::timeout(wait, s.read_to_end(&mut buf)).await {
        Ok(_) => Ok(buf),
        Err(_) => Err("still open"),
    }
}

/// Slowloris: a client that sends part of its request head (at once, or one
/// header line a second) is disconnected after the contract's 10 s; a normal
/// request on another connection is served meanwhile.
async fn half_headers_dropped(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(app.st.config.net.header_timeout, Duration::from_secs(10));
    let started = Instant::now();
    let mut half = TcpStream::connect(app.addr).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: radar\r\n")
        .await
        .expect("write");
    let mut trickle = TcpStream::connect(app.addr).await.expect("connect");
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .expect("write");
    let trickler = tokio::spawn(async move {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if trickle
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return Some(Instant::now());
            }
            let mut probe = [0u8; 64];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(10), trickle.read(&mut probe)).await
            {
                return Some(Instant::now());
            }
        }
        None
    });
    // Served meanwhile.
    let ok = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(ok.status(), 200);

    let got = read_to_end(&mut half, Duration::from_secs(20))
        .await
        .expect("the half-sent request is still holding its connection");
    let after = started.elapsed();
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "the half request was answered"
    );
    assert!(
        after >= Duration::from_secs(9) && after <= Duration::from_secs(18),
        "dropped after {after:?}"
    );
    let dropped = trickler
        .await
        .expect("trickler")
        .expect("the trickling client was never dropped");
    let after = dropped.duration_since(started);
    assert!(
        after <= Duration::from_secs(18),
        "trickle dropped after {after:?}"
    );
}

/// Over `RADAR_MAX_SOCKETS`, the upgrade answers HTTP 503 with the envelope;
/// once a socket closes, a new one is accepted.
async fn socket_cap(b: Backend) {
    let app = spawn_with(b, |c| c.net.max_sockets = 2).await;
    let (_, k) = app.pair().await;
    let mut one = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    let mut two = connect(&ws_url(&app.base, C_NUM_WS, &k)).await;
    one.lived().await;
    two.lived().await;
    match tokio_tungstenite::connect_async(ws_url(&app.base, C_CHAT, &k)).await {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).expect("json");
            assert_eq!(code(&body), 503, "{body}");
            for key in ["msg", "data", "note"] {
                assert!(body.get(key).is_some(), "{body}");
            }
        }
        Ok(_) => panic!("a third socket was accepted over the cap of 2"),
        Err(e) => panic!("unexpected upgrade failure: {e}"),
    }
    // An unsigned one is refused the same way (the cap comes before auth).
    assert!(matches!(
        tokio_tungstenite::connect_async(ws_url_unsigned(&app.base, C_CHAT)).await,
        Err(tungstenite::Error::Http(r)) if r.status() == 503
    ));
    assert_eq!(app.st.bus.open_sockets(), 2);
    one.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.st.bus.open_sockets() >= 2 {
        assert!(
            Instant::now() < deadline,
            "the closed socket is still counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut three = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    three.lived().await;
    two.lived().await;
}

/// A request stuck behind a lock answers the 503 envelope once the request
/// timeout passes (1 s here, 30 s by default), and stores nothing.
async fn slow_request_times_out(b: Backend) {
    let limit = Duration::from_secs(1);
    let app = spawn_with(b, |c| c.net.request_timeout = limit).await;
    assert_eq!(
        radar::Config::from_env()
            .expect("config")
            .net
            .request_timeout,
        Duration::from_secs(30)
    );
    let (u, k) = app.pair().await;
    let before = app.count("chat_message").await;
    // Another writer holds the database: on SQLite the writer lock, on
    // PostgreSQL an exclusive lock on the message table.
    let mut holder = app.st.db.begin_write().await.expect("begin");
    if b == Backend::Postgres {
        sqlx::query("LOCK TABLE chat_message IN ACCESS EXCLUSIVE MODE")
            .execute(&mut **holder)
            .await
            .expect("lock");
    }
    let started = Instant::now();
    let r = app
        .http
        .post(app.url(C_SEND, &k, ""))
        .form(&[("u_id", u.id.to_string()), ("content", text("卡住"))])
        .send()
        .await
        .expect("post");
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(code(&v), 503, "{v}");
    assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(took >= limit, "answered after {took:?}, before the limit");
    drop(holder);
    // Once the lock is gone, the abandoned attempt has left nothing behind
    // and the same request goes through.
    let uid = u.id.to_string();
    let content = text("通了");
    let v = app
        .post_form(C_SEND, &k, "", &[("u_id", &uid), ("content", &content)])
        .await;
    assert_eq!(code(&v), 200, "{v}");
    assert_eq!(app.count("chat_message").await, before + 1);
}

/// Raw request line on a fresh connection (the path is sent as written, no
/// client-side normalisation of `..`); returns status code and body.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    s.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: radar\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let buf = read_to_end(&mut s, Duration::from_secs(10))
        .await
        .expect("response");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Only the built assets and the files of `public/` are served from the site
/// root; anything else there, or above it, is the app's 404 page.
async fn site_root_allow_list(b: Backend) {
    let base = std::env::temp_dir().join(format!("radar-site-{}-{}", std::process::id(), now_ms()));
    let site = base.join("site");
    std::fs::create_dir_all(site.join("pkg")).expect("mkdir");
    let secret = format!("SECRET-{}", now_ms());
    std::fs::write(site.join("secret.txt"), &secret).expect("write");
    std::fs::write(site.join(".env"), &secret).expect("write");
    std::fs::write(base.join("Cargo.toml"), &secret).expect("write");
    std::fs::write(site.join("pkg/radar.css"), "body{color:#123}").expect("write");
    std::fs::write(site.join("robots.txt"), "User-agent: *\nDisallow: /\n").expect("write");
    let root = site.display().to_string();
    let app = spawn_with(b, move |c| c.site_root = root).await;

    let (status, body) = raw_get(&app, "/pkg/radar.css").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("body{color:#123}"));
    let (status, body) = raw_get(&app, "/robots.txt").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Disallow: /"));
    for target in [
        "/secret.txt",
        "/.env",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/pkg/../secret.txt",
        "/pkg/%2e%2e/secret.txt",
        "/pkg/..%2fsecret.txt",
        "/pkg/%2e%2e/%2e%2e/Cargo.toml",
        "/robots.txt/../secret.txt",
    ] {
        let (status, body) = raw_get(&app, target).await;
        assert!(!body.contains(&secret), "{target} served the file");
        assert!(status == 404 || status == 400, "{target}: {status}");
    }
    let (status, body) = raw_get(&app, "/secret.txt").await;
    assert_eq!(status, 404);
    assert!(body.contains("页面不存在"), "the app's own 404 page");
    let _ = std::fs::remove_dir_all(&base);
}

/// Reads one HTTP/1.1 response (head and `Content-Length` body) from `s`.
async fn read_response(s: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
                    .await
                    .ok()?
                    .ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
            return Some((head, body));
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A browser or an HTTP client pool reuses its connection. A POST refused
/// before its body was read (bad signature, write budget) must not leave the
/// server closing that connection under the client's next request. The body
/// comes in a second segment, as it does from a phone on a slow network.
async fn refused_post_keeps_the_connection(b: Backend) {
    let app = spawn_with(b, |c| {
        c.write_burst = 1;
        c.write_rate = 1.0 / 600.0;
    })
    .await;
    let (u, k) = app.pair().await;
    let path = "/zhugeleida/gongzhonghao/chat/send_msg/0";
    let body = format!(
        "u_id={}&content={}",
        u.id, "%7B%22info_type%22%3A1%2C%22msg%22%3A%22hi%22%7D"
    );
    let bad_sig = format!(
        "{path}?user_id={}&timestamp={}&rand_str={}",
        k.id,
        app.now_ms(),
        "0".repeat(32)
    );
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    // A refused signature, an accepted send, a send over the budget, then a read.
    let mut codes = Vec::new();
    for target in [bad_sig, String::new(), String::new()] {
        let target = if target.is_empty() {
            app.url(path, &k, "").replacen(&app.base, "", 1)
        } else {
            target
        };
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: radar\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.expect("head");
        tokio::time::sleep(Duration::from_millis(150)).await;
        s.write_all(body.as_bytes())
            .await
            .expect("body on the same connection");
        let (head, body) = read_response(&mut s)
            .await
            .expect("an answer on the same connection");
        assert!(!head.contains("connection: close"), "{head}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("envelope");
        codes.push(code(&v));
    }
    assert_eq!(codes, vec![400, 200, 429]);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: radar\r\n\r\n")
        .await
        .expect("a fourth request on the same connection");
    let (head, _) = read_response(&mut s).await.expect("healthz answered");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        app.count("chat_message").await,
        1,
        "only the accepted send is stored"
    );
}

both!(
    refused_post_keeps_the_connection,
    preflight_from_foreign_origin,
    configured_origins,
    html_pages_carry_headers_and_nonce,
    unauthenticated_socket_closed,
    half_headers_dropped,
    socket_cap,
    slow_request_times_out,
    site_root_allow_list,
);
