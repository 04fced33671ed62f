//! The sales CRM: contacts (通讯录), the customer profile, deal fields, tags,
//! follow-up notes and the access log.

use serde::{Deserialize, Serialize};

/// `data` of a listing: one page of items and the number of all matches
/// (`qiyeweixin/tongxunlu`, `qiyeweixin/customer`, `qiyeweixin/follow_info`,
/// `qiyeweixin/action/time`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub ret_data: Vec<T>,
    pub data_count: i64,
}

/// One customer of the rep's contact list (`qiyeweixin/tongxunlu`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactItem {
    pub customer_id: i64,
    pub customer_username: String,
    /// The name the rep gave the customer in its notes, or `""`.
    pub memo_name: String,
    pub headimgurl: String,
    pub expected_time: Option<String>,
    #[serde(rename = "expedted_pr")]
    pub expected_pr: Option<i64>,
    /// The customer's channel (`customer.user_type`).
    pub customer_source: i64,
    pub customer_source_text: String,
    pub is_subscribe: Option<i64>,
    pub is_subscribe_text: Option<String>,
    /// How the customer came to the rep (`relation.source`).
    pub source: i64,
    pub source_text: String,
    pub last_follow_time: String,
    /// When the customer was last seen in the access log: `今天`, `昨天`, a date or `""`.
    #[serde(rename = "last_activity_time")]
    pub last_seen: String,
    pub follow_status: String,
    /// The article the customer viewed last, with its title (`""` when none).
    pub article_id: Option<i64>,
    pub title: String,
    pub unread_msg_num: i64,
    pub last_msg: String,
    pub last_msg_id: Option<i64>,
}

/// The customer as the rep knows it (`qiyeweixin/customer`, the only item of its page).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerProfile {
    pub id: i64,
    pub username: String,
    pub headimgurl: String,
    pub expected_time: Option<String>,
    #[serde(rename = "expedted_pr")]
    pub expected_pr: Option<i64>,
    pub ai_pr: Option<i64>,
    /// The name of the customer who brought this one, or `""`.
    pub superior: String,
    /// The text of `source_id`.
    pub source: String,
    pub source_id: i64,
    pub memo_name: String,
    pub phone: String,
    pub email: String,
    pub company: String,
    pub position: String,
    pub address: String,
    pub birthday: String,
    pub mem: String,
    pub sex: Sex,
    /// The names of the rep's tags on the customer.
    pub tag: Vec<String>,
    pub user_type: i64,
    /// Calendar days since the customer first came.
    pub day_interval: i64,
}

/// `sex` of the profile: 1 (男) or 2 (女) as a number, `""` when neither the
/// rep nor the customer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sex(pub Option<i64>);

impl Serialize for Sex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(n) => s.serialize_i64(n),
            None => s.serialize_str(""),
        }
    }
}

impl<'de> Deserialize<'de> for Sex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(i64),
            Text(String),
        }
        Ok(Sex(match Wire::deserialize(d)? {
            Wire::Number(n) => Some(n),
            Wire::Text(t) => t.trim().parse().ok(),
        }))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Sex {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Integer)))
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some([""])),
            )
            .description(Some("1 男, 2 女, or \"\" when unknown"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Sex {}

/// `data` of the tag editor (`qiyeweixin/tag_list`): the groups with the rep's tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagGroups {
    pub tag_count: i64,
    pub ret_data: Vec<TagGroup>,
}

/// A tag group of the tag editor; `id` is `null` for a 自定义 group made up for
/// tags outside every group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagGroup {
    pub id: Option<i64>,
    pub name: String,
    pub tags: Vec<TagItem>,
}

/// One of the rep's tags in the tag editor; `is_select` when on the customer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagItem {
    pub id: i64,
    pub name: String,
    pub is_select: bool,
}

/// `data` of `qiyeweixin/tag_list/add_tag/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagAdded {
    pub tag_id: i64,
}

/// One follow-up note (`qiyeweixin/follow_info`); the keys are the original's
/// Django lookups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowNote {
    pub id: i64,
    #[serde(rename = "user_customer_flowup__customer__headimgurl")]
    pub customer_headimgurl: String,
    #[serde(rename = "user_customer_flowup__user__avatar")]
    pub user_avatar: String,
    #[serde(rename = "user_customer_flowup__user_id")]
    pub user_id: i64,
    #[serde(rename = "user_customer_flowup__customer_id")]
    pub customer_id: i64,
    pub follow_info: String,
    pub create_date: String,
}

/// `data` of `qiyeweixin/follow_info/add/{id}`: the new note's id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteAdded {
    pub id: i64,
}

/// One access-log entry, a customer's action toward the rep (`qiyeweixin/action/time`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogItem {
    pub id: i64,
    pub user_id: i64,
    pub customer_id: i64,
    pub customer_username: String,
    pub headimgurl: String,
    pub customer_source: i64,
    pub customer_source_text: String,
    /// The customer's name followed by the entry's remark.
    pub log: String,
    pub log_type: i64,
    /// The action's code (see `Action`); stored codes outside the catalogue are kept.
    pub action: i64,
    pub action_text: String,
    pub article_id: Option<i64>,
    pub stay_seconds: i64,
    pub create_date: String,
}

/// `data` of `qiyeweixin/action/new_count`: access-log entries the rep has not seen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCount {
    pub count: i64,
}

/// Form of `qiyeweixin/customer/update_information/{id}`: the rep's notes on
/// the customer. The server checks every field; values are sent as typed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InformationForm {
    /// The memo name.
    pub username: String,
    pub sex: String,
    pub phone: String,
    pub email: String,
    pub company: String,
    pub position: String,
    pub address: String,
    pub birthday: String,
    pub mem: String,
}

impl InformationForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("username", self.username.clone()),
            ("sex", self.sex.clone()),
            ("phone", self.phone.clone()),
            ("email", self.email.clone()),
            ("company", self.company.clone()),
            ("position", self.position.clone()),
            ("address", self.address.clone()),
            ("birthday", self.birthday.clone()),
            ("mem", self.mem.clone()),
        ]
    }
}

/// Form of `qiyeweixin/customer/update_expected_time/{id}` (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedTimeForm {
    pub expected_time: String,
}

impl ExpectedTimeForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("expected_time", self.expected_time.clone())]
    }
}

/// Form of `qiyeweixin/customer/update_expected_pr/{id}` (0–100).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedPrForm {
    #[serde(rename = "expedted_pr")]
    pub expected_pr: i64,
}

impl ExpectedPrForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("expedted_pr", self.expected_pr.to_string())]
    }
}

/// Form of `qiyeweixin/customer/update_tag/{id}` (and `tag_list/customer_tag/{id}`):
/// the rep's tags the customer has from now on, sent as a JSON array text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagListForm {
    pub tag_list: Vec<i64>,
}

impl TagListForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let ids: Vec<String> = self.tag_list.iter().map(i64::to_string).collect();
        vec![("tag_list", format!("[{}]", ids.join(",")))]
    }
}

/// Form of `qiyeweixin/tag_list/add_tag/{id}`; `tag_type` 1 公众号 or 2 小程序.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTagForm {
    pub name: String,
    pub tag_type: i64,
}

impl NewTagForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("name", self.name.clone()),
            ("tag_type", self.tag_type.to_string()),
        ]
    }
}

/// Form of `qiyeweixin/follow_info/add/{id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowForm {
    pub follow_info: String,
}

impl FollowForm {
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("follow_info", self.follow_info.clone())]
    }
}

#[cfg(test)]
#[path = "tests/crm.rs"]
mod tests;
