//! The site's files under `/pkg` (the WASM bundle, its JS glue and the
//! stylesheet), held in memory with their brotli and gzip variants.
//!
//! One table serves both builds: a release binary built with
//! `RADAR_EMBED_SITE` carries the files (build.rs), any other reads
//! `$RADAR_SITE_ROOT/pkg` once at start. scripts/build-site.sh writes
//! `X.br` and `X.gz` next to each file `X`; a file without them is served as is.
//!
//! The JS glue and the WASM are also served under content-hashed names
//! (`radar.<hash>.js`, `radar.<hash>_bg.wasm`, one hash over both, since the
//! glue only works with the WASM it was generated for) and the stylesheet as
//! `radar.<hash>.css`; the pages link those names, so browsers may keep them
//! for a year without asking again. The plain names stay reachable with
//! `no-cache` and an ETag for anything that links them directly.
//!
//! leptos's own `hash_files` is not used: its `HydrationScripts` reads a hash
//! file next to the running executable on every page render (and panics when
//! it cannot), which does not fit a single-binary deployment nor the tests,
//! whose executable is the test binary. Setting `output_name` to `radar.<hash>`
//! gives the same hashed URLs through leptos's plain code path.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// `Cache-Control` of a content-hashed name: its bytes never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a plain name and of the pages: revalidate every time.
pub const NO_CACHE: &str = "no-cache";

/// The `output_name` the WASM bundle is built with (scripts/build-site.sh).
const OUTPUT_NAME: &str = "radar";
/// Files per site at most, and bytes per file: the table lives in memory.
const MAX_FILES: usize = 1000;
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One file and its precompressed variants.
#[derive(Debug)]
struct Asset {
    content_type: &'static str,
    identity: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
    /// Hex SHA-256 prefix of `identity`; the ETags are derived from it.
    hash: String,
}

#[derive(Debug, Clone)]
struct Entry {
    asset: Arc<Asset>,
    immutable: bool,
}

/// The files under `/pkg`, by their name below it.
#[derive(Debug, Default)]
pub struct Site {
    files: HashMap<String, Entry>,
    output_name: String,
    css_href: String,
}

/// A content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn hex_prefix(bytes: &[u8], chars: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(chars);
    for b in bytes {
        if s.len() >= chars {
            break;
        }
        let _ = write!(s, "{b:02x}");
    }
    s.truncate(chars);
    s
}

/// 16 hex digits (64 bits) of SHA-256: plenty to tell builds apart.
fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex_prefix(&h.finalize(), 16)
}

impl Site {
    /// The binary's own files when it carries them, else `<site_root>/pkg`
    /// (missing or unreadable: an empty site, the pages still render).
    pub fn load(site_root: &str, embedded: &[(&'static str, &'static [u8])]) -> Site {
        if !embedded.is_empty() {
            return Site::from_files(embedded.iter().filter_map(|(name, bytes)| {
                let name = name.strip_prefix("pkg/")?;
                Some((name.to_owned(), Bytes::from_static(bytes)))
            }));
        }
        let dir = Path::new(site_root).join("pkg");
        let mut files = Vec::new();
        read_dir(&dir, &dir, &mut files);
        if files.len() >= MAX_FILES {
            tracing::warn!(dir = %dir.display(), "more than {MAX_FILES} files under pkg/; the rest are not served");
        }
        Site::from_files(files)
    }

    /// Builds the table from `(name below /pkg, bytes)`; `X.br`/`X.gz` are
    /// the variants of `X`, kept only when smaller than `X`.
    pub fn from_files(files: impl IntoIterator<Item = (String, Bytes)>) -> Site {
        let mut all: HashMap<String, Bytes> = files.into_iter().collect();
        let mut names: Vec<String> = all
            .keys()
            .filter(|k| {
                let base = k.strip_suffix(".br").or_else(|| k.strip_suffix(".gz"));
                !base.is_some_and(|b| all.contains_key(b))
            })
            .cloned()
            .collect();
        names.sort();
        let mut files = HashMap::new();
        let mut by_name: HashMap<String, Arc<Asset>> = HashMap::new();
        for name in names {
            let Some(identity) = all.remove(&name) else {
                continue;
            };
            let len = identity.len();
            let mut variant = |ext: &str| {
                all.remove(&format!("{name}.{ext}"))
                    .filter(|v| v.len() < len)
            };
            let (br, gzip) = (variant("br"), variant("gz"));
            let asset = Arc::new(Asset {
                content_type: content_type(&name),
                hash: digest(&[&identity]),
                identity,
                br,
                gzip,
            });
            by_name.insert(name.clone(), asset.clone());
            files.insert(
                name,
                Entry {
                    asset,
                    immutable: false,
                },
            );
        }
        let mut site = Site {
            files,
            output_name: OUTPUT_NAME.to_owned(),
            css_href: format!("/pkg/{OUTPUT_NAME}.css"),
        };
        let js = by_name.get(&format!("{OUTPUT_NAME}.js"));
        let wasm = by_name.get(&format!("{OUTPUT_NAME}_bg.wasm"));
        if let (Some(js), Some(wasm)) = (js, wasm) {
            let h = digest(&[&js.identity, &wasm.identity]);
            let name = format!("{OUTPUT_NAME}.{h}");
            site.insert_immutable(format!("{name}.js"), js.clone());
            site.insert_immutable(format!("{name}_bg.wasm"), wasm.clone());
            site.output_name = name;
        }
        if let Some(css) = by_name.get(&format!("{OUTPUT_NAME}.css")) {
            let name = format!("{OUTPUT_NAME}.{}.css", css.hash);
            site.insert_immutable(name.clone(), css.clone());
            site.css_href = format!("/pkg/{name}");
        }
        site
    }

    fn insert_immutable(&mut self, name: String, asset: Arc<Asset>) {
        self.files.insert(
            name,
            Entry {
                asset,
                immutable: true,
            },
        );
    }

    /// `LeptosOptions::output_name`: `radar.<hash>` when the bundle is there,
    /// so `HydrationScripts` links the hashed JS and WASM names.
    pub fn output_name(&self) -> &str {
        &self.output_name
    }

    /// The stylesheet's URL for the page shell.
    pub fn css_href(&self) -> &str {
        &self.css_href
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The answer to `GET`/`HEAD /pkg/<name>`.
    pub fn respond(&self, name: &str, method: &Method, headers: &HeaderMap) -> Response {
        if *method != Method::GET && *method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
            )
                .into_response();
        }
        let Some(entry) = self.files.get(name) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let a = &entry.asset;
        let coding = negotiate(
            headers.get(header::ACCEPT_ENCODING),
            a.br.is_some(),
            a.gzip.is_some(),
        );
        let (body, etag) = match coding {
            Coding::Brotli => (a.br.clone(), format!("\"{}-br\"", a.hash)),
            Coding::Gzip => (a.gzip.clone(), format!("\"{}-gz\"", a.hash)),
            Coding::Identity => (Some(a.identity.clone()), format!("\"{}\"", a.hash)),
        };
        let body = body.unwrap_or_else(|| a.identity.clone());
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if entry.immutable { IMMUTABLE } else { NO_CACHE }),
        );
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        if if_none_match(headers.get(header::IF_NONE_MATCH), &a.hash) {
            return (StatusCode::NOT_MODIFIED, h).into_response();
        }
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        if coding != Coding::Identity {
            h.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.token()),
            );
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let body = if *method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        (StatusCode::OK, h, body).into_response()
    }
}

/// Reads every regular file below `dir` (not following links out of it).
fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(String, Bytes)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            read_dir(root, &path, out);
            continue;
        }
        if !ft.is_file()
            || e.metadata()
                .map(|m| m.len() > MAX_FILE_BYTES)
                .unwrap_or(true)
        {
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.split('/').any(|c| c.starts_with('.')) {
            continue;
        }
        match std::fs::read(&path) {
            Ok(b) => out.push((rel, Bytes::from(b))),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "site file unreadable"),
        }
    }
}

/// `If-None-Match` names one of this file's ETags (any coding: the
/// representations are the same content), or `*`.
fn if_none_match(v: Option<&HeaderValue>, hash: &str) -> bool {
    let Some(v) = v.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    v.split(',').map(str::trim).any(|t| {
        if t == "*" {
            return true;
        }
        let t = t.strip_prefix("W/").unwrap_or(t);
        let Some(t) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
            return false;
        };
        let t = t
            .strip_suffix("-br")
            .or_else(|| t.strip_suffix("-gz"))
            .unwrap_or(t);
        t == hash
    })
}

/// The quality (0–1000) of one `Accept-Encoding` element's parameters:
/// `None` when they are malformed (the element is then ignored).
fn quality(params: &str) -> Option<u16> {
    let mut q = 1000;
    for p in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        q = parse_qvalue(v.trim())?;
    }
    Some(q)
}

/// RFC 9110 qvalue: `0[.ddd]` or `1[.000]`, in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Picks the coding to send from `Accept-Encoding` (RFC 9110 §12.5.3): the
/// highest quality among the variants this file has; on a tie brotli, then
/// gzip, then the plain bytes. No header means any coding is fine but the
/// plain bytes are sent; `identity` is acceptable unless excluded (`identity;q=0`
/// or `*;q=0`), and when nothing is acceptable the plain bytes go out anyway
/// rather than a 406. Malformed elements are ignored.
pub fn negotiate(accept: Option<&HeaderValue>, has_br: bool, has_gzip: bool) -> Coding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Coding::Identity;
    };
    let (mut br, mut gzip, mut identity, mut star) = (None, None, None, None);
    // Bounded work for a hostile header: 64 elements are far more than any browser sends.
    for item in accept.split(',').take(64) {
        let (coding, params) = item.split_once(';').unwrap_or((item, ""));
        let coding = coding.trim();
        let Some(q) = quality(params) else { continue };
        let slot = if coding.eq_ignore_ascii_case("br") {
            &mut br
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut identity
        } else if coding == "*" {
            &mut star
        } else {
            continue;
        };
        // The same coding twice: the first one counts.
        if slot.is_none() {
            *slot = Some(q);
        }
    }
    let q_br = if has_br { br.or(star).unwrap_or(0) } else { 0 };
    let q_gzip = if has_gzip {
        gzip.or(star).unwrap_or(0)
    } else {
        0
    };
    // identity is acceptable by default (q just below any explicit coding).
    let q_identity = identity.or(star).unwrap_or(1);
    let best = q_br.max(q_gzip).max(q_identity);
    if best == 0 {
        return Coding::Identity;
    }
    if q_br == best {
        Coding::Brotli
    } else if q_gzip == best {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(h: &str) -> Coding {
        negotiate(Some(&HeaderValue::from_str(h).unwrap()), true, true)
    }

    #[test]
    fn accept_encoding() {
        assert_eq!(negotiate(None, true, true), Coding::Identity);
        assert_eq!(pick(""), Coding::Identity);
        assert_eq!(pick("br, gzip"), Coding::Brotli);
        assert_eq!(pick("gzip, deflate, br, zstd"), Coding::Brotli);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(pick("BR;Q=1.0, gzip;q=0.8"), Coding::Brotli);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick("*"), Coding::Brotli);
        assert_eq!(pick("*;q=0, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0, *"), Coding::Identity);
        assert_eq!(pick("gzip;q=0.000"), Coding::Identity);
        assert_eq!(pick("identity;q=0, *;q=0"), Coding::Identity);
        assert_eq!(pick("br;q=2, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=abc, gzip;q=0.1"), Coding::Gzip);
        assert_eq!(pick("br;q=0.0001, gzip;q=0.1"), Coding::Gzip);
        assert_eq!(pick(";;;,,,=,q=1"), Coding::Identity);
        assert_eq!(pick("gzip;q=0.9, identity;q=1"), Coding::Identity);
        assert_eq!(
            negotiate(Some(&HeaderValue::from_static("br")), false, true),
            Coding::Identity
        );
        assert_eq!(
            negotiate(Some(&HeaderValue::from_static("br, gzip")), false, true),
            Coding::Gzip
        );
    }

    #[test]
    fn etags() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert!(if_none_match(Some(&v("\"abc\"")), "abc"));
        assert!(if_none_match(Some(&v("\"x\", W/\"abc-br\"")), "abc"));
        assert!(if_none_match(Some(&v("*")), "abc"));
        assert!(!if_none_match(Some(&v("\"abcd\"")), "abc"));
        assert!(!if_none_match(Some(&v("abc")), "abc"));
        assert!(!if_none_match(None, "abc"));
    }
}
