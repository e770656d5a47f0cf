//! The project's own client against the sandbox: every call, status and list parameter, and
//! each list shape and id field it must detect.

use serde_json::json;

use custbulk::api::{record_id, ApiError, ApiKey, Client, ClientOptions, Envelope, ListQuery};
use custbulk::sandbox::{IdField, ListShape, Options};

use crate::util::{client, record, sandbox};

fn customer(name: &str) -> custbulk::api::Record {
    record(
        json!({"name": name, "isCompany": true, "capital": 1000, "zipCode": "01000",
        "contacts": [{"name": "Jo", "email": "jo@example.fr"}]}),
    )
}

#[tokio::test]
async fn every_call_round_trips_through_the_client() {
    let server = sandbox(Options::default()).await;
    let api = client(&server);

    let created = api.create(&customer("Alpha")).await.unwrap();
    let id = record_id(&created).unwrap();
    assert_eq!(id.len(), 24, "Mongo-style ids");
    assert_eq!(created["zipCode"], "01000");
    assert!(created.contains_key("createdAt") && created.contains_key("updatedAt"));

    let fetched = api.get(&id).await.unwrap();
    assert_eq!(fetched["name"], "Alpha");

    let patched = api
        .patch(&id, &record(json!({"city": "Lyon"})))
        .await
        .unwrap();
    assert_eq!(
        (patched["name"].as_str(), patched["city"].as_str()),
        (Some("Alpha"), Some("Lyon"))
    );

    let replaced = api
        .replace(&id, &record(json!({"name": "Alpha SA"})))
        .await
        .unwrap();
    assert_eq!(replaced["name"], "Alpha SA");
    assert!(
        replaced.get("city").is_none_or(|c| c.is_null()),
        "PUT replaces the whole record"
    );

    api.delete(&id).await.unwrap();
    let gone = api.get(&id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert_eq!(api.delete(&id).await.unwrap_err().status(), Some(404));
}

#[tokio::test]
async fn errors_carry_status_message_and_body() {
    let server = sandbox(Options::default()).await;
    let api = client(&server);
    let err = api
        .create(&record(json!({"name": "X", "capital": "lots"})))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("capital"), "{err}");
    assert!(err.body().unwrap().contains("capital"));
    let err = api
        .create(&record(json!({"city": "Paris"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("name"), "name is required: {err}");
}

#[tokio::test]
async fn list_parameters_reach_the_server() {
    let server = sandbox(Options::default()).await;
    let api = client(&server);
    for (name, status) in [
        ("Alpha", "actif"),
        ("Bravo", "inactif"),
        ("Charlie", "actif"),
    ] {
        let mut body = customer(name);
        body.insert("status".into(), json!(status));
        api.create(&body).await.unwrap();
    }
    let names = |page: &custbulk::api::Page| -> Vec<String> {
        page.items
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let all = api.list(&ListQuery::default()).await.unwrap();
    assert_eq!(names(&all), ["Charlie", "Bravo", "Alpha"], "newest first");
    assert_eq!(all.envelope, Envelope::Key("docs".into()));
    assert_eq!(all.total, Some(3));

    let q = |f: fn(&mut ListQuery)| {
        let mut query = ListQuery::default();
        f(&mut query);
        query
    };
    let page2 = api
        .list(&q(|q| {
            q.limit = Some(1);
            q.page = Some(2)
        }))
        .await
        .unwrap();
    assert_eq!(names(&page2), ["Bravo"]);
    assert_eq!(page2.has_next, Some(true));
    let sorted = api
        .list(&q(|q| {
            q.sort_by = Some("name".into());
            q.order = Some("asc".into())
        }))
        .await
        .unwrap();
    assert_eq!(names(&sorted), ["Alpha", "Bravo", "Charlie"]);
    let searched = api.list(&q(|q| q.q = Some("ARLI".into()))).await.unwrap();
    assert_eq!(names(&searched), ["Charlie"]);
    let filtered = api
        .list(&q(|q| q.p = Some(r#"{"status":"actif"}"#.into())))
        .await
        .unwrap();
    assert_eq!(names(&filtered), ["Charlie", "Alpha"]);
    let narrow = api
        .list(&q(|q| q.fields = Some("name".into())))
        .await
        .unwrap();
    let keys: Vec<_> = narrow.items[0].keys().cloned().collect();
    assert!(
        keys.contains(&"name".into())
            && keys.contains(&"_id".into())
            && !keys.contains(&"city".into()),
        "{keys:?}"
    );
}

#[tokio::test]
async fn each_list_shape_and_id_field_is_detected() {
    for (shape, id_field, envelope, key) in [
        (
            ListShape::Docs,
            IdField::UnderscoreId,
            Envelope::Key("docs".into()),
            "_id",
        ),
        (
            ListShape::Data,
            IdField::Id,
            Envelope::Key("data".into()),
            "id",
        ),
        (ListShape::Array, IdField::Id, Envelope::Array, "id"),
        (
            ListShape::Array,
            IdField::UnderscoreId,
            Envelope::Array,
            "_id",
        ),
    ] {
        let server = sandbox(Options {
            list_shape: shape,
            id_field,
            ..Options::default()
        })
        .await;
        let api = client(&server);
        let created = api.create(&customer("Alpha")).await.unwrap();
        assert!(created.contains_key(key));
        let page = api.list(&ListQuery::default()).await.unwrap();
        assert_eq!(page.envelope, envelope);
        assert_eq!(record_id(&page.items[0]), record_id(&created));
        let report = custbulk::cmd::check::probe(&api).await;
        assert_eq!(report.id_field.as_deref(), Some(key));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let server = sandbox(Options {
        token: Some("right".into()),
        ..Options::default()
    })
    .await;
    let wrong = Client::new(
        &server.base_url,
        ApiKey::new("wrong"),
        ClientOptions::default(),
    )
    .unwrap();
    let err = wrong.list(&ListQuery::default()).await.unwrap_err();
    assert!(err.is_auth(), "{err}");
    let right = Client::new(
        &server.base_url,
        ApiKey::new("right"),
        ClientOptions::default(),
    )
    .unwrap();
    assert!(right.list(&ListQuery::default()).await.is_ok());
    let report = custbulk::cmd::check::probe(&wrong).await;
    assert!(report.reachable && !report.authorized);
}

#[tokio::test]
async fn check_reports_paging_and_the_page_size_cap() {
    let server = sandbox(Options::default()).await;
    server.insert((0..1500).map(|i| customer(&format!("C{i}"))).collect());
    let report = custbulk::cmd::check::probe(&client(&server)).await;
    assert_eq!(report.first_page, Some(1));
    assert_eq!(report.paging_works, Some(true));
    assert_eq!(report.page_size_cap, Some(1000));
    assert_eq!(report.total, Some(1500));
}

#[tokio::test]
async fn idempotent_calls_ride_out_injected_failures() {
    let server = sandbox(Options {
        fail_rate: 0.3,
        seed: 7,
        ..Options::default()
    })
    .await;
    server.insert(vec![customer("Alpha")]);
    let api = client(&server);
    for _ in 0..30 {
        let page = api
            .list(&ListQuery::default())
            .await
            .expect("retried until it succeeds");
        assert_eq!(page.items.len(), 1);
    }
    assert!(api.retry.retries.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn a_post_whose_outcome_is_unknown_is_handed_back_not_resent() {
    let server = sandbox(Options {
        drop_rate: 1.0,
        ..Options::default()
    })
    .await;
    let api = client(&server);
    let err = api.create(&customer("Alpha")).await.unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert!(matches!(err, ApiError::Transport(_) | ApiError::Timeout(_)));
    assert_eq!(server.records().len(), 1, "stored once, never re-sent");
}

#[tokio::test]
async fn rate_limits_are_honoured() {
    let server = sandbox(Options {
        rate_limit: Some(20),
        ..Options::default()
    })
    .await;
    let api = client(&server);
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.list(&ListQuery::default()).await.map(drop)
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every call eventually succeeds");
    }
    assert!(
        api.retry
            .throttles
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the sandbox pushed back"
    );
}

/// A server that refuses the first request with 429 and `Retry-After: 1`, and records when
/// each request arrived.
async fn impatient_server() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let app = axum::Router::new().route(
        "/api/v2/customers",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(std::time::Instant::now());
                if seen.len() == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, "1")],
                        "{}",
                    )
                        .into_response()
                } else {
                    (StatusCode::CREATED, r#"{"_id":"abc","name":"A"}"#).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v2", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

#[tokio::test]
async fn retry_after_is_waited_out_before_the_next_attempt() {
    let (url, arrivals) = impatient_server().await;
    // Backoff alone would retry within milliseconds; only Retry-After makes it wait a second.
    let mut options = ClientOptions::default();
    options.retry.base = std::time::Duration::from_millis(1);
    options.retry.cap = std::time::Duration::from_millis(5);
    let api = Client::new(&url, ApiKey::new("k"), options).unwrap();
    let created = api
        .create(&customer("A"))
        .await
        .expect("a 429 is retried, even for a POST");
    assert_eq!(record_id(&created).as_deref(), Some("abc"));
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap >= std::time::Duration::from_millis(950),
        "waited only {gap:?}"
    );
    assert_eq!(
        api.retry
            .throttles
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
