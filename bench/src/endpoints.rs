//! The `endpoints` scenario: the polling reads one at a time, each at the
//! rest-read concurrency against the same server, next to the baseline in
//! the same run: the customer's `query_num`, the rep's `contact/query_num`
//! (the badge) and the first page of `tongxunlu`. Each is reported with its
//! ratio to the baseline's req/s and p99 and the server's CPU per request.
//!
//! Every measurement is also taken with `wrk` (Debian's package), whose
//! requests rotate over URLs signed just before the run, so that the load
//! generator's own CPU cost is visible next to this process's: on a small
//! machine it shares the cores with the server.

use std::io::Read;
use std::sync::Arc;

use serde_json::{json, Value};

use super::fixtures::{Pair, Who};
use super::load::{self, Prepared, Workload};
use super::procs::ServerProc;
use super::rest::{now_ms, CpuMeter, ReadPlan, TONGXUNLU};
use super::stats::{round1, round3};

/// The endpoints measured, with their req/s target as a share of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    CustomerQueryNum,
    RepQueryNum,
    TongxunluFirstPage,
}

pub const ALL: [Endpoint; 3] = [
    Endpoint::CustomerQueryNum,
    Endpoint::RepQueryNum,
    Endpoint::TongxunluFirstPage,
];

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::CustomerQueryNum => "customer query_num",
            Endpoint::RepQueryNum => "rep query_num",
            Endpoint::TongxunluFirstPage => "tongxunlu first page",
        }
    }

    /// Issue 13's targets: req/s as a share of the baseline, and p99 at most
    /// this multiple of the baseline's (`None`: no latency target).
    pub fn targets(self) -> (f64, Option<f64>) {
        match self {
            Endpoint::CustomerQueryNum | Endpoint::RepQueryNum => (0.5, Some(2.0)),
            Endpoint::TongxunluFirstPage => (0.3, None),
        }
    }

    /// Path and query of the request for `p`, signed at `ts`.
    pub fn path(self, p: &Pair, ts: i64) -> String {
        let sign = |w: &Who| app::sign::signed_query(w.id, &w.token, ts);
        match self {
            Endpoint::CustomerQueryNum => format!(
                "/zhugeleida/gongzhonghao/chat/query_num/0?{}&u_id={}",
                sign(&p.customer),
                p.rep.id
            ),
            Endpoint::RepQueryNum => {
                format!("/zhugeleida/qiyeweixin/contact/query_num?{}", sign(&p.rep))
            }
            Endpoint::TongxunluFirstPage => format!("{TONGXUNLU}?{}", sign(&p.rep)),
        }
    }
}

/// One endpoint over all pairs in turn (also the baseline's request).
struct OneEndpoint {
    base: String,
    pairs: Vec<Pair>,
    which: Endpoint,
}

impl Workload for OneEndpoint {
    fn kinds(&self) -> Vec<&'static str> {
        vec![self.which.name()]
    }

    fn prepare(&self, client: &reqwest::Client, seq: u64) -> Prepared {
        let p = &self.pairs[(seq % self.pairs.len().max(1) as u64) as usize];
        let url = format!("{}{}", self.base, self.which.path(p, now_ms()));
        Prepared {
            kind: 0,
            req: client.get(url),
            tag: seq,
        }
    }

    fn check(&self, _kind: usize, _tag: u64, status: u16, body: &[u8]) -> Result<(), String> {
        check_answer(status, body)
    }
}

fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not an envelope: {e}"))?;
    match v.get("code").and_then(Value::as_i64) {
        Some(200) => Ok(()),
        c => Err(format!("envelope code {c:?}")),
    }
}

/// `wrk` on PATH, or why not.
pub fn wrk_path() -> Result<std::path::PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("wrk"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "wrk is not installed (Debian: apt-get install wrk; scripts/setup.sh does it)".into()
        })
}

/// The Lua script that makes wrk rotate over `paths`.
pub fn wrk_script(paths: &[String]) -> String {
    let mut s = String::from("local paths = {\n");
    for p in paths {
        // Signed paths are ASCII without quotes or backslashes; escape anyway.
        s.push_str(&format!(
            "  \"{}\",\n",
            p.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    s.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
    );
    s
}

fn wrk_ms(token: &str) -> Option<f64> {
    let t = token.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| round3(v * scale))
}

/// What wrk printed (`--latency`): req/s, the latency distribution, counts.
pub fn parse_wrk(out: &str) -> Value {
    let mut v = json!({});
    let mut errors = 0.0;
    for line in out.lines() {
        let l = line.trim();
        if let Some(r) = l.strip_prefix("Requests/sec:") {
            v["req_per_sec"] = json!(r.trim().parse::<f64>().ok().map(round1));
        } else if let Some((pct, val)) = l.split_once('%') {
            let key = match pct.trim() {
                "50" => "p50_ms",
                "75" => "p75_ms",
                "90" => "p90_ms",
                "99" => "p99_ms",
                _ => continue,
            };
            if let Some(ms) = wrk_ms(val) {
                v[key] = json!(ms);
            }
        } else if l.contains(" requests in ") {
            v["requests"] = json!(l
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok()));
        } else if let Some(n) = l.strip_prefix("Non-2xx or 3xx responses:") {
            errors += n.trim().parse::<f64>().unwrap_or(0.0);
        } else if let Some(s) = l.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            errors += s
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1))
                .filter_map(|n| n.parse::<f64>().ok())
                .sum::<f64>();
        }
    }
    v["errors"] = json!(errors);
    v
}

/// Runs wrk for `secs` over `paths` of `base`; its own CPU comes from the
/// kernel's accounting of the child (wait4), the server's from /proc.
async fn run_wrk(
    wrk: &std::path::Path,
    base: &str,
    paths: Vec<String>,
    concurrency: usize,
    secs: u64,
    server_pid: Option<u32>,
) -> Result<Value, String> {
    let dir = std::env::temp_dir().join(format!("radar-bench-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("wrk script dir: {e}"))?;
    let script = dir.join("rotate.lua");
    std::fs::write(&script, wrk_script(&paths)).map_err(|e| format!("wrk script: {e}"))?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(concurrency.max(1));
    let args: Vec<String> = vec![
        format!("-t{threads}"),
        format!("-c{}", concurrency.max(threads)),
        format!("-d{secs}s"),
        "--latency".into(),
        "-s".into(),
        script.display().to_string(),
        base.to_owned(),
    ];
    let wrk = wrk.to_path_buf();
    let cpu = CpuMeter::start(server_pid);
    let started = std::time::Instant::now();
    let ran = tokio::task::spawn_blocking(move || wrk_blocking(&wrk, &args))
        .await
        .map_err(|e| format!("wrk: {e}"))?;
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    let cpu = cpu.finish();
    let _ = std::fs::remove_dir_all(&dir);
    let (out, wrk_cpu_secs) = ran?;
    let mut v = parse_wrk(&out);
    if v.get("req_per_sec").is_none_or(Value::is_null) {
        return Err(format!(
            "wrk printed no result: {}",
            out.lines().take(5).collect::<Vec<_>>().join(" | ")
        ));
    }
    v["config"] = json!({"threads": threads, "connections": concurrency, "duration_secs": secs, "urls": paths.len()});
    v["cpu"] = cpu;
    v["cpu"]["wrk_cpu_percent"] = json!(wrk_cpu_secs.map(|s| round1(s / wall * 100.0)));
    Ok(v)
}

/// Starts wrk, reads its output, reaps it with its resource usage.
fn wrk_blocking(wrk: &std::path::Path, args: &[String]) -> Result<(String, Option<f64>), String> {
    let mut child = std::process::Command::new(wrk)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start wrk: {e}"))?;
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with valid out-pointers; the Child is
    // not waited on afterwards, so the pid is reaped exactly once.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if reaped != pid {
        // Fall back to the std wait so the child is not left a zombie.
        let _ = child.wait();
        return Ok((out + &err, None));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("wrk failed: {}", err.trim()));
    }
    Ok((out, Some(secs(ru.ru_utime) + secs(ru.ru_stime))))
}

/// Server CPU time per answered request, in µs.
fn cpu_us_per_request(cpu: &Value, elapsed_secs: f64, requests: f64) -> Option<f64> {
    let pct = cpu.get("server_cpu_percent").and_then(Value::as_f64)?;
    (requests > 0.0).then(|| round1(pct / 100.0 * elapsed_secs / requests * 1e6))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(round3(a / b)),
        _ => None,
    }
}

/// One endpoint (or the baseline's answer) under both load generators.
async fn measure(
    plan: &ReadPlan,
    server: &ServerProc,
    pairs: &[Pair],
    which: Endpoint,
    wrk: &Result<std::path::PathBuf, String>,
) -> Result<Value, String> {
    let mix = Arc::new(OneEndpoint {
        base: server.base(),
        pairs: pairs.to_vec(),
        which,
    });
    // Every URL is tried once first: wrk only sees HTTP status codes.
    let client = load::client(4)?;
    let ts = now_ms();
    let paths: Vec<String> = pairs.iter().map(|p| which.path(p, ts)).collect();
    for path in paths.iter().take(4) {
        let r = client
            .get(format!("{}{path}", server.base()))
            .send()
            .await
            .map_err(|e| format!("{}: {e}", which.name()))?;
        let status = r.status().as_u16();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        check_answer(status, &body).map_err(|e| format!("{}: {e}", which.name()))?;
    }
    let client = load::client(plan.concurrency)?;
    load::closed_loop(
        mix.clone(),
        &client,
        plan.concurrency,
        plan.warmup,
        u64::MAX,
    )
    .await;
    let cpu = CpuMeter::start(server.pid);
    let stats = load::closed_loop(
        mix,
        &client,
        plan.concurrency,
        plan.duration,
        plan.max_requests,
    )
    .await;
    let cpu = cpu.finish();
    let per_req = cpu_us_per_request(&cpu, stats.elapsed_secs, stats.requests_ok as f64);
    let mut v = json!({
        "result": stats,
        "cpu": cpu,
        "server_cpu_us_per_request": per_req,
    });
    v["wrk"] = match wrk {
        Err(why) => json!({"skipped": why}),
        Ok(path) => {
            let secs = plan.duration.as_secs().max(1);
            // Signed just before the run: well inside the freshness window.
            let ts = now_ms();
            let paths: Vec<String> = pairs.iter().map(|p| which.path(p, ts)).collect();
            match run_wrk(
                path,
                &server.base(),
                paths,
                plan.concurrency,
                secs,
                server.pid,
            )
            .await
            {
                Ok(mut w) => {
                    let n = w.get("requests").and_then(Value::as_f64).unwrap_or(0.0);
                    w["server_cpu_us_per_request"] =
                        json!(cpu_us_per_request(&w["cpu"], secs as f64, n));
                    w
                }
                Err(e) => json!({"error": e}),
            }
        }
    };
    Ok(v)
}

/// The mean of two baseline runs' measured figures: the reference of the
/// endpoint measured between them.
fn bracket(before: &Value, after: &Value) -> Value {
    let mean = |p: &str| match (
        before.pointer(p).and_then(Value::as_f64),
        after.pointer(p).and_then(Value::as_f64),
    ) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        (a, b) => a.or(b),
    };
    json!({
        "result": {
            "req_per_sec": mean("/result/req_per_sec"),
            "latency": {"p99_ms": mean("/result/latency/p99_ms")},
        },
        "wrk": {
            "req_per_sec": mean("/wrk/req_per_sec"),
            "p99_ms": mean("/wrk/p99_ms"),
        },
    })
}

/// The scenario: the baseline, then each endpoint against `server` followed
/// by the baseline again. Each endpoint's ratios are to the mean of the two
/// baseline runs around it: this machine's throughput drifts by a fifth
/// within minutes, and a ratio should compare figures taken together.
pub async fn run(plan: &ReadPlan, server: &ServerProc, pairs: &[Pair]) -> Result<Value, String> {
    if pairs.is_empty() {
        return Err("no fixtures".into());
    }
    let wrk = wrk_path();
    let base = ServerProc::baseline().await?;
    let measured = bracketed(plan, &base, server, pairs, &wrk).await;
    base.stop().await;
    let (baselines, runs) = measured?;
    Ok(json!({
        "config": {
            "concurrency": plan.concurrency,
            "warmup_secs": plan.warmup.as_secs_f64(),
            "duration_secs": plan.duration.as_secs_f64(),
            "pairs": pairs.len(),
            "baseline_request": Endpoint::CustomerQueryNum.name(),
        },
        "baseline": baselines.first().cloned().unwrap_or(Value::Null),
        "baselines": baselines,
        "endpoints": runs,
    }))
}

async fn bracketed(
    plan: &ReadPlan,
    base: &ServerProc,
    server: &ServerProc,
    pairs: &[Pair],
    wrk: &Result<std::path::PathBuf, String>,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    let num = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_f64);
    let mut baselines = vec![measure(plan, base, pairs, Endpoint::CustomerQueryNum, wrk).await?];
    let mut runs = Vec::new();
    for which in ALL {
        let mut v = measure(plan, server, pairs, which, wrk).await?;
        let after = measure(plan, base, pairs, Endpoint::CustomerQueryNum, wrk).await?;
        let b = bracket(&baselines[baselines.len() - 1], &after);
        v["baseline_runs"] = json!([baselines.len() - 1, baselines.len()]);
        baselines.push(after);
        v["endpoint"] = json!(which.name());
        v["ratio_to_baseline"] = json!(ratio(
            num(&v, "/result/req_per_sec"),
            num(&b, "/result/req_per_sec")
        ));
        v["p99_ratio_to_baseline"] = json!(ratio(
            num(&v, "/result/latency/p99_ms"),
            num(&b, "/result/latency/p99_ms")
        ));
        if v["wrk"].get("req_per_sec").is_some() {
            v["wrk"]["ratio_to_baseline"] = json!(ratio(
                num(&v, "/wrk/req_per_sec"),
                num(&b, "/wrk/req_per_sec")
            ));
            v["wrk"]["p99_ratio_to_baseline"] =
                json!(ratio(num(&v, "/wrk/p99_ms"), num(&b, "/wrk/p99_ms")));
        }
        runs.push(v);
    }
    Ok((baselines, runs))
}

/// The targets of this scenario, for the report's list.
pub fn targets(backend: &str, sc: &Value, concurrency: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let Some(runs) = sc.pointer("/endpoints/endpoints").and_then(Value::as_array) else {
        return out;
    };
    let t = |name: String, value: Option<f64>, limit: f64, at_most: bool| {
        let pass = value.map(|v| if at_most { v <= limit } else { v >= limit });
        json!({"backend": backend, "target": name, "value": value, "limit": limit, "pass": pass})
    };
    for r in runs {
        let name = r.get("endpoint").and_then(Value::as_str).unwrap_or("?");
        let which = ALL.iter().find(|e| e.name() == name).copied();
        let Some(which) = which else { continue };
        let (share, p99) = which.targets();
        for (gen, at) in [("radar-bench", ""), ("wrk", "/wrk")] {
            let num = |p: &str| r.pointer(&format!("{at}{p}")).and_then(Value::as_f64);
            out.push(t(
                format!("{name} req/s ≥ {share}× baseline ({concurrency} connections, {gen})"),
                num("/ratio_to_baseline"),
                share,
                false,
            ));
            if let Some(p) = p99 {
                out.push(t(
                    format!("{name} p99 ≤ {p}× baseline p99 ({concurrency} connections, {gen})"),
                    num("/p99_ratio_to_baseline"),
                    p,
                    true,
                ));
            }
        }
    }
    out
}

/// The table's lines of this scenario: (label, configuration, result).
pub fn table_rows(v: &Value) -> Vec<(String, String, String)> {
    let num = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_f64);
    let f = |x: Option<f64>, d: usize| {
        x.map(|x| format!("{x:.d$}"))
            .unwrap_or_else(|| "-".to_owned())
    };
    let line = |v: &Value| {
        let mut s = format!(
            "{} req/s, p99 {} ms, {} µs CPU/req, CPU server {} % bench {} %",
            f(num(v, "/result/req_per_sec"), 0),
            f(num(v, "/result/latency/p99_ms"), 2),
            f(num(v, "/server_cpu_us_per_request"), 0),
            f(num(v, "/cpu/server_cpu_percent"), 0),
            f(num(v, "/cpu/bench_cpu_percent"), 0),
        );
        if let Some(r) = num(v, "/ratio_to_baseline") {
            s.push_str(&format!(
                ", {r:.2}× / p99 {}× baseline",
                f(num(v, "/p99_ratio_to_baseline"), 2)
            ));
        }
        let w = &v["wrk"];
        if let Some(why) = w
            .get("skipped")
            .or_else(|| w.get("error"))
            .and_then(Value::as_str)
        {
            s.push_str(&format!("; wrk: {why}"));
        } else if w.get("req_per_sec").is_some() {
            s.push_str(&format!(
                "; wrk {} req/s, p50 {} p99 {} ms, CPU server {} % wrk {} %",
                f(num(w, "/req_per_sec"), 0),
                f(num(w, "/p50_ms"), 2),
                f(num(w, "/p99_ms"), 2),
                f(num(w, "/cpu/server_cpu_percent"), 0),
                f(num(w, "/cpu/wrk_cpu_percent"), 0),
            ));
            if let Some(r) = num(w, "/ratio_to_baseline") {
                s.push_str(&format!(", {r:.2}×"));
            }
        }
        s
    };
    let cfg = format!(
        "{} conns, {} s",
        f(num(v, "/config/concurrency"), 0),
        f(num(v, "/config/duration_secs"), 0)
    );
    let baselines: Vec<&Value> = match v.get("baselines").and_then(Value::as_array) {
        Some(b) => b.iter().collect(),
        None => vec![&v["baseline"]],
    };
    let mut rows = Vec::new();
    let mut shown = 0;
    let mut show_baseline = |rows: &mut Vec<(String, String, String)>, upto: usize| {
        while shown <= upto && shown < baselines.len() {
            rows.push((
                "baseline (endpoints)".to_owned(),
                cfg.clone(),
                line(baselines[shown]),
            ));
            shown += 1;
        }
    };
    show_baseline(&mut rows, 0);
    for r in v
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.push((
            r.get("endpoint")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            cfg.clone(),
            line(r),
        ));
        let after = r
            .pointer("/baseline_runs/1")
            .and_then(Value::as_u64)
            .map_or(0, |i| i as usize);
        show_baseline(&mut rows, after);
    }
    rows
}

/// Failed requests of either generator, for the run's problems.
pub fn problems(v: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let mut runs: Vec<(String, &Value)> = match v.get("baselines").and_then(Value::as_array) {
        Some(b) => b
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("baseline run {}", i + 1), r))
            .collect(),
        None => vec![("baseline".to_owned(), &v["baseline"])],
    };
    for r in v
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = r.get("endpoint").and_then(Value::as_str).unwrap_or("?");
        runs.push((name.to_owned(), r));
    }
    for (name, r) in runs {
        let n = |ptr: &str| r.pointer(ptr).and_then(Value::as_f64).unwrap_or(0.0);
        let e = n("/result/errors") + n("/result/timeouts");
        if e > 0.0 {
            p.push(format!(
                "{name}: {e} failed requests, e.g. {}",
                r.pointer("/result/error_samples").unwrap_or(&Value::Null)
            ));
        }
        if n("/wrk/errors") > 0.0 {
            p.push(format!(
                "{name}: wrk saw {} failed requests",
                n("/wrk/errors")
            ));
        }
        if let Some(e) = r.pointer("/wrk/error").and_then(Value::as_str) {
            p.push(format!("{name}: wrk: {e}"));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUT: &str = "Running 1s test @ http://127.0.0.1:3000
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  580.00us  12.30ms   88.00%
    Req/Sec    26.50k     1.20k   28.00k    70.00%
  Latency Distribution
     50%    1.10ms
     75%  850.00us
     90%    1.80ms
     99%    3.02ms
  52730 requests in 1.00s, 9.10MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:  52718.45
Transfer/sec:      9.09MB
";

    #[test]
    fn wrk_output_is_read() {
        let v = parse_wrk(WRK_OUT);
        assert_eq!(v["req_per_sec"], 52718.5);
        assert_eq!(v["p50_ms"], 1.1);
        assert_eq!(v["p75_ms"], 0.85);
        assert_eq!(v["p99_ms"], 3.02);
        assert_eq!(v["requests"], 52730);
        assert_eq!(v["errors"], 6.0);
        assert!(parse_wrk("garbage").get("req_per_sec").is_none());
    }

    #[test]
    fn the_script_rotates_over_every_url() {
        let s = wrk_script(&["/a?x=1".into(), "/b".into()]);
        assert!(s.contains("\"/a?x=1\","));
        assert!(s.contains("\"/b\","));
        assert!(s.contains("i % #paths + 1"));
    }

    #[test]
    fn targets_compare_both_generators() {
        let sc = json!({"endpoints": {"endpoints": [
            {"endpoint": "customer query_num", "ratio_to_baseline": 0.6, "p99_ratio_to_baseline": 2.5,
             "wrk": {"ratio_to_baseline": 0.4, "p99_ratio_to_baseline": 1.5}},
            {"endpoint": "tongxunlu first page", "ratio_to_baseline": 0.31, "wrk": {"skipped": "no wrk"}},
        ]}});
        let t = targets("sqlite", &sc, 64);
        let pass = |needle: &str| {
            t.iter()
                .find(|x| x["target"].as_str().is_some_and(|s| s.contains(needle)))
                .map(|x| x["pass"].clone())
        };
        assert_eq!(t.len(), 6);
        assert_eq!(
            pass("customer query_num req/s ≥ 0.5× baseline (64 connections, radar-bench)"),
            Some(json!(true))
        );
        assert_eq!(
            pass("customer query_num p99 ≤ 2× baseline p99 (64 connections, radar-bench)"),
            Some(json!(false))
        );
        assert_eq!(
            pass("customer query_num req/s ≥ 0.5× baseline (64 connections, wrk)"),
            Some(json!(false))
        );
        assert_eq!(
            pass("tongxunlu first page req/s ≥ 0.3× baseline (64 connections, radar-bench)"),
            Some(json!(true))
        );
        assert_eq!(
            pass("tongxunlu first page req/s ≥ 0.3× baseline (64 connections, wrk)"),
            Some(Value::Null)
        );
    }

    #[test]
    fn ratios_are_to_the_baselines_around_the_endpoint() {
        let b = |rps: f64, p99: f64, wrk: Option<f64>| {
            json!({"result": {"req_per_sec": rps, "latency": {"p99_ms": p99}},
                   "wrk": wrk.map_or(json!({"skipped": "no wrk"}), |w| json!({"req_per_sec": w, "p99_ms": 2.0}))})
        };
        let m = bracket(&b(100.0, 1.0, Some(300.0)), &b(60.0, 3.0, Some(100.0)));
        assert_eq!(m["result"]["req_per_sec"], 80.0);
        assert_eq!(m["result"]["latency"]["p99_ms"], 2.0);
        assert_eq!(m["wrk"]["req_per_sec"], 200.0);
        // A run without wrk figures leaves the other run's.
        let m = bracket(&b(100.0, 1.0, None), &b(60.0, 3.0, Some(100.0)));
        assert_eq!(m["wrk"]["req_per_sec"], 100.0);

        let v = json!({"config": {"concurrency": 64, "duration_secs": 10},
            "baseline": b(1.0, 1.0, None),
            "baselines": [b(1.0, 1.0, None), b(2.0, 1.0, None), b(3.0, 1.0, None)],
            "endpoints": [
                {"endpoint": "customer query_num", "baseline_runs": [0, 1], "result": {"req_per_sec": 5.0}},
                {"endpoint": "rep query_num", "baseline_runs": [1, 2], "result": {"req_per_sec": 6.0}}]});
        let labels: Vec<String> = table_rows(&v).into_iter().map(|r| r.0).collect();
        assert_eq!(
            labels,
            [
                "baseline (endpoints)",
                "customer query_num",
                "baseline (endpoints)",
                "rep query_num",
                "baseline (endpoints)"
            ]
        );
    }

    #[test]
    fn failed_requests_are_problems() {
        let v = json!({"baseline": {"result": {"errors": 0}}, "endpoints": [
            {"endpoint": "rep query_num", "result": {"errors": 2, "error_samples": ["x"]}, "wrk": {"errors": 1.0}}
        ]});
        assert_eq!(problems(&v).len(), 2);
        assert_eq!(table_rows(&v).len(), 2);
    }
}
