//! Tags (API doc 1.9, semantics §3.6 and §10.8): the rep's tags under global
//! groups, the tag editor, and which of them a customer has.

use app::api::crm::{TagGroup, TagGroups, TagItem};
use app::domain::FieldErrors;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{changed, relation_id, Arg, Where};
use crate::db::{is_unique_violation, placeholders, Backend};
use crate::error::Error;
use crate::extract::{parse_id, Check, Fields, WHOLE_NUMBER};
use crate::AppState;

/// Name of the global group new rep tags hang under (semantics §10.8).
pub const CUSTOM_GROUP: &str = "自定义";
pub const MAX_TAG_NAME_CHARS: usize = 32;

/// `tag_list` as sent: an array (JSON body) or its JSON text (form).
#[derive(Deserialize)]
#[serde(untagged)]
enum TagListField {
    Ids(Vec<TagId>),
    Text(String),
    Other(IgnoredAny),
}

/// One element of `tag_list`: a number or a string of digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum TagId {
    Number(i64),
    Text(String),
    Other(IgnoredAny),
}

impl TagId {
    fn positive(&self) -> Option<i64> {
        match self {
            TagId::Number(n) => Some(*n),
            TagId::Text(s) => parse_id(s),
            TagId::Other(_) => None,
        }
        .filter(|i| *i > 0)
    }
}

/// `tag_list`: a JSON array of tag ids, as JSON text (form) or an array (JSON
/// body); duplicates are dropped.
pub fn parse_tag_list(f: &Fields) -> Result<Vec<i64>, Error> {
    let bad = || Error::field("tag_list", "标签列表必须是标签ID的JSON数组", "invalid");
    let missing = || Error::field("tag_list", "标签列表不能为空", "required");
    let field = f.value("tag_list").ok_or_else(missing)?;
    let list = match TagListField::deserialize(field).map_err(|_| bad())? {
        TagListField::Ids(ids) => ids,
        TagListField::Text(s) if s.trim().is_empty() => return Err(missing()),
        TagListField::Text(s) => serde_json::from_str::<Vec<TagId>>(&s).map_err(|_| bad())?,
        TagListField::Other(_) => return Err(bad()),
    };
    let mut ids = Vec::with_capacity(list.len());
    for t in &list {
        let id = t.positive().ok_or_else(bad)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > 1000 {
        return Err(bad());
    }
    Ok(ids)
}

/// Replaces the customer's set of *this rep's* tags by `tag_ids`; other reps'
/// tags on the customer stay. Every id must be one of the rep's tags, else
/// `301 用户标签不存在` and nothing changes.
pub async fn set_for_customer(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    tag_ids: &[i64],
) -> Result<(), Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let mut tx = st.db.begin_write().await?;
    // Concurrent replacements of one customer's set must not interleave their
    // delete and inserts (a duplicate link would fail): on PostgreSQL they
    // queue on the relation row, on SQLite on the writer lock. The tags are
    // share-locked so that a concurrent `delete` either goes first (the
    // id is then unknown, 301) or after this commit.
    let pg = st.db.backend == Backend::Postgres;
    if pg {
        sqlx::query("SELECT id FROM relation WHERE id = $1 FOR UPDATE")
            .bind(rel)
            .execute(&mut **tx)
            .await?;
    }
    if !tag_ids.is_empty() {
        let sql = format!(
            "SELECT id FROM tag WHERE user_id = $1 AND id IN ({}) ORDER BY id{}",
            placeholders(2, tag_ids.len()),
            if pg { " FOR SHARE" } else { "" }
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(user_id);
        for id in tag_ids {
            q = q.bind(*id);
        }
        if q.fetch_all(&mut **tx).await?.len() != tag_ids.len() {
            return Err(Error::NoSuchTag);
        }
    }
    sqlx::query("DELETE FROM tag_customer WHERE customer_id = $1 AND tag_id IN (SELECT id FROM tag WHERE user_id = $2)")
        .bind(customer_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for id in tag_ids {
        sqlx::query(
            "INSERT INTO tag_customer (tag_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(*id)
        .bind(customer_id)
        .execute(&mut **tx)
        .await?;
    }
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(())
}

/// `customer_id` (0 or absent: none) and `tag_type` of the tag editor's list.
pub fn parse_query(q: &Fields) -> Result<(Option<i64>, Option<i64>), Error> {
    let mut c = Check::new(q);
    let customer_id = c.opt_int("customer_id", WHOLE_NUMBER).filter(|id| *id != 0);
    let tag_type = c.opt_int("tag_type", WHOLE_NUMBER);
    c.finish()?;
    Ok((customer_id, tag_type))
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    name: String,
}

#[derive(sqlx::FromRow)]
struct TagRow {
    id: i64,
    name: String,
    tag_parent_id: Option<i64>,
}

/// The tag editor: the global groups with the rep's tags under them, each
/// marked `is_select` when linked to `customer_id`. Only the rep's own tags are
/// listed because only those can be set with `update_tag`.
pub async fn groups(
    st: &AppState,
    user_id: i64,
    customer_id: Option<i64>,
    tag_type: Option<i64>,
) -> Result<TagGroups, Error> {
    if let Some(cid) = customer_id {
        relation_id(st, user_id, cid, "customer_id").await?;
    }
    let groups: Vec<GroupRow> = sqlx::query_as(
        "SELECT id, name FROM tag WHERE user_id IS NULL AND tag_parent_id IS NULL ORDER BY id",
    )
    .fetch_all(&st.db.pool)
    .await?;
    let mut w = Where::new("user_id = $1", user_id);
    if let Some(t) = tag_type {
        w.and("(tag_type = {} OR tag_type IS NULL)", Arg::Int(t));
    }
    let sql = format!(
        "SELECT id, name, tag_parent_id FROM tag WHERE {} ORDER BY id",
        w.sql
    );
    let tags: Vec<TagRow> = w.query_as(&sql).fetch_all(&st.db.pool).await?;
    let selected: Vec<i64> = match customer_id {
        Some(cid) => {
            sqlx::query_scalar(
                "SELECT tc.tag_id FROM tag_customer tc JOIN tag t ON t.id = tc.tag_id
             WHERE tc.customer_id = $1 AND t.user_id = $2",
            )
            .bind(cid)
            .bind(user_id)
            .fetch_all(&st.db.pool)
            .await?
        }
        None => Vec::new(),
    };
    let mut out: Vec<TagGroup> = groups
        .into_iter()
        .map(|g| TagGroup {
            id: Some(g.id),
            name: g.name,
            tags: Vec::new(),
        })
        .collect();
    for t in tags {
        let item = TagItem {
            id: t.id,
            name: t.name,
            is_select: selected.contains(&t.id),
        };
        // A tag outside every group (e.g. created before the groups existed)
        // is shown under 自定义, where new tags go.
        let slot = out
            .iter()
            .position(|g| g.id.is_some() && g.id == t.tag_parent_id)
            .or_else(|| out.iter().position(|g| g.name == CUSTOM_GROUP));
        match slot {
            Some(i) => out[i].tags.push(item),
            None => out.push(TagGroup {
                id: None,
                name: CUSTOM_GROUP.into(),
                tags: vec![item],
            }),
        }
    }
    Ok(TagGroups {
        tag_count: out.len() as i64,
        ret_data: out,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTag {
    pub name: String,
    pub tag_type: i64,
}

const NAME_MISSING: &str = "标签不能为空";

/// The length rule of a tag name; false, with the error noted, when broken.
fn name_fits(errors: &mut FieldErrors, name: &str) -> bool {
    let fits = name.chars().count() <= MAX_TAG_NAME_CHARS;
    if !fits {
        errors.add(
            "name",
            &format!("标签名最多{MAX_TAG_NAME_CHARS}个字符"),
            "invalid",
        );
    }
    fits
}

/// `tag_type` is 1 (公众号) or 2 (小程序); false, with the error noted, otherwise.
fn type_known(errors: &mut FieldErrors, tag_type: i64) -> bool {
    let known = matches!(tag_type, 1 | 2);
    if !known {
        errors.add("tag_type", "标签类型只能是1或2", "invalid");
    }
    known
}

impl NewTag {
    /// `name` (required) and `tag_type` (1 公众号 or 2 小程序, default 1).
    pub fn parse(f: &Fields) -> Result<NewTag, Error> {
        let mut c = Check::new(f);
        let name = c.req_str("name", NAME_MISSING);
        let name = name.filter(|n| name_fits(&mut c.errors, n));
        // A non-number is reported by `opt_int`; the default is then moot.
        let tag_type = c.opt_int("tag_type", WHOLE_NUMBER).unwrap_or(1);
        let known = type_known(&mut c.errors, tag_type);
        c.finish()?;
        match name {
            Some(name) if known => Ok(NewTag { name, tag_type }),
            _ => Err(Error::bad_request()),
        }
    }

    /// The same rules for a tag given on the command line.
    pub fn new(name: &str, tag_type: i64) -> Result<NewTag, Error> {
        let mut errors = FieldErrors::new();
        let name = name.trim();
        if name.is_empty() {
            errors.add("name", NAME_MISSING, "required");
        } else {
            name_fits(&mut errors, name);
        }
        type_known(&mut errors, tag_type);
        if errors.is_empty() {
            Ok(NewTag {
                name: name.to_owned(),
                tag_type,
            })
        } else {
            Err(Error::Fields(errors))
        }
    }
}

/// Creates one of the rep's tags under the global 自定义 group (created on
/// demand), linked to `customer_id` when given. A name the rep already uses →
/// a `name` field error `标签名已存在`.
pub async fn add(
    st: &AppState,
    user_id: i64,
    customer_id: Option<i64>,
    tag: &NewTag,
) -> Result<i64, Error> {
    if let Some(cid) = customer_id {
        relation_id(st, user_id, cid, "customer_id").await?;
    }
    let duplicate = || Error::field("name", "标签名已存在", "");
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM tag WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(&tag.name)
            .fetch_optional(&mut **tx)
            .await?;
    if taken.is_some() {
        return Err(duplicate());
    }
    sqlx::query(
        "INSERT INTO tag (user_id, name, tag_parent_id, tag_type, create_date) VALUES (NULL, $1, NULL, NULL, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(CUSTOM_GROUP)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let group: i64 = sqlx::query_scalar(
        "SELECT id FROM tag WHERE user_id IS NULL AND tag_parent_id IS NULL AND name = $1 ORDER BY id LIMIT 1",
    )
    .bind(CUSTOM_GROUP)
    .fetch_one(&mut **tx)
    .await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO tag (user_id, name, tag_parent_id, tag_type, create_date) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(&tag.name)
    .bind(group)
    .bind(tag.tag_type)
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // A concurrent add of the same name won the unique index.
        Err(e) if is_unique_violation(&e) => return Err(duplicate()),
        Err(e) => return Err(e.into()),
    };
    if let Some(cid) = customer_id {
        sqlx::query("INSERT INTO tag_customer (tag_id, customer_id) VALUES ($1, $2)")
            .bind(id)
            .bind(cid)
            .execute(&mut **tx)
            .await?;
    }
    tx.commit().await?;
    if let Some(cid) = customer_id {
        changed(st, user_id, cid);
    }
    Ok(id)
}

/// `radar admin tag create`: a tag of an existing rep, linked to nobody.
pub async fn create(st: &AppState, user_id: i64, name: &str, tag_type: i64) -> Result<i64, Error> {
    if !crate::service::admin::exists(st, "sales_user", user_id).await? {
        return Err(Error::field("user_id", "用户不存在", ""));
    }
    let tag = NewTag::new(name, tag_type)?;
    add(st, user_id, None, &tag).await
}

/// Deletes one of the rep's tags with its customer links. Someone else's tag
/// is left alone; the answer is the same (the original's `删除成功`).
pub async fn delete(st: &AppState, user_id: i64, tag_id: i64) -> Result<bool, Error> {
    let mut tx = st.db.begin_write().await?;
    // The tag row is locked before its links (see `set_for_customer`), so the
    // two always take their locks in the same order.
    let lock = if st.db.backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let owned: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM tag WHERE id = $1 AND user_id = $2{lock}"
    ))
    .bind(tag_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    if owned.is_none() {
        return Ok(false);
    }
    let customers: Vec<i64> =
        sqlx::query_scalar("SELECT customer_id FROM tag_customer WHERE tag_id = $1")
            .bind(tag_id)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query("DELETE FROM tag_customer WHERE tag_id = $1")
        .bind(tag_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE tag SET tag_parent_id = NULL WHERE tag_parent_id = $1")
        .bind(tag_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM tag WHERE id = $1")
        .bind(tag_id)
        .execute(&mut **tx)
        .await?;
    tx.commit().await?;
    for cid in customers {
        changed(st, user_id, cid);
    }
    Ok(true)
}

#[cfg(test)]
#[path = "../tests/crm/tags.rs"]
mod tests;
