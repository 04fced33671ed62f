//! Sales CRM (issue 3): contact list, customer profile, deal fields, tags,
//! follow-up notes and the access log. Every rule and statement of these
//! endpoints lives here; the REST handlers only parse, call and render.
//!
//! Authorisation: a rep only ever reads or changes customers it has a relation
//! with (`Error::NoRelation` → 307); an unknown customer is a field error of the
//! endpoint's style, so a client can tell a typo from a forbidden customer.

pub mod access_log;

use app::api::{customer_source_text, source_text, Action};
use app::domain::{Date, Email, MobilePhone, Probability};
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;

use crate::bus::Event;
use crate::db::{
    get_i64, get_opt_i64, get_opt_str, get_str, is_unique_violation, placeholders, Backend,
};
use crate::error::Error;
use crate::extract::{parse_id, parse_int, Check, Fields, Paging, WHOLE_NUMBER};
use crate::service::display::{activity_text, customer_name, follow_texts, subscribe_text};
use crate::timefmt;
use crate::AppState;

/// Name of the global group new rep tags hang under (semantics §10.8).
pub const CUSTOM_GROUP: &str = "自定义";
pub const MAX_TAG_NAME_CHARS: usize = 32;
pub const MAX_FOLLOW_INFO_CHARS: usize = 256;

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
    fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for a in &self.args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

/// `%s%` for LIKE with `\` as the escape character.
fn like_contains(s: &str) -> String {
    let mut out = String::from("%");
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
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

fn changed(st: &AppState, user_id: i64, customer_id: i64) {
    st.bus.publish(Event::ContactChanged {
        user_id,
        customer_id,
    });
}

// ---------------------------------------------------------------------------
// Contact list (API doc 1.5, semantics §3.1).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactOrder {
    column: &'static str,
    desc: bool,
}

impl Default for ContactOrder {
    fn default() -> Self {
        ContactOrder {
            column: "r.expedted_pr",
            desc: true,
        }
    }
}

impl ContactOrder {
    /// Whitelisted `order`; anything else falls back to `-expedted_pr`.
    pub fn parse(s: Option<&str>) -> ContactOrder {
        let Some(s) = s.map(str::trim) else {
            return ContactOrder::default();
        };
        let (desc, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let column = match name {
            "expedted_pr" | "customer__expedted_pr" => "r.expedted_pr",
            "last_follow_time" => "r.last_follow_time",
            "last_activity_time" => "r.last_activity_time",
            "create_date" => "r.create_date",
            _ => return ContactOrder::default(),
        };
        ContactOrder { column, desc }
    }

    /// NULLs last when descending and first when ascending (MySQL's placement),
    /// then the newest relation first so pages never overlap.
    fn sql(self) -> String {
        let c = self.column;
        if self.desc {
            format!("CASE WHEN {c} IS NULL THEN 1 ELSE 0 END, {c} DESC, r.id DESC")
        } else {
            format!("CASE WHEN {c} IS NULL THEN 0 ELSE 1 END, {c} ASC, r.id DESC")
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    pub customer_id: Option<i64>,
    /// Relation sources allowed by `customer_type` (1 → article customers, 2 → the others).
    pub sources: Option<Vec<i64>>,
    pub source: Option<i64>,
    pub username: Option<String>,
}

/// The contact list's query parameters. Paging errors are 402 with the fields in `data`.
pub fn parse_contact_query(q: &Fields) -> Result<(ContactFilter, ContactOrder, Paging), Error> {
    let mut c = Check::new(q);
    let paging = Paging::parse(&mut c, 10);
    let customer_id = c.opt_int("customer_id", WHOLE_NUMBER);
    let sources = match c.opt_int("customer_type", WHOLE_NUMBER) {
        None => None,
        Some(1) => Some(vec![4]),
        Some(2) => Some(vec![1, 2, 3]),
        Some(_) => {
            c.error("customer_type", "客户类型只能是1或2", "invalid");
            None
        }
    };
    let source = c.opt_int("customer__source", WHOLE_NUMBER);
    let username = c.opt_str("username", 100);
    let order = ContactOrder::parse(q.text("order").as_deref());
    c.finish()?;
    let paging = paging.ok_or_else(Error::bad_request)?;
    Ok((
        ContactFilter {
            customer_id,
            sources,
            source,
            username,
        },
        order,
        paging,
    ))
}

pub struct Page {
    pub items: Vec<Value>,
    pub data_count: i64,
}

const CONTACT_FROM: &str = "FROM relation r JOIN customer c ON c.id = r.customer_id
     LEFT JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id";

/// The rep's customers; `NoData` (302) when none match.
pub async fn contacts(
    st: &AppState,
    user_id: i64,
    f: &ContactFilter,
    order: ContactOrder,
    paging: Paging,
) -> Result<Page, Error> {
    let mut w = Where::new("r.user_id = $1", user_id);
    if let Some(id) = f.customer_id {
        w.and("r.customer_id = {}", Arg::Int(id));
    }
    if let Some(s) = f.source {
        w.and("r.source = {}", Arg::Int(s));
    }
    if let Some(list) = &f.sources {
        let marks: Vec<String> = (0..list.len()).map(|i| format!("{{{i}}}")).collect();
        w.and_all(
            &format!("r.source IN ({})", marks.join(",")),
            list.iter().map(|s| Arg::Int(*s)).collect(),
        );
    }
    if let Some(name) = &f.username {
        // The rep finds a customer by WeChat name or by the memo name it gave them.
        let pattern = like_contains(name);
        w.and_all(
            "(LOWER(c.username) LIKE {0} ESCAPE '\\' OR LOWER(COALESCE(i.note_name, '')) LIKE {1} ESCAPE '\\')",
            vec![Arg::Text(pattern.clone()), Arg::Text(pattern)],
        );
    }
    let n = w.next();
    let sql = format!(
        "SELECT r.customer_id, r.source, r.expected_time, r.expedted_pr, r.last_follow_time, r.last_activity_time,
                r.last_msg_id, c.username, c.headimgurl, c.user_type, c.is_subscribe, i.note_name,
                (SELECT a.article_id FROM access_log a WHERE a.user_id = r.user_id AND a.customer_id = r.customer_id
                   AND a.action = {view} AND a.article_id IS NOT NULL ORDER BY a.id DESC LIMIT 1) AS article_id,
                (SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m WHERE m.user_id = r.user_id
                   AND m.customer_id = r.customer_id AND m.send_type = 2 AND m.id > r.user_read_id) AS unread,
                lm.content AS last_content, CAST(COUNT(*) OVER () AS BIGINT) AS data_count
         {CONTACT_FROM} LEFT JOIN chat_message lm ON lm.id = r.last_msg_id
         WHERE {} ORDER BY {} LIMIT ${n} OFFSET ${}",
        w.sql,
        order.sql(),
        n + 1,
        view = Action::ViewArticle.code(),
    );
    let rows = w
        .query(&sql)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    // The window count comes with the page; only an empty page (no match at
    // all, or a page past the end) needs its own count.
    let data_count = match rows.first() {
        Some(r) => get_i64(r, "data_count")?,
        None => {
            let count_sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n {CONTACT_FROM} WHERE {}",
                w.sql
            );
            get_i64(&w.query(&count_sql).fetch_one(&st.db.pool).await?, "n")?
        }
    };
    if data_count == 0 {
        return Err(Error::NoData);
    }
    let article_ids: Vec<i64> = rows
        .iter()
        .map(|r| get_opt_i64(r, "article_id"))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let titles = article_titles(st, &article_ids).await?;
    let now = st.clock.now_ms();
    let items = rows
        .iter()
        .map(|r| contact_item(st, r, &titles, now))
        .collect::<Result<_, _>>()?;
    Ok(Page { items, data_count })
}

async fn article_titles(st: &AppState, ids: &[i64]) -> Result<Vec<(i64, String)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, title FROM article WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&st.db.pool).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((get_i64(r, "id")?, get_str(r, "title")?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

fn contact_item(
    st: &AppState,
    r: &AnyRow,
    titles: &[(i64, String)],
    now: i64,
) -> Result<Value, sqlx::Error> {
    let cid = get_i64(r, "customer_id")?;
    let user_type = get_i64(r, "user_type")?;
    let source = get_i64(r, "source")?;
    let is_subscribe = get_opt_i64(r, "is_subscribe")?;
    let (last_follow_time, follow_status) =
        follow_texts(st, get_opt_i64(r, "last_follow_time")?, now);
    let article_id = get_opt_i64(r, "article_id")?;
    let title = article_id
        .and_then(|a| titles.iter().find(|(id, _)| *id == a))
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let last_msg = match get_opt_str(r, "last_content")?.map(|s| serde_json::from_str::<Value>(&s))
    {
        Some(Ok(Value::Object(m))) => app::domain::MessageContent::list_preview(&m),
        _ => String::new(),
    };
    Ok(json!({
        "customer_id": cid,
        "customer_username": customer_name(cid, &get_str(r, "username")?),
        "memo_name": get_str(r, "note_name")?,
        "headimgurl": get_str(r, "headimgurl")?,
        "expected_time": get_opt_str(r, "expected_time")?,
        "expedted_pr": get_opt_i64(r, "expedted_pr")?,
        "customer_source": user_type,
        "customer_source_text": customer_source_text(user_type),
        "is_subscribe": is_subscribe,
        "is_subscribe_text": subscribe_text(is_subscribe),
        "source": source,
        "source_text": source_text(source),
        "last_follow_time": last_follow_time,
        "last_activity_time": activity_text(st, get_opt_i64(r, "last_activity_time")?, now),
        "follow_status": follow_status,
        "article_id": article_id,
        "title": title,
        "unread_msg_num": get_i64(r, "unread")?,
        "last_msg": last_msg,
        "last_msg_id": get_opt_i64(r, "last_msg_id")?,
    }))
}

// ---------------------------------------------------------------------------
// Customer profile (API doc 1.6, semantics §3.2).

/// `customer_id` of the detail query (402 with the fields in `data`).
pub fn parse_customer_query(q: &Fields) -> Result<i64, Error> {
    let mut c = Check::new(q);
    let id = c.req_int("customer_id", "客户ID不能为空", WHOLE_NUMBER);
    Paging::parse(&mut c, 10);
    c.finish()?;
    id.ok_or_else(Error::bad_request)
}

/// One customer as this rep knows it: the rep's private notes over the
/// customer's own data, the rep's tags and the deal fields of the relation.
pub async fn customer_detail(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
) -> Result<Value, Error> {
    relation_id(st, user_id, customer_id, "customer_id").await?;
    let r = sqlx::query(
        "SELECT c.id, c.username, c.headimgurl, c.phone AS customer_phone, c.sex AS customer_sex, c.user_type,
                c.create_date, r.expected_time, r.expedted_pr, r.source, r.customer_parent_id,
                p.username AS parent_name, i.id AS info_id, i.note_name, i.sex, i.phone, i.email, i.company,
                i.position, i.address, i.birthday, i.mem
         FROM relation r JOIN customer c ON c.id = r.customer_id
         LEFT JOIN customer p ON p.id = r.customer_parent_id
         LEFT JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id
         WHERE r.user_id = $1 AND r.customer_id = $2",
    )
    .bind(user_id)
    .bind(customer_id)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or(Error::NoRelation)?;
    let tags: Vec<String> = crate::service::chat::tags_of(st, user_id, &[customer_id])
        .await?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let superior = match get_opt_i64(&r, "customer_parent_id")? {
        Some(pid) => customer_name(pid, &get_str(&r, "parent_name")?),
        None => String::new(),
    };
    // The phone the rep saved in the notes is the one the rep sees (the
    // original showed the customer's own phone and lost the saved one).
    let phone = get_str(&r, "phone")?;
    let phone = if phone.is_empty() {
        get_str(&r, "customer_phone")?
    } else {
        phone
    };
    let sex = match get_opt_i64(&r, "sex")?.or(get_opt_i64(&r, "customer_sex")?) {
        Some(s) => json!(s),
        None => json!(""),
    };
    let expedted_pr = get_opt_i64(&r, "expedted_pr")?;
    let source = get_i64(&r, "source")?;
    let now = st.clock.now_ms();
    Ok(json!({
        "id": customer_id,
        "username": customer_name(customer_id, &get_str(&r, "username")?),
        "headimgurl": get_str(&r, "headimgurl")?,
        "expected_time": get_opt_str(&r, "expected_time")?,
        "expedted_pr": expedted_pr,
        "ai_pr": expedted_pr,
        "superior": superior,
        "source": source_text(source),
        "source_id": source,
        "memo_name": get_str(&r, "note_name")?,
        "phone": phone,
        "email": get_str(&r, "email")?,
        "company": get_str(&r, "company")?,
        "position": get_str(&r, "position")?,
        "address": get_str(&r, "address")?,
        "birthday": get_str(&r, "birthday")?,
        "mem": get_str(&r, "mem")?,
        "sex": sex,
        "tag": tags,
        "user_type": get_i64(&r, "user_type")?,
        "day_interval": timefmt::calendar_days(st.config.tz, get_i64(&r, "create_date")?, now),
    }))
}

// ---------------------------------------------------------------------------
// The rep's private notes (API doc 1.7, semantics §3.5).

#[derive(Debug, Clone, PartialEq)]
pub struct Information {
    pub note_name: String,
    pub sex: i64,
    pub phone: Option<MobilePhone>,
    pub email: Option<Email>,
    pub company: String,
    pub position: String,
    pub address: String,
    pub birthday: Option<Date>,
    pub mem: String,
}

impl Information {
    pub fn parse(f: &Fields) -> Result<Information, Error> {
        let mut c = Check::new(f);
        let note_name = c.req_str("username", "备注名不能为空");
        if note_name.as_ref().is_some_and(|n| n.chars().count() > 64) {
            c.error("username", "备注名最多64个字符", "invalid");
        }
        let sex = match c.req_int("sex", "性别不能为空", WHOLE_NUMBER) {
            Some(s @ (1 | 2)) => Some(s),
            Some(_) => {
                c.error("sex", "性别只能是1(男)或2(女)", "invalid");
                None
            }
            None => None,
        };
        let phone = f
            .trimmed("phone")
            .and_then(|p| match MobilePhone::parse(&p) {
                Ok(p) => Some(p),
                Err(m) => {
                    c.error("phone", m, "");
                    None
                }
            });
        let email = f.trimmed("email").and_then(|e| match Email::parse(&e) {
            Ok(e) => Some(e),
            Err(m) => {
                c.error("email", m, "invalid");
                None
            }
        });
        let company = c.opt_str("company", 128).unwrap_or_default();
        let position = c.opt_str("position", 128).unwrap_or_default();
        let address = c.opt_str("address", 256).unwrap_or_default();
        let birthday = f.trimmed("birthday").and_then(|d| match Date::parse(&d) {
            Ok(d) => Some(d),
            Err(m) => {
                c.error("birthday", m, "invalid");
                None
            }
        });
        let mem = c.opt_str("mem", 1000).unwrap_or_default();
        c.finish()?;
        match (note_name, sex) {
            (Some(note_name), Some(sex)) => Ok(Information {
                note_name,
                sex,
                phone,
                email,
                company,
                position,
                address,
                birthday,
                mem,
            }),
            _ => Err(Error::bad_request()),
        }
    }
}

/// Saves the rep's notes on the customer; every field is overwritten. Returns
/// true when the notes were created (`添加成功`), false when changed (`修改成功`).
pub async fn update_information(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    info: &Information,
) -> Result<bool, Error> {
    relation_id(st, user_id, customer_id, "id").await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let existed: Option<i64> =
        sqlx::query_scalar("SELECT id FROM information WHERE customer_id = $1 AND user_id = $2")
            .bind(customer_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    sqlx::query(
        "INSERT INTO information (customer_id, user_id, note_name, sex, phone, email, company, position, address,
                                  birthday, mem, create_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (customer_id, user_id) DO UPDATE SET note_name = excluded.note_name, sex = excluded.sex,
           phone = excluded.phone, email = excluded.email, company = excluded.company,
           position = excluded.position, address = excluded.address, birthday = excluded.birthday,
           mem = excluded.mem",
    )
    .bind(customer_id)
    .bind(user_id)
    .bind(&info.note_name)
    .bind(info.sex)
    .bind(info.phone.as_ref().map(|p| p.as_str()).unwrap_or(""))
    .bind(info.email.as_ref().map(|e| e.as_str()).unwrap_or(""))
    .bind(&info.company)
    .bind(&info.position)
    .bind(&info.address)
    .bind(info.birthday.map(|d| d.to_string()))
    .bind(&info.mem)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(existed.is_none())
}

// ---------------------------------------------------------------------------
// Deal fields (API doc 1.7/1.8, semantics §3.3/§3.4).

pub fn parse_expected_time(f: &Fields) -> Result<Date, Error> {
    match f.trimmed("expected_time") {
        None => Err(Error::field(
            "expected_time",
            "预计成交日期不能为空",
            "required",
        )),
        Some(s) => Date::parse(&s).map_err(|m| Error::field("expected_time", m, "invalid")),
    }
}

pub fn parse_expected_pr(f: &Fields) -> Result<Probability, Error> {
    match f.trimmed("expedted_pr") {
        None => Err(Error::field(
            "expedted_pr",
            "预计成交概率不能为空",
            "required",
        )),
        Some(s) => Probability::parse(&s).map_err(|m| Error::field("expedted_pr", m, "invalid")),
    }
}

/// Sets one deal field, `last_follow_time` and appends the follow-up record, in
/// one transaction.
async fn update_deal(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    set: &str,
    value: Arg,
    note: String,
) -> Result<(), Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    let sql = format!("UPDATE relation SET {set} = $1, last_follow_time = $2 WHERE id = $3");
    let q = sqlx::query(&sql);
    let q = match value {
        Arg::Int(i) => q.bind(i),
        Arg::Text(s) => q.bind(s),
    };
    q.bind(now).bind(rel).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO follow_info (relation_id, follow_info, create_date) VALUES ($1, $2, $3)",
    )
    .bind(rel)
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(())
}

pub async fn update_expected_time(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    date: Date,
) -> Result<(), Error> {
    let d = date.to_string();
    update_deal(
        st,
        user_id,
        customer_id,
        "expected_time",
        Arg::Text(d.clone()),
        format!("更新预计成交日期: {d}"),
    )
    .await
}

pub async fn update_expected_pr(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    pr: Probability,
) -> Result<(), Error> {
    let n = pr.get();
    update_deal(
        st,
        user_id,
        customer_id,
        "expedted_pr",
        Arg::Int(n),
        format!("更新预计成交率为: {n}"),
    )
    .await
}

// ---------------------------------------------------------------------------
// Tags (API doc 1.9, semantics §3.6 and §10.8).

/// `tag_list`: a JSON array of tag ids, as JSON text (form) or an array (JSON body).
pub fn parse_tag_list(f: &Fields) -> Result<Vec<i64>, Error> {
    let bad = || Error::field("tag_list", "标签列表必须是标签ID的JSON数组", "invalid");
    let parsed;
    let list = match f.value("tag_list") {
        None => return Err(Error::field("tag_list", "标签列表不能为空", "required")),
        Some(Value::Array(a)) => a,
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(Error::field("tag_list", "标签列表不能为空", "required"))
        }
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => {
                parsed = a;
                &parsed
            }
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    let mut ids = Vec::with_capacity(list.len());
    for v in list {
        let id = match v {
            Value::Number(n) => n.as_i64().filter(|i| *i > 0),
            Value::String(s) => parse_id(s).filter(|i| *i > 0),
            _ => None,
        }
        .ok_or_else(bad)?;
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
pub async fn update_tags(
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
    // share-locked so that a concurrent `delete_tag` either goes first (the
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
pub fn parse_tag_query(q: &Fields) -> Result<(Option<i64>, Option<i64>), Error> {
    let mut c = Check::new(q);
    let customer_id = c.opt_int("customer_id", WHOLE_NUMBER).filter(|id| *id != 0);
    let tag_type = c.opt_int("tag_type", WHOLE_NUMBER);
    c.finish()?;
    Ok((customer_id, tag_type))
}

/// The tag editor: the global groups with the rep's tags under them, each
/// marked `is_select` when linked to `customer_id`. Only the rep's own tags are
/// listed because only those can be set with `update_tag`.
pub async fn tag_groups(
    st: &AppState,
    user_id: i64,
    customer_id: Option<i64>,
    tag_type: Option<i64>,
) -> Result<Value, Error> {
    if let Some(cid) = customer_id {
        relation_id(st, user_id, cid, "customer_id").await?;
    }
    let groups = sqlx::query(
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
    let tags = w.query(&sql).fetch_all(&st.db.pool).await?;
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
    let mut out: Vec<(Option<i64>, String, Vec<Value>)> = Vec::with_capacity(groups.len() + 1);
    for g in &groups {
        out.push((Some(get_i64(g, "id")?), get_str(g, "name")?, Vec::new()));
    }
    for t in &tags {
        let id = get_i64(t, "id")?;
        let item =
            json!({"id": id, "name": get_str(t, "name")?, "is_select": selected.contains(&id)});
        let parent = get_opt_i64(t, "tag_parent_id")?;
        // A tag outside every group (e.g. created before the groups existed)
        // is shown under 自定义, where new tags go.
        let slot = out
            .iter()
            .position(|(gid, _, _)| gid.is_some() && *gid == parent)
            .or_else(|| out.iter().position(|(_, name, _)| name == CUSTOM_GROUP));
        match slot {
            Some(i) => out[i].2.push(item),
            None => out.push((None, CUSTOM_GROUP.into(), vec![item])),
        }
    }
    let ret: Vec<Value> = out
        .into_iter()
        .map(|(id, name, tags)| json!({"id": id, "name": name, "tags": tags}))
        .collect();
    Ok(json!({"tag_count": ret.len(), "ret_data": ret}))
}

pub struct NewTag {
    pub name: String,
    pub tag_type: i64,
}

impl NewTag {
    /// `name` (required) and `tag_type` (1 公众号 or 2 小程序, default 1).
    pub fn parse(f: &Fields) -> Result<NewTag, Error> {
        let mut c = Check::new(f);
        let name = c.req_str("name", "标签不能为空");
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_TAG_NAME_CHARS)
        {
            c.error(
                "name",
                &format!("标签名最多{MAX_TAG_NAME_CHARS}个字符"),
                "invalid",
            );
        }
        let tag_type = match c.opt_int("tag_type", WHOLE_NUMBER) {
            None => Some(1),
            Some(t @ (1 | 2)) => Some(t),
            Some(_) => {
                c.error("tag_type", "标签类型只能是1或2", "invalid");
                None
            }
        };
        c.finish()?;
        match (name, tag_type) {
            (Some(name), Some(tag_type)) => Ok(NewTag { name, tag_type }),
            _ => Err(Error::bad_request()),
        }
    }
}

/// Creates one of the rep's tags under the global 自定义 group (created on
/// demand), linked to `customer_id` when given. A name the rep already uses →
/// a `name` field error `标签名已存在`.
pub async fn add_tag(
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
pub async fn create_tag(
    st: &AppState,
    user_id: i64,
    name: &str,
    tag_type: i64,
) -> Result<i64, Error> {
    if !crate::service::admin::exists(st, "sales_user", user_id).await? {
        return Err(Error::field("user_id", "用户不存在", ""));
    }
    let mut f = Map::new();
    f.insert("name".into(), json!(name));
    f.insert("tag_type".into(), json!(tag_type));
    let tag = NewTag::parse(&Fields(f))?;
    add_tag(st, user_id, None, &tag).await
}

/// Deletes one of the rep's tags with its customer links. Someone else's tag
/// is left alone; the answer is the same (the original's `删除成功`).
pub async fn delete_tag(st: &AppState, user_id: i64, tag_id: i64) -> Result<bool, Error> {
    let mut tx = st.db.begin_write().await?;
    // The tag row is locked before its links (see `update_tags`), so the two
    // always take their locks in the same order.
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

// ---------------------------------------------------------------------------
// Follow-up notes (semantics §10.9).

/// `customer_id`, paging (length 20) and `order` (`create_date` or `-create_date`).
pub fn parse_follow_query(q: &Fields) -> Result<(i64, Paging, bool), Error> {
    let mut c = Check::new(q);
    let customer_id = c.req_int("customer_id", "客户ID不能为空", WHOLE_NUMBER);
    let paging = Paging::parse(&mut c, 20);
    let ascending = q.trimmed("order").as_deref() == Some("create_date");
    c.finish()?;
    match (customer_id, paging) {
        (Some(id), Some(p)) => Ok((id, p, ascending)),
        _ => Err(Error::bad_request()),
    }
}

pub async fn follow_notes(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    paging: Paging,
    ascending: bool,
) -> Result<Page, Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let data_count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM follow_info WHERE relation_id = $1",
    )
    .bind(rel)
    .fetch_one(&st.db.pool)
    .await?;
    let dir = if ascending { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT f.id, f.follow_info, f.create_date, c.headimgurl, u.avatar
         FROM follow_info f JOIN relation r ON r.id = f.relation_id
         JOIN customer c ON c.id = r.customer_id JOIN sales_user u ON u.id = r.user_id
         WHERE f.relation_id = $1 ORDER BY f.create_date {dir}, f.id {dir} LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(rel)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": get_i64(r, "id")?,
                "user_customer_flowup__customer__headimgurl": get_str(r, "headimgurl")?,
                "user_customer_flowup__user__avatar": get_str(r, "avatar")?,
                "user_customer_flowup__user_id": user_id,
                "user_customer_flowup__customer_id": customer_id,
                "follow_info": get_str(r, "follow_info")?,
                "create_date": timefmt::iso(st.config.tz, get_i64(r, "create_date")?),
            }))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Page { items, data_count })
}

/// `follow_info`: required, at most 256 characters.
pub fn parse_follow_info(f: &Fields) -> Result<String, Error> {
    let mut c = Check::new(f);
    let text = c.req_str("follow_info", "跟进信息不能为空");
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_FOLLOW_INFO_CHARS)
    {
        c.error(
            "follow_info",
            &format!("跟进信息最多{MAX_FOLLOW_INFO_CHARS}个字符"),
            "invalid",
        );
    }
    c.finish()?;
    text.ok_or_else(Error::bad_request)
}

/// Appends a note and moves `last_follow_time`, in one transaction.
pub async fn add_follow_note(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    text: &str,
) -> Result<i64, Error> {
    let rel = relation_id(st, user_id, customer_id, "customer_id").await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin_write().await?;
    sqlx::query("UPDATE relation SET last_follow_time = $1 WHERE id = $2")
        .bind(now)
        .bind(rel)
        .execute(&mut **tx)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO follow_info (relation_id, follow_info, create_date) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(rel)
    .bind(text)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    changed(st, user_id, customer_id);
    Ok(id)
}

// ---------------------------------------------------------------------------
// The access log by time (semantics §3.7).

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
pub fn parse_log_query(st: &AppState, q: &Fields) -> Result<(LogFilter, Paging), Error> {
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

/// Customers' actions toward the rep, newest first. Reading marks every
/// matching row seen (as the original did), so the "new activity" badge drops;
/// rows logged after the read are not touched.
pub async fn access_log(
    st: &AppState,
    user_id: i64,
    f: &LogFilter,
    paging: Paging,
) -> Result<Page, Error> {
    let w = log_where(user_id, f);
    let count_sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(a.id) AS max_id FROM access_log a WHERE {}",
        w.sql
    );
    let head = w.query(&count_sql).fetch_one(&st.db.pool).await?;
    let data_count = get_i64(&head, "n")?;
    let max_id = get_opt_i64(&head, "max_id")?;
    let n = w.next();
    let sql = format!(
        "SELECT a.id, a.action, a.user_id, a.customer_id, a.article_id, a.remark, a.stay_seconds, a.create_date,
                c.username, c.headimgurl, c.user_type
         FROM access_log a JOIN customer c ON c.id = a.customer_id
         WHERE {} ORDER BY a.create_date DESC, a.id DESC LIMIT ${n} OFFSET ${}",
        w.sql,
        n + 1
    );
    let rows = w
        .query(&sql)
        .bind(paging.length)
        .bind(paging.offset())
        .fetch_all(&st.db.pool)
        .await?;
    let tz = st.config.tz;
    let items = rows
        .iter()
        .map(|r| {
            let cid = get_i64(r, "customer_id")?;
            let name = customer_name(cid, &get_str(r, "username")?);
            let code = get_i64(r, "action")?;
            let action = Action::from_code(code);
            let user_type = get_i64(r, "user_type")?;
            Ok(json!({
                "id": get_i64(r, "id")?,
                "user_id": get_i64(r, "user_id")?,
                "customer_id": cid,
                "customer_username": name,
                "headimgurl": get_str(r, "headimgurl")?,
                "customer_source": user_type,
                "customer_source_text": customer_source_text(user_type),
                "log": format!("{name}{}", get_str(r, "remark")?),
                "log_type": action.map(Action::log_type).unwrap_or(1),
                "action": code,
                "action_text": action.map(Action::label).unwrap_or(""),
                "article_id": get_opt_i64(r, "article_id")?,
                "stay_seconds": get_i64(r, "stay_seconds")?,
                "create_date": timefmt::iso(tz, get_i64(r, "create_date")?),
            }))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    if let Some(max_id) = max_id {
        mark_seen(st, user_id, &w, max_id).await?;
    }
    Ok(Page { items, data_count })
}

async fn mark_seen(st: &AppState, user_id: i64, w: &Where, max_id: i64) -> Result<(), Error> {
    let n = w.next();
    let cond = format!("{} AND a.is_new_msg = 1 AND a.id <= ${n}", w.sql);
    let mut tx = st.db.begin_write().await?;
    let customers_sql = format!("SELECT DISTINCT a.customer_id FROM access_log a WHERE {cond}");
    let rows = w
        .query(&customers_sql)
        .bind(max_id)
        .fetch_all(&mut **tx)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let customers: Vec<i64> = rows
        .iter()
        .map(|r| get_i64(r, "customer_id"))
        .collect::<Result<_, _>>()?;
    // The alias keeps the shared WHERE clause valid in the UPDATE.
    let update_sql = format!("UPDATE access_log SET is_new_msg = 0 WHERE id IN (SELECT a.id FROM access_log a WHERE {cond})");
    w.query(&update_sql).bind(max_id).execute(&mut **tx).await?;
    tx.commit().await?;
    for cid in customers {
        changed(st, user_id, cid);
    }
    Ok(())
}

/// The rep's "new activity" badge: access-log rows not yet seen.
pub async fn new_activity_count(st: &AppState, user_id: i64) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM access_log WHERE user_id = $1 AND is_new_msg = 1",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?)
}

#[cfg(test)]
#[path = "../tests/crm.rs"]
mod tests;
