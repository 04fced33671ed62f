use app::api::chat::{Content, InboxFeed, InboxItem, LastSeen};
use app::domain::MessageContent;
use serde_json::{json, Value};

use super::deliver::{chunk_items, inbox_frames, InboxOut, MAX_PUSH_BYTES, PUSH_SOFT_BYTES};
use super::history::within_bytes;
use super::*;
use crate::extract::{Check, Fields};

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => Fields(m),
        _ => Fields(Default::default()),
    }
}

#[test]
fn json_len_is_the_length_of_the_text() {
    let c = Content::from(&MessageContent::text("汉字 \"quoted\" 😀"));
    assert_eq!(json_len(&c), serde_json::to_string(&c).unwrap().len());
    assert_eq!(json_len(&vec![1, 2, 3]), "[1,2,3]".len());
}

#[test]
fn a_send_needs_content_and_bounds_its_client_id() {
    let f = fields(json!({"client_msg_id": "x".repeat(65)}));
    let mut c = Check::new(&f);
    assert!(Outgoing::parse(&mut c).is_none());
    let errs = c.errors.clone();
    assert!(errs.has("content") && errs.has("client_msg_id"), "{errs:?}");

    let f = fields(
        json!({"content": {"info_type": 1, "msg": "hi"}, "client_msg_id": " c1 ", "article_id": "7"}),
    );
    let mut c = Check::new(&f);
    let out = Outgoing::parse(&mut c).expect("valid");
    assert!(c.errors.is_empty());
    assert_eq!(out.client_msg_id.as_deref(), Some("c1"));
    assert_eq!(out.article_id, Some(7));
    assert_eq!(out.content, MessageContent::text("hi"));
}

#[test]
fn chunks_keep_the_order_and_stay_near_the_soft_cap() {
    let items: Vec<String> = (0..50)
        .map(|i| format!("{i}:{}", "x".repeat(3000)))
        .collect();
    let chunks = chunk_items(items.clone());
    assert!(chunks.len() > 1);
    for c in &chunks {
        let size: usize = c.iter().map(json_len).sum();
        assert!(c.len() == 1 || size <= PUSH_SOFT_BYTES, "{size}");
    }
    assert_eq!(chunks.concat(), items);
    // One item over the cap still goes, alone.
    let big = vec!["y".repeat(PUSH_SOFT_BYTES * 2)];
    assert_eq!(chunk_items(big.clone()), vec![big]);
}

#[test]
fn within_bytes_takes_at_least_one_and_names_the_last_taken() {
    let items = (1..=5).map(|i| (i, "z".repeat(100)));
    let (taken, last) = within_bytes(items, 250);
    assert_eq!((taken.len(), last), (2, Some(2)));
    let (taken, last) = within_bytes(std::iter::once((9, "z".repeat(1000))), 10);
    assert_eq!((taken.len(), last), (1, Some(9)));
    let (taken, last) = within_bytes(std::iter::empty::<(i64, String)>(), 10);
    assert!(taken.is_empty() && last.is_none());
}

fn inbox_item(i: i64, pad: usize) -> InboxItem {
    InboxItem {
        customer_id: i,
        name: "长".repeat(pad),
        last_msg_id: i,
        ..InboxItem::default()
    }
}

#[test]
fn a_large_inbox_page_goes_out_in_parts_of_the_same_keys() {
    let small = InboxFeed {
        ret_data: vec![inbox_item(1, 3)],
        data_count: 1,
        ..InboxFeed::default()
    };
    assert!(matches!(
        inbox_frames(&small, "m").as_slice(),
        [InboxOut::Whole(_)]
    ));

    let feed = InboxFeed {
        ret_data: (1..=40).map(|i| inbox_item(i, 1000)).collect(),
        data_count: 40,
        unread_msg_num: 3,
        last_seen: Some(LastSeen {
            customer_id: 2,
            time: 5,
        }),
        part: None,
        parts: None,
    };
    let frames = inbox_frames(&feed, "m");
    assert!(frames.len() > 1);
    let mut all = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        assert!(json_len(f) <= MAX_PUSH_BYTES);
        let InboxOut::Part(p) = f else {
            panic!("a whole page among parts")
        };
        assert_eq!(
            (p.data.part, p.data.parts),
            (i as i64 + 1, frames.len() as i64)
        );
        assert_eq!(p.data.unread_msg_num, 3);
        assert_eq!(p.data.last_seen, feed.last_seen);
        all.extend(p.data.ret_data.clone());
    }
    assert_eq!(all, feed.ret_data);
}
