use super::*;

const REP: Side = Side::Rep { customer_id: 7 };

fn item(id: i64, send_type: i64, text: &str, read: i64) -> Value {
    json!({"id": id, "send_type": send_type, "info_type": 1, "msg": text, "dateTime": "2026-11-29T10:00:00",
           "is_customer_already_read": read})
}

fn pending(text: &str) -> Msg {
    Msg {
        key: "web-1".into(),
        id: None,
        client_id: Some("web-1".into()),
        mine: true,
        system: false,
        content: MessageContent::text(text).object().clone(),
        time: String::new(),
        read: None,
        failed: false,
    }
}

fn ids(l: &[Msg]) -> Vec<Option<i64>> {
    l.iter().map(|m| m.id).collect()
}

#[test]
fn merge_is_idempotent_and_ordered() {
    let mut l = Vec::new();
    let batch = |ids: &[i64]| {
        ids.iter()
            .filter_map(|i| Msg::from_item(REP, &item(*i, 2, "x", 1)))
            .collect::<Vec<_>>()
    };
    merge(&mut l, batch(&[3, 1]));
    merge(&mut l, batch(&[2, 3]));
    merge(&mut l, batch(&[1, 2, 3, 4]));
    assert_eq!(ids(&l), vec![Some(1), Some(2), Some(3), Some(4)]);
}

#[test]
fn read_receipts_only_move_forward() {
    let mut l = Vec::new();
    merge(
        &mut l,
        Msg::from_item(REP, &item(5, 1, "hi", 0))
            .into_iter()
            .collect(),
    );
    assert_eq!(l[0].read, Some(false));
    merge(
        &mut l,
        Msg::from_item(REP, &item(5, 1, "hi", 1))
            .into_iter()
            .collect(),
    );
    assert_eq!(l[0].read, Some(true));
    merge(
        &mut l,
        Msg::from_item(REP, &item(5, 1, "hi", 0))
            .into_iter()
            .collect(),
    );
    assert_eq!(l[0].read, Some(true));
}

#[test]
fn pushed_own_message_takes_over_the_sending_bubble() {
    let mut l = vec![pending("你好")];
    merge(
        &mut l,
        Msg::from_item(REP, &item(9, 1, "你好", 0))
            .into_iter()
            .collect(),
    );
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, Some(9));
    assert_eq!(l[0].client_id.as_deref(), Some("web-1"));
    // A different text is a different message.
    merge(
        &mut l,
        Msg::from_item(REP, &item(10, 1, "再见", 0))
            .into_iter()
            .collect(),
    );
    assert_eq!(ids(&l), vec![Some(9), Some(10)]);
}

#[test]
fn items_without_id_are_ignored_and_sides_are_told_apart() {
    assert!(Msg::from_item(REP, &json!({"send_type": 1, "msg": "x"})).is_none());
    let cust = Side::Customer { rep_id: 1 };
    let m = Msg::from_item(cust, &item(1, 2, "x", 0)).unwrap();
    assert!(m.mine && m.read.is_none());
    let m = Msg::from_item(REP, &item(1, 2, "x", 0)).unwrap();
    assert!(!m.mine);
    assert!(Msg::from_item(REP, &item(1, 3, "x", 0)).unwrap().system);
}

#[test]
fn short_time_formats() {
    assert_eq!(short_time("2018-09-21T15:18:01.548"), "09-21 15:18");
    assert_eq!(short_time("2018-09-21 15:18:01"), "09-21 15:18");
    assert_eq!(short_time(""), "");
}
