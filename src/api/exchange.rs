//! One HTTP exchange, no retry: the request with the key, the answer read as a stream and cut
//! off at `--max-response-mb`, the key redacted from every body kept or quoted, redirects to
//! another origin refused, and each failure turned into an [`ApiError`]. The answer's rate-limit
//! headers go to the throttle; an answer slower than two seconds is said while it is awaited.

use reqwest::Method;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::envelope::{self, Record};
use super::error::{error_message, ApiError};
use super::retry::parse_retry_after;
use super::{allowance, waits, Client, Response};

/// The most of an error body read and kept: enough for any message, never gigabytes.
const ERROR_BODY_KEPT: u64 = 1024 * 1024;

/// How much of a body was read.
enum Body {
    Whole(Vec<u8>),
    /// Cut off at the cap: this much was read, and more was coming.
    Cut(Vec<u8>),
}

/// The redirect policy: follow redirects within the base URL's origin (scheme, host and port),
/// refuse any other, since every request carries the key and a 307/308 would re-send a
/// write's body there.
pub(super) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        let to = attempt.url().origin();
        if first.as_ref().is_some_and(|from| *from != to) {
            let from = first.map_or_else(String::new, |o| o.ascii_serialization());
            let message = format!(
                "the server at {from} redirected to another origin ({}); custbulk does not follow, \
                 so neither the key nor the data leave {from}. Point --base-url at the server \
                 that answers",
                to.ascii_serialization()
            );
            attempt.error(message)
        } else if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

impl Client {
    /// One exchange. A 2xx body over the cap is [`ApiError::TooLarge`]; an error body is kept up
    /// to 1 MB.
    pub(super) async fn attempt(
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
            .bearer_auth(self.key.expose());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(payload) = payload {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(payload.to_vec());
        }
        let started = Instant::now();
        let exchange = async {
            let mut response = request
                .send()
                .await
                .map_err(|e| self.transport_error(method, path, &url, e))?;
            let status = response.status();
            if let Some(said) = allowance::read(response.headers(), server_time(&response)) {
                self.throttle.told(&said);
            }
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let header_total = header_total(response.headers());
            let cap = if status.is_success() {
                self.max_response
            } else {
                self.max_response.min(ERROR_BODY_KEPT)
            };
            let body = match read_capped(&mut response, cap).await {
                Ok(body) => body,
                // The status line said the write was accepted: a body cut short does not undo it.
                Err(e) if status.is_success() && is_write(method) => {
                    return Err(ApiError::Unreadable {
                        request: format!("{method} {path}"),
                        status: status.as_u16(),
                        write: true,
                        problem: format!("broke off ({e})"),
                    })
                }
                Err(e) => return Err(self.transport_error(method, path, &url, e)),
            };
            Ok((status, retry_after, header_total, body))
        };
        let (status, retry_after, header_total, body) =
            self.said_if_slow(exchange, method, path).await?;
        crate::debug!(
            "{method} {path} -> {} in {} ms",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        let body = match (body, status.is_success()) {
            (Body::Whole(body), true) => {
                return Ok(Response {
                    status: status.as_u16(),
                    body,
                    header_total,
                })
            }
            (Body::Cut(_), true) => {
                return Err(ApiError::TooLarge {
                    request: format!("{method} {path}"),
                    status: status.as_u16(),
                    write: is_write(method),
                    limit_mb: self.max_response / (1024 * 1024),
                })
            }
            (Body::Whole(body), false) => body,
            (Body::Cut(mut body), false) => {
                body.extend_from_slice("…".as_bytes());
                body
            }
        };
        let body = self.redact(String::from_utf8_lossy(&body).into_owned());
        Err(ApiError::Status {
            status: status.as_u16(),
            message: error_message(status, body.as_bytes()),
            body,
            retry_after,
        })
    }

    /// Awaits `exchange`; past [`waits::LONG`] the wait is said (once for all the answers slow
    /// at the same time) and shown on the progress bar until the answer is in.
    async fn said_if_slow<T>(
        &self,
        exchange: impl std::future::Future<Output = Result<T, ApiError>>,
        method: &Method,
        path: &str,
    ) -> Result<T, ApiError> {
        let began = Instant::now();
        tokio::pin!(exchange);
        tokio::select! {
            done = &mut exchange => return done,
            () = tokio::time::sleep(waits::LONG) => {}
        }
        let waits = &self.throttle.waits;
        waits.slow_began(began, &format!("{method} {path}"));
        let done = exchange.await;
        waits.slow_ended();
        done
    }

    fn transport_error(
        &self,
        method: &Method,
        path: &str,
        url: &str,
        err: reqwest::Error,
    ) -> ApiError {
        // reqwest's messages carry the URL but never headers, so the key cannot leak here.
        let source = std::error::Error::source(&err).map(|s| s.to_string());
        if err.is_redirect() {
            let reason = source.unwrap_or_else(|| err.to_string());
            return ApiError::Redirected(format!("{method} {path}: {reason}"));
        }
        let reason = source
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

    /// The key replaced by `<redacted>` wherever a server echoed it into a body we keep or
    /// show.
    pub fn redact(&self, text: String) -> String {
        let key = self.key.expose();
        if key.is_empty() || !text.contains(key) {
            return text;
        }
        text.replace(key, "<redacted>")
    }

    /// A single-record body: the record, possibly wrapped; an empty 2xx body gives an empty
    /// record. A body that is not a record is [`ApiError::Unreadable`], naming the request.
    pub(super) fn record_from(
        &self,
        method: &Method,
        path: &str,
        response: Response,
    ) -> Result<Record, ApiError> {
        let body = &response.body;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Record::new());
        }
        let unreadable = |problem: String| ApiError::Unreadable {
            request: format!("{method} {path}"),
            status: response.status,
            write: is_write(method),
            problem,
        };
        let start = || self.redact(envelope::body_start(body));
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| unreadable(format!("is not JSON ({e}); it starts with: {}", start())))?;
        envelope::unwrap_record(value)
            .ok_or_else(|| unreadable(format!("is not a record; it starts with: {}", start())))
    }

    /// A list body parsed (with `--items-path`), with any body it quotes in an error redacted.
    pub fn page_from(&self, body: &[u8]) -> Result<envelope::Page, ApiError> {
        envelope::parse_page(body, self.items_path.as_deref()).map_err(|e| self.shape_error(e))
    }

    /// [`Client::page_from`] with each record left as its raw JSON text.
    pub fn raw_page_from<'a>(
        &self,
        body: &'a [u8],
    ) -> Result<envelope::Page<&'a RawValue>, ApiError> {
        envelope::parse_raw_page(body, self.items_path.as_deref()).map_err(|e| self.shape_error(e))
    }

    fn shape_error(&self, mut e: envelope::ShapeError) -> ApiError {
        match &mut e {
            envelope::ShapeError::NotJson { start, .. }
            | envelope::ShapeError::Unrecognised { start } => {
                *start = self.redact(std::mem::take(start));
            }
        }
        ApiError::Shape(e)
    }
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// Headers some APIs tell a list's total in (json-server's, Yii's, and their kin).
const TOTAL_HEADERS: &[&str] = &[
    "X-Total-Count",
    "X-Total",
    "Total-Count",
    "X-Pagination-Total-Count",
];

/// The total a list's headers tell, and which header told it.
fn header_total(headers: &reqwest::header::HeaderMap) -> Option<(u64, &'static str)> {
    TOTAL_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim().parse().ok()?;
        Some((value, *name))
    })
}

/// The time now since the Unix epoch on the server's clock, for a reset given as a date: ours,
/// moved by whole seconds to the server's `Date` when they disagree by more than a second (the
/// `Date` is whole seconds, ours is finer).
fn server_time(response: &reqwest::Response) -> std::time::Duration {
    let ours = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let theirs = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.timestamp() as f64);
    match theirs {
        Some(theirs) if (theirs - ours.as_secs_f64()).abs() > 1.5 => {
            let skew = (theirs - ours.as_secs_f64()).round();
            std::time::Duration::from_secs_f64((ours.as_secs_f64() + skew).max(0.0))
        }
        _ => ours,
    }
}

/// Reads a body chunk by chunk, stopping as soon as it would pass `cap` bytes: a 3 GB answer
/// costs at most `cap` of memory, and its connection is dropped rather than drained.
async fn read_capped(response: &mut reqwest::Response, cap: u64) -> Result<Body, reqwest::Error> {
    if response.status().is_success() && response.content_length().is_some_and(|n| n > cap) {
        return Ok(Body::Cut(Vec::new()));
    }
    let expected = response.content_length().unwrap_or(0).min(cap);
    let mut body = Vec::with_capacity(expected as usize);
    while let Some(chunk) = response.chunk().await? {
        let room = cap.saturating_sub(body.len() as u64) as usize;
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok(Body::Cut(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body))
}
