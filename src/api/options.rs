//! How a client is set up: [`ClientOptions`], a plain struct the commands fill.

use std::time::Duration;

use super::concurrency::Concurrency;
use super::retry::RetryPolicy;

/// The default cap on one response body (`--max-response-mb`).
pub const MAX_RESPONSE_MB: u64 = 64;

/// How a client is set up.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    /// Requests in flight: adaptive by default, or fixed.
    pub concurrency: Concurrency,
    /// Requests per second at most.
    pub rate: Option<f64>,
    /// The longest wait the server may ask for before the run stops (`--max-wait`).
    pub max_wait: Duration,
    pub retry: RetryPolicy,
    /// Where list responses keep their records, when detection is not enough.
    pub items_path: Option<String>,
    /// The number of a list's first page: 1, or 0 where `check` found paging counted from 0.
    pub first_page: u64,
    /// The largest response body read, in bytes; a larger 2xx answer fails its call.
    pub max_response_bytes: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            concurrency: Concurrency::default(),
            rate: None,
            max_wait: super::throttle::MAX_WAIT,
            retry: RetryPolicy::default(),
            items_path: None,
            first_page: 1,
            max_response_bytes: MAX_RESPONSE_MB * 1024 * 1024,
        }
    }
}
