//! Runtime configuration. Every setting is in [`SETTINGS`]: `radar serve`
//! takes each as a flag or its environment variable (clap), so `--help` lists
//! them all with their defaults, and the README's table is checked against it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use chrono_tz::Tz;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://radar.db?mode=rwc";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// One setting: its environment variable (also its clap id), its flag on
/// `radar serve`, the default shown in `--help` and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub env: &'static str,
    pub flag: &'static str,
    pub default: Option<&'static str>,
    pub help: &'static str,
    /// Its value is never shown (`--help` prints the variable's current value otherwise).
    pub secret: bool,
}

const fn setting(
    env: &'static str,
    flag: &'static str,
    default: Option<&'static str>,
    help: &'static str,
) -> Setting {
    Setting {
        env,
        flag,
        default,
        help,
        secret: false,
    }
}

const fn secret(env: &'static str, flag: &'static str, help: &'static str) -> Setting {
    Setting {
        env,
        flag,
        default: None,
        help,
        secret: true,
    }
}

/// Every setting of `radar serve` but `DATABASE_URL`, which every command
/// takes (`--database-url`).
pub const SETTINGS: &[Setting] = &[
    setting("RADAR_ADDR", "addr", Some(DEFAULT_ADDR), "Listen address"),
    setting("RADAR_TZ", "tz", Some("Asia/Shanghai"), "Company time zone for rendering times and counting days"),
    setting("RADAR_AUTH_MAX_SKEW_SECS", "auth-max-skew-secs", Some("900"), "How far in the past a signed timestamp may be; 0 disables this check"),
    setting("RADAR_SITE_ROOT", "site-root", None, "Built site (pkg/radar.js, pkg/radar_bg.wasm, pkg/radar.css) when not embedded [default: $LEPTOS_SITE_ROOT, else target/site]"),
    setting("RADAR_PUBLIC_URL", "public-url", None, "Base of the links Radar hands out (share links, sign-in callbacks, radar demo) [default: http://$RADAR_ADDR]"),
    setting("RADAR_DB_MAX_CONNECTIONS", "db-max-connections", Some("16"), "Request pool size"),
    setting("RADAR_LOG", "log", Some(crate::telemetry::DEFAULT_LOG_FILTER), "Log filter (tracing EnvFilter)"),
    setting("RADAR_LOG_FORMAT", "log-format", Some("text"), "text, or json: every line on stdout and stderr one JSON object"),
    secret("RADAR_METRICS_TOKEN", "metrics-token", "When set, GET /metrics wants Authorization: Bearer <token> [default: unset, /metrics is open]"),
    setting("RADAR_CORS_ORIGINS", "cors-origins", Some("*"), "Comma list of origins allowed to call /zhugeleida/* from a browser"),
    setting("RADAR_WRITE_BURST", "write-burst", Some("30"), "Write budget per principal: bucket size"),
    setting("RADAR_WRITE_RATE", "write-rate", Some("10"), "Write budget refill per second; 0 turns the limit off"),
    setting("RADAR_CONTACT_CACHE", "contact-cache", Some("on"), "on: a contact-list page read again before anything was committed is served from memory; off: every page is read from the database"),
    setting("RADAR_MAX_SOCKETS", "max-sockets", Some("50000"), "Open WebSockets per instance"),
    setting("RADAR_REQUEST_TIMEOUT_SECS", "request-timeout-secs", Some("30"), "A request without an answer by then gets the 503 envelope"),
    setting("RADAR_HEADER_TIMEOUT_SECS", "header-timeout-secs", Some("10"), "A connection whose request head has not arrived by then is dropped"),
    setting("RADAR_WS_AUTH_TIMEOUT_SECS", "ws-auth-timeout-secs", Some("10"), "A socket not authenticated by then is closed (1008)"),
    setting("RADAR_WS_PING_SECS", "ws-ping-secs", Some("30"), "How often sockets are pinged; one silent for two intervals is dropped"),
    setting("RADAR_WECOM_API", "wecom-api", Some("https://qyapi.weixin.qq.com"), "WeCom API host (rep sign-in, notifications)"),
    setting("RADAR_WECHAT_API", "wechat-api", Some("https://api.weixin.qq.com"), "WeChat API host (customer sign-in)"),
    setting("RADAR_WECHAT_OPEN", "wechat-open", Some("https://open.weixin.qq.com"), "Host of the WeCom/WeChat OAuth authorize page"),
    setting("RADAR_WEBHOOK_TIMEOUT_MS", "webhook-timeout-ms", Some("10000"), "A webhook delivery attempt without an answer by then fails (milliseconds)"),
    setting("RADAR_WEBHOOK_RETRY_MS", "webhook-retry-ms", Some("5000"), "First webhook retry delay in milliseconds, doubled after each failure up to 1 h"),
    setting("RADAR_MEDIA_DIR", "media-dir", None, "Directory of uploaded photos and videos [default: media/ next to the SQLite file, else ./media]"),
    setting("RADAR_MEDIA_URL", "media-url", None, "s3://bucket/prefix: keep uploads in S3-compatible storage instead (endpoint and keys from the AWS_* variables) [default: unset, RADAR_MEDIA_DIR]"),
    secret("RADAR_ADMIN_TOKEN", "admin-token", "Bearer token (at least 32 visible ASCII characters) of the admin HTTP API under /admin/api/v1 [default: unset, no admin API]"),
    secret("RADAR_STATE_KEY", "state-key", "Key (at least 32 characters) that signs sign-in states [default: a random key kept in the database]"),
    setting("RADAR_ARTICLE_API_URL", "article-api-url", None, "With the two below: share links of companies without an Official Account take the original's OAuth-wrapped form on these hosts [default: unset, links point at $RADAR_PUBLIC_URL/h5/article/{id}]"),
    setting("RADAR_ARTICLE_AUTH_URL", "article-auth-url", None, "Host of the original's share redirector (see RADAR_ARTICLE_API_URL)"),
    setting("RADAR_ARTICLE_COMPONENT_APPID", "article-component-appid", None, "WeChat open platform component app id of those links (see RADAR_ARTICLE_API_URL)"),
];

/// The settings' values as clap found them: flag, else environment variable,
/// else default. A blank value counts as unset.
#[derive(Debug, Clone, Default)]
pub struct Settings(BTreeMap<&'static str, String>);

impl Settings {
    /// From the environment alone (the in-process servers of the tests, the
    /// admin commands).
    pub fn from_env() -> Result<Settings, String> {
        let cmd = <Settings as clap::Args>::augment_args(clap::Command::new("radar"));
        let m = cmd
            .try_get_matches_from(["radar"])
            .map_err(|e| e.to_string())?;
        <Settings as clap::FromArgMatches>::from_arg_matches(&m).map_err(|e| e.to_string())
    }

    /// The value of setting `env`: set and not blank, else its default.
    pub fn get(&self, env: &str) -> Option<String> {
        self.0
            .get(env)
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .or_else(|| {
                SETTINGS
                    .iter()
                    .find(|s| s.env == env)
                    .and_then(|s| s.default)
                    .map(str::to_owned)
            })
    }

    pub fn set(&mut self, env: &'static str, value: impl Into<String>) {
        self.0.insert(env, value.into());
    }
}

impl clap::FromArgMatches for Settings {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut s = Settings::default();
        s.update_from_arg_matches(m)?;
        Ok(s)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for s in SETTINGS {
            if let Ok(Some(v)) = m.try_get_one::<String>(s.env) {
                self.0.insert(s.env, v.clone());
            }
        }
        Ok(())
    }
}

impl clap::Args for Settings {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.args(SETTINGS.iter().map(|s| {
            let mut a = clap::Arg::new(s.env)
                .long(s.flag)
                .env(s.env)
                .value_name("VALUE")
                .help(s.help)
                .hide_env_values(s.secret);
            if let Some(d) = s.default {
                a = a.default_value(d);
            }
            a
        }))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Where article share links point when the company has no Official Account
/// Radar signs customers in with (semantics §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleShare {
    pub api_url: String,
    pub authorization_url: String,
    pub component_appid: String,
}

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
    /// Base URL of the links Radar hands out.
    pub public_url: String,
    /// The original's OAuth-wrapped share links (`RADAR_ARTICLE_*`, all three
    /// set); `None`: links to this deployment's article page.
    pub article_share: Option<ArticleShare>,
    pub db_max_connections: u32,
    /// CORS origins, timeouts and the socket cap (see `edge::NetConfig`).
    pub net: crate::edge::NetConfig,
    /// Write budget per customer or sales user (contract §6): `write_burst`
    /// writes at once, refilled at `write_rate` per second; a rate of 0 turns it off.
    pub write_burst: u32,
    pub write_rate: f64,
    /// `RADAR_CONTACT_CACHE`: contact-list pages served from memory while
    /// nothing was committed since (`service::crm::contacts`).
    pub contact_cache: bool,
    /// Hosts of the WeCom API, the WeChat API and WeChat's OAuth pages (issue 16);
    /// tests and private deployments point them elsewhere. No trailing `/`.
    pub wecom_api: String,
    pub wechat_api: String,
    pub wechat_open: String,
    /// The key that signs sign-in `state`s (`RADAR_STATE_KEY`); when unset, a
    /// random key kept in the database, so every instance on it agrees.
    pub state_key: Option<Secret>,
    /// `RADAR_METRICS_TOKEN`: the bearer token `/metrics` wants, if any.
    pub metrics_token: Option<Secret>,
    /// `RADAR_LOG` and `RADAR_LOG_FORMAT` (read by `radar serve` before it starts).
    pub log_filter: String,
    pub log_format: crate::telemetry::LogFormat,
    /// Webhook deliveries (`service::webhook`): the longest an attempt may
    /// take (`RADAR_WEBHOOK_TIMEOUT_MS`, default 10 s) and the first retry's
    /// delay, doubled after each failure (`RADAR_WEBHOOK_RETRY_MS`, default
    /// 5 s). Tests shorten both so they need not wait.
    pub webhook_timeout: std::time::Duration,
    pub webhook_retry: std::time::Duration,
    /// `RADAR_ADMIN_TOKEN`: the bearer token of the admin API
    /// (`/admin/api/v1/…`); unset, the API does not exist (404).
    pub admin_token: Option<Secret>,
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

/// The shortest `RADAR_ADMIN_TOKEN` accepted: 32 characters, so that guessing
/// it is out of reach even without the admin API's failure limit.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// `RADAR_ADMIN_TOKEN`: at least [`MIN_ADMIN_TOKEN_CHARS`] visible ASCII
/// characters (what fits in an `Authorization` header unchanged).
pub fn admin_token(value: Option<String>) -> Result<Option<Secret>, String> {
    match value {
        None => Ok(None),
        Some(t) if t.len() < MIN_ADMIN_TOKEN_CHARS || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(format!(
                "RADAR_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} visible ASCII characters (no spaces), e.g. the output of `openssl rand -hex 32`"
            ))
        }
        Some(t) => Ok(Some(Secret(t))),
    }
}

impl Config {
    /// From the environment: `DATABASE_URL` and every setting.
    pub fn from_env() -> Result<Config, String> {
        let mut c = Config::from_settings(&Settings::from_env()?)?;
        if let Some(url) = std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            c.database_url = url;
        }
        Ok(c)
    }

    /// From parsed settings; the database URL is the default one (the caller
    /// sets `database_url`).
    pub fn from_settings(s: &Settings) -> Result<Config, String> {
        let var = |k: &str| s.get(k);
        let addr_s = var("RADAR_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr: SocketAddr = addr_s
            .trim()
            .parse()
            .map_err(|_| format!("RADAR_ADDR is not an address: {addr_s}"))?;
        let tz_s = var("RADAR_TZ").unwrap_or_else(|| "Asia/Shanghai".into());
        let tz: Tz = tz_s
            .trim()
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
        let contact_cache = match var("RADAR_CONTACT_CACHE").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(format!("RADAR_CONTACT_CACHE is on or off: {other}")),
        };
        let host = |k: &str| var(k).map(|v| v.trim().trim_end_matches('/').to_owned());
        let state_key = match var("RADAR_STATE_KEY") {
            Some(k) if k.chars().count() < MIN_STATE_KEY_CHARS => {
                return Err(format!(
                    "RADAR_STATE_KEY must have at least {MIN_STATE_KEY_CHARS} characters"
                ))
            }
            k => k.map(Secret),
        };
        let article_share = match (
            host("RADAR_ARTICLE_API_URL"),
            host("RADAR_ARTICLE_AUTH_URL"),
            var("RADAR_ARTICLE_COMPONENT_APPID"),
        ) {
            (None, None, None) => None,
            (Some(api_url), Some(authorization_url), Some(appid)) => Some(ArticleShare {
                api_url,
                authorization_url,
                component_appid: appid.trim().to_owned(),
            }),
            _ => {
                return Err("RADAR_ARTICLE_API_URL, RADAR_ARTICLE_AUTH_URL and RADAR_ARTICLE_COMPONENT_APPID go together: set all three or none".into())
            }
        };
        let net = crate::edge::NetConfig::from_env(&var)?;
        let admin_token = admin_token(var("RADAR_ADMIN_TOKEN"))?;
        let ms = |k: &str| -> Result<std::time::Duration, String> {
            let v = integer(&var, k, 0u64)?;
            if v == 0 {
                return Err(format!("{k} must be at least 1"));
            }
            Ok(std::time::Duration::from_millis(v))
        };
        Ok(Config {
            admin_token,
            media_url: var("RADAR_MEDIA_URL").map(|u| u.trim().to_owned()),
            media_dir: var("RADAR_MEDIA_DIR").map(std::path::PathBuf::from),
            media_s3_options: Vec::new(),
            webhook_timeout: ms("RADAR_WEBHOOK_TIMEOUT_MS")?,
            webhook_retry: ms("RADAR_WEBHOOK_RETRY_MS")?,
            wecom_api: host("RADAR_WECOM_API").unwrap_or_default(),
            wechat_api: host("RADAR_WECHAT_API").unwrap_or_default(),
            wechat_open: host("RADAR_WECHAT_OPEN").unwrap_or_default(),
            state_key,
            metrics_token: var("RADAR_METRICS_TOKEN").map(|t| Secret(t.trim().to_owned())),
            log_filter: var("RADAR_LOG")
                .unwrap_or_else(|| crate::telemetry::DEFAULT_LOG_FILTER.into()),
            log_format: var("RADAR_LOG_FORMAT").unwrap_or_default().parse()?,
            database_url: DEFAULT_DATABASE_URL.into(),
            public_url: var("RADAR_PUBLIC_URL")
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .unwrap_or_else(|| format!("http://{addr}")),
            addr,
            tz,
            auth_max_skew_secs: skew,
            site_root: var("RADAR_SITE_ROOT")
                .or_else(|| {
                    std::env::var("LEPTOS_SITE_ROOT")
                        .ok()
                        .filter(|v| !v.trim().is_empty())
                })
                .unwrap_or_else(|| "target/site".into()),
            article_share,
            db_max_connections: max_conn,
            net,
            write_burst,
            write_rate,
            contact_cache,
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
