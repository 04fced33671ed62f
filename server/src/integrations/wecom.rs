//! WeCom (企业微信): the app's access token, cached per company until it
//! expires, and the calls of the OAuth sign-in and of app messages.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::http::{self, enc};
use super::{errcode, ApiError};

/// A company's WeCom app (a `wecom_app` row).
#[derive(Clone, sqlx::FromRow)]
pub struct WecomApp {
    pub company_id: i64,
    pub corp_id: String,
    pub agent_id: i64,
    pub secret: String,
}

impl std::fmt::Debug for WecomApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WecomApp")
            .field("company_id", &self.company_id)
            .field("corp_id", &self.corp_id)
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

/// Who signed in: the WeCom user id, with the name and avatar when WeCom gave them.
#[derive(Debug, Clone, Default)]
pub struct WecomUser {
    pub userid: String,
    pub name: Option<String>,
    pub avatar: Option<String>,
}

/// A token is used until this long before WeCom says it expires.
const TOKEN_MARGIN_SECS: i64 = 60;

struct Cached {
    corp_id: String,
    secret: String,
    token: String,
    until: Instant,
}

#[derive(Clone)]
pub struct Wecom {
    http: http::Client,
    base: String,
    tokens: Arc<Mutex<HashMap<i64, Cached>>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    errcode: i64,
    access_token: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct UserInfoAnswer {
    #[serde(default)]
    errcode: i64,
    /// `userid` (auth/getuserinfo), `UserId` in the older user/getuserinfo;
    /// absent for someone outside the corporation (who has an `openid`).
    #[serde(alias = "UserId")]
    userid: Option<String>,
    user_ticket: Option<String>,
}

#[derive(Deserialize)]
struct UserDetailAnswer {
    #[serde(default)]
    errcode: i64,
    name: Option<String>,
    avatar: Option<String>,
}

#[derive(Deserialize)]
struct Plain {
    #[serde(default)]
    errcode: i64,
}

#[derive(Serialize)]
struct Ticket<'a> {
    user_ticket: &'a str,
}

/// The `textcard` app message (`cgi-bin/message/send`).
#[derive(Debug, Clone, Serialize)]
pub struct TextCardMessage {
    pub touser: String,
    pub msgtype: &'static str,
    pub agentid: i64,
    pub textcard: TextCard,
}

#[derive(Debug, Clone, Serialize)]
pub struct TextCard {
    pub title: String,
    pub description: String,
    pub url: String,
    pub btntxt: String,
}

fn refused(code: i64) -> Result<(), ApiError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ApiError::Refused { errcode: code })
    }
}

fn is_token_error(e: &ApiError) -> bool {
    matches!(
        e.errcode(),
        Some(errcode::INVALID_TOKEN | errcode::EXPIRED_TOKEN)
    )
}

/// The page WeCom shows to sign a member in and send them to `redirect_uri`
/// with a `code`. `snsapi_privateinfo` also yields the name and avatar.
pub fn authorize_url(open: &str, app: &WecomApp, redirect_uri: &str, state: &str) -> String {
    format!(
        "{open}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_privateinfo&state={}&agentid={}#wechat_redirect",
        enc(&app.corp_id),
        enc(redirect_uri),
        enc(state),
        app.agent_id
    )
}

impl Wecom {
    pub fn new(http: http::Client, base: &str) -> Wecom {
        Wecom {
            http,
            base: base.to_owned(),
            tokens: Arc::default(),
        }
    }

    fn cached(&self, app: &WecomApp) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        let c = tokens.get(&app.company_id)?;
        // New settings (another corp or secret) need a new token.
        (c.corp_id == app.corp_id && c.secret == app.secret && c.until > Instant::now())
            .then(|| c.token.clone())
    }

    fn forget(&self, company_id: i64, token: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            if tokens.get(&company_id).is_some_and(|c| c.token == token) {
                tokens.remove(&company_id);
            }
        }
    }

    /// The company's access token: the cached one, or a new one from `gettoken`.
    async fn token(&self, app: &WecomApp) -> Result<String, ApiError> {
        if let Some(t) = self.cached(app) {
            return Ok(t);
        }
        let url = format!(
            "{}/cgi-bin/gettoken?corpid={}&corpsecret={}",
            self.base,
            enc(&app.corp_id),
            enc(&app.secret)
        );
        let a: TokenAnswer = self.http.get_json(&url).await?;
        refused(a.errcode)?;
        let token = a
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Missing("access_token"))?;
        let life = (a.expires_in.unwrap_or(7200) - TOKEN_MARGIN_SECS).max(0) as u64;
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(
                app.company_id,
                Cached {
                    corp_id: app.corp_id.clone(),
                    secret: app.secret.clone(),
                    token: token.clone(),
                    until: Instant::now() + Duration::from_secs(life),
                },
            );
        }
        Ok(token)
    }

    /// Runs `call` with the company's token. When WeCom answers that the token
    /// is invalid or expired (40014, 42001; it can be revoked before its
    /// `expires_in`), the token is dropped and the call made once more with a new one.
    async fn with_token<T, F, Fut>(&self, app: &WecomApp, call: F) -> Result<T, ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.token(app).await?;
        match call(token.clone()).await {
            Err(e) if is_token_error(&e) => {
                self.forget(app.company_id, &token);
                call(self.token(app).await?).await
            }
            other => other,
        }
    }

    /// The member who signed in with `code` (`auth/getuserinfo`, then
    /// `auth/getuserdetail` for the name and avatar). `None`: WeCom knows the
    /// person but not as a member of this corporation.
    pub async fn sign_in(&self, app: &WecomApp, code: &str) -> Result<Option<WecomUser>, ApiError> {
        let info: UserInfoAnswer = self
            .with_token(app, |token| async move {
                let url = format!(
                    "{}/cgi-bin/auth/getuserinfo?access_token={}&code={}",
                    self.base,
                    enc(&token),
                    enc(code)
                );
                let a: UserInfoAnswer = self.http.get_json(&url).await?;
                refused(a.errcode)?;
                Ok(a)
            })
            .await?;
        let Some(userid) = info.userid.filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let mut user = WecomUser {
            userid,
            ..WecomUser::default()
        };
        if let Some(ticket) = info.user_ticket.filter(|t| !t.is_empty()) {
            let detail: UserDetailAnswer = self
                .with_token(app, |token| {
                    let ticket = &ticket;
                    async move {
                        let url = format!(
                            "{}/cgi-bin/auth/getuserdetail?access_token={}",
                            self.base,
                            enc(&token)
                        );
                        let a: UserDetailAnswer = self
                            .http
                            .post_json(
                                &url,
                                &Ticket {
                                    user_ticket: ticket,
                                },
                            )
                            .await?;
                        refused(a.errcode)?;
                        Ok(a)
                    }
                })
                .await?;
            user.name = detail.name.filter(|n| !n.trim().is_empty());
            user.avatar = detail.avatar.filter(|a| !a.is_empty());
        }
        Ok(Some(user))
    }

    /// Sends an app message (`cgi-bin/message/send`).
    pub async fn send(&self, app: &WecomApp, message: &TextCardMessage) -> Result<(), ApiError> {
        self.with_token(app, |token| async move {
            let url = format!(
                "{}/cgi-bin/message/send?access_token={}",
                self.base,
                enc(&token)
            );
            let a: Plain = self.http.post_json(&url, message).await?;
            refused(a.errcode)
        })
        .await
    }
}
