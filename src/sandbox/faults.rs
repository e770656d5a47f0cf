//! What stands in front of the sandbox's routes: request and status counting, the rate limit
//! (its kinds and headers in [`super::limiter`]), a capacity (requests served at once; the rest queue), injected latency and failures, bearer
//! auth, and the `quirks` that damage answers.
//!
//! Faults come from one seeded RNG, drawn in a fixed order (jitter, fail, fail-after-commit,
//! drop) for every request except `/__sandbox/stats`, whatever happens to the request next, so
//! two sandboxes with the same seed given the same sequential requests fail the same ones.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::limiter::{whole_seconds, Limiter, Verdict};
use super::routes::{error, STATS_PATH};
use super::server::DropSignal;
use super::{Options, Shared};

/// The fault settings, the RNG, the rate-limit window and the counters.
pub(crate) struct Gate {
    token: Option<String>,
    latency_ms: u64,
    jitter_ms: u64,
    fail_rate: f64,
    fail_after_commit_rate: f64,
    drop_rate: f64,
    /// Whether any fault needs the RNG; a well-behaved sandbox skips its lock.
    random: bool,
    rng: Mutex<StdRng>,
    limiter: Option<Limiter>,
    /// Requests served at once, latency included; `None` is unbounded.
    capacity: Option<Capacity>,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
    dropped: u64,
    /// GETs of the list (the collection), beside GETs of one customer.
    lists: u64,
}

/// What the RNG decided for one request.
#[derive(Debug, Default)]
struct Draw {
    delay_ms: u64,
    fail: bool,
    fail_after_commit: bool,
    drop: bool,
}

impl Gate {
    pub fn new(options: &Options) -> Gate {
        Gate {
            token: options.token.clone(),
            latency_ms: options.latency_ms,
            jitter_ms: options.jitter_ms,
            fail_rate: options.fail_rate,
            fail_after_commit_rate: options.fail_after_commit_rate,
            drop_rate: options.drop_rate,
            random: options.jitter_ms > 0
                || options.fail_rate > 0.0
                || options.fail_after_commit_rate > 0.0
                || options.drop_rate > 0.0,
            rng: Mutex::new(StdRng::seed_from_u64(options.seed)),
            limiter: options.rate_limit().map(Limiter::new),
            capacity: options.capacity.map(Capacity::new),
            counts: Mutex::new(Counts::default()),
        }
    }

    fn draw(&self) -> Draw {
        if !self.random {
            return Draw {
                delay_ms: self.latency_ms,
                ..Draw::default()
            };
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let jitter = rng.random_range(0..=self.jitter_ms);
        Draw {
            delay_ms: self.latency_ms + jitter,
            fail: rng.random::<f64>() < self.fail_rate,
            fail_after_commit: rng.random::<f64>() < self.fail_after_commit_rate,
            drop: rng.random::<f64>() < self.drop_rate,
        }
    }

    /// Accepts `Authorization: Bearer <token>`: the configured token, or any non-empty one.
    /// The error is the message of the 401 answer.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err("Missing API key: send the header Authorization: Bearer <key>");
        };
        let Ok(value) = value.to_str() else {
            return Err(
                "Invalid API key: the Authorization header holds bytes that are not \
                        text; send Authorization: Bearer <key>",
            );
        };
        let token = match value.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ if value.trim().eq_ignore_ascii_case("bearer") => "",
            _ if !value.trim().is_empty() => {
                return Err(
                    "Unsupported authorization: send the header Authorization: Bearer <key>",
                );
            }
            _ => "",
        };
        if token.is_empty() {
            return Err("Missing API key: send the header Authorization: Bearer <key>");
        }
        match &self.token {
            Some(expected) if expected != token => Err("Invalid API key"),
            _ => Ok(()),
        }
    }

    fn count_request(&self, method: &Method, path: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if method == Method::GET && path.trim_end_matches('/').ends_with("/customers") {
            counts.lists += 1;
        }
        match counts.requests.get_mut(method.as_str()) {
            Some(n) => *n += 1,
            None => {
                counts.requests.insert(method.as_str().to_owned(), 1);
            }
        }
    }

    fn count_status(&self, status: StatusCode) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.statuses.entry(status.as_u16()).or_default() += 1;
    }

    fn count_dropped(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped += 1;
    }

    /// `{"requests": {"GET": n, ...}, "statuses": {"200": n, ..., "dropped": n}, "lists": n}`
    pub fn stats(&self) -> Value {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statuses: serde_json::Map<String, Value> = counts
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        if counts.dropped > 0 {
            statuses.insert("dropped".to_owned(), json!(counts.dropped));
        }
        let mut stats = json!({
            "requests": counts.requests,
            "statuses": statuses,
            "lists": counts.lists,
        });
        if let Some(capacity) = &self.capacity {
            stats["capacity"] = json!({
                "limit": capacity.limit,
                "peak": capacity.peak.load(Ordering::Relaxed),
            });
        }
        stats
    }
}

/// At most `limit` requests served at once; the others wait in arrival order.
struct Capacity {
    limit: usize,
    places: Semaphore,
    /// The most requests served at once so far, for the stats.
    peak: AtomicUsize,
}

impl Capacity {
    fn new(limit: usize) -> Capacity {
        let limit = limit.max(1);
        Capacity {
            limit,
            places: Semaphore::new(limit),
            peak: AtomicUsize::new(0),
        }
    }

    /// Waits for a free place; the request holds it until the permit is dropped.
    async fn enter(&self) -> SemaphorePermit<'_> {
        let permit = self.places.acquire().await.expect("never closed");
        let serving = self.limit - self.places.available_permits();
        self.peak.fetch_max(serving, Ordering::Relaxed);
        permit
    }
}

/// The middleware in front of every route.
pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == STATS_PATH {
        return next.run(request).await;
    }
    let gate = &shared.gate;
    let method = request.method().clone();
    gate.count_request(&method, request.uri().path());
    let signal = request.extensions_mut().remove::<DropSignal>();
    let echoed = shared.quirks.keep_auth(request.headers());
    let draw = gate.draw();
    let verdict = gate.limiter.as_ref().map(|l| (l, l.check()));
    let response = 'answer: {
        if let Some((limiter, verdict)) = verdict.as_ref().filter(|(_, v)| !v.allowed) {
            break 'answer refused(limiter, verdict);
        }
        // Past the rate limit (a quick refusal, as at a real server's edge), a request waits
        // for a free place and holds it while it is slept on and served.
        let serving = match &gate.capacity {
            Some(capacity) => Some(capacity.enter().await),
            None => None,
        };
        if draw.delay_ms > 0 {
            wait(Duration::from_millis(draw.delay_ms)).await;
        }
        if let Err(message) = gate.authorize(request.headers()) {
            let mut r = error(StatusCode::UNAUTHORIZED, message);
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            break 'answer r;
        }
        if draw.fail {
            break 'answer injected_error();
        }
        let is_write = matches!(
            method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        let response = next.run(request).await;
        if is_write && response.status().is_success() {
            if let (true, Some(signal)) = (draw.drop, signal) {
                // The write is stored; now the connection goes away without a status line.
                gate.count_dropped();
                drop(serving);
                signal.trigger();
                return std::future::pending().await;
            }
            if draw.fail_after_commit {
                break 'answer injected_error();
            }
        }
        shared.quirks.after_write(&method, response).await
    };
    let mut response = shared.quirks.echo(echoed, as_json(response)).await;
    if let Some((limiter, verdict)) = &verdict {
        limiter.tell(verdict, response.headers_mut());
    }
    gate.count_status(response.status());
    response
}

/// The 429 of a request over the rate limit, with `Retry-After` in whole seconds.
fn refused(limiter: &Limiter, verdict: &Verdict) -> Response {
    let wait = whole_seconds(verdict.retry_after).max(1);
    let period = limiter.period();
    let per = if period == Duration::from_secs(1) {
        "second".to_owned()
    } else {
        format!("{} s", period.as_secs_f64())
    };
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too many requests: at most {} per {per}; retry after {wait} s",
            limiter.limit()
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    r
}

/// Waits `latency`, as a server busy that long would. Tokio's timer fires on the first
/// millisecond tick after its deadline and parks in whole milliseconds, which made a 40 ms
/// sandbox answer in 41.5-42 ms; a deadline one tick early answers in 40-41.
async fn wait(latency: Duration) {
    const TICK: Duration = Duration::from_millis(1);
    tokio::time::sleep(latency.saturating_sub(TICK)).await;
}

fn injected_error() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error (injected)",
    )
}

/// Replaces a non-JSON error body (from axum's extractors) with `{"message": reason}`.
fn as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = json!({ "message": status.canonical_reason().unwrap_or("Error") }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
