//! When to retry and how long to wait: one policy for every call.
//!
//! [`Retry::decide`] is the one place that says whether a failed attempt is tried again and
//! after how long: for a call that is safe to repeat, 408, 429, 5xx but 501, timeouts and broken
//! connections; for a POST, only what the server surely did not act on (the rest is handed back
//! as an unknown outcome, for the caller to look up). Waits are the server's `Retry-After`, in
//! full (one past `--max-wait` stops the run instead: [`super::throttle`]), or capped
//! exponential backoff with full jitter; a run-wide budget stops a dead server from being
//! hammered. How many requests go at once is [`super::throttle`]'s business.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::RngExt;

use super::ApiError;

/// Backoff and budget settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// Retries allowed across the whole run beyond those refunded by successes.
    pub budget: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
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
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// Parses `Retry-After`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(seconds.min(1e9)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let millis = date.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(millis.max(0) as u64))
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

    /// Whether attempt number `attempt` (from 1), which failed with `err`, is tried again, and
    /// after how long. `idempotent` is false for a POST: then only a failure the server surely
    /// did not act on is retried, and the caller gets the rest (see
    /// [`ApiError::outcome_unknown`]). A retry is taken from the run's budget.
    pub fn decide(&self, err: &ApiError, idempotent: bool, attempt: u32) -> Option<Duration> {
        let again = if idempotent {
            err.retryable()
        } else {
            err.not_acted()
        };
        if !again || !self.take(attempt) {
            return None;
        }
        Some(
            err.retry_after()
                .unwrap_or_else(|| backoff(&self.policy, attempt)),
        )
    }

    /// For a caller that checked for itself (a lookup after an unknown outcome) that sending
    /// again is safe: the wait before attempt `attempt + 1`, or `None` when the attempts or the
    /// run's budget are spent.
    pub fn again(&self, attempt: u32) -> Option<Duration> {
        self.take(attempt).then(|| backoff(&self.policy, attempt))
    }

    /// Takes one retry from the budget; false when it is spent or `attempt` is the last.
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
    fn retry_after_reads_seconds_and_dates() {
        let wait = parse_retry_after;
        assert_eq!(wait("3"), Some(Duration::from_secs(3)));
        assert_eq!(wait("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(wait("86400"), Some(Duration::from_secs(86400)), "never cut");
        assert_eq!(wait("-1"), None);
        assert_eq!(wait("soon"), None);
        let in_ten = chrono::Utc::now() + chrono::Duration::seconds(10);
        let date = in_ten.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let wait = parse_retry_after(&date).unwrap();
        assert!(
            wait > Duration::from_secs(7) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
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

    #[test]
    fn one_decision_for_idempotent_calls_and_posts() {
        let retry = Retry::new(RetryPolicy::default());
        let status = |status, retry_after| ApiError::Status {
            status,
            message: String::new(),
            body: String::new(),
            retry_after,
        };
        let connect = ApiError::Connect {
            url: "u".into(),
            reason: "refused".into(),
        };
        let timeout = ApiError::Timeout(Duration::from_secs(1));
        let reset = ApiError::Transport("reset".into());
        // Safe to repeat: 408, 429, 5xx but 501, and every transport failure.
        for err in [status(408, None), status(502, None), status(503, None)] {
            assert!(retry.decide(&err, true, 1).is_some(), "{err}");
        }
        for err in [&connect, &timeout, &reset] {
            assert!(retry.decide(err, true, 1).is_some(), "{err}");
        }
        for err in [status(400, None), status(404, None), status(501, None)] {
            assert!(retry.decide(&err, true, 1).is_none(), "{err}");
        }
        // A POST: only what the server surely did not act on.
        assert!(retry.decide(&status(429, None), false, 1).is_some());
        assert!(retry.decide(&connect, false, 1).is_some());
        for err in [status(500, None), status(502, None), timeout, reset] {
            assert!(retry.decide(&err, false, 1).is_none(), "{err}");
            assert!(err.outcome_unknown(), "handed back as unknown: {err}");
        }
        // Retry-After wins over the backoff; the last attempt is never retried.
        let wait = retry.decide(&status(429, Some(Duration::from_secs(7))), true, 1);
        assert_eq!(wait, Some(Duration::from_secs(7)));
        assert!(retry.decide(&status(503, None), true, 10).is_none());
        // After a lookup found nothing, a caller may send again within the same budget.
        assert!(retry
            .again(1)
            .is_some_and(|w| w <= Duration::from_millis(200)));
        assert!(retry.again(10).is_none());
    }
}
