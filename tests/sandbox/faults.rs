//! Injected faults: reproducible with a seed, and writes that "fail" after commit or drop their
//! connection are stored all the same.

use custbulk::sandbox::Options;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::Api;

/// What a client saw for one request: a status, or a connection closed without one.
async fn outcome(api: &Api, i: usize) -> String {
    let sent = api
        .client
        .post(api.url("/customers"))
        .bearer_auth("k")
        .json(&json!({"name": format!("n{i}")}))
        .send()
        .await;
    match sent {
        Ok(response) => response.status().as_u16().to_string(),
        Err(e) => {
            assert!(
                e.status().is_none(),
                "a dropped connection carries no status: {e}"
            );
            "dropped".to_owned()
        }
    }
}

fn flaky(seed: u64) -> Options {
    Options {
        fail_rate: 0.2,
        fail_after_commit_rate: 0.2,
        drop_rate: 0.2,
        jitter_ms: 2,
        seed,
        ..Options::default()
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults_for_the_same_requests() {
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let api = Api::start(flaky(seed)).await;
        let mut outcomes = Vec::new();
        for i in 0..40 {
            outcomes.push(outcome(&api, i).await);
        }
        let stored = api.sandbox.records().len();
        let not_failed_before = outcomes.iter().filter(|o| *o != "500").count();
        runs.push((outcomes, stored, not_failed_before, api.stats().await));
    }
    assert_eq!(runs[0].0, runs[1].0, "same seed, same outcomes");
    assert_ne!(runs[0].0, runs[2].0, "another seed, other outcomes");
    for want in ["201", "500", "dropped"] {
        assert!(
            runs[0].0.iter().any(|o| o == want),
            "{want} in {:?}",
            runs[0].0
        );
    }
    assert_eq!(
        runs[0].3["statuses"]["dropped"],
        runs[0].0.iter().filter(|o| *o == "dropped").count()
    );
    // Every write that was not refused up front is stored, 500-after-commit and drops included.
    let (_, stored, not_failed_before, _) = &runs[0];
    assert!(stored >= not_failed_before);
    assert!(*stored > runs[0].0.iter().filter(|o| *o == "201").count());
}

#[tokio::test]
async fn a_500_after_commit_leaves_the_record_stored() {
    let api = Api::start(Options {
        fail_after_commit_rate: 1.0,
        ..Options::default()
    })
    .await;
    let (status, body) = api.post(json!({"name": "Kept"})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["message"], "Internal error (injected)");
    assert_eq!(api.sandbox.records()[0]["name"], "Kept");
    // Reads are not writes: they answer normally.
    let (status, _) = api.get("/customers").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_write_is_stored_and_the_client_gets_no_status() {
    let api = Api::start(Options {
        drop_rate: 1.0,
        ..Options::default()
    })
    .await;
    assert_eq!(outcome(&api, 1).await, "dropped");
    assert_eq!(api.sandbox.records().len(), 1);
    let id = api.sandbox.records()[0]["_id"].as_str().unwrap().to_owned();
    // The next request, on a new connection, works; a PATCH is dropped too but applied.
    let (status, _) = api.get(&format!("/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let patched = api
        .client
        .patch(api.url(&format!("/customers/{id}")))
        .bearer_auth("k")
        .json(&json!({"city": "Lyon"}))
        .send()
        .await;
    assert!(patched.is_err());
    assert_eq!(api.sandbox.records()[0]["city"], "Lyon");
    let stats = api.stats().await;
    assert_eq!(stats["statuses"]["dropped"], 2);
    assert_eq!(stats["writes"], 2);
}

#[tokio::test]
async fn fail_rate_answers_500_before_acting_on_any_route_but_stats() {
    let api = Api::start(Options {
        fail_rate: 1.0,
        ..Options::default()
    })
    .await;
    let (status, body) = api.post(json!({"name": "Lost"})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["message"], "Internal error (injected)");
    assert!(api.sandbox.records().is_empty());
    assert_eq!(
        api.get("/customers").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let stats = api.stats().await;
    assert_eq!(stats["statuses"]["500"], 2);
}

#[tokio::test]
async fn over_the_rate_limit_the_answer_is_429_with_retry_after() {
    let api = Api::start(Options {
        rate_limit: Some(2),
        ..Options::default()
    })
    .await;
    let mut limited = None;
    for _ in 0..10 {
        let response = api
            .client
            .get(api.url("/customers"))
            .bearer_auth("k")
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("some request over 2 per second is refused");
    assert_eq!(response.headers()["retry-after"], "1");
    let (_, body) = super::read(response).await;
    assert!(
        body["message"].as_str().unwrap().contains("2 per second"),
        "{body}"
    );
    assert!(api.stats().await["statuses"]["429"].as_u64().unwrap() >= 1);
}

/// The same requests, in order, against `api`: every status and body, with the values that
/// differ from one sandbox to the next (ids, timestamps) replaced by what they are.
async fn script(api: &Api) -> Vec<(StatusCode, Value)> {
    let mut seen = Vec::new();
    let created = api
        .post(
            json!({"name": "Slow", "capital": 10, "zipCode": "01000", "contacts": [{"name": "J"}]}),
        )
        .await;
    let path = format!("/customers/{}", created.1["_id"].as_str().unwrap());
    seen.push(created);
    seen.push(api.post(json!({"name": 5})).await);
    seen.push(api.get(&path).await);
    seen.push(api.get("/customers?limit=5&sortBy=name&order=asc").await);
    let patch = json!({"city": "Lyon", "capital": null});
    seen.push(api.call(Method::PATCH, &path, Some(&patch)).await);
    let put = json!({"name": "Slower"});
    seen.push(api.call(Method::PUT, &path, Some(&put)).await);
    seen.push(api.get("/customers/ffffffffffffffffffffffff").await);
    seen.push(api.call(Method::DELETE, &path, None).await);
    seen.push(api.get(&path).await);
    let mut stats = api.stats().await;
    stats["records"] = json!(api.sandbox.records().len());
    seen.push((StatusCode::OK, stats));
    seen.into_iter()
        .map(|(status, body)| (status, masked(body)))
        .collect()
}

fn masked(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match k.as_str() {
                    "_id" => {
                        assert!(v.as_str().is_some_and(|s| s.len() == 24), "{v}");
                        (k, json!("<id>"))
                    }
                    "createdAt" | "updatedAt" => {
                        assert!(v.as_str().is_some_and(|s| s.ends_with('Z')), "{v}");
                        (k, json!("<time>"))
                    }
                    _ => (k, masked(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

#[tokio::test]
async fn latency_slows_requests_but_changes_nothing_else() {
    let quick = Api::default().await;
    let slow = Api::start(Options {
        latency_ms: 5,
        jitter_ms: 5,
        ..Options::default()
    })
    .await;
    for api in [&quick, &slow] {
        api.sandbox.insert(super::numbered(3));
    }
    let expected = script(&quick).await;
    assert_eq!(expected.len(), 10);
    assert_eq!(script(&slow).await, expected);
}
