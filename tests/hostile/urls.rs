//! Where requests go: ids that would leave their path segment, redirects to another origin,
//! and a base URL that carries credentials.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use custbulk::api::{record_id, ApiError, ApiKey, Client, ClientOptions, ListQuery};

use super::{serve, Seen};
use crate::util::{record, Workdir};

/// A server that records the path of every request exactly as it arrived, and answers a record.
fn recorder() -> (String, Seen) {
    let seen = Seen::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |request: Request| {
        let log = log.clone();
        async move {
            log.push(format!("{} {}", request.method(), request.uri().path()));
            axum::Json(serde_json::json!({"_id": "x", "name": "n"}))
        }
    });
    (serve(app), seen)
}

fn client(url: &str) -> Client {
    Client::new(url, ApiKey::new("k"), ClientOptions::default()).unwrap()
}

/// Regression: a server that answered POST with id `..` made undo send `DELETE /api/v2/`, and
/// `.` made it `DELETE /api/v2/customers/` (the collection). The URL parser resolves dot
/// segments even encoded as `%2E`, so those ids (and the empty one) are refused before any
/// request; every other id stays inside its segment, as the server sees it.
#[tokio::test]
async fn every_id_stays_inside_its_path_segment() {
    let (url, seen) = recorder();
    let api = client(&url);
    for id in ["", ".", ".."] {
        let err = api.delete(id).await.unwrap_err();
        assert!(matches!(err, ApiError::Local(_)), "{id:?}: {err}");
        assert!(err.to_string().contains("no request was sent"), "{err}");
        assert!(api.get(id).await.is_err());
        assert!(api.patch(id, &record(serde_json::json!({}))).await.is_err());
    }
    assert_eq!(seen.lines(), Vec::<String>::new(), "nothing was sent");
    for id in ["a.b", "...", ".x", "x..", "%2E", "a/b c", "?q#f"] {
        api.delete(id).await.unwrap();
    }
    assert_eq!(
        seen.lines(),
        [
            "DELETE /api/v2/customers/a.b",
            "DELETE /api/v2/customers/...",
            "DELETE /api/v2/customers/.x",
            "DELETE /api/v2/customers/x..",
            "DELETE /api/v2/customers/%252E",
            "DELETE /api/v2/customers/a%2Fb%20c",
            "DELETE /api/v2/customers/%3Fq%23f",
        ]
    );
}

/// Regression: a 307 or 308 re-sent a POST, body and all, to whatever origin it named. Now a
/// redirect to another origin is refused (every request carries the key), not retried, and
/// the other server sees nothing; a redirect within the origin is still followed.
#[tokio::test]
async fn redirects_to_another_origin_are_refused_and_within_it_followed() {
    let (elsewhere, seen_elsewhere) = recorder();
    let seen = Seen::default();
    let (posts, lists) = (seen.clone(), seen.clone());
    let app =
        Router::new()
            .route(
                "/api/v2/customers",
                post(move || {
                    posts.push("POST".into());
                    let to = format!("{elsewhere}/customers");
                    async move {
                        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
                    }
                })
                .get(move || {
                    lists.push("GET".into());
                    async {
                        (StatusCode::FOUND, [(header::LOCATION, "/api/v2/moved")]).into_response()
                    }
                }),
            )
            .route(
                "/api/v2/moved",
                get(|| async { axum::Json(serde_json::json!([{"_id": "a"}])) }),
            );
    let api = client(&serve(app));
    let err = api
        .create(&record(serde_json::json!({"name": "Secret SA"})))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Redirected(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("POST /customers: ") && message.contains("another origin"),
        "{message}"
    );
    assert!(!err.outcome_unknown() && !err.retryable());
    assert_eq!(seen_elsewhere.lines(), Vec::<String>::new());

    let page = api.list(&ListQuery::default()).await.unwrap();
    assert_eq!(record_id(&page.items[0]).as_deref(), Some("a"));
    assert_eq!(seen.lines(), ["POST", "GET"], "one POST, never re-sent");
}

/// Regression: `https://user:key@host` was accepted, then printed by `check` and kept in the
/// manifest. It is refused as a usage error that does not repeat the password.
#[test]
fn a_base_url_with_credentials_is_refused_without_showing_them() {
    let wd = Workdir::new();
    for args in [
        vec!["check"],
        vec!["export", "out.csv"],
        vec!["import", "in.csv"],
    ] {
        wd.write("in.csv", "name\nA\n");
        let run = wd
            .command(&args)
            .args(["--base-url", "https://me:hunter2@api.example.com/api/v2"])
            .env("ICLOUDREADY_API_KEY", "k")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("user name or password"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
