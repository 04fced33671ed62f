//! Latency recording: every sample is kept (microseconds, u32) and sorted once at
//! the end, so percentiles are exact rather than bucketed.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default, Clone)]
pub struct Latencies {
    us: Vec<u32>,
}

impl Latencies {
    pub fn with_capacity(n: usize) -> Latencies {
        Latencies {
            us: Vec::with_capacity(n),
        }
    }

    pub fn record(&mut self, d: Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn record_us(&mut self, us: u64) {
        self.us.push(u32::try_from(us).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.us.extend(other.us);
    }

    pub fn len(&self) -> usize {
        self.us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.us.is_empty()
    }

    pub fn summary(&mut self) -> Summary {
        self.us.sort_unstable();
        let n = self.us.len();
        let ms = |us: u32| round3(f64::from(us) / 1000.0);
        let mean = if n == 0 {
            0.0
        } else {
            self.us.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64 / 1000.0
        };
        Summary {
            count: n as u64,
            p50_ms: ms(percentile(&self.us, 0.50)),
            p99_ms: ms(percentile(&self.us, 0.99)),
            p999_ms: ms(percentile(&self.us, 0.999)),
            max_ms: ms(self.us.last().copied().unwrap_or(0)),
            mean_ms: round3(mean),
        }
    }
}

/// Nearest-rank percentile of sorted samples; 0 for no samples.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), 500);
        assert_eq!(percentile(&v, 0.99), 990);
        assert_eq!(percentile(&v, 0.999), 999);
        assert_eq!(percentile(&v, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn summary_sorts_and_converts_to_ms() {
        let mut l = Latencies::default();
        for us in [3000u64, 1000, 2000] {
            l.record_us(us);
        }
        let mut other = Latencies::default();
        other.record(Duration::from_millis(4));
        l.merge(other);
        let s = l.summary();
        assert_eq!(s.count, 4);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.max_ms, 4.0);
        assert_eq!(s.mean_ms, 2.5);
    }

    #[test]
    fn huge_samples_saturate() {
        let mut l = Latencies::default();
        l.record(Duration::from_secs(1_000_000));
        assert_eq!(l.summary().max_ms, round3(f64::from(u32::MAX) / 1000.0));
    }
}
