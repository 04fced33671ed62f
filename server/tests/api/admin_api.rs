//! The admin HTTP API (contract §7, issue 12): absent without
//! `RADAR_ADMIN_TOKEN`, bearer-authenticated, the CLI's JSON in and out, and
//! the tokens it hands out sign REST calls.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both;
use crate::common::*;

pub const TOKEN: &str = "test-admin-token-7f3a9c1e5b2d4f60a8e7c3b1d9f2e4a6";
const API: &str = "/admin/api/v1";

async fn spawn_admin(b: Backend) -> TestApp {
    spawn_with(b, |c| {
        c.admin_token = Some(radar::config::Secret(TOKEN.into()));
    })
    .await
}

/// POSTs `body` (JSON) to `path` under the API with `auth` as the
/// `Authorization` header; the status, headers and the body as JSON (or as a
/// string when it is not JSON).
async fn call(
    app: &TestApp,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app.http.post(format!("{}{API}{path}", app.base));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    split(resp).await
}

async fn split(resp: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// An answer `{"id"}` (or `{"id","token"}`) and nothing else, as the CLI prints.
fn id_of(v: &Value, with_token: bool) -> i64 {
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let want: &[&str] = if with_token {
        &["id", "token"]
    } else {
        &["id"]
    };
    assert_eq!(keys, want, "{v}");
    if with_token {
        let t = v["token"].as_str().expect("token");
        assert_eq!(t.len(), 32, "{v}");
    }
    v["id"].as_i64().expect("id")
}

async fn rows(app: &TestApp) -> [i64; 4] {
    [
        app.count("company").await,
        app.count("sales_user").await,
        app.count("customer").await,
        app.count("relation").await,
    ]
}

/// Without the variable the routes do not exist: the answer is the server's
/// ordinary unknown-path answer, token or not.
async fn absent_without_the_token(b: Backend) {
    let app = spawn_app(b).await;
    assert!(app.st.config.admin_token.is_none());
    let unknown = app
        .http
        .post(format!("{}/no/such/path", app.base))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("request");
    let unknown_type = unknown.headers()["content-type"].clone();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    for path in [
        "/companies",
        "/users",
        "/customers",
        "/relations",
        "/users/1/rotate-token",
        "/customers/1/rotate-token",
        "",
    ] {
        for auth in [None, Some(bearer())] {
            let (status, headers, _) =
                call(&app, path, auth.as_deref(), Some(&json!({"name": "公司"}))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(headers["content-type"], unknown_type, "{path}");
            assert!(!headers.contains_key("www-authenticate"), "{path}");
        }
    }
    assert_eq!(rows(&app).await, [0, 0, 0, 0]);
}

/// 401 with a `WWW-Authenticate: Bearer` challenge for every way of not
/// presenting the token; nothing is stored.
async fn refused_without_the_right_token(b: Backend) {
    let app = spawn_admin(b).await;
    let half = &TOKEN[..TOKEN.len() / 2];
    let auths = [
        None,
        Some("".to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {half}")),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
    ];
    for auth in &auths {
        let (status, headers, body) = call(
            &app,
            "/companies",
            auth.as_deref(),
            Some(&json!({"name": "公司"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}: {body}");
        let challenge = headers["www-authenticate"].to_str().expect("ascii");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_eq!(body, json!({"error": "unauthorized"}));
    }
    // Before the body is looked at, and on unknown paths too.
    let (status, _, _) = call(&app, "/users/1/rotate-token", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&app, "/nothing", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(rows(&app).await, [0, 0, 0, 0]);
    // With the token an unknown path is a JSON 404.
    let (status, _, body) = call(&app, "/nothing", Some(&bearer()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not found");
}

/// company → rep → customer → relation over HTTP; the returned tokens sign
/// REST calls of both sides; after rotation the old tokens fail and the new
/// ones work.
async fn provisioning_flow(b: Backend) {
    let app = spawn_admin(b).await;
    let auth = bearer();
    let a = Some(auth.as_str());
    let (status, _, v) = call(&app, "/companies", a, Some(&json!({"name": "演示公司"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let company = id_of(&v, false);
    let (status, _, v) = call(
        &app,
        "/users",
        a,
        Some(&json!({
            "company_id": company, "name": "张三", "phone": "13800138000",
            "wechat": "zs", "wecom_userid": "zhangsan", "avatar": "https://example.com/a.png"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let rep = Who {
        id: id_of(&v, true),
        token: v["token"].as_str().unwrap_or_default().to_owned(),
    };
    let (status, _, v) = call(
        &app,
        "/customers",
        a,
        Some(&json!({"company_id": company, "name": "客户😀", "user_type": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let customer = Who {
        id: id_of(&v, true),
        token: v["token"].as_str().unwrap_or_default().to_owned(),
    };
    let (status, _, v) = call(
        &app,
        "/relations",
        a,
        Some(&json!({"user_id": rep.id, "customer_id": customer.id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    id_of(&v, false);
    let (wecom, phone): (Option<String>, String) =
        sqlx::query_as("SELECT wecom_userid, mingpian_phone FROM sales_user WHERE id = $1")
            .bind(rep.id)
            .fetch_one(&app.st.db.pool)
            .await
            .expect("rep row");
    assert_eq!(wecom.as_deref(), Some("zhangsan"));
    assert_eq!(phone, "13800138000");

    // Both sides sign REST calls that need the relation.
    let contacts = app.get("/zhugeleida/qiyeweixin/tongxunlu", &rep, "").await;
    assert_eq!(code(&contacts), 200, "{contacts}");
    assert!(contacts.to_string().contains("客户😀"), "{contacts}");
    let history = app
        .get(
            "/zhugeleida/qiyeweixin/chat",
            &rep,
            &format!("customer_id={}", customer.id),
        )
        .await;
    assert_eq!(code(&history), 200, "{history}");
    let num = format!("u_id={}", rep.id);
    let count = app
        .get("/zhugeleida/gongzhonghao/chat/query_num/0", &customer, &num)
        .await;
    assert_eq!(code(&count), 200, "{count}");

    // Rotation: the old token is refused, the new one signs.
    let (status, _, v) = call(&app, &format!("/users/{}/rotate-token", rep.id), a, None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(id_of(&v, true), rep.id);
    let new_rep = Who {
        id: rep.id,
        token: v["token"].as_str().unwrap_or_default().to_owned(),
    };
    assert_ne!(new_rep.token, rep.token);
    let old = app.get("/zhugeleida/qiyeweixin/tongxunlu", &rep, "").await;
    assert_eq!(code(&old), 400, "{old}");
    let new = app
        .get("/zhugeleida/qiyeweixin/tongxunlu", &new_rep, "")
        .await;
    assert_eq!(code(&new), 200, "{new}");

    let (status, _, v) = call(
        &app,
        &format!("/customers/{}/rotate-token", customer.id),
        a,
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(id_of(&v, true), customer.id);
    let new_customer = Who {
        id: customer.id,
        token: v["token"].as_str().unwrap_or_default().to_owned(),
    };
    let old = app
        .get("/zhugeleida/gongzhonghao/chat/query_num/0", &customer, &num)
        .await;
    assert_eq!(code(&old), 400, "{old}");
    let new = app
        .get(
            "/zhugeleida/gongzhonghao/chat/query_num/0",
            &new_customer,
            &num,
        )
        .await;
    assert_eq!(code(&new), 200, "{new}");
    assert_eq!(rows(&app).await, [1, 1, 1, 1]);
}

/// Hostile input: every refusal is a 4xx `AdminError` (the field named where
/// there is one), never a 5xx, and stores nothing.
async fn hostile_input(b: Backend) {
    let app = spawn_admin(b).await;
    let company = app.company("公司").await;
    let other = app.company("别的公司").await;
    let rep = app.user(company, "销售").await;
    let customer = app.customer(company, "客户").await;
    let stranger = app.customer(other, "别人的客户").await;
    app.relate(&rep, &customer).await;
    radar::service::admin::set_wecom_userid(&app.st, rep.id, "taken")
        .await
        .expect("wecom id");
    let before = rows(&app).await;
    let huge = "长".repeat(20_000);
    let long_name = "名".repeat(101);
    // (path, body, expected status, the field named)
    let cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        ("/companies", json!({}), 422, Some("name")),
        ("/companies", json!({"name": ""}), 422, Some("name")),
        ("/companies", json!({"name": "   "}), 422, Some("name")),
        ("/companies", json!({"name": 5}), 422, Some("name")),
        ("/companies", json!({"name": null}), 422, Some("name")),
        ("/companies", json!({"name": ["a"]}), 422, Some("name")),
        ("/companies", json!({"name": "a\u{0}b"}), 422, Some("name")),
        ("/companies", json!({"name": long_name}), 422, Some("name")),
        ("/companies", json!({"name": huge}), 413, None),
        (
            "/companies",
            json!({"name": "a", "admin": true}),
            422,
            Some("admin"),
        ),
        ("/companies", json!([{"name": "a"}]), 422, None),
        ("/companies", json!("name"), 422, None),
        ("/users", json!({"company_id": company}), 422, Some("name")),
        (
            "/users",
            json!({"company_id": "1", "name": "a"}),
            422,
            Some("company_id"),
        ),
        (
            "/users",
            json!({"company_id": 1.5, "name": "a"}),
            422,
            Some("company_id"),
        ),
        (
            "/users",
            json!({"company_id": 1e30, "name": "a"}),
            422,
            Some("company_id"),
        ),
        (
            "/users",
            json!({"company_id": 999_999, "name": "a"}),
            422,
            Some("company_id"),
        ),
        (
            "/users",
            json!({"company_id": -1, "name": "a"}),
            422,
            Some("company_id"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "phone": "1\u{0}"}),
            422,
            Some("phone"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "phone": "1".repeat(33)}),
            422,
            Some("phone"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "wechat": "w\u{0}"}),
            422,
            Some("wechat"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "avatar": "javascript:alert(1)"}),
            422,
            Some("avatar"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "wecom_userid": "a b"}),
            422,
            Some("wecom_userid"),
        ),
        (
            "/users",
            json!({"company_id": company, "name": "a", "wecom_userid": "taken"}),
            409,
            Some("wecom_userid"),
        ),
        (
            "/customers",
            json!({"company_id": company, "name": "a", "user_type": 9}),
            422,
            Some("user_type"),
        ),
        (
            "/customers",
            json!({"company_id": company, "name": "a", "headimgurl": "data:x"}),
            422,
            Some("headimgurl"),
        ),
        (
            "/customers",
            json!({"company_id": 999_999, "name": "a"}),
            422,
            Some("company_id"),
        ),
        ("/customers", json!({"name": "a"}), 422, Some("company_id")),
        (
            "/relations",
            json!({"user_id": rep.id, "customer_id": customer.id}),
            409,
            Some("customer_id"),
        ),
        (
            "/relations",
            json!({"user_id": rep.id, "customer_id": stranger.id}),
            422,
            Some("customer_id"),
        ),
        (
            "/relations",
            json!({"user_id": 999_999, "customer_id": customer.id}),
            422,
            Some("user_id"),
        ),
        (
            "/relations",
            json!({"user_id": rep.id, "customer_id": 999_999}),
            422,
            Some("customer_id"),
        ),
        (
            "/relations",
            json!({"user_id": rep.id, "customer_id": stranger.id, "source": 0}),
            422,
            Some("source"),
        ),
        (
            "/relations",
            json!({"user_id": rep.id}),
            422,
            Some("customer_id"),
        ),
    ];
    let auth = bearer();
    for (path, body, want, field) in &cases {
        let (status, _, v) = call(&app, path, Some(&auth), Some(body)).await;
        let shown = v.to_string();
        let shown = &shown[..shown.len().min(300)];
        assert_eq!(status.as_u16(), *want, "{path} {shown}");
        assert!(v["error"].is_string(), "{path} {shown}");
        if let Some(f) = field {
            assert!(
                v["fields"][f][0]["message"].is_string(),
                "{path}: {f} in {shown}"
            );
        }
    }
    // Bodies that are not JSON, or not said to be.
    let raw: Vec<(&str, &str, &[u8], u16)> = vec![
        ("/companies", "application/json", b"{\"name\": ", 400),
        ("/companies", "application/json", b"", 400),
        (
            "/companies",
            "application/json",
            b"{\"name\":\"a\"} trailing",
            400,
        ),
        ("/companies", "application/json", b"\xff\xfe", 400),
        ("/companies", "text/plain", b"{\"name\":\"a\"}", 415),
        (
            "/companies",
            "application/x-www-form-urlencoded",
            b"name=a",
            415,
        ),
    ];
    for (path, ctype, body, want) in raw {
        let resp = app
            .http
            .post(format!("{}{API}{path}", app.base))
            .header("authorization", &auth)
            .header("content-type", ctype)
            .body(body.to_vec())
            .send()
            .await
            .expect("request");
        let (status, _, v) = split(resp).await;
        assert_eq!(status.as_u16(), want, "{ctype} {body:?}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let no_type = app
        .http
        .post(format!("{}{API}/companies", app.base))
        .header("authorization", &auth)
        .body("{\"name\":\"a\"}")
        .send()
        .await
        .expect("request");
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Ids in the path that name nobody.
    for path in [
        "/users/999999/rotate-token",
        "/users/abc/rotate-token",
        "/users/-1/rotate-token",
        "/users/99999999999999999999/rotate-token",
        "/customers/999999/rotate-token",
        "/customers/1.5/rotate-token",
    ] {
        let (status, _, v) = call(&app, path, Some(&auth), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    // A rep's id is no customer's, and the other way round.
    let (status, _, _) = call(
        &app,
        &format!("/customers/{}/rotate-token", rep.id + 1000),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Other methods.
    let resp = app
        .http
        .get(format!("{}{API}/companies", app.base))
        .header("authorization", &auth)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(rows(&app).await, before, "a refusal stored something");
    // The tokens of the fixtures still work: no refusal rotated anything.
    let still = app.get("/zhugeleida/qiyeweixin/tongxunlu", &rep, "").await;
    assert_eq!(code(&still), 200, "{still}");
}

/// A burst of wrong tokens is answered 401, then 429 with `Retry-After`,
/// never 5xx; nothing is stored. The right token still passes meanwhile.
async fn burst_of_wrong_tokens(b: Backend) {
    let app = spawn_admin(b).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let http = app.http.clone();
        let url = format!("{}{API}/companies", app.base);
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("authorization", format!("Bearer guess-{i:040}"))
                .json(&json!({"name": "公司"}))
                .send()
                .await
                .expect("request");
            let retry = resp.headers().contains_key("retry-after");
            (resp.status(), retry)
        }));
    }
    let mut unauthorized = 0;
    let mut limited = 0;
    for t in tasks {
        let (status, retry) = t.await.expect("join");
        match status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry, "429 without Retry-After");
                limited += 1;
            }
            other => panic!("a wrong token answered {other}"),
        }
    }
    assert!(unauthorized >= 1, "{unauthorized} 401, {limited} 429");
    assert!(limited >= 1, "no 429 in a burst: {unauthorized} 401");
    assert_eq!(rows(&app).await, [0, 0, 0, 0]);
    let locked = app
        .http
        .post(format!("{}{API}/companies", app.base))
        .header("authorization", "Bearer guess-after-the-burst")
        .json(&json!({"name": "公司"}))
        .send()
        .await
        .expect("request");
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let owner = app
        .http
        .post(format!("{}{API}/companies", app.base))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "公司"}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        owner.status(),
        StatusCode::CREATED,
        "the operator is locked out"
    );
    assert_eq!(rows(&app).await, [1, 0, 0, 0]);
}

/// `RADAR_ADMIN_TOKEN` shorter than 32 characters, or with spaces, stops the
/// server from starting, saying why.
async fn short_token_refuses_to_start(b: Backend) {
    let db = TestDb::new(b).await;
    for bad in ["short", "with spaces in the token, long enough to pass"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .env("RADAR_ADMIN_TOKEN", bad)
            .output()
            .expect("run radar");
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("RADAR_ADMIN_TOKEN must be at least 32"),
            "{err}"
        );
        assert!(!err.contains(bad), "the value is echoed: {err}");
    }
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_radar"))
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .env("RADAR_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("run radar");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

both!(
    absent_without_the_token,
    refused_without_the_right_token,
    provisioning_flow,
    hostile_input,
    burst_of_wrong_tokens,
    short_token_refuses_to_start,
);
