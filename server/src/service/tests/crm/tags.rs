use serde_json::{json, Value};

use super::*;

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

/// The code of the one `tag_list` error of a refused list.
fn tag_list_error(f: &Fields) -> String {
    match parse_tag_list(f) {
        Err(Error::Fields(e)) if e.0.len() == 1 && e.has("tag_list") => e.0[0].1[0].code.clone(),
        other => panic!("not a tag_list error: {other:?}"),
    }
}

#[test]
fn tag_list_elements_and_blanks() {
    assert_eq!(
        parse_tag_list(&fields(&[("tag_list", json!("[\"6\", 7]"))])).unwrap(),
        vec![6, 7]
    );
    for missing in [json!("  "), json!(null)] {
        assert_eq!(
            tag_list_error(&fields(&[("tag_list", missing)])),
            "required"
        );
    }
    assert_eq!(tag_list_error(&fields(&[])), "required");
    for bad in [
        json!([2.0]),
        json!(["x"]),
        json!([true]),
        json!(true),
        json!({"a": 1}),
        json!("[\" \"]"),
        json!([9_223_372_036_854_775_808_u64]),
    ] {
        assert_eq!(
            tag_list_error(&fields(&[("tag_list", bad.clone())])),
            "invalid",
            "{bad}"
        );
    }
    let many: Vec<i64> = (1..=1001).collect();
    assert_eq!(
        tag_list_error(&fields(&[("tag_list", json!(many))])),
        "invalid"
    );
    let repeated = vec![5; 2000];
    assert_eq!(
        parse_tag_list(&fields(&[("tag_list", json!(repeated))])).unwrap(),
        vec![5]
    );
}

/// The fields a refused tag names, in order.
fn refused_fields(r: Result<NewTag, Error>) -> Vec<String> {
    match r {
        Err(Error::Fields(e)) => e.0.into_iter().map(|(f, _)| f).collect(),
        other => panic!("not refused for fields: {other:?}"),
    }
}

#[test]
fn new_tags_follow_one_rule_from_a_form_or_the_command_line() {
    let long = "字".repeat(MAX_TAG_NAME_CHARS + 1);
    let ok = NewTag {
        name: "爱撸串".into(),
        tag_type: 1,
    };
    assert_eq!(
        NewTag::parse(&fields(&[("name", json!(" 爱撸串 "))])).unwrap(),
        ok
    );
    assert_eq!(NewTag::new(" 爱撸串 ", 1).unwrap(), ok);
    assert_eq!(
        NewTag::parse(&fields(&[("name", json!("x")), ("tag_type", json!("2"))]))
            .unwrap()
            .tag_type,
        2
    );
    for (name, tag_type, want) in [
        (" ", 1, vec!["name"]),
        (long.as_str(), 1, vec!["name"]),
        ("x", 3, vec!["tag_type"]),
        (long.as_str(), 0, vec!["name", "tag_type"]),
    ] {
        let form = fields(&[("name", json!(name)), ("tag_type", json!(tag_type))]);
        assert_eq!(
            refused_fields(NewTag::parse(&form)),
            want,
            "{name} {tag_type}"
        );
        assert_eq!(
            refused_fields(NewTag::new(name, tag_type)),
            want,
            "{name} {tag_type}"
        );
    }
    let form = fields(&[("name", json!(long)), ("tag_type", json!("a"))]);
    assert_eq!(
        refused_fields(NewTag::parse(&form)),
        vec!["name", "tag_type"]
    );
}
