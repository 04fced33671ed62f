//! The customer profile (API doc 1.6, semantics §3.2) and the rep's private
//! notes on the customer it shows (API doc 1.7, semantics §3.5).

use app::api::crm::{CustomerProfile, Page, Sex};
use app::api::source_text;
use app::domain::{Date, Email, MobilePhone};

use super::{changed, relation_id};
use crate::error::Error;
use crate::extract::{Check, Fields, Paging, WHOLE_NUMBER};
use crate::service::display::customer_name;
use crate::timefmt;
use crate::AppState;

/// `customer_id` of the profile query (402 with the fields in `data`).
pub fn parse_query(q: &Fields) -> Result<i64, Error> {
    let mut c = Check::new(q);
    let id = c.req_int("customer_id", "客户ID不能为空", WHOLE_NUMBER);
    Paging::parse(&mut c, 10);
    c.finish()?;
    id.ok_or_else(Error::bad_request)
}

/// The customer, the relation and the rep's notes, as the profile query reads them.
#[derive(sqlx::FromRow)]
struct ProfileRow {
    username: String,
    headimgurl: String,
    customer_phone: Option<String>,
    customer_sex: Option<i64>,
    user_type: i64,
    create_date: i64,
    expected_time: Option<String>,
    expedted_pr: Option<i64>,
    source: i64,
    customer_parent_id: Option<i64>,
    parent_name: Option<String>,
    note_name: Option<String>,
    sex: Option<i64>,
    phone: Option<String>,
    email: Option<String>,
    company: Option<String>,
    position: Option<String>,
    address: Option<String>,
    birthday: Option<String>,
    mem: Option<String>,
}

/// One customer as this rep knows it: the rep's private notes over the
/// customer's own data, the rep's tags and the deal fields of the relation.
/// The answer is a page of this one customer.
pub async fn get(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
) -> Result<Page<CustomerProfile>, Error> {
    relation_id(st, user_id, customer_id, "customer_id").await?;
    let r: ProfileRow = sqlx::query_as(
        "SELECT c.username, c.headimgurl, c.phone AS customer_phone, c.sex AS customer_sex, c.user_type,
                c.create_date, r.expected_time, r.expedted_pr, r.source, r.customer_parent_id,
                p.username AS parent_name, i.note_name, i.sex, i.phone, i.email, i.company,
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
    let tag: Vec<String> = crate::service::chat::tags_of(st, user_id, &[customer_id])
        .await?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let superior = match r.customer_parent_id {
        Some(pid) => customer_name(pid, &r.parent_name.unwrap_or_default()),
        None => String::new(),
    };
    // The phone the rep saved in the notes is the one the rep sees (the
    // original showed the customer's own phone and lost the saved one).
    let phone = match r.phone.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => r.customer_phone.unwrap_or_default(),
    };
    let now = st.clock.now_ms();
    let profile = CustomerProfile {
        id: customer_id,
        username: customer_name(customer_id, &r.username),
        headimgurl: r.headimgurl,
        expected_time: r.expected_time,
        expected_pr: r.expedted_pr,
        ai_pr: r.expedted_pr,
        superior,
        source: source_text(r.source).to_owned(),
        source_id: r.source,
        memo_name: r.note_name.unwrap_or_default(),
        phone,
        email: r.email.unwrap_or_default(),
        company: r.company.unwrap_or_default(),
        position: r.position.unwrap_or_default(),
        address: r.address.unwrap_or_default(),
        birthday: r.birthday.unwrap_or_default(),
        mem: r.mem.unwrap_or_default(),
        sex: Sex(r.sex.or(r.customer_sex)),
        tag,
        user_type: r.user_type,
        day_interval: timefmt::calendar_days(st.config.tz, r.create_date, now),
    };
    Ok(Page {
        ret_data: vec![profile],
        data_count: 1,
    })
}

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
