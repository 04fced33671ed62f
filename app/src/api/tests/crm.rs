use super::*;

#[test]
fn sex_is_a_number_or_blank() {
    assert_eq!(serde_json::to_string(&Sex(Some(2))).unwrap(), "2");
    assert_eq!(serde_json::to_string(&Sex(None)).unwrap(), r#""""#);
    for (text, sex) in [("1", Some(1)), (r#""""#, None), (r#""2""#, Some(2))] {
        assert_eq!(
            serde_json::from_str::<Sex>(text).unwrap(),
            Sex(sex),
            "{text}"
        );
    }
}

#[test]
fn odd_keys_are_spelt_on_the_wire_only() {
    let item = ContactItem {
        expected_pr: Some(60),
        last_seen: "今天".into(),
        ..ContactItem::default()
    };
    let text = serde_json::to_string(&item).unwrap();
    assert!(text.contains(r#""expedted_pr":60"#), "{text}");
    assert!(text.contains(r#""last_activity_time":"今天""#), "{text}");
    assert_eq!(serde_json::from_str::<ContactItem>(&text).unwrap(), item);
    let form = ExpectedPrForm { expected_pr: 35 };
    assert_eq!(form.pairs(), vec![("expedted_pr", "35".to_owned())]);
}

#[test]
fn tag_list_form_is_a_json_array_text() {
    let f = TagListForm {
        tag_list: vec![3, 12],
    };
    let (key, text) = &f.pairs()[0];
    assert_eq!(*key, "tag_list");
    assert_eq!(serde_json::from_str::<Vec<i64>>(text).unwrap(), f.tag_list);
    let empty = TagListForm::default().pairs();
    assert_eq!(
        serde_json::from_str::<Vec<i64>>(&empty[0].1).unwrap(),
        Vec::<i64>::new()
    );
}
