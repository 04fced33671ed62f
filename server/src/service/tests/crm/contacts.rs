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
    assert_eq!(
        like_contains(&lowered("A_b%", Backend::Sqlite)),
        "%a\\_b\\%%"
    );
    assert_eq!(like_contains("张"), "%张%");
}

#[test]
fn queries_fold_as_the_backends_lower_does() {
    // SQLite's LOWER() leaves all but ASCII letters alone.
    assert_eq!(lowered("AbＡÄ", Backend::Sqlite), "abＡÄ");
    assert_eq!(lowered("AbＡÄ", Backend::Postgres), "abａä");
}

#[test]
fn short_queries_read_a_range_of_grams() {
    assert_eq!(NameKey::of(""), None);
    assert_eq!(
        NameKey::of("张"),
        Some(NameKey::Prefix {
            from: "张".into(),
            to: Some(
                "张"
                    .chars()
                    .map(|c| char::from_u32(c as u32 + 1).unwrap_or(c))
                    .collect()
            ),
        })
    );
    assert_eq!(
        NameKey::of("ab"),
        Some(NameKey::Prefix {
            from: "ab".into(),
            to: Some("ac".into())
        })
    );
    // Past the last code point below the surrogates, and past the top.
    assert_eq!(successor(&['a', '\u{D7FF}']), Some("a\u{E000}".into()));
    assert_eq!(successor(&['a', char::MAX]), Some("b".into()));
    assert_eq!(successor(&[char::MAX]), None);
    assert_eq!(successor(&[char::MAX, char::MAX]), None);
}

#[test]
fn every_string_with_the_prefix_sorts_inside_its_range() {
    let prefixes = ["a", "ab", "张", "\u{D7FF}", "x\u{10FFFF}"];
    let others = [
        "",
        "a",
        "ab",
        "abc",
        "ac",
        "b",
        "张三",
        "张",
        "\u{D7FF}z",
        "\u{E000}",
        "x",
        "x\u{10FFFF}q",
        "y",
    ];
    for p in prefixes {
        let chars: Vec<char> = p.chars().collect();
        let to = successor(&chars);
        for o in others {
            let inside = o >= p && to.as_deref().is_none_or(|t| o < t);
            assert_eq!(inside, o.starts_with(p), "{o:?} against [{p:?}, {to:?})");
        }
    }
}

#[test]
fn long_queries_read_their_distinct_trigrams() {
    assert_eq!(
        NameKey::of("abcabc"),
        Some(NameKey::Trigrams(vec![
            "abc".into(),
            "bca".into(),
            "cab".into()
        ]))
    );
    assert_eq!(
        NameKey::of("张小明"),
        Some(NameKey::Trigrams(vec!["张小明".into()]))
    );
}

#[test]
fn probes_spread_over_the_query() {
    let v: Vec<u32> = (0..10).collect();
    assert_eq!(spread(&v, 3), vec![0, 4, 9]);
    assert_eq!(spread(&v, 20), v);
    assert_eq!(spread(&v, 1), vec![0]);
    assert_eq!(spread(&v, 0), Vec::<u32>::new());
}
