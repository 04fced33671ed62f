//! Provisioning answers: what `radar admin …` prints (and what an admin API
//! will answer).

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
