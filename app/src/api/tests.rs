use super::*;
use crate::domain::FieldErrors;

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

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Count {
    n: i64,
}

#[test]
fn envelope_defaults_data_and_note() {
    let e: Envelope<Count> = serde_json::from_str(r#"{"code":200,"msg":"x"}"#).unwrap();
    assert_eq!(e.data, Count::default());
    assert_eq!(e.note, Empty {});
    assert_eq!(
        serde_json::to_string(&Envelope::ok("x", Empty {})).unwrap(),
        r#"{"code":200,"msg":"x","data":{},"note":{}}"#
    );
}

#[test]
fn answers_read_as_data_or_refusal() {
    let ok = read_answer::<Count>(r#"{"code":200,"msg":"","data":{"n":3},"note":{"x":1}}"#);
    assert_eq!(ok.map(|e| e.data.n), Ok(3));

    let fields = r#"{"code":402,"msg":"请求异常","data":{"name":[{"message":"必填","code":"required"}]},"note":{}}"#;
    let Err(Failure::Refused(r)) = read_answer::<Count>(fields) else {
        panic!("a refusal");
    };
    assert_eq!(r.field_errors().message("name"), Some("必填"));
    assert_eq!(r.msg.text(), "请求异常");

    let in_msg = r#"{"code":301,"msg":{"phone":[{"message":"手机号格式错误","code":"invalid"}]},"data":{},"note":{}}"#;
    let Err(Failure::Refused(r)) = read_answer::<Count>(in_msg) else {
        panic!("a refusal");
    };
    assert_eq!(r.msg.text(), "手机号格式错误");
    assert!(r.field_errors().has("phone"));

    let busy = r#"{"code":429,"msg":"请求过于频繁","data":{"retry_after":2},"note":{}}"#;
    let Err(Failure::Refused(r)) = read_answer::<Count>(busy) else {
        panic!("a refusal");
    };
    assert_eq!(r.retry_after(), Some(2));

    let token = r#"{"code":400,"msg":"token异常","data":{},"note":{"reason":"bad signature"}}"#;
    let Err(Failure::Refused(r)) = read_answer::<Count>(token) else {
        panic!("a refusal");
    };
    assert_eq!(r.note.reason.as_deref(), Some("bad signature"));
    assert_eq!(r.field_errors(), FieldErrors::new());
}

#[test]
fn a_renamed_key_is_a_transport_failure() {
    let renamed = r#"{"code":200,"msg":"","data":{"count":3},"note":{}}"#;
    assert!(matches!(
        read_answer::<Count>(renamed),
        Err(Failure::Transport(_))
    ));
}
