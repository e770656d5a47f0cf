//! What lands in each file: every format read back by an independent parser, every list shape
//! and id field, the filters, the BOM, the round trip.

use calamine::{open_workbook, Data, Reader, Xlsx};
use serde_json::{json, Value};

use custbulk::api::Record;
use custbulk::sandbox::{IdField, ListShape, Options};

use super::*;
use crate::util::{stdout, Workdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_reads_back_as_the_store_holds_it() {
    let server = loaded(Options::default(), 250).await;
    let store = server.records();
    let wd = Workdir::new();
    for file in ["all.csv", "all.xlsx", "all.json", "all.ndjson"] {
        let out = custbulk(
            &wd,
            &server.base_url,
            &["export", file, "--page-size", "40", "--concurrency", "3"],
        )
        .await;
        assert_code(&out, 0);
        assert!(
            stdout(&out).contains("Exported 250 customers"),
            "{}",
            stdout(&out)
        );
    }

    // JSON and NDJSON keep each record exactly as the API returned it.
    let json: Vec<Record> = serde_json::from_str(&wd.read("all.json")).unwrap();
    assert_eq!(json, store);
    assert_eq!(read_ndjson(&wd.path("all.ndjson")), store);

    // CSV: the header is the column rule; every cell is what an importer expects.
    assert_csv_matches(&wd.path("all.csv"), &store, "_id");
    let (headers, rows) = read_csv(&wd.path("all.csv"));
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(headers.last().unwrap(), "updatedAt");
    assert!(
        headers.contains(&"legacyCode".to_string()),
        "a key first seen on the last page still gets a column"
    );
    assert_eq!(rows[0][col("zipCode")], "01000");
    assert_eq!(rows[0][col("siret")], "55212022200013");
    assert_eq!(rows[0][col("subject")], "=1+1");
    assert_eq!(rows[0][col("name_ar")], "مخبزة مارتان");
    assert_eq!(rows[0][col("isCompany")], "true");
    assert_eq!(rows[0][col("capital")], "1000000");
    let contacts: Value = serde_json::from_str(&rows[0][col("contacts")]).unwrap();
    assert_eq!(contacts, store[0]["contacts"]);

    // XLSX: strings are text cells, booleans booleans, integers numbers, missing values empty.
    let mut book: Xlsx<_> = open_workbook(wd.path("all.xlsx")).unwrap();
    assert_eq!(book.sheet_names(), ["Customers"]);
    let sheet = book.worksheet_range("Customers").unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, expected_columns(&store, "_id"));
    assert_eq!(sheet.height(), store.len() + 1);
    for (row, stored) in sheet.rows().skip(1).zip(&store) {
        for (cell, column) in row.iter().zip(&header) {
            let want = match stored.get(column) {
                None | Some(Value::Null) => Data::Empty,
                Some(Value::String(s)) => Data::String(s.clone()),
                Some(Value::Bool(b)) => Data::Bool(*b),
                Some(Value::Number(n)) => Data::Float(n.as_f64().unwrap()),
                Some(other) => Data::String(other.to_string()),
            };
            assert_eq!(cell, &want, "column {column} of {}", stored["_id"]);
        }
    }

    // Each file has its manifest, which verifies and never holds the key.
    for file in ["all.csv", "all.xlsx", "all.json", "all.ndjson"] {
        let manifest: Value =
            serde_json::from_str(&wd.read(&format!("{file}.manifest.json"))).unwrap();
        assert_eq!(manifest["records"], 250);
        assert_eq!(manifest["query"]["sort_by"], "createdAt");
        assert!(!wd.read(&format!("{file}.manifest.json")).contains(KEY));
        let out = custbulk(&wd, &server.base_url, &["verify", file]).await;
        assert_code(&out, 0);
    }
    assert_eq!(files_in(&wd).len(), 8, "{:?}", files_in(&wd));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_shape_and_id_field_exports_completely() {
    for shape in [ListShape::Docs, ListShape::Data, ListShape::Array] {
        for (id_field, id) in [(IdField::UnderscoreId, "_id"), (IdField::Id, "id")] {
            let options = Options {
                list_shape: shape,
                id_field,
                ..Options::default()
            };
            let server = loaded(options, 60).await;
            let store = server.records();
            let wd = Workdir::new();
            for file in ["x.ndjson", "x.csv"] {
                let out = custbulk(
                    &wd,
                    &server.base_url,
                    &["export", file, "--page-size", "25"],
                )
                .await;
                assert_code(&out, 0);
            }
            assert_eq!(
                read_ndjson(&wd.path("x.ndjson")),
                store,
                "{shape:?} with {id}"
            );
            assert_csv_matches(&wd.path("x.csv"), &store, id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_q_p_and_fields_pass_through() {
    let server = loaded(Options::default(), 90).await;
    let store = server.records();
    let wd = Workdir::new();
    let base = server.base_url.clone();

    let out = custbulk(
        &wd,
        &base,
        &["export", "max.ndjson", "--max", "7", "--page-size", "5"],
    )
    .await;
    assert_code(&out, 0);
    assert_eq!(read_ndjson(&wd.path("max.ndjson")), store[..7]);

    let out = custbulk(
        &wd,
        &base,
        &[
            "export",
            "q.ndjson",
            "--q",
            "BOULANGERIE",
            "--page-size",
            "4",
        ],
    )
    .await;
    assert_code(&out, 0);
    let wanted: Vec<Record> = store
        .iter()
        .filter(|r| r["category"] == "boulangerie")
        .cloned()
        .collect();
    assert_eq!(read_ndjson(&wd.path("q.ndjson")), wanted);

    let out = custbulk(
        &wd,
        &base,
        &["export", "p.json", "--p", r#"{"status":"actif"}"#],
    )
    .await;
    assert_code(&out, 0);
    let got: Vec<Record> = serde_json::from_str(&wd.read("p.json")).unwrap();
    let wanted: Vec<&Record> = store.iter().filter(|r| r["status"] == "actif").collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), wanted);

    let out = custbulk(
        &wd,
        &base,
        &[
            "export",
            "f.csv",
            "--fields",
            "name,city",
            "--page-size",
            "30",
        ],
    )
    .await;
    assert_code(&out, 0);
    let (headers, rows) = read_csv(&wd.path("f.csv"));
    assert_eq!(headers, ["_id", "name", "city"]);
    assert_eq!(rows.len(), 90);
    assert_eq!(rows[1][1], "Client 001");

    let out = custbulk(
        &wd,
        &base,
        &[
            "export",
            "desc.ndjson",
            "--order",
            "desc",
            "--sort-by",
            "name",
            "--output",
            "json",
        ],
    )
    .await;
    assert_code(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["records"], 90);
    let names: Vec<String> = read_ndjson(&wd.path("desc.ndjson"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.first().unwrap(), "Client 089");
    assert_eq!(names.last().unwrap(), "Client 000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bom_is_written_on_request_and_flags_are_checked_first() {
    let server = loaded(Options::default(), 3).await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &server.base_url, &["export", "bom.csv", "--bom"]).await;
    assert_code(&out, 0);
    let bytes = std::fs::read(wd.path("bom.csv")).unwrap();
    assert!(bytes.starts_with("\u{feff}_id,name,".as_bytes()));
    assert_csv_matches(&wd.path("bom.csv"), &server.records(), "_id");

    for args in [
        vec!["export", "backup.txt"],
        vec!["export", "b.xlsx", "--bom"],
        vec!["export", "no/such/dir/b.csv"],
        vec!["export", "b.csv", "--concurrency", "0"],
    ] {
        let out = custbulk(&wd, &server.base_url, &args).await;
        assert_code(&out, 2);
    }
}

/// The round trip the issue promises: an exported CSV or XLSX, imported back with
/// `import --mode upsert`, finds every row unchanged and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_back_unchanged() {
    let server = loaded(Options::default(), 120).await;
    let before = server.records();
    let wd = Workdir::new();
    for file in ["round.csv", "round.xlsx"] {
        let out = custbulk(&wd, &server.base_url, &["export", file]).await;
        assert_code(&out, 0);
        let out = custbulk(
            &wd,
            &server.base_url,
            &["import", file, "--mode", "upsert", "--output", "json"],
        )
        .await;
        assert_code(&out, 0);
        let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(summary["outcomes"], json!({"unchanged": 120}), "{file}");
    }
    assert_eq!(server.records(), before, "nothing was written");
    let stats: Value = reqwest::get(format!("http://{}/__sandbox/stats", server.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["writes"], 0);
}
