use super::*;

fn sales_item(content: &str) -> SalesMessage {
    SalesMessage {
        id: 5,
        customer_id: 2,
        customer_avatar: "a.jpg".into(),
        user_id: 1,
        src: "a.jpg".into(),
        name: "客户".into(),
        date_time: "2026-01-02 03:04:05".into(),
        send_type: SendType::SalesToCustomer,
        is_customer_already_read: 0,
        is_customer_already_read_text: "未读".into(),
        content: Content::from_stored(content).beside(&SalesMessage::KEYS),
        echo: None,
    }
}

#[test]
fn content_keys_follow_the_items_own_and_never_replace_them() {
    let m = sales_item(r#"{"info_type":1,"msg":"hi","id":99,"name":"forged","z":true}"#);
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"id":5,"customer_id":2,"customer_avatar":"a.jpg","user_id":1,"src":"a.jpg","name":"客户","dateTime":"2026-01-02 03:04:05","send_type":1,"is_customer_already_read":0,"is_customer_already_read_text":"未读","info_type":1,"msg":"hi","z":true}"#
    );
    // Read back, the content keys are the content again.
    let back: SalesMessage = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.content.view(), ContentView::Text("hi".into()));
}

#[test]
fn echo_goes_last_or_takes_the_place_of_a_content_key() {
    let pushed = sales_item(r#"{"info_type":1,"msg":"hi"}"#).with_echo(true);
    let text = serde_json::to_string(&pushed).unwrap();
    assert!(text.ends_with(r#""msg":"hi","echo":true}"#), "{text}");
    let pushed = sales_item(r#"{"echo":"x","info_type":1,"msg":"hi"}"#).with_echo(false);
    let text = serde_json::to_string(&pushed).unwrap();
    assert!(
        text.ends_with(r#""echo":false,"info_type":1,"msg":"hi"}"#),
        "{text}"
    );
}

#[test]
fn stored_content_that_is_not_an_object_has_no_keys() {
    assert_eq!(Content::from_stored("[1]"), Content::default());
    assert_eq!(Content::from_stored("{bad"), Content::default());
    let c = Content::from_stored(r#"{"info_type":"2","product_name":"茶","product_price":12}"#);
    assert_eq!(
        c.view(),
        ContentView::Product {
            name: "茶".into(),
            price: "12".into(),
            cover_url: String::new()
        }
    );
}

#[test]
fn customer_chat_frames_are_told_apart() {
    let push = r#"{"data":{"ret_data":[],"data_count":0,"count":0,"unread_msg_num":3},"code":200,"msg":"实时推送公众号-最新聊天信息成功"}"#;
    assert_eq!(
        CustomerChatFrame::parse(push).unwrap(),
        CustomerChatFrame::Push(CustomerPushData {
            unread_msg_num: 3,
            ..CustomerPushData::default()
        })
    );
    let sent = r#"{"code":200,"msg":"小程序消息-发送成功","data":{"id":7,"dateTime":"t","client_msg_id":null,"duplicate":false}}"#;
    assert!(matches!(CustomerChatFrame::parse(sent), Ok(CustomerChatFrame::Sent(s)) if s.id == 7));
    let num = r#"{"data":{"unread_msg_num":2},"code":200,"msg":"查询成功-获取聊天数量"}"#;
    assert_eq!(
        CustomerChatFrame::parse(num).unwrap(),
        CustomerChatFrame::QueryNum(2)
    );
    assert_eq!(
        CustomerChatFrame::parse(r#"{"code":199,"msg":"注册成功"}"#).unwrap(),
        CustomerChatFrame::Registered
    );
    let refused = r#"{"code":307,"msg":"用户-客户关系不存在","data":{},"note":{}}"#;
    assert!(
        matches!(CustomerChatFrame::parse(refused), Ok(CustomerChatFrame::Refused(r)) if r.code == 307)
    );
    // A push whose items lost a key is an error, not an empty push.
    let broken = r#"{"data":{"ret_data":[{"id":1}],"data_count":1,"count":1,"unread_msg_num":0},"code":200,"msg":"x"}"#;
    assert!(CustomerChatFrame::parse(broken).is_err());
}

#[test]
fn count_and_inbox_frames() {
    let badge = serde_json::to_string(&CountFrame {
        data: UnreadNum { unread_msg_num: 4 },
        code: 200,
        msg: msgs::SALES_LIVE.into(),
    })
    .unwrap();
    assert_eq!(
        CountUpdate::parse_badge(&badge).unwrap(),
        CountUpdate::Count(4)
    );
    let customer = r#"{"msg_data":{"unread_msg_num":1},"code":200,"msg":"获取成功"}"#;
    assert_eq!(
        CountUpdate::parse_customer(customer).unwrap(),
        CountUpdate::Count(1)
    );
    let part = InboxPartFrame {
        data: InboxFeedPart {
            part: 2,
            parts: 2,
            ..InboxFeedPart::default()
        },
        code: 200,
        msg: msgs::SALES_LIVE.into(),
    };
    let text = serde_json::to_string(&part).unwrap();
    assert!(
        text.starts_with(r#"{"data":{"latest_activity":null,"data_count":0"#),
        "{text}"
    );
    match InboxUpdate::parse(&text).unwrap() {
        InboxUpdate::Page(f) => assert!(f.completes_page()),
        other => panic!("{other:?}"),
    }
    let whole = InboxFeed::default();
    assert!(whole.completes_page());
    let first = InboxFeed {
        part: Some(1),
        parts: Some(2),
        ..InboxFeed::default()
    };
    assert!(!first.completes_page());
}

#[test]
fn client_frames_leave_out_what_they_do_not_carry() {
    let f = ClientFrame {
        creds: Some(FrameCreds {
            user_id: 3,
            rand_str: "r".into(),
            timestamp: "1".into(),
        }),
        u_id: Some(9),
        after_id: Some(0),
        ..ClientFrame::of(FrameType::Register)
    };
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#"{"type":"register","user_id":3,"rand_str":"r","timestamp":"1","u_id":9,"after_id":0}"#
    );
    assert_eq!(
        serde_json::to_string(&ClientFrame::of(FrameType::QueryNum)).unwrap(),
        r#"{"type":"query_num"}"#
    );
    assert_eq!(FrameType::parse("lived"), Some(FrameType::Lived));
    assert_eq!(FrameType::parse("dance"), None);
}

#[test]
fn search_hit_parts_split_at_the_match_in_characters() {
    let hit = SearchHit {
        id: 1,
        customer_id: 2,
        name: "客户".into(),
        src: String::new(),
        send_type: SendType::CustomerToSales,
        date_time: String::new(),
        time_text: String::new(),
        snippet: "…我想开发票，谢谢".into(),
        hit_start: 4,
        hit_len: 2,
    };
    assert_eq!(
        hit.parts(),
        ("…我想开".into(), "发票".into(), "，谢谢".into())
    );
    let out_of_range = SearchHit {
        hit_start: 50,
        hit_len: -3,
        ..hit
    };
    assert_eq!(
        out_of_range.parts(),
        ("…我想开发票，谢谢".into(), String::new(), String::new())
    );
}
