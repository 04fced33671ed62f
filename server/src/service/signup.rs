//! Event sign-up (API doc 2.1): a customer signs up for the activity an article
//! carries (`plugin_report`, the `sign_up_activity` endpoint), and the operator
//! creates activities.

use app::api::webhook::{SignupCreatedData, WebhookData};
use app::api::Action;
use app::domain::MobilePhone;

use crate::bus::Event;
use crate::db::is_unique_violation;
use crate::error::Error;
use crate::service::admin;
use crate::service::article::{
    article_row, check_rep, customer_company, ensure_relation, title_ok, ArticleRow,
    STATUS_PUBLISHED,
};
use crate::service::crm::access_log;
use crate::service::webhook;
use crate::AppState;

pub const MAX_SIGNUP_NAME_CHARS: usize = 50;
pub const MAX_LEAVE_MESSAGE_CHARS: usize = 500;
pub const MAX_ADDRESS_CHARS: usize = 200;

/// A sign-up as the form gave it, validated.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub customer_name: String,
    pub phone: MobilePhone,
    pub leave_message: String,
    pub address: Option<String>,
    pub uid: Option<i64>,
}

/// The sign-up activity of an article: the one it embeds (`plugin_report_id`),
/// else the first activity that names the article.
pub(crate) async fn activity_of_article(
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

#[derive(sqlx::FromRow)]
struct ActivityRow {
    title: String,
    article_id: Option<i64>,
}

struct Activity {
    title: String,
    article: Option<ArticleRow>,
}

/// The activity and the article it belongs to: its own `article_id`, else the
/// first article embedding it (`plugin_report_id`).
async fn activity(st: &AppState, activity_id: i64) -> Result<Option<Activity>, Error> {
    let Some(r) = sqlx::query_as::<_, ActivityRow>(
        "SELECT title, article_id FROM plugin_report WHERE id = $1",
    )
    .bind(activity_id)
    .fetch_optional(&st.db.pool)
    .await?
    else {
        return Ok(None);
    };
    let article_id = match r.article_id {
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
    Ok(Some(Activity {
        title: r.title,
        article,
    }))
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
    let act = activity(st, activity_id).await?.ok_or_else(not_found)?;
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
    let hooked = webhook::queue(
        &mut tx,
        own_company,
        WebhookData::SignupCreated(SignupCreatedData {
            id,
            company_id: own_company,
            activity_id,
            article_id: act.article.as_ref().map(|a| a.id),
            customer_id,
            user_id: s.uid,
            customer_name: s.customer_name.clone(),
            phone: s.phone.as_str().to_owned(),
            leave_message: s.leave_message.clone(),
            address: s.address.clone().unwrap_or_default(),
            created_at: webhook::rfc3339(now),
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    if hooked {
        st.webhooks.wake();
    }
    if let Some(u) = s.uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
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
        if !admin::exists(st, "article", a).await? {
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
