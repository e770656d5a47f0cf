//! When to retry, how long to wait, and how much load to put on the server.
//!
//! One place decides whether a failure is retried ([`Retry::decide`]); waits are capped
//! exponential backoff with full jitter, or the server's `Retry-After` (clamped); a retry budget
//! stops a dead server from being hammered; and [`Throttle`] bounds requests in flight with
//! AIMD (lower on 429/503, raise slowly when healthy) and paces them to `--rate`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Backoff and budget settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest `Retry-After` honoured; longer ones are clamped to this.
    pub max_retry_after: Duration,
    /// Retries allowed across the whole run beyond those refunded by successes.
    pub budget: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(120),
            budget: 500,
        }
    }
}

/// Capped exponential backoff with full jitter: a random wait in `[0, min(cap, base·2^n)]`.
pub fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let ceiling = policy
        .base
        .saturating_mul(1u32 << retry.min(20))
        .min(policy.cap);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
}

/// Parses `Retry-After`: delta-seconds or an HTTP date, clamped to `max`.
pub fn parse_retry_after(value: &str, max: Duration) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<f64>() {
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        Duration::from_secs_f64(seconds.min(max.as_secs_f64()))
    } else {
        let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let millis = date.timestamp_millis() - chrono::Utc::now().timestamp_millis();
        Duration::from_millis(millis.max(0) as u64)
    };
    Some(wait.min(max))
}

/// Run-wide retry accounting, shared by every call of a run.
#[derive(Debug)]
pub struct Retry {
    pub policy: RetryPolicy,
    tokens: AtomicU64,
    /// Retries made, for the summary.
    pub retries: AtomicU64,
    /// 429/503 answers seen, for the summary.
    pub throttles: AtomicU64,
}

impl Retry {
    pub fn new(policy: RetryPolicy) -> Retry {
        Retry {
            tokens: AtomicU64::new(policy.budget),
            policy,
            retries: AtomicU64::new(0),
            throttles: AtomicU64::new(0),
        }
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn take(&self, attempt: u32) -> bool {
        if attempt >= self.policy.max_attempts {
            return false;
        }
        let taken = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| t.checked_sub(1))
            .is_ok();
        if taken {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// A success gives back a little budget, so long healthy runs survive sparse faults.
    pub fn refund(&self) {
        let cap = self.policy.budget;
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t < cap).then_some(t + 1)
            });
    }
}

/// Whether an HTTP status is worth retrying for an idempotent call: 408, 429, 5xx but 501.
pub fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (status >= 500 && status != 501)
}

/// Whether a status means the server refused without acting, so even a POST may be re-sent.
pub fn refused_without_acting(status: u16) -> bool {
    matches!(status, 408 | 429 | 503)
}

/// Bounds requests in flight (adaptive, AIMD) and paces them to a rate.
#[derive(Debug)]
pub struct Throttle {
    semaphore: Arc<Semaphore>,
    state: Mutex<Window>,
    max: usize,
    /// Minimum gap between request starts, from `--rate`.
    interval: Option<Duration>,
    next_start: Mutex<Instant>,
}

#[derive(Debug)]
struct Window {
    /// The concurrency the controller aims at.
    limit: usize,
    /// Permits to swallow as they come back, after a decrease.
    owed: usize,
    /// Successes since the last increase.
    healthy: usize,
}

/// A slot to send one request; returning it (drop) frees the slot.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Throttle {
    /// `concurrency` requests in flight at most; `rate` requests per second at most.
    pub fn new(concurrency: usize, rate: Option<f64>) -> Throttle {
        let max = concurrency.max(1);
        Throttle {
            semaphore: Arc::new(Semaphore::new(max)),
            state: Mutex::new(Window {
                limit: max,
                owed: 0,
                healthy: 0,
            }),
            max,
            interval: rate
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next_start: Mutex::new(Instant::now()),
        }
    }

    /// Waits for a free slot and for the rate's next start time.
    pub async fn slot(&self) -> Slot {
        let permit = loop {
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let mut state = self.state.lock().unwrap();
            if state.owed > 0 {
                // A decrease is pending: this permit is retired instead of used.
                state.owed -= 1;
                permit.forget();
                continue;
            }
            break permit;
        };
        if let Some(interval) = self.interval {
            let start = {
                let mut next = self.next_start.lock().unwrap();
                let now = Instant::now();
                let start = (*next).max(now);
                *next = start + interval;
                start
            };
            tokio::time::sleep_until(start.into()).await;
        }
        Slot { _permit: permit }
    }

    /// The server pushed back (429/503): cut the window to 90%, at least one.
    pub fn throttled(&self) {
        let mut state = self.state.lock().unwrap();
        let target = ((state.limit as f64) * 0.9).floor().max(1.0) as usize;
        state.owed += state.limit - target;
        state.limit = target;
        state.healthy = 0;
    }

    /// A request went well: after a window's worth of successes, allow one more in flight.
    pub fn succeeded(&self) {
        let mut state = self.state.lock().unwrap();
        if state.limit >= self.max {
            return;
        }
        state.healthy += 1;
        if state.healthy >= state.limit {
            state.healthy = 0;
            state.limit += 1;
            if state.owed > 0 {
                state.owed -= 1;
            } else {
                self.semaphore.add_permits(1);
            }
        }
    }

    /// The current concurrency target.
    pub fn limit(&self) -> usize {
        self.state.lock().unwrap().limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_cap() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            ..Default::default()
        };
        for retry in 0..30 {
            let wait = backoff(&policy, retry);
            assert!(wait <= Duration::from_secs(2));
            assert!(wait <= Duration::from_millis(100) * (1 << retry.min(5)));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_clamped() {
        let max = Duration::from_secs(60);
        assert_eq!(parse_retry_after("3", max), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.5", max),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after("86400", max), Some(max));
        assert_eq!(parse_retry_after("-1", max), None);
        assert_eq!(parse_retry_after("soon", max), None);
        let in_ten = chrono::Utc::now() + chrono::Duration::seconds(10);
        let date = in_ten.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let wait = parse_retry_after(&date, max).unwrap();
        assert!(
            wait > Duration::from_secs(7) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", max),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn statuses_are_classified_as_the_design_says() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!retryable_status(s), "{s}");
        }
        assert!(refused_without_acting(429) && refused_without_acting(503));
        assert!(
            !refused_without_acting(500)
                && !refused_without_acting(502)
                && !refused_without_acting(504)
        );
    }

    #[test]
    fn the_budget_runs_out_and_successes_refill_it() {
        let retry = Retry::new(RetryPolicy {
            budget: 2,
            max_attempts: 100,
            ..Default::default()
        });
        assert!(retry.take(1) && retry.take(1));
        assert!(!retry.take(1));
        retry.refund();
        assert!(retry.take(1));
        assert!(!Retry::new(RetryPolicy::default()).take(10), "attempt cap");
    }

    #[tokio::test]
    async fn aimd_cuts_on_pushback_and_grows_back_slowly() {
        let throttle = Throttle::new(10, None);
        throttle.throttled();
        assert_eq!(throttle.limit(), 9);
        for _ in 0..20 {
            throttle.throttled();
        }
        assert_eq!(throttle.limit(), 1);
        // One slot at a time now: a second slot waits until the first is returned.
        let first = throttle.slot().await;
        let second = tokio::time::timeout(Duration::from_millis(50), throttle.slot()).await;
        assert!(second.is_err(), "only one request may be in flight");
        drop(first);
        for _ in 0..3 {
            throttle.succeeded();
        }
        assert_eq!(throttle.limit(), 3, "grows by one per window of successes");
    }
}
