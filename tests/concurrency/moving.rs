//! The adaptive limit moving under a real run: against a sandbox with a capacity and faults,
//! an import loses no row and duplicates no customer, and an export writes each record once,
//! while `-v` shows the limit change; a fixed `--concurrency` never moves.

use std::collections::HashSet;

use serde_json::{json, Value};

use custbulk::api::record_id;
use custbulk::sandbox::Options;

use crate::import::{results, siret};
use crate::util::{record, Server, Workdir};

/// The `-v` lines that report a change of the limit.
fn changes(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("Concurrency ") && l.contains(" → "))
        .collect()
}

fn sheet(rows: u64) -> String {
    let mut csv = String::from("name;siret;city\n");
    for i in 0..rows {
        csv.push_str(&format!("Client {i};{};Lyon\n", siret(i)));
    }
    csv
}

#[test]
fn an_import_loses_and_duplicates_nothing_while_the_limit_moves() {
    let server = Server::start(Options {
        capacity: Some(4),
        latency_ms: 10,
        fail_rate: 0.05,
        fail_after_commit_rate: 0.05,
        drop_rate: 0.05,
        seed: 11,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(300));
    let run = wd
        .against(&server, &["import", "clients.csv", "--no-progress", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    // The dropped connections push the limit back, whatever the timing.
    let moves = changes(&stderr);
    assert!(!moves.is_empty(), "the limit moved: {stderr}");
    assert!(
        moves.iter().all(|l| l.ends_with('.')),
        "each change is a sentence with its reason: {moves:?}"
    );
    let rows = results(&wd, "clients.results.csv");
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| r["_outcome"] == "created"));
    let stored = server.records();
    let names: HashSet<_> = stored.iter().map(|r| r["name"].clone()).collect();
    assert_eq!(
        (stored.len(), names.len()),
        (300, 300),
        "each customer once"
    );
}

#[test]
fn an_export_writes_each_record_once_while_the_limit_moves() {
    // 100 pages against 40 requests a second: the limit is pushed back, whatever the timing.
    let server = Server::start(Options {
        capacity: Some(6),
        latency_ms: 5,
        rate_limit: Some(40),
        fail_rate: 0.1,
        seed: 5,
        ..Options::default()
    });
    let records = (0..2000).map(|i| record(json!({"name": format!("C{i}")})));
    server.running.insert(records.collect());
    let wd = Workdir::new();
    let run = wd
        .against(
            &server,
            &[
                "export",
                "all.ndjson",
                "--page-size",
                "20",
                "--no-progress",
                "-v",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(!changes(&stderr).is_empty(), "the limit moved: {stderr}");
    let lines: Vec<Value> = wd
        .read("all.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: HashSet<_> = lines
        .iter()
        .map(|v| record_id(v.as_object().unwrap()).unwrap())
        .collect();
    assert_eq!((lines.len(), ids.len()), (2000, 2000));
}

#[test]
fn a_fixed_concurrency_never_moves() {
    let server = Server::start(Options {
        capacity: Some(2),
        latency_ms: 5,
        fail_rate: 0.1,
        seed: 3,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(60));
    let run = wd
        .against(
            &server,
            &[
                "import",
                "clients.csv",
                "--no-progress",
                "-v",
                "--concurrency",
                "6",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert_eq!(changes(&stderr), Vec::<&str>::new());
    assert_eq!(server.records().len(), 60);
}
