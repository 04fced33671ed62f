//! The per-principal write budget (contract §6 "Write rate"): one token bucket
//! per authenticated customer or sales user, shared by REST writes (every POST,
//! charged in the auth extractors) and socket sends (charged in the send path).
//!
//! The budget is per instance: several instances on one PostgreSQL database
//! each grant the full budget. Memory stays bounded without a background task:
//! a bucket that has refilled to `burst` is the same as no bucket, so such
//! buckets are dropped by a sweep that runs at most once per refill period;
//! only principals that wrote within the last `burst / rate` seconds are held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;
use app::api::Side;

#[derive(Clone, Default)]
pub struct WriteLimiter(Option<Arc<Inner>>);

struct Inner {
    burst: f64,
    rate: f64,
    /// Time an empty bucket takes to refill; also the sweep period.
    refill: Duration,
    state: Mutex<State>,
}

struct State {
    buckets: HashMap<(Side, i64), Bucket>,
    last_sweep: Instant,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn level(&self, now: Instant, burst: f64, rate: f64) -> f64 {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + dt * rate).min(burst)
    }
}

impl WriteLimiter {
    /// `rate` writes per second refill a budget of `burst`; a rate of 0 (or
    /// not a positive finite number) turns the limit off.
    pub fn new(burst: u32, rate: f64) -> WriteLimiter {
        if !(rate.is_finite() && rate > 0.0) {
            return WriteLimiter(None);
        }
        let burst = f64::from(burst.max(1));
        let refill = Duration::from_secs_f64((burst / rate).clamp(1.0, 86_400.0));
        WriteLimiter(Some(Arc::new(Inner {
            burst,
            rate,
            refill,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        })))
    }

    /// Takes one write from the principal's budget, or says how many whole
    /// seconds (≥ 1) until one is available.
    pub fn charge(&self, party: Side, id: i64) -> Result<(), Error> {
        self.charge_at(party, id, Instant::now())
            .map_err(|retry_after| Error::RateLimited { retry_after })
    }

    pub(crate) fn charge_at(&self, party: Side, id: i64, now: Instant) -> Result<(), u64> {
        let Some(inner) = &self.0 else {
            return Ok(());
        };
        let (burst, rate) = (inner.burst, inner.rate);
        // Nothing in here can panic, so a poisoned lock still holds valid data.
        let mut st = inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.saturating_duration_since(st.last_sweep) >= inner.refill {
            st.last_sweep = now;
            st.buckets.retain(|_, b| b.level(now, burst, rate) < burst);
        }
        let b = st.buckets.entry((party, id)).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let tokens = b.level(now, burst, rate);
        b.last = now.max(b.last);
        if tokens >= 1.0 {
            b.tokens = tokens - 1.0;
            Ok(())
        } else {
            b.tokens = tokens;
            Err(retry_after_secs(1.0 - tokens, rate))
        }
    }

    /// Buckets currently held (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.0.as_ref().map_or(0, |i| {
            i.state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .buckets
                .len()
        })
    }
}

/// Whole seconds until `missing` tokens have refilled, at least 1.
fn retry_after_secs(missing: f64, rate: f64) -> u64 {
    let secs = (missing / rate).ceil();
    if secs.is_finite() && secs >= 1.0 {
        secs.min(86_400.0) as u64
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_then_refilled() {
        let l = WriteLimiter::new(3, 2.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.charge_at(Side::Customer, 1, t0), Ok(()));
        }
        assert_eq!(l.charge_at(Side::Customer, 1, t0), Err(1));
        // Another principal (and the same id of the other party) is unaffected.
        assert_eq!(l.charge_at(Side::Sales, 1, t0), Ok(()));
        assert_eq!(l.charge_at(Side::Customer, 2, t0), Ok(()));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.charge_at(Side::Customer, 1, t1), Ok(()));
        assert_eq!(l.charge_at(Side::Customer, 1, t1), Err(1));
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        assert_eq!(retry_after_secs(1.0, 10.0), 1);
        assert_eq!(retry_after_secs(1.0, 0.25), 4);
        assert_eq!(retry_after_secs(0.5, 0.4), 2);
        let l = WriteLimiter::new(1, 0.1);
        let t0 = Instant::now();
        assert_eq!(l.charge_at(Side::Sales, 7, t0), Ok(()));
        assert_eq!(l.charge_at(Side::Sales, 7, t0), Err(10));
        assert_eq!(
            l.charge_at(Side::Sales, 7, t0 + Duration::from_secs(4)),
            Err(6)
        );
    }

    #[test]
    fn rate_zero_disables() {
        let l = WriteLimiter::new(1, 0.0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(l.charge_at(Side::Customer, 1, t0), Ok(()));
        }
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn idle_buckets_are_dropped() {
        let l = WriteLimiter::new(10, 10.0);
        let t0 = Instant::now();
        for id in 0..1000 {
            assert_eq!(l.charge_at(Side::Customer, id, t0), Ok(()));
        }
        assert_eq!(l.tracked(), 1000);
        // After a refill period every bucket is full again: one sweep leaves
        // only the principal that is writing now.
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(l.charge_at(Side::Sales, 1, t1), Ok(()));
        assert_eq!(l.tracked(), 1);
    }
}
