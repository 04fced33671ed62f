use super::*;

#[test]
fn order_whitelist_falls_back_to_default() {
    assert_eq!(ContactOrder::parse(None), ContactOrder::default());
    assert_eq!(
        ContactOrder::parse(Some("x; DROP TABLE relation")),
        ContactOrder::default()
    );
    assert_eq!(ContactOrder::parse(Some("-")), ContactOrder::default());
    let o = ContactOrder::parse(Some("last_follow_time"));
    assert_eq!((o.column, o.desc), ("r.last_follow_time", false));
    let o = ContactOrder::parse(Some("-create_date"));
    assert_eq!((o.column, o.desc), ("r.create_date", true));
    assert!(o.sql().ends_with("r.id DESC"));
}

#[test]
fn like_patterns_escape_wildcards() {
    assert_eq!(like_contains("A_b%"), "%a\\_b\\%%");
    assert_eq!(like_contains("张"), "%张%");
}

fn fields(pairs: &[(&str, Value)]) -> Fields {
    Fields(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn tag_lists_from_text_or_array() {
    assert_eq!(
        parse_tag_list(&fields(&[("tag_list", json!("[2, 3, 2]"))])).unwrap(),
        vec![2, 3]
    );
    assert_eq!(
        parse_tag_list(&fields(&[("tag_list", json!([4, "5"]))])).unwrap(),
        vec![4, 5]
    );
    assert_eq!(
        parse_tag_list(&fields(&[("tag_list", json!("[]"))])).unwrap(),
        Vec::<i64>::new()
    );
    for bad in [
        json!("[1,"),
        json!("{}"),
        json!("[1.5]"),
        json!("[-1]"),
        json!("[0]"),
        json!(7),
        json!([[1]]),
    ] {
        assert!(
            parse_tag_list(&fields(&[("tag_list", bad.clone())])).is_err(),
            "{bad}"
        );
    }
    assert!(parse_tag_list(&fields(&[])).is_err());
}
