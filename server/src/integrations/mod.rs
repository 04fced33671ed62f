//! Clients of the outside services Radar signs people in with (issue 16): the
//! WeCom API for reps (`wecom`), the WeChat Official Account API for customers
//! (`wechat`), over one HTTPS client (`http`). Secrets and access tokens go out
//! in query strings and bodies only; nothing here logs or returns them.

pub mod http;
pub mod wechat;
pub mod wecom;

use crate::config::Config;

/// The `errcode`s WeCom and WeChat answer that Radar acts on.
pub mod errcode {
    /// Invalid `code` (also: already used, on both APIs).
    pub const INVALID_CODE: i64 = 40029;
    /// WeChat: the code has been used.
    pub const CODE_USED: i64 = 40163;
    /// WeChat: the code has expired.
    pub const CODE_EXPIRED: i64 = 42003;
    /// Invalid access token.
    pub const INVALID_TOKEN: i64 = 40014;
    /// Expired access token.
    pub const EXPIRED_TOKEN: i64 = 42001;
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service could not be reached or answered something unusable.
    #[error(transparent)]
    Http(#[from] http::Failure),
    /// It answered with a non-zero `errcode` (its `errmsg` is not kept: it may
    /// echo the request).
    #[error("errcode {errcode}")]
    Refused { errcode: i64 },
    /// `errcode` 0 but a field the flow needs is missing.
    #[error("the answer lacks {0}")]
    Missing(&'static str),
}

impl ApiError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            ApiError::Refused { errcode } => Some(*errcode),
            _ => None,
        }
    }
    /// The user's `code` is invalid, used or expired: the user's fault (HTTP 400),
    /// not the service's.
    pub fn is_bad_code(&self) -> bool {
        matches!(
            self.errcode(),
            Some(errcode::INVALID_CODE | errcode::CODE_USED | errcode::CODE_EXPIRED)
        )
    }
}

/// The clients, shared by every request of this instance.
#[derive(Clone)]
pub struct Weixin {
    pub wecom: wecom::Wecom,
    pub wechat: wechat::Wechat,
    /// The same client for any URL (webhook deliveries).
    pub http: http::Client,
    /// Base of the OAuth authorize pages.
    pub open: String,
}

impl Weixin {
    pub fn new(config: &Config) -> Result<Weixin, String> {
        let http = http::Client::new()?;
        Ok(Weixin {
            wecom: wecom::Wecom::new(http.clone(), &config.wecom_api),
            wechat: wechat::Wechat::new(http.clone(), &config.wechat_api),
            http,
            open: config.wechat_open.clone(),
        })
    }
}
