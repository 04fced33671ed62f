//! Contract §6 "Database outage": while PostgreSQL is down a request answers
//! within 3 s with the busy envelope and HTTP 503, `/healthz` answers 503, and
//! REST, sockets and cross-instance delivery recover by themselves when the
//! database returns.
//!
//! The database is a private PostgreSQL cluster (its own data directory and
//! port), so that it can be crashed (`pg_ctl stop -m immediate`) without
//! touching the shared server. SQLite has no outage to simulate; its error
//! classification is covered by the unit tests of `radar::error`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;
use crate::wsutil::*;

/// The contract's 3 s, with margin for a loaded test machine.
const BUDGET: Duration = Duration::from_millis(3500);
/// How long recovery may take after the database is back.
const RECOVERY: Duration = Duration::from_secs(20);

/// A throw-away PostgreSQL cluster owned by the `postgres` user when the test
/// runs as root; stopped and deleted on drop.
pub(crate) struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_root: bool,
    /// More `-c name=value` server options (the TLS tests' `ssl=on`, …).
    extra_opts: String,
}

fn pg_bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("RADAR_TEST_PG_BIN") {
        return PathBuf::from(d);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).expect(
        "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (set RADAR_TEST_PG_BIN)",
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PgCluster {
    pub(crate) fn create() -> PgCluster {
        PgCluster::create_with(|_| String::new())
    }

    /// A cluster whose server gets the options `prepare` returns; `prepare`
    /// runs between initdb and the first start (to write certificates or
    /// pg_hba.conf).
    pub(crate) fn create_with(prepare: impl FnOnce(&PgCluster) -> String) -> PgCluster {
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("radar-outage-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let mut c = PgCluster {
            dir,
            bin: pg_bin_dir(),
            port: free_port(),
            as_root,
            extra_opts: String::new(),
        };
        if as_root {
            c.run(
                Command::new("chown").arg("postgres:postgres").arg(&c.dir),
                "chown",
            );
        }
        let data = c.data();
        c.run(
            c.tool("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
                .arg("--locale=C"),
            "initdb",
        );
        c.extra_opts = prepare(&c);
        c.start();
        c
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Hands a file written by the test to the server's user, readable by it alone.
    pub(crate) fn give(&self, path: &std::path::Path) {
        self.run(Command::new("chmod").arg("600").arg(path), "chmod");
        if self.as_root {
            self.run(
                Command::new("chown").arg("postgres:postgres").arg(path),
                "chown",
            );
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A server tool, run as `postgres` when we are root (initdb and the
    /// server refuse to run as root).
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Runs to completion with output in a file (never a pipe: the server
    /// started by pg_ctl must not hold our pipe open).
    fn run(&self, cmd: &mut Command, what: &str) -> bool {
        let out_path = self.dir.join(format!("{what}.out"));
        let ok = std::fs::File::create(&out_path)
            .and_then(|f| {
                let f2 = f.try_clone()?;
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::from(f))
                    .stderr(Stdio::from(f2))
                    .status()
            })
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok && what != "stop" {
            let out = std::fs::read_to_string(&out_path).unwrap_or_default();
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            panic!("{what} failed:\n{out}\nserver log:\n{log}");
        }
        ok
    }

    pub(crate) fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 {}",
            self.port,
            self.dir.display(),
            self.extra_opts
        );
        self.run(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"]),
            "start",
        );
    }

    /// Kills the server the way a crash would: no shutdown handshake with clients.
    pub(crate) fn crash(&self) -> bool {
        self.run(
            self.tool("pg_ctl").arg("-D").arg(self.data()).args([
                "-w",
                "-t",
                "60",
                "-m",
                "immediate",
                "stop",
            ]),
            "stop",
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            self.crash();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn busy() -> Value {
    json!({"code": 500, "msg": "服务器繁忙,请稍后重试", "data": {}, "note": {}})
}

fn signed(base: &str, path: &str, who: &Who, extra: &str) -> String {
    let q = app::sign::signed_query(who.id, &who.token, now_ms());
    let sep = if extra.is_empty() { "" } else { "&" };
    format!("{base}{path}?{q}{sep}{extra}")
}

/// Status, body and how long the answer took.
async fn timed(req: reqwest::RequestBuilder) -> (u16, Value, Duration) {
    let t = Instant::now();
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    let took = t.elapsed();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
        took,
    )
}

fn rep_send(
    http: &reqwest::Client,
    base: &str,
    u: &Who,
    k: &Who,
    msg: &str,
) -> reqwest::RequestBuilder {
    http.post(signed(base, S_SEND, u, ""))
        .form(&[("customer_id", k.id.to_string()), ("content", text(msg))])
}

async fn register(base: &str, path: &str, who: &Who, frame: Value) -> Ws {
    let mut ws = connect(&ws_url(base, path, who)).await;
    ws.send(frame).await;
    let r = ws.next().await;
    assert!(r["code"] == 199 || r["code"] == 200, "{r}");
    ws
}

/// Polls `/healthz` until it answers 200.
async fn until_healthy(http: &reqwest::Client, base: &str) {
    let t = Instant::now();
    loop {
        let r = http.get(format!("{base}/healthz")).send().await;
        if r.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            t.elapsed() < RECOVERY,
            "{base}/healthz not 200 within {RECOVERY:?} after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for a push carrying message `id`; the socket must stay open.
async fn expect_pushed(ws: &mut Ws, id: i64) {
    ws.next_where(|v| ids(v).contains(&id)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_fast_and_everything_recovers() {
    let pg = PgCluster::create();
    let url = pg.url();
    // Instance A in process, instance B a real `radar serve`, one database.
    let a = spawn_with(Backend::Postgres, |cfg| cfg.database_url = url.clone()).await;
    let (u, k) = a.pair().await;
    let logged = spawn_server(&url, &[("RADAR_LOG", "info,sqlx=warn")]).await;
    let b = &logged;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    // Before: a read and a write work, across instances too.
    let read_url = || signed(&a.base, S_CONTACT, &u, "");
    let (status, before_read, _) = timed(http.get(read_url())).await;
    assert_eq!(status, 200, "{before_read}");
    let mut customer_on_a = register(
        &a.base,
        C_CHAT,
        &k,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    let mut rep_on_b = register(
        &b.base,
        S_CHAT,
        &u,
        json!({"type": "register", "customer_id": k.id}),
    )
    .await;
    let (status, sent, _) = timed(rep_send(&http, &b.base, &u, &k, "停机前")).await;
    assert_eq!(status, 200, "{sent}");
    let m1 = sent["data"]["id"].as_i64().expect("id");
    expect_pushed(&mut customer_on_a, m1).await;
    expect_pushed(&mut rep_on_b, m1).await;
    // Let the read receipt of m1 travel (A marks it read, B is told) before the
    // crash, so that both sockets are idle through the outage.
    rep_on_b
        .next_where(|v| v["code"] == 202 && v["data"]["last_read_id"] == m1)
        .await;
    customer_on_a.lived().await;
    rep_on_b.lived().await;

    // The database crashes.
    assert!(pg.crash(), "pg_ctl stop failed");
    eprintln!("outage: database stopped");
    let marker = "停机期间";
    let (read, write, health_a, health_b) = tokio::join!(
        timed(http.get(read_url())),
        timed(rep_send(&http, &b.base, &u, &k, marker)),
        timed(http.get(format!("{}/healthz", a.base))),
        timed(http.get(format!("{}/healthz", b.base))),
    );
    for (what, (status, body, took)) in [("read on A", &read), ("write on B", &write)] {
        assert_eq!(*status, 503, "{what}: {body}");
        assert_eq!(body, &busy(), "{what}");
        assert!(*took <= BUDGET, "{what} took {took:?}");
        eprintln!("outage: {what} answered 503 in {took:?}");
    }
    for (what, (status, body, took)) in [("healthz A", &health_a), ("healthz B", &health_b)] {
        assert_eq!(*status, 503, "{what}: {body}");
        assert!(*took <= BUDGET, "{what} took {took:?}");
        eprintln!("outage: {what} answered 503 in {took:?}");
    }
    // A socket opened during the outage is told and closed, fast.
    let t = Instant::now();
    let mut late = connect(&ws_url(&a.base, C_CHAT, &k)).await;
    // Without a cached token the upgrade itself already failed; then this send may not arrive.
    let frame = json!({"type": "register", "u_id": u.id}).to_string();
    late.send_raw(Message::Text(frame.into())).await;
    let v = late.next().await;
    assert_eq!(v["code"], 500, "{v}");
    assert_eq!(v["msg"], busy()["msg"]);
    assert_eq!(late.expect_close().await, Some(1011));
    assert!(
        t.elapsed() <= BUDGET,
        "socket refusal took {:?}",
        t.elapsed()
    );

    // The database returns: the very first requests succeed (the pools drop
    // their dead connections before handing one out).
    pg.start();
    eprintln!("outage: database back");
    let restarted = Instant::now();
    let (status, after_read, _) = timed(http.get(read_url())).await;
    assert_eq!(status, 200, "{after_read}");
    assert_eq!(after_read["code"], before_read["code"], "{after_read}");
    let (status, sent, _) = timed(rep_send(&http, &b.base, &u, &k, "恢复后")).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["code"], 200, "{sent}");
    let m2 = sent["data"]["id"].as_i64().expect("id");
    until_healthy(&http, &a.base).await;
    until_healthy(&http, &b.base).await;
    // Nothing of the refused write was stored.
    let refused = format!("chat_message WHERE content LIKE '%{marker}%'");
    assert_eq!(a.count(&refused).await, 0);
    // Cross-instance delivery is back (B → A), and B delivers to its own socket.
    // Sockets left idle through the outage are still open and get it.
    expect_pushed(&mut customer_on_a, m2).await;
    expect_pushed(&mut rep_on_b, m2).await;
    // A client that reconnects (after a 1011) is accepted and resumes.
    let mut resumed = register(
        &a.base,
        C_CHAT,
        &k,
        json!({"type": "register", "u_id": u.id, "after_id": m1}),
    )
    .await;
    expect_pushed(&mut resumed, m2).await;
    resumed.close().await;
    // Idle again before the next crash: the receipt of m2 has reached B.
    rep_on_b
        .next_where(|v| v["code"] == 202 && v["data"]["last_read_id"] == m2)
        .await;
    customer_on_a.lived().await;
    rep_on_b.lived().await;
    eprintln!("outage: recovered in {:?}", restarted.elapsed());
    // B said what its listener went through (one line per state change).
    let t = Instant::now();
    while !(logged.saw("bus: listener connection lost")
        && logged.saw("re-established; resyncing local sockets"))
    {
        assert!(t.elapsed() < RECOVERY, "bus state changes not logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A crash nobody notices (no request while it is down) leaves only dead
    // connections in the pools: the first requests afterwards still succeed.
    assert!(pg.crash(), "pg_ctl stop failed");
    pg.start();
    let (status, again, _) = timed(http.get(read_url())).await;
    assert_eq!(status, 200, "{again}");
    let (status, sent, _) = timed(rep_send(&http, &b.base, &u, &k, "再次恢复")).await;
    assert_eq!(status, 200, "{sent}");
    let m3 = sent["data"]["id"].as_i64().expect("id");
    expect_pushed(&mut customer_on_a, m3).await;
    expect_pushed(&mut rep_on_b, m3).await;
    drop(logged);
    drop(a);
}
