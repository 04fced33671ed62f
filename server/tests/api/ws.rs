//! The sockets, driven by real WebSocket clients against a real server, on
//! SQLite and PostgreSQL.

use crate::both;
use crate::common::*;
use crate::wsutil::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn setup(b: Backend) -> (TestApp, Rest, Who, Who) {
    let app = spawn_app(b).await;
    let rest = Rest::new(&app.base);
    let (u, k) = app.pair().await;
    (app, rest, u, k)
}

/// A chat socket of customer `k` registered with rep `u`; returns it after the 199.
async fn customer_chat(app: &TestApp, k: &Who, register: Value) -> Ws {
    let mut ws = connect(&ws_url(&app.base, C_CHAT, k)).await;
    ws.send(register).await;
    assert_eq!(ws.next().await, json!({"code": 199, "msg": "注册成功"}));
    ws
}

async fn rep_chat(app: &TestApp, u: &Who, register: Value) -> Ws {
    let mut ws = connect(&ws_url(&app.base, S_CHAT, u)).await;
    ws.send(register).await;
    assert_eq!(ws.next().await, json!({"code": 199, "msg": "注册成功"}));
    ws
}

async fn customer_unread(rest: &Rest, k: &Who, u: &Who) -> i64 {
    rest.get(C_NUM, k, &format!("u_id={}", u.id)).await["data"]["chatinfo_count"]
        .as_i64()
        .unwrap()
}

async fn badge(rest: &Rest, u: &Who) -> i64 {
    rest.get(S_BADGE_REST, u, "").await["data"]["chatinfo_count"]
        .as_i64()
        .unwrap()
}

async fn chat_register_pushes_pending_then_live(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let m1 = rest.rep_says(&u, &k, "一").await;
    let m2 = rest.rep_says(&u, &k, "二").await;
    let mut ws = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    let p = ws.next().await;
    assert_eq!(p["code"], 200);
    assert_eq!(p["msg"], "实时推送公众号-最新聊天信息成功");
    assert_eq!(ids(&p), vec![m1, m2]);
    assert_eq!(p["data"]["data_count"], 2);
    assert_eq!(p["data"]["count"], 2);
    assert_eq!(p["data"]["unread_msg_num"], 2);
    let item = &p["data"]["ret_data"][0];
    assert_eq!(item["msg"], "一");
    assert_eq!(item["send_type"], 1);
    assert_eq!(item["customer_id"], k.id);
    assert_eq!(item["user_id"], u.id);
    assert_eq!(item["is_first_info"], true);
    let dt = item["dateTime"].as_str().unwrap();
    assert_eq!(dt.len(), 19, "{dt}");
    assert_eq!(&dt[10..11], " ");
    // Input mode: what was delivered is read.
    assert!(ws.lived().await.is_empty());
    assert_eq!(customer_unread(&rest, &k, &u).await, 0);

    // Live: the rep's message, then the customer's own from REST.
    let m3 = rest.rep_says(&u, &k, "三").await;
    let p = ws.next().await;
    assert_eq!(ids(&p), vec![m3]);
    assert_eq!(p["data"]["unread_msg_num"], 1);
    let m4 = rest.customer_says(&k, &u, "四").await;
    let p = ws.next().await;
    assert_eq!(ids(&p), vec![m4]);
    assert_eq!(p["data"]["ret_data"][0]["send_type"], 2);
    assert_eq!(p["data"]["ret_data"][0]["msg"], "四");
    assert!(ws.lived().await.is_empty());
    assert_eq!(customer_unread(&rest, &k, &u).await, 0);
}

async fn chat_auth_in_frames_or_url(b: Backend) {
    let (app, _rest, u, k) = setup(b).await;
    let c2 = app.company("别家").await;
    let other = app.customer(c2, "另一个客户").await;

    // Credentials in the register frame, timestamp as a number…
    let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    ws.send(signed(&k, json!({"type": "register", "u_id": u.id})))
        .await;
    assert_eq!(ws.next().await["code"], 199);
    // …later frames need none.
    assert!(ws.lived().await.is_empty());

    // …or as a string.
    let ts = now_ms().to_string();
    let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    ws.send(
        json!({"type": "register", "u_id": u.id, "user_id": k.id.to_string(), "timestamp": ts,
        "rand_str": app::sign::rand_str(&ts, &k.token)}),
    )
    .await;
    assert_eq!(ws.next().await["code"], 199);

    // Nothing signed: the error frame and close, nothing else.
    for frame in [
        json!({"type": "lived"}),
        json!({"type": "register", "u_id": u.id, "user_id": k.id}),
    ] {
        let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
        ws.send(frame).await;
        let e = ws.next().await;
        assert_eq!(e["code"], 400);
        assert_eq!(e["msg"], "公众号token验证未通过");
        assert_eq!(ws.expect_close().await, Some(1008));
    }

    // A bad signature, in the frame or in the URL.
    let mut ws = connect(&ws_url_unsigned(&app.base, C_CHAT)).await;
    let mut f = signed(&k, json!({"type": "register", "u_id": u.id}));
    f["rand_str"] = json!("0123456789abcdef0123456789abcdef");
    ws.send(f).await;
    assert_eq!(ws.next().await["code"], 400);
    assert_eq!(ws.expect_close().await, Some(1008));
    let bad = Who {
        id: k.id,
        token: "wrong".into(),
    };
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &bad)).await;
    assert_eq!(ws.next().await["code"], 400);
    assert_eq!(ws.expect_close().await, Some(1008));

    // Forged: signed as k, claiming another customer's id.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    ws.send(json!({"type": "register", "u_id": u.id, "user_id": other.id}))
        .await;
    let e = ws.next().await;
    assert_eq!(e["code"], 400, "{e}");
    assert_eq!(ws.expect_close().await, Some(1008));
    // Forged: URL signed as k, frame signed as someone else.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &k)).await;
    ws.send(signed(&other, json!({"type": "register", "u_id": u.id})))
        .await;
    assert_eq!(ws.next().await["code"], 400);
    assert_eq!(ws.expect_close().await, Some(1008));

    // A customer is not a sales user.
    let mut ws = connect(&ws_url(&app.base, S_CHAT, &k)).await;
    let e = ws.next().await;
    assert_eq!(e["code"], 400);
    assert_eq!(e["msg"], "雷达token验证未通过");
    assert_eq!(ws.expect_close().await, Some(1008));

    // Another company's customer has no relation with the rep: 307 and close.
    let mut ws = connect(&ws_url(&app.base, C_CHAT, &other)).await;
    ws.send(json!({"type": "register", "u_id": u.id})).await;
    let e = ws.next().await;
    assert_eq!(e["code"], 307);
    assert_eq!(e["msg"], "用户-客户关系不存在");
    assert_eq!(ws.expect_close().await, Some(1008));
}

async fn chat_send_over_socket(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let mut ws = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    ws.send(json!({"u_id": u.id.to_string(), "user_id": k.id.to_string(), "content": text("经由套接字")})).await;
    let ack = ws.next().await;
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["msg"], "小程序消息-发送成功");
    let id = ack["data"]["id"].as_i64().unwrap();
    // Then its own push.
    let p = ws.next().await;
    assert_eq!(ids(&p), vec![id]);
    assert_eq!(p["data"]["ret_data"][0]["msg"], "经由套接字");
    // The rep sees it exactly as a REST send.
    let r = rest.get(S_GET, &u, &format!("customer_id={}", k.id)).await;
    assert_eq!(r["data"]["ret_data"][0]["id"], id);
    assert_eq!(r["data"]["ret_data"][0]["send_type"], 2);

    // Content as an object, with client_msg_id: a retry stores nothing new.
    let f = json!({"content": {"info_type": 1, "msg": "一次"}, "client_msg_id": "dev-1"});
    ws.send(f.clone()).await;
    let a = ws.next_where(|v| v["msg"] == "小程序消息-发送成功").await;
    ws.send(f).await;
    let b2 = ws.next_where(|v| v["msg"] == "小程序消息-发送成功").await;
    assert_eq!(a["data"]["id"], b2["data"]["id"]);
    assert_eq!(b2["data"]["duplicate"], true);
    assert_eq!(app.count("chat_message").await, 2);

    // Invalid content: the same field errors as REST, nothing stored, still open.
    for bad in [
        json!({"content": "{not json"}),
        json!({"content": {"info_type": 9}}),
        json!({"content": {"info_type": 1, "msg": ""}}),
    ] {
        ws.send(bad).await;
        let e = ws.next_where(|v| v["code"] != 200).await;
        assert_eq!(e["code"], 402, "{e}");
        assert!(e["data"]["content"].is_array(), "{e}");
    }
    ws.send(json!({"content": text("x"), "u_id": "abc"})).await;
    let e = ws.next().await;
    assert_eq!(e["code"], 402);
    assert!(e["data"]["u_id"].is_array());
    assert_eq!(app.count("chat_message").await, 2);
    ws.lived().await;
}

async fn chat_query_num_output_mode_lived_closed(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let mut ws = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    ws.send(json!({"type": "query_num"})).await;
    assert_eq!(
        ws.next().await,
        json!({"data": {"unread_msg_num": 0}, "code": 200, "msg": "查询成功-获取聊天数量"})
    );
    // Output mode: pushed, but not marked read.
    let m = rest.rep_says(&u, &k, "没读").await;
    assert_eq!(ids(&ws.next().await), vec![m]);
    assert!(ws.lived().await.is_empty());
    assert_eq!(customer_unread(&rest, &k, &u).await, 1);
    ws.send(json!({"type": "query_num", "u_id": u.id})).await;
    assert_eq!(ws.next().await["data"]["unread_msg_num"], 1);
    // register puts it back into input mode: the pending message is pushed and read.
    ws.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(ws.next().await["code"], 199);
    assert_eq!(ids(&ws.next().await), vec![m]);
    ws.lived().await;
    assert_eq!(customer_unread(&rest, &k, &u).await, 0);
    ws.send(json!({"type": "closed", "u_id": u.id, "user_id": k.id}))
        .await;
    assert_eq!(ws.expect_close().await, Some(1000));
}

async fn chat_bad_input(b: Backend) {
    let (app, _rest, u, k) = setup(b).await;
    let url = ws_url(&app.base, C_CHAT, &k);

    // Bad JSON: the original's 400 "报错" frame, then close.
    for bad in ["{not json", "[1,2]", "\"register\""] {
        let mut ws = connect(&url).await;
        ws.send_raw(Message::Text(bad.into())).await;
        let e = ws.next().await;
        assert_eq!(e["code"], 400);
        let msg = e["msg"].as_str().unwrap();
        assert!(
            msg.starts_with("报错:") && msg.ends_with("终止连接"),
            "{msg}"
        );
        assert_eq!(ws.expect_close().await, Some(1007));
    }

    let mut ws = connect(&url).await;
    // Unknown or missing type: an error frame, not silence; the socket stays open.
    ws.send(json!({"type": "dance"})).await;
    let e = ws.next().await;
    assert_eq!(e["code"], 402);
    assert!(e["data"]["type"].is_array());
    ws.send(json!({"u_id": u.id})).await;
    assert_eq!(ws.next().await["code"], 402);
    // Non-numeric ids: a field error.
    ws.send(json!({"type": "register", "u_id": "1; DROP TABLE relation"}))
        .await;
    let e = ws.next().await;
    assert_eq!(e["code"], 402);
    assert!(e["data"]["u_id"].is_array());
    ws.send(json!({"type": "register", "u_id": u.id, "after_id": "x"}))
        .await;
    assert!(ws.next().await["data"]["after_id"].is_array());
    assert!(ws.lived().await.is_empty());
    // register without u_id: the original's 401 and close.
    ws.send(json!({"type": "register"})).await;
    let e = ws.next().await;
    assert_eq!(e["code"], 401);
    assert_eq!(e["msg"], "user_id和uid不能为空,终止连接");
    assert_eq!(ws.expect_close().await, Some(1008));

    // A frame over 64 KiB: close 1009.
    let mut ws = connect(&url).await;
    let big = json!({"type": "lived", "pad": "x".repeat(70 * 1024)});
    ws.send_raw(Message::Text(big.to_string().into())).await;
    assert_eq!(ws.expect_close().await, Some(1009));
    // Just under the limit is fine.
    let mut ws = connect(&url).await;
    ws.send(json!({"type": "lived", "pad": "x".repeat(60 * 1024)}))
        .await;
    assert_eq!(ws.next().await["code"], 270);

    // A flood: error frame and close.
    let mut ws = connect(&url).await;
    for _ in 0..200 {
        if !ws
            .send_raw(Message::Text(json!({"type": "lived"}).to_string().into()))
            .await
        {
            break;
        }
    }
    let e = ws.next_where(|v| v["code"] != 270).await;
    assert_eq!(e["code"], 429);
    assert_eq!(ws.expect_close().await, Some(1008));

    // The server is fine afterwards.
    let _ws = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
}

async fn customer_count_socket(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    rest.rep_says(&u, &k, "1").await;
    let mut ws = connect(&ws_url(&app.base, C_NUM_WS, &k)).await;
    ws.send(json!({"type": "register", "u_id": u.id, "user_id": k.id}))
        .await;
    assert_eq!(
        ws.next().await,
        json!({"msg_data": {"unread_msg_num": 1}, "code": 200, "msg": "获取成功"})
    );
    // Up on a rep message; the customer's own message changes nothing.
    rest.customer_says(&k, &u, "我").await;
    rest.rep_says(&u, &k, "2").await;
    assert_eq!(
        ws.next().await,
        json!({"msg_data": {"unread_msg_num": 2}, "code": 200, "msg": "实时获取公众号【消息数量】成功"})
    );
    // Down on a read through REST…
    rest.get(C_GET, &k, &format!("u_id={}", u.id)).await;
    assert_eq!(ws.next().await["msg_data"]["unread_msg_num"], 0);
    // …and through the chat socket in input mode.
    rest.rep_says(&u, &k, "3").await;
    assert_eq!(ws.next().await["msg_data"]["unread_msg_num"], 1);
    let mut chat = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    chat.next().await;
    assert_eq!(ws.next().await["msg_data"]["unread_msg_num"], 0);
    ws.send(json!({"type": "query_num"})).await;
    assert_eq!(ws.next().await["msg"], "获取成功");
    assert!(ws.lived().await.is_empty());
    ws.send(json!({"type": "closed"})).await;
    assert_eq!(ws.expect_close().await, Some(1000));
}

async fn resume_after_gap(b: Backend) {
    // 120 messages in a row: beyond one user's write budget.
    let app = spawn_with(b, |c| c.write_rate = 0.0).await;
    let rest = Rest::new(&app.base);
    let (u, k) = app.pair().await;
    let a = rest.rep_says(&u, &k, "a").await;
    let bb = rest.customer_says(&k, &u, "b").await;
    let mut ws = customer_chat(
        &app,
        &k,
        json!({"type": "register", "u_id": u.id, "after_id": 0}),
    )
    .await;
    // after_id replays everything, both directions, in order.
    assert_eq!(ids(&ws.next().await), vec![a, bb]);
    ws.close().await;

    // While away: both sides write, from REST and from another device.
    let c = rest.rep_says(&u, &k, "c").await;
    let d = rest.customer_says(&k, &u, "d").await;
    let mut other = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    other.send(json!({"content": text("e")})).await;
    let e = other
        .next_where(|v| v["msg"] == "小程序消息-发送成功")
        .await["data"]["id"]
        .as_i64()
        .unwrap();
    let f = rest.rep_says(&u, &k, "f").await;

    let mut ws = customer_chat(
        &app,
        &k,
        json!({"type": "register", "u_id": u.id, "after_id": bb}),
    )
    .await;
    let mut got = Vec::new();
    while got.len() < 4 {
        got.extend(ids(&ws.next().await));
    }
    assert_eq!(got, vec![c, d, e, f]);
    // Then live, without a duplicate of the replay.
    let g = rest.rep_says(&u, &k, "g").await;
    assert_eq!(ids(&ws.next().await), vec![g]);
    assert!(ws.lived().await.is_empty());

    // A resume from a point beyond the newest message does not hide later messages.
    let mut ws = customer_chat(
        &app,
        &k,
        json!({"type": "register", "u_id": u.id, "after_id": 1_000_000}),
    )
    .await;
    assert!(ws.lived().await.is_empty());
    let h = rest.rep_says(&u, &k, "h").await;
    assert_eq!(ids(&ws.next().await), vec![h]);

    // A long replay is split into batches, in order, with nothing lost.
    let mut expected = Vec::new();
    for i in 0..120 {
        expected.push(if i % 3 == 0 {
            rest.customer_says(&k, &u, "x").await
        } else {
            rest.rep_says(&u, &k, "y").await
        });
    }
    let mut ws = customer_chat(
        &app,
        &k,
        json!({"type": "register", "u_id": u.id, "after_id": h}),
    )
    .await;
    let mut got = Vec::new();
    while got.len() < expected.len() {
        got.extend(ids(&ws.next().await));
    }
    assert_eq!(got, expected);
    assert!(ws.lived().await.is_empty());
}

async fn two_devices_of_one_customer(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let mut a = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    let mut b2 = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    a.send(json!({"content": text("从手机")})).await;
    let ack = a.next().await;
    let id = ack["data"]["id"].as_i64().unwrap();
    assert_eq!(ids(&a.next().await), vec![id]);
    assert_eq!(ids(&b2.next().await), vec![id]);
    let r = rest.rep_says(&u, &k, "两边都有").await;
    assert_eq!(ids(&a.next().await), vec![r]);
    assert_eq!(ids(&b2.next().await), vec![r]);
    assert!(a.lived().await.is_empty());
    assert!(b2.lived().await.is_empty());
    assert_eq!(customer_unread(&rest, &k, &u).await, 0);
    a.close().await;
    b2.close().await;
    // Closed sockets leave no subscription behind.
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    while app.st.bus.subscriber_count() > 0 || app.st.bus.open_sockets() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sockets not released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn isolation_between_pairs(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let company: i64 = sqlx::query_scalar("SELECT company_id FROM sales_user WHERE id = $1")
        .bind(u.id)
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    let k2 = app.customer(company, "客户二").await;
    app.relate(&u, &k2).await;
    let u2 = app.user(company, "销售二").await;
    app.relate(&u2, &k).await;

    let mut a = customer_chat(&app, &k, json!({"type": "register", "u_id": u.id})).await;
    let mut other_customer =
        customer_chat(&app, &k2, json!({"type": "register", "u_id": u.id})).await;
    let mut other_rep = customer_chat(&app, &k, json!({"type": "register", "u_id": u2.id})).await;
    let mut num2 = connect(&ws_url(&app.base, C_NUM_WS, &k2)).await;
    num2.send(json!({"type": "register", "u_id": u.id})).await;
    assert_eq!(num2.next().await["msg_data"]["unread_msg_num"], 0);
    let mut rep_k2 = rep_chat(&app, &u, json!({"type": "register", "customer_id": k2.id})).await;

    let m = rest.rep_says(&u, &k, "只给k").await;
    let reply = rest.customer_says(&k, &u, "k的回复").await;
    // Both messages of this pair reach its socket, in one push or in two.
    let mut got = ids(&a.next().await);
    if got.len() < 2 {
        got.extend(ids(&a.next().await));
    }
    assert_eq!(got, vec![m, reply]);
    for ws in [&mut other_customer, &mut other_rep, &mut num2, &mut rep_k2] {
        assert!(
            ws.lived().await.is_empty(),
            "another conversation's socket got a push"
        );
    }
    let m2 = rest.rep_says(&u, &k2, "只给k2").await;
    let p = other_customer.next().await;
    assert_eq!(ids(&p), vec![m2]);
    assert_eq!(p["data"]["ret_data"][0]["customer_id"], k2.id);
    assert_eq!(ids(&rep_k2.next().await), vec![m2]);
}

async fn rep_chat_feed(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let c1 = rest.customer_says(&k, &u, "在吗").await;
    let mut ws = rep_chat(
        &app,
        &u,
        json!({"type": "register", "customer_id": k.id, "user_id": u.id}),
    )
    .await;
    // Pending customer messages, marked read by the rep.
    let p = ws.next().await;
    assert_eq!(p["msg"], "实时推送雷达-最新聊天信息成功");
    assert_eq!(p["code"], 200);
    assert_eq!(ids(&p), vec![c1]);
    assert_eq!(p["data"]["count"], 1);
    assert_eq!(p["data"]["ret_data"][0]["name"], "客户");
    assert_eq!(p["data"]["ret_data"][0]["echo"], false);
    ws.lived().await;
    assert_eq!(badge(&rest, &u).await, 0);
    // Live customer message.
    let c2 = rest.customer_says(&k, &u, "喂").await;
    assert_eq!(ids(&ws.next().await), vec![c2]);
    // The rep's own message from another tab/REST is echoed, marked, unread by the customer.
    let r1 = rest.rep_says(&u, &k, "您好").await;
    let p = ws.next().await;
    assert_eq!(ids(&p), vec![r1]);
    assert_eq!(p["data"]["ret_data"][0]["echo"], true);
    assert_eq!(p["data"]["ret_data"][0]["is_customer_already_read"], 0);
    // The customer reads: a receipt with ids.
    rest.get(C_GET, &k, &format!("u_id={}", u.id)).await;
    assert_eq!(
        ws.next().await,
        json!({"data": {"is_customer_already_read": 1, "customer_id": k.id, "last_read_id": r1},
               "code": 202, "msg": "实时通知小程序新消息-已读通知"})
    );
    // Resume: after_id replays both directions, and the current receipt comes first.
    ws.close().await;
    let r2 = rest.rep_says(&u, &k, "还在吗").await;
    let c3 = rest.customer_says(&k, &u, "在").await;
    let mut ws = rep_chat(
        &app,
        &u,
        json!({"type": "register", "customer_id": k.id, "after_id": r1}),
    )
    .await;
    assert_eq!(ws.next().await["data"]["last_read_id"], r1);
    assert_eq!(ids(&ws.next().await), vec![r2, c3]);
    assert!(ws.lived().await.is_empty());

    // Bad registrations.
    let mut bad = connect(&ws_url(&app.base, S_CHAT, &u)).await;
    bad.send(json!({"type": "register", "customer_id": "abc"}))
        .await;
    assert!(bad.next().await["data"]["customer_id"].is_array());
    bad.send(json!({"type": "register"})).await;
    assert_eq!(bad.next().await["code"], 401);
    assert_eq!(bad.expect_close().await, Some(1008));
    let c2co = app.company("别家").await;
    let stranger = app.customer(c2co, "陌生人").await;
    let mut bad = connect(&ws_url(&app.base, S_CHAT, &u)).await;
    bad.send(json!({"type": "register", "customer_id": stranger.id}))
        .await;
    assert_eq!(bad.next().await["code"], 307);
    assert_eq!(bad.expect_close().await, Some(1008));
}

async fn rep_badge_and_contact_list(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let mut badge_ws = connect(&ws_url(&app.base, S_BADGE, &u)).await;
    badge_ws.send(json!({"type": "register"})).await;
    assert_eq!(
        badge_ws.next().await,
        json!({"data": {"unread_msg_num": 0}, "code": 200, "msg": "注册成功返回【消息数量】成功"})
    );
    let mut list = connect(&ws_url(&app.base, S_LIST, &u)).await;
    list.send(json!({"type": "register"})).await;
    let r = list.next().await;
    assert_eq!(r["msg"], "注册成功返回【消息数量】成功");
    assert_eq!(r["data"]["ret_data"], json!([]));
    assert_eq!(r["data"]["unread_msg_num"], 0);

    // Up.
    let c1 = rest.customer_says(&k, &u, "你好").await;
    assert_eq!(
        badge_ws.next().await,
        json!({"data": {"unread_msg_num": 1}, "code": 200, "msg": "实时获取雷达【消息数量】成功"})
    );
    let r = list.next().await;
    assert_eq!(r["msg"], "实时获取雷达【消息数量】成功");
    assert_eq!(r["data"]["unread_msg_num"], 1);
    let entry = &r["data"]["ret_data"][0];
    assert_eq!(entry["customer_id"], k.id);
    assert_eq!(entry["count"], 1);
    assert_eq!(entry["msg"], "你好");
    assert_eq!(entry["last_msg_id"], c1);
    // Down, on a read by REST.
    rest.get(S_GET, &u, &format!("customer_id={}", k.id)).await;
    assert_eq!(badge_ws.next().await["data"]["unread_msg_num"], 0);
    let r = list.next().await;
    assert_eq!(r["data"]["ret_data"][0]["count"], 0);
    // The rep's own message moves the list (last message), not the badge.
    let r1 = rest.rep_says(&u, &k, "回复").await;
    let r = list.next().await;
    assert_eq!(r["data"]["ret_data"][0]["last_msg_id"], r1);
    assert!(badge_ws.lived().await.is_empty());
    // query_num: the current count / any page.
    badge_ws.send(json!({"type": "query_num"})).await;
    assert_eq!(badge_ws.next().await["data"]["unread_msg_num"], 0);
    list.send(json!({"type": "query_num", "current_page": 2, "length": 1}))
        .await;
    let r = list.next().await;
    assert_eq!(r["data"]["ret_data"], json!([]));
    assert_eq!(r["data"]["data_count"], 1);
    list.send(json!({"type": "query_num", "current_page": "x"}))
        .await;
    assert_eq!(list.next().await["code"], 402);
    assert!(list.lived().await.is_empty());
}

async fn contact_list_pushes_on_article_activity(b: Backend) {
    let app = spawn_app(b).await;
    let company = app.company("雷达公司").await;
    let u = app.user(company, "张聪").await;
    let k = app.customer(company, "读者").await;
    let article = radar::service::article::create_article(&app.st, company, "好文", 1, 0)
        .await
        .unwrap();
    let mut list = connect(&ws_url(&app.base, S_LIST, &u)).await;
    list.send(json!({"type": "register"})).await;
    let r = list.next().await;
    assert_eq!(r["data"]["latest_activity"], Value::Null);

    // A customer with no chat reads the article the rep shared: the page of
    // chats is unchanged, but the list is pushed with the activity.
    let v = app
        .post_form(
            &format!("/zhugeleida/gongzhonghao/article/view_article/{article}"),
            &k,
            "",
            &[("uid", &u.id.to_string())],
        )
        .await;
    assert_eq!(code(&v), 200, "{v}");
    let r = list.next().await;
    assert_eq!(r["msg"], "实时获取雷达【消息数量】成功");
    assert_eq!(r["data"]["ret_data"], json!([]));
    assert_eq!(r["data"]["latest_activity"]["customer_id"], k.id);
    let first = r["data"]["latest_activity"]["time"].as_i64().unwrap();
    app.st.clock.advance_ms(1000);
    app.post_form(
        &format!("/zhugeleida/gongzhonghao/article/view_article/{article}"),
        &k,
        "",
        &[("uid", &u.id.to_string())],
    )
    .await;
    let r = list.next().await;
    assert!(r["data"]["latest_activity"]["time"].as_i64().unwrap() > first);
    assert!(list.lived().await.is_empty());
}

async fn plain_get_on_a_socket_path(b: Backend) {
    let app = spawn_app(b).await;
    let (_u, k) = app.pair().await;
    let v = app.get(C_CHAT, &k, "").await;
    assert_eq!(code(&v), 402);
    assert!(v.get("data").is_some() && v.get("note").is_some());
}

/// Badges and inbox pages the server computed for sockets so far.
fn computed(app: &TestApp) -> (u64, u64) {
    (
        app.st.rep_views.badges_computed(),
        app.st.rep_views.pages_built(),
    )
}

/// A rep's badge and inbox sockets (and a second tab's) share one computation
/// of the badge and of page 1 per change: one customer message computes each
/// once. With the rep's chat open, the rep's read of the message is a second
/// change, and at most one more of each.
async fn one_message_computes_the_badge_and_page_once(b: Backend) {
    let (app, rest, u, k) = setup(b).await;
    let mut socks = Vec::new();
    for _tab in 0..2 {
        for path in [S_BADGE, S_LIST] {
            let mut ws = connect(&ws_url(&app.base, path, &u)).await;
            ws.send(json!({"type": "register"})).await;
            assert_eq!(ws.next().await["code"], 200);
            socks.push(ws);
        }
    }
    let before = computed(&app);
    rest.customer_says(&k, &u, "一").await;
    for ws in socks.iter_mut() {
        let pushed = ws.lived().await;
        assert_eq!(pushed.len(), 1, "{pushed:?}");
        assert_eq!(pushed[0]["data"]["unread_msg_num"], 1);
    }
    let after = computed(&app);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));

    let mut chat = rep_chat(&app, &u, json!({"type": "register", "customer_id": k.id})).await;
    assert_eq!(ids(&chat.next().await).len(), 1);
    chat.lived().await;
    for ws in socks.iter_mut() {
        ws.lived().await;
    }
    let before = computed(&app);
    rest.customer_says(&k, &u, "二").await;
    assert_eq!(ids(&chat.next().await).len(), 1);
    chat.lived().await;
    // The message and the chat's read of it may reach a socket as one wake-up,
    // which then finds its badge unchanged and pushes nothing; whatever was
    // pushed must end at 0.
    for ws in socks.iter_mut() {
        let mut pushed = Vec::new();
        for _ in 0..5 {
            pushed.extend(ws.lived().await);
            if pushed
                .last()
                .is_none_or(|l| l["data"]["unread_msg_num"] == 0)
            {
                break;
            }
        }
        if let Some(last) = pushed.last() {
            assert_eq!(last["data"]["unread_msg_num"], 0, "{pushed:?}");
        }
    }
    let after = computed(&app);
    let (badges, pages) = (after.0 - before.0, after.1 - before.1);
    assert!(
        (1..=2).contains(&badges) && (1..=2).contains(&pages),
        "{badges} {pages}"
    );
    assert_eq!(badge(&rest, &u).await, 0);
}

/// A register that pushes a long unread backlog marks it read once, at the
/// end of the round: one read event, whatever the number of batches.
async fn a_round_marks_read_once(b: Backend) {
    let app = spawn_with(b, |c| c.write_rate = 0.0).await;
    let rest = Rest::new(&app.base);
    let (u, k) = app.pair().await;
    let mut sent = Vec::new();
    for i in 0..(radar::ws::BATCH * 2 + 7) {
        sent.push(rest.customer_says(&k, &u, &i.to_string()).await);
    }
    let mut events = app.st.bus.subscribe();
    let mut ws = rep_chat(&app, &u, json!({"type": "register", "customer_id": k.id})).await;
    let mut got = Vec::new();
    while got.len() < sent.len() {
        got.extend(ids(&ws.next().await));
    }
    assert_eq!(got, sent);
    assert!(ws.lived().await.is_empty());
    assert_eq!(badge(&rest, &u).await, 0);
    let mut reads = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let radar::bus::Event::SalesRead { up_to_id, .. } = ev {
            reads.push(up_to_id);
        }
    }
    assert_eq!(reads, vec![*sent.last().expect("sent")]);
}

both!(
    one_message_computes_the_badge_and_page_once,
    a_round_marks_read_once,
    chat_register_pushes_pending_then_live,
    chat_auth_in_frames_or_url,
    chat_send_over_socket,
    chat_query_num_output_mode_lived_closed,
    chat_bad_input,
    customer_count_socket,
    resume_after_gap,
    two_devices_of_one_customer,
    isolation_between_pairs,
    rep_chat_feed,
    rep_badge_and_contact_list,
    contact_list_pushes_on_article_activity,
    plain_get_on_a_socket_path,
);
