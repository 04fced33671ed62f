//! The JSON report, the target checks, the problems that fail a run, and the
//! short human table.

use serde_json::{json, Map, Value};

use super::{sys, Plan};

pub fn assemble(
    plan: &Plan,
    started: chrono::DateTime<chrono::Utc>,
    git_commit: Option<String>,
    backends: Map<String, Value>,
) -> Value {
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut notes = Vec::new();
    if plan.smoke {
        notes.push("smoke run: tiny sizes and durations; the timings mean nothing".to_owned());
    }
    if build == "debug" {
        notes.push(
            "debug build: timings are not representative; use `cargo build --release -p server -p bench`".to_owned(),
        );
    }
    let targets = targets(&backends, plan.read.concurrency);
    let all_pass = targets
        .iter()
        .all(|t| t.get("pass").and_then(Value::as_bool) == Some(true));
    json!({
        "tool": "radar-bench",
        "version": env!("CARGO_PKG_VERSION"),
        "started": started.to_rfc3339(),
        "finished": chrono::Utc::now().to_rfc3339(),
        "build": build,
        "git_commit": git_commit,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": sys::machine(),
        "plan": plan.describe(),
        "notes": notes,
        "backends": backends,
        "targets": targets,
        "all_targets_pass": all_pass,
    })
}

fn num(v: &Value, ptr: &str) -> Option<f64> {
    v.pointer(ptr).and_then(Value::as_f64)
}

fn target(backend: &str, name: String, value: Option<f64>, limit: f64, at_most: bool) -> Value {
    let pass = value.map(|v| if at_most { v <= limit } else { v >= limit });
    json!({"backend": backend, "target": name, "value": value, "limit": limit, "pass": pass})
}

/// The targets as pass/fail flags; `pass: null` when not measured.
pub fn targets(backends: &Map<String, Value>, concurrency: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, b) in backends {
        let sc = b.get("scenarios").cloned().unwrap_or(Value::Null);
        if name == "sqlite" {
            if let Some(rr) = sc.get("rest-read") {
                out.push(target(
                    name,
                    format!("rest-read req/s ≥ 50 % of baseline ({concurrency} connections)"),
                    num(rr, "/ratio_to_baseline"),
                    0.5,
                    false,
                ));
                out.push(target(
                    name,
                    format!("rest-read p99 ≤ 10 ms ({concurrency} connections)"),
                    num(rr, "/result/latency/p99_ms"),
                    10.0,
                    true,
                ));
            }
        }
        out.extend(super::endpoints::targets(name, &sc, concurrency));
        if let Some(rw) = sc.get("rest-write") {
            let missing = num(rw, "/verification/missing")
                .zip(num(rw, "/verification/duplicate_ids"))
                .map(|(m, d)| m + d);
            out.push(target(
                name,
                "rest-write: no acknowledged message missing".into(),
                missing,
                0.0,
                true,
            ));
        }
        for run in sc
            .get("idle")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let n = num(run, "/config/sockets").unwrap_or(0.0);
            out.push(target(
                name,
                format!("idle RSS ≤ 32 KiB per socket ({n} sockets)"),
                num(run, "/rss_per_socket_kib"),
                32.0,
                true,
            ));
        }
        for run in sc
            .get("push")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let n = num(run, "/config/sockets").unwrap_or(0.0);
            let inst = num(run, "/instances").unwrap_or(1.0);
            // Issue 13: at 1,000 sockets, 20 ms on one instance and 50 ms
            // across two (the second instance's pushes cross NOTIFY).
            let limit = if n <= 1000.0 {
                Some(if inst >= 2.0 { 50.0 } else { 20.0 })
            } else if n <= 10000.0 {
                Some(100.0)
            } else {
                None
            };
            let measured = num(run, "/pushed").filter(|p| *p > 0.0);
            if let Some(limit) = limit {
                out.push(target(
                    name,
                    format!("push p99 ≤ {limit} ms ({n} sockets, {inst} instance(s))"),
                    measured.and(num(run, "/latency/p99_ms")),
                    limit,
                    true,
                ));
            }
            out.push(target(
                name,
                format!("push: no acknowledged message missing ({n} sockets, {inst} instance(s))"),
                num(run, "/missing"),
                0.0,
                true,
            ));
        }
        if let Some(p) = sc.get("pages") {
            out.extend(crate::pages::targets(name, p));
        }
        if let Some(v) = sc.get("scaling") {
            super::scaling::targets(name, v, &mut out);
        }
    }
    out
}

/// What makes the run fail (exit 1): harness errors, failed requests or
/// connections, lost or duplicated messages. Slow numbers are not problems.
pub fn problems(report: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(backends) = report.get("backends").and_then(Value::as_object) else {
        return vec!["no backend ran".into()];
    };
    for (name, b) in backends {
        if let Some(e) = b.get("error") {
            p.push(format!("{name}: {}", e.as_str().unwrap_or("error")));
            continue;
        }
        let Some(sc) = b.get("scenarios").and_then(Value::as_object) else {
            continue;
        };
        for (s, v) in sc {
            let runs: Vec<&Value> = match v.as_array() {
                Some(a) => a.iter().collect(),
                None => vec![v],
            };
            for r in runs {
                let at = format!("{name} {s}");
                if let Some(e) = r.get("error") {
                    p.push(format!("{at}: {}", e.as_str().unwrap_or("error")));
                    continue;
                }
                let count = |ptr: &str| num(r, ptr).unwrap_or(0.0);
                match s.as_str() {
                    "baseline" | "rest-read" => {
                        let e = count("/result/errors") + count("/result/timeouts");
                        if e > 0.0 {
                            p.push(format!(
                                "{at}: {e} failed requests, e.g. {}",
                                r.pointer("/result/error_samples").unwrap_or(&Value::Null)
                            ));
                        }
                    }
                    "rest-write" => {
                        let m =
                            count("/verification/missing") + count("/verification/duplicate_ids");
                        if m > 0.0 {
                            p.push(format!(
                                "{at}: {m} acknowledged messages missing or duplicated"
                            ));
                        }
                        for st in r
                            .get("steps")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if count_in(st, "/result/errors") > 0.0 {
                                p.push(format!(
                                    "{at}: failed sends at {} req/s, e.g. {}",
                                    st.get("offered_per_sec").unwrap_or(&Value::Null),
                                    st.pointer("/result/error_samples").unwrap_or(&Value::Null)
                                ));
                            }
                        }
                    }
                    "endpoints" => {
                        let found = super::endpoints::problems(r);
                        p.extend(found.into_iter().map(|e| format!("{at} {e}")));
                    }
                    "push" | "idle" => {
                        if r.get("skipped").is_some() {
                            continue;
                        }
                        if count("/connections/failed") > 0.0 {
                            p.push(format!(
                                "{at}: {} sockets failed to register, e.g. {}",
                                count("/connections/failed"),
                                r.pointer("/connections/failure_samples")
                                    .unwrap_or(&Value::Null)
                            ));
                        }
                        if count("/still_open_at_end") < count("/connections/opened") {
                            p.push(format!(
                                "{at}: the server closed {} sockets",
                                count("/connections/opened") - count("/still_open_at_end")
                            ));
                        }
                        if s == "push" {
                            if count("/missing") > 0.0 || count("/duplicates") > 0.0 {
                                p.push(format!(
                                    "{at}: {} acknowledged messages never pushed, {} pushed twice",
                                    count("/missing"),
                                    count("/duplicates")
                                ));
                            }
                            if count("/sends/errors") > 0.0 {
                                p.push(format!(
                                    "{at}: failed sends, e.g. {}",
                                    r.pointer("/sends/error_samples").unwrap_or(&Value::Null)
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    p
}

fn count_in(v: &Value, ptr: &str) -> f64 {
    num(v, ptr).unwrap_or(0.0)
}

fn ms(v: &Value, ptr: &str) -> String {
    num(v, ptr)
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "-".into())
}

fn lat(v: &Value, base: &str) -> String {
    format!(
        "p50 {} p99 {} p999 {} ms",
        ms(v, &format!("{base}/p50_ms")),
        ms(v, &format!("{base}/p99_ms")),
        ms(v, &format!("{base}/p999_ms"))
    )
}

fn row(out: &mut Vec<[String; 4]>, b: &str, s: &str, cfg: String, res: String) {
    out.push([b.to_owned(), s.to_owned(), cfg, res]);
}

fn failure(v: &Value) -> Option<String> {
    v.get("error")
        .or_else(|| v.get("skipped"))
        .and_then(Value::as_str)
        .map(|e| {
            let first = e.lines().next().unwrap_or(e);
            let kind = if v.get("error").is_some() {
                "ERROR"
            } else {
                "skipped"
            };
            format!("{kind}: {first}")
        })
}

/// The human summary: one line per measurement, then the targets.
pub fn table(report: &Value) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    row(
        &mut rows,
        "backend",
        "scenario",
        "configuration".into(),
        "result".into(),
    );
    let empty = Map::new();
    let backends = report
        .get("backends")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (b, bv) in backends {
        if let Some(f) = failure(bv) {
            row(&mut rows, b, "-", String::new(), f);
            continue;
        }
        let sc = bv.get("scenarios").cloned().unwrap_or(Value::Null);
        for name in ["baseline", "rest-read"] {
            let Some(v) = sc.get(name) else { continue };
            let swapped = if v
                .pointer("/config/tongxunlu_substituted_by")
                .is_some_and(|x| !x.is_null())
            {
                " (contact for tongxunlu)"
            } else {
                ""
            };
            let cfg = format!(
                "{} conns, {} s{swapped}",
                num(v, "/config/concurrency").unwrap_or(0.0),
                num(v, "/config/duration_secs").unwrap_or(0.0)
            );
            let res = failure(v).unwrap_or_else(|| {
                let ratio = num(v, "/ratio_to_baseline")
                    .map(|r| format!(", {:.0} % of baseline", r * 100.0))
                    .unwrap_or_default();
                format!(
                    "{} req/s, {}{ratio}, {} errors, CPU server {} % bench {} % machine {} %",
                    num(v, "/result/req_per_sec").unwrap_or(0.0),
                    lat(v, "/result/latency"),
                    count_in(v, "/result/errors") + count_in(v, "/result/timeouts"),
                    num(v, "/cpu/server_cpu_percent")
                        .map(|c| format!("{c:.0}"))
                        .unwrap_or_else(|| "-".into()),
                    num(v, "/cpu/bench_cpu_percent")
                        .map(|c| format!("{c:.0}"))
                        .unwrap_or_else(|| "-".into()),
                    num(v, "/cpu/machine_busy_percent")
                        .map(|c| format!("{c:.0}"))
                        .unwrap_or_else(|| "-".into()),
                )
            });
            row(&mut rows, b, name, cfg, res);
        }
        if let Some(v) = sc.get("rest-write") {
            let rates = v
                .pointer("/config/rates_per_sec")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            let cfg = format!(
                "open loop {rates} req/s × {} s",
                num(v, "/config/step_secs").unwrap_or(0.0)
            );
            let res = failure(v).unwrap_or_else(|| {
                let best = match num(v, "/max_sustained_per_sec") {
                    Some(r) => format!(
                        "max sustained {r} req/s (p99 {} ms)",
                        ms(v, "/p99_ms_at_max_sustained")
                    ),
                    None => "no rate sustained".into(),
                };
                format!(
                    "{best}; {} of {} acknowledged missing",
                    num(v, "/verification/missing").unwrap_or(0.0),
                    num(v, "/verification/acknowledged").unwrap_or(0.0)
                )
            });
            row(&mut rows, b, "rest-write", cfg, res);
        }
        if let Some(v) = sc.get("endpoints") {
            match failure(v) {
                Some(f) => row(&mut rows, b, "endpoints", String::new(), f),
                None => {
                    for (label, cfg, res) in super::endpoints::table_rows(v) {
                        row(&mut rows, b, &label, cfg, res);
                    }
                }
            }
        }
        for name in ["idle", "push"] {
            let runs: Vec<Value> = match sc.get(name) {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => continue,
            };
            for v in runs {
                let n = num(&v, "/config/sockets").unwrap_or(0.0);
                let inst = num(&v, "/instances").unwrap_or(1.0);
                let (label, cfg) = if v.get("config").is_none() {
                    (name.to_owned(), String::new())
                } else if name == "idle" {
                    ("idle".to_owned(), format!("{n} sockets"))
                } else {
                    (
                        if inst > 1.0 {
                            "push (2 inst.)".to_owned()
                        } else {
                            "push".to_owned()
                        },
                        format!(
                            "{n} sockets, {} msg/s × {} s",
                            num(&v, "/config/send_rate_per_sec").unwrap_or(0.0),
                            num(&v, "/config/send_secs").unwrap_or(0.0)
                        ),
                    )
                };
                let res = failure(&v).unwrap_or_else(|| {
                    if name == "idle" {
                        format!(
                            "{} KiB RSS per socket, idle CPU {} %",
                            ms(&v, "/rss_per_socket_kib"),
                            ms(&v, "/idle_cpu_percent")
                        )
                    } else {
                        let warm = match num(&v, "/warmup_sends/latency/p99_ms") {
                            Some(p99) => format!("; warm-up sends p99 {p99} ms"),
                            None => String::new(),
                        };
                        format!(
                            "{}; {} of {} acknowledged missing{warm}",
                            lat(&v, "/latency"),
                            num(&v, "/missing").unwrap_or(0.0),
                            num(&v, "/acknowledged").unwrap_or(0.0)
                        )
                    }
                });
                row(&mut rows, b, &label, cfg, res);
            }
        }
        if let Some(v) = sc.get("pages") {
            match failure(v) {
                Some(f) => row(&mut rows, b, "pages", String::new(), f),
                None => {
                    for (cfg, res) in crate::pages::table_rows(v) {
                        row(&mut rows, b, "pages", cfg, res);
                    }
                }
            }
        }
        if let Some(v) = sc.get("scaling") {
            match failure(v) {
                Some(f) => row(&mut rows, b, "scaling", String::new(), f),
                None => {
                    for (cfg, res) in super::scaling::rows(v) {
                        row(&mut rows, b, "scaling", cfg, res);
                    }
                }
            }
        }
    }
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    s.push_str(&format!(
        "radar-bench: {} build, commit {}, {} CPUs, {}\n",
        report.get("build").and_then(Value::as_str).unwrap_or("?"),
        report
            .get("git_commit")
            .and_then(Value::as_str)
            .unwrap_or("unknown"),
        report.pointer("/machine/nproc").unwrap_or(&Value::Null),
        report
            .pointer("/machine/cpu_model")
            .and_then(Value::as_str)
            .unwrap_or("unknown CPU"),
    ));
    for n in report
        .get("notes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        s.push_str(&format!("note: {}\n", n.as_str().unwrap_or_default()));
    }
    for r in &rows {
        for (i, w) in widths.iter().enumerate() {
            let pad = w.saturating_sub(r[i].chars().count());
            s.push_str(&r[i]);
            s.push_str(&" ".repeat(pad + 2));
        }
        s.push_str(&r[3]);
        s.push('\n');
    }
    s.push_str("targets:\n");
    for t in report
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let flag = match t.get("pass").and_then(Value::as_bool) {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a ",
        };
        let value = t
            .get("value")
            .and_then(Value::as_f64)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "not measured".into());
        let skipped = t
            .get("skipped")
            .and_then(Value::as_str)
            .map(|why| format!(" (target skipped: {why})"))
            .unwrap_or_default();
        s.push_str(&format!(
            "  {flag}  {:<9} {}: {value}{skipped}\n",
            t.get("backend").and_then(Value::as_str).unwrap_or(""),
            t.get("target").and_then(Value::as_str).unwrap_or(""),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "build": "release",
            "backends": {
                "sqlite": {"scenarios": {
                    "baseline": {"config": {"concurrency": 64, "duration_secs": 10.0}, "result": {"req_per_sec": 1000.0, "errors": 0, "timeouts": 0, "latency": {"p50_ms": 1.0, "p99_ms": 2.0, "p999_ms": 3.0}}},
                    "rest-read": {"config": {"concurrency": 64, "duration_secs": 10.0}, "result": {"req_per_sec": 600.0, "errors": 0, "timeouts": 0, "latency": {"p50_ms": 1.0, "p99_ms": 12.0, "p999_ms": 30.0}}, "ratio_to_baseline": 0.6},
                    "rest-write": {"config": {"rates_per_sec": [100], "step_secs": 3.0}, "steps": [], "max_sustained_per_sec": 100, "verification": {"acknowledged": 300, "missing": 0, "duplicate_ids": 0}},
                    "idle": [{"config": {"sockets": 1000}, "rss_per_socket_kib": 20.5, "connections": {"opened": 1000, "failed": 0}, "still_open_at_end": 1000}],
                    "push": [{"config": {"sockets": 1000}, "instances": 1, "pushed": 10, "missing": 1, "duplicates": 0, "latency": {"p99_ms": 5.0}, "connections": {"opened": 1000, "failed": 0}, "still_open_at_end": 1000}]
                }},
                "postgres": {"error": "PostgreSQL at x is not reachable"}
            }
        })
    }

    #[test]
    fn targets_are_flagged() {
        let r = sample();
        let b = r["backends"].as_object().cloned().unwrap_or_default();
        let t = targets(&b, 64);
        let pass = |needle: &str| {
            t.iter()
                .find(|x| x["target"].as_str().is_some_and(|s| s.contains(needle)))
                .map(|x| x["pass"].clone())
        };
        assert_eq!(pass("50 %"), Some(json!(true)));
        assert_eq!(pass("rest-read p99"), Some(json!(false)));
        assert_eq!(pass("idle RSS"), Some(json!(true)));
        assert_eq!(pass("push p99"), Some(json!(true)));
        assert_eq!(pass("push: no acknowledged"), Some(json!(false)));
        assert_eq!(pass("rest-write: no acknowledged"), Some(json!(true)));
    }

    #[test]
    fn push_target_is_50_ms_across_two_instances_at_1000_sockets() {
        let run = |inst: u64, p99: f64| {
            json!({"config": {"sockets": 1000}, "instances": inst, "pushed": 10, "missing": 0,
                   "duplicates": 0, "latency": {"p99_ms": p99},
                   "connections": {"opened": 1000, "failed": 0}, "still_open_at_end": 1000})
        };
        let b = json!({"postgres": {"scenarios": {"push": [run(1, 30.0), run(2, 30.0), run(2, 60.0)]}}});
        let t = targets(b.as_object().unwrap_or(&Map::new()), 64);
        let got: Vec<(String, Value)> = t
            .iter()
            .filter(|x| {
                x["target"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("push p99"))
            })
            .map(|x| {
                (
                    x["target"].as_str().unwrap_or("").to_owned(),
                    x["pass"].clone(),
                )
            })
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].0.contains("≤ 20 ms") && got[0].1 == json!(false),
            "{got:?}"
        );
        assert!(
            got[1].0.contains("≤ 50 ms") && got[1].1 == json!(true),
            "{got:?}"
        );
        assert!(
            got[2].0.contains("≤ 50 ms") && got[2].1 == json!(false),
            "{got:?}"
        );
    }

    #[test]
    fn problems_are_integrity_and_harness_failures_only() {
        let p = problems(&sample());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().any(|s| s.starts_with("postgres")));
        assert!(p.iter().any(|s| s.contains("never pushed")));
        // A slow p99 alone is not a problem.
        assert!(!p.iter().any(|s| s.contains("rest-read")));
    }

    #[test]
    fn table_mentions_every_measurement() {
        let mut r = sample();
        let b = r["backends"].as_object().cloned().unwrap_or_default();
        r["targets"] = Value::Array(targets(&b, 64));
        let t = table(&r);
        for needle in [
            "baseline",
            "rest-read",
            "rest-write",
            "idle",
            "push",
            "ERROR",
            "FAIL",
            "PASS",
        ] {
            assert!(t.contains(needle), "{needle} missing in\n{t}");
        }
    }
}
