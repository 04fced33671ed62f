//! The sign-in pages under hostile input (NUL, huge strings, wrong types,
//! another company's ids, duplicates, a burst): a 4xx page, never a 5xx,
//! nothing stored; and no secret, code or token in a trace-level log.

use crate::both;
use crate::common::*;
use crate::fakeweixin::*;
use crate::signin::{env, Env};
use crate::wsutil::*;

async fn rows(e: &Env) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "customer",
        "relation",
        "sales_user",
        "wecom_app",
        "gongzhonghao_app",
    ] {
        out.push(e.app.count(t).await);
    }
    let names: i64 = e.app.count("sales_user WHERE username = '销售'").await;
    out.push(names);
    out
}

async fn hostile_sign_in_input_is_refused_with_a_page(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    radar::service::admin::set_wecom_app(&e.app.st, c, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom");
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("oa");
    let rep = e.app.user(c, "销售").await;
    radar::service::admin::set_wecom_userid(&e.app.st, rep.id, "zhangsan")
        .await
        .expect("userid");
    let other = e.app.company("别家").await;
    e.fake.set_next_person(Person {
        id: "zhangsan".into(),
        name: "改名".into(),
        avatar: String::new(),
    });
    // Real callbacks to tamper with: the state was signed for company `c`.
    let rep_cb = e.through_authorize(&format!("/auth/wecom/{c}/start")).await;
    let cust_cb = e
        .through_authorize(&format!(
            "/auth/wechat/{c}/start?next=/h5/chat&uid={}",
            rep.id
        ))
        .await;
    let before = rows(&e).await;
    // Near the longest URI a client can send (64 KiB).
    let huge = "a".repeat(50_000);
    let nul = url_encode("x\0y");
    let mut urls = vec![];
    for kind in ["wecom", "wechat"] {
        for id in [
            "abc",
            "-1",
            "0",
            "99999999999999999999",
            "1.5",
            "%00",
            &huge[..5000],
        ] {
            urls.push(format!("/auth/{kind}/{id}/start?next=/h5/chat"));
            urls.push(format!("/auth/{kind}/{id}?code=x&state=y&next=/h5/chat"));
        }
        for q in [
            format!("next={nul}"),
            format!("next=/h5/{nul}"),
            format!("next=/{}", &huge[..20_000]),
            format!("next=/h5/chat&uid={nul}"),
            "next=/h5/chat&uid=abc".into(),
            "next=/h5/chat&uid=-3".into(),
            "next=/h5/chat&uid=99999999999999999999".into(),
            "next=/h5/chat&next=/rep".into(),
            "next=%E0%A4%A".into(),
        ] {
            // Reps sign in without a sharing rep: `uid` means nothing to that flow.
            if kind == "wechat" || !q.contains("uid=") {
                urls.push(format!("/auth/{kind}/{c}/start?{q}"));
            }
        }
    }
    for cb in [&rep_cb, &cust_cb] {
        let code = query_param(cb, "code").expect("code");
        let (head, _) = cb.split_once('?').expect("query");
        let head = head.trim_start_matches(&e.app.base).to_owned();
        let state = query_param(cb, "state").expect("state");
        let next = url_encode(&query_param(cb, "next").expect("next"));
        let uid = query_param(cb, "uid")
            .map(|u| format!("&uid={u}"))
            .unwrap_or_default();
        for (code, state) in [
            (nul.clone(), state.clone()),
            (huge.clone(), state.clone()),
            (code.clone(), nul.clone()),
            (code.clone(), huge[..10_000].to_owned()),
            (String::new(), state.clone()),
        ] {
            urls.push(format!("{head}?code={code}&state={state}&next={next}{uid}"));
        }
        urls.push(format!(
            "{head}?code={code}&code=other&state={state}&next={next}{uid}"
        ));
        // Another company's path with this company's state.
        let elsewhere = head.replace(&format!("/{c}"), &format!("/{other}"));
        urls.push(format!(
            "{elsewhere}?code={code}&state={state}&next={next}{uid}"
        ));
    }
    for url in &urls {
        let a = e.get(url).await;
        assert!(
            (400..500).contains(&a.status),
            "{}: {} {}",
            &url[..url.len().min(200)],
            a.status,
            &a.body[..a.body.len().min(200)]
        );
    }
    // A burst of bad callbacks at once.
    let burst: Vec<_> = (0..40)
        .map(|i| {
            let http = e.http.clone();
            let url = format!(
                "{}/auth/wechat/{c}?code=c{i}&state=t1s00&next=/h5/chat",
                e.app.base
            );
            tokio::spawn(async move { http.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for t in burst {
        assert_eq!(t.await.expect("task").expect("answer"), 400);
    }
    assert_eq!(rows(&e).await, before, "a refusal stored something");
    // The untampered callbacks still work: no refusal spent their codes.
    assert_eq!(e.get(&rep_cb).await.status, 302);
    assert_eq!(e.get(&cust_cb).await.status, 302);
}

async fn sign_in_logs_no_secret_code_or_token(b: Backend) {
    let db = TestDb::new(b).await;
    let fake = spawn_fake().await;
    let st = seed_state(&db.url).await;
    let c = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    radar::service::admin::set_wecom_app(&st, c, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom");
    radar::service::admin::set_official_account(&st, c, APP_ID, APP_SECRET)
        .await
        .expect("oa");
    let rep = new_user(&st, c, "销售").await;
    radar::service::admin::set_wecom_userid(&st, rep.id, "zhangsan")
        .await
        .expect("userid");
    let server = spawn_server(
        &db.url,
        &[
            ("RADAR_LOG", "trace"),
            ("RADAR_WECOM_API", &fake.base),
            ("RADAR_WECHAT_API", &fake.base),
            ("RADAR_WECHAT_OPEN", &fake.base),
        ],
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let follow = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(&url).send().await.expect("get");
            (
                r.status().as_u16(),
                r.headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned(),
            )
        }
    };
    let mut landed = Vec::new();
    let mut codes = Vec::new();
    for (start, who) in [
        (
            format!("{}/auth/wecom/{c}/start", server.base),
            Person {
                id: "zhangsan".into(),
                name: "张三".into(),
                avatar: String::new(),
            },
        ),
        (
            format!(
                "{}/auth/wechat/{c}/start?next=/h5/chat&uid={}",
                server.base, rep.id
            ),
            Person {
                id: "o-1".into(),
                name: "小明".into(),
                avatar: String::new(),
            },
        ),
    ] {
        fake.set_next_person(who);
        let (_, authorize) = follow(start).await;
        let (_, cb) = follow(authorize).await;
        let at = cb.find("/auth/").expect("callback");
        let cb = format!("{}{}", server.base, &cb[at..]);
        codes.push(query_param(&cb, "code").expect("code"));
        let (status, location) = follow(cb.clone()).await;
        assert_eq!(status, 302, "{location}");
        landed.push(location);
        // Used again: refused, and logged as a refusal without the code.
        assert_eq!(follow(cb).await.0, 400);
    }
    // WeCom away: the failure is logged, without the secret.
    fake.set_down(true);
    fake.set_next_person(Person {
        id: "zhangsan".into(),
        ..Person::default()
    });
    let access_tokens: Vec<String> = fake
        .calls()
        .iter()
        .filter_map(|c| query_param(&format!("http://x{c}"), "access_token"))
        .collect();
    assert!(!access_tokens.is_empty());
    let customer_token: String =
        sqlx::query_scalar("SELECT token FROM customer WHERE openid = 'o-1'")
            .fetch_one(&st.db.pool)
            .await
            .expect("customer");
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while !server.saw("route=/auth/wechat/{company_id}") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let lines = server.lines.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(lines.len() > 5, "a trace log: {lines:?}");
    let mut secrets = vec![
        CORP_SECRET.to_owned(),
        APP_SECRET.to_owned(),
        rep.token.clone(),
        customer_token,
    ];
    secrets.extend(codes);
    secrets.extend(access_tokens);
    for line in &lines {
        for s in &secrets {
            assert!(!line.contains(s.as_str()), "{s} in the log: {line}");
        }
    }
}

both!(
    hostile_sign_in_input_is_refused_with_a_page,
    sign_in_logs_no_secret_code_or_token
);
