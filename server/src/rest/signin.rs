//! The sign-in pages (issue 16): `/auth/wecom/{company_id}[/start]` for reps,
//! `/auth/wechat/{company_id}[/start]` for customers, and `/auth/options/{company_id}`,
//! the sign-ins a company offers. Answers are redirects,
//! or a small zh-CN page saying why not (400 bad link, 403 not allowed,
//! 503 WeCom/WeChat unreachable, retry later).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;

use app::api::signin::SignInOptions;

use crate::service::signin::{self, Refusal, SignedIn};
use crate::AppState;

pub fn routes(t: &mut crate::rest::Routes) {
    t.route("/auth/wecom/{company_id}/start", get(rep_start))
        .route("/auth/wecom/{company_id}", get(rep_callback))
        .route("/auth/wechat/{company_id}/start", get(customer_start))
        .route("/auth/wechat/{company_id}", get(customer_callback))
        .route("/auth/options/{company_id}", get(options));
}

/// The query string's parameters; a parameter given twice makes it ambiguous
/// which one the state signed, so that is refused.
fn params(raw: Option<String>) -> Result<HashMap<String, String>, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| Refusal::BadRequest)?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        if out.insert(k, v).is_some() {
            return Err(Refusal::BadRequest);
        }
    }
    Ok(out)
}

fn company(raw: &str) -> Result<i64, Refusal> {
    match raw.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Refusal::BadRequest),
    }
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => no_store((StatusCode::FOUND, [(header::LOCATION, v)]).into_response()),
        Err(_) => refused(Refusal::Internal(crate::error::Error::Internal(
            "the sign-in redirect is not a valid header (check RADAR_WECHAT_OPEN and RADAR_PUBLIC_URL)".into(),
        ))),
    }
}

/// Into the UI with the credentials in the fragment, which browsers never
/// send to a server.
fn landed(s: SignedIn) -> Response {
    redirect(&format!(
        "{}#user_id={}&token={}",
        s.next, s.user_id, s.token
    ))
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - 诸葛雷达</title></head>\
         <body style=\"font-family:sans-serif;text-align:center;padding:3em 1em;color:#333\">\
         <h1 style=\"font-size:1.3em\">{title}</h1><p>{text}</p></body></html>\n"
    );
    no_store(
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
    )
}

fn refused(r: Refusal) -> Response {
    use StatusCode as S;
    match r {
        Refusal::BadRequest => page(
            S::BAD_REQUEST,
            "链接无效",
            "登录链接不完整或已被修改，请回到企业微信或公众号重新打开。",
        ),
        Refusal::BadState => page(
            S::BAD_REQUEST,
            "登录已失效",
            "登录链接已过期或被篡改，请重新打开。",
        ),
        Refusal::BadCode => page(
            S::BAD_REQUEST,
            "登录凭证无效",
            "该登录凭证已使用或已失效，请重新打开。",
        ),
        Refusal::Unconfigured => page(
            S::FORBIDDEN,
            "尚未开通",
            "该公司尚未开通此登录方式，请联系管理员。",
        ),
        Refusal::Expired => page(
            S::FORBIDDEN,
            "账号已到期",
            "该公司的雷达账号已到期，请联系管理员续费。",
        ),
        Refusal::UnknownRep => page(
            S::FORBIDDEN,
            "无法登录",
            "您的企业微信账号尚未开通雷达，请联系管理员添加。",
        ),
        // A service we depend on is away: the person can retry, as with the
        // database (contract §6), so 503 rather than 502.
        Refusal::Upstream(_) => {
            let mut res = page(
                S::SERVICE_UNAVAILABLE,
                "暂时无法登录",
                "企业微信或微信服务暂时无法访问，请稍后重试。",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
        Refusal::Internal(e) => {
            let unavailable =
                matches!(&e, crate::error::Error::Db(d) if crate::db::is_unavailable(d));
            if unavailable {
                tracing::warn!(error = %e, "sign-in: database unavailable");
                page(
                    S::SERVICE_UNAVAILABLE,
                    "暂时无法登录",
                    "服务器繁忙，请稍后重试。",
                )
            } else {
                tracing::error!(error = %e, "sign-in failed");
                page(
                    S::INTERNAL_SERVER_ERROR,
                    "暂时无法登录",
                    "服务器繁忙，请稍后重试。",
                )
            }
        }
    }
}

fn answer(r: Result<Response, Refusal>) -> Response {
    r.unwrap_or_else(refused)
}

async fn rep_start(
    State(st): State<AppState>,
    Path(company_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(
        async {
            let q = params(q)?;
            let company_id = company(&company_id)?;
            let url = signin::rep_start(&st, company_id, q.get("next").map(String::as_str)).await?;
            Ok(redirect(&url))
        }
        .await,
    )
}

async fn rep_callback(
    State(st): State<AppState>,
    Path(company_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(
        async {
            let q = params(q)?;
            let company_id = company(&company_id)?;
            let get = |k: &str| q.get(k).map(String::as_str);
            let signed =
                signin::rep_callback(&st, company_id, get("code"), get("state"), get("next"))
                    .await?;
            Ok(landed(signed))
        }
        .await,
    )
}

async fn customer_start(
    State(st): State<AppState>,
    Path(company_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(
        async {
            let q = params(q)?;
            let company_id = company(&company_id)?;
            let get = |k: &str| q.get(k).map(String::as_str);
            let url = signin::customer_start(&st, company_id, get("next"), get("uid")).await?;
            Ok(redirect(&url))
        }
        .await,
    )
}

async fn customer_callback(
    State(st): State<AppState>,
    Path(company_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(
        async {
            let q = params(q)?;
            let company_id = company(&company_id)?;
            let get = |k: &str| q.get(k).map(String::as_str);
            let signed = signin::customer_callback(
                &st,
                company_id,
                get("code"),
                get("state"),
                get("next"),
                get("uid"),
            )
            .await?;
            Ok(landed(signed))
        }
        .await,
    )
}

/// The sign-ins a company offers, for a page opened without credentials. Any
/// query is ignored; a malformed id answers 400 with no offer.
async fn options(State(st): State<AppState>, Path(company_id): Path<String>) -> Response {
    let Ok(company_id) = company(&company_id) else {
        return no_store((StatusCode::BAD_REQUEST, Json(SignInOptions::default())).into_response());
    };
    match signin::options(&st, company_id).await {
        Ok(o) => no_store(Json(o).into_response()),
        Err(e) => refused(Refusal::Internal(e)),
    }
}
