//! The operator endpoints under hostile input: NUL bytes and huge values in
//! the query string and headers, other methods, a burst. Never a 5xx, never
//! a token echoed, and the answers stay what they are.

use futures_util::future::join_all;

use crate::both;
use crate::common::*;

async fn operator_endpoints_take_hostile_input(b: Backend) {
    let token = "hostile-test-metrics-token-0042";
    let app = spawn_with(b, |c| {
        c.metrics_token = Some(radar::config::Secret(token.into()));
    })
    .await;
    let huge = "a".repeat(50 * 1024);
    let bearer = format!("Bearer {token}");
    for path in ["/readyz", "/metrics", "/healthz"] {
        for query in [
            "?x=%00".to_owned(),
            format!("?q={huge}"),
            "?format=json&format[]=1&%ff=%fe".to_owned(),
        ] {
            let r = app
                .http
                .get(format!("{}{path}{query}", app.base))
                .header("authorization", &bearer)
                .send()
                .await
                .expect("get");
            let status = r.status().as_u16();
            assert!(
                status == 200 || status == 414 || status == 431,
                "{path}: {status}"
            );
        }
        for method in [
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let r = app
                .http
                .request(method.clone(), format!("{}{path}", app.base))
                .header("authorization", &bearer)
                .body("\0".repeat(1024))
                .send()
                .await
                .expect("request");
            assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        }
    }
    // Hostile credentials for /metrics: refused, never echoed.
    for auth in [
        format!("Bearer {}", "b".repeat(16 * 1024)),
        "Bearer \u{7f}".to_owned(),
        format!("Bearer {token}{token}"),
        format!("Bearer{token}"),
    ] {
        let Ok(v) = reqwest::header::HeaderValue::from_str(&auth) else {
            continue;
        };
        let r = app
            .http
            .get(format!("{}/metrics", app.base))
            .header("authorization", v)
            .send()
            .await
            .expect("metrics");
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert!(status == 401 || status == 431, "{status}");
        assert!(!body.contains(token) && !body.contains("bbbb"), "{body}");
    }
    // The scheme is case-insensitive (RFC 9110).
    let r = app
        .http
        .get(format!("{}/metrics", app.base))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    // A burst: every answer is the real one.
    let calls = (0..40).map(|i| {
        let http = app.http.clone();
        let path = if i % 2 == 0 { "/readyz" } else { "/metrics" };
        let url = format!("{}{path}", app.base);
        let bearer = bearer.clone();
        async move {
            http.get(url)
                .header("authorization", bearer)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    for r in join_all(calls).await {
        assert_eq!(r.expect("answered"), 200);
    }
}

both!(operator_endpoints_take_hostile_input);
