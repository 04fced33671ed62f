//! `radar-bench`: the benchmark harness (issue 7). It starts `radar serve`
//! processes on fresh databases (or targets a running server), creates fixtures
//! through the service layer, drives load from this process over loopback, and
//! writes a JSON report plus a short table. See BENCHMARKS.md.

pub mod baseline;
pub mod endpoints;
pub mod fixtures;
pub mod load;
pub mod pages;
pub mod procs;
pub mod report;
pub mod rest;
pub mod scaling;
pub mod sockets;
pub mod stats;
pub mod sys;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use serde_json::{json, Map, Value};

use fixtures::{Fixtures, Sizes};
use procs::{BenchDb, ServerProc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Baseline,
    RestRead,
    RestWrite,
    /// Each polling read alone against the baseline (and with wrk).
    Endpoints,
    Push,
    Idle,
    Pages,
    Scaling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Scenarios to run (they always run in this order).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "baseline,rest-read,rest-write,endpoints,idle,push,pages,scaling"
    )]
    pub scenarios: Vec<Scenario>,
    /// Databases to run every scenario on, each fresh.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub backends: Vec<BackendArg>,
    /// Measured seconds of rest-read and of the baseline (after a warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Connections of rest-read and of the baseline.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Socket counts of the push and idle scenarios.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub sockets: Vec<usize>,
    /// Offered rates (requests/s) of rest-write, tried in order until one fails.
    #[arg(long, value_delimiter = ',', default_value = "100,200,400,800,1600")]
    pub write_rates: Vec<u64>,
    /// Seconds each rest-write rate is offered.
    #[arg(long, default_value_t = 3)]
    pub write_step_secs: u64,
    /// Messages per second the reps send during push.
    #[arg(long, default_value_t = 200)]
    pub push_rate: u64,
    /// Seconds the reps send during push.
    #[arg(long, default_value_t = 5)]
    pub push_secs: u64,
    /// Upper bound on requests of any one measured run.
    #[arg(long, default_value_t = 2_000_000)]
    pub max_requests: u64,
    /// Book sizes (customers of one rep) of the scaling scenario.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
    pub scale_n: Vec<usize>,
    /// Tiny everything (about a second per scenario, 50 sockets), for CI.
    #[arg(long)]
    pub smoke: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench-report.json")]
    pub out: PathBuf,
    /// Benchmark a running server instead (http://host:port); needs
    /// --database-url of its database for the fixtures and the checks.
    #[arg(long)]
    pub target: Option<String>,
    /// Database of the --target server.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The `radar` executable whose servers are measured (default: the
    /// `radar` next to this program, i.e. the same cargo profile).
    #[arg(long, env = "RADAR_BIN")]
    pub radar: Option<PathBuf>,
    /// PostgreSQL server where each run creates (and drops) its database.
    #[arg(
        long,
        env = "RADAR_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub pg_url: String,
}

/// Everything a run needs, with the smoke reductions applied.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenarios: Vec<Scenario>,
    pub sizes: Sizes,
    pub read: rest::ReadPlan,
    pub write: rest::WritePlan,
    pub sockets: Vec<usize>,
    pub push_rate: u64,
    pub push_secs: Duration,
    pub push_grace: Duration,
    pub push_warmup: Duration,
    pub idle_settle: Duration,
    pub idle_cpu_window: Duration,
    pub scaling: scaling::ScalePlan,
    pub smoke: bool,
    /// The `radar` executable started for every scenario.
    pub radar: PathBuf,
}

impl Plan {
    pub fn from_args(a: &BenchArgs) -> Result<Plan, String> {
        if a.concurrency == 0 || a.duration_secs == 0 {
            return Err("--concurrency and --duration-secs must be at least 1".into());
        }
        if a.sockets.contains(&0) || a.write_rates.contains(&0) || a.push_rate == 0 {
            return Err("--sockets, --write-rates and --push-rate must be positive".into());
        }
        let order = [
            Scenario::Baseline,
            Scenario::RestRead,
            Scenario::RestWrite,
            Scenario::Endpoints,
            Scenario::Idle,
            Scenario::Push,
            Scenario::Pages,
            Scenario::Scaling,
        ];
        let scenarios: Vec<Scenario> = order
            .into_iter()
            .filter(|s| a.scenarios.contains(s))
            .collect();
        let radar = match &a.radar {
            Some(p) => p.clone(),
            None => default_radar()?,
        };
        let smoke = a.smoke;
        let sockets = if smoke {
            vec![50]
        } else {
            let mut s = a.sockets.clone();
            s.sort_unstable();
            s.dedup();
            s
        };
        let secs = |full: u64, smoke_ms: u64| {
            if smoke {
                Duration::from_millis(smoke_ms)
            } else {
                Duration::from_secs(full)
            }
        };
        Ok(Plan {
            sizes: Sizes {
                reps: if smoke { 4 } else { 8 },
                rest_pairs: if smoke { 16 } else { 256 },
                history_per_pair: if smoke { 4 } else { 20 },
                socket_pairs: if scenarios.contains(&Scenario::Push)
                    || scenarios.contains(&Scenario::Idle)
                {
                    sockets.iter().copied().max().unwrap_or(0)
                } else {
                    0
                },
            },
            read: rest::ReadPlan {
                concurrency: if smoke {
                    a.concurrency.min(16)
                } else {
                    a.concurrency
                },
                warmup: secs(1, 200),
                duration: secs(a.duration_secs, 1000),
                max_requests: a.max_requests,
            },
            write: rest::WritePlan {
                rates: if smoke {
                    vec![20, 40]
                } else {
                    a.write_rates.clone()
                },
                step: secs(a.write_step_secs.max(1), 1000),
                p99_limit_ms: 50.0,
                max_in_flight: 512,
                max_requests: a.max_requests,
                stop_at_knee: !smoke,
                warmup: secs(1, 200),
            },
            sockets,
            push_rate: if smoke { 20 } else { a.push_rate },
            push_secs: secs(a.push_secs.max(1), 1000),
            push_grace: Duration::from_secs(if smoke { 5 } else { 10 }),
            push_warmup: secs(1, 200),
            idle_settle: secs(2, 300),
            idle_cpu_window: secs(5, 500),
            scaling: scaling::ScalePlan {
                ns: if smoke {
                    vec![100, 300]
                } else {
                    let mut n: Vec<usize> = a.scale_n.iter().copied().filter(|n| *n > 0).collect();
                    n.sort_unstable();
                    n.dedup();
                    n
                },
                samples: if smoke { 5 } else { 30 },
                warmup: if smoke { 1 } else { 3 },
            },
            smoke,
            scenarios,
            radar,
        })
    }

    fn has(&self, s: Scenario) -> bool {
        self.scenarios.contains(&s)
    }

    fn describe(&self) -> Value {
        json!({
            "scenarios": self.scenarios.iter().map(|s| scenario_name(*s)).collect::<Vec<_>>(),
            "smoke": self.smoke,
            "fixtures": {
                "reps": self.sizes.reps,
                "rest_pairs": self.sizes.rest_pairs,
                "history_messages_per_rest_pair": self.sizes.history_per_pair,
                "socket_pairs": self.sizes.socket_pairs,
            },
            "sockets": self.sockets,
            "scale_n": self.scaling.ns,
        })
    }
}

/// `radar` in the directory of this executable: `cargo build -p server -p bench`
/// puts both there.
fn default_radar() -> Result<PathBuf, String> {
    let me = std::env::current_exe()
        .map_err(|e| format!("cannot find the radar-bench executable: {e}"))?;
    let dir = me.parent().unwrap_or(Path::new("."));
    Ok(dir.join(format!("radar{}", std::env::consts::EXE_SUFFIX)))
}

pub fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::Baseline => "baseline",
        Scenario::RestRead => "rest-read",
        Scenario::RestWrite => "rest-write",
        Scenario::Endpoints => "endpoints",
        Scenario::Push => "push",
        Scenario::Idle => "idle",
        Scenario::Pages => "pages",
        Scenario::Scaling => "scaling",
    }
}

/// `radar-bench`; Err (exit 1) when the harness could not do what was asked or
/// an acknowledged message went missing. Missed timing targets are reported, not
/// errors.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    let plan = Plan::from_args(&args)?;
    if args.target.is_none() && !plan.radar.is_file() {
        return Err(format!(
            "no radar executable at {}; build it (cargo build -p server) or pass --radar PATH (RADAR_BIN)",
            plan.radar.display()
        ));
    }
    let started = chrono::Utc::now();
    // Read before anything runs: the report describes the code that was measured.
    let commit = sys::git_commit();
    let mut backends = Map::new();
    if let Some(target) = &args.target {
        let url = args
            .database_url
            .clone()
            .ok_or("--target needs --database-url (or DATABASE_URL) of the target's database")?;
        let db = BenchDb::external(&url)?;
        let server = ServerProc::external(target)?;
        let name = db.backend;
        eprintln!("== {name} (target {target})");
        let out = run_backend(&plan, db, Some(server)).await;
        backends.insert(name.into(), out);
    } else {
        for b in dedup(&args.backends) {
            let name = match b {
                BackendArg::Sqlite => "sqlite",
                BackendArg::Postgres => "postgres",
            };
            eprintln!("== {name}");
            let db = match b {
                BackendArg::Sqlite => Ok(BenchDb::sqlite()),
                BackendArg::Postgres => BenchDb::postgres(&args.pg_url).await,
            };
            let out = match db {
                Ok(db) => run_backend(&plan, db, None).await,
                Err(e) => json!({"error": e}),
            };
            backends.insert(name.into(), out);
        }
    }
    let report = report::assemble(&plan, started, commit, backends);
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    println!("{}", report::table(&report));
    println!("report: {}", args.out.display());
    let problems = report::problems(&report);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the run has problems (see the report):\n  {}",
            problems.join("\n  ")
        ))
    }
}

fn dedup(v: &[BackendArg]) -> Vec<BackendArg> {
    let mut out = Vec::new();
    for b in v {
        if !out.contains(b) {
            out.push(*b);
        }
    }
    out
}

/// All scenarios on one database; the database is removed afterwards whatever
/// happened.
async fn run_backend(plan: &Plan, db: BenchDb, target: Option<ServerProc>) -> Value {
    // On Ctrl-C the scenario future is dropped (which kills its servers) and
    // the database is still removed.
    let out = tokio::select! {
        out = backend_inner(plan, &db, target) => out,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    db.drop_db().await;
    match out {
        Ok(v) => v,
        Err(e) => json!({"error": e}),
    }
}

fn step(label: &str) {
    eprintln!("   {label} …");
}

fn outcome(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|e| json!({"error": e}))
}

/// A server for one scenario: the target, or a fresh `radar serve` on the database.
async fn server_for(
    plan: &Plan,
    db: &BenchDb,
    target: &Option<ServerProc>,
    label: &str,
) -> Result<ServerProc, String> {
    match target {
        Some(t) => ServerProc::external(&t.base()),
        None => ServerProc::radar(&plan.radar, label, &db.url).await,
    }
}

/// Stops a server we started; errors when it died during the scenario.
async fn finish_server(mut s: ServerProc, result: Result<Value, String>) -> Result<Value, String> {
    let crashed = !s.alive();
    let tail = s.log_tail();
    let label = s.label.clone();
    s.stop().await;
    if crashed {
        return Err(format!(
            "the {label} server died during the scenario:\n{tail}"
        ));
    }
    result
}

async fn backend_inner(
    plan: &Plan,
    db: &BenchDb,
    target: Option<ServerProc>,
) -> Result<Value, String> {
    let mut out = Map::new();
    let mut scen = Map::new();
    if plan.scenarios == [Scenario::Scaling] {
        // Loads its own book; the shared fixtures would only cost time.
        scen.insert("scaling".into(), scaling_scenario(plan, db, &target).await);
        out.insert("scenarios".into(), Value::Object(scen));
        return Ok(Value::Object(out));
    }
    step("fixtures");
    let st = fixtures::connect(&db.url).await?;
    let fx: Fixtures = fixtures::create(&st, plan.sizes).await?;
    out.insert(
        "fixtures".into(),
        json!({
            "rest_pairs": fx.rest_pairs.len(),
            "socket_pairs": fx.socket_pairs.len(),
            "history_messages_per_rest_pair": plan.sizes.history_per_pair,
            "created_in_secs": stats::round3(fx.created_in_secs),
        }),
    );

    if plan.has(Scenario::Baseline) || plan.has(Scenario::RestRead) || plan.has(Scenario::RestWrite)
    {
        let server = server_for(plan, db, &target, "radar").await?;
        let rep = fx
            .rest_pairs
            .first()
            .map(|p| p.rep.clone())
            .ok_or("no fixtures")?;
        let contacts = rest::contacts_path(&load::client(1)?, &server, &rep).await?;
        let mut baseline_rps = None;
        if plan.has(Scenario::Baseline) {
            step("baseline");
            let v = outcome(rest::baseline(&plan.read, &fx.rest_pairs, contacts).await);
            baseline_rps = v.pointer("/result/req_per_sec").and_then(Value::as_f64);
            scen.insert("baseline".into(), v);
        }
        if plan.has(Scenario::RestRead) {
            step("rest-read");
            let v = outcome(
                rest::rest_read(&plan.read, &server, &fx.rest_pairs, contacts, baseline_rps).await,
            );
            scen.insert("rest-read".into(), v);
        }
        if plan.has(Scenario::RestWrite) {
            step("rest-write");
            let v = outcome(rest::rest_write(&plan.write, &server, &st, &fx.rest_pairs).await);
            scen.insert("rest-write".into(), v);
        }
        if target.is_none() {
            if let Err(e) = finish_server(server, Ok(Value::Null)).await {
                scen.insert("server".into(), json!({"error": e}));
            }
        }
    }

    if plan.has(Scenario::Endpoints) {
        step("endpoints");
        let v = match server_for(plan, db, &target, "radar").await {
            Ok(s) => {
                let r = endpoints::run(&plan.read, &s, &fx.rest_pairs).await;
                if target.is_none() {
                    finish_server(s, r).await
                } else {
                    r
                }
            }
            Err(e) => Err(e),
        };
        scen.insert("endpoints".into(), outcome(v));
    }

    if plan.has(Scenario::Pages) {
        step("pages");
        let v = match server_for(plan, db, &target, "radar").await {
            Ok(s) => {
                let r = pages::run(&s, &fx, plan.smoke).await;
                if target.is_none() {
                    finish_server(s, r).await
                } else {
                    r
                }
            }
            Err(e) => Err(e),
        };
        scen.insert("pages".into(), outcome(v));
    }

    if plan.has(Scenario::Idle) || plan.has(Scenario::Push) {
        let socket_out = socket_scenarios(plan, db, &target, &fx).await;
        for (k, v) in socket_out {
            scen.insert(k, v);
        }
    }
    st.db.pool.close().await;
    if plan.has(Scenario::Scaling) {
        scen.insert("scaling".into(), scaling_scenario(plan, db, &target).await);
    }
    out.insert("scenarios".into(), Value::Object(scen));
    Ok(Value::Object(out))
}

/// One rep's book grown to each `--scale-n`, under its own company.
async fn scaling_scenario(plan: &Plan, db: &BenchDb, target: &Option<ServerProc>) -> Value {
    step("scaling");
    match target {
        Some(_) => {
            json!({"skipped": "scaling starts a server per book size; not available with --target"})
        }
        None => outcome(scaling::run(&plan.scaling, &plan.radar, db).await),
    }
}

static ROUND: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_round() -> u64 {
    ROUND.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

async fn socket_scenarios(
    plan: &Plan,
    db: &BenchDb,
    target: &Option<ServerProc>,
    fx: &Fixtures,
) -> Map<String, Value> {
    let mut out = Map::new();
    let names: Vec<&str> = [Scenario::Idle, Scenario::Push]
        .into_iter()
        .filter(|s| plan.has(*s))
        .map(scenario_name)
        .collect();
    let all = |v: Value| {
        names
            .iter()
            .map(|n| ((*n).to_owned(), v.clone()))
            .collect::<Map<_, _>>()
    };
    let max = plan.sockets.iter().copied().max().unwrap_or(0) as u64;
    let fd = match sys::ensure_fd_limit(max + 1024) {
        Ok(l) => l,
        Err(e) => return all(json!({"error": e})),
    };
    let Some(first) = fx.socket_pairs.first() else {
        return all(json!({"error": "no socket fixtures"}));
    };
    // The chat socket arrives with the real-time work; without it these
    // scenarios are skipped, not failed.
    step("socket probe");
    let probe = match server_for(plan, db, target, "radar").await {
        Ok(s) => {
            let r = sockets::probe(&s, first).await;
            if target.is_none() {
                s.stop().await;
            }
            r
        }
        Err(e) => return all(json!({"error": e})),
    };
    if let Err(why) = probe {
        return all(json!({"skipped": format!("the chat socket is not available: {why}")}));
    }
    let connects = 256;
    if plan.has(Scenario::Idle) {
        let mut runs = Vec::new();
        for &n in &plan.sockets {
            step(&format!("idle, {n} sockets"));
            if target.is_some() {
                runs.push(
                    json!({"skipped": "idle needs the server's pid; not available with --target"}),
                );
                continue;
            }
            let p = sockets::IdlePlan {
                sockets: n,
                settle: plan.idle_settle,
                cpu_window: plan.idle_cpu_window,
                parallel_connects: connects,
            };
            let v = match server_for(plan, db, target, "radar").await {
                Ok(s) => {
                    let r = sockets::idle(&p, &s, &fx.socket_pairs).await;
                    finish_server(s, r).await
                }
                Err(e) => Err(e),
            };
            runs.push(outcome(v));
        }
        out.insert("idle".into(), Value::Array(runs));
    }
    if plan.has(Scenario::Push) {
        let mut runs = Vec::new();
        for &n in &plan.sockets {
            let p = sockets::PushPlan {
                sockets: n,
                rate: plan.push_rate,
                warmup: plan.push_warmup,
                duration: plan.push_secs,
                grace: plan.push_grace,
                parallel_connects: connects,
            };
            step(&format!("push, {n} sockets, one instance"));
            let v = match server_for(plan, db, target, "radar").await {
                Ok(s) => {
                    let r = sockets::push(&p, &s, &s, &fx.socket_pairs, next_round()).await;
                    if target.is_none() {
                        finish_server(s, r).await
                    } else {
                        r
                    }
                }
                Err(e) => Err(e),
            };
            runs.push(with_instances(outcome(v), 1));
            if db.backend == "postgres" && target.is_none() {
                step(&format!("push, {n} sockets, two instances"));
                let v = match (
                    ServerProc::radar(&plan.radar, "radar-A", &db.url).await,
                    ServerProc::radar(&plan.radar, "radar-B", &db.url).await,
                ) {
                    (Ok(a), Ok(b)) => {
                        let r = sockets::push(&p, &a, &b, &fx.socket_pairs, next_round()).await;
                        let r = finish_server(b, r).await;
                        finish_server(a, r).await
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                runs.push(with_instances(outcome(v), 2));
            }
        }
        out.insert("push".into(), Value::Array(runs));
    }
    out.insert("fd_limit".into(), json!(fd));
    out
}

fn with_instances(mut v: Value, n: u64) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("instances".into(), json!(n));
    }
    v
}

#[cfg(test)]
#[path = "tests/mod_tests.rs"]
mod tests;
