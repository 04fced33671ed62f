//! Sign-in inside WeCom and WeChat (issue 16): what a page opened without
//! credentials asks the server.

use serde::{Deserialize, Serialize};

/// `GET /auth/options/{company_id}`: the sign-ins the company offers, so that
/// a page opened without credentials can link to one. A company that does not
/// exist, has expired or has not set one up offers none; a malformed id
/// answers HTTP 400 with the same (empty) offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInOptions {
    /// Reps can sign in at `/auth/wecom/{company_id}/start`.
    pub wecom: bool,
    /// Customers can sign in at `/auth/wechat/{company_id}/start`.
    pub wechat: bool,
}
