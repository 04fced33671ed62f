//! The site's files under `/pkg` (server/src/assets.rs) and the on-the-fly
//! compression of pages and JSON (edge.rs): content-hashed names linked from
//! the page, their cache headers, brotli/gzip/identity negotiation, ETags, and
//! what hostile requests get.
//!
//! The server reads a site root laid out like scripts/build-site.sh writes it
//! (`X`, `X.br`, `X.gz`); an embedded site goes through the same table
//! (`Site::from_files`), which `embedded_site_same_table` checks directly.

use std::io::Read;
use std::time::Duration;

use radar::assets::Site;
use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both;
use crate::common::*;

/// A site root like scripts/build-site.sh leaves it, with made-up contents
/// large enough to compress.
struct Fixture {
    dir: std::path::PathBuf,
    js: Vec<u8>,
    wasm: Vec<u8>,
    css: Vec<u8>,
    /// Served as is: no variants next to it.
    snippet: Vec<u8>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
    std::io::Write::write_all(&mut w, b).expect("brotli");
    drop(w);
    out
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut w, b).expect("gzip");
    w.finish().expect("gzip")
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn ungzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn hex16(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fixture() -> Fixture {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("radar-assets-{}-{n}", std::process::id()));
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(pkg.join("snippets/x")).expect("mkdir");
    let js: Vec<u8> = (0..400)
        .flat_map(|i| format!("export function f{i}() {{ return {i}; }}\n").into_bytes())
        .collect();
    let wasm: Vec<u8> = b"\0asm\x01\0\0\0"
        .iter()
        .copied()
        .chain((0..20_000u32).flat_map(|i| ((i % 251) as u8).to_le_bytes()))
        .collect();
    let css: Vec<u8> = (0..200)
        .flat_map(|i| format!(".c{i} {{ color: #{:06x}; }}\n", i * 4099).into_bytes())
        .collect();
    let snippet = b"export const x = 1;\n".repeat(100);
    for (name, bytes) in [
        ("radar.js", &js),
        ("radar_bg.wasm", &wasm),
        ("radar.css", &css),
    ] {
        std::fs::write(pkg.join(name), bytes).expect("write");
        std::fs::write(pkg.join(format!("{name}.br")), brotli(bytes)).expect("write");
        std::fs::write(pkg.join(format!("{name}.gz")), gzip(bytes)).expect("write");
    }
    std::fs::write(pkg.join("snippets/x/inline0.js"), &snippet).expect("write");
    Fixture {
        dir,
        js,
        wasm,
        css,
        snippet,
    }
}

impl Fixture {
    fn code_hash(&self) -> String {
        hex16(&[&self.js, &self.wasm])
    }
    fn js_url(&self) -> String {
        format!("/pkg/radar.{}.js", self.code_hash())
    }
    fn wasm_url(&self) -> String {
        format!("/pkg/radar.{}_bg.wasm", self.code_hash())
    }
    fn css_url(&self) -> String {
        format!("/pkg/radar.{}.css", hex16(&[&self.css]))
    }
}

async fn with_site(b: Backend) -> (TestApp, Fixture) {
    let f = fixture();
    let root = f.dir.display().to_string();
    let app = spawn_with(b, move |c| c.site_root = root).await;
    (app, f)
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    request(app, reqwest::Method::GET, path, headers).await
}

async fn request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Vec<u8>) {
    let mut r = app.http.request(method, format!("{}{}", app.base, path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let res = r.send().await.expect("request");
    let status = res.status().as_u16();
    let h = res.headers().clone();
    let body = res.bytes().await.expect("body").to_vec();
    (status, h, body)
}

fn hv<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The body as the client reads it after undoing `Content-Encoding`.
fn decoded(h: &HeaderMap, body: &[u8]) -> Vec<u8> {
    match hv(h, "content-encoding") {
        None => body.to_vec(),
        Some("br") => unbrotli(body),
        Some("gzip") => ungzip(body),
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
}

/// The page links the hashed JS, WASM (preload and the hydration script) and
/// CSS; each of them answers with its bytes and a year of `immutable`
/// caching, while the page itself is `no-cache`.
async fn page_links_hashed_names(b: Backend) {
    let (app, f) = with_site(b).await;
    let (status, h, body) = get(&app, "/", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(hv(&h, "cache-control"), Some("no-cache"));
    let html = String::from_utf8(body).expect("utf-8");
    assert!(
        html.contains(&format!("href=\"{}\"", f.css_url())),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{}\"", f.js_url())), "{html}");
    assert!(
        html.contains(&format!("href=\"{}\"", f.wasm_url())),
        "{html}"
    );
    // The hydration script names the files (without /pkg and the extension).
    assert!(
        html.contains(&format!("\"radar.{}\"", f.code_hash())),
        "{html}"
    );
    assert!(html.contains(&format!("\"radar.{}_bg\"", f.code_hash())));
    assert!(
        !html.contains("/pkg/radar.css"),
        "the plain CSS name is not linked"
    );
    for (url, bytes, ctype) in [
        (f.js_url(), &f.js, "text/javascript; charset=utf-8"),
        (f.wasm_url(), &f.wasm, "application/wasm"),
        (f.css_url(), &f.css, "text/css; charset=utf-8"),
    ] {
        let (status, h, body) = get(&app, &url, &[]).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(&body, bytes, "{url}");
        assert_eq!(hv(&h, "content-type"), Some(ctype));
        assert_eq!(
            hv(&h, "cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{url}"
        );
        assert!(hv(&h, "etag").is_some());
        assert_eq!(hv(&h, "content-encoding"), None);
    }
    // The plain names still answer, to be revalidated each time.
    for (url, bytes) in [
        ("/pkg/radar.js", &f.js),
        ("/pkg/radar_bg.wasm", &f.wasm),
        ("/pkg/radar.css", &f.css),
        ("/pkg/snippets/x/inline0.js", &f.snippet),
    ] {
        let (status, h, body) = get(&app, url, &[]).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(&body, bytes, "{url}");
        assert_eq!(hv(&h, "cache-control"), Some("no-cache"), "{url}");
        assert!(hv(&h, "etag").is_some(), "{url}");
    }
}

/// `Accept-Encoding` picks the variant: q-values, `*`, `identity`,
/// exclusions and garbage; every answer decodes to the original bytes, with
/// the right `Content-Length` and `Vary: Accept-Encoding`.
async fn encoding_negotiation(b: Backend) {
    let (app, f) = with_site(b).await;
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (None, None),
        (Some("br, gzip"), Some("br")),
        (Some("gzip, deflate, br, zstd"), Some("br")),
        (Some("gzip"), Some("gzip")),
        (Some("x-gzip"), Some("gzip")),
        (Some("deflate"), None),
        (Some("identity"), None),
        (Some(""), None),
        (Some("br;q=0, gzip"), Some("gzip")),
        (Some("br;q=0.2, gzip;q=0.9"), Some("gzip")),
        (Some("gzip;q=1.0, br;q=0.999"), Some("gzip")),
        (Some("*"), Some("br")),
        (Some("*;q=0.5, br;q=0"), Some("gzip")),
        (Some("br;q=0, gzip;q=0, *"), None),
        (Some("identity;q=0, br;q=0, gzip;q=0"), None),
        (Some("*;q=0"), None),
        (Some("gzip;q=0.5, identity"), None),
        (Some("br;q=5, gzip;q=nan"), None),
        (Some("br;;q, gzip;q=0.1=2"), None),
        (Some(",,,;;;=== , br"), Some("br")),
    ];
    for (accept, want) in cases {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept-encoding", *a)).collect();
        let (status, h, body) = get(&app, &f.wasm_url(), &headers).await;
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(
            hv(&h, "content-encoding"),
            *want,
            "Accept-Encoding {accept:?}"
        );
        assert_eq!(
            hv(&h, "vary").map(str::to_ascii_lowercase).as_deref(),
            Some("accept-encoding"),
            "{accept:?}"
        );
        assert_eq!(
            hv(&h, "content-length").and_then(|v| v.parse::<usize>().ok()),
            Some(body.len()),
            "{accept:?}"
        );
        assert_eq!(decoded(&h, &body), f.wasm, "{accept:?}");
        if want.is_some() {
            assert!(body.len() < f.wasm.len(), "the variant is smaller");
        }
    }
    // A file without variants goes out as it is, whatever is accepted.
    let (status, h, body) = get(
        &app,
        "/pkg/snippets/x/inline0.js",
        &[("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(hv(&h, "content-encoding"), None);
    assert_eq!(body, f.snippet);
}

/// ETags: each coding has its own, any of them revalidates the file (304
/// without a body), another file's or a stale one does not.
async fn etag_revalidation(b: Backend) {
    let (app, f) = with_site(b).await;
    let (_, h_br, _) = get(&app, &f.js_url(), &[("accept-encoding", "br")]).await;
    let (_, h_id, _) = get(&app, &f.js_url(), &[]).await;
    let (_, h_css, _) = get(&app, &f.css_url(), &[]).await;
    let etag_br = hv(&h_br, "etag").expect("etag").to_owned();
    let etag_id = hv(&h_id, "etag").expect("etag").to_owned();
    let etag_css = hv(&h_css, "etag").expect("etag").to_owned();
    assert_ne!(etag_br, etag_id);
    for inm in [
        etag_br.clone(),
        etag_id.clone(),
        format!("W/{etag_id}"),
        format!("\"nope\", {etag_br}"),
        "*".to_owned(),
    ] {
        let (status, h, body) = get(
            &app,
            &f.js_url(),
            &[("if-none-match", &inm), ("accept-encoding", "br, gzip")],
        )
        .await;
        assert_eq!(status, 304, "If-None-Match {inm}");
        assert!(body.is_empty());
        assert_eq!(hv(&h, "etag"), Some(etag_br.as_str()));
        assert_eq!(
            hv(&h, "cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    for inm in [etag_css.as_str(), "\"0000\"", "garbage", ""] {
        let (status, _, body) = get(&app, &f.js_url(), &[("if-none-match", inm)]).await;
        assert_eq!(status, 200, "If-None-Match {inm:?}");
        assert_eq!(body, f.js);
    }
}

/// HEAD: the GET's headers, no body.
async fn head_requests(b: Backend) {
    let (app, f) = with_site(b).await;
    for accept in ["br", "gzip", "identity"] {
        let (_, g, gbody) = get(&app, &f.wasm_url(), &[("accept-encoding", accept)]).await;
        let (status, h, body) = request(
            &app,
            reqwest::Method::HEAD,
            &f.wasm_url(),
            &[("accept-encoding", accept)],
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.is_empty());
        for name in [
            "content-length",
            "content-encoding",
            "etag",
            "cache-control",
            "content-type",
        ] {
            assert_eq!(hv(&h, name), hv(&g, name), "{accept}: {name}");
        }
        assert_eq!(
            hv(&h, "content-length").and_then(|v| v.parse::<usize>().ok()),
            Some(gbody.len())
        );
    }
    let (status, _, _) = request(&app, reqwest::Method::POST, &f.js_url(), &[]).await;
    assert_eq!(status, 405);
}

/// One raw HTTP/1.1 exchange (the target goes out exactly as given).
async fn raw(app: &TestApp, head: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    s.write_all(head).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Unknown or stale hashes, the variants' own file names, traversal, NUL
/// and huge or binary headers: 404/400, never a 500 and never a file from
/// outside `pkg/`.
async fn hostile_requests(b: Backend) {
    let (app, f) = with_site(b).await;
    std::fs::write(f.dir.join("secret.txt"), "TOP-SECRET").expect("write");
    let stale = "/pkg/radar.0123456789abcdef.js".to_owned();
    for path in [
        stale.as_str(),
        "/pkg/radar.0123456789abcdef_bg.wasm",
        "/pkg/radar.js.br",
        "/pkg/radar_bg.wasm.gz",
        "/pkg/",
        "/pkg/nothing",
        "/pkg/RADAR.JS",
    ] {
        let (status, _, _) = get(&app, path, &[("accept-encoding", "br")]).await;
        assert_eq!(status, 404, "{path}");
    }
    for target in [
        "/pkg/../secret.txt",
        "/pkg/%2e%2e/secret.txt",
        "/pkg/..%2fsecret.txt",
        "/pkg/snippets/../../secret.txt",
        "/pkg/radar.js%00",
        "/pkg/%00",
        "/pkg/radar.js%00.css",
        "/pkg//radar.js/..",
    ] {
        let (status, text) = raw(
            &app,
            format!("GET {target} HTTP/1.1\r\nHost: radar\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        assert!(!text.contains("TOP-SECRET"), "{target}");
        assert!((400..500).contains(&status), "{target}: {status}");
    }
    // A 16 KiB Accept-Encoding and one with raw high bytes.
    let huge = format!("{}br;q=0.1", "x;q=0.5, ".repeat(1800));
    let (status, h, body) = get(&app, &f.js_url(), &[("accept-encoding", &huge)]).await;
    assert_eq!(status, 200);
    assert_eq!(decoded(&h, &body), f.js);
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: radar\r\nConnection: close\r\nAccept-Encoding: ",
        f.js_url()
    )
    .into_bytes();
    head.extend_from_slice(b"\xff\xfe br\r\nIf-None-Match: \xff\"\r\n\r\n");
    let (status, text) = raw(&app, &head).await;
    assert!(status == 200 || status == 400, "{status}");
    assert!(!text.to_ascii_lowercase().contains("content-encoding: br"));
}

/// Pages and JSON answers of a size are compressed on the fly (and decode to
/// what an uncompressing client gets); small answers, images and the
/// precompressed files are left alone.
async fn dynamic_compression(b: Backend) {
    let (app, f) = with_site(b).await;
    // The OpenAPI document: a large JSON answer.
    let (status, plain_h, plain) = get(&app, "/openapi.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(hv(&plain_h, "content-encoding"), None);
    assert!(plain.len() > 10_000);
    for coding in ["br", "gzip"] {
        let (status, h, body) = get(&app, "/openapi.json", &[("accept-encoding", coding)]).await;
        assert_eq!(status, 200);
        assert_eq!(hv(&h, "content-encoding"), Some(coding));
        assert!(hv(&h, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
        assert!(
            body.len() < plain.len() / 3,
            "{coding}: {} bytes",
            body.len()
        );
        assert_eq!(decoded(&h, &body), plain);
    }
    // A page (streamed, size unknown).
    let (status, h, body) = get(&app, "/", &[("accept-encoding", "br")]).await;
    assert_eq!(status, 200);
    assert_eq!(hv(&h, "content-encoding"), Some("br"));
    assert!(String::from_utf8(decoded(&h, &body))
        .expect("utf-8")
        .contains(&f.css_url()));
    // A small JSON answer (an error envelope) stays as it is.
    let (status, h, body) = get(
        &app,
        "/zhugeleida/gongzhonghao/chat/query_num/0",
        &[("accept-encoding", "br, gzip")],
    )
    .await;
    assert!(status < 500, "{status}");
    assert!(
        body.len() < radar::edge::COMPRESS_MIN_BYTES as usize,
        "{}",
        body.len()
    );
    assert_eq!(hv(&h, "content-encoding"), None);
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    // Uploaded media go out as they are, however compressible: a video of
    // 8 KiB of zeros.
    let (_, customer) = app.pair().await;
    let mut mp4 = Vec::new();
    mp4.extend_from_slice(&24u32.to_be_bytes());
    mp4.extend_from_slice(b"ftypisom\x00\x00\x02\x00isomiso2mp41");
    mp4.extend_from_slice(&(8192u32 + 8).to_be_bytes());
    mp4.extend_from_slice(b"mdat");
    mp4.extend(std::iter::repeat_n(0u8, 8192));
    let boundary = "radar-assets-boundary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&mp4);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let v: serde_json::Value = app
        .http
        .post(app.url("/zhugeleida/gongzhonghao/chat/upload/0", &customer, ""))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let url = v["data"]["url"].as_str().expect("uploaded").to_owned();
    let (status, h, body) = get(&app, &url, &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(hv(&h, "content-encoding"), None);
    assert_eq!(body, mp4);
    // The precompressed WASM keeps its own variant (not compressed twice).
    let (_, h, body) = get(&app, &f.wasm_url(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(hv(&h, "content-encoding"), Some("gzip"));
    assert_eq!(ungzip(&body), f.wasm);
}

/// BREACH: the admin API's answers (which can carry new tokens) are never
/// compressed, even when large; the same size elsewhere is.
async fn admin_api_never_compressed(b: Backend) {
    const TOKEN: &str = "admin-token-for-the-compression-test-0123456789";
    let app = spawn_with(b, |c| {
        c.admin_token = Some(radar::config::Secret(TOKEN.into()));
    })
    .await;
    // An unknown 1,500-character key: the refusal names it, so it is large.
    let body = format!("{{\"name\":\"x\",\"{}\":1}}", "k".repeat(1500));
    let res = app
        .http
        .post(format!("{}/admin/api/v1/companies", app.base))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("accept-encoding", "br, gzip")
        .body(body)
        .send()
        .await
        .expect("admin request");
    assert!(res.status().is_client_error(), "{}", res.status());
    let h = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    assert!(
        bytes.len() > 2 * radar::edge::COMPRESS_MIN_BYTES as usize,
        "{}",
        bytes.len()
    );
    assert_eq!(hv(&h, "content-encoding"), None);
    assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
}

/// Without a site the pages still render, linking the plain names.
async fn no_site(b: Backend) {
    let app = spawn_with(b, |c| c.site_root = "/nonexistent/radar-site".into()).await;
    let (status, _, body) = get(&app, "/", &[]).await;
    assert_eq!(status, 200);
    let html = String::from_utf8(body).expect("utf-8");
    assert!(html.contains("/pkg/radar.css"), "{html}");
    let (status, _, _) = get(&app, "/pkg/radar.js", &[]).await;
    assert_eq!(status, 404);
}

both!(
    page_links_hashed_names,
    encoding_negotiation,
    etag_revalidation,
    head_requests,
    hostile_requests,
    dynamic_compression,
    admin_api_never_compressed,
    no_site,
);

/// A binary built with `RADAR_EMBED_SITE` hands its files to the same table
/// (`Site::load` with the embedded list ignores the site root): same hashed
/// names, same variants.
#[test]
fn embedded_site_same_table() {
    let f = fixture();
    let leak = |b: Vec<u8>| -> &'static [u8] { Box::leak(b.into_boxed_slice()) };
    let embedded: Vec<(&'static str, &'static [u8])> = vec![
        ("pkg/radar.js", leak(f.js.clone())),
        ("pkg/radar.js.br", leak(brotli(&f.js))),
        ("pkg/radar_bg.wasm", leak(f.wasm.clone())),
        ("pkg/radar_bg.wasm.gz", leak(gzip(&f.wasm))),
        ("pkg/radar.css", leak(f.css.clone())),
        ("robots.txt", leak(b"User-agent: *".to_vec())),
    ];
    let site = Site::load("/nonexistent", &embedded);
    assert_eq!(site.output_name(), format!("radar.{}", f.code_hash()));
    assert_eq!(site.css_href(), f.css_url());
    let disk = Site::load(&f.dir.display().to_string(), &[]);
    assert_eq!(disk.output_name(), site.output_name());
    assert_eq!(disk.css_href(), site.css_href());
    let mut h = axum::http::HeaderMap::new();
    h.insert("accept-encoding", "br, gzip".parse().expect("header"));
    let name = format!("radar.{}_bg.wasm", f.code_hash());
    let res = site.respond(&name, &axum::http::Method::GET, &h);
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let res = site.respond("robots.txt", &axum::http::Method::GET, &h);
    assert_eq!(res.status(), 404, "only pkg/ is served from the table");
}
