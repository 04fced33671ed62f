//! The load generator: closed loop (a fixed number of connections, each sending
//! its next request when the last one answered) and open loop (requests started
//! on a fixed schedule whatever the server does, latency counted from the
//! scheduled start so queueing is not hidden).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::stats::{round1, Latencies, Summary};

/// A request ready to send, with what the checker needs to judge its answer.
pub struct Prepared {
    pub kind: usize,
    pub req: reqwest::RequestBuilder,
    pub tag: u64,
}

pub trait Workload: Send + Sync + 'static {
    /// Names of the request kinds, for per-kind latencies.
    fn kinds(&self) -> Vec<&'static str>;
    fn prepare(&self, client: &reqwest::Client, seq: u64) -> Prepared;
    /// Judges one answer; an `Err` is counted as an error with its reason.
    fn check(&self, kind: usize, tag: u64, status: u16, body: &[u8]) -> Result<(), String>;
}

pub fn client(max_idle: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_idle)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[derive(Default)]
struct Shared {
    errors: AtomicU64,
    timeouts: AtomicU64,
    samples: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, reason: String, timeout: bool) {
        if timeout {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        } else {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut s) = self.samples.lock() {
            if s.len() < 5 && !s.contains(&reason) {
                s.push(reason);
            }
        }
    }
}

/// Sends one request; Ok(latency) when the checker accepts the answer.
async fn one<W: Workload>(
    w: &W,
    client: &reqwest::Client,
    seq: u64,
    shared: &Shared,
) -> Option<(usize, Instant)> {
    let p = w.prepare(client, seq);
    let sent = async {
        let resp = p.req.send().await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    }
    .await;
    match sent {
        Ok((status, body)) => match w.check(p.kind, p.tag, status, &body) {
            Ok(()) => Some((p.kind, Instant::now())),
            Err(reason) => {
                shared.error(format!("{}: {reason}", w.kinds()[p.kind]), false);
                None
            }
        },
        Err(e) => {
            let timeout = e.is_timeout();
            shared.error(format!("{}: {e}", w.kinds()[p.kind]), timeout);
            None
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    pub requests_ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Open loop only: scheduled requests never started because too many were
    /// already waiting for an answer.
    pub dropped: u64,
    pub elapsed_secs: f64,
    pub req_per_sec: f64,
    pub latency: Summary,
    pub per_kind: serde_json::Map<String, serde_json::Value>,
    pub error_samples: Vec<String>,
}

fn finish<W: Workload>(
    w: &W,
    mut all: Latencies,
    mut per_kind: Vec<Latencies>,
    shared: &Shared,
    dropped: u64,
    elapsed: Duration,
) -> RunStats {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let kinds = w.kinds();
    RunStats {
        requests_ok: all.len() as u64,
        errors: shared.errors.load(Ordering::Relaxed),
        timeouts: shared.timeouts.load(Ordering::Relaxed),
        dropped,
        elapsed_secs: super::stats::round3(secs),
        req_per_sec: round1(all.len() as f64 / secs),
        latency: all.summary(),
        per_kind: per_kind
            .iter_mut()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| {
                (
                    kinds.get(i).copied().unwrap_or("?").to_owned(),
                    serde_json::to_value(l.summary()).unwrap_or_default(),
                )
            })
            .collect(),
        error_samples: shared.samples.lock().map(|s| s.clone()).unwrap_or_default(),
    }
}

/// `concurrency` connections, each sending back to back, until `duration` has
/// passed or `max_requests` were started.
pub async fn closed_loop<W: Workload>(
    w: Arc<W>,
    client: &reqwest::Client,
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
) -> RunStats {
    let shared = Arc::new(Shared::default());
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let kinds = w.kinds().len();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (w, client, shared, next) = (w.clone(), client.clone(), shared.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut all = Latencies::with_capacity(4096);
            let mut per_kind = vec![Latencies::default(); kinds];
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= max_requests || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                if let Some((kind, done)) = one(&*w, &client, seq, &shared).await {
                    all.record(done - t0);
                    if let Some(k) = per_kind.get_mut(kind) {
                        k.record(done - t0);
                    }
                }
            }
            (all, per_kind)
        }));
    }
    let mut all = Latencies::default();
    let mut per_kind = vec![Latencies::default(); kinds];
    for t in tasks {
        if let Ok((a, pk)) = t.await {
            all.merge(a);
            for (mine, theirs) in per_kind.iter_mut().zip(pk) {
                mine.merge(theirs);
            }
        }
    }
    finish(&*w, all, per_kind, &shared, 0, start.elapsed())
}

/// Starts `rate` requests per second for `duration` (at most `max_requests`),
/// with at most `max_in_flight` waiting at once.
pub async fn open_loop<W: Workload>(
    w: Arc<W>,
    client: &reqwest::Client,
    rate: u64,
    duration: Duration,
    max_requests: u64,
    max_in_flight: usize,
) -> RunStats {
    let shared = Arc::new(Shared::default());
    let kinds = w.kinds().len();
    let results = Arc::new(Mutex::new((
        Latencies::default(),
        vec![Latencies::default(); kinds],
    )));
    let gate = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
    let total = ((rate as f64 * duration.as_secs_f64()).round() as u64).min(max_requests);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let start = Instant::now();
    let mut dropped = 0u64;
    for seq in 0..total {
        let due = start + interval.mul_f64(seq as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            dropped += 1;
            continue;
        };
        let (w, client, shared, results) =
            (w.clone(), client.clone(), shared.clone(), results.clone());
        tokio::spawn(async move {
            if let Some((kind, done)) = one(&*w, &client, seq, &shared).await {
                if let Ok(mut r) = results.lock() {
                    r.0.record(done - due);
                    if let Some(k) = r.1.get_mut(kind) {
                        k.record(done - due);
                    }
                }
            }
            drop(permit);
        });
    }
    // Waits for the stragglers: every permit back means every request answered.
    let all_back = gate.acquire_many(max_in_flight.max(1) as u32);
    let _ = tokio::time::timeout(Duration::from_secs(15), all_back).await;
    // The rate is counted over the schedule: a server that falls behind shows
    // up as latency (counted from the scheduled start) and as dropped requests.
    let elapsed = duration;
    let (all, per_kind) = match results.lock() {
        Ok(mut r) => (std::mem::take(&mut r.0), std::mem::take(&mut r.1)),
        Err(_) => (Latencies::default(), Vec::new()),
    };
    finish(&*w, all, per_kind, &shared, dropped, elapsed)
}
