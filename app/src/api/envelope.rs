//! The envelope every documented endpoint answers with, `{"code","msg","data","note"}`,
//! and the typed reading of a refusal.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::FieldErrors;

/// `{"code","msg","data","note"}`: every documented endpoint answers with all
/// four keys. `T` is the `data` of a success; refusals carry [`ErrorData`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "T: Serialize, N: Serialize",
    deserialize = "T: Deserialize<'de> + Default, N: Deserialize<'de> + Default"
))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T = Empty, N = Empty> {
    pub code: i64,
    pub msg: Msg,
    #[serde(default)]
    pub data: T,
    #[serde(default)]
    pub note: N,
}

impl<T> Envelope<T> {
    pub fn new(code: i64, msg: impl Into<Msg>, data: T) -> Self {
        Envelope {
            code,
            msg: msg.into(),
            data,
            note: Empty {},
        }
    }
    pub fn ok(msg: &str, data: T) -> Self {
        Self::new(200, msg, data)
    }
}

impl<T, N> Envelope<T, N> {
    pub fn with_note<M>(self, note: M) -> Envelope<T, M> {
        Envelope {
            code: self.code,
            msg: self.msg,
            data: self.data,
            note,
        }
    }
}

/// `{}`: the `data` or `note` of an answer that carries nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}

/// `msg`: a text, or (on endpoints that report field errors there) a
/// Django-style field-error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Msg {
    Text(String),
    Fields(FieldErrors),
}

impl Default for Msg {
    fn default() -> Self {
        Msg::Text(String::new())
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Msg {
        Msg::Text(s.to_owned())
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Msg {
        Msg::Text(s)
    }
}

impl From<FieldErrors> for Msg {
    fn from(f: FieldErrors) -> Msg {
        Msg::Fields(f)
    }
}

impl Msg {
    /// The text; a field-error object reads as its first message.
    pub fn text(&self) -> String {
        match self {
            Msg::Text(s) => s.clone(),
            Msg::Fields(f) => f.first_message().unwrap_or_default().to_owned(),
        }
    }
}

/// `note` of a refusal: why a credential was refused (`token异常`), or nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Note {
    pub fn reason(reason: &str) -> Note {
        Note {
            reason: Some(reason.to_owned()),
        }
    }
}

/// `data` of a refusal: the field errors of the endpoints that put them in
/// `data`, the wait of a 429, or `{}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorData {
    RetryAfter { retry_after: u64 },
    Fields(FieldErrors),
    Empty(Empty),
}

impl Default for ErrorData {
    fn default() -> Self {
        ErrorData::Empty(Empty {})
    }
}

/// An answer whose code is not 200, as a client reads it.
pub type Refusal = Envelope<ErrorData, Note>;

impl Refusal {
    /// The field errors, from `msg` or `data`, whichever carries them.
    pub fn field_errors(&self) -> FieldErrors {
        match (&self.msg, &self.data) {
            (Msg::Fields(f), _) | (_, ErrorData::Fields(f)) if !f.is_empty() => f.clone(),
            _ => FieldErrors::new(),
        }
    }
    /// `retry_after` of a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self.data {
            ErrorData::RetryAfter { retry_after } if self.code == 429 => Some(retry_after),
            _ => None,
        }
    }
}

/// Why a call produced no data.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The server answered with a code other than 200.
    Refused(Refusal),
    /// No answer, or one that is not the documented shape.
    Transport(String),
}

/// Reads an answer: the typed envelope of a 200, or the refusal. A body that
/// fits neither is a transport failure, so a renamed key surfaces here instead
/// of as an empty screen.
pub fn read_answer<T: DeserializeOwned + Default>(body: &str) -> Result<Envelope<T>, Failure> {
    // Only the decoding of `data` depends on `T`: the envelope and the refusal
    // are read once for every `T` instead of once per `T`, which the WASM
    // bundle would carry each time.
    let (msg, data) = read_head(body)?;
    let data = match data {
        Some(raw) => super::from_json(raw).map_err(transport)?,
        None => T::default(),
    };
    Ok(Envelope {
        code: 200,
        msg,
        data,
        note: Empty {},
    })
}

/// The `msg` and undecoded `data` of a 200, or the failure.
fn read_head(body: &str) -> Result<(Msg, Option<&str>), Failure> {
    let head: Head = serde_json::from_str(body).map_err(transport)?;
    if head.code == 200 {
        Ok((head.msg, head.data.map(RawValue::get)))
    } else {
        match super::from_json::<Refusal>(body) {
            Ok(r) => Err(Failure::Refused(r)),
            Err(e) => Err(transport(e)),
        }
    }
}

fn transport(e: serde_json::Error) -> Failure {
    Failure::Transport(e.to_string())
}

/// An answer's envelope with `data` still undecoded (`None`: no `data` key).
#[derive(Deserialize)]
struct Head<'a> {
    code: i64,
    msg: Msg,
    #[serde(borrow, default, deserialize_with = "raw")]
    data: Option<&'a RawValue>,
}

/// `data` as it is, `null` included (so it decodes into `T` like any value).
fn raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}
