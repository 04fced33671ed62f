//! Article radar (issue 4): views and reading time, reviews, recommendations and
//! event sign-up (API doc 2.1–2.4, semantics §4 and §3.7).
//!
//! Every customer action that names the rep who shared the article (`uid`) is
//! written to that rep's access log in the same transaction as the action
//! itself, moves the relation's `last_activity_time`, and creates the relation
//! (source 4, 公众号文章) when the rep belongs to the article's company and the
//! customer is new to them. `Event::ContactChanged` follows the commit.

use app::api::{Action, ArticleHead};
use app::domain::MobilePhone;
use serde_json::{json, Value};

use crate::bus::Event;
use crate::config::Config;
use crate::db::{get_i64, get_opt_i64, get_str, is_unique_violation};
use crate::error::Error;
use crate::service::crm::access_log;
use crate::service::display::customer_name;
use crate::timefmt;
use crate::AppState;

/// `status` of an article: 1 已发, 2 未发, 3 删除.
pub const STATUS_PUBLISHED: i64 = 1;
pub const STATUS_DELETED: i64 = 3;
/// Relation source for customers who arrive through an article.
pub const SOURCE_ARTICLE: i64 = 4;

pub const MAX_REVIEW_CHARS: usize = 1000;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_SIGNUP_NAME_CHARS: usize = 50;
pub const MAX_LEAVE_MESSAGE_CHARS: usize = 500;
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Reading time stored per view is capped: a tab left open overnight is not
/// three hours of interest, and a forged beacon cannot inflate it further.
pub const STAY_CAP_SECS: i64 = 3 * 3600;
/// Reports above a day are not a reading time at all but bad input.
pub const STAY_MAX_INPUT_SECS: i64 = 86_400;
/// How many articles `recommend_article_list` returns.
pub const RECOMMEND_LIMIT: i64 = 3;

#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub company_id: i64,
    pub title: String,
    pub status: i64,
}

async fn article_row(st: &AppState, id: i64) -> Result<Option<ArticleRow>, Error> {
    let row = sqlx::query("SELECT id, company_id, title, status FROM article WHERE id = $1")
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(match row {
        None => None,
        Some(r) => Some(ArticleRow {
            id: get_i64(&r, "id")?,
            company_id: get_i64(&r, "company_id")?,
            title: get_str(&r, "title")?,
            status: get_i64(&r, "status")?,
        }),
    })
}

/// The customer's company, when the customer belongs to one.
async fn customer_company(st: &AppState, customer_id: i64) -> Result<Option<i64>, Error> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT company_id FROM customer WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&st.db.pool)
            .await?
            .flatten(),
    )
}

/// The article as the customer may see it: published, and of the customer's
/// company (a customer without a company sees none). Anything else — drafts,
/// deleted articles, other companies' — is reported exactly like an id that
/// does not exist, so neither existence nor status leaks.
async fn visible_article(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
) -> Result<Option<ArticleRow>, Error> {
    let Some(a) = article_row(st, article_id).await? else {
        return Ok(None);
    };
    if a.status != STATUS_PUBLISHED {
        return Ok(None);
    }
    match customer_company(st, customer_id).await? {
        Some(c) if c == a.company_id => Ok(Some(a)),
        _ => Ok(None),
    }
}

fn no_article() -> Error {
    Error::field("article_id", "文章不存在", "")
}

/// Checks the `uid` a customer action names: the sales user must exist, belong
/// to the customer's company, and be related to the customer already or belong
/// to the article's company (the relation is then created with the action).
/// Returns whether it must be created.
async fn check_rep(
    st: &AppState,
    uid: i64,
    customer_id: i64,
    article_company: Option<i64>,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT u.company_id, c.company_id AS customer_company
         FROM sales_user u LEFT JOIN customer c ON c.id = $2 WHERE u.id = $1",
    )
    .bind(uid)
    .bind(customer_id)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(row) = row else {
        return Err(Error::field("uid", "雷达用户不存在", ""));
    };
    let company = get_i64(&row, "company_id")?;
    let foreign = || Error::field("uid", "雷达用户不属于该文章的公司", "");
    // A relation left over from before the scope rules does not let a rep of
    // another company hear about this customer.
    if get_opt_i64(&row, "customer_company")? != Some(company) {
        return Err(foreign());
    }
    let related: Option<i64> =
        sqlx::query_scalar("SELECT id FROM relation WHERE user_id = $1 AND customer_id = $2")
            .bind(uid)
            .bind(customer_id)
            .fetch_optional(&st.db.pool)
            .await?;
    if related.is_some() {
        return Ok(false);
    }
    if article_company == Some(company) {
        return Ok(true);
    }
    Err(foreign())
}

/// Creates the relation inside the caller's transaction; a concurrent creator wins quietly.
async fn ensure_relation(
    conn: &mut sqlx::AnyConnection,
    uid: i64,
    customer_id: i64,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, customer_id) DO NOTHING",
    )
    .bind(uid)
    .bind(customer_id)
    .bind(SOURCE_ARTICLE)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// View and reading time (producers beyond the API doc).

/// What the article page shows after a view: the content, the new read count,
/// the rep's access-log id (for `staytime`) and the sign-up activity, if any.
#[derive(Debug, Clone)]
pub struct Viewed {
    pub log_id: Option<i64>,
    pub read_count: i64,
    pub company_id: i64,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub cover_picture: String,
    pub create_date: i64,
    pub activity_id: Option<i64>,
}

/// The sign-up activity of an article: the one it embeds (`plugin_report_id`),
/// else the first activity that names the article.
async fn article_activity(
    st: &AppState,
    article_id: i64,
    embedded: Option<i64>,
) -> Result<Option<i64>, Error> {
    if let Some(a) = embedded {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM plugin_report WHERE id = $1")
            .bind(a)
            .fetch_optional(&st.db.pool)
            .await?;
        if exists.is_some() {
            return Ok(Some(a));
        }
    }
    Ok(
        sqlx::query_scalar(
            "SELECT id FROM plugin_report WHERE article_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(article_id)
        .fetch_optional(&st.db.pool)
        .await?,
    )
}

/// The customer opened the article, shared by `uid` when given: `read_count + 1`,
/// and for the rep an access-log row (action 14). Returns the article as the
/// page shows it, with the new log id and read count.
pub async fn view(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    uid: Option<i64>,
) -> Result<Viewed, Error> {
    let a = visible_article(st, customer_id, article_id)
        .await?
        .ok_or_else(no_article)?;
    let create = match uid {
        Some(u) => check_rep(st, u, customer_id, Some(a.company_id)).await?,
        None => false,
    };
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let reads: i64 = sqlx::query_scalar(
        "UPDATE article SET read_count = read_count + 1 WHERE id = $1 RETURNING read_count",
    )
    .bind(a.id)
    .fetch_one(&mut **tx)
    .await?;
    let log_id = match uid {
        Some(u) => {
            if create {
                ensure_relation(&mut tx, u, customer_id, now).await?;
            }
            let remark = format!("正在查看文章《{}》,看来对您的文章感兴趣", a.title);
            Some(
                access_log::record(
                    &mut tx,
                    Action::ViewArticle,
                    u,
                    customer_id,
                    Some(a.id),
                    &remark,
                    now,
                )
                .await?,
            )
        }
        None => None,
    };
    tx.commit().await?;
    if let Some(u) = uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
    let r = sqlx::query(
        "SELECT summary, body, cover_picture, create_date, plugin_report_id FROM article WHERE id = $1",
    )
    .bind(a.id)
    .fetch_one(&st.db.pool)
    .await?;
    let activity_id = article_activity(st, a.id, get_opt_i64(&r, "plugin_report_id")?).await?;
    Ok(Viewed {
        log_id,
        read_count: reads,
        company_id: a.company_id,
        title: a.title,
        summary: get_str(&r, "summary")?,
        body: get_str(&r, "body")?,
        cover_picture: get_str(&r, "cover_picture")?,
        create_date: get_i64(&r, "create_date")?,
        activity_id,
    })
}

/// The head of a published article for anonymous readers (link previews, the
/// page's first paint): no read count, no access log, nothing written. Drafts
/// and deleted articles answer `None`, exactly like ids that do not exist.
pub async fn public_head(st: &AppState, article_id: i64) -> Result<Option<ArticleHead>, Error> {
    if article_id <= 0 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT title, summary, cover_picture FROM article WHERE id = $1 AND status = $2",
    )
    .bind(article_id)
    .bind(STATUS_PUBLISHED)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(match row {
        None => None,
        Some(r) => Some(ArticleHead {
            title: get_str(&r, "title")?,
            summary: get_str(&r, "summary")?,
            cover_picture: get_str(&r, "cover_picture")?,
        }),
    })
}

/// Validates a reported reading time.
pub fn stay_seconds(seconds: i64) -> Result<i64, &'static str> {
    if seconds < 0 {
        Err("阅读时长不能为负数")
    } else if seconds > STAY_MAX_INPUT_SECS {
        Err("阅读时长超出范围")
    } else {
        Ok(seconds.min(STAY_CAP_SECS))
    }
}

/// Records the reading time of one view (the access-log row `log_id` of this
/// customer, article and rep). It only grows, and is capped at three hours;
/// beacons may arrive repeatedly and out of order. Returns the stored value.
pub async fn stay(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    uid: i64,
    log_id: i64,
    seconds: i64,
) -> Result<i64, Error> {
    let seconds = stay_seconds(seconds).map_err(|m| Error::field("seconds", m, "invalid"))?;
    // The view must be this customer's, of an article it may still see, logged
    // for a rep of its company; anything else answers like an unknown log id.
    let owned: Option<i64> = sqlx::query_scalar(
        "SELECT l.id FROM access_log l
           JOIN customer c ON c.id = l.customer_id
           JOIN article a ON a.id = l.article_id AND a.company_id = c.company_id
           JOIN sales_user u ON u.id = l.user_id AND u.company_id = c.company_id
         WHERE l.id = $1 AND l.customer_id = $2 AND l.article_id = $3 AND l.user_id = $4 AND l.action = $5
           AND a.status = $6",
    )
    .bind(log_id)
    .bind(customer_id)
    .bind(article_id)
    .bind(uid)
    .bind(Action::ViewArticle.code())
    .bind(STATUS_PUBLISHED)
    .fetch_optional(&st.db.pool)
    .await?;
    if owned.is_none() {
        return Err(Error::field("log_id", "访问记录不存在", ""));
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    sqlx::query("UPDATE access_log SET stay_seconds = $1 WHERE id = $2 AND stay_seconds < $1")
        .bind(seconds)
        .bind(log_id)
        .execute(&mut **tx)
        .await?;
    let stored: i64 = sqlx::query_scalar("SELECT stay_seconds FROM access_log WHERE id = $1")
        .bind(log_id)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE relation SET last_activity_time = $1 WHERE user_id = $2 AND customer_id = $3",
    )
    .bind(now)
    .bind(uid)
    .bind(customer_id)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    st.bus.publish(Event::ContactChanged {
        user_id: uid,
        customer_id,
    });
    Ok(stored)
}

// ---------------------------------------------------------------------------
// Reviews (API doc 2.2, 2.3).

/// Review content: trimmed, 1–1000 characters.
pub fn review_content(raw: &str) -> Result<String, (&'static str, &'static str)> {
    let t = raw.trim();
    if t.is_empty() {
        Err(("内容不能为空", "required"))
    } else if t.chars().count() > MAX_REVIEW_CHARS {
        Err(("评论内容不能超过1000个字符", "invalid"))
    } else {
        Ok(t.to_owned())
    }
}

/// Stores an unapproved review, counts it on the article, and logs it for the
/// sharing rep when `uid` is given. Returns the review id.
pub async fn review(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    content: &str,
    uid: Option<i64>,
) -> Result<i64, Error> {
    let content = review_content(content).map_err(|(m, c)| Error::field("content", m, c))?;
    let a = visible_article(st, customer_id, article_id)
        .await?
        .ok_or_else(no_article)?;
    let create = match uid {
        Some(u) => check_rep(st, u, customer_id, Some(a.company_id)).await?,
        None => false,
    };
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO article_comment (article_id, from_customer_id, content, is_audit_pass, create_date)
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(a.id)
    .bind(customer_id)
    .bind(&content)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE article SET comment_count = comment_count + 1 WHERE id = $1")
        .bind(a.id)
        .execute(&mut **tx)
        .await?;
    if let Some(u) = uid {
        if create {
            ensure_relation(&mut tx, u, customer_id, now).await?;
        }
        let remark = format!("评论了您的文章《{}》", a.title);
        access_log::record(
            &mut tx,
            Action::ReviewArticle,
            u,
            customer_id,
            Some(a.id),
            &remark,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if let Some(u) = uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
    Ok(id)
}

/// Approved reviews of the article plus the caller's own pending ones, newest
/// first. An unknown or foreign article simply has none.
pub async fn review_list(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
) -> Result<Vec<Value>, Error> {
    if visible_article(st, customer_id, article_id)
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT r.id, r.from_customer_id, r.content, r.is_audit_pass, r.create_date, c.username, c.headimgurl
         FROM article_comment r JOIN customer c ON c.id = r.from_customer_id
         WHERE r.article_id = $1 AND (r.is_audit_pass = 1 OR r.from_customer_id = $2)
         ORDER BY r.create_date DESC, r.id DESC",
    )
    .bind(article_id)
    .bind(customer_id)
    .fetch_all(&st.db.pool)
    .await?;
    let tz = st.config.tz;
    rows.iter()
        .map(|r| {
            let from = get_i64(r, "from_customer_id")?;
            let pass = get_i64(r, "is_audit_pass")?;
            Ok(json!({
                "id": get_i64(r, "id")?,
                "from_customer_id": from,
                "from_customer_name": customer_name(from, &get_str(r, "username")?),
                "from_customer_headimgurl": get_str(r, "headimgurl")?,
                "content": get_str(r, "content")?,
                "create_time": timefmt::plain(tz, get_i64(r, "create_date")?),
                "is_audit_pass": pass,
                "pending": pass != 1,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(Error::from)
}

// ---------------------------------------------------------------------------
// Recommendations (API doc 2.4).

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

/// The share link of an article (semantics §4.4): the official-account OAuth URL,
/// whose `redirect_uri` is inserted raw, wrapped once in the share redirector.
pub fn article_url(
    cfg: &Config,
    authorization_appid: &str,
    article_id: i64,
    uid: i64,
    company_id: i64,
) -> String {
    let redirect_uri = format!(
        "{}/zhugeleida/gongzhonghao/work_gongzhonghao_auth?relate=article_id_{article_id}|pid_|level_1|uid_{uid}|company_id_{company_id}",
        cfg.article_api_url
    );
    let inner = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={authorization_appid}&redirect_uri={redirect_uri}&response_type=code&scope=snsapi_userinfo&state=snsapi_base&component_appid={}#wechat_redirect",
        cfg.article_component_appid
    );
    format!(
        "{}/zhugeleida/gongzhonghao/work_gongzhonghao_auth/redirect_share_url?share_url={}",
        cfg.article_authorization_url,
        pct(&inner)
    )
}

#[derive(Debug, Clone)]
pub struct Recommended {
    pub items: Vec<Value>,
    pub data_count: i64,
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
) -> Result<Recommended, Error> {
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
    let rows = sqlx::query(
        "SELECT id, title, read_count, create_date FROM article WHERE company_id = $1 AND status = $2 AND id <> $3
         ORDER BY read_count DESC, id DESC LIMIT $4",
    )
    .bind(company_id)
    .bind(STATUS_PUBLISHED)
    .bind(article_id)
    .bind(RECOMMEND_LIMIT)
    .fetch_all(&st.db.pool)
    .await?;
    let appid: String = sqlx::query_scalar::<_, Option<String>>(
        "SELECT authorization_appid FROM gongzhonghao_app WHERE company_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(company_id)
    .fetch_optional(&st.db.pool)
    .await?
    .flatten()
    .unwrap_or_default();
    let tz = st.config.tz;
    let items = rows
        .iter()
        .map(|r| {
            let id = get_i64(r, "id")?;
            Ok(json!({
                "article_id": id,
                "title": get_str(r, "title")?,
                "article_url": article_url(&st.config, &appid, id, uid, company_id),
                "read_count": get_i64(r, "read_count")?,
                "create_date": timefmt::plain(tz, get_i64(r, "create_date")?),
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Recommended { items, data_count })
}

// ---------------------------------------------------------------------------
// Event sign-up (API doc 2.1).

#[derive(Debug, Clone)]
pub struct SignUp {
    pub customer_name: String,
    pub phone: MobilePhone,
    pub leave_message: String,
    pub address: Option<String>,
    pub uid: Option<i64>,
}

struct Activity {
    title: String,
    article: Option<ArticleRow>,
}

/// The activity and the article it belongs to: its own `article_id`, else the
/// first article embedding it (`plugin_report_id`).
async fn activity_row(st: &AppState, activity_id: i64) -> Result<Option<Activity>, Error> {
    let Some(r) = sqlx::query("SELECT title, article_id FROM plugin_report WHERE id = $1")
        .bind(activity_id)
        .fetch_optional(&st.db.pool)
        .await?
    else {
        return Ok(None);
    };
    let title = get_str(&r, "title")?;
    let article_id = match get_opt_i64(&r, "article_id")? {
        Some(a) => Some(a),
        None => {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM article WHERE plugin_report_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(activity_id)
            .fetch_optional(&st.db.pool)
            .await?
        }
    };
    let article = match article_id {
        Some(a) => article_row(st, a).await?,
        None => None,
    };
    Ok(Some(Activity { title, article }))
}

fn duplicate_phone() -> Error {
    Error::field("phone", "手机号已存在", "")
}

/// Stores a sign-up and, when the sharing rep is named, the rep's access-log
/// row (action 17), in one transaction. Returns the sign-up id.
pub async fn sign_up(
    st: &AppState,
    customer_id: i64,
    activity_id: i64,
    s: &SignUp,
) -> Result<i64, Error> {
    let not_found = || Error::field("activity_id", "报名活动不存在", "");
    let act = activity_row(st, activity_id).await?.ok_or_else(not_found)?;
    // An activity of a draft, deleted or foreign article is answered like an
    // unknown one; a customer without a company reaches no activity at all.
    let Some(own_company) = customer_company(st, customer_id).await? else {
        return Err(not_found());
    };
    if let Some(a) = &act.article {
        if a.status != STATUS_PUBLISHED || a.company_id != own_company {
            return Err(not_found());
        }
    }
    let article_company = act.article.as_ref().map(|a| a.company_id);
    let create = match s.uid {
        Some(u) => check_rep(st, u, customer_id, article_company).await?,
        None => false,
    };
    let taken: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM report_to_customer WHERE activity_id = $1 AND phone = $2",
    )
    .bind(activity_id)
    .bind(s.phone.as_str())
    .fetch_optional(&st.db.pool)
    .await?;
    if taken.is_some() {
        return Err(duplicate_phone());
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO report_to_customer (activity_id, user_id, customer_id, customer_name, phone, leave_message, address, create_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(activity_id)
    .bind(s.uid)
    .bind(customer_id)
    .bind(&s.customer_name)
    .bind(s.phone.as_str())
    .bind(&s.leave_message)
    .bind(s.address.as_deref().unwrap_or(""))
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // A concurrent sign-up with the same phone committed first.
        Err(e) if is_unique_violation(&e) => return Err(duplicate_phone()),
        Err(e) => return Err(e.into()),
    };
    if let Some(u) = s.uid {
        if create {
            ensure_relation(&mut tx, u, customer_id, now).await?;
        }
        let title = act
            .article
            .as_ref()
            .map(|a| a.title.as_str())
            .unwrap_or(&act.title);
        let remark = format!("报名参加了文章《{title}》的活动,具体详情在后台查看");
        access_log::record(
            &mut tx,
            Action::SignUpActivity,
            u,
            customer_id,
            act.article.as_ref().map(|a| a.id),
            &remark,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if let Some(u) = s.uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
    Ok(id)
}

// ---------------------------------------------------------------------------
// Operator commands.

fn title_ok(title: &str) -> Result<String, Error> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Error::field("title", "标题不能为空", "required"));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::field("title", "标题过长", "invalid"));
    }
    Ok(t.to_owned())
}

pub async fn create_article(
    st: &AppState,
    company_id: i64,
    title: &str,
    status: i64,
    read_count: i64,
) -> Result<i64, Error> {
    let title = title_ok(title)?;
    if !(1..=3).contains(&status) {
        return Err(Error::field("status", "状态必须是1、2或3", "invalid"));
    }
    if read_count < 0 {
        return Err(Error::field("read_count", "阅读数不能为负数", "invalid"));
    }
    if !crate::service::admin::exists(st, "company", company_id).await? {
        return Err(Error::field("company_id", "公司不存在", ""));
    }
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO article (company_id, title, status, read_count, create_date) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company_id)
    .bind(&title)
    .bind(status)
    .bind(read_count)
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A sign-up activity, embedded in `article_id` when given (the article then
/// points back at it unless it already embeds another one).
pub async fn create_activity(
    st: &AppState,
    title: &str,
    article_id: Option<i64>,
) -> Result<i64, Error> {
    let title = title_ok(title)?;
    if let Some(a) = article_id {
        if !crate::service::admin::exists(st, "article", a).await? {
            return Err(Error::field("article_id", "文章不存在", ""));
        }
    }
    let mut tx = st.db.begin_write().await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO plugin_report (title, article_id, create_date) VALUES ($1, $2, $3) RETURNING id")
            .bind(&title)
            .bind(article_id)
            .bind(st.clock.now_ms())
            .fetch_one(&mut **tx)
            .await?;
    if let Some(a) = article_id {
        sqlx::query(
            "UPDATE article SET plugin_report_id = $1 WHERE id = $2 AND plugin_report_id IS NULL",
        )
        .bind(id)
        .bind(a)
        .execute(&mut **tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Makes a review visible to everyone.
pub async fn approve_review(st: &AppState, id: i64) -> Result<i64, Error> {
    let mut tx = st.db.begin_write().await?;
    let done = sqlx::query("UPDATE article_comment SET is_audit_pass = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::field("id", "评论不存在", ""));
    }
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
#[path = "tests/article.rs"]
mod tests;
