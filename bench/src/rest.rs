//! The REST scenarios: baseline, rest-read (fixed concurrency) and rest-write
//! (increasing offered rates, then every acknowledged id read back).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::fixtures::{self, Ack, Pair, Who};
use super::load::{self, Prepared, RunStats, Workload};
use super::procs::ServerProc;
use radar::AppState;

pub const TONGXUNLU: &str = "/zhugeleida/qiyeweixin/tongxunlu";
pub const CONTACT: &str = "/zhugeleida/qiyeweixin/contact";

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn signed(who: &Who) -> String {
    app::sign::signed_query(who.id, &who.token, now_ms())
}

#[derive(Deserialize)]
struct Env {
    code: i64,
    #[serde(default)]
    data: Option<EnvData>,
}

#[derive(Deserialize)]
struct EnvData {
    #[serde(default)]
    id: Option<i64>,
}

fn envelope(status: u16, body: &[u8]) -> Result<Env, String> {
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    serde_json::from_slice::<Env>(body).map_err(|e| format!("not an envelope: {e}"))
}

/// The read mix, one request of each kind in turn, each over all pairs.
pub struct ReadMix {
    pub base: String,
    pub pairs: Vec<Pair>,
    pub contacts_path: &'static str,
}

impl Workload for ReadMix {
    fn kinds(&self) -> Vec<&'static str> {
        let contacts = if self.contacts_path == TONGXUNLU {
            "tongxunlu"
        } else {
            "qiyeweixin/contact"
        };
        vec!["getmsg", "query_num", "history", contacts]
    }

    fn prepare(&self, client: &reqwest::Client, seq: u64) -> Prepared {
        let kind = (seq % 4) as usize;
        let p = &self.pairs[((seq / 4) % self.pairs.len().max(1) as u64) as usize];
        let (c, u) = (&p.customer, &p.rep);
        let url = match kind {
            0 => format!(
                "{}/zhugeleida/gongzhonghao/chat/getmsg/0?{}&u_id={}",
                self.base,
                signed(c),
                u.id
            ),
            1 => format!(
                "{}/zhugeleida/gongzhonghao/chat/query_num/0?{}&u_id={}",
                self.base,
                signed(c),
                u.id
            ),
            2 => format!(
                "{}/zhugeleida/gongzhonghao/chat?{}&u_id={}",
                self.base,
                signed(c),
                u.id
            ),
            _ => format!("{}{}?{}", self.base, self.contacts_path, signed(u)),
        };
        Prepared {
            kind,
            req: client.get(url),
            tag: seq,
        }
    }

    fn check(&self, _kind: usize, _tag: u64, status: u16, body: &[u8]) -> Result<(), String> {
        // 302 is the contract's "no data" answer of the contact list.
        match envelope(status, body)?.code {
            200 | 302 => Ok(()),
            c => Err(format!("envelope code {c}")),
        }
    }
}

/// Sends from both sides, each with a unique text that is looked up afterwards.
pub struct WriteMix {
    pub base: String,
    pub pairs: Vec<Pair>,
    pub step: usize,
    pub acks: Mutex<Vec<Ack>>,
}

impl WriteMix {
    fn marker(&self, seq: u64) -> String {
        format!("bench-write s{} {seq}", self.step)
    }
}

impl Workload for WriteMix {
    fn kinds(&self) -> Vec<&'static str> {
        vec!["customer send_msg", "rep send_msg"]
    }

    fn prepare(&self, client: &reqwest::Client, seq: u64) -> Prepared {
        let kind = (seq % 2) as usize;
        let p = &self.pairs[((seq / 2) % self.pairs.len().max(1) as u64) as usize];
        let content = json!({"info_type": 1, "msg": self.marker(seq)}).to_string();
        let req = if kind == 0 {
            client
                .post(format!(
                    "{}/zhugeleida/gongzhonghao/chat/send_msg/0?{}",
                    self.base,
                    signed(&p.customer)
                ))
                .form(&[
                    ("u_id", p.rep.id.to_string()),
                    ("send_type", "2".into()),
                    ("content", content),
                ])
        } else {
            client
                .post(format!(
                    "{}/zhugeleida/qiyeweixin/chat/send_msg/0?{}",
                    self.base,
                    signed(&p.rep)
                ))
                .form(&[
                    ("customer_id", p.customer.id.to_string()),
                    ("send_type", "1".into()),
                    ("content", content),
                ])
        };
        Prepared {
            kind,
            req,
            tag: seq,
        }
    }

    fn check(&self, _kind: usize, tag: u64, status: u16, body: &[u8]) -> Result<(), String> {
        let env = envelope(status, body)?;
        let id = env.data.and_then(|d| d.id);
        match (env.code, id) {
            (200, Some(id)) => {
                if let Ok(mut acks) = self.acks.lock() {
                    acks.push(Ack {
                        id,
                        marker: self.marker(tag),
                    });
                }
                Ok(())
            }
            (200, None) => Err("acknowledged without an id".into()),
            (c, _) => Err(format!("envelope code {c}")),
        }
    }
}

/// Which contact-list endpoint this build serves: `tongxunlu`, or the chat
/// contact list when `tongxunlu` answers 404.
pub async fn contacts_path(
    client: &reqwest::Client,
    server: &ServerProc,
    rep: &Who,
) -> Result<&'static str, String> {
    let url = format!("{}{}?{}", server.base(), TONGXUNLU, signed(rep));
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("probe of {TONGXUNLU} failed: {e}"))?;
    Ok(if resp.status().as_u16() == 404 {
        CONTACT
    } else {
        TONGXUNLU
    })
}

#[derive(Debug, Clone, Copy)]
pub struct ReadPlan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub max_requests: u64,
}

fn read_config(plan: &ReadPlan, mix: &ReadMix) -> Value {
    json!({
        "concurrency": plan.concurrency,
        "warmup_secs": plan.warmup.as_secs_f64(),
        "duration_secs": plan.duration.as_secs_f64(),
        "max_requests": plan.max_requests,
        "mix": mix.kinds(),
        "pairs": mix.pairs.len(),
        "tongxunlu_substituted_by": (mix.contacts_path != TONGXUNLU).then_some(CONTACT),
    })
}

/// CPU used by the server and by this (load-generating) process during a run,
/// in percent of one core: on a small shared machine it shows who was saturated.
pub struct CpuMeter {
    server: Option<f64>,
    own: Option<f64>,
    pid: Option<u32>,
    machine: Option<(u64, u64, u64)>,
    started: std::time::Instant,
}

impl CpuMeter {
    pub fn start(server_pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            server: server_pid.and_then(super::sys::cpu_secs),
            own: super::sys::cpu_secs(std::process::id()),
            pid: server_pid,
            machine: super::sys::machine_ticks(),
            started: std::time::Instant::now(),
        }
    }

    pub fn finish(&self) -> Value {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let pct = |before: Option<f64>, pid: Option<u32>| {
            let after = pid.and_then(super::sys::cpu_secs)?;
            Some(super::stats::round1((after - before?) / wall * 100.0))
        };
        // Machine-wide share of all cores: the database, other processes and
        // the neighbours on a shared machine included.
        let machine = self.machine.zip(super::sys::machine_ticks()).map(|(a, b)| {
            let total = b.2.saturating_sub(a.2).max(1) as f64;
            (
                super::stats::round1(b.0.saturating_sub(a.0) as f64 / total * 100.0),
                super::stats::round1(b.1.saturating_sub(a.1) as f64 / total * 100.0),
            )
        });
        json!({
            "server_cpu_percent": pct(self.server, self.pid),
            "bench_cpu_percent": pct(self.own, Some(std::process::id())),
            "machine_busy_percent": machine.map(|m| m.0),
            "machine_iowait_percent": machine.map(|m| m.1),
        })
    }
}

/// Warm-up (discarded), then the measured closed-loop run.
pub async fn closed_read(
    plan: &ReadPlan,
    mix: Arc<ReadMix>,
    server_pid: Option<u32>,
) -> Result<(Value, RunStats, Value), String> {
    let client = load::client(plan.concurrency)?;
    load::closed_loop(
        mix.clone(),
        &client,
        plan.concurrency,
        plan.warmup,
        u64::MAX,
    )
    .await;
    let cpu = CpuMeter::start(server_pid);
    let stats = load::closed_loop(
        mix.clone(),
        &client,
        plan.concurrency,
        plan.duration,
        plan.max_requests,
    )
    .await;
    Ok((read_config(plan, &mix), stats, cpu.finish()))
}

/// The read mix against the baseline server, started for this measurement.
pub async fn baseline(
    plan: &ReadPlan,
    pairs: &[Pair],
    contacts: &'static str,
) -> Result<Value, String> {
    let server = ServerProc::baseline().await?;
    let mix = Arc::new(ReadMix {
        base: server.base(),
        pairs: pairs.to_vec(),
        contacts_path: contacts,
    });
    let out = closed_read(plan, mix, server.pid).await;
    server.stop().await;
    let (config, stats, cpu) = out?;
    Ok(json!({"config": config, "result": stats, "cpu": cpu}))
}

pub async fn rest_read(
    plan: &ReadPlan,
    server: &ServerProc,
    pairs: &[Pair],
    contacts: &'static str,
    baseline_rps: Option<f64>,
) -> Result<Value, String> {
    let mix = Arc::new(ReadMix {
        base: server.base(),
        pairs: pairs.to_vec(),
        contacts_path: contacts,
    });
    let (config, stats, cpu) = closed_read(plan, mix, server.pid).await?;
    let ratio = baseline_rps
        .filter(|b| *b > 0.0)
        .map(|b| super::stats::round3(stats.req_per_sec / b));
    Ok(json!({"config": config, "result": stats, "cpu": cpu, "ratio_to_baseline": ratio}))
}

#[derive(Debug, Clone)]
pub struct WritePlan {
    pub rates: Vec<u64>,
    pub step: Duration,
    pub p99_limit_ms: f64,
    pub max_in_flight: usize,
    pub max_requests: u64,
    /// Stops at the first rate that does not hold (smoke runs try every rate).
    pub stop_at_knee: bool,
    pub warmup: Duration,
}

/// A step holds when nothing failed or was dropped, p99 is within the limit and
/// at least 95 % of the offered rate was answered.
pub fn step_sustained(s: &RunStats, offered: u64, p99_limit_ms: f64) -> bool {
    s.errors == 0
        && s.timeouts == 0
        && s.dropped == 0
        && s.latency.p99_ms <= p99_limit_ms
        && s.req_per_sec >= 0.95 * offered as f64
}

pub async fn rest_write(
    plan: &WritePlan,
    server: &ServerProc,
    st: &AppState,
    pairs: &[Pair],
) -> Result<Value, String> {
    let client = load::client(plan.max_in_flight)?;
    let mut steps = Vec::new();
    let mut acks = Vec::new();
    let mut best: Option<(u64, f64)> = None;
    // Warm-up at the first rate, discarded: connections (ours and the server's
    // pool) and caches are set up before anything is measured.
    let warm = Arc::new(WriteMix {
        base: server.base(),
        pairs: pairs.to_vec(),
        step: usize::MAX,
        acks: Mutex::new(Vec::new()),
    });
    let first = plan.rates.first().copied().unwrap_or(1);
    load::open_loop(
        warm.clone(),
        &client,
        first,
        plan.warmup,
        plan.max_requests,
        plan.max_in_flight,
    )
    .await;
    if let Ok(mut a) = warm.acks.lock() {
        acks.append(&mut a);
    }
    for (i, &rate) in plan.rates.iter().enumerate() {
        let mix = Arc::new(WriteMix {
            base: server.base(),
            pairs: pairs.to_vec(),
            step: i,
            acks: Mutex::new(Vec::new()),
        });
        let cpu = CpuMeter::start(server.pid);
        let s = load::open_loop(
            mix.clone(),
            &client,
            rate,
            plan.step,
            plan.max_requests,
            plan.max_in_flight,
        )
        .await;
        if let Ok(mut a) = mix.acks.lock() {
            acks.append(&mut a);
        }
        let ok = step_sustained(&s, rate, plan.p99_limit_ms);
        if ok {
            best = Some((rate, s.latency.p99_ms));
        }
        steps.push(
            json!({"offered_per_sec": rate, "sustained": ok, "result": s, "cpu": cpu.finish()}),
        );
        // Past the knee every further step only queues more; stop there.
        if !ok && plan.stop_at_knee {
            break;
        }
    }
    let verified = fixtures::verify_acks(st, &acks).await?;
    Ok(json!({
        "config": {
            "rates_per_sec": plan.rates,
            "step_secs": plan.step.as_secs_f64(),
            "warmup_secs": plan.warmup.as_secs_f64(),
            "p99_limit_ms": plan.p99_limit_ms,
            "max_in_flight": plan.max_in_flight,
            "mix": ["customer send_msg", "rep send_msg"],
            "pairs": pairs.len(),
            "open_loop": true,
        },
        "steps": steps,
        "max_sustained_per_sec": best.map(|b| b.0),
        "p99_ms_at_max_sustained": best.map(|b| b.1),
        "verification": verified,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Summary;

    fn stats(rps: f64, p99: f64, errors: u64) -> RunStats {
        RunStats {
            requests_ok: 1,
            errors,
            timeouts: 0,
            dropped: 0,
            elapsed_secs: 1.0,
            req_per_sec: rps,
            latency: Summary {
                p99_ms: p99,
                ..Summary::default()
            },
            per_kind: serde_json::Map::new(),
            error_samples: Vec::new(),
        }
    }

    #[test]
    fn sustained_needs_rate_latency_and_no_errors() {
        assert!(step_sustained(&stats(99.0, 10.0, 0), 100, 50.0));
        assert!(!step_sustained(&stats(80.0, 10.0, 0), 100, 50.0));
        assert!(!step_sustained(&stats(100.0, 51.0, 0), 100, 50.0));
        assert!(!step_sustained(&stats(100.0, 10.0, 1), 100, 50.0));
    }

    #[test]
    fn envelope_check() {
        let mix = ReadMix {
            base: String::new(),
            pairs: Vec::new(),
            contacts_path: CONTACT,
        };
        assert!(mix
            .check(0, 0, 200, br#"{"code":200,"msg":"","data":{}}"#)
            .is_ok());
        assert!(mix
            .check(3, 0, 200, "{\"code\":302,\"msg\":\"没有数据\"}".as_bytes())
            .is_ok());
        assert!(mix
            .check(0, 0, 200, "{\"code\":400,\"msg\":\"token异常\"}".as_bytes())
            .is_err());
        assert!(mix.check(0, 0, 500, b"oops").is_err());
        assert_eq!(mix.kinds()[3], "qiyeweixin/contact");
    }

    #[test]
    fn write_acks_carry_the_marker_of_their_send() {
        let mix = WriteMix {
            base: String::new(),
            pairs: Vec::new(),
            step: 2,
            acks: Mutex::new(Vec::new()),
        };
        assert!(mix
            .check(0, 7, 200, br#"{"code":200,"data":{"id":41}}"#)
            .is_ok());
        assert!(mix.check(0, 8, 200, br#"{"code":200,"data":{}}"#).is_err());
        assert!(mix.check(0, 9, 200, br#"{"code":307,"data":{}}"#).is_err());
        let acks = mix.acks.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].id, 41);
        assert_eq!(acks[0].marker, "bench-write s2 7");
    }
}
