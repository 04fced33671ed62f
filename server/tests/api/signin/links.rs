//! The links that lead into customer sign-in: the recommended articles' links
//! and the ones `radar demo` prints go through `/auth/wechat/{company_id}/start`
//! when the company has an Official Account, and stay the original's otherwise.

use super::*;
use crate::both;
use crate::common::*;
use crate::fakeweixin::*;

const RECOMMEND: &str = "/zhugeleida/gongzhonghao/article/recommend_article_list";
const VIEW: &str = "/zhugeleida/gongzhonghao/article/view_article";

/// A company with a rep, a customer and two published articles; the first
/// recommended link when reading the first article.
async fn recommended_link(e: &Env, c: i64) -> (Who, i64, String) {
    let rep = e.app.user(c, "销售").await;
    let cust = e.app.customer(c, "老客户").await;
    let svc = radar::service::article::create_article;
    let read = svc(&e.app.st, c, "正在读", 1, 5).await.expect("article");
    let other = svc(&e.app.st, c, "推荐的", 1, 9).await.expect("article");
    let q = format!("uid={}&company_id={c}", rep.id);
    let r = e.app.get(&format!("{RECOMMEND}/{read}"), &cust, &q).await;
    assert_eq!(code(&r), 200, "{r}");
    assert_eq!(r["data"]["ret_data"][0]["article_id"], other);
    let url = r["data"]["ret_data"][0]["article_url"]
        .as_str()
        .expect("article_url")
        .to_owned();
    (rep, other, url)
}

async fn recommended_links_sign_the_reader_in(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    radar::service::admin::set_official_account(&e.app.st, c, APP_ID, APP_SECRET)
        .await
        .expect("official account");
    let (rep, article, url) = recommended_link(&e, c).await;
    let public = e.app.st.config.public_url.trim_end_matches('/');
    let path = url
        .strip_prefix(public)
        .unwrap_or_else(|| panic!("{url} is not on RADAR_PUBLIC_URL {public}"));
    assert!(
        path.starts_with(&format!("/auth/wechat/{c}/start?")),
        "{url}"
    );
    let page = format!("/h5/article/{article}?uid={}&company_id={c}", rep.id);
    assert_eq!(query_param(path, "next").as_deref(), Some(page.as_str()));
    assert_eq!(query_param(path, "uid"), Some(rep.id.to_string()));

    // Following it in WeChat ends on the article, signed in and bound to the rep.
    e.fake.set_next_person(Person {
        id: "o-reader".into(),
        name: "读者".into(),
        avatar: String::new(),
    });
    let a = e.sign_in(path).await;
    assert_eq!(a.status, 302, "{a:?}");
    let (id, token) = creds_of(&a.location, &page);
    let reader = Who { id, token };
    let uid = rep.id.to_string();
    let r = e
        .app
        .post_form(&format!("{VIEW}/{article}"), &reader, "", &[("uid", &uid)])
        .await;
    assert_eq!(
        code(&r),
        200,
        "the landing credentials read the article: {r}"
    );
    assert_eq!(
        e.app
            .count(&format!(
                "relation WHERE user_id = {} AND customer_id = {id} AND source = 4",
                rep.id
            ))
            .await,
        1
    );
}

async fn recommended_links_without_official_account_are_unchanged(b: Backend) {
    let e = env(b).await;
    let c = e.app.company("公司").await;
    // An app id alone (no secret) is not an Official Account Radar can sign in with.
    sqlx::query("INSERT INTO gongzhonghao_app (company_id, authorization_appid) VALUES ($1, $2)")
        .bind(c)
        .bind(APP_ID)
        .execute(&e.app.st.db.pool)
        .await
        .expect("app id");
    let (rep, article, url) = recommended_link(&e, c).await;
    // Without RADAR_ARTICLE_*: the article page of this deployment.
    assert!(e.app.st.config.article_share.is_none());
    assert_eq!(
        url,
        format!(
            "{}{}",
            e.app.st.config.public_url,
            radar::service::signin::article_page(c, article, rep.id)
        )
    );
    assert!(!url.contains("/auth/"), "{url}");
}

async fn demo_prints_share_links_once_configured(b: Backend) {
    let db = TestDb::new(b).await;
    let before = radar(&db, &["demo"]);
    assert!(before.status.success(), "{}", printed(&before));
    let before = String::from_utf8_lossy(&before.stdout).into_owned();
    assert!(!before.contains("/auth/"), "{before}");
    let demo = json_line(&radar(&db, &["demo", "--json"]));
    let c = demo["company_id"].as_i64().expect("company");
    let company = c.to_string();
    let out = radar_in(
        &db,
        &[
            "admin",
            "company",
            "gongzhonghao",
            "--id",
            &company,
            "--appid",
            APP_ID,
            "--secret",
            "-",
        ],
        APP_SECRET,
    );
    assert!(out.status.success(), "{}", printed(&out));
    let after = radar(&db, &["demo"]);
    assert!(after.status.success(), "{}", printed(&after));
    let after = String::from_utf8_lossy(&after.stdout).into_owned();
    let article = demo["articles"][0]["id"].as_i64().expect("article");
    for rep in demo["reps"].as_array().expect("reps") {
        let rep = rep["id"].as_i64().expect("rep");
        let link = after
            .split_whitespace()
            .find(|w| {
                w.contains(&format!("/auth/wechat/{c}/start?"))
                    && w.ends_with(&format!("&uid={rep}"))
            })
            .unwrap_or_else(|| panic!("no share link of rep {rep} in {after}"));
        assert!(link.starts_with("http"), "absolute: {link}");
        assert_eq!(
            query_param(link, "next"),
            Some(format!("/h5/article/{article}?uid={rep}&company_id={c}"))
        );
    }
    // No article link with credentials is left; the chat links stay.
    assert!(!after.contains("/h5/article/"), "{after}");
    assert!(after.contains("/h5/chat?u_id="), "{after}");
    assert!(after.contains("/rep#user_id="), "{after}");
}

both!(
    recommended_links_sign_the_reader_in,
    recommended_links_without_official_account_are_unchanged,
    demo_prints_share_links_once_configured
);
