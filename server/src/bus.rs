//! Real-time events, published after commit. Events carry ids only: a subscriber
//! reads what it needs from the database, so a missed or duplicated event is
//! repaired by the next read ("resync"), never by trusting the event payload.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Event {
    /// A chat message was stored.
    MessageCreated {
        id: i64,
        user_id: i64,
        customer_id: i64,
        send_type: i64,
    },
    /// The customer read the pair's messages up to `up_to_id`.
    CustomerRead {
        user_id: i64,
        customer_id: i64,
        up_to_id: i64,
    },
    /// The sales user read the pair's messages up to `up_to_id`.
    SalesRead {
        user_id: i64,
        customer_id: i64,
        up_to_id: i64,
    },
    /// A customer action was logged, or the relation's CRM fields changed.
    ContactChanged { user_id: i64, customer_id: i64 },
    /// Subscribers may have missed events (lag, lost listener): re-read everything.
    Resync,
}

#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(4096);
        Bus { tx }
    }

    /// Never blocks and never fails: with no subscriber the event is simply dropped.
    pub fn publish(&self, ev: Event) {
        let _ = self.tx.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
