//! The HTTP client for the Customers API: auth, calls, errors, retries, load.
//!
//! One `reqwest` client (rustls, one connection pool) per run. Every call goes through
//! [`Client::send`], which owns the retry loop: it takes a place from the [`Throttle`]
//! (adaptive concurrency, pauses, the pace) through the [`Gate`] (refused once the run
//! stopped), makes one [`exchange`] (which also reads the server's rate-limit headers,
//! [`allowance`]), tells the throttle what the attempt showed, and asks [`Retry::decide`]
//! whether to go again. Waits longer than two seconds are said ([`waits`]). POSTs are only
//! re-sent when the server surely did not act (connect refused, 408, 429, 503); otherwise the
//! ambiguous error goes back to the caller, which looks the record up first.

pub mod allowance;
pub mod concurrency;
pub mod envelope;
mod error;
mod exchange;
pub mod gate;
mod options;
pub mod pace;
pub mod retry;
pub mod throttle;
mod traffic;
pub mod waits;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

pub use concurrency::{Concurrency, LoadReport};
use concurrency::{Pushback, Signal};
pub use envelope::{record_id, Envelope, Page, Record};
pub use error::{error_message, ApiError};
pub use gate::Gate;
pub use options::{ClientOptions, MAX_RESPONSE_MB};
use retry::Retry;
use throttle::Throttle;
pub use traffic::Traffic;

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// Refuses a key that cannot be sent in a header: a control character (a newline from a
    /// key file of two lines, a tab) would fail every request with "builder error". The message
    /// says where, never what the key is.
    pub fn check(&self) -> Result<(), String> {
        match self.0.chars().position(char::is_control) {
            Some(at) => Err(format!(
                "the API key contains a control character (newline?) at character {} of {}: \
                 check ICLOUDREADY_API_KEY or the --api-key-file (the key is not shown)",
                at + 1,
                self.0.chars().count()
            )),
            None => Ok(()),
        }
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
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

/// Whether `base_url` is `http://` (any case): the sandbox, or a local proxy.
fn is_plain_http(base_url: &str) -> bool {
    base_url
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// Makes ring the process's rustls crypto provider, once. Since reqwest 0.13 the application
/// chooses it (reqwest's own default is aws-lc-rs, a C build custbulk does without), and every
/// reqwest client built in the process needs one: code that builds its own reqwest client
/// beside ours (tests, benchmarks) calls this first; [`Client::new`] and the sandbox do.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means another provider was installed first: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The Customers API client. Cheap to clone; clones share the pool, throttle and retry budget.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    key: ApiKey,
    timeout: Duration,
    items_path: Option<Arc<str>>,
    first_page: u64,
    max_response: u64,
    /// Bounds, pauses and paces requests; its controller moves the limit. Shared by clones.
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

/// A successful answer: status and body, and the total a header told (`X-Total-Count` and the
/// like), for a list.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub header_total: Option<(u64, &'static str)>,
}

/// A change to one customer, as sent by [`Client::write`].
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    /// `POST /customers`. Never re-sent when the outcome is unknown: the caller decides.
    Create(&'a Record),
    /// `PATCH /customers/:id`: changes only the fields sent.
    Patch(&'a str, &'a Record),
    /// `PUT /customers/:id`: replaces the record.
    Put(&'a str, &'a Record),
    /// `DELETE /customers/:id`.
    Delete(&'a str),
}

/// A write's answer: the status the server sent and the record it answered (empty for a
/// DELETE, or when it answered none).
#[derive(Debug)]
pub struct Written {
    pub status: u16,
    pub record: Record,
}

/// What runs once a write has its place under the throttle, just before it leaves: the
/// journal's write-ahead mark. An error from it keeps the request from leaving.
pub type Ahead<'a> = &'a (dyn Fn() -> Result<(), ApiError> + Sync);

impl Client {
    /// Builds a client for `base_url` (e.g. `https://api.icloud-ready.com/api/v2`). A key that
    /// cannot go in a header, or a base URL with credentials in it, is a usage error.
    pub fn new(base_url: &str, key: ApiKey, options: ClientOptions) -> anyhow::Result<Client> {
        key.check().map_err(crate::error::usage)?;
        install_tls_provider();
        if has_credentials(base_url) {
            return Err(crate::error::usage(CREDENTIALS_IN_URL));
        }
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("custbulk/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(options.timeout)
            .pool_max_idle_per_host(options.concurrency.most() * 2)
            .redirect(exchange::redirect_policy());
        if is_plain_http(base_url) {
            // Redirects stay within the origin, so a plain-HTTP API never reaches TLS: the
            // system's certificates (read from disk, 3-8 ms a start) are not loaded for it.
            http = http.tls_certs_only([]);
        }
        let http = http.build()?;

        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').into(),
            key,
            timeout: options.timeout,
            items_path: options.items_path.map(Into::into),
            first_page: options.first_page,
            max_response: options.max_response_bytes.max(1),
            throttle: Arc::new(Throttle::new(
                options.concurrency,
                options.rate,
                options.max_wait,
            )),
            retry: Arc::new(Retry::new(options.retry)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The number of a list's first page (1, or 0 as the API profile says).
    pub fn first_page(&self) -> u64 {
        self.first_page
    }

    /// The concurrency limit it settled at, the current one, and the round trips it saw.
    pub fn load(&self) -> LoadReport {
        self.throttle.report()
    }

    /// `GET /customers` for one page.
    pub async fn list(&self, query: &ListQuery) -> Result<Page, ApiError> {
        let listed = self.list_body(query).await?;
        Ok(self
            .page_from(&listed.body)?
            .with_header_total(listed.header_total))
    }

    /// `GET /customers` answered, unparsed: for [`Client::raw_page_from`].
    pub async fn list_body(&self, query: &ListQuery) -> Result<Response, ApiError> {
        self.send(Method::GET, "/customers", &query.pairs(), None)
            .await
    }

    /// `GET /customers/:id`.
    pub async fn get(&self, id: &str) -> Result<Record, ApiError> {
        self.record_call(Method::GET, &customer_path(id)?, None)
            .await
    }

    /// Sends one change; `ahead` runs once, just before the first attempt leaves.
    pub async fn write(&self, write: Write<'_>, ahead: Ahead<'_>) -> Result<Written, ApiError> {
        let (method, path, body) = match write {
            Write::Create(body) => (Method::POST, "/customers".to_owned(), Some(body)),
            Write::Patch(id, body) => (Method::PATCH, customer_path(id)?, Some(body)),
            Write::Put(id, body) => (Method::PUT, customer_path(id)?, Some(body)),
            Write::Delete(id) => (Method::DELETE, customer_path(id)?, None),
        };
        let response = self
            .call(method.clone(), &path, &[], body, Some(ahead))
            .await?;
        let status = response.status;
        let record = match write {
            Write::Delete(_) => Record::new(),
            _ => self.record_from(&method, &path, response)?,
        };
        Ok(Written { status, record })
    }

    /// `POST /customers` with no journal mark (tools and tests; runs of changes use
    /// [`Client::write`]).
    pub async fn create(&self, body: &Record) -> Result<Record, ApiError> {
        Ok(self.write(Write::Create(body), &|| Ok(())).await?.record)
    }

    /// `PUT /customers/:id` with no journal mark.
    pub async fn replace(&self, id: &str, body: &Record) -> Result<Record, ApiError> {
        Ok(self.write(Write::Put(id, body), &|| Ok(())).await?.record)
    }

    /// `PATCH /customers/:id` with no journal mark.
    pub async fn patch(&self, id: &str, body: &Record) -> Result<Record, ApiError> {
        Ok(self.write(Write::Patch(id, body), &|| Ok(())).await?.record)
    }

    /// `DELETE /customers/:id` with no journal mark: for `check --write`'s test customer.
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        self.write(Write::Delete(id), &|| Ok(())).await.map(drop)
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
        let path = match id {
            Some(id) => customer_path(id)?,
            None => "/customers".to_owned(),
        };
        self.send(method, &path, query, body).await
    }

    async fn record_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Record>,
    ) -> Result<Record, ApiError> {
        let response = self.send(method.clone(), path, &[], body).await?;
        self.record_from(&method, path, response)
    }

    /// Sends one call through the throttle, retrying what [`Retry::decide`] says to retry.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Record>,
    ) -> Result<Response, ApiError> {
        self.call(method, path, query, body, None).await
    }

    /// [`Client::send`], running `ahead` before the first attempt leaves. A call's final
    /// error that dooms every other request (the key refused, no connection) closes the gate.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Record>,
        ahead: Option<Ahead<'_>>,
    ) -> Result<Response, ApiError> {
        let result = self.attempts(method, path, query, body, ahead).await;
        if let Err(err) = &result {
            self.throttle.gate.judge(err);
        }
        result
    }

    async fn attempts(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Record>,
        mut ahead: Option<Ahead<'_>>,
    ) -> Result<Response, ApiError> {
        let idempotent = method != Method::POST;
        let payload = body.map(|b| serde_json::to_vec(b).expect("a JSON map always serialises"));
        let mut attempt = 1;
        loop {
            let turn = self.throttle.admit().await?;
            if let Some(ahead) = ahead.take() {
                ahead()?;
            }
            let started = Instant::now();
            let result = self.attempt(&method, path, query, payload.as_deref()).await;
            turn.finish(signal(&result, started.elapsed()));
            self.throttle.gate.count(started, &result);
            let err = match result {
                Ok(response) => {
                    self.retry.refund();
                    return Ok(response);
                }
                Err(err) => err,
            };
            let wait = self.retry.decide(&err, idempotent, attempt);
            if err.is_throttle() {
                self.retry
                    .throttles
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The server said to slow down: every request waits, not only this one.
                if let Some(pause) = err.retry_after().or(wait) {
                    let (short, detail) = throttle_words(&err);
                    self.throttle.pause(pause, &short, &detail)?;
                }
            }
            let Some(wait) = wait else {
                return Err(err);
            };
            crate::debug!("{method} {path} will be retried in {wait:?}: {err}");
            if wait > waits::LONG && !err.is_throttle() {
                let until = tokio::time::Instant::now() + wait;
                let detail = format!("{method} {path} is retried after: {err}");
                self.throttle
                    .waits
                    .ahead(until, "retrying after a failure", &detail);
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// How a throttle's pause is said: on the progress bar, and in the log line.
fn throttle_words(err: &ApiError) -> (String, String) {
    let status = err.status().unwrap_or(429);
    match err.retry_after() {
        Some(asked) => (
            format!("the server asked ({status})"),
            format!(
                "the server answered {status} and asked to wait {} (Retry-After)",
                waits::seconds(asked)
            ),
        ),
        None => (
            format!("backing off after a {status}"),
            format!("the server answered {status} without saying how long to wait: backing off"),
        ),
    }
}

/// What an attempt tells the concurrency controller: a round trip the server handled, push-back
/// (429/503, a timeout, a failed connection), or nothing worth learning from.
fn signal(result: &Result<Response, ApiError>, rtt: Duration) -> Signal {
    match result {
        Ok(_) => Signal::Answered(rtt),
        Err(ApiError::Status { status, .. }) => match *status {
            429 | 503 => Signal::Pushback(Pushback::Throttled(*status)),
            500..=599 if *status != 501 => Signal::Silent,
            _ => Signal::Answered(rtt),
        },
        Err(ApiError::Timeout(_)) => Signal::Pushback(Pushback::Timeout),
        Err(ApiError::Connect { .. } | ApiError::Transport(_)) => {
            Signal::Pushback(Pushback::Connection)
        }
        Err(ApiError::Shape(_) | ApiError::Unreadable { .. }) => Signal::Answered(rtt),
        Err(
            ApiError::TooLarge { .. }
            | ApiError::Redirected(_)
            | ApiError::Local(_)
            | ApiError::Stopped(_)
            | ApiError::WaitTooLong { .. },
        ) => Signal::Silent,
    }
}

/// Why a base URL with credentials is refused (it never quotes the URL).
pub const CREDENTIALS_IN_URL: &str =
    "--base-url contains a user name or password (user:key@host): \
     custbulk would print and store it. Give the URL without them, and the key with \
     ICLOUDREADY_API_KEY or --api-key-file";

/// Whether a URL carries `user:password@` in its authority.
pub fn has_credentials(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(url) => !url.username().is_empty() || url.password().is_some(),
        // Not a URL: look for an `@` in what would be its authority.
        Err(_) => {
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            rest.split(['/', '?', '#'])
                .next()
                .unwrap_or("")
                .contains('@')
        }
    }
}

/// `/customers/{id}`, the id kept inside its segment: anything not safe in a segment is
/// percent-encoded. `.` and `..` cannot be sent at all: every URL parser (reqwest's included,
/// per the WHATWG URL standard) resolves them, even encoded as `%2E`, so a request for customer
/// `..` would reach `/api/v2/` and one for `.` the collection. An empty id is refused too.
fn customer_path(id: &str) -> Result<String, ApiError> {
    if matches!(id, "" | "." | "..") {
        return Err(ApiError::Local(format!(
            "the customer id {id:?} cannot be put in a URL path (it would address {}), so no \
             request was sent for it",
            if id.is_empty() || id == "." {
                "the whole collection"
            } else {
                "the API root"
            }
        )));
    }
    let mut path = String::from("/customers/");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(customer_path("abc123").unwrap(), "/customers/abc123");
        assert_eq!(customer_path("a/b c").unwrap(), "/customers/a%2Fb%20c");
        assert_eq!(customer_path("a.b").unwrap(), "/customers/a.b");
        assert_eq!(customer_path("...").unwrap(), "/customers/...");
        for id in ["", ".", ".."] {
            assert!(customer_path(id).is_err(), "{id:?}");
        }
    }

    /// Why `.` and `..` are refused rather than encoded: the URL parser undoes the encoding.
    #[test]
    fn the_url_parser_resolves_encoded_dot_segments() {
        for (path, resolved) in [("%2E", "/api/v2/customers/"), ("%2E%2E", "/api/v2/")] {
            let url = reqwest::Url::parse(&format!("http://h/api/v2/customers/{path}")).unwrap();
            assert_eq!(url.path(), resolved);
        }
    }

    #[test]
    fn keys_with_control_characters_and_urls_with_credentials_are_refused() {
        let err = Client::new(
            "https://x.test/api/v2",
            ApiKey::new("sk_live_SECRET\nsecond line"),
            ClientOptions::default(),
        )
        .unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("control character (newline?)"));
        assert!(!err.to_string().contains("SECRET"));
        assert!(ApiKey::new("tab\there").check().is_err());
        assert!(ApiKey::new("sk_live_ok-é").check().is_ok());

        for url in [
            "https://user:hunter2@api.example.com/api/v2",
            "https://hunter2@api.example.com/api/v2",
            "https://user:hunter2@exa mple.com/",
        ] {
            assert!(has_credentials(url), "{url}");
            let err = Client::new(url, ApiKey::new("k"), ClientOptions::default()).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
        assert!(!has_credentials("https://api.example.com/api/v2?q=a@b"));
    }
}
