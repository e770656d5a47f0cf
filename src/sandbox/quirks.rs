//! Broken servers: answers that a careless client would take at their word. A POST answered 2xx
//! with a body cut in half or with an HTML page (the customer is stored all the same), lists
//! whose later pages are empty while the envelope says there is more, a server that answers
//! page 1 whatever page is asked, and error bodies that echo the Authorization header.
//!
//! Unlike the random faults these are deterministic: every request they apply to has them.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

/// How a stored POST's 2xx answer is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WriteBody {
    /// The JSON body cut in half (the status and a matching Content-Length kept).
    Cut,
    /// `200 text/html`, a web page instead of JSON.
    Html,
}

/// The deterministic misbehaviours; `Default` has none.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Broken servers")]
pub struct Quirks {
    /// After storing a POST, answer with its JSON body cut in half (cut) or with 200 text/html
    /// (html).
    #[arg(long, value_enum, value_name = "HOW")]
    pub write_body: Option<WriteBody>,

    /// Pages after the first come back empty, while totalDocs and hasNextPage say there is more.
    #[arg(long)]
    pub short_list: bool,

    /// Every list request answers page 1, whatever page it asks for.
    #[arg(long)]
    pub ignore_page: bool,

    /// Error bodies echo the request's Authorization header (key included).
    #[arg(long)]
    pub echo_auth: bool,
}

/// The largest error body rewritten by `--echo-auth`; the sandbox's own are tiny.
const MAX_ERROR_BODY: usize = 1 << 20;

impl Quirks {
    /// The Authorization header to echo later, when `--echo-auth` is on.
    pub(crate) fn keep_auth(&self, headers: &axum::http::HeaderMap) -> Option<HeaderValue> {
        if self.echo_auth {
            headers.get(header::AUTHORIZATION).cloned()
        } else {
            None
        }
    }

    /// Damages a successful POST's answer as `--write-body` says.
    pub(crate) async fn after_write(&self, method: &Method, response: Response) -> Response {
        let Some(how) = self.write_body else {
            return response;
        };
        if *method != Method::POST || !response.status().is_success() {
            return response;
        }
        match how {
            WriteBody::Cut => {
                let (mut parts, body) = response.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                    return Response::from_parts(parts, Body::empty());
                };
                parts.headers.remove(header::CONTENT_LENGTH);
                Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
            }
            WriteBody::Html => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::from(
                    "<!DOCTYPE html>\n<html><body><h1>Saved</h1><p>Thank you.</p></body></html>\n",
                ))
                .unwrap_or_default(),
        }
    }

    /// Adds `"headers": {"authorization": ...}` to a JSON error body, for `--echo-auth`.
    pub(crate) async fn echo(&self, auth: Option<HeaderValue>, response: Response) -> Response {
        let Some(auth) = auth else {
            return response;
        };
        let status = response.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let mut value: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({ "message": "Error" }));
        if let Value::Object(object) = &mut value {
            let echoed = String::from_utf8_lossy(auth.as_bytes()).into_owned();
            object.insert("headers".into(), json!({ "authorization": echoed }));
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(value.to_string()))
    }
}
