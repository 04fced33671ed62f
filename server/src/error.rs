//! One error type for the service layer, and its mapping to the wire envelope.

use app::api::{empty_object, Envelope};
use app::domain::FieldErrors;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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
    /// A specific code and message (`301 用户标签不存在`, `0 ""`, `402 请求异常`…).
    #[error("{1}")]
    Coded(i64, String),
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
        Error::Coded(402, "请求异常".into())
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
    pub fn envelope(&self) -> (StatusCode, Envelope) {
        let ok = StatusCode::OK;
        match &self.error {
            Error::Auth(reason) => (
                ok,
                Envelope::new(400, "token异常", empty_object())
                    .with_note(json!({"reason": reason})),
            ),
            Error::Fields(errs) => {
                let obj = errs.to_json();
                if self.style.in_msg {
                    (ok, Envelope::new(self.style.code, obj, empty_object()))
                } else {
                    (ok, Envelope::new(self.style.code, "请求异常", obj))
                }
            }
            Error::NoRelation => (
                ok,
                Envelope::new(307, "用户-客户关系不存在", empty_object()),
            ),
            Error::NoData => (ok, Envelope::new(302, "没有数据", empty_object())),
            Error::Coded(code, msg) => (ok, Envelope::new(*code, msg.as_str(), empty_object())),
            Error::NotFound => (
                StatusCode::NOT_FOUND,
                Envelope::new(404, "not found", empty_object()),
            ),
            // The database is away (contract §6): 503 with the same envelope,
            // so clients and load balancers know to retry.
            Error::Db(e) if crate::db::is_unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Envelope::new(500, "服务器繁忙,请稍后重试", empty_object()),
                )
            }
            Error::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                Envelope::new(429, "请求过于频繁", json!({"retry_after": retry_after})),
            ),
            Error::Db(e) => {
                tracing::error!(error = %e, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Envelope::new(500, "服务器繁忙,请稍后重试", empty_object()),
                )
            }
            Error::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Envelope::new(500, "服务器繁忙,请稍后重试", empty_object()),
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

pub type ApiResult = Result<Json<Envelope>, ApiError>;

pub fn ok(msg: &str, data: serde_json::Value) -> ApiResult {
    Ok(Json(Envelope::ok(msg, data)))
}

#[cfg(test)]
#[path = "tests/error.rs"]
mod tests;
