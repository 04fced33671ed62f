use super::*;

fn fields(q: &str) -> Fields {
    Fields::parse_urlencoded(q).unwrap()
}

#[test]
fn paging_defaults_clamps_and_rejects() {
    let f = fields("");
    let mut c = Check::new(&f);
    assert_eq!(
        Paging::parse(&mut c, 20),
        Some(Paging {
            page: 1,
            length: 20
        })
    );
    let f = fields("current_page=-3&length=1000");
    let mut c = Check::new(&f);
    assert_eq!(
        Paging::parse(&mut c, 20),
        Some(Paging {
            page: 1,
            length: 100
        })
    );
    let f = fields("current_page=&length=-1");
    let mut c = Check::new(&f);
    assert_eq!(
        Paging::parse(&mut c, 10),
        Some(Paging {
            page: 1,
            length: 10
        })
    );
    let f = fields("current_page=x&length=1.5");
    let mut c = Check::new(&f);
    assert_eq!(Paging::parse(&mut c, 10), None);
    assert!(c.errors.has("current_page") && c.errors.has("length"));
    let p = Paging {
        page: i64::MAX,
        length: 100,
    };
    assert_eq!(p.offset(), i64::MAX);
}

#[test]
fn ints_are_strict() {
    assert_eq!(parse_int(" 42 "), Some(42));
    assert_eq!(parse_int("-7"), Some(-7));
    for bad in ["", "1.0", "1e3", "abc", "0x10", "99999999999999999999"] {
        assert_eq!(parse_int(bad), None, "{bad}");
    }
    assert_eq!(parse_id("12"), Some(12));
    assert_eq!(parse_id("-1"), None);
}

fn part(boundary: &str, headers: &str, value: &str) -> String {
    format!("--{boundary}\r\n{headers}\r\n\r\n{value}\r\n")
}

fn text_part(boundary: &str, name: &str, value: &str) -> String {
    part(
        boundary,
        &format!("Content-Disposition: form-data; name=\"{name}\""),
        value,
    )
}

#[test]
fn multipart_text_fields() {
    let b = "----WebKitFormBoundaryX3b";
    let body = format!(
        "preamble to ignore\r\n{}{}{}{}{}--{b}--\r\nepilogue",
        text_part(b, "uid", "7"),
        text_part(b, "content", "第一行\r\n第二行 👍"),
        text_part(b, "empty", ""),
        part(
            b,
            "content-disposition: FORM-DATA; filename=\"a;b.txt\"; name=\"file\"\r\nContent-Type: application/octet-stream",
            "\u{0}\u{1}binary",
        ),
        text_part(b, "uid", "8"),
    );
    let f = Fields::parse_multipart(body.as_bytes(), b).unwrap();
    assert_eq!(f.text("uid").as_deref(), Some("8"));
    assert_eq!(f.text("content").as_deref(), Some("第一行\r\n第二行 👍"));
    assert_eq!(f.text("empty").as_deref(), Some(""));
    assert!(f.value("file").is_none());
    assert_eq!(f.0.len(), 3);

    // Headers other than Content-Disposition, padding after the delimiter,
    // and an empty form.
    let body = format!(
        "--{b}  \r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=seconds\r\n\r\n75\r\n--{b}--"
    );
    let f = Fields::parse_multipart(body.as_bytes(), b).unwrap();
    assert_eq!(f.text("seconds").as_deref(), Some("75"));
    assert!(
        Fields::parse_multipart(format!("--{b}--\r\n").as_bytes(), b)
            .unwrap()
            .0
            .is_empty()
    );
}

#[test]
fn multipart_malformed_is_rejected() {
    let b = "XyZ";
    let ok = text_part(b, "a", "1");
    let bad: Vec<Vec<u8>> = vec![
        // No delimiter at all, or another boundary.
        b"a=1&b=2".to_vec(),
        text_part("other", "a", "1").into_bytes(),
        // Truncated: no close delimiter.
        ok.clone().into_bytes(),
        format!("--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1").into_bytes(),
        format!("--{b}\r\nContent-Disposition: form-data; name=\"a\"").into_bytes(),
        // Garbage after the delimiter, no headers, a header without colon.
        format!("--{b}x\r\n{ok}--{b}--").into_bytes(),
        format!("--{b}\r\n\r\n1\r\n--{b}--").into_bytes(),
        format!("--{b}\r\nbroken\r\n\r\n1\r\n--{b}--").into_bytes(),
        // No Content-Disposition, not form-data, no or empty name.
        format!("{}--{b}--", part(b, "Content-Type: text/plain", "1")).into_bytes(),
        format!(
            "{}--{b}--",
            part(b, "Content-Disposition: attachment; name=\"a\"", "1")
        )
        .into_bytes(),
        format!("{}--{b}--", part(b, "Content-Disposition: form-data", "1")).into_bytes(),
        format!(
            "{}--{b}--",
            part(b, "Content-Disposition: form-data; name=\"\"", "1")
        )
        .into_bytes(),
        // A text value that is not UTF-8.
        [
            format!("--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n").into_bytes(),
            vec![0xff, 0xfe],
            format!("\r\n--{b}--").into_bytes(),
        ]
        .concat(),
        Vec::new(),
    ];
    for body in bad {
        assert!(
            Fields::parse_multipart(&body, b).is_err(),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // The same part, closed, is fine.
    assert!(Fields::parse_multipart(format!("{ok}--{b}--").as_bytes(), b).is_ok());
}

#[test]
fn content_types_pick_the_parser() {
    assert_eq!(encoding(None), Encoding::Form);
    assert_eq!(
        encoding(Some("application/x-www-form-urlencoded; charset=UTF-8")),
        Encoding::Form
    );
    assert_eq!(encoding(Some("text/plain;charset=UTF-8")), Encoding::Form);
    assert_eq!(encoding(Some("Application/JSON")), Encoding::Json);
    assert_eq!(
        encoding(Some(
            "multipart/form-data; boundary=----WebKitFormBoundaryjsonX"
        )),
        Encoding::Multipart(Some("----WebKitFormBoundaryjsonX".into()))
    );
    assert_eq!(
        encoding(Some(
            "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\""
        )),
        Encoding::Multipart(Some("a b;c".into()))
    );
    for no_boundary in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; charset=utf-8",
    ] {
        assert_eq!(encoding(Some(no_boundary)), Encoding::Multipart(None));
    }
    let long = format!("multipart/form-data; boundary={}", "x".repeat(71));
    assert_eq!(encoding(Some(&long)), Encoding::Multipart(None));
}

#[test]
fn header_params_handle_quotes_and_escapes() {
    assert_eq!(
        header_params(r#" name="a\"b"; filename=x.txt ;flag; z = "" "#),
        vec![
            ("name".to_owned(), "a\"b".to_owned()),
            ("filename".to_owned(), "x.txt".to_owned()),
            ("z".to_owned(), "".to_owned()),
        ]
    );
}

#[test]
fn nul_is_refused_anywhere_in_the_fields() {
    let nul = |f: Fields| match f.refuse_nul() {
        Err(Error::Fields(e)) => e.0.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(nul(fields("a=1&b=x%00y")), ["b"]);
    let json = |s: &str| Fields::from_json_bytes(s.as_bytes()).unwrap();
    assert_eq!(nul(json(r#"{"content":{"msg":["a\u0000"]}}"#)), ["content"]);
    assert_eq!(nul(json(r#"{"k\u0000":1}"#)), ["k"]);
    // JSON text inside a form field.
    assert_eq!(
        nul(fields("tag_list=%5B1%2C%22%5Cu0000%22%5D")),
        ["tag_list"]
    );
    for ok in [
        r#"a=%5Cu0000"#,
        "content=%7B%22m%22%3A%22%5C%5Cu0000%22%7D",
        "",
    ] {
        assert!(fields(ok).refuse_nul().is_ok(), "{ok}");
    }
}
