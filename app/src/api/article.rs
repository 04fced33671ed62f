//! Articles seen by customers: views, stay time, reviews, recommendations and
//! activity sign-ups (`/zhugeleida/gongzhonghao/article/…` and
//! `/zhugeleida/gongzhonghao/plugin_report/sign_up_activity/{activity_id}`).
//!
//! Requests are forms; each request type spells its form with `form()` (or
//! `params()` for a query string), the keys the server reads.

use serde::{Deserialize, Serialize};

/// Form of `POST gongzhonghao/article/view_article/{article_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewForm {
    /// The rep who shared the article, whose access log records the view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
}

impl ViewForm {
    pub fn form(&self) -> Vec<(&'static str, String)> {
        self.uid
            .map(|u| ("uid", u.to_string()))
            .into_iter()
            .collect()
    }
}

/// `data` of `view_article`: the article as the page shows it, the new read
/// count and the rep's access-log id, which `staytime` then names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewedArticle {
    /// `null` when no rep was named.
    pub log_id: Option<i64>,
    pub read_count: i64,
    pub id: i64,
    pub company_id: i64,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub cover_picture: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub create_date: String,
    /// The article's sign-up activity, `null` when it has none.
    pub activity_id: Option<i64>,
}

/// Form of `POST gongzhonghao/article/staytime/{article_id}` (sent as a beacon).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StayForm {
    pub uid: i64,
    pub log_id: i64,
    pub seconds: i64,
}

impl StayForm {
    pub fn form(&self) -> Vec<(&'static str, String)> {
        vec![
            ("uid", self.uid.to_string()),
            ("log_id", self.log_id.to_string()),
            ("seconds", self.seconds.to_string()),
        ]
    }
}

/// `data` of `staytime`: the reading time now stored for the view.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StayTime {
    pub log_id: i64,
    pub stay_seconds: i64,
}

/// Form of `POST gongzhonghao/article/review_article/{article_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewForm {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
}

impl ReviewForm {
    pub fn form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![("content", self.content.clone())];
        if let Some(u) = self.uid {
            f.push(("uid", u.to_string()));
        }
        f
    }
}

/// `data` of `review_article`: the new review.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewPosted {
    pub id: i64,
}

/// One review of `article_review_list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewItem {
    pub id: i64,
    pub from_customer_id: i64,
    pub from_customer_name: String,
    pub from_customer_headimgurl: String,
    pub content: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub create_time: String,
    /// 1 once approved, else 0.
    pub is_audit_pass: i64,
    /// Not approved yet: only its author sees it.
    pub pending: bool,
}

/// `data` of `GET gongzhonghao/article/article_review_list/{article_id}`
/// (an empty list answers 302 `没有数据` instead).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewList {
    pub ret_data: Vec<ReviewItem>,
    pub data_count: i64,
}

/// Query of `GET gongzhonghao/article/recommend_article_list/{article_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendQuery {
    pub uid: i64,
    pub company_id: i64,
}

impl RecommendQuery {
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("uid", self.uid.to_string()),
            ("company_id", self.company_id.to_string()),
        ]
    }
}

/// One article of `recommend_article_list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendItem {
    pub article_id: i64,
    pub title: String,
    /// The share link: the official-account OAuth URL wrapped in the share redirector.
    pub article_url: String,
    pub read_count: i64,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub create_date: String,
}

/// `data` of `recommend_article_list` (an empty list answers 302 `没有数据`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendList {
    pub ret_data: Vec<RecommendItem>,
    /// All the other published articles of the company, not only those listed.
    pub data_count: i64,
}

/// Form of `POST gongzhonghao/plugin_report/sign_up_activity/{activity_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignUpForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
    pub customer_name: String,
    pub phone: String,
    pub leave_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl SignUpForm {
    pub fn form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::with_capacity(5);
        if let Some(u) = self.uid {
            f.push(("uid", u.to_string()));
        }
        f.push(("customer_name", self.customer_name.clone()));
        f.push(("phone", self.phone.clone()));
        f.push(("leave_message", self.leave_message.clone()));
        if let Some(a) = &self.address {
            f.push(("address", a.clone()));
        }
        f
    }
}

/// `data` of `sign_up_activity`: the new sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedUp {
    pub id: i64,
}

#[cfg(test)]
#[path = "tests/article.rs"]
mod tests;
