use super::*;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn boom() -> &'static str {
    panic!("boom")
}

/// One response (head and Content-Length body) from a keep-alive connection.
async fn response(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed after {text:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A panicking handler answers the 500 envelope and the same connection
/// serves the next request.
#[tokio::test]
async fn panic_answers_500_envelope_and_keeps_the_connection() {
    let app = layers(
        Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "fine" })),
        &NetConfig::default(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_http(listener, app, DEFAULT_HEADER_TIMEOUT, async {
        let _ = rx.await;
    }));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let first = response(&mut s).await;
    assert!(first.starts_with("HTTP/1.1 500"), "{first}");
    let body = &first[first.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], 500);
    assert_eq!(v["msg"], "服务器繁忙,请稍后重试");
    assert_eq!(v["data"], serde_json::json!({}));
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let second = response(&mut s).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(second.ends_with("fine"), "{second}");
    // Shutdown closes the idle keep-alive connection and returns.
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[test]
fn origins_parse() {
    assert_eq!(parse_origins(None), Ok(CorsOrigins::Any));
    assert_eq!(parse_origins(Some(" * ")), Ok(CorsOrigins::Any));
    assert_eq!(
        parse_origins(Some("https://a.example.com, http://b.example:8080/")),
        Ok(CorsOrigins::List(vec![
            HeaderValue::from_static("https://a.example.com"),
            HeaderValue::from_static("http://b.example:8080"),
        ]))
    );
    assert!(parse_origins(Some("a.example.com")).is_err());
    assert!(parse_origins(Some("https://a.example.com/path")).is_err());
    assert!(parse_origins(Some("https://a\nb")).is_err());
}
