//! Display text, rendered in one place: relative days (contract §3: calendar
//! days in the company's zone), time formats, names and Chinese labels.

use crate::timefmt;
use crate::AppState;

#[derive(Debug, Clone, Copy)]
pub enum TimeStyle {
    /// Django's `2018-09-21T15:18:01.548` (REST).
    Iso,
    /// `2018-09-21 15:18:01` (socket pushes).
    Plain,
}

pub fn render_time(st: &AppState, ms: i64, style: TimeStyle) -> String {
    match style {
        TimeStyle::Iso => timefmt::iso(st.config.tz, ms),
        TimeStyle::Plain => timefmt::plain(st.config.tz, ms),
    }
}

/// The time of an inbox entry's last message: `HH:MM` today, `昨天`, `MM-DD`
/// this year, else the year.
pub fn chat_time(st: &AppState, then_ms: i64, now_ms: i64) -> String {
    timefmt::chat_relative(st.config.tz, then_ms, now_ms)
}

/// `(last_follow_time, follow_status)` of the contact list.
pub fn follow_texts(st: &AppState, then_ms: Option<i64>, now_ms: i64) -> (String, String) {
    let tz = st.config.tz;
    match then_ms {
        None => (String::new(), "未跟进过".into()),
        Some(t) => match timefmt::calendar_days(tz, t, now_ms) {
            0 => ("今天".into(), "今天跟进".into()),
            1 => ("昨天".into(), "昨天已跟进".into()),
            n => (
                format!("{n}天前"),
                timefmt::date(tz, t).format("%Y-%m-%d").to_string(),
            ),
        },
    }
}

/// When the customer was last seen in the access log (the contact list's
/// `last_activity_time`): `今天`, `昨天` or the local date.
pub fn last_seen_text(st: &AppState, then_ms: Option<i64>, now_ms: i64) -> String {
    let tz = st.config.tz;
    match then_ms {
        None => String::new(),
        Some(t) => match timefmt::calendar_days(tz, t, now_ms) {
            0 => "今天".into(),
            1 => "昨天".into(),
            _ => timefmt::date(tz, t).format("%Y-%m-%d").to_string(),
        },
    }
}

/// `is_subscribe_text`: whether the customer follows the official account.
pub fn subscribe_text(v: Option<i64>) -> Option<&'static str> {
    match v {
        Some(0) => Some("取消订阅该公众号"),
        Some(1) => Some("已经订阅该公众号"),
        _ => None,
    }
}

/// The customer's display name, with the original's fallback for a missing one.
pub fn customer_name(id: i64, name: &str) -> String {
    if name.trim().is_empty() {
        format!("客户ID{id}")
    } else {
        name.to_owned()
    }
}
