//! The relation of a conversation, with what rendering its messages needs, and
//! its lookups.

use app::api::Side;

use crate::error::Error;
use crate::service::display::customer_name;
use crate::service::SAME_COMPANY;
use crate::AppState;

/// The relation of a conversation with what rendering its messages needs.
#[derive(Debug, Clone)]
pub struct Pair {
    pub relation_id: i64,
    pub user_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_headimgurl: String,
    pub user_avatar: String,
    /// The rep's company (the conversation's: a pair shares one).
    pub company_id: i64,
    pub customer_read_id: i64,
    pub user_read_id: i64,
}

impl Pair {
    /// `side`'s read watermark.
    pub fn read_id(&self, side: Side) -> i64 {
        match side {
            Side::Customer => self.customer_read_id,
            Side::Sales => self.user_read_id,
        }
    }
}

/// The columns [`PairRow`] reads, over `relation r`, `customer c`, `sales_user u`.
pub(super) const PAIR_COLS: &str = "r.id AS relation_id, r.customer_read_id, r.user_read_id,
    c.username AS c_username, c.headimgurl AS c_headimgurl, u.avatar AS u_avatar,
    u.company_id AS u_company_id";

/// The joins [`PAIR_COLS`] reads from, for a relation `r`.
pub(super) const PAIR_JOINS: &str =
    "JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id";

/// [`PAIR_COLS`]; every column may be NULL where the relation is left-joined.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PairRow {
    relation_id: Option<i64>,
    customer_read_id: Option<i64>,
    user_read_id: Option<i64>,
    c_username: Option<String>,
    c_headimgurl: Option<String>,
    u_avatar: Option<String>,
    u_company_id: Option<i64>,
}

impl PairRow {
    /// The pair; `None` when the (left-joined) relation is absent.
    pub(super) fn pair(self, user_id: i64, customer_id: i64) -> Option<Pair> {
        Some(Pair {
            relation_id: self.relation_id?,
            user_id,
            customer_id,
            customer_name: customer_name(customer_id, &self.c_username.unwrap_or_default()),
            customer_headimgurl: self.c_headimgurl.unwrap_or_default(),
            user_avatar: self.u_avatar.unwrap_or_default(),
            company_id: self.u_company_id.unwrap_or_default(),
            customer_read_id: self.customer_read_id.unwrap_or(0),
            user_read_id: self.user_read_id.unwrap_or(0),
        })
    }
}

/// The conversation of rep `user_id` and `customer_id`; 307 without a relation
/// (within one company).
pub async fn pair(st: &AppState, user_id: i64, customer_id: i64) -> Result<Pair, Error> {
    let sql = format!(
        "SELECT {PAIR_COLS} FROM relation r {PAIR_JOINS}
         WHERE r.user_id = $1 AND r.customer_id = $2 AND {SAME_COMPANY}"
    );
    sqlx::query_as::<_, PairRow>(&sql)
        .bind(user_id)
        .bind(customer_id)
        .fetch_optional(&st.db.pool)
        .await?
        .and_then(|r| r.pair(user_id, customer_id))
        .ok_or(Error::NoRelation)
}

/// A pair lookup anchored on the party a request names (the addressee of a
/// send, the other end of a history): that party's absence is a field error
/// (402), distinct from an existing party without relation (307).
#[derive(Debug, Clone, Copy)]
pub(super) struct Anchor(pub Side);

impl Anchor {
    /// `FROM` clause: the anchor row `a`, then the relation (only one within a
    /// company) and its two ends left-joined. Binds `$1` = user id, `$2` = customer id.
    pub(super) fn joins_sql(self) -> String {
        match self.0 {
            Side::Sales => format!(
                "FROM sales_user a LEFT JOIN relation r ON r.user_id = a.id AND r.customer_id = $2 AND {SAME_COMPANY}
                 LEFT JOIN customer c ON c.id = r.customer_id LEFT JOIN sales_user u ON u.id = r.user_id"
            ),
            Side::Customer => format!(
                "FROM customer a LEFT JOIN relation r ON r.customer_id = a.id AND r.user_id = $1 AND {SAME_COMPANY}
                 LEFT JOIN customer c ON c.id = r.customer_id LEFT JOIN sales_user u ON u.id = r.user_id"
            ),
        }
    }
    pub(super) fn where_sql(self) -> &'static str {
        match self.0 {
            Side::Sales => "WHERE a.id = $1",
            Side::Customer => "WHERE a.id = $2",
        }
    }
    pub(super) fn missing(self) -> Error {
        match self.0 {
            Side::Sales => Error::field("u_id", "用户名不存在", ""),
            Side::Customer => Error::field("customer_id", "客户不存在", ""),
        }
    }

    /// The anchor's existence and the pair in one statement.
    pub(super) async fn pair(
        self,
        st: &AppState,
        user_id: i64,
        customer_id: i64,
    ) -> Result<Option<Pair>, Error> {
        let sql = format!(
            "SELECT {PAIR_COLS} {} {}",
            self.joins_sql(),
            self.where_sql()
        );
        let row = sqlx::query_as::<_, PairRow>(&sql)
            .bind(user_id)
            .bind(customer_id)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(|| self.missing())?;
        Ok(row.pair(user_id, customer_id))
    }
}

pub async fn company_of_user(st: &AppState, user_id: i64) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await?,
    )
}
