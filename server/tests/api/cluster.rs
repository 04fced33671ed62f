//! Real `radar serve` processes: two instances on one PostgreSQL database
//! delivering each other's events, listener reconnects, SIGTERM, dead clients.

use crate::both;
use crate::common::*;
use crate::wsutil::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

struct Cluster {
    // Field order is drop order: processes first, then the database.
    a: Server,
    b: Server,
    st: radar::AppState,
    u: Who,
    k: Who,
    k2: Who,
    db: TestDb,
}

async fn cluster() -> Cluster {
    cluster_with(&[]).await
}

async fn cluster_with(envs: &[(&str, &str)]) -> Cluster {
    let db = TestDb::new(Backend::Postgres).await;
    let st = seed_state(&db.url).await;
    let c = radar::service::admin::create_company(&st, "公司")
        .await
        .expect("company");
    let u = new_user(&st, c, "销售").await;
    let k = new_customer(&st, c, "客户").await;
    let k2 = new_customer(&st, c, "客户二").await;
    relate(&st, &u, &k).await;
    relate(&st, &u, &k2).await;
    let a = spawn_server(&db.url, envs).await;
    let b = spawn_server(&db.url, envs).await;
    Cluster {
        a,
        b,
        st,
        u,
        k,
        k2,
        db,
    }
}

async fn register(base: &str, path: &str, who: &Who, frame: serde_json::Value) -> Ws {
    let mut ws = connect(&ws_url(base, path, who)).await;
    ws.send(frame).await;
    let r = ws.next().await;
    assert!(r["code"] == 199 || r["code"] == 200, "{r}");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_cross_instances() {
    let cl = cluster().await;
    let (ra, rb) = (Rest::new(&cl.a.base), Rest::new(&cl.b.base));
    let (u, k, k2) = (&cl.u, &cl.k, &cl.k2);
    let mut customer_on_a = register(
        &cl.a.base,
        C_CHAT,
        k,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    let mut rep_on_b = register(
        &cl.b.base,
        S_CHAT,
        u,
        json!({"type": "register", "customer_id": k.id}),
    )
    .await;
    let mut count_k2_on_a = register(
        &cl.a.base,
        C_NUM_WS,
        k2,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    let mut badge_on_b = register(&cl.b.base, S_BADGE, u, json!({"type": "register"})).await;

    // The rep writes through B: the customer's socket on A has it.
    let m1 = rb.rep_says(u, k, "从B发出").await;
    assert_eq!(ids(&customer_on_a.next().await), vec![m1]);
    // Its echo on the rep's own socket, then the read receipt from A's input-mode socket.
    assert_eq!(ids(&rep_on_b.next().await), vec![m1]);
    let r = rep_on_b.next().await;
    assert_eq!(r["code"], 202, "{r}");
    assert_eq!(r["data"]["last_read_id"], m1);

    // The customer writes over its socket on A: the rep's socket on B has it.
    customer_on_a
        .send(json!({"content": text("从A发出")}))
        .await;
    let ack = customer_on_a.next().await;
    assert_eq!(ack["msg"], "小程序消息-发送成功");
    let m2 = ack["data"]["id"].as_i64().unwrap();
    assert_eq!(ids(&rep_on_b.next().await), vec![m2]);
    assert_eq!(ids(&customer_on_a.next().await), vec![m2]);

    // Counts across instances: up and down.
    let m3 = rb.rep_says(u, k2, "给客户二").await;
    assert_eq!(count_k2_on_a.next().await["msg_data"]["unread_msg_num"], 1);
    ra.get(C_GET, k2, &format!("u_id={}", u.id)).await;
    assert_eq!(count_k2_on_a.next().await["msg_data"]["unread_msg_num"], 0);
    assert!(m3 > m2);
    ra.customer_says(k2, u, "客户二说").await;
    assert_eq!(badge_on_b.next().await["data"]["unread_msg_num"], 1);
    rb.get(S_GET, u, &format!("customer_id={}", k2.id)).await;
    assert_eq!(badge_on_b.next().await["data"]["unread_msg_num"], 0);

    // A resume on the other instance loses nothing.
    customer_on_a.close().await;
    let m4 = ra.rep_says(u, k, "离线时").await;
    let m5 = rb.customer_says(k, u, "另一台设备").await;
    let mut resumed = register(
        &cl.b.base,
        C_CHAT,
        k,
        json!({"type": "register", "u_id": u.id, "after_id": m2}),
    )
    .await;
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(ids(&resumed.next().await));
    }
    assert_eq!(got, vec![m4, m5]);
    drop(cl.st);
}

/// A burst of sends on B reaches a socket on A whole, in id order: B's
/// notifier packs waiting events into few NOTIFYs (each under PostgreSQL's
/// payload limit), and none may be dropped or reordered on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_crosses_whole_and_in_order() {
    let cl = cluster_with(&[("RADAR_WRITE_RATE", "0")]).await;
    let rb = Rest::new(&cl.b.base);
    let (u, k) = (&cl.u, &cl.k);
    let mut customer_on_a = register(
        &cl.a.base,
        C_CHAT,
        k,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    const BURST: usize = 150;
    let sends = (0..BURST).map(|i| {
        let rb = &rb;
        async move { rb.rep_says(u, k, &format!("突发{i}")).await }
    });
    let mut sent = futures_util::future::join_all(sends).await;
    sent.sort_unstable();
    let mut got = Vec::new();
    while got.len() < BURST {
        let f = customer_on_a.next().await;
        assert_eq!(f["code"], 200, "{f}");
        got.extend(ids(&f));
    }
    assert_eq!(got, sent, "every message once, in id order");
    assert!(customer_on_a.lived().await.is_empty());

    let page = reqwest::get(format!("{}/metrics", cl.b.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = crate::ops::parse_metrics(&page);
    let notifies = crate::ops::value(
        &samples,
        "radar_bus_notifications_total",
        &[("result", "ok")],
    )
    .unwrap_or(0.0);
    let created = crate::ops::value(
        &samples,
        "radar_bus_events_total",
        &[("kind", "message_created")],
    )
    .unwrap_or(0.0);
    // Commits announce themselves (`Touched`) too; one that goes alone
    // (its message came later than the notifier looked) is an event of its own.
    let touched = crate::ops::value(&samples, "radar_bus_events_total", &[("kind", "touched")])
        .unwrap_or(0.0);
    assert!(created >= BURST as f64, "{created}");
    assert!(
        (1.0..=created + touched).contains(&notifies),
        "{notifies} NOTIFYs for {created} messages and {touched} commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_loss_is_repaired() {
    let cl = cluster().await;
    let ra = Rest::new(&cl.a.base);
    let (u, k) = (&cl.u, &cl.k);
    let mut customer_on_b = register(
        &cl.b.base,
        C_CHAT,
        k,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    let m1 = ra.rep_says(u, k, "之前").await;
    assert_eq!(ids(&customer_on_b.next().await), vec![m1]);
    // Let the socket settle (its own read marking wakes it once more).
    assert!(customer_on_b.lived().await.is_empty());

    // A message whose notification is lost: stored without any event, as if
    // its NOTIFY had been sent while B was not listening. Then B's bus
    // connections are killed; only the resync after B reconnects can deliver it.
    let m2: i64 = sqlx::query_scalar(
        "INSERT INTO chat_message (user_id, customer_id, send_type, content, create_date)
         VALUES ($1, $2, 1, $3, $4) RETURNING id",
    )
    .bind(u.id)
    .bind(k.id)
    .bind(text("断线时"))
    .bind(now_ms())
    .fetch_one(&cl.st.db.pool)
    .await
    .unwrap();
    let dbname = cl.db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&pg_admin_url())
        .await
        .unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND datname = $2) t",
    )
    .bind(format!("{}-{}", radar::bus::PG_APPLICATION_NAME, cl.b.pid()))
    .bind(&dbname)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(killed >= 1, "B's bus connections: {killed}");
    assert_eq!(ids(&customer_on_b.next().await), vec![m2]);
    // And live delivery continues on the new connection.
    let m3 = ra.rep_says(u, k, "之后").await;
    assert_eq!(ids(&customer_on_b.next().await), vec![m3]);
    assert!(customer_on_b.lived().await.is_empty());
}

async fn sigterm_closes_sockets_and_keeps_acknowledged(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let c = radar::service::admin::create_company(&st, "公司")
        .await
        .unwrap();
    let u = new_user(&st, c, "销售").await;
    let k = new_customer(&st, c, "客户").await;
    relate(&st, &u, &k).await;
    let mut server = spawn_server(&db.url, &[]).await;
    let mut ws = register(
        &server.base,
        C_CHAT,
        &k,
        json!({"type": "register", "u_id": u.id}),
    )
    .await;
    let mut rep = register(&server.base, S_BADGE, &u, json!({"type": "register"})).await;
    ws.send(json!({"content": text("关机前")})).await;
    let ack = ws.next().await;
    assert_eq!(ack["msg"], "小程序消息-发送成功");
    let id = ack["data"]["id"].as_i64().unwrap();

    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    // Every socket gets a Close frame ("going away"), after any pending push.
    let mut frames = Vec::new();
    let code = loop {
        match ws.next_or_end().await {
            Ok(v) => frames.push(v),
            Err(End::Closed(c)) => break c,
            Err(End::Gone) => break None,
        }
    };
    assert_eq!(code, Some(1001), "frames before close: {frames:?}");
    let code = loop {
        match rep.next_or_end().await {
            Ok(_) => continue,
            Err(End::Closed(c)) => break c,
            Err(End::Gone) => break None,
        }
    };
    assert_eq!(code, Some(1001));
    let exit = tokio::time::timeout(FRAME_WAIT, server.child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    // What was acknowledged is stored.
    let n: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message WHERE id = $1")
            .bind(id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(n, 1);
}

/// A client that never answers pings is reaped; one that does stays.
async fn dead_clients_are_reaped(b: Backend) {
    let db = TestDb::new(b).await;
    let st = seed_state(&db.url).await;
    let c = radar::service::admin::create_company(&st, "公司")
        .await
        .unwrap();
    let u = new_user(&st, c, "销售").await;
    let server = spawn_server(&db.url, &[("RADAR_WS_PING_SECS", "1")]).await;

    // A live client: tungstenite answers pings while we read.
    let mut alive = register(&server.base, S_BADGE, &u, json!({"type": "register"})).await;
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(FRAME_WAIT, futures_util::StreamExt::next(&mut alive.s))
            .await
            .expect("frame")
        {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(c))) => panic!("a live client was closed: {c:?}"),
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    assert!(alive.lived().await.is_empty());

    // A dead one: a raw connection that upgrades, then never answers.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let path = format!(
        "{}?{}",
        S_BADGE,
        app::sign::signed_query(u.id, &u.token, now_ms())
    );
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let all = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(all.is_ok(), "the dead client was never reaped");
    let head_end = seen
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("upgrade response")
        + 4;
    assert!(seen.starts_with(b"HTTP/1.1 101"));
    // Walk the (unmasked, short) server frames: pings, then a Close 1001.
    let mut i = head_end;
    let mut opcodes = Vec::new();
    let mut close_code = None;
    while i + 2 <= seen.len() {
        let op = seen[i] & 0x0f;
        let len = (seen[i + 1] & 0x7f) as usize;
        let body = &seen[i + 2..(i + 2 + len).min(seen.len())];
        if op == 0x8 && body.len() >= 2 {
            close_code = Some(u16::from_be_bytes([body[0], body[1]]));
        }
        opcodes.push(op);
        i += 2 + len;
    }
    assert!(opcodes.contains(&0x9), "pinged: {opcodes:?}");
    assert_eq!(close_code, Some(1001), "{opcodes:?}");
    drop(st);
}

both!(
    sigterm_closes_sockets_and_keeps_acknowledged,
    dead_clients_are_reaped
);
