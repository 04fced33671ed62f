//! The server's notion of "now". Tests shift it to cross day boundaries.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        sys + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the clock so that `now_ms()` returns about `target_ms`.
    pub fn set_now_ms(&self, target_ms: i64) {
        let sys = self.now_ms() - self.offset_ms.load(Ordering::Relaxed);
        self.offset_ms.store(target_ms - sys, Ordering::Relaxed);
    }

    pub fn advance_ms(&self, delta: i64) {
        self.offset_ms.fetch_add(delta, Ordering::Relaxed);
    }
}
