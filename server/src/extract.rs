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
            _ => Err(Error::Coded(402, "请求异常".into())),
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

/// Query-string fields.
pub struct Query(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(Fields::parse_urlencoded(
            parts.uri.query().unwrap_or(""),
        )?))
    }
}

/// Body fields from `application/x-www-form-urlencoded` or `application/json`, at most 64 KiB.
pub struct Body(pub Fields);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::from(Error::Coded(402, "请求体过大".into())))?;
        if bytes.is_empty() {
            return Ok(Body(Fields::default()));
        }
        let fields = if is_json {
            Fields::from_json_bytes(&bytes)?
        } else {
            let s = std::str::from_utf8(&bytes).map_err(|_| Error::bad_request())?;
            Fields::parse_urlencoded(s)?
        };
        Ok(Body(fields))
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
mod tests {
    use super::*;

    fn fields(q: &str) -> Fields {
        Fields::parse_urlencoded(q).unwrap()
    }

    #[test]
    fn paging_defaults_clamps_and_rejects() {
        let f = fields("");
        let mut c = Check::new(&f);
        assert_eq!(
            Paging::parse(&mut c, 20),
            Some(Paging {
                page: 1,
                length: 20
            })
        );
        let f = fields("current_page=-3&length=1000");
        let mut c = Check::new(&f);
        assert_eq!(
            Paging::parse(&mut c, 20),
            Some(Paging {
                page: 1,
                length: 100
            })
        );
        let f = fields("current_page=&length=-1");
        let mut c = Check::new(&f);
        assert_eq!(
            Paging::parse(&mut c, 10),
            Some(Paging {
                page: 1,
                length: 10
            })
        );
        let f = fields("current_page=x&length=1.5");
        let mut c = Check::new(&f);
        assert_eq!(Paging::parse(&mut c, 10), None);
        assert!(c.errors.has("current_page") && c.errors.has("length"));
        let p = Paging {
            page: i64::MAX,
            length: 100,
        };
        assert_eq!(p.offset(), i64::MAX);
    }

    #[test]
    fn ints_are_strict() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        for bad in ["", "1.0", "1e3", "abc", "0x10", "99999999999999999999"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("-1"), None);
    }
}
