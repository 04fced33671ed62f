use super::*;

fn sh() -> Tz {
    "Asia/Shanghai".parse().unwrap()
}

#[test]
fn iso_has_millis_only_when_nonzero() {
    // 2018-09-21T07:18:01.548Z is 15:18:01.548 in Shanghai.
    assert_eq!(iso(sh(), 1537514281548), "2018-09-21T15:18:01.548");
    assert_eq!(iso(sh(), 1537514281000), "2018-09-21T15:18:01");
    assert_eq!(plain(sh(), 1537514281548), "2018-09-21 15:18:01");
}

#[test]
fn calendar_days_cross_local_midnight() {
    let tz = sh();
    let d = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
    let midnight = day_start_ms(tz, d);
    assert_eq!(calendar_days(tz, midnight - 1, midnight), 1);
    assert_eq!(calendar_days(tz, midnight, midnight + 86_399_999), 0);
    assert_eq!(calendar_days(tz, midnight + 1000, midnight - 1000), 0);
    assert_eq!(
        chat_relative(tz, midnight + 3_600_000, midnight + 7_200_000),
        "01:00"
    );
    assert_eq!(chat_relative(tz, midnight - 1, midnight + 1), "昨天");
    assert_eq!(
        chat_relative(tz, midnight - 3 * 86_400_000, midnight),
        "03-07"
    );
}
