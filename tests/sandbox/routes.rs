//! Every customer route and status, auth, body checks, the id field and the stats endpoint.

use custbulk::sandbox::{IdField, Options};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::Api;

fn is_iso_ms(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_object_id(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

#[tokio::test]
async fn requests_without_a_bearer_token_get_401_json() {
    let api = Api::default().await;
    let url = api.url("/customers");
    for request in [
        api.client.get(&url),
        api.client
            .get(&url)
            .header("Authorization", "Basic dXNlcjpwYXNz"),
        api.client.get(&url).header("Authorization", "Bearer "),
        api.client.post(&url).json(&json!({"name": "x"})),
        // A key pasted from a file in another encoding: bytes that are not text.
        api.client.get(&url).header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer cl\xe9").unwrap(),
        ),
    ] {
        let (status, body) = super::read(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            body["message"].as_str().unwrap().contains("Bearer"),
            "{body}"
        );
    }
    let basic = api
        .client
        .get(&url)
        .header("Authorization", "Basic dXNlcjpwYXNz");
    let (_, body) = super::read(basic.send().await.unwrap()).await;
    assert!(
        body["message"].as_str().unwrap().starts_with("Unsupported"),
        "{body}"
    );
    let not_text = api.client.get(&url).header(
        "Authorization",
        reqwest::header::HeaderValue::from_bytes(b"Bearer cl\xe9").unwrap(),
    );
    let (_, body) = super::read(not_text.send().await.unwrap()).await;
    assert!(
        body["message"].as_str().unwrap().contains("not text"),
        "{body}"
    );
    assert!(
        api.sandbox.records().is_empty(),
        "a refused POST stores nothing"
    );
    // Without --token, any bearer token is accepted.
    let response = api
        .client
        .get(&url)
        .bearer_auth("whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_configured_token_is_the_only_one_accepted() {
    let api = Api::start(Options {
        token: Some("s3cret".into()),
        ..Options::default()
    })
    .await;
    let url = api.url("/customers");
    let wrong = api
        .client
        .get(&url)
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    let (status, body) = super::read(wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Invalid API key");
    let (status, _) = api.get("/customers").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn post_returns_201_with_an_object_id_timestamps_and_every_field_sent() {
    let api = Api::default().await;
    let sent = json!({
        "name": "Boulangerie Martin", "isCompany": true, "capital": 2000000, "zipCode": "01000",
        "contacts": [{"name": "Jeanne", "email": "jeanne@example.fr"}],
        "legacyCode": "B-17",
        "_id": "ignored", "id": "ignored", "createdAt": "1999-01-01T00:00:00.000Z", "__v": 3
    });
    let (status, created) = api.post(sent).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(is_object_id(&created["_id"]), "{created}");
    assert!(
        created.get("id").is_none() && created.get("__v").is_none(),
        "{created}"
    );
    assert!(
        is_iso_ms(&created["createdAt"]) && is_iso_ms(&created["updatedAt"]),
        "{created}"
    );
    assert_ne!(created["createdAt"], "1999-01-01T00:00:00.000Z");
    assert_eq!(created["zipCode"], "01000");
    assert_eq!(created["legacyCode"], "B-17", "unknown fields are kept");
    assert_eq!(created["contacts"][0]["email"], "jeanne@example.fr");

    let second = api.create(json!({"name": "Second"})).await;
    assert!(
        second["_id"].as_str() > created["_id"].as_str(),
        "ids increase"
    );

    let (status, fetched) = api
        .get(&format!("/customers/{}", created["_id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn wrong_types_give_400_with_a_message_per_field() {
    let api = Api::default().await;
    let (status, body) = api
        .post(json!({
            "name": "X", "capital": "2 000 000", "isCompany": "oui", "zipCode": 1000,
            "contacts": "jeanne@example.fr", "unNumber": 1.5
        }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Validation failed");
    let errors = body["errors"].as_object().unwrap();
    assert_eq!(errors["capital"], "must be an integer");
    assert_eq!(errors["isCompany"], "must be a boolean");
    assert_eq!(errors["zipCode"], "must be a string");
    assert_eq!(errors["contacts"], "must be an array");
    assert_eq!(errors["unNumber"], "must be an integer");
    assert_eq!(errors.len(), 5, "{body}");
    assert!(api.sandbox.records().is_empty());

    // null clears any field and is accepted.
    let (status, _) = api
        .post(json!({"name": "X", "capital": null, "contacts": null}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn post_without_a_name_is_400_on_name() {
    let api = Api::default().await;
    for body in [
        json!({"city": "Lyon"}),
        json!({"name": ""}),
        json!({"name": null}),
    ] {
        let (status, answer) = api.post(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer["errors"]["name"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn malformed_json_and_non_objects_are_400_whatever_the_content_type() {
    let api = Api::default().await;
    for raw in ["{\"name\": ", "[{\"name\":\"x\"}]", "\"name\"", ""] {
        let response = api
            .client
            .post(api.url("/customers"))
            .bearer_auth("k")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, body) = super::read(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw:?}");
        assert!(body["message"].is_string(), "{body}");
    }
    // A valid body is read even when sent as text/plain.
    let response = api
        .client
        .post(api.url("/customers"))
        .bearer_auth("k")
        .header("Content-Type", "text/plain")
        .body(r#"{"name":"Plain"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn put_replaces_the_record_and_patch_changes_only_the_fields_sent() {
    let api = Api::default().await;
    let created = api
        .create(json!({"name": "A", "city": "Lyon", "capital": 10}))
        .await;
    let path = format!("/customers/{}", created["_id"].as_str().unwrap());

    let (status, patched) = api
        .call(
            Method::PATCH,
            &path,
            Some(&json!({"city": "Paris", "status": "actif"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["name"], &patched["city"], &patched["capital"]),
        (&json!("A"), &json!("Paris"), &json!(10))
    );
    assert_eq!(patched["status"], "actif");
    assert_eq!(patched["createdAt"], created["createdAt"]);
    assert!(patched["updatedAt"].as_str() >= created["updatedAt"].as_str());

    let (status, replaced) = api
        .call(
            Method::PUT,
            &path,
            Some(&json!({"name": "B", "_id": "other"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["name"], "B");
    assert_eq!(replaced["_id"], created["_id"]);
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert!(
        replaced.get("city").is_none() && replaced.get("capital").is_none(),
        "{replaced}"
    );
    assert_eq!(api.get(&path).await.1, replaced);

    let (status, body) = api
        .call(Method::PATCH, &path, Some(&json!({"capital": "ten"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"]["capital"], "must be an integer");
    let (status, _) = api
        .call(Method::PUT, &path, Some(&json!({"city": "no name"})))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a replacement needs a name"
    );
}

#[tokio::test]
async fn delete_answers_204_with_no_body_then_the_customer_is_gone() {
    let api = Api::default().await;
    let created = api.create(json!({"name": "A"})).await;
    let path = format!("/customers/{}", created["_id"].as_str().unwrap());
    let response = api
        .client
        .delete(api.url(&path))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, body) = api.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Customer not found");
    assert_eq!(
        api.call(Method::DELETE, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_on_every_item_route() {
    let api = Api::default().await;
    api.create(json!({"name": "A"})).await;
    for id in ["ffffffffffffffffffffffff", "not-an-id", "%20"] {
        let path = format!("/customers/{id}");
        let body = json!({"name": "B"});
        for (method, body) in [
            (Method::GET, None),
            (Method::PUT, Some(&body)),
            (Method::PATCH, Some(&body)),
            (Method::DELETE, None),
        ] {
            let (status, answer) = api.call(method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(answer["message"], "Customer not found");
        }
    }
    assert_eq!(api.sandbox.records().len(), 1);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_both_json() {
    let api = Api::default().await;
    let (status, body) = api.get("/invoices").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    let (status, body) = api.call(Method::DELETE, "/customers", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["message"].is_string());
    let (status, body) = api
        .call(Method::POST, "/customers/abc", Some(&json!({"name": "x"})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn the_id_field_can_be_called_id() {
    let api = Api::start(Options {
        id_field: IdField::Id,
        ..Options::default()
    })
    .await;
    let created = api.create(json!({"name": "A"})).await;
    assert!(
        is_object_id(&created["id"]) && created.get("_id").is_none(),
        "{created}"
    );
    let path = format!("/customers/{}", created["id"].as_str().unwrap());
    assert_eq!(api.get(&path).await.1["id"], created["id"]);
    let (_, list) = api.get("/customers").await;
    assert_eq!(list["docs"][0]["id"], created["id"]);
    assert!(list["docs"][0].get("_id").is_none());
    assert_eq!(api.sandbox.records()[0]["id"], created["id"]);
}

#[tokio::test]
async fn stats_count_requests_by_method_and_status_without_auth() {
    let api = Api::default().await;
    let created = api.create(json!({"name": "A"})).await;
    api.post(json!({"name": 5})).await;
    api.get("/customers").await;
    api.get(&format!("/customers/{}", created["_id"].as_str().unwrap()))
        .await;
    api.client.get(api.url("/customers")).send().await.unwrap();
    let stats = api.stats().await;
    assert_eq!(stats["requests"], json!({"GET": 3, "POST": 2}));
    assert_eq!(
        stats["statuses"],
        json!({"200": 2, "201": 1, "400": 1, "401": 1})
    );
    assert_eq!(stats["records"], 1);
    assert_eq!(stats["writes"], 1);
}

#[tokio::test]
async fn inserted_records_keep_given_ids_and_get_missing_ones() {
    let api = Api::default().await;
    api.sandbox.insert(vec![
        super::record(json!({"_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "name": "Given", "createdAt": "2026-01-01T00:00:00.000Z"})),
        super::record(json!({"name": "Generated"})),
    ]);
    let records = api.sandbox.records();
    assert_eq!(records[0]["_id"], "aaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(records[0]["updatedAt"], "2026-01-01T00:00:00.000Z");
    assert!(is_object_id(&records[1]["_id"]) && is_iso_ms(&records[1]["createdAt"]));
    let (status, body) = api.get("/customers/aaaaaaaaaaaaaaaaaaaaaaaa").await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("Given")));
}

#[tokio::test]
async fn dropping_the_sandbox_stops_it() {
    let api = Api::default().await;
    let url = api.url("/customers");
    drop(api.sandbox);
    // The accept loop stops at its next turn; allow it a few.
    let fresh = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    for _ in 0..50 {
        if fresh.get(&url).bearer_auth("k").send().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the sandbox still answers after being dropped");
}

/// Another client may end a path with a slash, as Express (whose conventions the API follows)
/// routes alike: every route answers it as without.
#[tokio::test]
async fn a_trailing_slash_reaches_the_same_route() {
    let api = Api::default().await;
    let (status, created) = api
        .call(Method::POST, "/customers/", Some(&json!({"name": "A"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, list) = api.get("/customers/?limit=5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["docs"][0]["name"], "A", "{list}");
    let item = format!("/customers/{}/", created["_id"].as_str().unwrap());
    let patch = json!({"city": "Lyon"});
    let (status, patched) = api.call(Method::PATCH, &item, Some(&patch)).await;
    assert_eq!((status, &patched["city"]), (StatusCode::OK, &json!("Lyon")));
    assert_eq!(api.get(&item).await.1["city"], "Lyon");
    assert_eq!(
        api.call(Method::DELETE, &item, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(api.sandbox.records().is_empty());
}
