//! WeChat Official Accounts (公众号), direct mode: the web-page OAuth sign-in
//! of a customer (`sns/oauth2/access_token`, then `sns/userinfo`).

use serde::Deserialize;

use super::http::{self, enc};
use super::ApiError;

/// A company's Official Account with its secret (a `gongzhonghao_app` row).
#[derive(Clone, sqlx::FromRow)]
pub struct OfficialAccount {
    pub company_id: i64,
    pub appid: String,
    pub secret: String,
}

impl std::fmt::Debug for OfficialAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficialAccount")
            .field("company_id", &self.company_id)
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

/// Who signed in: the openid, with the nickname and avatar WeChat gave.
#[derive(Debug, Clone, Default)]
pub struct WechatUser {
    pub openid: String,
    pub nickname: Option<String>,
    pub headimgurl: Option<String>,
}

#[derive(Deserialize)]
struct SnsToken {
    #[serde(default)]
    errcode: i64,
    access_token: Option<String>,
    openid: Option<String>,
}

#[derive(Deserialize)]
struct SnsUser {
    #[serde(default)]
    errcode: i64,
    nickname: Option<String>,
    headimgurl: Option<String>,
}

/// The page WeChat shows to sign a reader in and send them to `redirect_uri`
/// with a `code`. `snsapi_userinfo` yields the nickname and avatar as well.
pub fn authorize_url(open: &str, oa: &OfficialAccount, redirect_uri: &str, state: &str) -> String {
    format!(
        "{open}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_userinfo&state={}#wechat_redirect",
        enc(&oa.appid),
        enc(redirect_uri),
        enc(state)
    )
}

#[derive(Clone)]
pub struct Wechat {
    http: http::Client,
    base: String,
}

impl Wechat {
    pub fn new(http: http::Client, base: &str) -> Wechat {
        Wechat {
            http,
            base: base.to_owned(),
        }
    }

    /// The reader who signed in with `code`. The web-page access token is the
    /// reader's own and good for this one exchange, so it is not cached.
    pub async fn sign_in(&self, oa: &OfficialAccount, code: &str) -> Result<WechatUser, ApiError> {
        let url = format!(
            "{}/sns/oauth2/access_token?appid={}&secret={}&code={}&grant_type=authorization_code",
            self.base,
            enc(&oa.appid),
            enc(&oa.secret),
            enc(code)
        );
        let t: SnsToken = self.http.get_json(&url).await?;
        if t.errcode != 0 {
            return Err(ApiError::Refused { errcode: t.errcode });
        }
        let openid = t
            .openid
            .filter(|o| !o.is_empty())
            .ok_or(ApiError::Missing("openid"))?;
        let token = t
            .access_token
            .filter(|o| !o.is_empty())
            .ok_or(ApiError::Missing("access_token"))?;
        let url = format!(
            "{}/sns/userinfo?access_token={}&openid={}&lang=zh_CN",
            self.base,
            enc(&token),
            enc(&openid)
        );
        let u: SnsUser = self.http.get_json(&url).await?;
        if u.errcode != 0 {
            return Err(ApiError::Refused { errcode: u.errcode });
        }
        Ok(WechatUser {
            openid,
            nickname: u.nickname.filter(|n| !n.trim().is_empty()),
            headimgurl: u.headimgurl.filter(|h| !h.is_empty()),
        })
    }
}
