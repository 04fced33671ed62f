//! The processes under test: `radar serve` instances (the `radar` executable,
//! see `--radar`) on a fresh database, and the baseline server (this
//! executable). Load comes from this process over loopback, so client and
//! server never share a runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::sys;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

/// A database created for one backend's run, removed again by `drop_db`.
pub struct BenchDb {
    pub url: String,
    pub backend: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Pg { admin_url: String, name: String },
    Keep,
}

impl BenchDb {
    pub fn sqlite() -> BenchDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique("radar_bench")));
        BenchDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            backend: "sqlite",
            cleanup: Cleanup::File(path),
        }
    }

    pub async fn postgres(admin_url: &str) -> Result<BenchDb, String> {
        let name = unique("radar_bench");
        let mut conn = admin_conn(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        let base = admin_url
            .split('?')
            .next()
            .and_then(|u| u.rsplit_once('/'))
            .map(|(b, _)| b.to_owned())
            .ok_or_else(|| format!("not a PostgreSQL URL: {admin_url}"))?;
        Ok(BenchDb {
            url: format!("{base}/{name}"),
            backend: "postgres",
            cleanup: Cleanup::Pg {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// A database someone else owns (`--target`): used as is, never removed.
    pub fn external(url: &str) -> Result<BenchDb, String> {
        let backend = radar::db::Backend::from_url(url)?.name();
        Ok(BenchDb {
            url: url.to_owned(),
            backend,
            cleanup: Cleanup::Keep,
        })
    }

    pub async fn drop_db(self) {
        match self.cleanup {
            Cleanup::File(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Cleanup::Pg { admin_url, name } => {
                if let Ok(mut c) = admin_conn(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            }
            Cleanup::Keep => {}
        }
    }
}

async fn admin_conn(admin_url: &str) -> Result<sqlx::AnyConnection, String> {
    sqlx::any::install_default_drivers();
    <sqlx::AnyConnection as sqlx::Connection>::connect(admin_url)
        .await
        .map_err(|e| {
            format!(
                "PostgreSQL at {} is not reachable ({e}); start it or pass --backends sqlite",
                radar::db::redact(admin_url)
            )
        })
}

/// A server child process. Killed when dropped; `stop` shuts it down gracefully.
pub struct ServerProc {
    pub label: String,
    pub addr: SocketAddr,
    pub pid: Option<u32>,
    child: Option<Child>,
    pub log: PathBuf,
}

impl ServerProc {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// A server this harness did not start (`--target`).
    pub fn external(url: &str) -> Result<ServerProc, String> {
        let hostport = url
            .trim_end_matches('/')
            .strip_prefix("http://")
            .ok_or_else(|| format!("--target must be http://host:port, got {url}"))?;
        let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
            .map_err(|e| format!("--target {url}: {e}"))?
            .next()
            .ok_or_else(|| format!("--target {url} resolves to nothing"))?;
        Ok(ServerProc {
            label: "target".into(),
            addr,
            pid: None,
            child: None,
            log: PathBuf::new(),
        })
    }

    /// `radar serve` on `database_url`, on a free loopback port.
    pub async fn radar(
        radar: &Path,
        label: &str,
        database_url: &str,
    ) -> Result<ServerProc, String> {
        Self::radar_with(radar, label, database_url, &[]).await
    }

    /// [`Self::radar`] with more environment variables (settings).
    pub async fn radar_with(
        radar: &Path,
        label: &str,
        database_url: &str,
        envs: &[(&str, &str)],
    ) -> Result<ServerProc, String> {
        let mut cmd = Command::new(radar);
        cmd.envs(envs.iter().copied());
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RADAR_ADDR", "127.0.0.1:0")
            // The load generators write far beyond one user's write budget.
            .env("RADAR_WRITE_RATE", "0");
        spawn(label, cmd, "radar listening on http://").await
    }

    /// The baseline: no database, same request shape (`radar-bench baseline`).
    pub async fn baseline() -> Result<ServerProc, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the radar-bench executable: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["baseline", "--addr", "127.0.0.1:0"]);
        spawn("baseline", cmd, "baseline listening on http://").await
    }

    pub fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(sys::rss_kib)
    }

    pub fn cpu_secs(&self) -> Option<f64> {
        self.pid.and_then(sys::cpu_secs)
    }

    /// True while the child runs (always true for an external server).
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within five seconds.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = self.pid {
                sys::sigterm(pid);
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        let _ = std::fs::remove_file(&self.log);
    }

    /// The end of the server's log, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

async fn spawn(label: &str, mut cmd: Command, ready: &str) -> Result<ServerProc, String> {
    let log = std::env::temp_dir().join(format!("{}.log", unique("radar_bench_server")));
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    // Request logging would cost the server CPU the benchmark should measure.
    cmd.env("RADAR_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the {label} server: {e}"))?;
    let pid = child.id();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("{label} server: no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.find(ready).map(|i| &line[i + ready.len()..]) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                return addr.parse::<SocketAddr>().ok();
            }
            seen.push(line);
        }
        None
    })
    .await;
    let mut proc = ServerProc {
        label: label.to_owned(),
        addr: "127.0.0.1:0".parse().map_err(|_| "address")?,
        pid,
        child: Some(child),
        log,
    };
    match found {
        Ok(Some(addr)) => {
            proc.addr = addr;
            // Keeps draining stdout (the server's log) into the log file, so
            // the child never blocks on a full pipe and failures can be explained.
            let path = proc.log.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut out = tokio::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .await
                    .ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(f) = out.as_mut() {
                        let _ = f.write_all(format!("{line}\n").as_bytes()).await;
                    }
                }
            });
            Ok(proc)
        }
        Ok(None) => Err(format!(
            "the {label} server exited before listening:\n{}\n{}",
            seen.join("\n"),
            proc.log_tail()
        )),
        Err(_) => Err(format!(
            "the {label} server did not start listening within 60 s:\n{}\n{}",
            seen.join("\n"),
            proc.log_tail()
        )),
    }
}
