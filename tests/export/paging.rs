//! How the list is walked: a capped page size, records that move between pages, a flaky
//! server.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use custbulk::api::Record;
use custbulk::sandbox::{ListShape, Options};

use super::fake::fake_api;
use super::*;
use crate::util::{stdout, Workdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_caps_the_page_size_is_followed() {
    // The sandbox serves at most 1000 per page; ask for 5000 in every shape.
    for shape in [ListShape::Docs, ListShape::Data, ListShape::Array] {
        let server = loaded(
            Options {
                list_shape: shape,
                ..Options::default()
            },
            2500,
        )
        .await;
        let wd = Workdir::new();
        let out = custbulk(
            &wd,
            &server.base_url,
            &[
                "export",
                "x.ndjson",
                "--page-size",
                "5000",
                "--output",
                "json",
            ],
        )
        .await;
        assert_code(&out, 0);
        let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(summary["records"], 2500, "{shape:?}");
        assert_eq!(summary["duplicates_skipped"], 0, "{shape:?}");
        assert_eq!(read_ndjson(&wd.path("x.ndjson")), server.records());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_move_between_pages_are_written_once() {
    // As if a customer were inserted at the front between page 1 and page 2: r2 shows twice.
    let base = fake_api(|page| {
        let ids: &[&str] = match page {
            1 => &["r1", "r2"],
            2 => &["r2", "r3"],
            3 => &["r4"],
            _ => &[],
        };
        let items: Vec<Value> = ids.iter().map(|id| json!({"id": id, "name": id})).collect();
        Some(Value::Array(items).to_string())
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(
        &wd,
        &base,
        &["export", "m.csv", "--page-size", "2", "--output", "json"],
    )
    .await;
    assert_code(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["records"], 4);
    assert_eq!(summary["duplicates_skipped"], 1);
    let (headers, rows) = read_csv(&wd.path("m.csv"));
    assert_eq!(headers[0], "id");
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_server_still_gives_a_complete_export() {
    let server = loaded(
        Options {
            fail_rate: 0.3,
            seed: 7,
            ..Options::default()
        },
        300,
    )
    .await;
    let wd = Workdir::new();
    let out = custbulk(
        &wd,
        &server.base_url,
        &["export", "f.json", "--page-size", "20", "--output", "json"],
    )
    .await;
    assert_code(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(summary["retries"].as_u64().unwrap() > 0, "{summary}");
    let got: Vec<Record> = serde_json::from_str(&wd.read("f.json")).unwrap();
    assert_eq!(got, server.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_under_the_limit_go_to_pages_in_order() {
    // The fake server answers one connection at a time, so it sees requests in the order they
    // left. With 32 in flight, page p can leave only once p - 32 are answered: it is never
    // asked for ahead of earlier pages still waiting for a place (page 1, which tells the
    // total, is never left for a later wave).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let base = fake_api(move |page| {
        log.lock().unwrap().push(page);
        Some(super::fake::docs_page(page, 200))
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &base, &["export", "x.ndjson", "--concurrency", "32"]).await;
    assert_code(&out, 0);
    let seen = seen.lock().unwrap().clone();
    let mut pages = seen.clone();
    pages.sort_unstable();
    assert_eq!(pages, (1..=200).collect::<Vec<u64>>(), "each page once");
    for (k, page) in seen.iter().enumerate() {
        assert!(*page <= k as u64 + 32, "page {page} left {k}th: {seen:?}");
    }
}
