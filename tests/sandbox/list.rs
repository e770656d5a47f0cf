//! `GET /customers`: order, paging, sorting, fields, search, filters and each envelope.

use custbulk::sandbox::{ListShape, Options};
use reqwest::StatusCode;
use serde_json::json;

use super::{names, numbered, record, Api};

#[tokio::test]
async fn lists_are_newest_first_ten_per_page_in_the_docs_envelope() {
    let api = Api::default().await;
    api.sandbox.insert(numbered(25));
    let (status, body) = api.get("/customers").await;
    assert_eq!(status, StatusCode::OK);
    let expected: Vec<String> = (15..25).rev().map(|i| format!("c{i:03}")).collect();
    assert_eq!(names(&body["docs"]), expected);
    assert_eq!(body["totalDocs"], 25);
    assert_eq!(body["limit"], 10);
    assert_eq!(body["page"], 1);
    assert_eq!(body["totalPages"], 3);
    assert_eq!(
        (&body["hasNextPage"], &body["nextPage"]),
        (&json!(true), &json!(2))
    );
    assert_eq!(
        (&body["hasPrevPage"], &body["prevPage"]),
        (&json!(false), &json!(null))
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "docs",
            "totalDocs",
            "limit",
            "page",
            "totalPages",
            "hasNextPage",
            "nextPage",
            "hasPrevPage",
            "prevPage"
        ]
    );
}

#[tokio::test]
async fn pages_walk_the_whole_list_once() {
    let api = Api::default().await;
    api.sandbox.insert(numbered(25));
    let (_, last) = api.get("/customers?limit=10&page=3").await;
    assert_eq!(
        names(&last["docs"]),
        ["c004", "c003", "c002", "c001", "c000"]
    );
    assert_eq!(
        (&last["hasNextPage"], &last["nextPage"]),
        (&json!(false), &json!(null))
    );
    assert_eq!(
        (&last["hasPrevPage"], &last["prevPage"]),
        (&json!(true), &json!(2))
    );
    let (_, beyond) = api.get("/customers?limit=10&page=4").await;
    assert_eq!(beyond["docs"], json!([]));
    assert_eq!(beyond["totalDocs"], 25);

    let mut seen = Vec::new();
    for page in 1..=4 {
        let (_, body) = api.get(&format!("/customers?limit=7&page={page}")).await;
        seen.extend(names(&body["docs"]));
    }
    seen.sort();
    let all: Vec<String> = (0..25).map(|i| format!("c{i:03}")).collect();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn bad_limits_and_pages_fall_back_and_limit_is_capped_at_1000() {
    let api = Api::default().await;
    api.sandbox.insert(numbered(1005));
    let (_, body) = api.get("/customers?limit=5000").await;
    assert_eq!(body["limit"], 1000);
    assert_eq!(body["docs"].as_array().unwrap().len(), 1000);
    assert_eq!(body["totalPages"], 2);
    for query in ["limit=0", "limit=-1", "limit=abc"] {
        let (_, body) = api.get(&format!("/customers?{query}")).await;
        assert_eq!(body["limit"], 10, "{query}");
    }
    let (_, body) = api.get("/customers?page=0").await;
    assert_eq!(body["page"], 1);
    assert_eq!(body["docs"][0]["name"], "c1004");
}

#[tokio::test]
async fn sort_by_any_field_in_either_order_breaks_ties_by_creation() {
    let api = Api::default().await;
    api.sandbox.insert(vec![
        record(json!({"name": "b1", "city": "Lyon", "capital": 30})),
        record(json!({"name": "a", "city": "Paris", "capital": 5})),
        record(json!({"name": "b2", "city": "Lyon"})),
        record(json!({"name": "c", "city": "Nantes", "capital": 100})),
    ]);
    let (_, asc) = api.get("/customers?sortBy=city&order=asc").await;
    assert_eq!(names(&asc["docs"]), ["b1", "b2", "c", "a"]);
    let (_, desc) = api.get("/customers?sortBy=city&order=desc").await;
    assert_eq!(names(&desc["docs"]), ["a", "c", "b2", "b1"]);
    let (_, numeric) = api.get("/customers?sortBy=capital&order=1").await;
    assert_eq!(
        names(&numeric["docs"]),
        ["b2", "a", "b1", "c"],
        "missing first, then numbers by value"
    );
    let (_, reversed) = api.get("/customers?sortBy=capital&order=-1").await;
    assert_eq!(names(&reversed["docs"]), ["c", "b1", "a", "b2"]);
    let (_, by_id) = api.get("/customers?sortBy=_id&order=asc").await;
    assert_eq!(names(&by_id["docs"]), ["b1", "a", "b2", "c"]);
    let (_, oldest) = api
        .get("/customers?sortBy=createdAt&order=asc&limit=2&page=2")
        .await;
    assert_eq!(names(&oldest["docs"]), ["b2", "c"]);
    let (status, body) = api.get("/customers?sortBy=city&order=sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn fields_selects_fields_and_always_keeps_the_id() {
    let api = Api::default().await;
    api.sandbox.insert(vec![record(
        json!({"name": "A", "city": "Lyon", "capital": 1}),
    )]);
    let (_, body) = api.get("/customers?fields=name,capital").await;
    let doc = body["docs"][0].as_object().unwrap();
    let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
    assert_eq!(keys, ["_id", "name", "capital"]);
}

#[tokio::test]
async fn q_searches_text_fields_and_contacts_ignoring_case() {
    let api = Api::default().await;
    api.sandbox.insert(vec![
        record(json!({"name": "Boulangerie Martin", "city": "Lyon"})),
        record(json!({"name": "Garage", "contacts": [{"name": "Jeanne MARTIN", "email": "j@example.fr"}]})),
        record(json!({"name": "Café", "city": "Marseille"})),
        record(json!({"name": "École Saint-Martin", "capital": 7})),
    ]);
    let (_, body) = api.get("/customers?q=martin").await;
    assert_eq!(
        names(&body["docs"]),
        ["École Saint-Martin", "Garage", "Boulangerie Martin"]
    );
    assert_eq!(body["totalDocs"], 3);
    let (_, body) = api.get("/customers?q=%C3%A9cole").await;
    assert_eq!(names(&body["docs"]), ["École Saint-Martin"]);
    let (_, body) = api.get("/customers?q=nowhere").await;
    assert_eq!(body["docs"], json!([]));
    assert_eq!(body["totalDocs"], 0);
}

#[tokio::test]
async fn p_filters_on_exact_field_values() {
    let api = Api::default().await;
    api.sandbox.insert(vec![
        record(json!({"name": "A", "status": "actif", "isCompany": true})),
        record(json!({"name": "B", "status": "inactif", "isCompany": true})),
        record(json!({"name": "C", "status": "actif", "isCompany": false})),
        record(json!({"name": "D", "status": "Actif"})),
    ]);
    let filter = |p: &str| {
        format!(
            "/customers?p={}",
            p.replace('{', "%7B")
                .replace('}', "%7D")
                .replace('"', "%22")
        )
    };
    let (_, body) = api.get(&filter(r#"{"status":"actif"}"#)).await;
    assert_eq!(names(&body["docs"]), ["C", "A"]);
    let (_, body) = api
        .get(&filter(r#"{"status":"actif","isCompany":true}"#))
        .await;
    assert_eq!(names(&body["docs"]), ["A"]);
    assert_eq!(body["totalDocs"], 1);
    for bad in ["status=actif", "[1]", "{"] {
        let (status, body) = api.get(&filter(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test]
async fn the_data_envelope_has_data_and_total() {
    let api = Api::start(Options {
        list_shape: ListShape::Data,
        ..Options::default()
    })
    .await;
    api.sandbox.insert(numbered(3));
    let (_, body) = api.get("/customers?limit=2").await;
    assert_eq!(names(&body["data"]), ["c002", "c001"]);
    assert_eq!(body["total"], 3);
    assert_eq!(body.as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn the_array_shape_is_a_bare_array() {
    let api = Api::start(Options {
        list_shape: ListShape::Array,
        ..Options::default()
    })
    .await;
    api.sandbox.insert(numbered(3));
    let (_, body) = api.get("/customers?limit=2&page=2").await;
    assert_eq!(names(&body), ["c000"]);
}
