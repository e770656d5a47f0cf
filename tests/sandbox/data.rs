//! `data`: customers survive a stop and a start.

use custbulk::sandbox::{self, IdField, Options};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::Api;

fn with_data(path: &std::path::Path) -> Options {
    Options {
        data: Some(path.to_owned()),
        ..Options::default()
    }
}

#[tokio::test]
async fn data_survives_stop_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let api = Api::start(with_data(&path)).await;
    assert!(
        api.sandbox.records().is_empty(),
        "a missing file is an empty store"
    );
    let first = api
        .create(json!({"name": "First", "capital": 10, "legacy": {"code": 1}}))
        .await;
    let second = api.create(json!({"name": "Second"})).await;
    api.sandbox.stop().await.unwrap();

    let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        saved,
        json!([first, second]),
        "saved oldest first, exactly as served"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");

    let api = Api::start(with_data(&path)).await;
    let (status, body) = api.get("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["docs"], json!([second, first]));
    let third = api.create(json!({"name": "Third"})).await;
    assert!(
        third["_id"].as_str() > second["_id"].as_str(),
        "new ids stay above loaded ones"
    );
}

#[tokio::test]
async fn loaded_records_keep_their_ids_and_get_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.json");
    std::fs::write(
        &path,
        r#"[{"_id": "abc", "name": "Old", "createdAt": "2020-05-01T08:00:00.000Z", "updatedAt": "2021-01-01T00:00:00.000Z"},
            {"name": "No id"}]"#,
    )
    .unwrap();
    let running = sandbox::start(Options {
        id_field: IdField::Id,
        ..with_data(&path)
    })
    .await
    .unwrap();
    let records = running.records();
    assert_eq!(records[0]["id"], "abc");
    assert!(records[0].get("_id").is_none());
    assert_eq!(records[0]["createdAt"], "2020-05-01T08:00:00.000Z");
    assert_eq!(records[0]["updatedAt"], "2021-01-01T00:00:00.000Z");
    assert_eq!(records[1]["id"].as_str().unwrap().len(), 24);
    assert!(records[1]["createdAt"].is_string());
}

#[tokio::test]
async fn a_data_file_that_is_not_an_array_of_objects_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    for content in [r#"{"name": "x"}"#, "[1, 2]", "[{"] {
        std::fs::write(&path, content).unwrap();
        let err = sandbox::start(with_data(&path))
            .await
            .err()
            .expect("refused");
        assert!(format!("{err:#}").contains("bad.json"), "{err:#}");
    }
}
