use super::*;

#[test]
fn action_codes_round_trip_and_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for a in Action::ALL {
        assert!(seen.insert(a.code()));
        assert_eq!(Action::from_code(a.code()), Some(a));
    }
    assert_eq!(Action::from_code(0), None);
    assert_eq!(Action::SignUpActivity.code(), 17);
    assert_eq!(Action::ViewArticle.code(), 14);
}

#[test]
fn envelope_defaults_data_and_note() {
    let e: Envelope = serde_json::from_str(r#"{"code":200,"msg":"x"}"#).unwrap();
    assert_eq!(e.data, empty_object());
    assert_eq!(e.note, empty_object());
}
