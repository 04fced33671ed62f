//! The chat REST API of both sides (API doc 1.1–1.4, semantics §10.3–10.6).

use crate::both;
use crate::common::*;
use crate::wsutil::{
    C_GET, C_HIST, C_NUM, C_SEND, S_BADGE_REST as S_NUM, S_CONTACT, S_GET, S_HIST, S_SEND,
};
use serde_json::{json, Value};

async fn customer_says(app: &TestApp, k: &Who, u: &Who, msg: &str) -> Value {
    let uid = u.id.to_string();
    app.post_form(
        C_SEND,
        k,
        "",
        &[("u_id", &uid), ("send_type", "2"), ("content", &text(msg))],
    )
    .await
}

async fn rep_says(app: &TestApp, u: &Who, k: &Who, msg: &str) -> Value {
    let cid = k.id.to_string();
    app.post_form(
        S_SEND,
        u,
        "",
        &[
            ("customer_id", &cid),
            ("send_type", "1"),
            ("content", &text(msg)),
        ],
    )
    .await
}

async fn conversation_round_trip(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let uq = format!("u_id={}", u.id);
    let cq = format!("customer_id={}", k.id);

    let r = customer_says(&app, &k, &u, "你好").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "send msg successful");
    let first_id = r["data"]["id"].as_i64().unwrap();

    // The rep sees it once, with its id and the customer's name.
    let r = app.get(S_GET, &u, &cq).await;
    assert_eq!(r["msg"], "实时获取-最新聊天信息成功");
    assert_eq!(r["data"]["data_count"], 1);
    let item = &r["data"]["ret_data"][0];
    assert_eq!(item["id"], first_id);
    assert_eq!(item["msg"], "你好");
    assert_eq!(item["send_type"], 2);
    assert_eq!(item["name"], "客户");
    assert_eq!(item["is_customer_already_read"], 1);
    let r = app.get(S_GET, &u, &cq).await;
    assert_eq!(r["msg"], "没有得到实时聊天信息");
    assert_eq!(r["data"]["ret_data"], json!([]));

    // The rep answers: unread for the customer until read.
    assert_eq!(app.get(C_NUM, &k, &uq).await["data"]["chatinfo_count"], 0);
    let r = rep_says(&app, &u, &k, "您好，请问有什么可以帮您？").await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["msg"], "发送成功");
    let reply_id = r["data"]["id"].as_i64().unwrap();
    assert!(reply_id > first_id);
    assert_eq!(app.get(C_NUM, &k, &uq).await["data"]["chatinfo_count"], 1);

    // Before the customer reads it, the rep sees 未读 under the reply.
    let h = app.get(S_HIST, &u, &cq).await;
    let items = h["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["id"], reply_id);
    assert_eq!(items[1]["is_customer_already_read_text"], "未读");

    let r = app.get(C_GET, &k, &uq).await;
    assert_eq!(r["data"]["data_count"], 1);
    let item = &r["data"]["ret_data"][0];
    assert_eq!(item["id"], reply_id);
    assert_eq!(item["send_type"], 1);
    assert_eq!(item["user_avatar"], item["user_avator"]);
    assert_eq!(app.get(C_NUM, &k, &uq).await["data"]["chatinfo_count"], 0);
    assert_eq!(app.get(C_GET, &k, &uq).await["data"]["data_count"], 0);

    let h = app.get(S_HIST, &u, &cq).await;
    assert_eq!(
        h["data"]["ret_data"][1]["is_customer_already_read_text"],
        "已读"
    );
    assert_eq!(h["data"]["data_count"], 2);

    // Customer history: oldest first, the first message flagged, sales card fields present.
    let h = app.get(C_HIST, &k, &uq).await;
    assert_eq!(h["msg"], "分页获取-全部聊天消息成功");
    let items = h["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items[0]["id"], first_id);
    assert_eq!(items[0]["is_first_info"], true);
    assert_eq!(items[1]["is_first_info"], false);
    assert_eq!(items[0]["from_user_name"], "客户");
    for key in [
        "mingpian_phone",
        "wechat",
        "company_id",
        "company_name",
        "user_name",
        "qrcode_url",
        "data_count",
    ] {
        assert!(h["data"].get(key).is_some(), "missing {key}");
    }
    assert_eq!(h["note"], json!({}));
}

async fn bodies_round_trip_exactly(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let tricky = "emoji 😀👍🏽 ไทย สวัสดี \"double\" 'single' \\ back <script>alert(1)</script> '); DROP TABLE chat_message;--";
    // JSON body with `content` as an object.
    let r = app
        .post_json(
            C_SEND,
            &k,
            "",
            &json!({"u_id": u.id, "content": {"info_type": 1, "msg": tricky}}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    // JSON body with `content` as a string, and a product card.
    let product = json!({"info_type": 2, "product_name": "产品", "product_price": "9.9", "product_cover_url": "a.png"});
    let r = app
        .post_json(
            S_SEND,
            &u,
            "",
            &json!({"customer_id": k.id, "content": product.to_string()}),
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let r = app
        .post_form(
            S_SEND,
            &u,
            "",
            &[
                ("customer_id", &k.id.to_string()),
                ("content", r#"{"info_type":4,"url":"x.png"}"#),
            ],
        )
        .await;
    assert_eq!(code(&r), 200, "{r}");
    let h = app.get(S_HIST, &u, &format!("customer_id={}", k.id)).await;
    let items = h["data"]["ret_data"].as_array().unwrap();
    assert_eq!(items[0]["msg"], tricky);
    assert_eq!(items[1]["info_type"], 2);
    assert_eq!(items[1]["product_name"], "产品");
    assert_eq!(items[2]["url"], "x.png");
    assert_eq!(app.count("chat_message").await, 3);
}

async fn client_msg_id_makes_sends_idempotent(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let form = [
        ("u_id", u.id.to_string()),
        ("content", text("once")),
        ("client_msg_id", "c-1".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let a = app.post_form(C_SEND, &k, "", &form).await;
    let b2 = app.post_form(C_SEND, &k, "", &form).await;
    assert_eq!(code(&a), 200);
    assert_eq!(code(&b2), 200);
    assert_eq!(a["data"]["id"], b2["data"]["id"]);
    assert_eq!(a["data"]["duplicate"], false);
    assert_eq!(b2["data"]["duplicate"], true);
    assert_eq!(app.count("chat_message").await, 1);
    // Another id, or the other side with the same id, is a new message.
    let mut other = form.clone();
    other[2] = ("client_msg_id", "c-2");
    assert_eq!(code(&app.post_form(C_SEND, &k, "", &other).await), 200);
    let r = app
        .post_form(
            S_SEND,
            &u,
            "",
            &[
                ("customer_id", &k.id.to_string()),
                ("content", &text("x")),
                ("client_msg_id", "c-1"),
            ],
        )
        .await;
    assert_eq!(code(&r), 200);
    assert_eq!(app.count("chat_message").await, 3);
    // Too long an id is refused.
    let long = "x".repeat(65);
    let r = app
        .post_form(
            C_SEND,
            &k,
            "",
            &[
                ("u_id", &u.id.to_string()),
                ("content", &text("y")),
                ("client_msg_id", &long),
            ],
        )
        .await;
    assert_eq!(code(&r), 402);
    assert!(r["data"]["client_msg_id"].is_array());
    assert_eq!(app.count("chat_message").await, 3);
}

async fn bad_signatures_are_rejected(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let ts = app.now_ms();
    let good = app::sign::rand_str(&ts.to_string(), &k.token);
    let base = format!("{}{}", app.base, C_NUM);
    let cases = [
        format!("{base}?u_id={}", u.id),
        format!("{base}?rand_str={good}&timestamp={ts}&u_id={}", u.id),
        format!(
            "{base}?rand_str=0000&timestamp={ts}&user_id={}&u_id={}",
            k.id, u.id
        ),
        format!(
            "{base}?rand_str={good}&timestamp={}&user_id={}&u_id={}",
            ts + 1,
            k.id,
            u.id
        ),
        format!(
            "{base}?rand_str={good}&timestamp={ts}&user_id=abc&u_id={}",
            u.id
        ),
        format!(
            "{base}?rand_str={good}&timestamp={ts}&user_id=&u_id={}",
            u.id
        ),
        format!(
            "{base}?rand_str={good}&timestamp={ts}&user_id=999999&u_id={}",
            u.id
        ),
    ];
    for url in &cases {
        let r = app.get_url(url).await;
        assert_eq!(code(&r), 400, "{url}: {r}");
        assert_eq!(r["msg"], "token异常");
    }
    // Stale timestamp, correctly signed.
    let old = ts - 3_600_000;
    let sig = app::sign::rand_str(&old.to_string(), &k.token);
    let r = app
        .get_url(&format!(
            "{base}?rand_str={sig}&timestamp={old}&user_id={}&u_id={}",
            k.id, u.id
        ))
        .await;
    assert_eq!(code(&r), 400);
    assert_eq!(r["note"]["reason"], "timestamp outside the allowed window");
    // Upper-case hex is accepted.
    let r = app
        .get_url(&format!(
            "{base}?rand_str={}&timestamp={ts}&user_id={}&u_id={}",
            good.to_uppercase(),
            k.id,
            u.id
        ))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    // A customer's credentials on a sales endpoint (same id exists as a sales user).
    let r = app
        .get(
            S_NUM,
            &Who {
                id: u.id,
                token: k.token.clone(),
            },
            "",
        )
        .await;
    assert_eq!(code(&r), 400);
    // Nothing was stored by a rejected send.
    let url = format!(
        "{}{}?rand_str=bad&timestamp={ts}&user_id={}",
        app.base, C_SEND, k.id
    );
    let r: Value = app
        .http
        .post(&url)
        .form(&[("u_id", u.id.to_string()), ("content", text("x"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 400);
    assert_eq!(app.count("chat_message").await, 0);
}

async fn freshness_check_can_be_disabled(b: Backend) {
    let app = spawn_with(b, |c| c.auth_max_skew_secs = 0).await;
    let (u, k) = app.pair().await;
    // A legacy client: no timestamp at all, rand_str = md5(token).
    let sig = app::sign::rand_str("", &k.token);
    let r = app
        .get_url(&format!(
            "{}{}?rand_str={sig}&user_id={}&u_id={}",
            app.base, C_NUM, k.id, u.id
        ))
        .await;
    assert_eq!(code(&r), 200, "{r}");
}

async fn bad_content_is_refused_and_nothing_stored(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let uid = u.id.to_string();
    let long = text(&"长".repeat(5001));
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("u_id", &uid)],
        vec![("u_id", &uid), ("content", "")],
        vec![("u_id", &uid), ("content", "not json")],
        vec![("u_id", &uid), ("content", "[1,2]")],
        vec![("u_id", &uid), ("content", r#"{"info_type":9,"msg":"x"}"#)],
        vec![("u_id", &uid), ("content", r#"{"info_type":1}"#)],
        vec![("u_id", &uid), ("content", r#"{"info_type":4}"#)],
        vec![("u_id", &uid), ("content", &long)],
        vec![("content", r#"{"info_type":1,"msg":"x"}"#)],
        vec![("u_id", "abc"), ("content", r#"{"info_type":1,"msg":"x"}"#)],
        vec![
            ("u_id", &uid),
            ("content", r#"{"info_type":1,"msg":"x"}"#),
            ("article_id", "x"),
        ],
    ];
    for form in &cases {
        let r = app.post_form(C_SEND, &k, "", form).await;
        assert_eq!(code(&r), 402, "{form:?}: {r}");
        assert_eq!(r["msg"], "请求异常");
        assert!(r["data"].as_object().is_some_and(|m| !m.is_empty()), "{r}");
    }
    // Unknown rep → 402 用户名不存在.
    let r = app
        .post_form(
            C_SEND,
            &k,
            "",
            &[("u_id", "99999"), ("content", &text("x"))],
        )
        .await;
    assert_eq!(code(&r), 402);
    assert_eq!(r["data"]["u_id"][0]["message"], "用户名不存在");
    // A body over 64 KiB.
    let huge = "x".repeat(70 * 1024);
    let r = app
        .post_form(C_SEND, &k, "", &[("u_id", &uid), ("content", &text(&huge))])
        .await;
    assert_eq!(code(&r), 402, "{r}");
    // A JSON body that is not an object.
    let url = app.url(C_SEND, &k, "");
    let r: Value = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("[1]")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 402);
    let r: Value = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 402);
    // Sales side: bad customer id, a forged body user_id.
    let r = app
        .post_form(
            S_SEND,
            &u,
            "",
            &[("customer_id", "x"), ("content", &text("x"))],
        )
        .await;
    assert_eq!(code(&r), 402);
    let r = app
        .post_form(
            S_SEND,
            &u,
            "",
            &[("customer_id", "424242"), ("content", &text("x"))],
        )
        .await;
    assert_eq!(code(&r), 402);
    assert_eq!(r["data"]["customer_id"][0]["message"], "客户不存在");
    let r = app
        .post_form(
            S_SEND,
            &u,
            "",
            &[
                ("user_id", "777"),
                ("customer_id", &k.id.to_string()),
                ("content", &text("x")),
            ],
        )
        .await;
    assert_eq!(code(&r), 402);
    assert_eq!(app.count("chat_message").await, 0);
}

async fn relations_are_required_and_conversations_isolated(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let u2 = app.user(c, "销售二").await;
    let k1 = app.customer(c, "甲").await;
    let k2 = app.customer(c, "乙").await;
    app.relate(&u, &k1).await;
    app.relate(&u, &k2).await;

    // No relation: 307 on every path, nothing stored.
    let r = customer_says(&app, &k1, &u2, "hi").await;
    assert_eq!(code(&r), 307, "{r}");
    assert_eq!(r["msg"], "用户-客户关系不存在");
    let r = rep_says(&app, &u2, &k1, "hi").await;
    assert_eq!(code(&r), 307);
    for (path, who, q) in [
        (C_GET, &k1, format!("u_id={}", u2.id)),
        (C_HIST, &k1, format!("u_id={}", u2.id)),
        (C_NUM, &k1, format!("u_id={}", u2.id)),
        (S_GET, &u2, format!("customer_id={}", k1.id)),
        (S_HIST, &u2, format!("customer_id={}", k1.id)),
    ] {
        assert_eq!(code(&app.get(path, who, &q).await), 307, "{path}");
    }
    assert_eq!(app.count("chat_message").await, 0);

    // k1 and k2 talk to the same rep; neither sees the other's messages.
    customer_says(&app, &k1, &u, "甲的秘密").await;
    customer_says(&app, &k2, &u, "乙的秘密").await;
    rep_says(&app, &u, &k1, "给甲").await;
    rep_says(&app, &u, &k2, "给乙").await;
    for (k, mine, theirs) in [(&k1, "甲", "乙"), (&k2, "乙", "甲")] {
        let h = app.get(C_HIST, k, &format!("u_id={}", u.id)).await;
        let s = h["data"]["ret_data"].to_string();
        assert!(s.contains(mine) && !s.contains(theirs), "{s}");
        for item in h["data"]["ret_data"].as_array().unwrap() {
            assert_eq!(item["customer_id"], k.id);
        }
    }
    let h = app.get(S_HIST, &u, &format!("customer_id={}", k1.id)).await;
    assert!(!h["data"]["ret_data"].to_string().contains('乙'));
}

async fn history_paging_and_resume(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let r = if i % 2 == 0 {
            customer_says(&app, &k, &u, &format!("m{i}")).await
        } else {
            rep_says(&app, &u, &k, &format!("m{i}")).await
        };
        ids.push(r["data"]["id"].as_i64().unwrap());
    }
    let uq = format!("u_id={}", u.id);
    let page_ids = |v: &Value| {
        v["data"]["ret_data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };

    let p1 = app.get(C_HIST, &k, &uq).await;
    assert_eq!(p1["data"]["data_count"], 25);
    assert_eq!(page_ids(&p1), ids[5..].to_vec());
    let p2 = app.get(C_HIST, &k, &format!("{uq}&current_page=2")).await;
    assert_eq!(page_ids(&p2), ids[..5].to_vec());
    let p3 = app.get(C_HIST, &k, &format!("{uq}&current_page=3")).await;
    assert_eq!(page_ids(&p3), Vec::<i64>::new());
    let small = app
        .get(C_HIST, &k, &format!("{uq}&length=3&current_page=2"))
        .await;
    assert_eq!(page_ids(&small), ids[19..22].to_vec());
    // Out-of-range values are clamped; garbage is a field error.
    let clamp = app
        .get(C_HIST, &k, &format!("{uq}&length=1000&current_page=-4"))
        .await;
    assert_eq!(page_ids(&clamp), ids);
    let huge = app
        .get(
            C_HIST,
            &k,
            &format!("{uq}&current_page=9223372036854775807"),
        )
        .await;
    assert_eq!(code(&huge), 200);
    assert_eq!(page_ids(&huge), Vec::<i64>::new());
    for bad in ["length=abc", "current_page=1.5", "length=1e2", "after_id=x"] {
        let r = app.get(C_HIST, &k, &format!("{uq}&{bad}")).await;
        assert_eq!(code(&r), 402, "{bad}: {r}");
    }
    // Sales history puts its field errors in msg with 301.
    let r = app
        .get(S_HIST, &u, &format!("customer_id={}&length=abc", k.id))
        .await;
    assert_eq!(code(&r), 301);
    assert!(r["msg"]["length"].is_array());
    // Resume: everything after an id, in order, in pages.
    let r = app
        .get(C_HIST, &k, &format!("{uq}&after_id={}&length=10", ids[9]))
        .await;
    assert_eq!(page_ids(&r), ids[10..20].to_vec());
    let r = app
        .get(
            S_HIST,
            &u,
            &format!("customer_id={}&after_id={}", k.id, ids[20]),
        )
        .await;
    assert_eq!(page_ids(&r), ids[21..].to_vec());
    let r = app
        .get(
            S_HIST,
            &u,
            &format!("customer_id={}&after_id={}", k.id, ids[24]),
        )
        .await;
    assert_eq!(r["msg"], "没有新消息");
}

async fn methods_operations_and_paths(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    // Wrong method → 402 (after auth), unknown oper → code 0, non-numeric o_id → 402.
    let url = app.url(C_HIST, &k, &format!("u_id={}", u.id));
    let r: Value = app
        .http
        .post(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 402);
    let r: Value = app
        .http
        .delete(app.url(S_CONTACT, &u, ""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 402);
    let r: Value = app
        .http
        .put(format!("{}{}?user_id=1", app.base, S_CONTACT))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&r), 400, "auth comes first");
    let r = app
        .post_form("/zhugeleida/gongzhonghao/chat/other_op/0", &k, "", &[])
        .await;
    assert_eq!(code(&r), 0);
    assert_eq!(r["msg"], "");
    let r = app
        .get("/zhugeleida/gongzhonghao/chat/send_msg/0", &k, "")
        .await;
    assert_eq!(code(&r), 402);
    let r = app
        .get(
            "/zhugeleida/gongzhonghao/chat/getmsg/abc",
            &k,
            &format!("u_id={}", u.id),
        )
        .await;
    assert_eq!(code(&r), 402);
    let r = app
        .get("/zhugeleida/qiyeweixin/contact/other", &u, "")
        .await;
    assert_eq!(code(&r), 302);
    // Trailing slash tolerated.
    let r = app
        .get(&format!("{C_NUM}/"), &k, &format!("u_id={}", u.id))
        .await;
    assert_eq!(code(&r), 200, "{r}");
    // query_num's form errors use 302.
    let r = app.get(C_NUM, &k, "u_id=x").await;
    assert_eq!(code(&r), 302);
    assert!(r["data"]["u_id"].is_array());
    // Unknown path: HTTP 404 with the envelope.
    let resp = app
        .http
        .get(format!("{}/zhugeleida/nothing/here", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(
        r,
        json!({"code": 404, "msg": "not found", "data": {}, "note": {}})
    );
}

async fn contact_list_and_badge(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.company("公司").await;
    let u = app.user(c, "销售").await;
    let k1 = app.customer(c, "甲").await;
    let k2 = app.customer(c, "乙").await;
    let k3 = app.customer(c, "丙").await;
    for k in [&k1, &k2, &k3] {
        app.relate(&u, k).await;
    }
    let r = app.get(S_CONTACT, &u, "").await;
    assert_eq!(r["data"]["data_count"], 0);
    assert_eq!(r["data"]["unread_msg_num"], 0);
    customer_says(&app, &k1, &u, "一").await;
    customer_says(&app, &k1, &u, "二").await;
    customer_says(&app, &k2, &u, "三").await;
    let last = rep_says(&app, &u, &k3, "主动联系").await["data"]["id"]
        .as_i64()
        .unwrap();
    let r = app.get(S_CONTACT, &u, "").await;
    assert_eq!(code(&r), 200);
    assert_eq!(r["data"]["data_count"], 3);
    assert_eq!(r["data"]["unread_msg_num"], 3);
    assert_eq!(r["note"]["count"], "该客户发送消息的数量");
    let list = r["data"]["ret_data"].as_array().unwrap();
    assert_eq!(list[0]["customer_id"], k3.id);
    assert_eq!(list[0]["last_msg_id"], last);
    assert_eq!(list[0]["msg"], "主动联系");
    assert_eq!(list[0]["count"], 0);
    assert_eq!(list[1]["customer_id"], k2.id);
    assert_eq!(list[2]["customer_id"], k1.id);
    assert_eq!(list[2]["count"], 2);
    assert_eq!(list[2]["msg"], "二");
    let r = app.get(S_NUM, &u, "").await;
    assert_eq!(r["data"]["chatinfo_count"], 3);
    assert_eq!(r["data"]["company_id"], c);
    // Reading k1's conversation lowers the badge.
    app.get(S_GET, &u, &format!("customer_id={}", k1.id)).await;
    assert_eq!(app.get(S_NUM, &u, "").await["data"]["chatinfo_count"], 1);
    let page = app.get(S_CONTACT, &u, "length=1&current_page=2").await;
    assert_eq!(page["data"]["ret_data"][0]["customer_id"], k2.id);
    assert_eq!(code(&app.get(S_CONTACT, &u, "length=x").await), 402);
}

async fn every_customer_message_moves_last_activity(b: Backend) {
    let app = spawn_app(b).await;
    let (u, k) = app.pair().await;
    let act = |app: &TestApp| {
        let pool = app.st.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>("SELECT last_activity_time FROM relation")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(act(&app).await, None);
    let r = app
        .post_form(
            C_SEND,
            &k,
            "",
            &[
                ("u_id", &u.id.to_string()),
                ("content", r#"{"info_type":4,"url":"a.png"}"#),
            ],
        )
        .await;
    assert_eq!(code(&r), 200);
    assert!(act(&app).await.is_some());
    // The rep's message moves last_follow_time instead.
    rep_says(&app, &u, &k, "x").await;
    let f: Option<i64> = sqlx::query_scalar("SELECT last_follow_time FROM relation")
        .fetch_one(&app.st.db.pool)
        .await
        .unwrap();
    assert!(f.is_some());
}

both!(
    conversation_round_trip,
    bodies_round_trip_exactly,
    client_msg_id_makes_sends_idempotent,
    bad_signatures_are_rejected,
    freshness_check_can_be_disabled,
    bad_content_is_refused_and_nothing_stored,
    relations_are_required_and_conversations_isolated,
    history_paging_and_resume,
    methods_operations_and_paths,
    contact_list_and_badge,
    every_customer_message_moves_last_activity,
);
