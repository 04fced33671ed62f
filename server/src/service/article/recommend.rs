//! Recommendations under an article (API doc 2.4): the company's most-read
//! other articles, each with its share link.

use app::api::article::{RecommendItem, RecommendList};

use super::{customer_company, STATUS_PUBLISHED};
use crate::config::ArticleShare;
use crate::error::Error;
use crate::service::display::{render_time, TimeStyle};
use crate::service::signin::{article_page, share_link};
use crate::AppState;

/// How many articles `recommend_article_list` returns.
pub const RECOMMEND_LIMIT: i64 = 3;

/// Percent-encodes every byte except `A–Z a–z 0–9 _ . - ~` (Python's `quote(s, safe='')`).
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The share link of an article (semantics §4.4) when the company has no
/// Official Account Radar can sign customers in with and `RADAR_ARTICLE_*` are
/// set: the original's OAuth URL, whose `redirect_uri` is inserted raw,
/// wrapped once in the share redirector.
pub fn article_url(
    cfg: &ArticleShare,
    authorization_appid: &str,
    article_id: i64,
    uid: i64,
    company_id: i64,
) -> String {
    let redirect_uri = format!(
        "{}/zhugeleida/gongzhonghao/work_gongzhonghao_auth?relate=article_id_{article_id}|pid_|level_1|uid_{uid}|company_id_{company_id}",
        cfg.api_url
    );
    let inner = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={authorization_appid}&redirect_uri={redirect_uri}&response_type=code&scope=snsapi_userinfo&state=snsapi_base&component_appid={}#wechat_redirect",
        cfg.component_appid
    );
    format!(
        "{}/zhugeleida/gongzhonghao/work_gongzhonghao_auth/redirect_share_url?share_url={}",
        cfg.authorization_url,
        pct(&inner)
    )
}

#[derive(sqlx::FromRow)]
struct RecommendRow {
    id: i64,
    title: String,
    read_count: i64,
    create_date: i64,
}

/// The three most-read published articles of the rep's company other than the
/// one being read. `uid` must be a sales user of `company_id`, and `company_id`
/// the customer's own company (a customer without a company sees none).
pub async fn recommend(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    uid: i64,
    company_id: i64,
) -> Result<RecommendList, Error> {
    let rep_company: Option<i64> =
        sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
            .bind(uid)
            .fetch_optional(&st.db.pool)
            .await?;
    match rep_company {
        None => return Err(Error::field("uid", "雷达用户不存在", "")),
        Some(c) if c != company_id => return Err(Error::field("uid", "雷达用户不属于该公司", "")),
        Some(_) => {}
    }
    if customer_company(st, customer_id).await? != Some(company_id) {
        return Err(Error::field("company_id", "公司ID不正确", ""));
    }
    let data_count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM article WHERE company_id = $1 AND status = $2 AND id <> $3",
    )
    .bind(company_id)
    .bind(STATUS_PUBLISHED)
    .bind(article_id)
    .fetch_one(&st.db.pool)
    .await?;
    let rows = sqlx::query_as::<_, RecommendRow>(
        "SELECT id, title, read_count, create_date FROM article WHERE company_id = $1 AND status = $2 AND id <> $3
         ORDER BY read_count DESC, id DESC LIMIT $4",
    )
    .bind(company_id)
    .bind(STATUS_PUBLISHED)
    .bind(article_id)
    .bind(RECOMMEND_LIMIT)
    .fetch_all(&st.db.pool)
    .await?;
    let signs_in = crate::service::signin::official_account(st, company_id)
        .await?
        .is_some();
    // The original's links name the company's authorizing app id.
    let appid: String = if signs_in || st.config.article_share.is_none() {
        String::new()
    } else {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT authorization_appid FROM gongzhonghao_app WHERE company_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(company_id)
        .fetch_optional(&st.db.pool)
        .await?
        .flatten()
        .unwrap_or_default()
    };
    let ret_data = rows
        .into_iter()
        .map(|r| RecommendItem {
            article_id: r.id,
            title: r.title,
            article_url: match &st.config.article_share {
                _ if signs_in => share_link(&st.config.public_url, company_id, r.id, uid),
                Some(share) => article_url(share, &appid, r.id, uid, company_id),
                // Without the original's hosts: this deployment's article page.
                None => format!(
                    "{}{}",
                    st.config.public_url.trim_end_matches('/'),
                    article_page(company_id, r.id, uid)
                ),
            },
            read_count: r.read_count,
            create_date: render_time(st, r.create_date, TimeStyle::Plain),
        })
        .collect();
    Ok(RecommendList {
        ret_data,
        data_count,
    })
}

#[cfg(test)]
#[path = "../tests/article/recommend.rs"]
mod tests;
