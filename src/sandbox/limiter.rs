//! The sandbox's rate limiters: the three kinds real APIs use, and the headers some of them
//! send to say where a client stands.
//!
//! - `fixed`: at most N requests in each window of `--rate-period` (1 s), windows counted from
//!   the sandbox's start; a refusal says to retry when the window turns.
//! - `sliding`: at most N requests in any period ending now (a log of the accepted ones); a
//!   refusal says to retry when the oldest leaves the period.
//! - `bucket`: a token bucket of `--rate-burst` tokens (a fifth of N by default) refilled at N
//!   a period; a refusal says to retry when the next token is in.
//!
//! `Retry-After` is in whole seconds, rounded up, as the header's grammar asks: a bucket that
//! will have a token in 3 ms says `1`. With `--rate-headers` every answer that passed the limiter
//! (refusals included) says the limit, what is left and when it resets, in the IETF draft's
//! fields (`ietf`: `RateLimit-Limit`, `-Remaining`, `-Reset`, `RateLimit-Policy: 300;w=1`), the
//! common `X-RateLimit-*` with the reset as an epoch time (`x`, as GitHub sends them), or the
//! later draft's two structured fields (`combined`: `RateLimit-Policy: "default";q=300;w=1` and
//! `RateLimit: "default";r=12;t=1`).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
// Tokio's clock, so that the controller's scenarios can play these limiters in paused time.
use tokio::time::Instant;

/// How the sandbox counts requests against its rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RateWindow {
    /// At most N in each window of the period, counted from the sandbox's start.
    #[default]
    Fixed,
    /// At most N in any period ending now.
    Sliding,
    /// A token bucket refilled at N a period, holding `--rate-burst` tokens.
    Bucket,
}

/// Which headers tell a client its allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateHeaders {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and
    /// `RateLimit-Policy: 300;w=1`.
    Ietf,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (an epoch time).
    X,
    /// `RateLimit-Policy: "default";q=300;w=1` and `RateLimit: "default";r=12;t=1`.
    Combined,
}

/// A rate limit's settings.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Requests per period.
    pub limit: u32,
    pub window: RateWindow,
    pub period: Duration,
    /// The bucket's size (`bucket` only).
    pub burst: Option<u32>,
    pub headers: Option<RateHeaders>,
}

/// What the limiter decided for one request.
pub struct Verdict {
    pub allowed: bool,
    /// Requests still allowed now.
    pub remaining: u32,
    /// When the allowance is whole again (a window's end, the oldest leaving, a full bucket).
    pub reset: Duration,
    /// For a refusal: when a request would be allowed.
    pub retry_after: Duration,
}

pub struct Limiter {
    settings: RateLimit,
    started: Instant,
    state: Mutex<State>,
}

enum State {
    /// The window's number since the start, and the requests counted in it.
    Fixed { window: u64, count: u32 },
    /// When each request of the last period was accepted, oldest first.
    Sliding { accepted: VecDeque<Instant> },
    /// Tokens in the bucket at `at`.
    Bucket { tokens: f64, at: Instant },
}

impl Limiter {
    pub fn new(settings: RateLimit) -> Limiter {
        let started = Instant::now();
        let state = match settings.window {
            RateWindow::Fixed => State::Fixed {
                window: 0,
                count: 0,
            },
            RateWindow::Sliding => State::Sliding {
                accepted: VecDeque::new(),
            },
            RateWindow::Bucket => State::Bucket {
                tokens: f64::from(bucket_size(&settings)),
                at: started,
            },
        };
        Limiter {
            settings,
            started,
            state: Mutex::new(state),
        }
    }

    /// The limit, for the refusal's message.
    pub fn limit(&self) -> u32 {
        self.settings.limit
    }

    pub fn period(&self) -> Duration {
        self.settings.period
    }

    /// Counts one request; says whether it is allowed and where the allowance stands.
    pub fn check(&self) -> Verdict {
        let now = Instant::now();
        let limit = self.settings.limit.max(1);
        let period = self.settings.period.max(Duration::from_millis(1));
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            State::Fixed { window, count } => {
                let elapsed = now.duration_since(self.started);
                let current = (elapsed.as_nanos() / period.as_nanos()) as u64;
                if *window != current {
                    (*window, *count) = (current, 0);
                }
                let ends = period * (current as u32 + 1);
                let reset = ends.saturating_sub(elapsed);
                let allowed = *count < limit;
                if allowed {
                    *count += 1;
                }
                Verdict {
                    allowed,
                    remaining: limit - *count,
                    reset,
                    retry_after: reset,
                }
            }
            State::Sliding { accepted } => {
                while accepted
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= period)
                {
                    accepted.pop_front();
                }
                let allowed = (accepted.len() as u32) < limit;
                if allowed {
                    accepted.push_back(now);
                }
                let leaves = |t: &Instant| (*t + period).saturating_duration_since(now);
                Verdict {
                    allowed,
                    remaining: limit.saturating_sub(accepted.len() as u32),
                    reset: accepted.back().map_or(Duration::ZERO, leaves),
                    retry_after: accepted.front().map_or(Duration::ZERO, leaves),
                }
            }
            State::Bucket { tokens, at } => {
                let size = f64::from(bucket_size(&self.settings));
                let per_sec = f64::from(limit) / period.as_secs_f64();
                *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(size);
                *at = now;
                let allowed = *tokens >= 1.0;
                if allowed {
                    *tokens -= 1.0;
                }
                let secs = |missing: f64| Duration::from_secs_f64(missing.max(0.0) / per_sec);
                Verdict {
                    allowed,
                    remaining: *tokens as u32,
                    reset: secs(size - *tokens),
                    retry_after: secs(1.0 - *tokens),
                }
            }
        }
    }

    /// Adds the allowance's headers to an answer, when `--rate-headers` asks.
    pub fn tell(&self, verdict: &Verdict, headers: &mut HeaderMap) {
        let Some(style) = self.settings.headers else {
            return;
        };
        let limit = self.settings.limit;
        let window = whole_seconds(self.settings.period).max(1);
        let reset = whole_seconds(verdict.reset);
        let remaining = verdict.remaining;
        let burst = match self.settings.window {
            RateWindow::Bucket => format!(";burst={}", bucket_size(&self.settings)),
            _ => String::new(),
        };
        let fields: Vec<(&'static str, String)> = match style {
            RateHeaders::Ietf => vec![
                ("ratelimit-limit", limit.to_string()),
                ("ratelimit-remaining", remaining.to_string()),
                ("ratelimit-reset", reset.to_string()),
                ("ratelimit-policy", format!("{limit};w={window}{burst}")),
            ],
            RateHeaders::X => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                vec![
                    ("x-ratelimit-limit", limit.to_string()),
                    ("x-ratelimit-remaining", remaining.to_string()),
                    (
                        "x-ratelimit-reset",
                        whole_seconds(now + verdict.reset).to_string(),
                    ),
                ]
            }
            RateHeaders::Combined => vec![
                (
                    "ratelimit-policy",
                    format!("\"default\";q={limit};w={window}{burst}"),
                ),
                ("ratelimit", format!("\"default\";r={remaining};t={reset}")),
            ],
        };
        for (name, value) in fields {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// The bucket's size: `--rate-burst`, else a fifth of the limit.
fn bucket_size(settings: &RateLimit) -> u32 {
    settings.burst.unwrap_or(settings.limit / 5).max(1)
}

/// Seconds, rounded up: what `Retry-After` and the reset headers say.
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(window: RateWindow, limit: u32, burst: Option<u32>) -> Limiter {
        Limiter::new(RateLimit {
            limit,
            window,
            period: Duration::from_millis(200),
            burst,
            headers: None,
        })
    }

    fn allowed(limiter: &Limiter, n: usize) -> usize {
        (0..n).filter(|_| limiter.check().allowed).count()
    }

    #[test]
    fn a_fixed_window_allows_its_limit_then_turns() {
        let fixed = limiter(RateWindow::Fixed, 5, None);
        assert_eq!(allowed(&fixed, 8), 5);
        let refused = fixed.check();
        assert!(!refused.allowed && refused.remaining == 0);
        assert!(refused.retry_after <= Duration::from_millis(200));
        std::thread::sleep(refused.retry_after + Duration::from_millis(5));
        assert_eq!(allowed(&fixed, 8), 5, "a new window");
    }

    #[test]
    fn a_sliding_window_frees_a_place_as_each_request_leaves_it() {
        let sliding = limiter(RateWindow::Sliding, 3, None);
        assert_eq!(allowed(&sliding, 3), 3);
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(allowed(&sliding, 1), 0);
        let refused = sliding.check();
        assert!(
            refused.retry_after <= Duration::from_millis(80),
            "the oldest leaves soon"
        );
        std::thread::sleep(refused.retry_after + Duration::from_millis(5));
        assert_eq!(allowed(&sliding, 5), 3);
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        // 50 a period of 200 ms is one token every 4 ms.
        let bucket = limiter(RateWindow::Bucket, 50, Some(4));
        assert_eq!(allowed(&bucket, 10), 4);
        let refused = bucket.check();
        assert!(refused.retry_after <= Duration::from_millis(4));
        std::thread::sleep(Duration::from_millis(40));
        let refilled = allowed(&bucket, 20);
        assert!((4..=5).contains(&refilled), "{refilled}");
        assert_eq!(
            whole_seconds(refused.retry_after),
            1,
            "said in whole seconds"
        );
    }

    #[test]
    fn each_style_of_headers_is_written() {
        let mut settings = RateLimit {
            limit: 300,
            window: RateWindow::Bucket,
            period: Duration::from_secs(1),
            burst: Some(60),
            headers: Some(RateHeaders::Ietf),
        };
        let verdict = || Verdict {
            allowed: true,
            remaining: 12,
            reset: Duration::from_millis(400),
            retry_after: Duration::ZERO,
        };
        let mut headers = HeaderMap::new();
        Limiter::new(settings.clone()).tell(&verdict(), &mut headers);
        assert_eq!(headers["ratelimit-policy"], "300;w=1;burst=60");
        assert_eq!(headers["ratelimit-reset"], "1");
        assert_eq!(headers["ratelimit-remaining"], "12");
        settings.headers = Some(RateHeaders::Combined);
        settings.window = RateWindow::Fixed;
        let mut headers = HeaderMap::new();
        Limiter::new(settings.clone()).tell(&verdict(), &mut headers);
        assert_eq!(headers["ratelimit"], "\"default\";r=12;t=1");
        assert_eq!(headers["ratelimit-policy"], "\"default\";q=300;w=1");
        settings.headers = Some(RateHeaders::X);
        let mut headers = HeaderMap::new();
        Limiter::new(settings).tell(&verdict(), &mut headers);
        let epoch: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(epoch > 1_700_000_000, "{epoch}");
    }
}
