//! Rendering of stored UTC epoch-ms times in the company time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

pub fn local(tz: Tz, ms: i64) -> DateTime<Tz> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(|| Utc.timestamp_millis_opt(0).single().unwrap_or_default())
        .with_timezone(&tz)
}

/// Django's JSON encoding of a naive datetime: `YYYY-MM-DDTHH:MM:SS[.mmm]`.
pub fn iso(tz: Tz, ms: i64) -> String {
    let t = local(tz, ms);
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let millis = ms.rem_euclid(1000);
    if millis == 0 {
        base
    } else {
        format!("{base}.{millis:03}")
    }
}

/// `%Y-%m-%d %H:%M:%S`, the explicit format of lists and socket pushes.
pub fn plain(tz: Tz, ms: i64) -> String {
    local(tz, ms).format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn date(tz: Tz, ms: i64) -> NaiveDate {
    local(tz, ms).date_naive()
}

/// Calendar days between the local dates of `then` and `now` (never negative).
pub fn calendar_days(tz: Tz, then_ms: i64, now_ms: i64) -> i64 {
    (date(tz, now_ms) - date(tz, then_ms)).num_days().max(0)
}

/// Start of the local calendar day holding `ms`, as epoch ms.
pub fn day_start_ms(tz: Tz, day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
}

/// Contact-list time of the latest message: `HH:MM` today, `昨天`, `MM-DD` this year, else `YYYY`.
pub fn chat_relative(tz: Tz, then_ms: i64, now_ms: i64) -> String {
    let then = local(tz, then_ms);
    let now = local(tz, now_ms);
    let days = calendar_days(tz, then_ms, now_ms);
    if then.year() != now.year() && days > 1 {
        format!("{}", then.year())
    } else if days == 0 {
        format!("{:02}:{:02}", then.hour(), then.minute())
    } else if days == 1 {
        "昨天".into()
    } else {
        format!("{:02}-{:02}", then.month(), then.day())
    }
}

#[cfg(test)]
#[path = "tests/timefmt.rs"]
mod tests;
