//! A customer opens an article (a producer beyond the API doc), and the
//! anonymous head of a published article for link previews.

use app::api::article::ViewedArticle;
use app::api::webhook::{ArticleViewedData, WebhookData};
use app::api::{Action, ArticleHead};

use super::{check_rep, ensure_relation, no_article, visible_article, STATUS_PUBLISHED};
use crate::bus::Event;
use crate::error::Error;
use crate::service::crm::access_log;
use crate::service::display::{render_time, TimeStyle};
use crate::service::{signup, webhook};
use crate::AppState;

/// What the page shows of the article beyond its head row.
#[derive(sqlx::FromRow)]
struct ContentRow {
    summary: String,
    body: String,
    cover_picture: String,
    create_date: i64,
    plugin_report_id: Option<i64>,
}

/// The customer opened the article, shared by `uid` when given: `read_count + 1`,
/// and for the rep an access-log row (action 14). Returns the article as the
/// page shows it, with the new log id and read count.
pub async fn view(
    st: &AppState,
    customer_id: i64,
    article_id: i64,
    uid: Option<i64>,
) -> Result<ViewedArticle, Error> {
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
    let hooked = webhook::queue(
        &mut tx,
        a.company_id,
        WebhookData::ArticleViewed(ArticleViewedData {
            article_id: a.id,
            company_id: a.company_id,
            customer_id,
            user_id: uid,
            log_id,
            title: a.title.clone(),
            read_count: reads,
            created_at: webhook::rfc3339(now),
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    if hooked {
        st.webhooks.wake();
    }
    if let Some(u) = uid {
        st.bus.publish(Event::ContactChanged {
            user_id: u,
            customer_id,
        });
    }
    let c = sqlx::query_as::<_, ContentRow>(
        "SELECT summary, body, cover_picture, create_date, plugin_report_id FROM article WHERE id = $1",
    )
    .bind(a.id)
    .fetch_one(&st.db.pool)
    .await?;
    let activity_id = signup::activity_of_article(st, a.id, c.plugin_report_id).await?;
    Ok(ViewedArticle {
        log_id,
        read_count: reads,
        id: a.id,
        company_id: a.company_id,
        title: a.title,
        summary: c.summary,
        body: c.body,
        cover_picture: c.cover_picture,
        create_date: render_time(st, c.create_date, TimeStyle::Plain),
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
    Ok(sqlx::query_as::<_, HeadRow>(
        "SELECT title, summary, cover_picture FROM article WHERE id = $1 AND status = $2",
    )
    .bind(article_id)
    .bind(STATUS_PUBLISHED)
    .fetch_optional(&st.db.pool)
    .await?
    .map(|h| ArticleHead {
        title: h.title,
        summary: h.summary,
        cover_picture: h.cover_picture,
    }))
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    title: String,
    summary: String,
    cover_picture: String,
}
