use super::*;

#[test]
fn review_content_is_trimmed_and_bounded() {
    assert_eq!(review_content("  好文  "), Ok("好文".to_owned()));
    assert!(review_content(" \n ").is_err());
    assert!(review_content(&"字".repeat(1000)).is_ok());
    assert!(review_content(&"字".repeat(1001)).is_err());
}
