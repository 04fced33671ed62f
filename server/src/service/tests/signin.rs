use super::*;

fn key(k: &str) -> StateKey {
    StateKey::new(k.as_bytes()).expect("key")
}

fn landing(next: &str, uid: Option<i64>) -> Landing {
    Landing {
        company_id: 3,
        next: next.into(),
        uid,
    }
}

#[test]
fn a_state_verifies_only_for_what_it_signed() {
    let k = key("0123456789abcdef0123456789abcdef");
    let now = 1_700_000_000_000;
    let l = landing("/h5/article/7", Some(5));
    let s = k.sign(Flow::Customer, &l, now);
    assert!(
        s.bytes().all(|b| b.is_ascii_alphanumeric()) && s.len() <= 128,
        "{s}"
    );
    assert!(k.verify(Flow::Customer, &l, &s, now));
    assert!(k.verify(Flow::Customer, &l, &s, now + STATE_TTL_MS - 1000));
    assert!(
        !k.verify(Flow::Customer, &l, &s, now + STATE_TTL_MS + 1000),
        "expired"
    );
    assert!(!k.verify(Flow::Rep, &l, &s, now), "other flow");
    assert!(!k.verify(Flow::Customer, &landing("/h5/article/8", Some(5)), &s, now));
    assert!(!k.verify(Flow::Customer, &landing("/h5/article/7", Some(6)), &s, now));
    assert!(!k.verify(Flow::Customer, &landing("/h5/article/7", None), &s, now));
    let other = Landing {
        company_id: 4,
        ..l.clone()
    };
    assert!(!k.verify(Flow::Customer, &other, &s, now));
    assert!(!key("another key of 32 characters....").verify(Flow::Customer, &l, &s, now));
    for forged in [
        "",
        "t",
        "s",
        "t1s",
        "tabcsdead",
        &s[..s.len() - 2],
        &format!("{s}00"),
    ] {
        assert!(!k.verify(Flow::Customer, &l, forged, now), "{forged:?}");
    }
}

#[test]
fn next_must_be_a_path_on_this_site() {
    for ok in ["/", "/rep", "/h5/article/7?x=1&y=http://a", "/rep/chat/12"] {
        assert_eq!(same_site_path(ok), Some(ok));
    }
    let long = format!("/{}", "a".repeat(MAX_NEXT_CHARS));
    for bad in [
        "",
        "h5/article/7",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/a b",
        "/a\tb",
        "/a\0b",
        "/a\nb",
        "/文章",
        "/h5#user_id=1",
        long.as_str(),
    ] {
        assert_eq!(same_site_path(bad), None, "{bad:?}");
    }
}
