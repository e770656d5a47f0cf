//! Bodies a server should not send: gigabytes of list (read only up to `--max-response-mb`, in
//! bounded memory, never retried), and 2xx answers to a write that are not JSON (an unknown
//! outcome, reconciled by key, never a `failed` row about "the list response").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use custbulk::api::{ApiError, ApiKey, Client, ClientOptions, ListQuery};

use super::serve;
use crate::util::Workdir;

/// A server whose list answers `megabytes` MB of JSON whitespace, streamed without a length
/// (so only reading can find its size), and counts the list requests.
fn flood(megabytes: usize) -> (String, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let app = Router::new().route(
        "/api/v2/customers",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let chunk = Bytes::from(vec![b' '; 1 << 20]);
                let chunks = std::iter::repeat_n(chunk, megabytes).map(Ok::<_, std::io::Error>);
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }
        }),
    );
    (serve(app), calls)
}

/// The largest peak resident set of the children this test process has waited for, in MB.
fn children_peak_mb() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(ok, 0);
    usage.ru_maxrss as f64 / 1024.0
}

/// Regression: a 3 GB list body was read whole (17.9 GB RSS). It is now cut off at 64 MB:
/// the request fails with a message that says what to raise, it is not retried, and the
/// process stays small.
#[test]
fn a_list_of_gigabytes_is_cut_off_at_the_cap_in_bounded_memory() {
    let (url, calls) = flood(3 * 1024);
    let wd = Workdir::new();
    let run = wd
        .command(&["check", "--base-url", &url])
        .env("ICLOUDREADY_API_KEY", "k")
        .output()
        .unwrap();
    // check prints its report, problems included, on stdout.
    let stderr = String::from_utf8_lossy(&run.stdout) + String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "the response to GET /customers was larger than 64 MB; raise --max-response-mb if \
             this is expected"
        ),
        "{stderr}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a body too big is not retried"
    );
    let peak = children_peak_mb();
    assert!(peak < 250.0, "peak RSS {peak:.0} MB");
}

#[tokio::test]
async fn the_cap_is_set_per_client_and_a_body_under_it_is_read() {
    let (url, calls) = flood(3);
    let small = ClientOptions {
        max_response_bytes: 2 << 20,
        ..ClientOptions::default()
    };
    let api = Client::new(&url, ApiKey::new("k"), small).unwrap();
    let err = api.list(&ListQuery::default()).await.unwrap_err();
    assert!(
        matches!(err, ApiError::TooLarge { limit_mb: 2, .. }),
        "{err}"
    );
    let api = Client::new(&url, ApiKey::new("k"), ClientOptions::default()).unwrap();
    let err = api.list(&ListQuery::default()).await.unwrap_err();
    assert!(
        err.to_string().contains("not JSON"),
        "3 MB are read, then found empty: {err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A server that stores what is POSTed but answers some creates with a body that cannot be
/// read (cut in half, or HTML), and lists what it stored for lookups.
fn broken_creates() -> (String, Arc<Mutex<Vec<Value>>>) {
    let store = Arc::new(Mutex::new(Vec::<Value>::new()));
    let (list_store, post_store) = (store.clone(), store.clone());
    let app = Router::new().route(
        "/api/v2/customers",
        get(move || {
            let docs = list_store.lock().unwrap().clone();
            async move {
                let total = docs.len();
                axum::Json(json!({"docs": docs, "totalDocs": total, "page": 1, "totalPages": 1}))
            }
        })
        .post(move |axum::Json(mut body): axum::Json<Value>| {
            let store = post_store.clone();
            async move {
                let mut store = store.lock().unwrap();
                body["_id"] = json!(format!("id{}", store.len() + 1));
                let name = body["name"].as_str().unwrap_or_default().to_string();
                let full = body.to_string();
                store.push(body);
                match name.as_str() {
                    "Cut" => {
                        (StatusCode::CREATED, full[..full.len() / 2].to_string()).into_response()
                    }
                    _ => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/html")],
                        "<html><body>Created!</body></html>",
                    )
                        .into_response(),
                }
            }
        }),
    );
    (serve(app), store)
}

/// Regression: a 201 cut in half and a `200 text/html` made both rows `failed` ("the list
/// response is not JSON"), although both customers were created, so re-importing the failed
/// rows made them twice. Now the outcome is unknown, the import looks each up by its key, and
/// finds it: both `created`, each stored once.
#[test]
fn a_write_answered_2xx_with_an_unreadable_body_is_reconciled_not_failed() {
    let (url, store) = broken_creates();
    let wd = Workdir::new();
    wd.write("two.csv", "name;city\nCut;Lyon\nHtml;Paris\n");
    let run = wd
        .command(&["import", "two.csv", "--no-progress", "--base-url", &url])
        .env("ICLOUDREADY_API_KEY", "k")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let results = wd.read("two.results.csv");
    assert!(!results.contains("list response"), "{results}");
    let mut reader = csv::Reader::from_reader(results.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        assert_eq!(&row[at("_outcome")], "created", "{results}");
        assert!(row[at("_id")].starts_with("id"), "{results}");
    }
    assert_eq!(store.lock().unwrap().len(), 2, "each created once");
}
