//! The HTTP client for the Customers API: auth, calls, errors, retries.
//!
//! One `reqwest` client (rustls, one connection pool) per run. Every call goes through
//! [`Client::send`], which owns the retry loop; POSTs are only re-sent when the server surely did
//! not act (connect refused, 408, 429, 503), and otherwise hand the ambiguous error back so the
//! caller can look the record up before trying again.

pub mod envelope;
pub mod retry;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use envelope::{record_id, Envelope, Page, Record};
use retry::{Retry, RetryPolicy, Throttle};

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// What went wrong with one call, after any retries.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a non-2xx status.
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// The raw body, kept for the results file.
        body: String,
        retry_after: Option<Duration>,
    },
    /// No connection could be made: the request was never sent.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// Sent, but no answer in time: the server may or may not have acted.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The connection broke after the request was sent: the server may or may not have acted.
    #[error("connection lost: {0}")]
    Transport(String),
    /// A 2xx answer whose body could not be understood.
    #[error("{0}")]
    Shape(#[from] envelope::ShapeError),
    /// A failure found on our side about one record (no match, ambiguous match, journal).
    #[error("{0}")]
    Local(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The raw body of an error response, if any.
    pub fn body(&self) -> Option<&str> {
        match self {
            ApiError::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Worth another try for a call that is safe to repeat.
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => retry::retryable_status(*status),
            ApiError::Connect { .. } | ApiError::Timeout(_) | ApiError::Transport(_) => true,
            ApiError::Shape(_) | ApiError::Local(_) => false,
        }
    }

    /// The server surely did not act on the request, so even a POST may be sent again.
    pub fn not_acted(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => retry::refused_without_acting(*status),
            ApiError::Connect { .. } => true,
            _ => false,
        }
    }

    /// A write whose effect is unknown: it may have been stored although no success came back.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 500 | 502 | 504),
            ApiError::Timeout(_) | ApiError::Transport(_) => true,
            _ => false,
        }
    }

    /// The server refused to serve us at all: wrong key or no right to the resource.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }
}

/// The query of one list call. Unset parameters are not sent.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: Option<u64>,
    pub page: Option<u64>,
    pub sort_by: Option<String>,
    pub order: Option<String>,
    pub fields: Option<String>,
    pub p: Option<String>,
    pub q: Option<String>,
}

impl ListQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let numbers = [("limit", self.limit), ("page", self.page)];
        pairs.extend(
            numbers
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?.to_string()))),
        );
        let texts = [
            ("sortBy", &self.sort_by),
            ("order", &self.order),
            ("fields", &self.fields),
            ("p", &self.p),
            ("q", &self.q),
        ];
        pairs.extend(texts.into_iter().filter_map(|(k, v)| Some((k, v.clone()?))));
        pairs
    }
}

/// How a client is set up.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub retry: RetryPolicy,
    /// Where list responses keep their records, when detection is not enough.
    pub items_path: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            concurrency: 8,
            rate: None,
            retry: RetryPolicy::default(),
            items_path: None,
        }
    }
}

/// How hard a bulk run may press the API: `--concurrency` and `--rate`, shared by the commands
/// that write.
#[derive(Debug, Clone, clap::Args)]
pub struct Load {
    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Requests per second at most.
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,
}

impl Load {
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            concurrency: self.concurrency as usize,
            rate: self.rate,
            ..ClientOptions::default()
        }
    }
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second"
        )),
    }
}

/// The Customers API client. Cheap to clone; clones share the pool, throttle and retry budget.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    key: ApiKey,
    timeout: Duration,
    items_path: Option<Arc<str>>,
    /// Bounds and paces requests; shared by every clone.
    pub throttle: Arc<Throttle>,
    /// Retry policy and counters; shared by every clone.
    pub retry: Arc<Retry>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish()
    }
}

/// A successful answer: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    /// Builds a client for `base_url` (e.g. `https://api.icloud-ready.com/api/v2`).
    pub fn new(base_url: &str, key: ApiKey, options: ClientOptions) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("custbulk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(options.timeout)
            .pool_max_idle_per_host(options.concurrency.max(1) * 2)
            .build()?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').into(),
            key,
            timeout: options.timeout,
            items_path: options.items_path.map(Into::into),
            throttle: Arc::new(Throttle::new(options.concurrency, options.rate)),
            retry: Arc::new(Retry::new(options.retry)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /customers` for one page.
    pub async fn list(&self, query: &ListQuery) -> Result<Page, ApiError> {
        let response = self
            .send(Method::GET, "/customers", &query.pairs(), None)
            .await?;
        Ok(envelope::parse_page(
            &response.body,
            self.items_path.as_deref(),
        )?)
    }

    /// `GET /customers/:id`.
    pub async fn get(&self, id: &str) -> Result<Record, ApiError> {
        let response = self
            .send(Method::GET, &customer_path(id), &[], None)
            .await?;
        record_from(&response.body)
    }

    /// `POST /customers`. Never re-sent when the outcome is unknown: the caller decides.
    pub async fn create(&self, body: &Record) -> Result<Record, ApiError> {
        let response = self
            .send(Method::POST, "/customers", &[], Some(body))
            .await?;
        record_from(&response.body)
    }

    /// `PUT /customers/:id`: replaces the record.
    pub async fn replace(&self, id: &str, body: &Record) -> Result<Record, ApiError> {
        let response = self
            .send(Method::PUT, &customer_path(id), &[], Some(body))
            .await?;
        record_from(&response.body)
    }

    /// `PATCH /customers/:id`: changes only the fields sent.
    pub async fn patch(&self, id: &str, body: &Record) -> Result<Record, ApiError> {
        let response = self
            .send(Method::PATCH, &customer_path(id), &[], Some(body))
            .await?;
        record_from(&response.body)
    }

    /// `DELETE /customers/:id`.
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        self.send(Method::DELETE, &customer_path(id), &[], None)
            .await
            .map(drop)
    }

    /// One call to the collection (`id` None) or to one customer, answered with the raw status
    /// and body: for `check --write`, which reports what the server said, whatever it was.
    pub async fn exchange(
        &self,
        method: Method,
        id: Option<&str>,
        query: &[(&str, String)],
        body: Option<&Record>,
    ) -> Result<Response, ApiError> {
        let path = id.map_or_else(|| "/customers".to_owned(), customer_path);
        self.send(method, &path, query, body).await
    }

    /// A list answer's body read as [`Client::list`] reads it (with `--items-path`).
    pub fn page_from(&self, body: &[u8]) -> Result<Page, ApiError> {
        Ok(envelope::parse_page(body, self.items_path.as_deref())?)
    }

    /// `text` with the key hidden, for showing what a server sent back (some echo headers).
    pub fn hide_key(&self, text: &str) -> String {
        if self.key.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.key.0, "<key>")
        }
    }

    /// Sends one call through the throttle, retrying what is safe to retry.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Record>,
    ) -> Result<Response, ApiError> {
        let idempotent = method != Method::POST;
        let payload = body.map(|b| serde_json::to_vec(b).expect("a JSON map always serialises"));
        let mut attempt = 1;
        loop {
            let slot = self.throttle.slot().await;
            let result = self.attempt(&method, path, query, payload.as_deref()).await;
            drop(slot);
            let err = match result {
                Ok(response) => {
                    self.throttle.succeeded();
                    self.retry.refund();
                    return Ok(response);
                }
                Err(err) => err,
            };
            let retry_after = match &err {
                ApiError::Status {
                    status: 429 | 503,
                    retry_after,
                    ..
                } => {
                    self.throttle.throttled();
                    self.retry
                        .throttles
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    *retry_after
                }
                _ => None,
            };
            let again = if idempotent {
                err.retryable()
            } else {
                err.not_acted()
            };
            if !again || !self.retry.take(attempt) {
                return Err(err);
            }
            let wait = retry_after.unwrap_or_else(|| retry::backoff(&self.retry.policy, attempt));
            crate::debug!("{method} {path} will be retried in {wait:?}: {err}");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One HTTP exchange, no retry.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        payload: Option<&[u8]>,
    ) -> Result<Response, ApiError> {
        let url = format!("{}{}", self.base, path);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.key.0);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(payload) = payload {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(payload.to_vec());
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&url, e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, self.retry.policy.max_retry_after));
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&url, e))?
            .to_vec();
        crate::debug!(
            "{method} {path} -> {} in {} ms",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        if status.is_success() {
            return Ok(Response {
                status: status.as_u16(),
                body,
            });
        }
        Err(ApiError::Status {
            status: status.as_u16(),
            message: error_message(status, &body),
            body: String::from_utf8_lossy(&body).into_owned(),
            retry_after,
        })
    }

    fn transport_error(&self, url: &str, err: reqwest::Error) -> ApiError {
        // reqwest's messages carry the URL but never headers, so the key cannot leak here.
        let reason = std::error::Error::source(&err)
            .map(|s| format!("{err}: {s}"))
            .unwrap_or_else(|| err.to_string());
        if err.is_timeout() {
            ApiError::Timeout(self.timeout)
        } else if err.is_connect() {
            ApiError::Connect {
                url: url.to_string(),
                reason,
            }
        } else {
            ApiError::Transport(reason)
        }
    }
}

fn customer_path(id: &str) -> String {
    // Ids are opaque: escape anything that is not safe in a path segment.
    let mut path = String::from("/customers/");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    path
}

/// A single-record body: the record, possibly wrapped; an empty 2xx body gives an empty record.
fn record_from(body: &[u8]) -> Result<Record, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Record::new());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| envelope::ShapeError::NotJson {
        reason: e.to_string(),
        start: envelope::body_start(body),
    })?;
    envelope::unwrap_record(value).ok_or_else(|| {
        ApiError::Shape(envelope::ShapeError::Unrecognised {
            start: envelope::body_start(body),
        })
    })
}

/// The human message in an error body: `message`, `error`, `errors` (list or field map), or the
/// status's reason when the body says nothing.
pub fn error_message(status: StatusCode, body: &[u8]) -> String {
    let fallback = || status.canonical_reason().unwrap_or("error").to_string();
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return if text.is_empty() || text.starts_with('<') {
            fallback()
        } else {
            envelope::body_start(text.as_bytes())
        };
    };
    let mut parts = Vec::new();
    if let Some(message) = value.get("message").and_then(text_of) {
        parts.push(message);
    } else if let Some(error) = value.get("error").and_then(text_of) {
        parts.push(error);
    }
    match value.get("errors") {
        Some(Value::Array(list)) => parts.extend(list.iter().filter_map(text_of)),
        Some(Value::Object(map)) => parts.extend(map.iter().map(|(field, e)| match text_of(e) {
            Some(text) => format!("{field}: {text}"),
            None => field.clone(),
        })),
        _ => {}
    }
    if parts.is_empty() {
        fallback()
    } else {
        parts.join("; ")
    }
}

/// A message from a string, or from an object's `message`/`msg`.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").or_else(|| o.get("msg")).and_then(text_of),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        error_message(StatusCode::BAD_REQUEST, body.as_bytes())
    }

    #[test]
    fn error_messages_are_found_in_every_common_shape() {
        assert_eq!(message(r#"{"message":"Bad siret"}"#), "Bad siret");
        assert_eq!(message(r#"{"error":"Nope"}"#), "Nope");
        assert_eq!(message(r#"{"error":{"message":"Deep"}}"#), "Deep");
        assert_eq!(message(r#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(
            message(
                r#"{"message":"Validation failed","errors":{"capital":{"message":"must be an integer"},"name":"required"}}"#
            ),
            "Validation failed; capital: must be an integer; name: required"
        );
        assert_eq!(message(""), "Bad Request");
        assert_eq!(message("<html>502</html>"), "Bad Request");
        assert_eq!(message("plain words"), "plain words");
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let client = Client::new(
            "https://x.test/api/v2",
            ApiKey::new("sk_live_SECRET"),
            ClientOptions::default(),
        )
        .unwrap();
        let shown = format!("{client:?} {:?}", ApiKey::new("sk_live_SECRET"));
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(customer_path("abc123"), "/customers/abc123");
        assert_eq!(customer_path("a/b c"), "/customers/a%2Fb%20c");
    }
}
