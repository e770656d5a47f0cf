//! The measurements the controller keeps: an exponentially weighted mean and variance of the
//! round trips, a histogram of every round trip (for its median), and how long each limit was
//! held (for the limit a run settled at). All are small and fixed in size, whatever the run's length.

use std::time::Duration;

/// An exponentially weighted moving mean and variance (West's incremental form), in seconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ewma {
    alpha: f64,
    pub mean: f64,
    pub variance: f64,
}

impl Ewma {
    pub fn new(alpha: f64, first: f64) -> Ewma {
        Ewma {
            alpha,
            mean: first,
            variance: 0.0,
        }
    }

    pub fn update(&mut self, value: f64) {
        let diff = value - self.mean;
        let increment = self.alpha * diff;
        self.mean += increment;
        self.variance = (1.0 - self.alpha) * (self.variance + diff * increment);
    }

    pub fn deviation(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }
}

/// Round trips from 50 µs to about five minutes, in buckets 2% wide: the median is read to
/// within 2%, in 6 KB.
#[derive(Debug, Clone)]
pub(super) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

const SMALLEST: f64 = 50e-6;
const GROWTH: f64 = 1.02;
const BUCKETS: usize = 800;

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }

    pub fn add(&mut self, secs: f64) {
        let index = if secs <= SMALLEST {
            0
        } else {
            ((secs / SMALLEST).ln() / GROWTH.ln()) as usize
        };
        self.counts[index.min(BUCKETS - 1)] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The median, as the geometric middle of its bucket.
    pub fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// The fastest round trip, to within 2%.
    pub fn fastest(&self) -> Option<f64> {
        self.quantile(0.0)
    }

    /// The round trip that this fraction of them do not exceed, as the geometric middle of its
    /// bucket.
    fn quantile(&self, fraction: f64) -> Option<f64> {
        let rank = ((self.total as f64 * fraction).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank && self.total > 0 {
                return Some(SMALLEST * GROWTH.powf(index as f64 + 0.5));
            }
        }
        None
    }
}

/// How long each limit was in force: its time-weighted median is the limit a run settled at,
/// which a ramp at the start or a dip after one 429 does not move.
#[derive(Debug, Clone)]
pub(super) struct Held {
    per_limit: Vec<Duration>,
}

impl Held {
    pub fn new(max: usize) -> Held {
        Held {
            per_limit: vec![Duration::ZERO; max + 1],
        }
    }

    pub fn add(&mut self, limit: usize, time: Duration) {
        if let Some(slot) = self.per_limit.get_mut(limit) {
            *slot += time;
        }
    }

    /// The time-weighted median limit, counting `current` as held for `extra` more.
    pub fn median(&self, current: usize, extra: Duration) -> usize {
        let mut per_limit = self.per_limit.clone();
        if let Some(slot) = per_limit.get_mut(current) {
            *slot += extra;
        }
        let total: Duration = per_limit.iter().sum();
        if total.is_zero() {
            return current;
        }
        let mut seen = Duration::ZERO;
        for (limit, time) in per_limit.iter().enumerate() {
            seen += *time;
            if seen * 2 >= total {
                return limit;
            }
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ewma_follows_and_measures_spread() {
        let mut e = Ewma::new(0.5, 1.0);
        e.update(1.0);
        assert_eq!((e.mean, e.deviation()), (1.0, 0.0));
        for _ in 0..50 {
            e.update(3.0);
        }
        assert!((e.mean - 3.0).abs() < 1e-6);
        let mut noisy = Ewma::new(0.4, 1.0);
        for i in 0..100 {
            noisy.update(if i % 2 == 0 { 0.9 } else { 1.1 });
        }
        assert!(noisy.deviation() > 0.05 && noisy.deviation() < 0.2);
    }

    #[test]
    fn the_histogram_median_is_within_two_percent() {
        let mut h = Histogram::new();
        assert_eq!(h.median(), None);
        for ms in [10.0, 40.0, 41.0, 42.0, 900.0] {
            h.add(ms / 1000.0);
        }
        let median = h.median().unwrap() * 1000.0;
        assert!((median - 41.0).abs() < 41.0 * 0.02, "{median}");
        let fastest = h.fastest().unwrap() * 1000.0;
        assert!((fastest - 10.0).abs() < 10.0 * 0.02, "{fastest}");
        h.add(1e6);
        h.add(0.0);
        assert_eq!(h.count(), 7);
    }

    #[test]
    fn the_settled_limit_is_the_one_held_longest_in_the_middle() {
        let mut held = Held::new(64);
        held.add(4, Duration::from_millis(100));
        held.add(20, Duration::from_secs(10));
        held.add(18, Duration::from_secs(2));
        assert_eq!(held.median(19, Duration::from_millis(10)), 20);
        assert_eq!(Held::new(8).median(5, Duration::ZERO), 5);
    }
}
