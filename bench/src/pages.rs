//! `pages`: the bytes a phone downloads to open `/rep`, `/rep/chat/{id}` and
//! `/h5/chat` (issue 13, parts 1, 2 and 6). Like a browser with an empty
//! cache: the HTML, then every `/pkg` file it links (stylesheet, module
//! preload, WASM preload), all with `Accept-Encoding: br, gzip`; bodies are
//! counted as they come over the wire (still compressed), response heads as
//! the status line plus `name: value\r\n` per header. Then the repeat visit
//! with what the first one cached: a fresh `max-age`/`immutable` file is not
//! asked for, one with an ETag is revalidated (`If-None-Match`), anything else
//! is fetched again; the HTML (`no-cache`, no validator) is always fetched.
//!
//! The pages' credentials are in the URL fragment, which a browser never
//! sends, so the HTML requests carry none. What the WASM then asks the API
//! for is not counted: that is data, not the page.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, ACCEPT_ENCODING, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{json, Value};

use crate::fixtures::Fixtures;
use crate::procs::ServerProc;

/// The issue's limit for the first visit of `/rep`, all bytes on the wire.
pub const FIRST_VISIT_LIMIT: f64 = 350_000.0;
const ACCEPT: &str = "br, gzip";

#[derive(Debug, Clone)]
struct Cached {
    etag: Option<String>,
    fresh: bool,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    requests: u64,
    head_bytes: u64,
    body_bytes: u64,
    html_bytes: u64,
    asset_bytes: u64,
    not_modified: u64,
    from_cache: u64,
}

impl Tally {
    fn total(&self) -> u64 {
        self.head_bytes + self.body_bytes
    }
    fn json(&self) -> Value {
        json!({
            "requests": self.requests,
            "wire_bytes": self.total(),
            "head_bytes": self.head_bytes,
            "body_bytes": self.body_bytes,
            "html_body_bytes": self.html_bytes,
            "asset_body_bytes": self.asset_bytes,
            "revalidated_304": self.not_modified,
            "served_from_cache": self.from_cache,
        })
    }
}

fn head_len(status: reqwest::StatusCode, h: &HeaderMap) -> u64 {
    let line = format!("HTTP/1.1 {status}\r\n").len();
    let fields: usize = h
        .iter()
        .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
        .sum();
    (line + fields + 2) as u64
}

/// The `/pkg/…` URLs a page links (`href`/`src` attributes), in order.
pub fn linked_assets(html: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let Some(end) = rest.find('"') else { break };
            let url = &rest[..end];
            if url.starts_with("/pkg/") && !out.iter().any(|u| u == url) {
                out.push(url.to_owned());
            }
            rest = &rest[end..];
        }
    }
    out
}

/// Fresh in a browser's cache for the repeat visit right after: `immutable`
/// or a positive `max-age`, and not `no-cache`/`no-store`.
fn is_fresh(h: &HeaderMap) -> bool {
    let Some(cc) = h.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let cc = cc.to_ascii_lowercase();
    let directives: Vec<&str> = cc.split(',').map(str::trim).collect();
    if directives
        .iter()
        .any(|d| *d == "no-cache" || *d == "no-store")
    {
        return false;
    }
    directives.iter().any(|d| {
        *d == "immutable"
            || d.strip_prefix("max-age=")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0)
    })
}

struct Visit {
    first: Tally,
    repeat: Tally,
    assets: Vec<Value>,
}

async fn fetch(
    http: &reqwest::Client,
    url: &str,
    etag: Option<&str>,
) -> Result<(reqwest::StatusCode, HeaderMap, u64, u64), String> {
    let mut r = http.get(url).header(ACCEPT_ENCODING, ACCEPT);
    if let Some(e) = etag {
        r = r.header(IF_NONE_MATCH, e);
    }
    let res = r.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status();
    let h = res.headers().clone();
    let body = res
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: body: {e}"))?;
    Ok((status, h.clone(), head_len(status, &h), body.len() as u64))
}

async fn visit(http: &reqwest::Client, base: &str, path: &str) -> Result<Visit, String> {
    let mut first = Tally::default();
    let url = format!("{base}{path}");
    let res = http
        .get(&url)
        .header(ACCEPT_ENCODING, ACCEPT)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = res.status();
    let h = res.headers().clone();
    let body = res.bytes().await.map_err(|e| format!("GET {path}: {e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {path}: HTTP {status}"));
    }
    first.requests += 1;
    first.head_bytes += head_len(status, &h);
    first.body_bytes += body.len() as u64;
    first.html_bytes += body.len() as u64;
    let html = decode(&h, &body)?;
    let mut cache: HashMap<String, Cached> = HashMap::new();
    let mut assets = Vec::new();
    for a in linked_assets(&html) {
        let (status, h, head, body) = fetch(http, &format!("{base}{a}"), None).await?;
        first.requests += 1;
        first.head_bytes += head;
        first.body_bytes += body;
        first.asset_bytes += body;
        let etag = h.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assets.push(json!({
            "url": a,
            "status": status.as_u16(),
            "wire_body_bytes": body,
            "content_encoding": h.get("content-encoding").and_then(|v| v.to_str().ok()),
            "cache_control": h.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()),
            "etag": etag,
        }));
        if status.is_success() {
            cache.insert(
                a,
                Cached {
                    etag,
                    fresh: is_fresh(&h),
                },
            );
        }
    }
    // The repeat visit: the HTML again, then what the cache cannot answer alone.
    let mut repeat = Tally::default();
    let (status, _, head, body) = fetch(http, &url, None).await?;
    if !status.is_success() {
        return Err(format!("GET {path} (repeat): HTTP {status}"));
    }
    repeat.requests += 1;
    repeat.head_bytes += head;
    repeat.body_bytes += body;
    repeat.html_bytes += body;
    for a in linked_assets(&html) {
        match cache.get(&a) {
            Some(c) if c.fresh => repeat.from_cache += 1,
            c => {
                let etag = c.and_then(|c| c.etag.as_deref());
                let (status, _, head, body) = fetch(http, &format!("{base}{a}"), etag).await?;
                repeat.requests += 1;
                repeat.head_bytes += head;
                repeat.body_bytes += body;
                repeat.asset_bytes += body;
                if status == reqwest::StatusCode::NOT_MODIFIED {
                    repeat.not_modified += 1;
                }
            }
        }
    }
    Ok(Visit {
        first,
        repeat,
        assets,
    })
}

fn decode(h: &HeaderMap, body: &[u8]) -> Result<String, String> {
    use std::io::Read;
    let mut out = Vec::new();
    match h.get("content-encoding").and_then(|v| v.to_str().ok()) {
        None => out.extend_from_slice(body),
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .map_err(|e| format!("brotli: {e}"))?;
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip: {e}"))?;
        }
        Some(other) => return Err(format!("unexpected content-encoding {other}")),
    }
    String::from_utf8(out).map_err(|_| "the page is not UTF-8".to_owned())
}

/// Runs the three visits against `server`.
pub async fn run(server: &ServerProc, fx: &Fixtures, smoke: bool) -> Result<Value, String> {
    let pair = fx.rest_pairs.first().ok_or("no fixtures")?;
    // A fresh client per visit: no connection (or anything else) carries over
    // but what `visit` itself caches.
    let pages = [
        ("rep", "/rep".to_owned()),
        ("rep-chat", format!("/rep/chat/{}", pair.customer.id)),
        ("h5-chat", format!("/h5/chat?u_id={}", pair.rep.id)),
    ];
    let mut out = serde_json::Map::new();
    let mut hashed = true;
    for (name, path) in pages {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let v = visit(&http, &server.base(), &path).await?;
        hashed &= v
            .assets
            .iter()
            .any(|a| a["url"].as_str().is_some_and(|u| u.ends_with(".wasm")))
            && v.assets.iter().all(|a| a["status"] == 200);
        out.insert(
            name.into(),
            json!({
                "path": path,
                "first_visit": v.first.json(),
                "repeat_visit": v.repeat.json(),
                "assets": v.assets,
            }),
        );
    }
    // Targets only make sense for the release site: a debug build's WASM is
    // several MB and the smoke run's server may have no site at all.
    let skip = if smoke {
        Some("smoke run: the site may be a debug build or missing")
    } else if cfg!(debug_assertions) {
        Some("debug build: the embedded release site is what the targets are about")
    } else if !hashed {
        Some("the page links no WASM that answered 200: the server has no site")
    } else {
        None
    };
    Ok(json!({
        "accept_encoding": ACCEPT,
        "pages": out,
        "targets_skipped": skip,
    }))
}

fn target(backend: &str, name: String, value: Option<f64>, limit: f64, skip: &Value) -> Value {
    let pass = if skip.is_string() {
        None
    } else {
        value.map(|v| v <= limit)
    };
    json!({"backend": backend, "target": name, "value": value, "limit": limit, "pass": pass,
           "skipped": skip})
}

/// The issue's page-weight targets for one backend's `pages` result.
pub fn targets(backend: &str, pages: &Value) -> Vec<Value> {
    if pages.get("error").is_some() {
        return Vec::new();
    }
    let skip = pages.get("targets_skipped").cloned().unwrap_or(Value::Null);
    let mut out = vec![target(
        backend,
        "pages: first visit of /rep ≤ 350 KB on the wire (br, gzip)".into(),
        pages
            .pointer("/pages/rep/first_visit/wire_bytes")
            .and_then(Value::as_f64),
        FIRST_VISIT_LIMIT,
        &skip,
    )];
    for name in ["rep", "rep-chat", "h5-chat"] {
        out.push(target(
            backend,
            format!("pages: repeat visit of {name} downloads 0 asset bytes"),
            pages
                .pointer(&format!("/pages/{name}/repeat_visit/asset_body_bytes"))
                .and_then(Value::as_f64),
            0.0,
            &skip,
        ));
    }
    out
}

/// One table line per page.
pub fn table_rows(pages: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for name in ["rep", "rep-chat", "h5-chat"] {
        let Some(p) = pages.pointer(&format!("/pages/{name}")) else {
            continue;
        };
        let n = |ptr: &str| p.pointer(ptr).and_then(Value::as_u64).unwrap_or(0);
        rows.push((
            p["path"].as_str().unwrap_or(name).to_owned(),
            format!(
                "first visit {} B ({} requests, html {} B, assets {} B); repeat {} B ({} requests, assets {} B, {} from cache, {} × 304)",
                n("/first_visit/wire_bytes"),
                n("/first_visit/requests"),
                n("/first_visit/html_body_bytes"),
                n("/first_visit/asset_body_bytes"),
                n("/repeat_visit/wire_bytes"),
                n("/repeat_visit/requests"),
                n("/repeat_visit/asset_body_bytes"),
                n("/repeat_visit/served_from_cache"),
                n("/repeat_visit/revalidated_304"),
            ),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_the_linked_files() {
        let html = r#"<link rel="stylesheet" id="leptos" href="/pkg/radar.1.css"/><link rel="modulepreload" href="/pkg/radar.2.js"><link rel="preload" href="/pkg/radar.2_bg.wasm" as="fetch"><a href="/rep">x</a><img src="/pkg/radar.1.css">"#;
        assert_eq!(
            linked_assets(html),
            [
                "/pkg/radar.1.css",
                "/pkg/radar.2.js",
                "/pkg/radar.2_bg.wasm"
            ]
        );
    }

    #[test]
    fn freshness() {
        let h = |v: &'static str| {
            let mut m = HeaderMap::new();
            m.insert(CACHE_CONTROL, HeaderValue::from_static(v));
            m
        };
        assert!(is_fresh(&h("public, max-age=31536000, immutable")));
        assert!(is_fresh(&h("max-age=60")));
        assert!(!is_fresh(&h("no-cache")));
        assert!(!is_fresh(&h("max-age=0")));
        assert!(!is_fresh(&h("no-store, max-age=60")));
        assert!(!is_fresh(&HeaderMap::new()));
    }
}
