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
