//! Sales CRM (issue 3): contacts, the customer profile, deal fields, tags,
//! follow-up notes and the access log, one module each. Every rule and
//! statement of these endpoints lives here; the REST handlers only parse, call
//! and render.
//!
//! Authorisation: a rep only ever reads or changes customers it has a relation
//! with (`Error::NoRelation` → 307); an unknown customer is a field error of the
//! endpoint's style, so a client can tell a typo from a forbidden customer.

pub mod access_log;
pub mod contacts;
pub mod deal;
pub mod notes;
pub mod profile;
pub mod tags;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::Any;

use crate::bus::Event;
use crate::error::Error;
use crate::AppState;

// ---------------------------------------------------------------------------
// Dynamic SQL: filters add conditions with numbered placeholders.

#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause under construction; `$1` is always the calling rep.
struct Where {
    sql: String,
    args: Vec<Arg>,
}

/// Binds `args` in order to any kind of query.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }};
}

impl Where {
    fn new(first: &str, user_id: i64) -> Where {
        Where {
            sql: first.to_owned(),
            args: vec![Arg::Int(user_id)],
        }
    }
    /// Appends ` AND <cond>` where `{}` in `cond` is replaced by the next placeholder.
    fn and(&mut self, cond: &str, arg: Arg) {
        self.args.push(arg);
        let p = format!("${}", self.args.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("{}", &p));
    }
    /// Appends ` AND <cond>` with one placeholder per argument, `{0}`, `{1}`, ….
    fn and_all(&mut self, cond: &str, args: Vec<Arg>) {
        let mut cond = cond.to_owned();
        for (i, a) in args.into_iter().enumerate() {
            self.args.push(a);
            cond = cond.replace(&format!("{{{i}}}"), &format!("${}", self.args.len()));
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond);
    }
    fn next(&self) -> usize {
        self.args.len() + 1
    }
    /// Takes `arg` for a placeholder written elsewhere than the clause; returns it.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }
    fn query<'q>(&'q self, sql: &'q str) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
        bind_all!(sqlx::query(sql), &self.args)
    }
    fn query_as<'q, T>(&'q self, sql: &'q str) -> sqlx::query::QueryAs<'q, Any, T, AnyArguments<'q>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        bind_all!(sqlx::query_as(sql), &self.args)
    }
    fn query_scalar<'q, T>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::QueryScalar<'q, Any, T, AnyArguments<'q>>
    where
        (T,): for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        bind_all!(sqlx::query_scalar(sql), &self.args)
    }
}

// ---------------------------------------------------------------------------
// Relations.

/// The relation id of (rep, customer). An unknown customer is a field error on
/// `field`; an existing customer without relation is `NoRelation`.
pub async fn relation_id(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    field: &str,
) -> Result<i64, Error> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM relation WHERE user_id = $1 AND customer_id = $2")
            .bind(user_id)
            .bind(customer_id)
            .fetch_optional(&st.db.pool)
            .await?;
    match id {
        Some(id) => Ok(id),
        None if crate::service::admin::exists(st, "customer", customer_id).await? => {
            Err(Error::NoRelation)
        }
        None => Err(Error::field(field, "客户不存在", "")),
    }
}

/// Tells the rep's open contact lists that this customer's row changed.
fn changed(st: &AppState, user_id: i64, customer_id: i64) {
    st.bus.publish(Event::ContactChanged {
        user_id,
        customer_id,
    });
}
