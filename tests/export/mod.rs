//! `custbulk export` and `custbulk verify` as a user meets them: the real binary against a
//! sandbox (or a deliberately broken server) on loopback, every file read back by an
//! independent parser (csv, calamine, serde_json) and compared with the sandbox's store.
//!
//! `formats`: what lands in each file; `paging`: how the list is walked; `failures`: what a
//! failed or interrupted export leaves (nothing) and what `verify` says; `fake`: a tiny HTTP
//! server that misbehaves on purpose.

mod failures;
pub mod fake;
mod formats;
mod paging;

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};

use custbulk::api::Record;
use custbulk::sandbox::{Options, Running};
use custbulk::schema::FIELDS;

use crate::util::{record, sandbox, stderr, stdout, Workdir};

pub const KEY: &str = "sk_test_export_KEY_42";

/// Customers that break naive exporters: Arabic, contacts, leading zeros, a 14-digit SIRET,
/// formula-like text, booleans, integers, missing fields, and a key only the last one has.
pub fn tricky(n: usize) -> Vec<Record> {
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

pub async fn loaded(options: Options, n: usize) -> Running {
    let server = sandbox(options).await;
    server.insert(tricky(n));
    server
}

/// Runs the binary against `base_url` with the key in the environment.
pub async fn custbulk(wd: &Workdir, base_url: &str, args: &[&str]) -> Output {
    let mut command = wd.command(args);
    command
        .env("ICLOUDREADY_API_KEY", KEY)
        .env("ICLOUDREADY_BASE_URL", base_url);
    tokio::task::spawn_blocking(move || command.output().expect("run custbulk"))
        .await
        .unwrap()
}

pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// The column rule, written independently of the exporter: id, schema fields, the rest sorted.
pub fn expected_columns(records: &[Record], id: &str) -> Vec<String> {
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
pub fn csv_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
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

pub fn read_ndjson(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line a JSON object"))
        .collect()
}

pub fn assert_csv_matches(path: &Path, store: &[Record], id: &str) {
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
pub fn files_in(wd: &Workdir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(wd.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
