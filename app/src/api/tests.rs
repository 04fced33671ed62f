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

/// Shapes the wire uses: nested structs, options, lists, maps, externally
/// tagged and untagged enums, a newtype, a flattened struct, a raw value.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Shapes {
    count: Count,
    maybe: Option<Count>,
    list: Vec<Count>,
    map: std::collections::BTreeMap<String, Vec<Count>>,
    side: Side,
    kinds: Vec<Kind>,
    msg: Msg,
    id: Id,
    #[serde(flatten)]
    rest: Rest,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
enum Kind {
    Plain,
    Wrapped(Count),
    Pair(i64, String),
    Named { n: i64 },
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Id(i64);

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Rest {
    extra: String,
}

#[test]
fn from_json_reads_what_serde_json_reads() {
    let text = r#"{"count":{"n":1},"maybe":null,"list":[{"n":2},{"n":3}],
        "map":{"a":[{"n":4}]},"side":"sales",
        "kinds":["Plain",{"Wrapped":{"n":5}},{"Pair":[6,"six"]},{"Named":{"n":7}}],
        "msg":{"f":[{"message":"m","code":"c"}]},"id":8,"extra":"x","unknown":[1,{"a":2}]}"#;
    let ours: Shapes = from_json(text).unwrap();
    let theirs: Shapes = serde_json::from_str(text).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(ours.list[1].n, 3);
    assert_eq!(ours.kinds[3], Kind::Named { n: 7 });
    let some: Option<Count> = from_json(r#"{"n":9}"#).unwrap();
    assert_eq!(some, Some(Count { n: 9 }));
    let frame: Envelope<Count> = from_json(r#"{"code":200,"msg":"","data":{"n":1}}"#).unwrap();
    assert_eq!(frame.data.n, 1);
}

#[test]
fn from_json_refuses_structs_as_arrays_and_trailing_text() {
    assert!(serde_json::from_str::<Count>("[1]").is_ok());
    let e = from_json::<Count>("[1]").unwrap_err().to_string();
    assert!(e.contains("invalid type: sequence"), "{e}");
    assert!(from_json::<Count>(r#"{"n":1} x"#).is_err());
    assert!(from_json::<Count>(r#"{"n":"1"}"#).is_err());
    assert!(from_json::<Count>(r#"{}"#).is_err());
}
