//! What the outbox workers (`notify`, `webhook`) share: the wake-up a commit
//! gives them, and the pace of their rounds — the next row's due time while
//! the outbox answers, a doubling back-off while it does not.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Wakes an instance's worker when a row was queued.
#[derive(Debug, Clone, Default)]
pub struct Kick(Arc<Notify>);

impl Kick {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await
    }
}

/// How a round changed the worker's view of the outbox (the caller logs it,
/// under its own target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Unchanged,
    /// The first failure after a success.
    Lost,
    /// The first success after a failure.
    Regained,
}

/// The pause between rounds of one worker.
#[derive(Debug)]
pub struct Pace {
    poll: Duration,
    min: Duration,
    max: Duration,
    backoff: Duration,
    failing: bool,
}

impl Pace {
    /// Rounds at most `poll` apart while the outbox answers; after a failure,
    /// `min` doubling up to `max`.
    pub fn new(poll: Duration, min: Duration, max: Duration) -> Pace {
        Pace {
            poll,
            min,
            max,
            backoff: min,
            failing: false,
        }
    }

    /// The pause after a round that answered `next` (the next row's due time,
    /// ms) at `now_ms`, or failed.
    pub fn after<E>(&mut self, now_ms: i64, round: &Result<Option<i64>, E>) -> (Duration, Turn) {
        match round {
            Ok(next) => {
                let turn = if self.failing {
                    Turn::Regained
                } else {
                    Turn::Unchanged
                };
                self.failing = false;
                self.backoff = self.min;
                let wait = next.map(|due| due - now_ms).unwrap_or(i64::MAX);
                let ms = wait.clamp(0, self.poll.as_millis() as i64) as u64;
                (Duration::from_millis(ms), turn)
            }
            Err(_) => {
                let turn = if self.failing {
                    Turn::Unchanged
                } else {
                    Turn::Lost
                };
                self.failing = true;
                let pause = self.backoff;
                self.backoff = (self.backoff * 2).min(self.max);
                (pause, turn)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_follows_due_times_and_backs_off() {
        let ms = Duration::from_millis;
        let mut p = Pace::new(ms(2000), ms(200), ms(700));
        let ok = |n: Option<i64>| Ok::<_, ()>(n);
        assert_eq!(p.after(1000, &ok(Some(1500))), (ms(500), Turn::Unchanged));
        assert_eq!(p.after(1000, &ok(Some(900))), (ms(0), Turn::Unchanged));
        assert_eq!(p.after(1000, &ok(None)), (ms(2000), Turn::Unchanged));
        assert_eq!(p.after(0, &Err(())), (ms(200), Turn::Lost));
        assert_eq!(p.after(0, &Err(())), (ms(400), Turn::Unchanged));
        assert_eq!(p.after(0, &Err(())), (ms(700), Turn::Unchanged));
        assert_eq!(p.after(0, &Err(())), (ms(700), Turn::Unchanged));
        assert_eq!(p.after(0, &ok(None)), (ms(2000), Turn::Regained));
        assert_eq!(p.after(0, &Err(())), (ms(200), Turn::Lost));
    }
}
