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
