//! Operator commands: creating companies, users, customers and relations.

use crate::bus::Event;
use crate::db::Backend;
use crate::error::Error;
use crate::service::new_token;
use crate::AppState;
use app::api::Side;

pub const MAX_NAME_CHARS: usize = 100;

fn name_ok(field: &str, name: &str) -> Result<String, Error> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::field(field, "名称不能为空", "required"));
    }
    if n.contains('\0') {
        return Err(Error::field(field, crate::extract::NUL_MESSAGE, "invalid"));
    }
    if n.chars().count() > MAX_NAME_CHARS {
        return Err(Error::field(field, "名称过长", "invalid"));
    }
    Ok(n.to_owned())
}

/// An optional short text (a phone, a WeChat id): at most `max` characters,
/// no control characters (NUL included, which PostgreSQL cannot store).
fn text_ok(field: &str, value: Option<&str>, max: usize) -> Result<(), Error> {
    let Some(v) = value else {
        return Ok(());
    };
    if v.contains('\0') {
        return Err(Error::field(field, crate::extract::NUL_MESSAGE, "invalid"));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::field(field, "不能包含控制字符", "invalid"));
    }
    if v.chars().count() > max {
        return Err(Error::field(field, &format!("最多{max}个字符"), "invalid"));
    }
    Ok(())
}

pub const MAX_PHONE_CHARS: usize = 32;
pub const MAX_WECHAT_CHARS: usize = 64;

/// An optional avatar link: the rules of links in messages (`check_url`).
fn url_ok(field: &str, url: Option<&str>) -> Result<(), Error> {
    match url.map(app::domain::check_url) {
        Some(Err(m)) => Err(Error::field(field, &m, "invalid")),
        _ => Ok(()),
    }
}

pub async fn exists(st: &AppState, table: &str, id: i64) -> Result<bool, Error> {
    let sql = match table {
        "company" => "SELECT id FROM company WHERE id = $1",
        "sales_user" => "SELECT id FROM sales_user WHERE id = $1",
        "customer" => "SELECT id FROM customer WHERE id = $1",
        "article" => "SELECT id FROM article WHERE id = $1",
        _ => return Err(Error::Internal(format!("unknown table {table}"))),
    };
    Ok(sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        .is_some())
}

pub async fn create_company(st: &AppState, name: &str) -> Result<i64, Error> {
    let name = name_ok("name", name)?;
    let mut tx = st.db.begin_write().await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO company (name, create_date) VALUES ($1, $2) RETURNING id")
            .bind(&name)
            .bind(st.clock.now_ms())
            .fetch_one(&mut **tx)
            .await?;
    tx.commit().await?;
    Ok(id)
}

pub struct NewUser<'a> {
    pub company_id: i64,
    pub name: &'a str,
    pub avatar: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub wechat: Option<&'a str>,
}

pub async fn create_user(st: &AppState, u: NewUser<'_>) -> Result<(i64, String), Error> {
    create_user_with(st, u, None).await
}

/// A rep, mapped to the WeCom user id `wecom_userid` when one is given.
pub async fn create_user_with(
    st: &AppState,
    u: NewUser<'_>,
    wecom_userid: Option<&str>,
) -> Result<(i64, String), Error> {
    let name = name_ok("name", u.name)?;
    let wecom_userid = wecom_userid.map(wecom_userid_ok).transpose()?;
    url_ok("avatar", u.avatar)?;
    text_ok("phone", u.phone, MAX_PHONE_CHARS)?;
    text_ok("wechat", u.wechat, MAX_WECHAT_CHARS)?;
    if !exists(st, "company", u.company_id).await? {
        return Err(Error::field("company_id", "公司不存在", ""));
    }
    let token = new_token();
    let mut tx = st.db.begin_write().await?;
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO sales_user (company_id, username, token, avatar, mingpian_phone, wechat_phone, wechat, wecom_userid, create_date)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
    )
    .bind(u.company_id)
    .bind(&name)
    .bind(&token)
    .bind(u.avatar.unwrap_or("statics/imgs/setAvator.jpg"))
    .bind(u.phone.unwrap_or(""))
    .bind(u.wechat.unwrap_or(""))
    .bind(wecom_userid.as_deref())
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(wecom_userid_taken)?;
    tx.commit().await?;
    Ok((id, token))
}

const WECOM_USERID_TAKEN: &str = "该企业微信账号已绑定本公司的其他用户";

fn wecom_userid_taken(e: sqlx::Error) -> Error {
    if crate::db::is_unique_violation(&e) {
        Error::field("wecom_userid", WECOM_USERID_TAKEN, "unique")
    } else {
        e.into()
    }
}

/// A WeCom user id (账号): 1–64 letters, digits and `_-@.`, as WeCom allows.
fn wecom_userid_ok(u: &str) -> Result<String, Error> {
    let u = u.trim();
    if u.is_empty()
        || u.len() > 64
        || !u
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b'.'))
    {
        return Err(Error::field(
            "wecom_userid",
            "企业微信账号须为1到64位字母、数字或_-@.",
            "invalid",
        ));
    }
    Ok(u.to_owned())
}

/// Maps a rep to the WeCom user id they sign in with.
pub async fn set_wecom_userid(
    st: &AppState,
    user_id: i64,
    wecom_userid: &str,
) -> Result<(), Error> {
    let wecom_userid = wecom_userid_ok(wecom_userid)?;
    let mut tx = st.db.begin_write().await?;
    let changed = sqlx::query("UPDATE sales_user SET wecom_userid = $1 WHERE id = $2")
        .bind(&wecom_userid)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map_err(wecom_userid_taken)?
        .rows_affected();
    if changed == 0 {
        return Err(Error::field("id", "用户不存在", ""));
    }
    tx.commit().await?;
    Ok(())
}

/// An app credential (corp id, app id, secret): printable ASCII without
/// spaces, at most `max` bytes. Its value never appears in the error.
fn credential_ok(field: &str, value: &str, max: usize) -> Result<String, Error> {
    let v = value.trim();
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::field(
            field,
            &format!("须为1到{max}位可见ASCII字符"),
            "invalid",
        ));
    }
    Ok(v.to_owned())
}

async fn company_exists(st: &AppState, company_id: i64) -> Result<(), Error> {
    if exists(st, "company", company_id).await? {
        Ok(())
    } else {
        Err(Error::field("id", "公司不存在", ""))
    }
}

/// Sets (or replaces) the company's WeCom app, which its reps sign in with.
pub async fn set_wecom_app(
    st: &AppState,
    company_id: i64,
    corp_id: &str,
    agent_id: i64,
    secret: &str,
) -> Result<(), Error> {
    let corp_id = credential_ok("corp_id", corp_id, 64)?;
    let secret = credential_ok("secret", secret, 128)?;
    if agent_id <= 0 {
        return Err(Error::field("agent_id", "应用AgentId须为正整数", "invalid"));
    }
    company_exists(st, company_id).await?;
    let mut tx = st.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO wecom_app (company_id, corp_id, agent_id, secret) VALUES ($1, $2, $3, $4)
         ON CONFLICT (company_id) DO UPDATE SET corp_id = excluded.corp_id,
         agent_id = excluded.agent_id, secret = excluded.secret",
    )
    .bind(company_id)
    .bind(&corp_id)
    .bind(agent_id)
    .bind(&secret)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets (or replaces) the app id and secret of the company's Official Account
/// (direct mode), which its customers sign in with.
pub async fn set_official_account(
    st: &AppState,
    company_id: i64,
    appid: &str,
    secret: &str,
) -> Result<(), Error> {
    let appid = credential_ok("appid", appid, 64)?;
    let secret = credential_ok("secret", secret, 128)?;
    company_exists(st, company_id).await?;
    let mut tx = st.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO gongzhonghao_app (company_id, authorization_appid, secret) VALUES ($1, $2, $3)
         ON CONFLICT (company_id) DO UPDATE SET authorization_appid = excluded.authorization_appid,
         secret = excluded.secret",
    )
    .bind(company_id)
    .bind(&appid)
    .bind(&secret)
    .execute(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct NewCustomer<'a> {
    pub name: &'a str,
    /// Every customer belongs to a company (contract §6): it reaches only that
    /// company's reps and articles.
    pub company_id: i64,
    pub headimgurl: Option<&'a str>,
    pub user_type: i64,
}

pub async fn create_customer(st: &AppState, c: NewCustomer<'_>) -> Result<(i64, String), Error> {
    let name = name_ok("name", c.name)?;
    url_ok("headimgurl", c.headimgurl)?;
    if !exists(st, "company", c.company_id).await? {
        return Err(Error::field("company_id", "公司不存在", ""));
    }
    if !(1..=3).contains(&c.user_type) {
        return Err(Error::field(
            "user_type",
            "客户类型必须是1、2或3",
            "invalid",
        ));
    }
    let token = new_token();
    let mut tx = st.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customer (company_id, username, headimgurl, token, user_type, is_subscribe, create_date)
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(c.company_id)
    .bind(&name)
    .bind(c.headimgurl.unwrap_or("statics/imgs/Avator.jpg"))
    .bind(&token)
    .bind(c.user_type)
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

pub async fn create_relation(
    st: &AppState,
    user_id: i64,
    customer_id: i64,
    source: i64,
) -> Result<i64, Error> {
    if !(1..=5).contains(&source) {
        return Err(Error::field("source", "来源必须是1到5", "invalid"));
    }
    if !exists(st, "sales_user", user_id).await? {
        return Err(Error::field("user_id", "用户不存在", ""));
    }
    if !exists(st, "customer", customer_id).await? {
        return Err(Error::field("customer_id", "客户不存在", ""));
    }
    let same_company: Option<i64> = sqlx::query_scalar(
        "SELECT u.id FROM sales_user u JOIN customer c ON c.company_id = u.company_id
         WHERE u.id = $1 AND c.id = $2",
    )
    .bind(user_id)
    .bind(customer_id)
    .fetch_optional(&st.db.pool)
    .await?;
    if same_company.is_none() {
        return Err(Error::field(
            "customer_id",
            "客户与雷达用户不属于同一公司",
            "invalid",
        ));
    }
    let mut tx = st.db.begin_write().await?;
    let res = sqlx::query_scalar::<_, i64>(
        "INSERT INTO relation (user_id, customer_id, source, create_date) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(customer_id)
    .bind(source)
    .bind(st.clock.now_ms())
    .fetch_one(&mut **tx)
    .await;
    match res {
        Ok(id) => {
            tx.commit().await?;
            Ok(id)
        }
        Err(e) if crate::db::is_unique_violation(&e) => {
            Err(Error::field("customer_id", "用户-客户关系已存在", "unique"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces a sales user's or customer's token; returns the new one. The old
/// token stops working on this instance at once and on every other one within
/// [`crate::auth::ROTATION_POLL`] (they read the `token_rotation` log; with
/// PostgreSQL a notification makes it immediate). Sockets authenticated with
/// the old token are closed.
pub async fn rotate_token(st: &AppState, party: Side, id: i64) -> Result<String, Error> {
    let (update, missing) = match party {
        Side::Sales => (
            "UPDATE sales_user SET token = $1 WHERE id = $2",
            "用户不存在",
        ),
        Side::Customer => ("UPDATE customer SET token = $1 WHERE id = $2", "客户不存在"),
    };
    let token = new_token();
    let mut tx = st.db.begin_write().await?;
    if st.db.backend == Backend::Postgres {
        // Log ids are taken at insert but seen at commit; serialising the
        // writers makes them appear in id order, which the poll relies on.
        sqlx::query("LOCK TABLE token_rotation IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    let changed = sqlx::query(update)
        .bind(&token)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::field("id", missing, ""));
    }
    sqlx::query("INSERT INTO token_rotation (party, ref_id, create_date) VALUES ($1, $2, $3)")
        .bind(crate::auth::party_name(party))
        .bind(id)
        .bind(st.clock.now_ms())
        .execute(&mut **tx)
        .await?;
    tx.commit().await?;
    st.bus.publish(Event::TokenRotated { party, id });
    Ok(token)
}
