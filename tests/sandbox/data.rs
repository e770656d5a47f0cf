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

/// A store unchanged since it was loaded is not written back: the file keeps its own layout
/// (and a million customers exit at once, not after half a gigabyte of disk). One change, and
/// the whole store is written.
#[tokio::test]
async fn an_unchanged_store_leaves_its_file_as_it_was_and_a_changed_one_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let kept = json!([{
        "_id": "6000000000000000000000a1",
        "name": "Épicerie Zoé",
        "createdAt": "2026-01-05T09:00:00.000Z",
        "updatedAt": "2026-01-05T09:00:00.000Z",
    }]);
    let written = serde_json::to_vec_pretty(&kept).unwrap();
    std::fs::write(&path, &written).unwrap();

    let api = Api::start(with_data(&path)).await;
    let (status, _) = api.get("/customers").await;
    assert_eq!(status, StatusCode::OK);
    api.sandbox.stop().await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        written,
        "read only: the file is left as it was"
    );

    let api = Api::start(with_data(&path)).await;
    let added = api.create(json!({"name": "Boulangerie Ben Ali"})).await;
    api.sandbox.stop().await.unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        saved,
        json!([kept[0], added]),
        "one change: the store saved"
    );
}

/// A record the file gave without an id or times gets them when loaded; they are saved even
/// if nothing else changes, so that the customer keeps its id from one start to the next.
#[tokio::test]
async fn ids_given_at_load_are_saved_so_they_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    std::fs::write(&path, r#"[{"name": "Sans identifiant"}]"#).unwrap();
    let first = sandbox::start(with_data(&path)).await.unwrap();
    let id = first.records()[0]["_id"].clone();
    assert!(id.is_string());
    first.stop().await.unwrap();

    let again = sandbox::start(with_data(&path)).await.unwrap();
    assert_eq!(again.records()[0]["_id"], id, "the id given at load lasts");
    assert_eq!(again.records()[0]["name"], "Sans identifiant");
}
