use super::*;
use serde_json::json;

#[test]
fn probability_accepts_percent_and_range() {
    assert_eq!(Probability::parse("80").unwrap().get(), 80);
    assert_eq!(Probability::parse(" 80% ").unwrap().get(), 80);
    assert_eq!(Probability::parse("0").unwrap().get(), 0);
    assert_eq!(Probability::parse("100%").unwrap().get(), 100);
    for bad in ["", "%", "101", "-1", "80.5", "abc", "8 0", "NaN", "80%%"] {
        assert!(Probability::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn phone_is_mainland_mobile() {
    assert!(MobilePhone::parse("13800138000").is_ok());
    assert!(MobilePhone::parse("19912345678").is_ok());
    for bad in [
        "12800138000",
        "1380013800",
        "138001380000",
        "1380013800a",
        "",
        "+8613800138000",
    ] {
        assert!(MobilePhone::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn email_rules() {
    assert!(Email::parse("1224423@qq.com").is_ok());
    assert!(Email::parse("a.b+c@mail.example.cn").is_ok());
    for bad in [
        "",
        "a",
        "a@",
        "@b.com",
        "a@b",
        "a b@c.com",
        "a@b..com",
        "a@@b.com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn dates_accept_variants_and_reject_impossible_days() {
    assert_eq!(Date::parse("2018-06-1").unwrap().to_string(), "2018-06-01");
    assert_eq!(Date::parse("2018-6-01").unwrap().to_string(), "2018-06-01");
    assert_eq!(Date::parse("2018/6/1").unwrap().to_string(), "2018-06-01");
    assert_eq!(Date::parse("06/01/2018").unwrap().to_string(), "2018-06-01");
    assert_eq!(Date::parse("2020-2-29").unwrap().to_string(), "2020-02-29");
    for bad in [
        "",
        "2019-2-29",
        "2018-13-01",
        "2018-00-10",
        "2018-1-32",
        "18-1-1",
        "2018-1",
        "2018-01-01T00",
        "abc",
        "2018-001-01",
    ] {
        assert!(Date::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn content_shapes() {
    assert!(MessageContent::parse_str(r#"{"info_type":1,"msg":"hi"}"#).is_ok());
    assert!(MessageContent::parse_str(r#"{"info_type":"1","msg":"hi"}"#).is_ok());
    assert!(MessageContent::parse_value(&json!({"info_type":4,"url":"a.png"})).is_ok());
    assert!(MessageContent::parse_value(
        &json!({"info_type":2,"product_name":"p","product_price":"9"})
    )
    .is_ok());
    for bad in [
        "",
        "not json",
        "[1]",
        "1",
        r#"{"msg":"x"}"#,
        r#"{"info_type":6,"msg":"x"}"#,
        r#"{"info_type":1}"#,
        r#"{"info_type":1,"msg":"  "}"#,
        r#"{"info_type":4}"#,
        r#"{"info_type":2,"product_price":"9"}"#,
        r#"{"info_type":1,"msg":5}"#,
    ] {
        assert!(MessageContent::parse_str(bad).is_err(), "{bad}");
    }
    let long = "字".repeat(MAX_TEXT_CHARS + 1);
    assert!(MessageContent::parse_value(&json!({"info_type":1,"msg":long})).is_err());
    let max = "字".repeat(MAX_TEXT_CHARS);
    assert!(MessageContent::parse_value(&json!({"info_type":1,"msg":max})).is_ok());
}

#[test]
fn field_errors_round_trip_in_order() {
    let mut e = FieldErrors::new();
    e.add("b", "x", "required");
    e.add("a", "y", "");
    let j = e.to_json();
    assert_eq!(
        j.to_string(),
        r#"{"b":[{"message":"x","code":"required"}],"a":[{"message":"y","code":""}]}"#
    );
    assert_eq!(FieldErrors::from_json(&j), e);
}
