//! `x-request-id`: a sane incoming id is taken over, anything else is
//! replaced by a generated one, and every answer carries it.

use reqwest::header::HeaderValue;

use crate::both;
use crate::common::*;

fn is_generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn answer_id(app: &TestApp, path: &str, sent: Option<HeaderValue>) -> (u16, String) {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(v) = sent {
        req = req.header("x-request-id", v);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let ids: Vec<_> = r.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "one x-request-id on {path}");
    (status, ids[0].to_str().expect("ascii").to_owned())
}

async fn request_ids_are_echoed_or_generated(b: Backend) {
    let app = spawn_app(b).await;
    // Generated: on a page, an API refusal, a 404 and the probes.
    let mut seen = Vec::new();
    for path in [
        "/healthz",
        "/readyz",
        "/zhugeleida/qiyeweixin/contact",
        "/nowhere",
    ] {
        let (status, id) = answer_id(&app, path, None).await;
        assert!(status < 500, "{path}: {status}");
        assert!(is_generated(&id), "{path}: {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "a new id per request");

    // Taken over when sane.
    for sane in [
        "abc-123",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "Root=1-67891233-abcdef012345678912345678",
        "a/b+c=d@e.f_g:h",
        &"x".repeat(128),
    ] {
        let (_, id) = answer_id(&app, "/healthz", Some(HeaderValue::from_str(sane).unwrap())).await;
        assert_eq!(id, sane);
    }

    // Replaced when hostile: too long, spaces, quotes, tabs, non-ASCII bytes,
    // a forged log field.
    let huge = "y".repeat(129);
    let big = "z".repeat(8 * 1024);
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&huge).unwrap(),
        HeaderValue::from_str(&big).unwrap(),
        HeaderValue::from_static("a b"),
        HeaderValue::from_static("a\"b"),
        HeaderValue::from_static("a\tb"),
        HeaderValue::from_static("id status=200 principal=sales:1"),
        HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        HeaderValue::from_static(""),
    ];
    for v in hostile {
        let shown = String::from_utf8_lossy(v.as_bytes()).into_owned();
        let (status, id) = answer_id(&app, "/healthz", Some(v)).await;
        assert_eq!(status, 200);
        assert!(is_generated(&id), "{shown:?} answered {id:?}");
        assert_ne!(id, shown);
    }

    // Control characters and a header line split by a bare CR, on a raw
    // connection (an HTTP client refuses to send them): refused or replaced,
    // never echoed, never a 5xx.
    for raw in [&b"a\x01b"[..], b"a\x1b[31mred", b"a\rb", b"a\x7fb"] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(app.addr).await.expect("tcp");
        let mut req =
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-request-id: ".to_vec();
        req.extend_from_slice(raw);
        req.extend_from_slice(b"\r\n\r\n");
        s.write_all(&req).await.expect("write");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(crate::wsutil::FRAME_WAIT, s.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        let status = answer.split_whitespace().nth(1).unwrap_or("");
        assert!(
            status.starts_with('2') || status.starts_with('4'),
            "{answer}"
        );
        if let Some(line) = answer.lines().find(|l| l.starts_with("x-request-id:")) {
            assert!(is_generated(line["x-request-id:".len()..].trim()), "{line}");
        }
    }
}

both!(request_ids_are_echoed_or_generated);
