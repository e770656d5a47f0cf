//! Broken servers, as a plain HTTP client sees them: damaged 2xx answers to a stored POST, lists
//! that lie about what is left, a server that ignores `page`, and echoed keys.

use custbulk::sandbox::{Options, Quirks, WriteBody};
use reqwest::StatusCode;
use serde_json::json;

use super::{names, numbered, Api};

async fn broken(quirks: Quirks) -> Api {
    Api::start(Options {
        quirks,
        ..Options::default()
    })
    .await
}

/// POSTs a customer and returns status, content type and raw body.
async fn post_raw(api: &Api) -> (StatusCode, String, Vec<u8>) {
    let response = api
        .client
        .post(api.url("/customers"))
        .bearer_auth("k")
        .json(&json!({"name": "Stored anyway", "city": "Lyon"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_cut_write_body_is_half_the_json_and_the_customer_is_stored() {
    let api = broken(Quirks {
        write_body: Some(WriteBody::Cut),
        ..Quirks::default()
    })
    .await;
    let (status, kind, body) = post_raw(&api).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(kind.starts_with("application/json"));
    let whole = serde_json::to_vec(&api.sandbox.records()[0]).unwrap();
    assert_eq!(body.len(), whole.len() / 2);
    assert!(whole.starts_with(&body));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    // Reads are not damaged.
    assert_eq!(api.get("/customers").await.1["totalDocs"], 1);
}

#[tokio::test]
async fn an_html_write_answer_is_200_text_html_and_the_customer_is_stored() {
    let api = broken(Quirks {
        write_body: Some(WriteBody::Html),
        ..Quirks::default()
    })
    .await;
    let (status, kind, body) = post_raw(&api).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(String::from_utf8(body).unwrap().contains("<html>"));
    assert_eq!(api.sandbox.records()[0]["name"], "Stored anyway");
}

#[tokio::test]
async fn a_short_list_has_empty_later_pages_while_the_envelope_says_there_is_more() {
    let api = broken(Quirks {
        short_list: true,
        ..Quirks::default()
    })
    .await;
    api.sandbox.insert(numbered(25));
    let (_, first) = api.get("/customers?limit=10&page=1").await;
    assert_eq!(names(&first["docs"]).len(), 10);
    let (status, second) = api.get("/customers?limit=10&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["docs"], json!([]));
    assert_eq!(
        (
            &second["totalDocs"],
            &second["hasNextPage"],
            &second["page"]
        ),
        (&json!(25), &json!(true), &json!(2))
    );
}

#[tokio::test]
async fn ignoring_page_answers_page_one_for_every_page() {
    let api = broken(Quirks {
        ignore_page: true,
        ..Quirks::default()
    })
    .await;
    api.sandbox.insert(numbered(25));
    let (_, first) = api.get("/customers?limit=10&page=1").await;
    let (_, third) = api.get("/customers?limit=10&page=3").await;
    assert_eq!(third, first);
    assert_eq!(third["page"], 1);
    assert_eq!(names(&third["docs"])[0], "c024");
}

#[tokio::test]
async fn echoed_auth_shows_the_header_in_error_bodies_only() {
    let api = broken(Quirks {
        echo_auth: true,
        ..Quirks::default()
    })
    .await;
    let (status, body) = api.get("/customers/ffffffffffffffffffffffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Customer not found");
    assert_eq!(body["headers"]["authorization"], "Bearer test-key");
    let (status, body) = api.post(json!({"capital": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["headers"]["authorization"], "Bearer test-key");
    assert!(body["errors"]["capital"].is_string());
    let created = api.create(json!({"name": "A"})).await;
    assert!(created.get("headers").is_none(), "{created}");
}
