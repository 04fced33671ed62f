//! Sign-in inside WeCom and WeChat (issue 16), against the fake API server:
//! the per-company settings, the rep's and the customer's OAuth flows, and the
//! links that lead into them.

mod settings;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::TestDb;

/// `radar …` on `db`, with `stdin` written to its standard input.
pub fn radar_in(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_radar"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("RADAR_ADDR")
        .env("RADAR_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run radar");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("radar output")
}

pub fn radar(db: &TestDb, args: &[&str]) -> Output {
    radar_in(db, args, "")
}

/// Everything the process printed, stdout and stderr.
pub fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The one JSON line a successful admin command prints.
pub fn json_line(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", printed(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    serde_json::from_str(lines[0]).expect("json")
}

pub mod customer;
pub mod links;
pub mod options;
pub mod rep;

use crate::common::{spawn_with, Backend, TestApp};
use crate::fakeweixin::{spawn_fake, Fake};

/// A server whose WeCom and WeChat are the fake, and a client that does not
/// follow redirects.
pub struct Env {
    pub app: TestApp,
    pub fake: Fake,
    pub http: reqwest::Client,
}

/// An answer: status, `Location`, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: String,
    pub body: String,
}

pub async fn env(b: Backend) -> Env {
    let fake = spawn_fake().await;
    let base = fake.base.clone();
    let app = spawn_with(b, move |c| {
        c.wecom_api = base.clone();
        c.wechat_api = base.clone();
        c.wechat_open = base;
        c.write_rate = 0.0;
    })
    .await;
    Env {
        app,
        fake,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client"),
    }
}

impl Env {
    /// GET `url`, or `path` on the server.
    pub async fn get(&self, path_or_url: &str) -> Answer {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{}", self.app.base, path_or_url)
        };
        let r = self.http.get(&url).send().await.expect("request");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Answer {
            status,
            location,
            body: r.text().await.unwrap_or_default(),
        }
    }

    /// The start page, then the fake's authorize page: the callback URL on
    /// this server, with its code and state.
    pub async fn through_authorize(&self, start: &str) -> String {
        let a = self.get(start).await;
        assert_eq!(a.status, 302, "{start}: {a:?}");
        assert!(
            a.location
                .starts_with(&format!("{}/connect/oauth2/authorize?", self.fake.base)),
            "{a:?}"
        );
        let b = self.get(&a.location).await;
        assert_eq!(b.status, 302, "authorize: {b:?}");
        // The callback names the public URL; the test server listens elsewhere.
        let at = b.location.find("/auth/").expect("a callback path");
        format!("{}{}", self.app.base, &b.location[at..])
    }

    pub async fn sign_in(&self, start: &str) -> Answer {
        let cb = self.through_authorize(start).await;
        self.get(&cb).await
    }
}

/// `(user_id, token)` of a landing `Location` `path#user_id=…&token=…`.
pub fn creds_of(location: &str, path: &str) -> (i64, String) {
    let frag = location
        .strip_prefix(path)
        .and_then(|r| r.strip_prefix('#'))
        .unwrap_or_else(|| panic!("{location:?} is not {path}#…"));
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(frag).expect("fragment");
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .expect(k)
    };
    (get("user_id").parse().expect("user_id"), get("token"))
}
