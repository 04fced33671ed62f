//! Request parsing at the edge: query strings and form or JSON bodies become
//! `Fields`, and `Check` validates them into typed values with Django-style errors.

use app::domain::FieldErrors;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::{ApiError, Error};

pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_PAGE_LENGTH: i64 = 100;

/// Named request fields. Form and query values are strings; JSON bodies keep their types.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Map<String, Value>);

impl Fields {
    pub fn parse_urlencoded(s: &str) -> Result<Fields, Error> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(s).map_err(|_| Error::bad_request())?;
        let mut m = Map::new();
        for (k, v) in pairs {
            // Django's QueryDict.get returns the last value of a repeated key.
            m.insert(k, Value::String(v));
        }
        Ok(Fields(m))
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Fields, Error> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(Fields(m)),
            _ => Err(Error::BadRequest),
        }
    }

    /// Refuses a NUL character (U+0000) anywhere in the fields: in a value, a
    /// key, an array or object of a JSON body, or in JSON text inside a form
    /// field (`content`, `tag_list`). PostgreSQL cannot store it in `TEXT`, and
    /// no field has a use for it, so it is refused here, for every endpoint and
    /// frame, on both databases, before anything is stored: a 402 with one
    /// `invalid` error per offending (top-level) field.
    pub fn refuse_nul(self) -> Result<Fields, Error> {
        let mut errors = FieldErrors::new();
        for (k, v) in &self.0 {
            if k.contains('\0') || has_nul(v) {
                errors.add(&k.replace('\0', ""), NUL_MESSAGE, "invalid");
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(Error::Fields(errors))
        }
    }

    pub fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// The field as text: strings as they are, numbers and booleans printed, objects as JSON.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    }

    /// Trimmed text, `None` when absent or blank.
    pub fn trimmed(&self, key: &str) -> Option<String> {
        self.text(key)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
}

pub const NUL_MESSAGE: &str = "不能包含NUL字符";

fn has_nul(v: &Value) -> bool {
    match v {
        // JSON text spells NUL `\u0000`; only text holding that escape needs a parse.
        Value::String(s) => {
            s.contains('\0')
                || (s.contains("\\u0000")
                    && serde_json::from_str::<Value>(s).is_ok_and(|inner| has_nul(&inner)))
        }
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Query-string fields.
pub struct Query(pub Fields);

/// The query string as authentication parsed it, so that the handler's
/// `Query` does not parse it again (a polled badge is mostly parsing).
#[derive(Clone)]
pub struct ParsedQuery(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let fields = match parts.extensions.remove::<ParsedQuery>() {
            Some(ParsedQuery(f)) => f,
            None => Fields::parse_urlencoded(parts.uri.query().unwrap_or(""))?,
        };
        Ok(Query(fields.refuse_nul()?))
    }
}

/// Body fields from `application/x-www-form-urlencoded`, `application/json` or
/// `multipart/form-data` (what `navigator.sendBeacon` sends for a `FormData`),
/// at most 64 KiB.
pub struct Body(pub Fields);

/// How a body is encoded, from its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Encoding {
    Json,
    /// With the boundary, `None` when the content type lacks a usable one.
    Multipart(Option<String>),
    Form,
}

fn encoding(content_type: Option<&str>) -> Encoding {
    let Some(ct) = content_type else {
        return Encoding::Form;
    };
    let (essence, params) = ct.split_once(';').unwrap_or((ct, ""));
    let essence = essence.trim().to_ascii_lowercase();
    if essence == "multipart/form-data" {
        Encoding::Multipart(multipart_boundary(params))
    } else if essence.contains("json") {
        Encoding::Json
    } else {
        Encoding::Form
    }
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let enc = encoding(
            req.headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::from(Error::BodyTooLarge))?;
        if bytes.is_empty() {
            return Ok(Body(Fields::default()));
        }
        let fields = match enc {
            Encoding::Json => Fields::from_json_bytes(&bytes)?,
            Encoding::Multipart(Some(boundary)) => Fields::parse_multipart(&bytes, &boundary)?,
            Encoding::Multipart(None) => return Err(Error::bad_request().into()),
            Encoding::Form => {
                let s = std::str::from_utf8(&bytes).map_err(|_| Error::bad_request())?;
                Fields::parse_urlencoded(s)?
            }
        };
        Ok(Body(fields.refuse_nul()?))
    }
}

// ---------------------------------------------------------------------------
// multipart/form-data (RFC 7578), text fields only.

/// The `boundary` parameter of a multipart content type's parameters (after
/// the first `;`): 1–70 characters (RFC 2046), quoted or not.
fn multipart_boundary(params: &str) -> Option<String> {
    header_params(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 70 && !b.contains(['\r', '\n']))
}

/// `; key=value; key="quoted; value"` parameters of a header value. A quoted
/// string may hold `;` and backslash escapes; a key without value is skipped.
fn header_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut key = String::new();
        while let Some(c) = chars.peek().copied() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => {
                        if let Some(e) = chars.next() {
                            value.push(e);
                        }
                    }
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ';' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim_end().to_owned();
        }
        out.push((key.trim().to_owned(), value));
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

impl Fields {
    /// Text parts of a `multipart/form-data` body. Parts with a `filename` (file
    /// uploads) are skipped; anything not shaped as RFC 7578 says, a part
    /// without `form-data; name=…`, or a value that is not UTF-8 is a 402.
    pub fn parse_multipart(body: &[u8], boundary: &str) -> Result<Fields, Error> {
        let bad = Error::bad_request;
        let dash = format!("--{boundary}");
        let delim = format!("\r\n--{boundary}");
        // The first delimiter opens the body or follows a preamble line.
        let mut pos = if body.starts_with(dash.as_bytes()) {
            dash.len()
        } else {
            find(body, delim.as_bytes(), 0).ok_or_else(bad)? + delim.len()
        };
        let mut m = Map::new();
        loop {
            let rest = &body[pos..];
            if rest.starts_with(b"--") {
                // The close delimiter; the epilogue is ignored.
                return Ok(Fields(m));
            }
            // Transport padding, then the line break ending the delimiter.
            let pad = rest
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
            if !rest[pad..].starts_with(b"\r\n") {
                return Err(bad());
            }
            let head_start = pos + pad + 2;
            // A part without headers (a blank line right away) has no name.
            if body[head_start..].starts_with(b"\r\n") {
                return Err(bad());
            }
            let end = find(body, b"\r\n\r\n", head_start).ok_or_else(bad)?;
            let (head, body_start) = (&body[head_start..end], end + 4);
            let next = find(body, delim.as_bytes(), body_start).ok_or_else(bad)?;
            let head = std::str::from_utf8(head).map_err(|_| bad())?;
            let mut disposition = None;
            for line in head.split("\r\n") {
                let (name, value) = line.split_once(':').ok_or_else(bad)?;
                if name.trim().eq_ignore_ascii_case("content-disposition") {
                    disposition = Some(value.trim());
                }
            }
            let disposition = disposition.ok_or_else(bad)?;
            let (kind, params) = disposition.split_once(';').unwrap_or((disposition, ""));
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err(bad());
            }
            let params = header_params(params);
            let param = |key: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str())
            };
            let name = param("name").filter(|n| !n.is_empty()).ok_or_else(bad)?;
            if param("filename").is_none() && param("filename*").is_none() {
                let value = std::str::from_utf8(&body[body_start..next]).map_err(|_| bad())?;
                // As for forms, the last value of a repeated name wins.
                m.insert(name.to_owned(), Value::String(value.to_owned()));
            }
            pos = next + delim.len();
        }
    }
}

/// Validates fields one by one, collecting errors in declaration order.
pub struct Check<'a> {
    pub fields: &'a Fields,
    pub errors: FieldErrors,
}

pub const REQUIRED: &str = "This field is required.";
pub const WHOLE_NUMBER: &str = "Enter a whole number.";

impl<'a> Check<'a> {
    pub fn new(fields: &'a Fields) -> Self {
        Check {
            fields,
            errors: FieldErrors::new(),
        }
    }

    pub fn error(&mut self, field: &str, message: &str, code: &str) {
        self.errors.add(field, message, code);
    }

    /// A required integer; `missing` and `invalid` are the texts of the two failures.
    pub fn req_int(&mut self, key: &str, missing: &str, invalid: &str) -> Option<i64> {
        match self.fields.trimmed(key) {
            None => {
                self.error(key, missing, "required");
                None
            }
            Some(s) => match parse_int(&s) {
                Some(n) => Some(n),
                None => {
                    self.error(key, invalid, "invalid");
                    None
                }
            },
        }
    }

    /// An optional integer: `Ok(None)` when absent or blank.
    pub fn opt_int(&mut self, key: &str, invalid: &str) -> Option<i64> {
        let s = self.fields.trimmed(key)?;
        match parse_int(&s) {
            Some(n) => Some(n),
            None => {
                self.error(key, invalid, "invalid");
                None
            }
        }
    }

    /// A required non-blank string, trimmed.
    pub fn req_str(&mut self, key: &str, missing: &str) -> Option<String> {
        match self.fields.trimmed(key) {
            Some(s) => Some(s),
            None => {
                self.error(key, missing, "required");
                None
            }
        }
    }

    /// An optional string, trimmed, limited to `max` characters.
    pub fn opt_str(&mut self, key: &str, max: usize) -> Option<String> {
        let s = self.fields.trimmed(key)?;
        if s.chars().count() > max {
            self.error(key, &format!("最多{max}个字符"), "invalid");
            return None;
        }
        Some(s)
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Fields(self.errors))
        }
    }
}

/// Decimal integer with optional sign, as Python's `int()` accepts it (no floats).
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

/// A positive id from a path segment or field.
pub fn parse_id(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub length: i64,
}

impl Paging {
    /// `current_page` (default 1, below 1 → 1) and `length` (default `default_len`,
    /// negative → default, 0 or above 100 → 100). Non-numbers are field errors.
    pub fn parse(check: &mut Check<'_>, default_len: i64) -> Option<Paging> {
        let page = match check.fields.trimmed("current_page") {
            None => Some(1),
            Some(s) => match parse_int(&s) {
                Some(n) => Some(n.max(1)),
                None => {
                    check.error("current_page", "页码数据类型错误", "invalid");
                    None
                }
            },
        };
        let length = match check.fields.trimmed("length") {
            None => Some(default_len),
            Some(s) => match parse_int(&s) {
                Some(n) if n < 0 => Some(default_len),
                Some(0) => Some(MAX_PAGE_LENGTH),
                Some(n) => Some(n.min(MAX_PAGE_LENGTH)),
                None => {
                    check.error("length", "页显示数量类型错误", "invalid");
                    None
                }
            },
        };
        Some(Paging {
            page: page?,
            length: length?,
        })
    }

    pub fn offset(&self) -> i64 {
        // Huge page numbers must not overflow; they simply give an empty page.
        (self.page - 1).saturating_mul(self.length)
    }
}

#[cfg(test)]
#[path = "tests/extract.rs"]
mod tests;
