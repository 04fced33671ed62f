//! The access log ("radar"): customers' actions toward a sales user (semantics
//! §3.7). Producers call `record` inside their own transaction, so the log row
//! and the change it reports commit together; they publish
//! `Event::ContactChanged` after commit. The rep reads it by time (`list`),
//! which marks what was read seen, and counts what is new (`new_count`).

use app::api::crm::{AccessLogItem, Page};
use app::api::{customer_source_text, Action};
use app::domain::Date;

use super::{changed, Arg, Where};
use crate::error::Error;
use crate::extract::{parse_int, Check, Fields, Paging, WHOLE_NUMBER};
use crate::service::display::customer_name;
use crate::timefmt;
use crate::AppState;

/// Inserts an access-log row and moves the relation's `last_activity_time`
/// (when the customer was last seen). Returns the new row's id.
pub async fn record(
    conn: &mut sqlx::AnyConnection,
    action: Action,
    user_id: i64,
    customer_id: i64,
    article_id: Option<i64>,
    remark: &str,
    now_ms: i64,
) -> Result<i64, Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_log (action, user_id, customer_id, article_id, remark, is_new_msg, create_date)
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(action.code())
    .bind(user_id)
    .bind(customer_id)
    .bind(article_id)
    .bind(remark)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE relation SET last_activity_time = $1 WHERE user_id = $2 AND customer_id = $3",
    )
    .bind(now_ms)
    .bind(user_id)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub customer_id: Option<i64>,
    pub action: Option<Action>,
    /// Inclusive lower bound, epoch ms (start of `create_date__gte` in the company zone).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound, epoch ms (end of the `create_date__lt` day: the end date is inclusive).
    pub before_ms: Option<i64>,
}

/// Filters and paging (length 10) of `action/time`; errors are 402 with the fields in `data`.
pub fn parse_query(st: &AppState, q: &Fields) -> Result<(LogFilter, Paging), Error> {
    let mut c = Check::new(q);
    let paging = Paging::parse(&mut c, 10);
    let customer_id = c.opt_int("customer_id", WHOLE_NUMBER);
    let action = match q.trimmed("action") {
        None => None,
        Some(s) => match parse_int(&s).and_then(Action::from_code) {
            Some(a) => Some(a),
            None => {
                c.error("action", "未知的行为类型", "invalid");
                None
            }
        },
    };
    let tz = st.config.tz;
    let mut day = |key: &str, next: bool| -> Option<i64> {
        let s = q.trimmed(key)?;
        let d = Date::parse(&s)
            .ok()
            .and_then(|d| chrono::NaiveDate::from_ymd_opt(d.year, d.month, d.day))
            .and_then(|d| if next { d.succ_opt() } else { Some(d) });
        match d {
            Some(d) => Some(timefmt::day_start_ms(tz, d)),
            None => {
                c.error(key, "Enter a valid date.", "invalid");
                None
            }
        }
    };
    let from_ms = day("create_date__gte", false);
    let before_ms = day("create_date__lt", true);
    c.finish()?;
    let paging = paging.ok_or_else(Error::bad_request)?;
    Ok((
        LogFilter {
            customer_id,
            action,
            from_ms,
            before_ms,
        },
        paging,
    ))
}

fn log_where(user_id: i64, f: &LogFilter) -> Where {
    let mut w = Where::new("a.user_id = $1", user_id);
    if let Some(c) = f.customer_id {
        w.and("a.customer_id = {}", Arg::Int(c));
    }
    if let Some(a) = f.action {
        w.and("a.action = {}", Arg::Int(a.code()));
    }
    if let Some(t) = f.from_ms {
        w.and("a.create_date >= {}", Arg::Int(t));
    }
    if let Some(t) = f.before_ms {
        w.and("a.create_date < {}", Arg::Int(t));
    }
    w
}

/// How many entries match, and the newest of them.
#[derive(sqlx::FromRow)]
struct HeadRow {
    n: i64,
    max_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    action: i64,
    user_id: i64,
    customer_id: i64,
    article_id: Option<i64>,
    remark: String,
    stay_seconds: i64,
    create_date: i64,
    username: String,
    headimgurl: String,
    user_type: i64,
}

/// Customers' actions toward the rep, newest first. Reading marks every
/// matching row seen (as the original did), so the rep's badge of new entries
/// drops; rows logged after the read are not touched.
pub async fn list(
    st: &AppState,
    user_id: i64,
    f: &LogFilter,
    paging: Paging,
) -> Result<Page<AccessLogItem>, Error> {
    let w = log_where(user_id, f);
    let count_sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(a.id) AS max_id FROM access_log a WHERE {}",
        w.sql
    );
    let head: HeadRow = w.query_as(&count_sql).fetch_one(&st.db.pool).await?;
    let n = w.next();
    let sql = format!(
        "SELECT a.id, a.action, a.user_id, a.customer_id, a.article_id, a.remark, a.stay_seconds, a.create_date,
                c.username, c.headimgurl, c.user_type
         FROM access_log a JOIN customer c ON c.id = a.customer_id
         WHERE {} ORDER BY a.create_date DESC, a.id DESC LIMIT ${n} OFFSET ${}",
        w.sql,
        n + 1
    );
    let rows: Vec<LogRow> = w
        .query_as(&sql)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    let tz = st.config.tz;
    let ret_data = rows
        .into_iter()
        .map(|r| {
            let name = customer_name(r.customer_id, &r.username);
            let action = Action::from_code(r.action);
            AccessLogItem {
                id: r.id,
                user_id: r.user_id,
                customer_id: r.customer_id,
                log: format!("{name}{}", r.remark),
                customer_username: name,
                headimgurl: r.headimgurl,
                customer_source: r.user_type,
                customer_source_text: customer_source_text(r.user_type).to_owned(),
                log_type: action.map(Action::log_type).unwrap_or(1),
                action: r.action,
                action_text: action.map(Action::label).unwrap_or("").to_owned(),
                article_id: r.article_id,
                stay_seconds: r.stay_seconds,
                create_date: timefmt::iso(tz, r.create_date),
            }
        })
        .collect();
    if let Some(max_id) = head.max_id {
        mark_seen(st, user_id, &w, max_id).await?;
    }
    Ok(Page {
        ret_data,
        data_count: head.n,
    })
}

async fn mark_seen(st: &AppState, user_id: i64, w: &Where, max_id: i64) -> Result<(), Error> {
    let n = w.next();
    let cond = format!("{} AND a.is_new_msg = 1 AND a.id <= ${n}", w.sql);
    let mut tx = st.db.begin_write().await?;
    let customers_sql = format!("SELECT DISTINCT a.customer_id FROM access_log a WHERE {cond}");
    let customers: Vec<i64> = w
        .query_scalar(&customers_sql)
        .bind(max_id)
        .fetch_all(&mut **tx)
        .await?;
    if customers.is_empty() {
        return Ok(());
    }
    // The alias keeps the shared WHERE clause valid in the UPDATE.
    let update_sql = format!("UPDATE access_log SET is_new_msg = 0 WHERE id IN (SELECT a.id FROM access_log a WHERE {cond})");
    w.query(&update_sql).bind(max_id).execute(&mut **tx).await?;
    tx.commit().await?;
    for cid in customers {
        changed(st, user_id, cid);
    }
    Ok(())
}

/// The rep's badge: access-log entries not yet seen.
pub async fn new_count(st: &AppState, user_id: i64) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM access_log WHERE user_id = $1 AND is_new_msg = 1",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?)
}
