//! The socket scenarios: push (REST send → frame on the customer's socket) and
//! idle (what N registered, silent sockets cost the server).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::fixtures::Pair;
use super::load::{self, Prepared, Workload};
use super::procs::ServerProc;
use super::rest::signed;
use super::stats::{round1, Latencies};

pub const CHAT_PATH: &str = "/zhugeleida/gongzhonghao/websocket/gongzhonghao_chat";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Microseconds since this process's first call: the clock both the sender and
/// the receivers of a push read, so latency needs no coordination.
fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let e = *EPOCH.get_or_init(Instant::now);
    u64::try_from(e.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn push_marker(round: u64, seq: u64, t_us: u64) -> String {
    format!("bench-push {round} {seq} {t_us}")
}

/// Every `(round, seq, t_us)` marker in a pushed frame's `data.ret_data`.
pub fn parse_push(frame: &str) -> Vec<(u64, u64, u64)> {
    let Ok(v) = serde_json::from_str::<Value>(frame) else {
        return Vec::new();
    };
    let Some(items) = v.pointer("/data/ret_data").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|m| m.get("msg")?.as_str()?.strip_prefix("bench-push "))
        .filter_map(|rest| {
            let mut it = rest.split(' ').map(|s| s.parse::<u64>().ok());
            Some((it.next()??, it.next()??, it.next()??))
        })
        .collect()
}

fn client_config() -> WebSocketConfig {
    // Ten thousand client sockets in this process: small buffers keep the
    // harness itself from needing gigabytes.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

/// Connects as the pair's customer (credentials on the upgrade URL), registers,
/// and waits for the 199 answer.
async fn connect_one(ws_base: &str, p: &Pair) -> Result<Ws, String> {
    let url = format!("{ws_base}{CHAT_PATH}?{}", signed(&p.customer));
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true)
            .await
            .map_err(|e| match e {
                WsError::Http(r) => format!("upgrade answered HTTP {}", r.status()),
                other => format!("connect: {other}"),
            })?;
    let register = json!({"type": "register", "u_id": p.rep.id, "user_id": p.customer.id});
    ws.send(Message::text(register.to_string()))
        .await
        .map_err(|e| format!("register: {e}"))?;
    let registered = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    match v.get("code").and_then(Value::as_i64) {
                        Some(199) => return Ok(()),
                        Some(c) if c >= 300 => return Err(format!("register answered {v}")),
                        _ => {}
                    }
                }
                Ok(Message::Close(f)) => return Err(format!("closed while registering: {f:?}")),
                Ok(_) => {}
                Err(e) => return Err(format!("while registering: {e}")),
            }
        }
        Err("closed while registering".to_owned())
    })
    .await
    .map_err(|_| "no 199 within 15 s".to_owned())?;
    registered.map(|()| ws)
}

/// Whether the build serves the chat socket at all (the endpoint comes with the
/// real-time work); Err explains why the socket scenarios are skipped.
pub async fn probe(server: &ServerProc, p: &Pair) -> Result<(), String> {
    match connect_one(&server.ws_base(), p).await {
        Ok(mut ws) => {
            let _ = ws.close(None).await;
            Ok(())
        }
        Err(e) => Err(format!("{CHAT_PATH}: {e}")),
    }
}

/// Open, registered sockets, each read by its own task.
pub struct Sockets {
    handles: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    pub alive: Arc<AtomicUsize>,
    pub opened: usize,
    /// Indexes (into the pairs given to `open`) of the sockets that registered.
    pub opened_idx: Vec<usize>,
    pub failed: usize,
    pub failure_samples: Vec<String>,
    pub open_secs: f64,
}

/// A push seen by a socket: (seq, latency in µs).
type Seen = (u64, u64);

/// Opens and registers one socket per pair (at most `parallel` handshakes at a
/// time). Pushes of `round` are reported on `seen`.
pub async fn open(
    ws_base: &str,
    pairs: &[Pair],
    round: u64,
    seen: Option<mpsc::UnboundedSender<Seen>>,
    parallel: usize,
) -> Sockets {
    let started = Instant::now();
    let results: Vec<(usize, Result<Ws, String>)> = stream::iter(pairs.iter().enumerate())
        .map(|(i, p)| async move { (i, connect_one(ws_base, p).await) })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    let (stop, stop_rx) = watch::channel(false);
    let alive = Arc::new(AtomicUsize::new(0));
    let mut s = Sockets {
        handles: Vec::with_capacity(results.len()),
        stop,
        alive: alive.clone(),
        opened: 0,
        opened_idx: Vec::with_capacity(results.len()),
        failed: 0,
        failure_samples: Vec::new(),
        open_secs: 0.0,
    };
    for (i, r) in results {
        match r {
            Ok(ws) => {
                s.opened += 1;
                s.opened_idx.push(i);
                alive.fetch_add(1, Ordering::Relaxed);
                s.handles.push(tokio::spawn(read_loop(
                    ws,
                    round,
                    seen.clone(),
                    stop_rx.clone(),
                    alive.clone(),
                )));
            }
            Err(e) => {
                s.failed += 1;
                if s.failure_samples.len() < 5 && !s.failure_samples.contains(&e) {
                    s.failure_samples.push(e);
                }
            }
        }
    }
    s.open_secs = super::stats::round3(started.elapsed().as_secs_f64());
    s
}

async fn read_loop(
    mut ws: Ws,
    round: u64,
    seen: Option<mpsc::UnboundedSender<Seen>>,
    mut stop: watch::Receiver<bool>,
    alive: Arc<AtomicUsize>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                break;
            }
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let now = now_us();
                    if let Some(tx) = &seen {
                        for (r, seq, t_us) in parse_push(t.as_str()) {
                            if r == round {
                                let _ = tx.send((seq, now.saturating_sub(t_us)));
                            }
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
    }
    alive.fetch_sub(1, Ordering::Relaxed);
}

impl Sockets {
    pub async fn close(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }

    pub fn describe(&self) -> Value {
        json!({
            "opened": self.opened,
            "failed": self.failed,
            "failure_samples": self.failure_samples,
            "open_secs": self.open_secs,
        })
    }
}

/// Reps sending to the socket holders over REST, each text carrying its send time.
struct PushSend {
    base: String,
    pairs: Vec<Pair>,
    round: u64,
    acked: Mutex<HashSet<u64>>,
}

impl PushSend {
    fn target(&self, seq: u64) -> &Pair {
        // A prime stride spreads the sends over all sockets, not just the first few.
        let n = self.pairs.len().max(1) as u64;
        &self.pairs[((seq.wrapping_mul(7919)) % n) as usize]
    }
}

impl Workload for PushSend {
    fn kinds(&self) -> Vec<&'static str> {
        vec!["rep send_msg"]
    }

    fn prepare(&self, client: &reqwest::Client, seq: u64) -> Prepared {
        let p = self.target(seq);
        let content =
            json!({"info_type": 1, "msg": push_marker(self.round, seq, now_us())}).to_string();
        let req = client
            .post(format!(
                "{}/zhugeleida/qiyeweixin/chat/send_msg/0?{}",
                self.base,
                signed(&p.rep)
            ))
            .form(&[
                ("customer_id", p.customer.id.to_string()),
                ("send_type", "1".into()),
                ("content", content),
            ]);
        Prepared {
            kind: 0,
            req,
            tag: seq,
        }
    }

    fn check(&self, _kind: usize, tag: u64, status: u16, body: &[u8]) -> Result<(), String> {
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        match (v.get("code").and_then(Value::as_i64), v.pointer("/data/id")) {
            (Some(200), Some(_)) => {
                if let Ok(mut a) = self.acked.lock() {
                    a.insert(tag);
                }
                Ok(())
            }
            _ => Err(format!("send answered {v}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PushPlan {
    pub sockets: usize,
    pub rate: u64,
    /// Sends at `rate` before the measured ones, to sockets that ignore them.
    pub warmup: Duration,
    pub duration: Duration,
    pub grace: Duration,
    pub parallel_connects: usize,
}

/// The round number of `round`'s warm-up sends: never a measured round.
pub fn warmup_round(round: u64) -> u64 {
    round | 1 << 63
}

/// N sockets on `hold`, sends through `send`; latency is REST send start →
/// frame read.
pub async fn push(
    plan: &PushPlan,
    hold: &ServerProc,
    send: &ServerProc,
    pairs: &[Pair],
    round: u64,
) -> Result<Value, String> {
    let pairs = &pairs[..plan.sockets.min(pairs.len())];
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sockets = open(
        &hold.ws_base(),
        pairs,
        round,
        Some(tx),
        plan.parallel_connects,
    )
    .await;
    // After its 199 each socket still reads the conversation's backlog; sends
    // start once that work is done, so they are not measured against it.
    let quiet_after = settle(hold, Duration::from_secs(15)).await;
    let opened: Vec<Pair> = sockets
        .opened_idx
        .iter()
        .map(|&i| pairs[i].clone())
        .collect();
    let client = load::client(256)?;
    // A fresh server's pooled connections each pay once for their first send
    // (PostgreSQL plans the statements and compiles the trigger functions per
    // connection): that is start-up, reported here, not push latency. The
    // warm-up round's frames carry another round number, so the sockets do
    // not count them.
    let warmup = if plan.warmup.is_zero() || opened.is_empty() {
        None
    } else {
        let warm = Arc::new(PushSend {
            base: send.base(),
            pairs: opened.clone(),
            round: warmup_round(round),
            acked: Mutex::new(HashSet::new()),
        });
        let stats = load::open_loop(warm, &client, plan.rate, plan.warmup, u64::MAX, 256).await;
        settle(hold, Duration::from_secs(5)).await;
        Some(stats)
    };
    let w = Arc::new(PushSend {
        base: send.base(),
        pairs: opened,
        round,
        acked: Mutex::new(HashSet::new()),
    });
    let cpu = super::rest::CpuMeter::start(hold.pid);
    let sent = if sockets.opened > 0 {
        Some(load::open_loop(w.clone(), &client, plan.rate, plan.duration, u64::MAX, 256).await)
    } else {
        None
    };
    let cpu_while_sending = cpu.finish();
    let acked: HashSet<u64> = w.acked.lock().map(|a| a.clone()).unwrap_or_default();
    let mut received: HashSet<u64> = HashSet::new();
    let mut duplicates = 0u64;
    let mut lat = Latencies::with_capacity(acked.len());
    let deadline = tokio::time::Instant::now() + plan.grace;
    while received.len() < acked.len() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((seq, us))) => {
                if received.insert(seq) {
                    lat.record_us(us);
                } else {
                    duplicates += 1;
                }
            }
            _ => break,
        }
    }
    // Anything still queued arrived in time too.
    while let Ok((seq, us)) = rx.try_recv() {
        if received.insert(seq) {
            lat.record_us(us);
        } else {
            duplicates += 1;
        }
    }
    let still_open = sockets.alive.load(Ordering::Relaxed);
    let conn = sockets.describe();
    sockets.close().await;
    let missing = acked.difference(&received).count();
    let unacked_but_pushed = received.difference(&acked).count();
    Ok(json!({
        "config": {
            "sockets": pairs.len(),
            "send_rate_per_sec": plan.rate,
            "warmup_secs": plan.warmup.as_secs_f64(),
            "send_secs": plan.duration.as_secs_f64(),
            "grace_secs": plan.grace.as_secs_f64(),
            "sockets_on": hold.label,
            "sends_to": send.label,
        },
        "connections": conn,
        "settled_in_secs": quiet_after,
        "still_open_at_end": still_open,
        "warmup_sends": warmup,
        "sends": sent,
        "cpu_while_sending": cpu_while_sending,
        "acknowledged": acked.len(),
        "pushed": received.len(),
        "missing": missing,
        "duplicates": duplicates,
        "pushed_without_ack": unacked_but_pushed,
        "latency": lat.summary(),
    }))
}

/// Waits until the server uses under 5 % of a core (at most `max`); returns the
/// seconds waited. Without a pid (an external target) it waits one second.
pub async fn settle(server: &ServerProc, max: Duration) -> f64 {
    let started = Instant::now();
    if server.pid.is_none() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return 1.0;
    }
    let window = Duration::from_millis(250);
    while started.elapsed() < max {
        let Some(a) = server.cpu_secs() else { break };
        tokio::time::sleep(window).await;
        let Some(b) = server.cpu_secs() else { break };
        if (b - a) / window.as_secs_f64() < 0.05 {
            break;
        }
    }
    super::stats::round3(started.elapsed().as_secs_f64())
}

#[derive(Debug, Clone)]
pub struct IdlePlan {
    pub sockets: usize,
    pub settle: Duration,
    pub cpu_window: Duration,
    pub parallel_connects: usize,
}

pub async fn idle(plan: &IdlePlan, server: &ServerProc, pairs: &[Pair]) -> Result<Value, String> {
    let pairs = &pairs[..plan.sockets.min(pairs.len())];
    // Warms the allocator and the socket code paths so the first connection's
    // one-off costs are not charged to every socket.
    let warm = open(
        &server.ws_base(),
        &pairs[..pairs.len().min(16)],
        u64::MAX,
        None,
        16,
    )
    .await;
    warm.close().await;
    tokio::time::sleep(plan.settle).await;
    let before = server.rss_kib().ok_or("cannot read the server's VmRSS")?;
    let sockets = open(
        &server.ws_base(),
        pairs,
        u64::MAX,
        None,
        plan.parallel_connects,
    )
    .await;
    settle(server, Duration::from_secs(15)).await;
    tokio::time::sleep(plan.settle).await;
    let after = server.rss_kib().ok_or("cannot read the server's VmRSS")?;
    let cpu0 = server.cpu_secs();
    let t0 = Instant::now();
    tokio::time::sleep(plan.cpu_window).await;
    let cpu1 = server.cpu_secs();
    let wall = t0.elapsed().as_secs_f64();
    let still_open = sockets.alive.load(Ordering::Relaxed);
    let conn = sockets.describe();
    let opened = sockets.opened;
    sockets.close().await;
    let per_socket =
        (opened > 0).then(|| round1(after.saturating_sub(before) as f64 / opened as f64));
    let cpu_pct = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(round1((b - a) / wall * 100.0)),
        _ => None,
    };
    Ok(json!({
        "config": {
            "sockets": pairs.len(),
            "settle_secs": plan.settle.as_secs_f64(),
            "cpu_window_secs": plan.cpu_window.as_secs_f64(),
        },
        "connections": conn,
        "still_open_at_end": still_open,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_per_socket_kib": per_socket,
        "idle_cpu_percent": cpu_pct,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_markers_round_trip_through_a_frame() {
        let frame = json!({
            "code": 200, "msg": "实时推送",
            "data": {"ret_data": [
                {"msg": push_marker(3, 17, 123456), "info_type": 1},
                {"msg": "bench history 1/2"},
                {"msg": "bench-push 3 x 1"},
                {"info_type": 4, "url": "a.png"}
            ], "data_count": 4}
        });
        assert_eq!(parse_push(&frame.to_string()), vec![(3, 17, 123456)]);
        assert!(parse_push("{\"code\":199}").is_empty());
        assert!(parse_push("not json").is_empty());
    }

    #[test]
    fn warmup_sends_are_never_counted_as_a_measured_round() {
        for round in [1, 2, 17, 1 << 40] {
            let warm = warmup_round(round);
            assert_ne!(warm, round);
            assert_ne!(warmup_round(warm), round);
            let frame = json!({"data": {"ret_data": [{"msg": push_marker(warm, 5, 9)}]}});
            let seen = parse_push(&frame.to_string());
            assert_eq!(seen, vec![(warm, 5, 9)]);
            assert!(seen.iter().all(|(r, _, _)| *r != round));
        }
    }

    #[test]
    fn sends_spread_over_all_sockets() {
        let who = |id| super::super::fixtures::Who {
            id,
            token: String::new(),
        };
        let pairs: Vec<Pair> = (0..10)
            .map(|i| Pair {
                rep: who(1),
                customer: who(i),
            })
            .collect();
        let w = PushSend {
            base: String::new(),
            pairs,
            round: 0,
            acked: Mutex::new(HashSet::new()),
        };
        let hit: HashSet<i64> = (0..10).map(|s| w.target(s).customer.id).collect();
        assert_eq!(hit.len(), 10);
    }
}
