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
    let j = serde_json::to_string(&e).unwrap();
    assert_eq!(
        j,
        r#"{"b":[{"message":"x","code":"required"}],"a":[{"message":"y","code":""}]}"#
    );
    assert_eq!(serde_json::from_str::<FieldErrors>(&j).unwrap(), e);
    assert_eq!(e.first_message(), Some("x"));
}

#[test]
fn links_are_http_or_site_paths() {
    for ok in [
        "statics/zhugeleida/imgs/chat/product.png",
        "/pkg/a.png",
        "a.png",
        "http://x.cn/a.png",
        "HTTPS://x.cn/a?b=c:d#e",
        "img/a:b.png",
    ] {
        assert!(check_url(ok).is_ok(), "{ok}");
    }
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:image/png;base64,AAAA",
        "vbscript:x",
        "file:///etc/passwd",
        "http:x.cn",
        "https://x.cn/a b",
        "a\u{0}b",
        "java\tscript:x",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
    let head = "https://x.cn/";
    let max = format!("{head}{}", "a".repeat(MAX_URL_CHARS - head.len()));
    assert!(check_url(&max).is_ok());
    assert!(check_url(&format!("{max}a")).is_err());
}

#[test]
fn product_cards_and_content_are_bounded() {
    let card = |name: &str, price: Value, cover: &str| {
        MessageContent::parse_value(&json!({"info_type": 2, "product_name": name,
            "product_price": price, "product_cover_url": cover}))
    };
    let name = "名".repeat(MAX_PRODUCT_NAME_CHARS);
    let price = "9".repeat(MAX_PRODUCT_PRICE_CHARS);
    assert!(card(&name, json!(price), "statics/p.png").is_ok());
    assert!(card(&format!("{name}名"), json!(price), "statics/p.png").is_err());
    assert!(card("p", json!(format!("{price}9")), "statics/p.png").is_err());
    assert!(card("p", json!(9800), "javascript:x").is_err());
    assert!(MessageContent::parse_value(&json!({"info_type": 5, "url": "data:,x"})).is_err());
    // Extra keys are kept, within the size of a stored content.
    let extra = "x".repeat(MAX_CONTENT_BYTES);
    assert!(
        MessageContent::parse_value(&json!({"info_type": 1, "msg": "hi", "x": extra})).is_err()
    );
    // A maximal text fits even when every character is escaped in JSON.
    let controls = "\u{1}".repeat(MAX_TEXT_CHARS);
    assert!(MessageContent::parse_value(&json!({"info_type": 1, "msg": controls})).is_ok());
}

#[test]
fn list_previews_are_cut() {
    let long = json!({"info_type": 1, "msg": "长".repeat(100)});
    let p = MessageContent::list_preview(long.as_object().unwrap());
    assert_eq!(p.chars().count(), PREVIEW_CHARS);
    assert!(p.ends_with('…'));
    let short = json!({"info_type": 1, "msg": "短"});
    assert_eq!(
        MessageContent::list_preview(short.as_object().unwrap()),
        "短"
    );
}

#[test]
fn content_field_and_its_article() {
    let missing = MessageContent::from_field(None).unwrap_err();
    assert_eq!(missing.1, "required");
    let blank = serde_json::json!("  ");
    assert_eq!(
        MessageContent::from_field(Some(&blank)).unwrap_err().1,
        "required"
    );
    let bad = serde_json::json!("{x");
    assert_eq!(
        MessageContent::from_field(Some(&bad)).unwrap_err().1,
        "invalid"
    );
    let with = |a: serde_json::Value| {
        let v = serde_json::json!({"info_type": 1, "msg": "x", "article_id": a});
        MessageContent::from_field(Some(&v)).unwrap().article_id()
    };
    assert_eq!(with(serde_json::json!(7)), Ok(Some(7)));
    assert_eq!(with(serde_json::json!(" 8 ")), Ok(Some(8)));
    assert_eq!(with(serde_json::Value::Null), Ok(None));
    assert_eq!(with(serde_json::json!(1.5)), Err(()));
    assert_eq!(with(serde_json::json!("x")), Err(()));
    assert_eq!(MessageContent::text("x").article_id(), Ok(None));
}
