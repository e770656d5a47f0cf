//! What can go wrong with one call, and what each failure means for a retry: whether it is worth
//! another try, whether the server surely did not act, and whether a write's outcome is unknown.
//! [`super::retry::Retry::decide`] reads these; the uploader reads `outcome_unknown`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::envelope;
use super::retry;
use super::waits;

/// What went wrong with one call, after any retries.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a non-2xx status.
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// The raw body (the key redacted), kept for the results file.
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
    /// A 2xx list answer that is not a list we understand.
    #[error("{0}")]
    Shape(#[from] envelope::ShapeError),
    /// A 2xx answer to a single-record call whose body could not be read as a record. For a
    /// write, the change may have been made.
    #[error("{request} answered {status}, but its body {problem}{}", unknown_note(*.write))]
    Unreadable {
        /// `POST /customers`: what was asked.
        request: String,
        status: u16,
        write: bool,
        problem: String,
    },
    /// A 2xx answer whose body is larger than `--max-response-mb`: not read, not retried.
    #[error(
        "the response to {request} was larger than {limit_mb} MB; raise --max-response-mb if \
         this is expected{}", unknown_note(*.write)
    )]
    TooLarge {
        request: String,
        status: u16,
        write: bool,
        limit_mb: u64,
    },
    /// A redirect to another origin, refused so that neither the key nor the body follows it.
    #[error("{0}")]
    Redirected(String),
    /// A failure found on our side about one record (no match, ambiguous match, journal).
    #[error("{0}")]
    Local(String),
    /// Not sent: the run stopped (the [`super::Gate`] closed) before the request left.
    #[error("not sent: the run stopped ({0})")]
    Stopped(String),
    /// The server asked to wait longer than `--max-wait` (a spent quota, a long `Retry-After`):
    /// the request was not sent, and the run stops instead of waiting for hours.
    #[error(
        "{why}: the server asks to wait {} ({until}), more than --max-wait ({}), so nothing \
         more is sent",
        waits::seconds(*.wait), waits::seconds(*.max)
    )]
    WaitTooLong {
        wait: Duration,
        until: String,
        why: String,
        max: Duration,
    },
}

fn unknown_note(write: bool) -> &'static str {
    if write {
        " (the change may have been made)"
    } else {
        ""
    }
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

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server said to slow down (429 or 503).
    pub fn is_throttle(&self) -> bool {
        matches!(self.status(), Some(429 | 503))
    }

    /// Worth another try for a call that is safe to repeat.
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => retry::retryable_status(*status),
            ApiError::Connect { .. } | ApiError::Timeout(_) | ApiError::Transport(_) => true,
            ApiError::Shape(_)
            | ApiError::Unreadable { .. }
            | ApiError::TooLarge { .. }
            | ApiError::Redirected(_)
            | ApiError::Local(_)
            | ApiError::Stopped(_)
            | ApiError::WaitTooLong { .. } => false,
        }
    }

    /// The server surely did not act on the request, so even a POST may be sent again.
    pub fn not_acted(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => retry::refused_without_acting(*status),
            ApiError::Connect { .. } | ApiError::Stopped(_) => true,
            _ => false,
        }
    }

    /// A write whose effect is unknown: it may have been stored although no usable success
    /// came back (a 500/502/504, no answer, a broken connection, a 2xx whose body cannot be
    /// read). The caller looks the record up before sending it again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 500 | 502 | 504),
            ApiError::Timeout(_) | ApiError::Transport(_) => true,
            ApiError::Unreadable { write, .. } | ApiError::TooLarge { write, .. } => *write,
            _ => false,
        }
    }

    /// The status of a 2xx answer to a write whose body could not be read (cut short, not
    /// JSON, too large): the server accepted the write, whatever its body says.
    pub fn accepted(&self) -> Option<u16> {
        match self {
            ApiError::Unreadable {
                status,
                write: true,
                ..
            }
            | ApiError::TooLarge {
                status,
                write: true,
                ..
            } => Some(*status),
            _ => None,
        }
    }

    /// The server refused to serve us at all: wrong key or no right to the resource.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// The request was never sent, and no later one will be before the server's wait is over.
    pub fn is_wait_too_long(&self) -> bool {
        matches!(self, ApiError::WaitTooLong { .. })
    }

    /// The run stopped before this request was served: refused at the gate, or held by a wait
    /// past `--max-wait` (the stop it caused). No answer about the record, never "not found".
    pub fn is_stop(&self) -> bool {
        matches!(self, ApiError::Stopped(_) | ApiError::WaitTooLong { .. })
    }
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
    fn an_unreadable_success_is_an_unknown_outcome_for_writes_only() {
        let unreadable = |write| ApiError::Unreadable {
            request: "POST /customers".into(),
            status: 201,
            write,
            problem: "is not JSON".into(),
        };
        let post = unreadable(true);
        assert!(post.outcome_unknown() && !post.retryable() && !post.not_acted());
        assert_eq!(
            post.to_string(),
            "POST /customers answered 201, but its body is not JSON (the change may have been made)"
        );
        assert!(!unreadable(false).outcome_unknown());
        let big = ApiError::TooLarge {
            request: "GET /customers".into(),
            status: 200,
            write: false,
            limit_mb: 64,
        };
        assert!(!big.retryable() && !big.outcome_unknown());
        assert_eq!(
            big.to_string(),
            "the response to GET /customers was larger than 64 MB; raise --max-response-mb if \
             this is expected"
        );
    }
}
