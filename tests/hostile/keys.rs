//! The key and the server's word about waiting: a key that cannot go in a header, a key echoed
//! back in an error body, and a `Retry-After` of hours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use custbulk::api::{ApiKey, Client, ClientOptions, ListQuery};

use super::serve;
use crate::util::Workdir;

/// Regression: a key file of two lines (a newline inside the key) failed ten times per row with
/// "builder error". It is a usage error at once, and the key is not shown.
#[test]
fn a_key_with_a_control_character_is_a_usage_error_at_once() {
    let wd = Workdir::new();
    wd.write("key.txt", "sk_live_FIRST\nsk_live_SECOND\n");
    let run = wd.exec(&[
        "check",
        "--base-url",
        "http://127.0.0.1:9/api/v2",
        "--api-key-file",
        "key.txt",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the API key contains a control character (newline?)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("sk_live"), "{}", run.stderr);
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
}

/// Regression: a server that echoed the `Authorization` header in its error body got the key
/// kept in the results' `_response`. The key is redacted from every body kept or quoted.
#[test]
fn a_key_echoed_in_an_error_body_is_redacted_everywhere() {
    const KEY: &str = "sk_live_Echoed4242";
    let app = Router::new().route(
        "/api/v2/customers",
        get(|| async { axum::Json(json!([])) }).post(|headers: HeaderMap| async move {
            let auth = headers[header::AUTHORIZATION].to_str().unwrap().to_string();
            let body =
                json!({"message": format!("rejected {auth}"), "headers": {"authorization": auth}});
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }),
    );
    let url = serve(app);
    let wd = Workdir::new();
    wd.write("one.csv", "name\nAlpha\n");
    let run = wd
        .command(&["import", "one.csv", "--no-progress", "--base-url", &url])
        .env("ICLOUDREADY_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let results = wd.read("one.results.csv");
    assert!(results.contains("rejected Bearer <redacted>"), "{results}");
    let mut everything = String::from_utf8_lossy(&run.stderr).into_owned();
    everything.push_str(&String::from_utf8_lossy(&run.stdout));
    for entry in std::fs::read_dir(wd.dir()).unwrap() {
        everything.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(!everything.contains(KEY), "{everything}");
}

/// Regression: a `Retry-After` of two hours was clamped to a cap without a word, and the call
/// retried into the same refusal. Now a wait past `--max-wait` is not waited at all: the call
/// fails at once saying how long the server asked, and every later call too (the run stops).
#[tokio::test]
async fn a_retry_after_of_hours_stops_at_once_and_says_how_long() {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let app = Router::new().route(
        "/api/v2/customers",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "7200")],
                    "{}",
                )
                    .into_response()
            }
        }),
    );
    let options = ClientOptions {
        max_wait: Duration::from_secs(60),
        ..ClientOptions::default()
    };
    let api = Client::new(&serve(app), ApiKey::new("k"), options).unwrap();
    let started = std::time::Instant::now();
    let err = api.list(&ListQuery::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "not waited out");
    assert!(err.is_wait_too_long(), "{err}");
    let said = err.to_string();
    assert!(
        said.contains("asked to wait 2 h 00 min (Retry-After)"),
        "{said}"
    );
    assert!(said.contains("more than --max-wait (60 s)"), "{said}");
    let again = api.list(&ListQuery::default()).await.unwrap_err();
    assert!(again.is_wait_too_long(), "{again}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "nothing more sent");
    assert_eq!(api.retry.throttles.load(Ordering::Relaxed), 1);
}
