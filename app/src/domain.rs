//! Domain values parsed at the edge. The server validates requests with these and
//! the UI uses the same functions to show errors before a round trip.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Django-style field errors: `{"field":[{"message":"…","code":"required|invalid|"}]}`,
/// kept in declaration order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(pub Vec<(String, Vec<FieldError>)>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub message: String,
    #[serde(default)]
    pub code: String,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn single(field: &str, message: &str, code: &str) -> Self {
        let mut e = Self::new();
        e.add(field, message, code);
        e
    }
    pub fn add(&mut self, field: &str, message: &str, code: &str) {
        let err = FieldError {
            message: message.to_owned(),
            code: code.to_owned(),
        };
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, list)) => list.push(err),
            None => self.0.push((field.to_owned(), vec![err])),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }
    pub fn message(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .and_then(|(_, l)| l.first())
            .map(|e| e.message.as_str())
    }
    /// The first message of the first field.
    pub fn first_message(&self) -> Option<&str> {
        self.0
            .first()
            .and_then(|(_, l)| l.first())
            .map(|e| e.message.as_str())
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (field, errs) in &self.0 {
            m.serialize_entry(field, errs)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for FieldErrors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FieldErrors;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field-error object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<FieldErrors, A::Error> {
                let mut out = Vec::new();
                while let Some((field, errs)) = a.next_entry::<String, Vec<FieldError>>()? {
                    out.push((field, errs));
                }
                Ok(FieldErrors(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FieldErrors {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder};
        ObjectBuilder::new()
            .description(Some(
                "Field name → its errors, in the order they were found",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(
                ArrayBuilder::new()
                    .items(<FieldError as utoipa::PartialSchema>::schema())
                    .build()
                    .into(),
            )))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FieldErrors {}

pub const MAX_TEXT_CHARS: usize = 5000;
pub const MAX_CLIENT_MSG_ID: usize = 64;
pub const MAX_PRODUCT_NAME_CHARS: usize = 200;
pub const MAX_PRODUCT_PRICE_CHARS: usize = 32;
pub const MAX_URL_CHARS: usize = 2048;
/// A stored message's content as JSON, at most: room for a maximal text (5000
/// characters even when each is escaped) while one pushed item stays well
/// below the 64 KiB frame limit.
pub const MAX_CONTENT_BYTES: usize = 32 * 1024;
/// Contact-list and inbox previews are cut to this many characters.
pub const PREVIEW_CHARS: usize = 60;

/// A link the UI puts in `src`/`href`: at most 2,048 characters, and either an
/// absolute `http(s)` URL or a path on the site itself (`statics/imgs/…`,
/// `/pkg/…`), which is what the original clients and the demo data send. Any
/// other scheme (`javascript:`, `data:`, `file:`…), whitespace and control
/// characters are refused.
pub fn check_url(s: &str) -> Result<(), String> {
    if s.chars().count() > MAX_URL_CHARS {
        return Err(format!("链接最多{MAX_URL_CHARS}个字符"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("链接不能包含空白或控制字符".into());
    }
    // A scheme is what precedes the first `:` when no `/`, `?` or `#` comes
    // before it (RFC 3986 §4.2: a relative path cannot have a colon there).
    let head_end = s.find(['/', '?', '#']).unwrap_or(s.len());
    match s[..head_end].find(':') {
        None => Ok(()),
        Some(i) => {
            let scheme = s[..i].to_ascii_lowercase();
            if (scheme == "http" || scheme == "https") && s[i + 1..].starts_with("//") {
                Ok(())
            } else {
                Err("链接只能是http(s)地址或站内路径".into())
            }
        }
    }
}

fn is_url_key(key: &str) -> bool {
    key == "url" || key.ends_with("_url")
}

/// A chat message's `content`: a JSON object whose `info_type` selects the shape.
/// Extra keys are kept as the original did.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageContent {
    kind: InfoType,
    object: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    Text = 1,
    Product = 2,
    AskPhone = 3,
    Image = 4,
    Video = 5,
}

impl InfoType {
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => InfoType::Text,
            2 => InfoType::Product,
            3 => InfoType::AskPhone,
            4 => InfoType::Image,
            5 => InfoType::Video,
            _ => return None,
        })
    }
}

impl MessageContent {
    /// Accepts the JSON text of a form field, or (from a JSON body) an object or a string.
    pub fn parse_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Self::parse_str(s),
            Value::Object(m) => Self::from_object(m.clone()),
            _ => Err("消息内容必须是JSON对象".into()),
        }
    }

    /// The `content` field of a send (absent, or the value of a form field or
    /// JSON body): required, then [`Self::parse_value`]. An error is its
    /// message and code (`required` or `invalid`).
    pub fn from_field(v: Option<&Value>) -> Result<Self, (String, &'static str)> {
        match v {
            None => Err(("消息不能为空".into(), "required")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(("消息不能为空".into(), "required"))
            }
            Some(v) => Self::parse_value(v).map_err(|m| (m, "invalid")),
        }
    }

    /// The article the content names in its own `article_id` key, which clients
    /// show as part of the message: `Ok(None)` when absent or null, `Err(())`
    /// when it is not an id.
    #[allow(clippy::result_unit_err)]
    pub fn article_id(&self) -> Result<Option<i64>, ()> {
        match self.object.get("article_id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(()),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| ()),
            Some(_) => Err(()),
        }
    }

    pub fn parse_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("消息不能为空".into());
        }
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Self::from_object(m),
            Ok(_) => Err("消息内容必须是JSON对象".into()),
            Err(_) => Err("消息内容不是合法的JSON".into()),
        }
    }

    pub fn from_object(mut object: Map<String, Value>) -> Result<Self, String> {
        let code = match object.get("info_type") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let kind = code
            .and_then(InfoType::from_code)
            .ok_or("未知的消息类型info_type")?;
        object.insert("info_type".into(), Value::from(kind as i64));
        let non_empty = |key: &str| -> Result<String, String> {
            match object.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(format!("{key}不能为空")),
            }
        };
        match kind {
            InfoType::Text | InfoType::AskPhone => {
                let msg = non_empty("msg")?;
                if msg.chars().count() > MAX_TEXT_CHARS {
                    return Err(format!("消息不能超过{MAX_TEXT_CHARS}个字符"));
                }
            }
            InfoType::Product => {
                let name = non_empty("product_name")?;
                if name.chars().count() > MAX_PRODUCT_NAME_CHARS {
                    return Err(format!("product_name最多{MAX_PRODUCT_NAME_CHARS}个字符"));
                }
                for key in ["product_cover_url", "product_price"] {
                    if let Some(v) = object.get(key) {
                        if !(v.is_string() || v.is_number()) {
                            return Err(format!("{key}格式错误"));
                        }
                    }
                }
                let price = match object.get("product_price") {
                    Some(Value::String(s)) => s.chars().count(),
                    Some(Value::Number(n)) => n.to_string().len(),
                    _ => 0,
                };
                if price > MAX_PRODUCT_PRICE_CHARS {
                    return Err(format!("product_price最多{MAX_PRODUCT_PRICE_CHARS}个字符"));
                }
            }
            InfoType::Image | InfoType::Video => {
                non_empty("url")?;
            }
        }
        // Every link of the content, whatever its type (extra keys are kept,
        // and a client may render any of them).
        for (key, v) in &object {
            if is_url_key(key) {
                // The key is the client's: echoed cut, so a reply stays small.
                let key = cut_chars(key, 64);
                match v {
                    Value::String(s) => check_url(s).map_err(|e| format!("{key}: {e}"))?,
                    Value::Null => {}
                    _ => return Err(format!("{key}格式错误")),
                }
            }
        }
        let content = MessageContent { kind, object };
        if content.to_json_string().len() > MAX_CONTENT_BYTES {
            return Err(format!("消息内容不能超过{MAX_CONTENT_BYTES}字节"));
        }
        Ok(content)
    }

    pub fn info_type(&self) -> InfoType {
        self.kind
    }
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }
    pub fn to_json_string(&self) -> String {
        Value::Object(self.object.clone()).to_string()
    }
    pub fn text(msg: &str) -> Self {
        let mut m = Map::new();
        m.insert("info_type".into(), Value::from(1));
        m.insert("msg".into(), Value::from(msg));
        MessageContent {
            kind: InfoType::Text,
            object: m,
        }
    }

    /// One-line preview for contact lists (semantics §10.6).
    pub fn preview(object: &Map<String, Value>) -> String {
        let s = |k: &str| {
            object
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        match object.get("info_type").and_then(Value::as_i64) {
            Some(1) | Some(3) => s("msg"),
            Some(2) => format!("向您咨询:{}", s("product_name")),
            Some(4) => "[图片]".into(),
            Some(5) => "[视频]".into(),
            _ => String::new(),
        }
    }

    /// The preview of a contact-list or inbox entry: at most `PREVIEW_CHARS`
    /// characters, a cut one ending in `…`.
    pub fn list_preview(object: &Map<String, Value>) -> String {
        cut_chars(&Self::preview(object), PREVIEW_CHARS)
    }

    /// `list_preview` of a stored content, given as its JSON text; `""` when
    /// the text is not a JSON object.
    pub fn stored_preview(stored: &str) -> String {
        match serde_json::from_str::<Value>(stored) {
            Ok(Value::Object(m)) => Self::list_preview(&m),
            _ => String::new(),
        }
    }
}

/// `s` limited to `max` characters; a cut string ends in `…` (counted).
pub fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Deal probability: an integer 0–100, optionally written with a trailing `%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Probability(u8);

impl Probability {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let t = input.trim();
        let t = t.strip_suffix('%').unwrap_or(t).trim();
        if t.is_empty() {
            return Err("预计成交概率不能为空");
        }
        let n: i64 = t.parse().map_err(|_| "预计成交概率必须是0到100的整数")?;
        if !(0..=100).contains(&n) {
            return Err("预计成交概率必须是0到100的整数");
        }
        Ok(Probability(n as u8))
    }
    pub fn get(self) -> i64 {
        self.0 as i64
    }
}

/// A mainland China mobile number: `1[3-9]` followed by nine digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilePhone(String);

impl MobilePhone {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let t = input.trim();
        let b = t.as_bytes();
        let ok = b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit);
        if ok {
            Ok(MobilePhone(t.to_owned()))
        } else {
            Err("手机号码格式错误")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible e-mail address: one `@`, a non-empty local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let t = input.trim();
        let err = "Enter a valid email address.";
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err);
        }
        let (local, domain) = t.split_once('@').ok_or(err)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || domain.contains('@') || !labels_ok || local.len() > 64 {
            return Err(err);
        }
        Ok(Email(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar date, accepted as `YYYY-M-D` (1 or 2 digit month/day, `-` or `/`),
/// or `M/D/YYYY`; always rendered `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let err = "Enter a valid date.";
        let t = input.trim();
        let parts: Vec<&str> = t.split(['-', '/']).collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err);
        }
        let (y, m, d) = if parts[0].len() == 4 {
            (parts[0], parts[1], parts[2])
        } else if parts[2].len() == 4 && t.contains('/') {
            (parts[2], parts[0], parts[1])
        } else {
            return Err(err);
        };
        if m.len() > 2 || d.len() > 2 {
            return Err(err);
        }
        let year: i32 = y.parse().map_err(|_| err)?;
        let month: u32 = m.parse().map_err(|_| err)?;
        let day: u32 = d.parse().map_err(|_| err)?;
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(err);
        }
        Ok(Date { year, month, day })
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
#[path = "tests/domain.rs"]
mod tests;
