//! One error type for the service layer, and its mapping to the wire envelope.

use app::api::{Empty, Envelope, ErrorData, Note, Refusal};
use app::domain::FieldErrors;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Signature, user or timestamp rejected → 400 `token异常`.
    #[error("token rejected: {0}")]
    Auth(&'static str),
    /// Field validation; the endpoint decides the code and where the object goes.
    #[error("invalid fields")]
    Fields(FieldErrors),
    /// 307 `用户-客户关系不存在`.
    #[error("no relation between sales user and customer")]
    NoRelation,
    /// 302 `没有数据`.
    #[error("no data")]
    NoData,
    /// 402 `请求异常`: a request no field error describes (bad path argument,
    /// unknown GET operation, wrong method).
    #[error("bad request")]
    BadRequest,
    /// 402 `请求体过大`.
    #[error("request body too large")]
    BodyTooLarge,
    /// 302 `请求异常`: an unknown operation of `qiyeweixin/contact/{oper}`.
    #[error("unknown contact operation")]
    UnknownContactOperation,
    /// `0 ""`: a POST to an operation the endpoint does not have, answered as
    /// the original's fall-through did.
    #[error("unknown operation")]
    UnknownOperation,
    /// 301 `用户标签不存在`.
    #[error("tag does not exist")]
    NoSuchTag,
    /// Unknown path → HTTP 404.
    #[error("not found")]
    NotFound,
    /// Over the write budget (contract §6) → HTTP 429 with `Retry-After`.
    #[error("write rate exceeded, retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn field(field: &str, message: &str, code: &str) -> Error {
        Error::Fields(FieldErrors::single(field, message, code))
    }
    pub fn bad_request() -> Error {
        Error::BadRequest
    }
}

/// How an endpoint reports field errors: its code, and whether the error object
/// goes in `msg` (sign-up, review, customer updates) or in `data` with `msg: 请求异常`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub code: i64,
    pub in_msg: bool,
}

pub const IN_DATA_402: Style = Style {
    code: 402,
    in_msg: false,
};
pub const IN_DATA_302: Style = Style {
    code: 302,
    in_msg: false,
};
pub const IN_MSG_301: Style = Style {
    code: 301,
    in_msg: true,
};
pub const IN_MSG_303: Style = Style {
    code: 303,
    in_msg: true,
};

/// An `Error` bound to the style of the endpoint that produced it.
#[derive(Debug)]
pub struct ApiError {
    pub error: Error,
    pub style: Style,
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            error,
            style: IN_DATA_402,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Error::Db(e).into()
    }
}

pub trait WithStyle<T> {
    fn styled(self, style: Style) -> Result<T, ApiError>;
}

impl<T> WithStyle<T> for Result<T, Error> {
    fn styled(self, style: Style) -> Result<T, ApiError> {
        self.map_err(|error| ApiError { error, style })
    }
}

impl ApiError {
    pub fn envelope(&self) -> (StatusCode, Refusal) {
        let ok = StatusCode::OK;
        let plain = |code: i64, msg: &str| {
            Envelope::new(code, msg, ErrorData::default()).with_note(Note::default())
        };
        match &self.error {
            Error::Auth(reason) => (ok, plain(400, "token异常").with_note(Note::reason(reason))),
            Error::Fields(errs) => {
                if self.style.in_msg {
                    let env = Envelope::new(self.style.code, errs.clone(), ErrorData::default());
                    (ok, env.with_note(Note::default()))
                } else {
                    let env =
                        Envelope::new(self.style.code, "请求异常", ErrorData::Fields(errs.clone()));
                    (ok, env.with_note(Note::default()))
                }
            }
            Error::NoRelation => (ok, plain(307, "用户-客户关系不存在")),
            Error::NoData => (ok, plain(302, "没有数据")),
            Error::BadRequest => (ok, plain(402, "请求异常")),
            Error::BodyTooLarge => (ok, plain(402, "请求体过大")),
            Error::UnknownContactOperation => (ok, plain(302, "请求异常")),
            Error::UnknownOperation => (ok, plain(0, "")),
            Error::NoSuchTag => (ok, plain(301, "用户标签不存在")),
            Error::NotFound => (StatusCode::NOT_FOUND, plain(404, "not found")),
            // The database is away (contract §6): 503 with the same envelope,
            // so clients and load balancers know to retry.
            Error::Db(e) if crate::db::is_unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    plain(500, "服务器繁忙,请稍后重试"),
                )
            }
            Error::RateLimited { retry_after } => {
                let data = ErrorData::RetryAfter {
                    retry_after: *retry_after,
                };
                let env = Envelope::new(429, "请求过于频繁", data).with_note(Note::default());
                (StatusCode::TOO_MANY_REQUESTS, env)
            }
            Error::Db(e) => {
                tracing::error!(error = %e, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    plain(500, "服务器繁忙,请稍后重试"),
                )
            }
            Error::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    plain(500, "服务器繁忙,请稍后重试"),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, env) = self.envelope();
        let mut res = (status, Json(env)).into_response();
        if let Error::RateLimited { retry_after } = self.error {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
        }
        res
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// A handler's answer: the envelope of its `data` type, or the refusal.
pub type ApiResult<T = serde_json::Value, N = Empty> = Result<Json<Envelope<T, N>>, ApiError>;

pub fn ok<T: Serialize>(msg: &str, data: T) -> ApiResult<T> {
    Ok(Json(Envelope::ok(msg, data)))
}

#[cfg(test)]
#[path = "tests/error.rs"]
mod tests;
