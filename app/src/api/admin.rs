//! Provisioning: what `radar admin …` prints, which the admin HTTP API
//! answers too, and that API's request bodies.

use serde::{Deserialize, Serialize};

/// `{"id"}` of a created row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub id: i64,
}

/// `{"id","token"}` of a created or re-keyed rep or customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    pub id: i64,
    pub token: String,
}

/// `{"id"}` of a rep or company whose settings were saved (no secret, ever).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Saved {
    pub id: i64,
}

/// `{"migrated": true}` of `radar migrate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    pub migrated: bool,
}

// ---------------------------------------------------------------------------
// The admin HTTP API (`/admin/api/v1/…`): the CLI's options as JSON fields.
// Unknown fields are refused (422) rather than ignored, so that a misspelt
// optional field is not silently dropped.

fn one() -> i64 {
    1
}

/// `POST /admin/api/v1/companies` (`radar admin company create`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// 1–100 characters, not only spaces, no NUL.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
        )
    )]
    pub name: String,
}

/// `POST /admin/api/v1/users` (`radar admin user create`): a rep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub company_id: i64,
    /// 1–100 characters, not only spaces, no NUL.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
        )
    )]
    pub name: String,
    /// An http(s) URL or a site path; default `statics/imgs/setAvator.jpg`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 2048,
            pattern = r"^(https?://[^\s\x00-\x1f\x7f-\x9f]+|/[^\s\x00-\x1f\x7f-\x9f]*)$"
        )
    )]
    pub avatar: Option<String>,
    /// The card's phone, at most 32 characters, no control characters.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 32, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub phone: Option<String>,
    /// The WeChat id, at most 64 characters, no control characters.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub wechat: Option<String>,
    /// The WeCom user id (账号) the rep signs in with: 1–64 letters, digits or `_-@.`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9_@.-]{1,64}$"))]
    pub wecom_userid: Option<String>,
}

/// `POST /admin/api/v1/customers` (`radar admin customer create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// 1–100 characters, not only spaces, no NUL.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00]*[^\x00\s][^\x00]*$"
        )
    )]
    pub name: String,
    pub company_id: i64,
    /// An http(s) URL or a site path; default `statics/imgs/Avator.jpg`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 2048,
            pattern = r"^(https?://[^\s\x00-\x1f\x7f-\x9f]+|/[^\s\x00-\x1f\x7f-\x9f]*)$"
        )
    )]
    pub headimgurl: Option<String>,
    /// 1, 2 or 3 (default 1).
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(default = 1, minimum = 1, maximum = 3))]
    pub user_type: i64,
}

/// `POST /admin/api/v1/relations` (`radar admin relation create`): the rep
/// and the customer must be of the same company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRelation {
    pub user_id: i64,
    pub customer_id: i64,
    /// How the customer came, 1–5 (default 1).
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(default = 1, minimum = 1, maximum = 5))]
    pub source: i64,
}

/// Every refusal of the admin API: `error` says what went wrong; `fields`,
/// when present, the field errors (`{field: [{message, code}]}`) as in the
/// REST envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<crate::domain::FieldErrors>,
}
