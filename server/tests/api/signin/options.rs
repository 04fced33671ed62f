//! `GET /auth/options/{company_id}`: the sign-ins a company offers, read by a
//! page opened without credentials. Hostile input never gets a 5xx, and an
//! unknown company answers exactly as an unconfigured one.

use app::api::signin::SignInOptions;

use super::*;
use crate::both;
use crate::common::*;
use crate::fakeweixin::*;

async fn options_of(e: &Env, path: &str) -> (u16, SignInOptions) {
    let a = e.get(path).await;
    let parsed = serde_json::from_str::<SignInOptions>(&a.body)
        .unwrap_or_else(|err| panic!("{path}: {err}: {a:?}"));
    (a.status, parsed)
}

const NONE: SignInOptions = SignInOptions {
    wecom: false,
    wechat: false,
};

async fn options_follow_the_settings(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    let at = format!("/auth/options/{c}");
    assert_eq!(options_of(&e, &at).await, (200, NONE));
    let unconfigured = e.get(&at).await;

    radar::service::admin::set_wecom_app(&e.app.st, c, CORP_ID, AGENT_ID, CORP_SECRET)
        .await
        .expect("wecom");
    assert_eq!(
        options_of(&e, &at).await,
        (
            200,
            SignInOptions {
                wecom: true,
                wechat: false
            }
        )
    );
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let both = SignInOptions {
        wecom: true,
        wechat: true,
    };
    assert_eq!(options_of(&e, &at).await, (200, both));
    // No secret ever leaves, nor anything else of the settings.
    let a = e.get(&at).await;
    for secret in [CORP_ID, CORP_SECRET, APP_ID, APP_SECRET] {
        assert!(!a.body.contains(secret), "{a:?}");
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&a.body).expect("json"),
        serde_json::json!({"wecom": true, "wechat": true})
    );

    // An offer means the start link goes on to WeCom / WeChat.
    assert_eq!(e.get(&format!("/auth/wecom/{c}/start")).await.status, 302);
    let start = format!("/auth/wechat/{c}/start?next=/h5/chat");
    assert_eq!(e.get(&start).await.status, 302);

    // An unknown company answers byte for byte as an unconfigured one.
    let other = e.app.company("未配置").await;
    for id in [other, c + 1000, i64::MAX] {
        let a = e.get(&format!("/auth/options/{id}")).await;
        assert_eq!(
            (a.status, &a.body),
            (unconfigured.status, &unconfigured.body)
        );
    }

    // An expired account offers nothing (its start links answer 403).
    sqlx::query("UPDATE company SET account_expired_time = $1 WHERE id = $2")
        .bind(e.app.now_ms() - 1000)
        .bind(c)
        .execute(&e.app.st.db.pool)
        .await
        .expect("expire");
    assert_eq!(options_of(&e, &at).await, (200, NONE));
    assert_eq!(e.get(&format!("/auth/wecom/{c}/start")).await.status, 403);
}

async fn options_refuse_hostile_input_without_5xx(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let huge = "9".repeat(50_000);
    let bad = [
        "/auth/options/0".to_owned(),
        "/auth/options/-1".to_owned(),
        "/auth/options/abc".to_owned(),
        "/auth/options/1.5".to_owned(),
        "/auth/options/%00".to_owned(),
        format!("/auth/options/{c}%00"),
        "/auth/options/99999999999999999999".to_owned(),
        format!("/auth/options/{huge}"),
        "/auth/options/%FF%FE".to_owned(),
        "/auth/options/true".to_owned(),
        "/auth/options/%5B1%5D".to_owned(),
    ];
    for path in &bad {
        let a = e.get(path).await;
        assert!((400..500).contains(&a.status), "{path}: {a:?}");
        if a.status == 400 && a.body.starts_with('{') {
            assert_eq!(
                serde_json::from_str::<SignInOptions>(&a.body).ok(),
                Some(NONE)
            );
        }
    }
    // The query is not read: NUL, huge and repeated parameters change nothing.
    for q in [
        "?company_id=%00".to_owned(),
        format!("?x={huge}"),
        "?wechat=true&wechat=false".to_owned(),
    ] {
        let (status, o) = options_of(&e, &format!("/auth/options/{c}{q}")).await;
        assert_eq!((status, o.wechat), (200, true), "{q}");
    }
    // Other methods: refused, never a 5xx.
    let r = e
        .http
        .post(format!("{}/auth/options/{c}", e.app.base))
        .body("wecom=true")
        .send()
        .await
        .expect("post");
    assert!(r.status().is_client_error(), "{}", r.status());
    // A burst: every answer good, and the same.
    let at = format!("/auth/options/{c}");
    let burst = (0..40).map(|_| options_of(&e, &at));
    for answer in futures_util::future::join_all(burst).await {
        assert_eq!(
            answer,
            (
                200,
                SignInOptions {
                    wecom: false,
                    wechat: true
                }
            )
        );
    }
    assert_eq!(e.fake.calls(), Vec::<String>::new(), "no call to WeChat");
}

both!(
    options_follow_the_settings,
    options_refuse_hostile_input_without_5xx
);
