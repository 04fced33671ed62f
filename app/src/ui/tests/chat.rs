use super::*;

fn sales(id: i64, send_type: SendType, text: &str, read: bool) -> SalesMessage {
    SalesMessage {
        id,
        customer_id: 7,
        customer_avatar: String::new(),
        user_id: 1,
        src: String::new(),
        name: "客户".into(),
        date_time: "2026-11-29T10:00:00".into(),
        send_type,
        is_customer_already_read: i64::from(read),
        is_customer_already_read_text: if read { "已读" } else { "未读" }.into(),
        content: Content::from(&MessageContent::text(text)),
        echo: None,
    }
}

fn item(id: i64, send_type: SendType, text: &str, read: bool) -> Msg {
    Msg::from_sales(sales(id, send_type, text, read))
}

const FROM_REP: SendType = SendType::SalesToCustomer;
const FROM_CUSTOMER: SendType = SendType::CustomerToSales;

fn pending(text: &str) -> Msg {
    Msg {
        key: "web-1".into(),
        id: None,
        client_id: Some("web-1".into()),
        mine: true,
        system: false,
        content: Content::from(&MessageContent::text(text)),
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
            .map(|i| item(*i, FROM_CUSTOMER, "x", true))
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
    merge(&mut l, vec![item(5, FROM_REP, "hi", false)]);
    assert_eq!(l[0].read, Some(false));
    merge(&mut l, vec![item(5, FROM_REP, "hi", true)]);
    assert_eq!(l[0].read, Some(true));
    merge(&mut l, vec![item(5, FROM_REP, "hi", false)]);
    assert_eq!(l[0].read, Some(true));
}

#[test]
fn pushed_own_message_takes_over_the_sending_bubble() {
    let mut l = vec![pending("你好")];
    merge(&mut l, vec![item(9, FROM_REP, "你好", false)]);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, Some(9));
    assert_eq!(l[0].client_id.as_deref(), Some("web-1"));
    // A different text is a different message.
    merge(&mut l, vec![item(10, FROM_REP, "再见", false)]);
    assert_eq!(ids(&l), vec![Some(9), Some(10)]);
}

#[test]
fn sides_are_told_apart() {
    let m = item(1, FROM_CUSTOMER, "x", true);
    assert!(!m.mine && m.read.is_none());
    assert!(item(1, SendType::SystemTip, "x", true).system);
    let c = CustomerMessage {
        id: 1,
        customer_id: 7,
        user_id: 1,
        customer: String::new(),
        from_user_name: String::new(),
        user_avatar: String::new(),
        user_avator: String::new(),
        customer_headimgurl: String::new(),
        date_time: String::new(),
        send_type: FROM_CUSTOMER,
        is_first_info: true,
        content: Content::default(),
    };
    let m = Msg::from_customer(c);
    assert!(m.mine && m.read.is_none());
}

#[test]
fn a_rep_push_names_the_customer_from_their_messages() {
    let push = crate::api::chat::SalesPushData {
        ret_data: vec![
            sales(1, FROM_REP, "a", false),
            sales(2, FROM_CUSTOMER, "b", true),
        ],
        count: 2,
        data_count: 2,
    };
    match ChatEvent::from(SalesChatFrame::Push(push)) {
        ChatEvent::Msgs(msgs, name) => {
            assert_eq!(ids(&msgs), vec![Some(1), Some(2)]);
            assert_eq!(name.as_deref(), Some("客户"));
        }
        other => panic!("{other:?}"),
    }
    let own_only = crate::api::chat::SalesPushData {
        ret_data: vec![sales(3, FROM_REP, "a", false)],
        count: 1,
        data_count: 1,
    };
    assert!(matches!(
        ChatEvent::from(SalesChatFrame::Push(own_only)),
        ChatEvent::Msgs(_, None)
    ));
}

#[test]
fn short_time_formats() {
    assert_eq!(short_time("2018-09-21T15:18:01.548"), "09-21 15:18");
    assert_eq!(short_time("2018-09-21 15:18:01"), "09-21 15:18");
    assert_eq!(short_time(""), "");
}

fn failure(body: &str) -> Failure {
    crate::api::read_answer::<crate::api::Empty>(body).expect_err("a refusal")
}

#[test]
fn a_refused_file_is_not_retried_but_a_failed_transfer_is() {
    let refused = failure(
        r#"{"code":402,"msg":"请求异常","data":{"file":[{"message":"只能上传JPEG、PNG、GIF、WebP图片或MP4视频","code":"invalid"}]}}"#,
    );
    assert_eq!(
        upload_failed(&refused),
        UploadFailed {
            why: "只能上传JPEG、PNG、GIF、WebP图片或MP4视频".into(),
            retry: false
        }
    );
    let server_error = failure(r#"{"code":500,"msg":"服务器错误","data":{}}"#);
    assert!(upload_failed(&server_error).retry);
    let rate = failure(r#"{"code":429,"msg":"操作过于频繁","data":{"retry_after":3}}"#);
    assert!(upload_failed(&rate).retry);
    let offline = Failure::Transport("网络不可用".into());
    assert_eq!(
        upload_failed(&offline),
        UploadFailed {
            why: "网络不可用".into(),
            retry: true
        }
    );
    // A 402 on another field is not a verdict on the file.
    let other = failure(
        r#"{"code":402,"msg":"请求异常","data":{"u_id":[{"message":"缺少","code":"required"}]}}"#,
    );
    assert!(upload_failed(&other).retry);
}
