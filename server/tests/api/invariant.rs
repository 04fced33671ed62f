//! The events invariant (after Zulip's `test_events`): clients that start from
//! their socket's initial state and apply every push must end up equal to a
//! fresh REST snapshot, whatever happened in between. A seeded random schedule
//! mixes sends from both sides (REST and socket), reads, disconnects and
//! resumes with `after_id`, on one instance and on two sharing PostgreSQL.
//!
//! Replay a failure with `RADAR_SEED=<seed printed in the panic>`;
//! `RADAR_INVARIANT_STEPS` sets the schedule length (default 80).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::both;
use crate::common::rng::{self, seed, Rng};
use crate::common::*;
use crate::wsutil::*;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

fn steps() -> usize {
    rng::steps("RADAR_INVARIANT_STEPS", 80)
}

/// What a client knows: its initial state plus every push applied.
#[derive(Default, Debug, Clone)]
struct State {
    /// id → (send_type, msg)
    msgs: BTreeMap<i64, (i64, String)>,
    /// The rep's own messages: read by the customer, as the items said.
    own_read: BTreeMap<i64, bool>,
    /// The newest customer read watermark a receipt announced.
    read_up_to: i64,
    num: Option<i64>,
    page: Option<Value>,
}

impl State {
    fn apply(&mut self, v: &Value) {
        let msg = v["msg"].as_str().unwrap_or("");
        if msg.starts_with("实时推送") {
            for it in v["data"]["ret_data"].as_array().into_iter().flatten() {
                let id = it["id"].as_i64().unwrap_or(0);
                let st = it["send_type"].as_i64().unwrap_or(0);
                self.msgs
                    .insert(id, (st, it["msg"].as_str().unwrap_or("").to_owned()));
                if let Some(r) = it["is_customer_already_read"].as_i64() {
                    if st == 1 {
                        *self.own_read.entry(id).or_insert(false) |= r == 1;
                    }
                }
            }
        } else if v["code"] == 202 {
            self.read_up_to = self
                .read_up_to
                .max(v["data"]["last_read_id"].as_i64().unwrap_or(0));
        } else if let Some(n) = v["msg_data"]["unread_msg_num"].as_i64() {
            self.num = Some(n);
        } else if msg == "注册成功返回【消息数量】成功" || msg == "实时获取雷达【消息数量】成功"
        {
            if v["data"].get("ret_data").is_some() {
                self.page = Some(v["data"].clone());
            } else if let Some(n) = v["data"]["unread_msg_num"].as_i64() {
                self.num = Some(n);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    CustomerChat,
    CustomerNum,
    RepChat,
    RepBadge,
    RepList,
}

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

struct Client {
    kind: Kind,
    who: Who,
    /// The other party of the conversation (u_id, or customer_id), 0 for per-rep feeds.
    peer: i64,
    state: Arc<Mutex<State>>,
    conn: Option<(
        Sink,
        tokio::task::JoinHandle<()>,
        mpsc::UnboundedReceiver<Value>,
    )>,
    seed: u64,
}

impl Client {
    fn new(kind: Kind, who: &Who, peer: i64, seed: u64) -> Client {
        Client {
            kind,
            who: who.clone(),
            peer,
            state: Arc::default(),
            conn: None,
            seed,
        }
    }

    fn path(&self) -> &'static str {
        match self.kind {
            Kind::CustomerChat => C_CHAT,
            Kind::CustomerNum => C_NUM_WS,
            Kind::RepChat => S_CHAT,
            Kind::RepBadge => S_BADGE,
            Kind::RepList => S_LIST,
        }
    }

    fn connected(&self) -> bool {
        self.conn.is_some()
    }

    fn last_id(&self) -> i64 {
        self.state
            .lock()
            .unwrap()
            .msgs
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
    }

    async fn connect(&mut self, base: &str) {
        let ws = connect(&ws_url(base, self.path(), &self.who)).await;
        let (sink, mut stream) = ws.s.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let state = self.state.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                if let Message::Text(t) = m {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    state.lock().unwrap().apply(&v);
                    if !v["msg"].as_str().is_some_and(|s| s.starts_with("实时")) {
                        let _ = tx.send(v);
                    }
                }
            }
        });
        self.conn = Some((sink, reader, rx));
        self.register().await;
    }

    /// Registers; chat sockets resume after the newest message they hold.
    async fn register(&mut self) {
        let frame = match self.kind {
            Kind::CustomerChat => {
                json!({"type": "register", "u_id": self.peer, "after_id": self.last_id()})
            }
            Kind::CustomerNum => json!({"type": "register", "u_id": self.peer}),
            Kind::RepChat => {
                json!({"type": "register", "customer_id": self.peer, "after_id": self.last_id()})
            }
            Kind::RepBadge | Kind::RepList => json!({"type": "register"}),
        };
        self.send(frame).await;
        self.reply(|v| {
            v["code"] == 199 || v["msg"] == "获取成功" || v["msg"] == "注册成功返回【消息数量】成功"
        })
        .await;
    }

    async fn send(&mut self, v: Value) {
        let seed = self.seed;
        let (sink, _, _) = self.conn.as_mut().expect("connected");
        sink.send(Message::Text(v.to_string().into()))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: send: {e}"));
    }

    async fn reply(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let seed = self.seed;
        let (_, _, rx) = self.conn.as_mut().expect("connected");
        loop {
            let v = tokio::time::timeout(FRAME_WAIT, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("seed {seed}: no reply"))
                .unwrap_or_else(|| panic!("seed {seed}: socket ended"));
            if pred(&v) {
                return v;
            }
            let code = v["code"].as_i64().unwrap_or(0);
            assert!(code < 300 || code == 270, "seed {seed}: error frame {v}");
        }
    }

    async fn disconnect(&mut self) {
        if let Some((mut sink, reader, _)) = self.conn.take() {
            let _ = sink.close().await;
            reader.abort();
        }
    }
}

struct World {
    bases: Vec<String>,
    rests: Vec<Rest>,
    reps: Vec<Who>,
    /// (rep index, customer)
    pairs: Vec<(usize, Who)>,
    c_chat: Vec<Client>,
    c_num: Vec<Client>,
    r_chat: Vec<Client>,
    r_badge: Vec<Client>,
    r_list: Vec<Client>,
}

const CONTACT_PAGE: &str = "current_page=1&length=10";

impl World {
    async fn new(st: &radar::AppState, bases: Vec<String>, seed: u64) -> World {
        let company = radar::service::admin::create_company(st, "公司")
            .await
            .unwrap();
        let reps = vec![
            new_user(st, company, "销售一").await,
            new_user(st, company, "销售二").await,
        ];
        let k1 = new_customer(st, company, "客户一").await;
        let k2 = new_customer(st, company, "客户二").await;
        let pairs = vec![(0, k1.clone()), (0, k2.clone()), (1, k1)];
        for (r, k) in &pairs {
            relate(st, &reps[*r], k).await;
        }
        let mut w = World {
            rests: bases.iter().map(|b| Rest::new(b)).collect(),
            bases,
            c_chat: pairs
                .iter()
                .map(|(r, k)| Client::new(Kind::CustomerChat, k, reps[*r].id, seed))
                .collect(),
            c_num: pairs
                .iter()
                .map(|(r, k)| Client::new(Kind::CustomerNum, k, reps[*r].id, seed))
                .collect(),
            r_chat: pairs
                .iter()
                .map(|(r, k)| Client::new(Kind::RepChat, &reps[*r], k.id, seed))
                .collect(),
            r_badge: reps
                .iter()
                .map(|u| Client::new(Kind::RepBadge, u, 0, seed))
                .collect(),
            r_list: reps
                .iter()
                .map(|u| Client::new(Kind::RepList, u, 0, seed))
                .collect(),
            reps,
            pairs,
        };
        let bases = w.bases.clone();
        let mut rng = Rng(seed);
        for c in w
            .c_chat
            .iter_mut()
            .chain(&mut w.c_num)
            .chain(&mut w.r_chat)
            .chain(&mut w.r_badge)
            .chain(&mut w.r_list)
        {
            c.connect(&bases[rng.below(bases.len())]).await;
        }
        w
    }

    async fn run(&mut self, rng: &mut Rng, steps: usize) {
        for step in 0..steps {
            let pi = rng.below(self.pairs.len());
            let (ri, k) = self.pairs[pi].clone();
            let u = self.reps[ri].clone();
            let rest = self.rests[rng.below(self.rests.len())].clone();
            let base = self.bases[rng.below(self.bases.len())].clone();
            match rng.below(11) {
                0 | 1 => {
                    rest.customer_says(&k, &u, &format!("客户{step}")).await;
                }
                2 | 3 => {
                    rest.rep_says(&u, &k, &format!("销售{step}")).await;
                }
                4 if self.c_chat[pi].connected() => {
                    let c = &mut self.c_chat[pi];
                    c.send(json!({"content": text(&format!("套接字{step}")), "client_msg_id": format!("s{step}")})).await;
                    c.reply(|v| v["msg"] == "小程序消息-发送成功").await;
                }
                4 | 5 => {
                    rest.get(C_GET, &k, &format!("u_id={}", u.id)).await;
                }
                6 => {
                    rest.get(S_GET, &u, &format!("customer_id={}", k.id)).await;
                }
                7 => {
                    let c = &mut self.c_chat[pi];
                    if c.connected() {
                        c.disconnect().await
                    } else {
                        c.connect(&base).await
                    }
                }
                8 => {
                    let c = &mut self.r_chat[pi];
                    if c.connected() {
                        c.disconnect().await
                    } else {
                        c.connect(&base).await
                    }
                }
                9 if self.c_chat[pi].connected() => {
                    let c = &mut self.c_chat[pi];
                    c.send(json!({"type": "query_num"})).await;
                    c.reply(|v| v["msg"] == "查询成功-获取聊天数量").await;
                }
                10 if self.c_chat[pi].connected() => self.c_chat[pi].register().await,
                _ => {
                    rest.get(C_NUM, &k, &format!("u_id={}", u.id)).await;
                }
            }
        }
        for (i, c) in self.c_chat.iter_mut().chain(&mut self.r_chat).enumerate() {
            if !c.connected() {
                c.connect(&self.bases[i % self.bases.len()]).await;
            }
        }
    }

    /// Counts and contact lists (REST reads that change nothing).
    async fn diff_counts(&self) -> Vec<String> {
        let rest = &self.rests[0];
        let mut diffs = Vec::new();
        for (i, (ri, k)) in self.pairs.iter().enumerate() {
            let u = &self.reps[*ri];
            let want = rest.get(C_NUM, k, &format!("u_id={}", u.id)).await["data"]
                ["chatinfo_count"]
                .as_i64();
            let got = self.c_num[i].state.lock().unwrap().num;
            if got != want {
                diffs.push(format!(
                    "customer {} / rep {}: unread {got:?}, REST {want:?}",
                    k.id, u.id
                ));
            }
        }
        for (ri, u) in self.reps.iter().enumerate() {
            let want = rest.get(S_BADGE_REST, u, "").await["data"]["chatinfo_count"].as_i64();
            let got = self.r_badge[ri].state.lock().unwrap().num;
            if got != want {
                diffs.push(format!("rep {} badge {got:?}, REST {want:?}", u.id));
            }
            let snap = rest.get(S_CONTACT, u, CONTACT_PAGE).await["data"].clone();
            let page = self.r_list[ri]
                .state
                .lock()
                .unwrap()
                .page
                .clone()
                .unwrap_or(Value::Null);
            let summary = |d: &Value| {
                let entries: Vec<Value> = d["ret_data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| json!([e["customer_id"], e["count"], e["last_msg_id"], e["msg"]]))
                    .collect();
                json!({"entries": entries, "unread": d["unread_msg_num"], "total": d["data_count"]})
            };
            if summary(&page) != summary(&snap) {
                diffs.push(format!(
                    "rep {} contact list {} vs REST {}",
                    u.id,
                    summary(&page),
                    summary(&snap)
                ));
            }
        }
        diffs
    }

    /// Every message of a pair through a history endpoint, oldest first.
    async fn history(&self, path: &str, who: &Who, pair_q: &str) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        loop {
            let after = out.last().and_then(|v| v["id"].as_i64()).unwrap_or(0);
            let r = self.rests[0]
                .get(path, who, &format!("{pair_q}&after_id={after}&length=100"))
                .await;
            let items = r["data"]["ret_data"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            out.extend(items);
            if n < 100 {
                return out;
            }
        }
    }

    /// The rep's conversations: messages and the customer's read state.
    async fn diff_rep_chats(&self) -> Vec<String> {
        let mut diffs = Vec::new();
        for (i, (ri, k)) in self.pairs.iter().enumerate() {
            let u = &self.reps[*ri];
            let snap = self
                .history(S_HIST, u, &format!("customer_id={}", k.id))
                .await;
            let st = self.r_chat[i].state.lock().unwrap().clone();
            let want: BTreeMap<i64, (i64, String)> = snap
                .iter()
                .map(|v| {
                    (
                        v["id"].as_i64().unwrap(),
                        (
                            v["send_type"].as_i64().unwrap(),
                            v["msg"].as_str().unwrap_or("").to_owned(),
                        ),
                    )
                })
                .collect();
            if st.msgs != want {
                diffs.push(format!(
                    "rep {} / customer {}: messages {:?} vs REST {:?}",
                    u.id, k.id, st.msgs, want
                ));
            }
            for v in &snap {
                if v["send_type"] != 1 {
                    continue;
                }
                let id = v["id"].as_i64().unwrap();
                let want = v["is_customer_already_read"] == 1;
                let got = st.own_read.get(&id).copied().unwrap_or(false) || id <= st.read_up_to;
                if got != want {
                    diffs.push(format!(
                        "rep {} / customer {}: message {id} read {got}, REST {want}",
                        u.id, k.id
                    ));
                }
            }
        }
        diffs
    }

    async fn diff_customer_chats(&self) -> Vec<String> {
        let mut diffs = Vec::new();
        for (i, (ri, k)) in self.pairs.iter().enumerate() {
            let u = &self.reps[*ri];
            let snap = self.history(C_HIST, k, &format!("u_id={}", u.id)).await;
            let want: BTreeMap<i64, (i64, String)> = snap
                .iter()
                .map(|v| {
                    (
                        v["id"].as_i64().unwrap(),
                        (
                            v["send_type"].as_i64().unwrap(),
                            v["msg"].as_str().unwrap_or("").to_owned(),
                        ),
                    )
                })
                .collect();
            let got = self.c_chat[i].state.lock().unwrap().msgs.clone();
            if got != want {
                diffs.push(format!(
                    "customer {} / rep {}: messages {got:?} vs REST {want:?}",
                    k.id, u.id
                ));
            }
        }
        diffs
    }
}

/// Polls until `check` finds no difference; fails with the seed and the diff
/// if it never converges (a hang guard, not a timing assertion).
macro_rules! converges {
    ($seed:expr, $what:expr, $check:expr) => {{
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let diffs = $check;
            if diffs.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "seed {} ({}): client state differs from REST:\n{}",
                $seed,
                $what,
                diffs.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

async fn check(w: &mut World, seed: u64) {
    converges!(seed, "counts", w.diff_counts().await);
    // Reading the rep's history marks the customers' messages read by the rep…
    converges!(seed, "rep chats", w.diff_rep_chats().await);
    // …and the customer's history marks the rep's messages read by the customer.
    converges!(seed, "customer chats", w.diff_customer_chats().await);
    // Both reads must have reached every client as counts going down.
    converges!(seed, "counts after reads", w.diff_counts().await);
    converges!(seed, "read receipts after reads", w.diff_rep_chats().await);
}

async fn one_instance(b: Backend) {
    let seed = seed();
    eprintln!("invariant seed {seed} (replay with RADAR_SEED={seed})");
    // Random writes as fast as they are answered: no write budget.
    let app = spawn_with(b, |c| c.write_rate = 0.0).await;
    let mut w = World::new(&app.st, vec![app.base.clone()], seed).await;
    let mut rng = Rng(seed);
    w.run(&mut rng, steps()).await;
    check(&mut w, seed).await;
}

both!(one_instance);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances() {
    let seed = seed();
    eprintln!("invariant seed {seed} (replay with RADAR_SEED={seed})");
    let app = spawn_with(Backend::Postgres, |c| c.write_rate = 0.0).await;
    let other = spawn_server(&app.db.url, &[("RADAR_WRITE_RATE", "0")]).await;
    let mut w = World::new(&app.st, vec![app.base.clone(), other.base.clone()], seed).await;
    let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
    w.run(&mut rng, steps()).await;
    check(&mut w, seed).await;
    drop(other);
}
