//! A customer signs in from an article a rep shared in WeChat: first visit,
//! second visit, new nickname, forged state, foreign next, another company's uid.

use super::*;
use crate::both;
use crate::common::*;
use crate::fakeweixin::*;

fn reader(openid: &str, nickname: &str) -> Person {
    Person {
        id: openid.into(),
        name: nickname.into(),
        avatar: format!("https://thirdwx.qlogo.cn/{openid}/132"),
    }
}

async fn customer_signs_in_and_is_bound_to_the_sharing_rep(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let rep = e.app.user(c, "销售").await;
    let start = format!("/auth/wechat/{c}/start?next=/h5/article/7&uid={}", rep.id);
    let a = e.get(&start).await;
    assert_eq!(a.status, 302);
    assert!(
        a.location.contains(&format!("appid={APP_ID}"))
            && a.location.contains("scope=snsapi_userinfo")
    );
    assert!(!a.location.contains(APP_SECRET));

    // First visit: a new customer of the company, bound to the rep (article share).
    e.fake.set_next_person(reader("o-first", "小明"));
    let a = e.sign_in(&start).await;
    assert_eq!(a.status, 302, "{a:?}");
    let (kid, token) = creds_of(&a.location, "/h5/article/7");
    let (company, name, img, openid): (Option<i64>, String, String, Option<String>) =
        sqlx::query_as(
            "SELECT company_id, username, headimgurl, openid FROM customer WHERE id = $1",
        )
        .bind(kid)
        .fetch_one(&e.app.st.db.pool)
        .await
        .expect("customer");
    assert_eq!(company, Some(c));
    assert_eq!(name, "小明");
    assert_eq!(img, "https://thirdwx.qlogo.cn/o-first/132");
    assert_eq!(openid.as_deref(), Some("o-first"));
    let source: i64 =
        sqlx::query_scalar("SELECT source FROM relation WHERE user_id = $1 AND customer_id = $2")
            .bind(rep.id)
            .bind(kid)
            .fetch_one(&e.app.st.db.pool)
            .await
            .expect("relation");
    assert_eq!(source, 4);
    let k = Who {
        id: kid,
        token: token.clone(),
    };
    let r = e
        .app
        .get(
            "/zhugeleida/gongzhonghao/chat/query_num/0",
            &k,
            &format!("u_id={}", rep.id),
        )
        .await;
    assert_eq!(code(&r), 200, "the credentials work: {r}");

    // Second visit, with a new nickname: the same customer, brought up to date.
    e.fake.set_next_person(reader("o-first", "小明同学"));
    let a = e.sign_in(&start).await;
    assert_eq!(creds_of(&a.location, "/h5/article/7"), (kid, token));
    assert_eq!(e.app.count("customer WHERE openid = 'o-first'").await, 1);
    assert_eq!(
        e.app
            .count(&format!("relation WHERE customer_id = {kid}"))
            .await,
        1
    );
    let name: String = sqlx::query_scalar("SELECT username FROM customer WHERE id = $1")
        .bind(kid)
        .fetch_one(&e.app.st.db.pool)
        .await
        .expect("name");
    assert_eq!(name, "小明同学");

    // A rep of another company in `uid`: signed in, bound to nobody.
    let elsewhere = e.app.company("别家").await;
    let stranger = e.app.user(elsewhere, "别家销售").await;
    e.fake.set_next_person(reader("o-second", "小红"));
    let a = e
        .sign_in(&format!(
            "/auth/wechat/{c}/start?next=/h5/chat&uid={}",
            stranger.id
        ))
        .await;
    assert_eq!(a.status, 302, "{a:?}");
    let (second, _) = creds_of(&a.location, "/h5/chat");
    assert_eq!(
        e.app
            .count(&format!("relation WHERE customer_id = {second}"))
            .await,
        0
    );
    // The same openid at another company is another customer.
    radar::service::admin::set_official_account(&e.app.st, elsewhere, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let a = e
        .sign_in(&format!("/auth/wechat/{elsewhere}/start?next=/h5/chat"))
        .await;
    let (third, _) = creds_of(&a.location, "/h5/chat");
    assert_ne!(third, second);
}

async fn forged_state_and_foreign_next_are_refused(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let rep = e.app.user(c, "销售").await;
    let other_rep = e.app.user(c, "另一个销售").await;
    e.fake.set_next_person(reader("o-x", "小明"));
    let start = format!("/auth/wechat/{c}/start?next=/h5/article/7&uid={}", rep.id);
    let customers = e.app.count("customer").await;

    let cb = e.through_authorize(&start).await;
    let state = query_param(&cb, "state").expect("state");
    let forged = [
        cb.replace("next=%2Fh5%2Farticle%2F7", "next=%2Fh5%2Fchat"),
        cb.replace(&format!("uid={}", rep.id), &format!("uid={}", other_rep.id)),
        cb.replace(&format!("state={state}"), "state=t1s00"),
        cb.replace(&format!("&state={state}"), ""),
        cb.replace(&format!("/auth/wechat/{c}?"), &format!("/auth/wecom/{c}?")),
    ];
    for url in &forged {
        assert_ne!(url, &cb);
        let a = e.get(url).await;
        assert_eq!(a.status, 400, "{url}: {a:?}");
    }
    // Too old: the state is good for ten minutes.
    e.app
        .st
        .clock
        .advance_ms(radar::service::signin::STATE_TTL_MS + 60_000);
    assert_eq!(e.get(&cb).await.status, 400);
    e.app
        .st
        .clock
        .advance_ms(-(radar::service::signin::STATE_TTL_MS + 60_000));
    assert_eq!(e.app.count("customer").await, customers, "nothing stored");
    // The untouched callback still works (the code was not spent by the refusals).
    assert_eq!(e.get(&cb).await.status, 302);

    for next in [
        "https://evil.example/",
        "//evil.example/a",
        "/\\evil.example",
        "javascript:alert(1)",
        "h5/article/7",
        "",
    ] {
        let a = e
            .get(&format!(
                "/auth/wechat/{c}/start?next={}&uid={}",
                url_encode(next),
                rep.id
            ))
            .await;
        assert_eq!(a.status, 400, "{next}: {a:?}");
    }
    assert_eq!(
        e.get(&format!("/auth/wechat/{c}/start?uid={}", rep.id))
            .await
            .status,
        400
    );

    // No secret: the Official Account is not set up for sign-in.
    let demo_like = e.app.company("只有appid").await;
    sqlx::query(
        "INSERT INTO gongzhonghao_app (company_id, authorization_appid) VALUES ($1, 'wxonly')",
    )
    .bind(demo_like)
    .execute(&e.app.st.db.pool)
    .await
    .expect("oa");
    let a = e
        .get(&format!("/auth/wechat/{demo_like}/start?next=/h5/chat"))
        .await;
    assert_eq!(a.status, 403, "{a:?}");
}

both!(
    customer_signs_in_and_is_bound_to_the_sharing_rep,
    forged_state_and_foreign_next_are_refused
);
