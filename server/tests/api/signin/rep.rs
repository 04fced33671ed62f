//! A rep signs in from the WeCom app: known, unknown, expired company, reused
//! code, token refresh, WeCom away.

use super::*;
use crate::both;
use crate::common::*;
use crate::fakeweixin::*;

async fn setup(e: &Env) -> (i64, Who) {
    let c = e.app.company("公司").await;
    radar::service::admin::set_wecom_app(&e.app.st, c, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom app");
    let (id, token) = radar::service::admin::create_user_with(
        &e.app.st,
        radar::service::admin::NewUser {
            company_id: c,
            name: "张三",
            avatar: None,
            phone: None,
            wechat: None,
        },
        Some("zhangsan"),
    )
    .await
    .expect("rep");
    (c, Who { id, token })
}

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        avatar: format!("https://wework.qpic.cn/{id}.png"),
    }
}

async fn rep_signs_in_known_unknown_reused_expired(b: Backend) {
    let e = env(b).await;
    let (c, rep) = setup(&e).await;
    let start = format!("/auth/wecom/{c}/start");
    let a = e.get(&start).await;
    assert_eq!(a.status, 302);
    for part in [
        format!("appid={CORP_ID}"),
        format!("agentid={AGENT_ID}"),
        "scope=snsapi_privateinfo".into(),
        format!(
            "redirect_uri={}",
            url_encode(&format!(
                "{}/auth/wecom/{c}?next=",
                e.app.st.config.public_url
            ))
        ),
    ] {
        assert!(a.location.contains(&part), "{part} in {}", a.location);
    }
    assert!(!a.location.contains(CORP_SECRET));

    // Known: into the contact list with the rep's own credentials; the name and
    // avatar follow WeCom.
    e.fake.set_next_person(person("zhangsan", "张三丰"));
    let cb = e.through_authorize(&start).await;
    let a = e.get(&cb).await;
    assert_eq!(a.status, 302, "{a:?}");
    assert_eq!(creds_of(&a.location, "/rep"), (rep.id, rep.token.clone()));
    let (name, avatar): (String, String) =
        sqlx::query_as("SELECT username, avatar FROM sales_user WHERE id = $1")
            .bind(rep.id)
            .fetch_one(&e.app.st.db.pool)
            .await
            .expect("rep");
    assert_eq!(
        (name.as_str(), avatar.as_str()),
        ("张三丰", "https://wework.qpic.cn/zhangsan.png")
    );
    // Signed with them, the contact list answers (empty: 302 没有数据), not 400 token异常.
    let contacts = e
        .app
        .get("/zhugeleida/qiyeweixin/tongxunlu", &rep, "")
        .await;
    assert_eq!(code(&contacts), 302, "{contacts}");

    // The same code again: WeCom says 40029.
    let again = e.get(&cb).await;
    assert_eq!(again.status, 400, "{again:?}");
    assert!(again.body.contains("登录凭证无效") && again.body.contains("zh-CN"));

    // A landing page named by the link (a notification's chat).
    let a = e.sign_in(&format!("{start}?next=/rep/chat/5")).await;
    assert_eq!(creds_of(&a.location, "/rep/chat/5").0, rep.id);
    let a = e.get(&format!("{start}?next=//evil.example/x")).await;
    assert_eq!(a.status, 400);

    // Unknown member: 403, nobody created.
    let reps = e.app.count("sales_user").await;
    e.fake.set_next_person(person("nobody", "路人"));
    let a = e.sign_in(&start).await;
    assert_eq!(a.status, 403, "{a:?}");
    assert!(a.body.contains("尚未开通雷达"));
    assert_eq!(e.app.count("sales_user").await, reps);

    // Another company's rep with the same WeCom user id is not this one.
    let other = e.app.company("别家").await;
    radar::service::admin::set_wecom_app(&e.app.st, other, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom app");
    e.fake.set_next_person(person("zhangsan", "张三丰"));
    let a = e.sign_in(&format!("/auth/wecom/{other}/start")).await;
    assert_eq!(a.status, 403, "{a:?}");

    // Unconfigured company.
    let bare = e.app.company("未配置").await;
    let a = e.get(&format!("/auth/wecom/{bare}/start")).await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("尚未开通"));

    // Expired company: the start page and a callback already under way.
    let cb = e.through_authorize(&start).await;
    sqlx::query("UPDATE company SET account_expired_time = $1 WHERE id = $2")
        .bind(e.app.now_ms() - 1000)
        .bind(c)
        .execute(&e.app.st.db.pool)
        .await
        .expect("expire");
    let a = e.get(&cb).await;
    assert_eq!(a.status, 403, "{a:?}");
    assert!(a.body.contains("已到期"));
    assert_eq!(e.get(&start).await.status, 403);
}

async fn rep_token_is_cached_and_refreshed(b: Backend) {
    let e = env(b).await;
    let (c, rep) = setup(&e).await;
    let start = format!("/auth/wecom/{c}/start");
    e.fake.set_next_person(person("zhangsan", "张三"));
    let signed_in = |a: &Answer| creds_of(&a.location, "/rep").0 == rep.id;
    assert!(signed_in(&e.sign_in(&start).await));
    assert_eq!(e.fake.gettoken_calls(), 1);
    assert!(signed_in(&e.sign_in(&start).await));
    assert_eq!(e.fake.gettoken_calls(), 1, "the token is cached");
    // WeCom retires the token early: 42001, then 40014; each time one new token.
    e.fake.expire_tokens(1);
    assert!(signed_in(&e.sign_in(&start).await));
    assert_eq!(e.fake.gettoken_calls(), 2);
    e.fake.invalidate_tokens(1);
    assert!(signed_in(&e.sign_in(&start).await));
    assert_eq!(e.fake.gettoken_calls(), 3);
    // Only one retry: a token refused twice in a row is WeCom's trouble (503).
    e.fake.expire_tokens(2);
    let a = e.sign_in(&start).await;
    assert_eq!(a.status, 503, "{a:?}");
    // WeCom unreachable: 503 with a retry text, never a 5xx of ours.
    e.fake.set_down(true);
    let cb = {
        e.fake.set_down(false);
        let cb = e.through_authorize(&start).await;
        e.fake.set_down(true);
        cb
    };
    let a = e.get(&cb).await;
    assert_eq!(a.status, 503, "{a:?}");
    assert!(a.body.contains("稍后重试"));
}

both!(
    rep_signs_in_known_unknown_reused_expired,
    rep_token_is_cached_and_refreshed
);
