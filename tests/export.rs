//! `custbulk export` and `custbulk verify` as a user meets them: the real binary against a
//! sandbox (or a deliberately broken server) on loopback, every file read back by an
//! independent parser (csv, calamine, serde_json) and compared with the sandbox's store.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use calamine::{open_workbook, Data, Reader, Xlsx};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use custbulk::api::Record;
use custbulk::sandbox::{IdField, ListShape, Options, Running};
use custbulk::schema::FIELDS;

use crate::util::{record, sandbox, stderr, stdout, Workdir};

const KEY: &str = "sk_test_export_KEY_42";

/// Customers that break naive exporters: Arabic, contacts, leading zeros, a 14-digit SIRET,
/// formula-like text, booleans, integers, missing fields, and a key only the last one has.
fn tricky(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = record(json!({
                "name": format!("Client {i:03}"),
                "isCompany": i % 2 == 0,
                "capital": 1_000_000 + i as i64,
                "name_ar": "مخبزة مارتان",
                "address_ar": "12 شارع الجمهورية، باريس",
                "street1": format!("{i} rue de la République, \"bât\"\nB"),
                "zipCode": "01000",
                "city": "Bourg-en-Bresse",
                "contacts": [{"name": "Jeanne, \"la\" gérante", "email": "j@example.fr", "phone": "+33 1 23 45 67 89"}],
                "siret": "55212022200013",
                "rcs": "RCS Paris B 552 120 222",
                "unNumber": 1203,
                "status": if i % 3 == 0 { "actif" } else { "inactif" },
                "subject": "=1+1",
                "category": if i % 5 == 0 { "boulangerie" } else { "épicerie" },
            }));
            if i % 7 == 0 {
                r.remove("street2");
                r.remove("manager");
                r.remove("city");
            } else {
                r.insert("manager".into(), json!("Jeanne Martin"));
            }
            if i == n - 1 {
                r.insert("legacyCode".into(), json!({"old": "007"}));
            }
            r
        })
        .collect()
}

async fn loaded(options: Options, n: usize) -> Running {
    let server = sandbox(options).await;
    server.insert(tricky(n));
    server
}

/// Runs the binary against `base_url` with the key in the environment.
async fn custbulk(wd: &Workdir, base_url: &str, args: &[&str]) -> Output {
    let mut command = wd.command(args);
    command
        .env("ICLOUDREADY_API_KEY", KEY)
        .env("ICLOUDREADY_BASE_URL", base_url);
    tokio::task::spawn_blocking(move || command.output().expect("run custbulk"))
        .await
        .unwrap()
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// The column rule, written independently of the exporter: id, schema fields, the rest sorted.
fn expected_columns(records: &[Record], id: &str) -> Vec<String> {
    let mut columns = vec![id.to_string()];
    columns.extend(FIELDS.iter().map(|f| f.name.to_string()));
    let mut rest: Vec<String> = records
        .iter()
        .flat_map(|r| r.keys().cloned())
        .filter(|k| !columns.contains(k))
        .collect();
    rest.sort();
    rest.dedup();
    columns.extend(rest);
    columns
}

/// What an importer expects to read in a CSV cell for a stored value.
fn csv_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("a readable CSV");
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

fn read_ndjson(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line a JSON object"))
        .collect()
}

fn assert_csv_matches(path: &Path, store: &[Record], id: &str) {
    let (headers, rows) = read_csv(path);
    assert_eq!(headers, expected_columns(store, id));
    assert_eq!(rows.len(), store.len());
    for (row, stored) in rows.iter().zip(store) {
        for (cell, column) in row.iter().zip(&headers) {
            assert_eq!(
                cell,
                &csv_text(stored.get(column)),
                "column {column} of {:?}",
                stored.get(id)
            );
        }
    }
}

/// Only the files a user should see: no temporary or spool files left behind.
fn files_in(wd: &Workdir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(wd.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

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

/// A minimal HTTP/1.1 server on loopback, one request per connection: `respond(page)` gives
/// the body for a list request's `page`, or `None` to make the server die (stop listening and
/// drop the connection) from then on.
async fn fake_api(respond: impl Fn(u64) -> Option<String> + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v2", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let target = head.split_whitespace().nth(1).unwrap_or("");
            let page = target
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let Some(body) = respond(page) else {
                return; // the listener and this connection drop: the server is gone
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    base
}

/// A mongoose-paginate page of two records, claiming `total_pages` pages.
fn docs_page(page: u64, total_pages: u64) -> String {
    let docs: Vec<Value> = (0..2)
        .map(|i| json!({"_id": format!("p{page}r{i}"), "name": format!("Client {page}-{i}"), "zipCode": "01000"}))
        .collect();
    json!({"docs": docs, "totalDocs": total_pages * 2, "limit": 2, "page": page,
           "totalPages": total_pages, "hasNextPage": page < total_pages,
           "nextPage": if page < total_pages { json!(page + 1) } else { Value::Null }})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dying_mid_export_leaves_no_file_and_exits_3() {
    for (file, concurrency) in [("dead.csv", "1"), ("dead.ndjson", "4"), ("dead.xlsx", "2")] {
        let served = Arc::new(AtomicUsize::new(0));
        let counter = served.clone();
        let base = fake_api(move |page| {
            (counter.fetch_add(1, Ordering::SeqCst) < 3).then(|| docs_page(page, 50))
        })
        .await;
        let wd = Workdir::new();
        let out = custbulk(&wd, &base, &["export", file, "--concurrency", concurrency]).await;
        assert_code(&out, 3);
        assert!(stderr(&out).contains("was not written"), "{}", stderr(&out));
        assert!(
            served.load(Ordering::SeqCst) >= 3,
            "pages were served before it died"
        );
        assert_eq!(files_in(&wd), Vec::<String>::new(), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_leaves_an_earlier_backup_untouched() {
    let base = fake_api(|page| (page < 3).then(|| docs_page(page, 10))).await;
    let wd = Workdir::new();
    wd.write("backup.ndjson", "earlier backup\n");
    let out = custbulk(
        &wd,
        &base,
        &["export", "backup.ndjson", "--concurrency", "1"],
    )
    .await;
    assert_code(&out, 3);
    assert_eq!(wd.read("backup.ndjson"), "earlier backup\n");
    assert_eq!(files_in(&wd), ["backup.ndjson"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_page_is_caught() {
    let same = json!([{"_id": "a", "name": "A"}, {"_id": "b", "name": "B"}]).to_string();
    let array = fake_api(move |_| Some(same.clone())).await;
    let docs = fake_api(|_| Some(docs_page(1, 5))).await;
    for base in [array, docs] {
        let wd = Workdir::new();
        let out = custbulk(&wd, &base, &["export", "x.csv", "--page-size", "2"]).await;
        assert_code(&out, 3);
        assert!(stderr(&out).contains("ignores `page`"), "{}", stderr(&out));
        assert_eq!(files_in(&wd), Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_repeats_a_later_page_is_caught() {
    // Pages 1 and 2 differ, then every page repeats page 2: a clamped `page` with no end signal.
    let base = fake_api(|page| {
        let page = page.min(2);
        Some(json!([{"_id": format!("r{page}"), "name": "N"}]).to_string())
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &base, &["export", "x.json"]).await;
    assert_code(&out, 3);
    assert!(stderr(&out).contains("repeats pages"), "{}", stderr(&out));
    assert_eq!(files_in(&wd), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_verifies_and_a_tampered_file_fails() {
    let server = loaded(Options::default(), 30).await;
    let wd = Workdir::new();
    for file in ["v.csv", "v.ndjson", "v.json", "v.xlsx"] {
        let out = custbulk(&wd, &server.base_url, &["export", file]).await;
        assert_code(&out, 0);
        let out = custbulk(&wd, &server.base_url, &["verify", file, "--output", "json"]).await;
        assert_code(&out, 0);
        let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            (verdict["ok"].clone(), verdict["records"].clone()),
            (json!(true), json!(30))
        );
    }

    // One changed letter: same size, same count, different digest.
    let csv = wd.read("v.csv").replacen("Client 003", "Client 004", 1);
    wd.write("v.csv", csv);
    let out = custbulk(&wd, &server.base_url, &["verify", "v.csv"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("does NOT match"), "{}", stdout(&out));
    assert!(stdout(&out).contains("sha256"), "{}", stdout(&out));

    // A lost line: size, digest and count all differ.
    let ndjson = wd.read("v.ndjson");
    let shorter: String = ndjson.lines().skip(1).map(|l| format!("{l}\n")).collect();
    wd.write("v.ndjson", shorter);
    let out = custbulk(&wd, &server.base_url, &["verify", "v.ndjson"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("29 records"), "{}", stdout(&out));

    // A damaged workbook is a mismatch, not a crash.
    let mut xlsx = std::fs::read(wd.path("v.xlsx")).unwrap();
    let middle = xlsx.len() / 2;
    xlsx[middle] ^= 0xff;
    std::fs::write(wd.path("v.xlsx"), xlsx).unwrap();
    let out = custbulk(&wd, &server.base_url, &["verify", "v.xlsx"]).await;
    assert_code(&out, 1);

    // Nothing to read: exit 3.
    std::fs::remove_file(wd.path("v.json")).unwrap();
    assert_code(
        &custbulk(&wd, &server.base_url, &["verify", "v.json"]).await,
        3,
    );
    assert_code(
        &custbulk(&wd, &server.base_url, &["verify", "nothing.csv"]).await,
        3,
    );
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
async fn ctrl_c_stops_the_export_and_removes_its_temporary_files() {
    let server = loaded(
        Options {
            latency_ms: 300,
            ..Options::default()
        },
        400,
    )
    .await;
    let wd = Workdir::new();
    let mut command = wd.command(&[
        "export",
        "x.xlsx",
        "--page-size",
        "10",
        "--concurrency",
        "1",
    ]);
    command
        .env("ICLOUDREADY_API_KEY", KEY)
        .env("ICLOUDREADY_BASE_URL", &server.base_url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    // Let it get going (40 pages at 300 ms each take 12 s), then interrupt it as Ctrl-C would.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_code(&out, 3);
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert_eq!(files_in(&wd), Vec::<String>::new());
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
