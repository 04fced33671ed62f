//! Uploads (`…/chat/upload/0`), the files at `/media/{key}` and the default
//! avatars (issue 15): the type comes from the bytes, a refusal stores
//! nothing, an oversized file is not read whole, and what is stored comes
//! back byte for byte, whole or in ranges, from a directory or from S3.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::both;
use crate::common::*;

const C_UPLOAD: &str = "/zhugeleida/gongzhonghao/chat/upload/0";
const R_UPLOAD: &str = "/zhugeleida/qiyeweixin/chat/upload/0";
const MB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Tiny real files, built here.

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = kind.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A valid RGB PNG of `w`×`h` (a colour gradient), its pixels in stored
/// (uncompressed) deflate blocks.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&[(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A valid baseline JPEG, 8×8 mid-grey: one block whose only coefficient
/// (DC 0) and end-of-block each take a one-bit Huffman code.
fn jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1u8; 64]);
    j.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
    ]);
    for class in [0x00u8, 0x10] {
        j.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        j.extend_from_slice(&[0u8; 15]);
        j.push(0x00);
    }
    j.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x3F, 0xFF, 0xD9,
    ]);
    j
}

/// An MP4: its `ftyp` box, a `free` box and an `mdat` of `payload` bytes.
fn mp4(payload: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&24u32.to_be_bytes());
    v.extend_from_slice(b"ftypisom\x00\x00\x02\x00isomiso2mp41");
    v.extend_from_slice(&8u32.to_be_bytes());
    v.extend_from_slice(b"free");
    v.extend_from_slice(&((payload + 8) as u32).to_be_bytes());
    v.extend_from_slice(b"mdat");
    v.extend((0..payload).map(|i| (i % 251) as u8));
    v
}

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// A multipart/form-data body with one file field.
fn multipart(field: &str, filename: &str, ctype: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "radar-test-boundary-7b1e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One upload: HTTP status and the envelope.
async fn upload_raw(app: &TestApp, url: &str, ctype: &str, body: Vec<u8>) -> (u16, Value) {
    let r = app
        .http
        .post(url)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

async fn upload(app: &TestApp, path: &str, who: &Who, name: &str, bytes: &[u8]) -> (u16, Value) {
    let (ct, body) = multipart("file", name, "application/octet-stream", bytes);
    upload_raw(app, &app.url(path, who, ""), &ct, body).await
}

async fn stored(app: &TestApp) -> Vec<String> {
    app.st.media.keys().await.expect("list media")
}

async fn fetch(app: &TestApp, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{url}", app.base));
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.expect("request")
}

fn assert_file_refused(v: &Value) {
    assert_eq!(code(v), 402, "{v}");
    assert!(v["data"]["file"].is_array(), "a field error on file: {v}");
}

// ---------------------------------------------------------------------------

/// Path, signer, file name, bytes, served type, `info_type`, dimensions.
type Case<'a> = (
    &'a str,
    &'a Who,
    &'a str,
    &'a [u8],
    &'a str,
    i64,
    Option<(i64, i64)>,
);

/// PNG, JPEG, GIF and MP4 from both sides come back byte for byte, with
/// their type, size and (images) dimensions, under unguessable keys.
async fn round_trip(b: Backend) {
    let app = spawn_app(b).await;
    let (rep, customer) = app.pair().await;
    let png = png(33, 17);
    let jpeg = jpeg();
    let mp4 = mp4(3000);
    let cases: [Case; 5] = [
        (
            C_UPLOAD,
            &customer,
            "a.png",
            &png,
            "image/png",
            4,
            Some((33, 17)),
        ),
        (
            R_UPLOAD,
            &rep,
            "b.jpg",
            &jpeg,
            "image/jpeg",
            4,
            Some((8, 8)),
        ),
        (
            C_UPLOAD,
            &customer,
            "c.gif",
            GIF,
            "image/gif",
            4,
            Some((1, 1)),
        ),
        // The name says nothing: a PNG called .txt is still a PNG.
        (
            R_UPLOAD,
            &rep,
            "d.txt",
            &png,
            "image/png",
            4,
            Some((33, 17)),
        ),
        (C_UPLOAD, &customer, "e.mp4", &mp4, "video/mp4", 5, None),
    ];
    let n = cases.len();
    let mut urls = Vec::new();
    for (path, who, name, bytes, ctype, info_type, dims) in cases {
        let (status, v) = upload(&app, path, who, name, bytes).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(code(&v), 200, "{v}");
        let d = &v["data"];
        assert_eq!(d["info_type"], info_type, "{v}");
        assert_eq!(d["size"], bytes.len() as i64, "{v}");
        assert_eq!(d["width"], dims.map_or(Value::Null, |d| d.0.into()), "{v}");
        assert_eq!(d["height"], dims.map_or(Value::Null, |d| d.1.into()), "{v}");
        let url = d["url"].as_str().expect("url").to_owned();
        let key = url.strip_prefix("/media/").expect("a /media/ path");
        let (stem, _) = key.split_once('.').expect("an extension");
        assert_eq!(stem.len(), 32, "128 bits in hex: {key}");
        let r = fetch(&app, &url, None).await;
        assert_eq!(r.status(), 200, "{url}");
        let h = r.headers().clone();
        assert_eq!(h["content-type"], ctype);
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-disposition"], "inline");
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(r.bytes().await.expect("body").as_ref(), bytes, "{url}");
        urls.push(url);
    }
    // The same bytes twice are two objects with unrelated names.
    assert_ne!(urls[0], urls[3]);
    assert_eq!(stored(&app).await.len(), n);
    // The answer can be sent as a message of its type.
    let content = serde_json::json!({"info_type": 4, "url": urls[0]}).to_string();
    let u_id = rep.id.to_string();
    let v = app
        .post_form(
            "/zhugeleida/gongzhonghao/chat/send_msg/0",
            &customer,
            "",
            &[("u_id", u_id.as_str()), ("content", content.as_str())],
        )
        .await;
    assert_eq!(code(&v), 200, "{v}");
}

/// HTML, SVG, an HTML file named `.png` and declared `image/png`, text,
/// HEIC (an `ftyp` that is not MP4), an image whose header is broken, an
/// empty file and a missing field: each a 402 field error, nothing stored.
async fn refusals(b: Backend) {
    let app = spawn_app(b).await;
    let (rep, customer) = app.pair().await;
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.to_vec();
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend([0u8; 64]);
    let mut broken_png = png(4, 4);
    broken_png.truncate(14);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("page.html", "text/html", html.clone()),
        ("x.svg", "image/svg+xml", svg),
        ("photo.png", "image/png", html),
        ("a.txt", "text/plain", b"just some text here".to_vec()),
        ("a.heic", "image/heic", heic),
        ("b.png", "image/png", broken_png),
        (
            "nul\0.png",
            "image/png",
            b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
        ),
        ("empty.png", "image/png", Vec::new()),
    ];
    for (who, path) in [(&customer, C_UPLOAD), (&rep, R_UPLOAD)] {
        for (name, ctype, bytes) in &cases {
            let (ct, body) = multipart("file", name, ctype, bytes);
            let (status, v) = upload_raw(&app, &app.url(path, who, ""), &ct, body).await;
            assert_eq!(status, 200, "{name}: {v}");
            assert_eq!(code(&v), 402, "{name}: {v}");
            assert!(v["data"]["file"].is_array(), "{name}: {v}");
        }
        // The file under another field name, a JSON body, a form body, no body.
        let (ct, body) = multipart("photo", "a.png", "image/png", &png(2, 2));
        let (_, v) = upload_raw(&app, &app.url(path, who, ""), &ct, body).await;
        assert_file_refused(&v);
        for (ct, body) in [
            ("application/json", b"{\"file\":\"aGk=\"}".to_vec()),
            ("application/x-www-form-urlencoded", b"file=abc".to_vec()),
            ("multipart/form-data", b"garbage".to_vec()),
            ("multipart/form-data; boundary=x", b"--x\r\nbroken".to_vec()),
        ] {
            let (status, v) = upload_raw(&app, &app.url(path, who, ""), ct, body).await;
            assert_eq!(status, 200, "{ct}: {v}");
            assert_eq!(code(&v), 402, "{ct}: {v}");
        }
        // A non-numeric o_id and GET are refused as every endpoint refuses them.
        let (ct, body) = multipart("file", "a.png", "image/png", &png(2, 2));
        let bad = app.url(&path.replace("/0", "/x"), who, "");
        let (_, v) = upload_raw(&app, &bad, &ct, body).await;
        assert_eq!(code(&v), 402, "{v}");
        let v = app.get_url(&app.url(path, who, "")).await;
        assert_eq!(code(&v), 402, "{v}");
    }
    assert!(stored(&app).await.is_empty());
    assert_eq!(std::fs::read_dir(&app.media_dir).expect("dir").count(), 0);
}

/// Unsigned, badly signed, or signed as the other side: `token异常`, nothing stored.
async fn unsigned(b: Backend) {
    let app = spawn_app(b).await;
    let (rep, customer) = app.pair().await;
    let (ct, body) = multipart("file", "a.png", "image/png", &png(2, 2));
    let urls = [
        format!("{}{C_UPLOAD}", app.base),
        format!("{}{R_UPLOAD}", app.base),
        app.url(C_UPLOAD, &rep, ""),
        app.url(
            R_UPLOAD,
            &Who {
                id: rep.id,
                token: "0".repeat(32),
            },
            "",
        ),
        app.url(R_UPLOAD, &customer, "").replace(
            &format!("user_id={}", customer.id),
            &format!("user_id={}", rep.id),
        ),
    ];
    for url in urls {
        let (status, v) = upload_raw(&app, &url, &ct, body.clone()).await;
        assert_eq!(status, 200, "{url}: {v}");
        assert_eq!(code(&v), 400, "{url}: {v}");
    }
    assert!(stored(&app).await.is_empty());
}

/// An 11 MB image is refused, and the server stops reading near the 10 MB
/// limit instead of taking the whole body; a 12 MB MP4 is fine.
async fn oversized(b: Backend) {
    let app = spawn_app(b).await;
    let (rep, customer) = app.pair().await;
    let mut big = png(2, 2);
    big.resize(11 * MB, 0);
    let (ct, body) = multipart("file", "big.png", "image/png", &big);
    let sent = body.len();
    let r = app
        .http
        .post(app.url(C_UPLOAD, &customer, ""))
        .header("content-type", ct)
        .body(body)
        .send()
        .await;
    // The answer may race the client's sending: either the refusal arrives,
    // or the connection is closed under a client still writing.
    if let Ok(r) = r {
        let v: Value = r.json().await.expect("json");
        assert_file_refused(&v);
        assert_eq!(v["data"]["file"][0]["code"], "max_length", "{v}");
    }
    let read = app.st.media.last_refused_read() as usize;
    println!("{b:?}: refused an {sent}-byte upload after reading {read} bytes");
    assert!(read > 10 * MB, "refused at {read} bytes, before the limit");
    assert!(
        read < 10 * MB + MB && read < sent,
        "read {read} of {sent} bytes"
    );
    assert!(stored(&app).await.is_empty());
    // Up to 50 MB for a video.
    let video = mp4(12 * MB);
    let (status, v) = upload(&app, R_UPLOAD, &rep, "v.mp4", &video).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["size"], video.len() as i64, "{v}");
    assert_eq!(stored(&app).await.len(), 1);
}

/// `Range` requests: a slice, an open end, a suffix; 416 past the end;
/// malformed or unknown keys are 404, never an error or another file.
async fn ranges(b: Backend) {
    let app = spawn_app(b).await;
    let (_, customer) = app.pair().await;
    let video = mp4(5000);
    let n = video.len();
    let (_, v) = upload(&app, C_UPLOAD, &customer, "v.mp4", &video).await;
    let url = v["data"]["url"].as_str().expect("url").to_owned();
    for (range, from, to) in [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=100-", 100, n - 1),
        ("bytes=-7", n - 7, n - 1),
        ("bytes=4000-999999", 4000, n - 1),
    ] {
        let r = fetch(&app, &url, Some(range)).await;
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {from}-{to}/{n}").as_str(),
            "{range}"
        );
        assert_eq!(r.headers()["content-type"], "video/mp4");
        assert_eq!(
            r.bytes().await.expect("body").as_ref(),
            &video[from..=to],
            "{range}"
        );
    }
    for range in [format!("bytes={n}-"), format!("bytes={}-{}", n + 5, n + 9)] {
        let r = fetch(&app, &url, Some(&range)).await;
        assert_eq!(r.status(), 416, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes */{n}").as_str()
        );
    }
    // Not understood or several ranges: the whole file.
    for range in ["bytes=5-2", "lines=1-2", "bytes=0-1,5-6"] {
        let r = fetch(&app, &url, Some(range)).await;
        assert_eq!(r.status(), 200, "{range}");
        assert_eq!(r.bytes().await.expect("body").len(), n, "{range}");
    }
    let key = url.trim_start_matches("/media/");
    let stem = &key[..32];
    for bad in [
        format!("/media/{}.mp4", "0".repeat(32)),
        format!("/media/{stem}.png"),
        format!("/media/{stem}.svg"),
        format!("/media/{}", stem.to_uppercase()),
        "/media/..%2F..%2Fetc%2Fpasswd".into(),
        "/media/..%5C..%5Cetc%5Cpasswd".into(),
        "/media/a%00b.png".into(),
        format!("/media/{}", "a".repeat(5000)),
    ] {
        let r = fetch(&app, &bad, None).await;
        assert_eq!(r.status(), 404, "{bad}");
    }
}

/// A burst of uploads is held to the write budget: 429 past it, nothing
/// stored for the refused ones.
async fn budget(b: Backend) {
    let app = spawn_with(b, |c| {
        c.write_burst = 3;
        c.write_rate = 0.01;
    })
    .await;
    let (_, customer) = app.pair().await;
    let started = std::time::Instant::now();
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..6 {
        let (status, v) = upload(&app, C_UPLOAD, &customer, "a.png", &png(3, 3)).await;
        match status {
            200 => {
                assert_eq!(code(&v), 200, "{v}");
                ok += 1;
            }
            429 => {
                assert_eq!(code(&v), 429, "{v}");
                limited += 1;
            }
            s => panic!("{s}: {v}"),
        }
    }
    let allowance = 3 + (started.elapsed().as_secs_f64() * 0.01).floor() as usize;
    assert!(
        ok >= 3 && ok <= allowance,
        "{ok} uploads within {allowance}"
    );
    assert_eq!(ok + limited, 6);
    assert_eq!(stored(&app).await.len(), ok);
}

/// The original's default avatar paths answer an image, from the binary.
async fn default_avatars(b: Backend) {
    let app = spawn_app(b).await;
    for path in ["/statics/imgs/setAvator.jpg", "/statics/imgs/Avator.jpg"] {
        let r = fetch(&app, path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("image/"));
        let bytes = r.bytes().await.expect("body");
        assert!(bytes.starts_with(b"\x89PNG"), "{path}");
    }
    let r = fetch(&app, "/statics/imgs/other.jpg", None).await;
    assert_eq!(r.status(), 404);
}

both!(
    round_trip,
    refusals,
    unsigned,
    oversized,
    ranges,
    budget,
    default_avatars
);

// ---------------------------------------------------------------------------
// S3 mode against moto's server.

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let bin = crate::openapi::py_tools().join("bin/moto_server");
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (scripts/py-tools.sh installs it)");
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, endpoint };
    // Readiness, not timing: wait until it answers (it imports for a while).
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http.get(&moto.endpoint).send().await.is_ok() {
            return moto;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {}", moto.endpoint);
}

async fn s3_mode(b: Backend) {
    let moto = moto().await;
    let bucket = "radar-media";
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("create bucket");
    assert!(r.status().is_success(), "{}", r.status());
    let endpoint = moto.endpoint.clone();
    let app = spawn_with(b, move |c| {
        c.media_url = Some(format!("s3://{bucket}/uploads/test"));
        c.media_s3_options = [
            ("aws_endpoint", endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    })
    .await;
    let (rep, customer) = app.pair().await;
    let png = png(20, 10);
    let (_, v) = upload(&app, C_UPLOAD, &customer, "a.png", &png).await;
    assert_eq!(code(&v), 200, "{v}");
    let url = v["data"]["url"].as_str().expect("url").to_owned();
    let r = fetch(&app, &url, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").as_ref(), png.as_slice());
    let video = mp4(4000);
    let (_, v) = upload(&app, R_UPLOAD, &rep, "v.mp4", &video).await;
    let vurl = v["data"]["url"].as_str().expect("url").to_owned();
    let r = fetch(&app, &vurl, Some("bytes=100-199")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.expect("body").as_ref(), &video[100..200]);
    // Refusals store nothing there either.
    let (_, v) = upload(&app, C_UPLOAD, &customer, "x.png", b"<svg onload=alert(1)>").await;
    assert_file_refused(&v);
    // The objects are in the bucket, under the prefix, and nowhere else.
    let listing = http
        .get(format!("{}/{bucket}?list-type=2", moto.endpoint))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("text");
    let keys: Vec<&str> = listing
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .collect();
    assert_eq!(keys.len(), 2, "{listing}");
    for k in &keys {
        assert!(k.starts_with("uploads/test/"), "{k}");
        assert!(url.ends_with(&k[13..]) || vurl.ends_with(&k[13..]), "{k}");
    }
    assert!(!app.media_dir.exists());
    let r = fetch(&app, &format!("/media/{}.png", "f".repeat(32)), None).await;
    assert_eq!(r.status(), 404);
}

both!(s3_mode);
