//! Article radar (issue 4): what customers do with the articles reps share —
//! views and reading time, reviews, recommendations (API doc 2.2–2.4,
//! semantics §4 and §3.7); event sign-up is [`crate::service::signup`].
//!
//! Every customer action that names the rep who shared the article (`uid`) is
//! written to that rep's access log in the same transaction as the action
//! itself, moves the relation's `last_activity_time`, and creates the relation
//! (source 4, 公众号文章) when the rep belongs to the article's company and the
//! customer is new to them. `Event::ContactChanged` follows the commit.

mod manage;
mod recommend;
mod review;
mod stay;
mod view;

pub(crate) use manage::title_ok;
pub use manage::{approve_review, create_article, MAX_TITLE_CHARS};
pub use recommend::{article_url, pct, recommend, RECOMMEND_LIMIT};
pub use review::{review, review_content, review_list, MAX_REVIEW_CHARS};
pub use stay::{stay, stay_seconds, STAY_CAP_SECS, STAY_MAX_INPUT_SECS};
pub use view::{public_head, view};

use crate::error::Error;
use crate::AppState;

/// `status` of an article: 1 已发, 2 未发, 3 删除.
pub const STATUS_PUBLISHED: i64 = 1;
pub const STATUS_DELETED: i64 = 3;
/// Relation source for customers who arrive through an article.
pub const SOURCE_ARTICLE: i64 = 4;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArticleRow {
    pub id: i64,
    pub company_id: i64,
    pub title: String,
    pub status: i64,
}

pub(crate) async fn article_row(st: &AppState, id: i64) -> Result<Option<ArticleRow>, Error> {
    Ok(sqlx::query_as::<_, ArticleRow>(
        "SELECT id, company_id, title, status FROM article WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// The customer's company, when the customer belongs to one.
pub(crate) async fn customer_company(
    st: &AppState,
    customer_id: i64,
) -> Result<Option<i64>, Error> {
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

/// The rep a customer action names, and the customer's company.
#[derive(sqlx::FromRow)]
struct RepRow {
    company_id: i64,
    customer_company: Option<i64>,
}

/// Checks the `uid` a customer action names: the sales user must exist, belong
/// to the customer's company, and be related to the customer already or belong
/// to the article's company (the relation is then created with the action).
/// Returns whether it must be created.
pub(crate) async fn check_rep(
    st: &AppState,
    uid: i64,
    customer_id: i64,
    article_company: Option<i64>,
) -> Result<bool, Error> {
    let row = sqlx::query_as::<_, RepRow>(
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
    let company = row.company_id;
    let foreign = || Error::field("uid", "雷达用户不属于该文章的公司", "");
    // A relation left over from before the scope rules does not let a rep of
    // another company hear about this customer.
    if row.customer_company != Some(company) {
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
pub(crate) async fn ensure_relation(
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
