//! The circuit breaker, end to end: an import, an undo and a delete whose requests keep failing
//! stop after a few of them (exit 3, the error quoted, the rest `skipped`), and `--resume`
//! finishes the run once the cause is fixed, every row done once.

use serde_json::json;

use custbulk::apply::journal::{last_line, Line};
use custbulk::compare::canonical;
use custbulk::sandbox::{NullOnPatch, Options, Variants};

use crate::honest::{count, requests};
use crate::import::{assert_store_has_each_once, sheet, siret};
use crate::util::{record, Server, Workdir};

fn outcomes(wd: &Workdir, file: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for row in wd.results(file) {
        *counts.entry(row["_outcome"].clone()).or_default() += 1;
    }
    counts
}

fn resumable(wd: &Workdir, journal: &str) {
    let last = last_line(&wd.path(journal)).unwrap();
    assert!(
        matches!(
            last,
            Some(Line::End {
                complete: false,
                ..
            })
        ),
        "{last:?}"
    );
}

fn total_requests(server: &Server) -> u64 {
    let all = requests(server);
    all.as_object()
        .map(|m| m.values().filter_map(|n| n.as_u64()).sum())
        .unwrap_or(0)
}

/// The case: 2,000 rows into an API that refuses every POST with 422 (it requires a
/// field the sheet lacks). At most 25 writes reach it (beside the one read of the list that
/// looks for likely duplicates); once a sandbox without the rule holds
/// the same store, `--resume` creates every row, once.
#[test]
fn an_import_refused_every_post_stops_within_25_requests_and_resume_finishes_it() {
    let broken = Server::start(Options {
        variants: Variants {
            require: vec!["category".into()],
            ..Variants::default()
        },
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(2000, &[]));
    let args = ["import", "clients.csv", "--no-progress"];
    let run = wd.exec_against(&broken, &args);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("the same failure repeated on 20 rows in a row")
            && run.stderr.contains("category is required")
            && run.stderr.contains("--resume"),
        "{run}"
    );
    let sent = count(&broken, "POST");
    assert!(sent <= 25, "{sent} POSTs: {}", requests(&broken));
    assert_eq!(total_requests(&broken) - count(&broken, "GET"), sent);
    let counts = outcomes(&wd, "clients.results.csv");
    assert_eq!(counts["failed"] as u64, sent, "{counts:?}");
    assert_eq!(counts["failed"] + counts["skipped"], 2000, "{counts:?}");
    resumable(&wd, "clients.journal");
    assert!(broken.records().is_empty());

    let fixed = Server::start(Options::default());
    fixed.running.insert(broken.records());
    wd.exec_against(&fixed, &[&args[..], &["--resume"]].concat())
        .assert_ok();
    let rows = wd.results("clients.results.csv");
    assert!(rows.iter().all(|r| r["_outcome"] == "created"));
    assert_store_has_each_once(&fixed, 2000);
    assert_eq!(count(&fixed, "POST"), 2000, "each row sent once");
}

/// An undo whose restores the API refuses (it refuses null, and the import added a field)
/// stops after 20 identical failures, and finishes against an API that takes them.
#[test]
fn an_undo_refused_again_and_again_stops_and_resume_finishes_it() {
    let clean = Server::start(Options::default());
    clean.running.insert(
        (0..60)
            .map(|i| {
                record(json!({"name": format!("Client {i}"), "siret": siret(i), "city": "Lyon"}))
            })
            .collect(),
    );
    let wd = Workdir::new();
    let mut csv = String::from("name;siret;zipCode\n");
    for i in 0..60 {
        csv.push_str(&format!("Client {i};{};0{:04}\n", siret(i), i));
    }
    wd.write("clients.csv", csv);
    let before: Vec<_> = clean.records().iter().map(canonical).collect();
    wd.exec_against(
        &clean,
        &[
            "import",
            "clients.csv",
            "--mode",
            "upsert",
            "--match-on",
            "siret",
            "--no-progress",
        ],
    )
    .assert_ok();

    let refusing = Server::start(Options {
        variants: Variants {
            patch_null: NullOnPatch::Reject,
            ..Variants::default()
        },
        ..Options::default()
    });
    refusing.running.insert(clean.records());
    let args = ["undo", "clients.journal", "--yes", "--no-progress"];
    let run = wd.exec_against(&refusing, &args);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("the same failure repeated on 20 rows in a row")
            && run.stderr.contains("the API refuses null on PATCH"),
        "{run}"
    );
    let counts = outcomes(&wd, "clients.undo.results.csv");
    assert_eq!(counts["failed"], 20, "{counts:?}");
    assert_eq!(counts["skipped"], 40, "{counts:?}");
    assert_eq!(count(&refusing, "PATCH"), 20);
    resumable(&wd, "clients.undo.journal");

    let fixed = Server::start(Options::default());
    fixed.running.insert(refusing.records());
    wd.exec_against(&fixed, &[&args[..], &["--resume"]].concat())
        .assert_ok();
    let counts = outcomes(&wd, "clients.undo.results.csv");
    assert_eq!(counts.get("restored"), Some(&60), "{counts:?}");
    let after: Vec<_> = fixed.records().iter().map(canonical).collect();
    assert_eq!(after, before);
}

/// A delete whose customers are not there, with `--strict`: more than half of the first 100
/// rows fail, so it stops, and once the customers exist `--resume` deletes them all.
#[test]
fn a_delete_failing_row_after_row_stops_and_resume_finishes_it() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    let mut csv = String::from("siret\n");
    for i in 0..120 {
        csv.push_str(&format!("{}\n", siret(i)));
    }
    wd.write("gone.csv", csv);
    let args = [
        "import",
        "gone.csv",
        "--mode",
        "delete",
        "--match-on",
        "siret",
        "--strict",
        "--yes",
        "--no-progress",
    ];
    let run = wd.exec_against(&server, &args);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("more than half of the first 100 rows failed (51 of 51)")
            && run.stderr.contains("no customer has siret"),
        "{run}"
    );
    let counts = outcomes(&wd, "gone.results.csv");
    // The rows in flight when it tripped (8 at most: none had succeeded) finish.
    assert!((51..=58).contains(&counts["failed"]), "{counts:?}");
    assert_eq!(counts["failed"] + counts["skipped"], 120, "{counts:?}");
    resumable(&wd, "gone.journal");

    server.running.insert(
        (0..120)
            .map(|i| record(json!({"name": format!("Client {i}"), "siret": siret(i)})))
            .collect(),
    );
    wd.exec_against(&server, &[&args[..], &["--resume"]].concat())
        .assert_ok();
    assert_eq!(outcomes(&wd, "gone.results.csv").get("deleted"), Some(&120));
    assert!(server.records().is_empty());
}
