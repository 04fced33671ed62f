//! Fixtures, created through the service layer before any server starts, and
//! the direct database check that every acknowledged message was stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use app::domain::MessageContent;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use radar::config::Config;
use radar::error::Error;
use radar::service::admin::{self, NewCustomer, NewUser};
use radar::service::chat::{self, Outgoing};
use radar::AppState;

/// A signed party: id and token.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: i64,
    pub token: String,
}

/// A rep and a related customer.
#[derive(Debug, Clone)]
pub struct Pair {
    pub rep: Who,
    pub customer: Who,
}

pub struct Fixtures {
    /// Conversations with history, used by the REST scenarios.
    pub rest_pairs: Vec<Pair>,
    /// Conversations without history, one per socket of the socket scenarios.
    pub socket_pairs: Vec<Pair>,
    pub created_in_secs: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub reps: usize,
    pub rest_pairs: usize,
    pub history_per_pair: usize,
    pub socket_pairs: usize,
}

/// Connects to (and migrates) the database as the server will see it.
pub async fn connect(database_url: &str) -> Result<AppState, String> {
    let mut config = Config::from_env()?;
    config.database_url = database_url.to_owned();
    config.db_max_connections = 16;
    AppState::start(config).await
}

fn describe(e: Error) -> String {
    format!("fixture creation failed: {e}")
}

fn text(msg: &str) -> Outgoing {
    Outgoing {
        content: MessageContent::text(msg),
        client_msg_id: None,
        article_id: None,
    }
}

pub async fn create(st: &AppState, sizes: Sizes) -> Result<Fixtures, String> {
    let started = Instant::now();
    // SQLite serialises writers anyway; PostgreSQL commits concurrent inserts in groups.
    let parallel = match st.db.backend {
        radar::db::Backend::Sqlite => 1,
        radar::db::Backend::Postgres => 12,
    };
    let company = admin::create_company(st, "Radar bench")
        .await
        .map_err(describe)?;
    let mut reps = Vec::with_capacity(sizes.reps);
    for i in 0..sizes.reps.max(1) {
        let (id, token) = admin::create_user(
            st,
            NewUser {
                company_id: company,
                name: &format!("bench rep {i}"),
                avatar: None,
                phone: None,
                wechat: None,
            },
        )
        .await
        .map_err(describe)?;
        reps.push(Who { id, token });
    }
    let reps = Arc::new(reps);
    let total = sizes.rest_pairs + sizes.socket_pairs;
    let pairs: Vec<Pair> = stream::iter(0..total)
        .map(|i| {
            let reps = reps.clone();
            async move {
                let (id, token) = admin::create_customer(
                    st,
                    NewCustomer {
                        name: &format!("bench customer {i}"),
                        company_id: company,
                        headimgurl: None,
                        user_type: 1,
                    },
                )
                .await?;
                let rep = reps[i % reps.len()].clone();
                admin::create_relation(st, rep.id, id, 1).await?;
                Ok::<_, Error>(Pair {
                    rep,
                    customer: Who { id, token },
                })
            }
        })
        .buffered(parallel)
        .try_collect()
        .await
        .map_err(describe)?;
    let (rest, socket) = pairs.split_at(sizes.rest_pairs);
    let history = sizes.history_per_pair;
    stream::iter(rest.iter().enumerate())
        .map(|(i, p)| async move {
            for n in 0..history {
                let body = text(&format!("bench history {i}/{n}"));
                if n % 2 == 0 {
                    chat::customer_send(st, p.customer.id, p.rep.id, &body).await?;
                } else {
                    chat::sales_send(st, p.rep.id, p.customer.id, &body).await?;
                }
            }
            Ok::<_, Error>(())
        })
        .buffer_unordered(parallel)
        .try_collect::<Vec<()>>()
        .await
        .map_err(describe)?;
    Ok(Fixtures {
        rest_pairs: rest.to_vec(),
        socket_pairs: socket.to_vec(),
        created_in_secs: started.elapsed().as_secs_f64(),
    })
}

/// What an acknowledged send told us: the id the server answered and the unique
/// text we sent.
#[derive(Debug, Clone)]
pub struct Ack {
    pub id: i64,
    pub marker: String,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Verified {
    pub acknowledged: u64,
    pub found: u64,
    /// Acknowledged but absent (or stored with other content).
    pub missing: u64,
    /// Two acknowledgements naming the same id for different sends.
    pub duplicate_ids: u64,
}

/// A stored message, as the check reads it back.
#[derive(sqlx::FromRow)]
struct StoredMessage {
    id: i64,
    content: String,
}

/// Reads every acknowledged id back from the database and checks its content.
pub async fn verify_acks(st: &AppState, acks: &[Ack]) -> Result<Verified, String> {
    let mut v = Verified {
        acknowledged: acks.len() as u64,
        ..Verified::default()
    };
    let mut by_id: HashMap<i64, &str> = HashMap::with_capacity(acks.len());
    for a in acks {
        if by_id.insert(a.id, &a.marker).is_some() {
            v.duplicate_ids += 1;
        }
    }
    let mut ids: Vec<i64> = by_id.keys().copied().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, content FROM chat_message WHERE id IN ({})",
            radar::db::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, StoredMessage>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        let rows = q
            .fetch_all(&st.db.pool)
            .await
            .map_err(|e| format!("verification query failed: {e}"))?;
        for r in &rows {
            if by_id.get(&r.id).is_some_and(|m| content_has(&r.content, m)) {
                v.found += 1;
            }
        }
    }
    v.missing = v.acknowledged - v.found.min(v.acknowledged);
    Ok(v)
}

/// True when the stored content's `msg` is exactly `marker`.
fn content_has(content: &str, marker: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(content)
        .ok()
        .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(|m| m == marker))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_marker_must_match_exactly() {
        let c = r#"{"info_type":1,"msg":"bench-write 12"}"#;
        assert!(content_has(c, "bench-write 12"));
        assert!(!content_has(c, "bench-write 1"));
        assert!(!content_has("not json", "bench-write 12"));
    }
}
