//! Runtime configuration: compiled-in defaults, overridden by environment variables
//! (and by CLI flags where the CLI offers one).

use std::net::SocketAddr;

use chrono_tz::Tz;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://radar.db?mode=rwc";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub addr: SocketAddr,
    /// Company time zone used to render times and count calendar days.
    pub tz: Tz,
    /// Signed requests must carry a timestamp at most this many seconds behind
    /// the server clock; 0 turns this check off for legacy clients. The bound
    /// ahead of the clock (`auth::MAX_FUTURE_SECS`) applies either way.
    pub auth_max_skew_secs: i64,
    /// Where the built site (`pkg/radar.js`, `pkg/radar_bg.wasm`, `pkg/radar.css`) lives
    /// when it is not embedded in the binary.
    pub site_root: String,
    /// Base URL printed by `radar demo` and used for links.
    pub public_url: String,
    /// Hosts and app ids that article share links are built from (semantics §4.4).
    pub article_api_url: String,
    pub article_authorization_url: String,
    pub article_component_appid: String,
    pub db_max_connections: u32,
    /// CORS origins, timeouts and the socket cap (see `edge::NetConfig`).
    pub net: crate::edge::NetConfig,
    /// Write budget per customer or sales user (contract §6): `write_burst`
    /// writes at once, refilled at `write_rate` per second; a rate of 0 turns it off.
    pub write_burst: u32,
    pub write_rate: f64,
    /// Hosts of the WeCom API, the WeChat API and WeChat's OAuth pages (issue 16);
    /// tests and private deployments point them elsewhere. No trailing `/`.
    pub wecom_api: String,
    pub wechat_api: String,
    pub wechat_open: String,
    /// The key that signs sign-in `state`s (`RADAR_STATE_KEY`); when unset, a
    /// random key kept in the database, so every instance on it agrees.
    pub state_key: Option<Secret>,
    /// Webhook deliveries (`service::webhook`): the longest an attempt may
    /// take (`RADAR_WEBHOOK_TIMEOUT_MS`, default 10 s) and the first retry's
    /// delay, doubled after each failure (`RADAR_WEBHOOK_RETRY_MS`, default
    /// 5 s). Tests shorten both so they need not wait.
    pub webhook_timeout: std::time::Duration,
    pub webhook_retry: std::time::Duration,
    /// Uploaded photos and videos (`service::media`): an S3-compatible bucket
    /// (`RADAR_MEDIA_URL=s3://bucket/prefix`), else a directory
    /// (`RADAR_MEDIA_DIR`, default `media/` next to the SQLite file).
    pub media_url: Option<String>,
    pub media_dir: Option<std::path::PathBuf>,
    /// `object_store` S3 options over the `AWS_*` variables (tests set the
    /// endpoint of their local S3 server here rather than in the process
    /// environment, which the other tests share).
    pub media_s3_options: Vec<(String, String)>,
}

/// A secret value: its `Debug` never shows it, so printing a `Config` is safe.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The shortest `RADAR_STATE_KEY` accepted: 32 characters.
pub const MIN_STATE_KEY_CHARS: usize = 32;

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let addr_s = var("RADAR_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr: SocketAddr = addr_s
            .parse()
            .map_err(|_| format!("RADAR_ADDR is not an address: {addr_s}"))?;
        let tz_s = var("RADAR_TZ").unwrap_or_else(|| "Asia/Shanghai".into());
        let tz: Tz = tz_s
            .parse()
            .map_err(|_| format!("RADAR_TZ is not a time zone: {tz_s}"))?;
        let skew = integer(&var, "RADAR_AUTH_MAX_SKEW_SECS", 900i64)?.max(0);
        let max_conn = integer(&var, "RADAR_DB_MAX_CONNECTIONS", 16u32)?.max(1);
        let write_burst = integer(&var, "RADAR_WRITE_BURST", 30u32)?.max(1);
        let write_rate = match var("RADAR_WRITE_RATE") {
            Some(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| format!("RADAR_WRITE_RATE is not a number ≥ 0: {s}"))?,
            None => 10.0,
        };
        let host = |k: &str, default: &str| {
            var(k)
                .unwrap_or_else(|| default.into())
                .trim()
                .trim_end_matches('/')
                .to_owned()
        };
        let state_key = match var("RADAR_STATE_KEY") {
            Some(k) if k.chars().count() < MIN_STATE_KEY_CHARS => {
                return Err(format!(
                    "RADAR_STATE_KEY must have at least {MIN_STATE_KEY_CHARS} characters"
                ))
            }
            k => k.map(Secret),
        };
        let ms = |k: &str, default: u64| -> Result<std::time::Duration, String> {
            let v = integer(&var, k, default)?;
            if v == 0 {
                return Err(format!("{k} must be at least 1"));
            }
            Ok(std::time::Duration::from_millis(v))
        };
        Ok(Config {
            media_url: var("RADAR_MEDIA_URL"),
            media_dir: var("RADAR_MEDIA_DIR").map(std::path::PathBuf::from),
            media_s3_options: Vec::new(),
            webhook_timeout: ms("RADAR_WEBHOOK_TIMEOUT_MS", 10_000)?,
            webhook_retry: ms("RADAR_WEBHOOK_RETRY_MS", 5_000)?,
            wecom_api: host("RADAR_WECOM_API", "https://qyapi.weixin.qq.com"),
            wechat_api: host("RADAR_WECHAT_API", "https://api.weixin.qq.com"),
            wechat_open: host("RADAR_WECHAT_OPEN", "https://open.weixin.qq.com"),
            state_key,
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            public_url: var("RADAR_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}")),
            addr,
            tz,
            auth_max_skew_secs: skew,
            site_root: var("RADAR_SITE_ROOT")
                .or_else(|| var("LEPTOS_SITE_ROOT"))
                .unwrap_or_else(|| "target/site".into()),
            article_api_url: var("RADAR_ARTICLE_API_URL")
                .unwrap_or_else(|| "http://api.zhugeyingxiao.com".into()),
            article_authorization_url: var("RADAR_ARTICLE_AUTH_URL")
                .unwrap_or_else(|| "http://zhugeleida.zhugeyingxiao.com".into()),
            article_component_appid: var("RADAR_ARTICLE_COMPONENT_APPID")
                .unwrap_or_else(|| "wx6ba07e6ddcdc69b3".into()),
            db_max_connections: max_conn,
            net: crate::edge::NetConfig::from_env(&var)?,
            write_burst,
            write_rate,
        })
    }
}

/// The integer in variable `key`, or `default` when it is unset or blank.
pub fn integer<T: std::str::FromStr>(
    var: &dyn Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> Result<T, String> {
    match var(key) {
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{key} is not an integer: {s}")),
        None => Ok(default),
    }
}
