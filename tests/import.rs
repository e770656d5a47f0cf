//! `custbulk import` as a user runs it: the real binary against a real sandbox over HTTP.

use std::collections::HashMap;

use serde_json::json;

use custbulk::api::record_id;
use custbulk::sandbox::Options;

use crate::util::{record, stderr, stdout, with, Server, Workdir};

/// A valid SIRET (Luhn) built from a number.
pub fn siret(n: u64) -> String {
    let payload = format!("{:013}", 100_000_000_000 + n);
    let check = custbulk::validate::coerce::luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// A semicolon CSV of `n` customers; rows listed in `bad` get a fractional capital (invalid).
pub fn sheet(n: u64, bad: &[u64]) -> String {
    let mut csv = String::from("name;siret;zipCode;city;capital\n");
    for i in 0..n {
        let capital = if bad.contains(&i) {
            "12.5".to_string()
        } else {
            format!("{}", 1000 + i)
        };
        csv.push_str(&format!(
            "Client {i};{};0{:04};Paris;{capital}\n",
            siret(i),
            i % 10000
        ));
    }
    csv
}

pub fn results(wd: &Workdir, name: &str) -> Vec<HashMap<String, String>> {
    wd.results(name)
}

fn count(rows: &[HashMap<String, String>], outcome: &str) -> usize {
    rows.iter().filter(|r| r["_outcome"] == outcome).count()
}

/// Exactly one stored customer per name in `names`, and nothing else.
pub fn assert_store_has_each_once(server: &Server, expected: usize) {
    let records = server.records();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *by_name
            .entry(r["name"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let duplicates: Vec<_> = by_name.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "duplicated customers: {duplicates:?}"
    );
    assert_eq!(records.len(), expected, "one customer per valid row");
}

#[test]
fn create_accounts_for_every_row_in_input_order() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(30, &[4, 17]));
    let out = wd
        .against(&server, &["import", "clients.csv", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "some rows invalid: {}",
        stderr(&out)
    );
    let rows = results(&wd, "clients.results.csv");
    assert_eq!(rows.len(), 30);
    let numbers: Vec<_> = rows
        .iter()
        .map(|r| r["_row"].parse::<u32>().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (2..32).collect::<Vec<_>>(),
        "input order, spreadsheet row numbers"
    );
    assert_eq!(count(&rows, "created"), 28);
    assert_eq!(count(&rows, "invalid"), 2);
    assert_eq!(rows[4]["_outcome"], "invalid");
    assert!(
        rows[4]["_error"].contains("capital"),
        "{}",
        rows[4]["_error"]
    );
    assert_eq!(rows[0]["zipCode"], "00000", "original cells kept");
    let ids: Vec<_> = server
        .records()
        .iter()
        .map(|r| record_id(r).unwrap())
        .collect();
    assert!(rows
        .iter()
        .filter(|r| r["_outcome"] == "created")
        .all(|r| ids.contains(&r["_id"])));
    assert_store_has_each_once(&server, 28);
    let first = server
        .records()
        .into_iter()
        .find(|r| r["name"] == "Client 0")
        .unwrap();
    assert_eq!(first["zipCode"], "00000", "leading zeros survive");
    let failed = wd.read("clients.failed.csv");
    assert_eq!(
        failed.lines().count(),
        3,
        "header + the 2 invalid rows:\n{failed}"
    );
    assert!(
        failed.lines().next().unwrap().starts_with("name"),
        "the input's own columns"
    );
}

#[test]
fn upsert_updates_matches_creates_the_rest_and_leaves_equal_rows_alone() {
    let server = Server::start(Options::default());
    server.running.insert(vec![
        record(json!({"name": "Client 0", "siret": siret(0), "zipCode": "00000", "city": "Paris", "capital": 1000})),
        record(json!({"name": "Old name", "siret": siret(1), "zipCode": "00001", "city": "Lyon", "capital": 5, "status": "actif"})),
    ]);
    let before = server.records();
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(3, &[]));
    let out = wd
        .against(
            &server,
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
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = results(&wd, "clients.results.csv");
    let outcomes: Vec<_> = rows.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(outcomes, ["unchanged", "updated", "created"]);
    assert_eq!(rows[1]["_id"], record_id(&before[1]).unwrap());
    let after = server.records();
    assert_eq!(after.len(), 3);
    assert_eq!(after[1]["name"], "Client 1");
    assert_eq!(after[1]["city"], "Paris");
    assert_eq!(
        after[1]["status"], "actif",
        "PATCH leaves unmapped fields alone"
    );
    assert_eq!(
        after[0]["updatedAt"], before[0]["updatedAt"],
        "an unchanged row is not sent"
    );
}

#[test]
fn update_by_id_column_and_plan_changes_nothing() {
    let server = Server::start(Options::default());
    server.running.insert(vec![
        record(json!({"name": "A", "city": "Paris"})),
        record(json!({"name": "B", "city": "Nice"})),
    ]);
    let ids: Vec<_> = server
        .records()
        .iter()
        .map(|r| record_id(r).unwrap())
        .collect();
    let wd = Workdir::new();
    wd.write(
        "edit.csv",
        format!(
            "_id,city\n{},Lyon\n{},Nice\nffffffffffffffffffffffff,Brest\n",
            ids[0], ids[1]
        ),
    );

    let out = wd
        .against(
            &server,
            &[
                "import",
                "edit.csv",
                "--mode",
                "update",
                "--plan",
                "--no-progress",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let plan = results(&wd, "edit.results.csv");
    let outcomes: Vec<_> = plan.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(outcomes, ["would-update", "unchanged", "failed"]);
    assert!(plan[0]["_changes"].contains("Lyon"), "{:?}", plan[0]);
    assert_eq!(
        server.records()[0]["city"],
        "Paris",
        "--plan writes nothing"
    );

    let out = wd
        .against(
            &server,
            &["import", "edit.csv", "--mode", "update", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = results(&wd, "edit.results.csv");
    let outcomes: Vec<_> = rows.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(outcomes, ["updated", "unchanged", "failed"]);
    assert_eq!(server.records()[0]["city"], "Lyon");
    assert_eq!(server.records()[0]["name"], "A");
}

#[test]
fn faults_of_every_kind_lose_nothing_and_duplicate_nothing() {
    let server = Server::start(Options {
        fail_rate: 0.1,
        fail_after_commit_rate: 0.1,
        drop_rate: 0.1,
        seed: 42,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(200, &[]));
    let out = wd
        .against(
            &server,
            &[
                "import",
                "clients.csv",
                "--no-progress",
                "--output",
                "json",
                "--concurrency",
                "8",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let rows = results(&wd, "clients.results.csv");
    assert_eq!(rows.len(), 200);
    assert_eq!(count(&rows, "created"), 200);
    assert_store_has_each_once(&server, 200);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        summary["retries"].as_u64().unwrap() > 0,
        "faults were met: {summary}"
    );
}

#[test]
fn kill_9_then_resume_loses_nothing_and_duplicates_nothing() {
    let server = Server::start(Options {
        latency_ms: 15,
        drop_rate: 0.05,
        seed: 3,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(400, &[]));
    let args = [
        "import",
        "clients.csv",
        "--no-progress",
        "--concurrency",
        "4",
    ];
    // Let it get some way in, then kill it without warning.
    wd.kill_9_when(&server, &args, || server.records().len() >= 60);
    let part = server.records().len();
    assert!(part < 400, "killed mid-run ({part} stored)");

    let again = wd.exec_against(&server, &args);
    again.assert_code(2);
    assert!(
        again.stderr.contains("--resume"),
        "an unfinished journal is not overwritten: {again}"
    );

    wd.exec_against(&server, &with(&args, &["--resume"]))
        .assert_ok();
    let rows = results(&wd, "clients.results.csv");
    assert_eq!(rows.len(), 400);
    assert_eq!(
        count(&rows, "created"),
        400,
        "rows done before the kill are reported too"
    );
    assert_store_has_each_once(&server, 400);
}

#[test]
fn a_changed_input_refuses_the_old_journal() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(3, &[]));
    let out = wd
        .against(&server, &["import", "clients.csv", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    wd.write("clients.csv", sheet(4, &[]));
    let out = wd
        .against(
            &server,
            &["import", "clients.csv", "--resume", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("changed"), "{}", stderr(&out));
}

/// Issue 21, case 5, for import: a journal is never overwritten. A run beside a complete
/// journal writes the next one (`clients.2.journal`) and says so; beside an unfinished one it
/// is refused unless `--resume` or `--fresh`, which starts the next one and leaves the
/// unfinished one as it is. Each stays undoable.
#[test]
fn a_new_run_takes_the_next_journal_and_never_overwrites_one() {
    let refusing = Server::start(Options {
        variants: custbulk::sandbox::Variants {
            require: vec!["category".into()],
            ..Default::default()
        },
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(30, &[]));
    let args = ["import", "clients.csv", "--no-progress"];
    // Every POST refused: the breaker stops the run and leaves its journal unfinished.
    wd.exec_against(&refusing, &args).assert_code(3);
    let unfinished = wd.read("clients.journal");
    let server = Server::start(Options::default());
    let again = wd.exec_against(&server, &args);
    again.assert_code(2);
    assert!(
        again.stderr.contains("--resume") && again.stderr.contains("--fresh"),
        "{again}"
    );
    let fresh = wd.exec_against(&server, &with(&args, &["--fresh"]));
    fresh.assert_ok();
    assert!(fresh.stderr.contains("clients.2.journal"), "{fresh}");
    assert_eq!(wd.read("clients.journal"), unfinished, "kept as it was");
    assert_eq!(server.records().len(), 30);

    // Beside a complete journal, the next run takes the next name by itself.
    let third = [
        "import",
        "clients.csv",
        "--no-progress",
        "--on-duplicate",
        "create",
    ];
    let run = wd.exec_against(&server, &third);
    run.assert_ok();
    assert!(run.stderr.contains("clients.3.journal"), "{run}");
    assert_eq!(server.records().len(), 60);
    for journal in ["clients.3.journal", "clients.2.journal"] {
        wd.exec_against(&server, &["undo", journal, "--yes", "--no-progress"])
            .assert_ok();
    }
    assert!(
        server.records().is_empty(),
        "each run undone from its own journal"
    );
}

/// `_status` is the status the server sent: a sandbox whose POST answers 200 gives 200, not
/// the 201 the results file used to write for every created row.
#[test]
fn the_status_written_is_the_one_the_server_sent() {
    let server = Server::start(Options {
        variants: custbulk::sandbox::Variants {
            post_status: custbulk::sandbox::PostStatus::Ok,
            ..Default::default()
        },
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(3, &[]));
    wd.exec_against(&server, &["import", "clients.csv", "--no-progress"])
        .assert_ok();
    let rows = results(&wd, "clients.results.csv");
    assert!(rows.iter().all(|r| r["_status"] == "200"), "{rows:?}");
}

#[test]
fn the_key_is_in_no_file_written() {
    let server = Server::start(Options {
        fail_rate: 0.2,
        seed: 1,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(20, &[3]));
    let out = wd
        .against(&server, &["-vv", "import", "clients.csv", "--no-progress"])
        .output()
        .unwrap();
    let mut everything = format!("{}{}", stdout(&out), stderr(&out));
    for name in [
        "clients.results.csv",
        "clients.failed.csv",
        "clients.journal",
    ] {
        everything.push_str(&wd.read(name));
    }
    assert!(!everything.contains("SECRET"), "the key leaked");
}

#[test]
fn dry_run_needs_no_network_and_no_key() {
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(5, &[1]));
    let out = wd.run(&["import", "clients.csv", "--dry-run", "--no-progress"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = results(&wd, "clients.results.csv");
    assert_eq!(count(&rows, "valid"), 4);
    assert_eq!(count(&rows, "invalid"), 1);
}

#[test]
fn annotate_writes_the_input_with_problems_outcomes_and_new_ids() {
    use calamine::{open_workbook_auto, Data, Reader as _};
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(4, &[2]));
    let out = wd
        .against(
            &server,
            &[
                "import",
                "clients.csv",
                "--annotate",
                "annotated.xlsx",
                "--no-progress",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut book = open_workbook_auto(wd.path("annotated.xlsx")).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let text = |r: usize, c: usize| match range.get((r, c)) {
        Some(Data::String(s)) => s.clone(),
        _ => String::new(),
    };
    let header: Vec<String> = (0..range.width()).map(|c| text(0, c)).collect();
    assert_eq!(
        header,
        ["Problems", "name", "siret", "zipCode", "city", "capital", "_outcome", "_new_id"]
    );
    let results = results(&wd, "clients.results.csv");
    for (i, result) in results.iter().enumerate() {
        assert_eq!(text(i + 1, 1), result["name"], "the input's own values");
        assert_eq!(text(i + 1, 3), result["zipCode"], "text stays text");
        assert_eq!(text(i + 1, 6), result["_outcome"]);
        assert_eq!(text(i + 1, 7), result["_id"]);
    }
    assert_eq!(text(3, 6), "invalid");
    assert!(
        text(3, 0).contains("capital"),
        "the row's problem: {}",
        text(3, 0)
    );
    assert!(text(1, 7).len() == 24, "the new id of a created row");
}

/// The annotated copy of an import, fixed where it is red and imported again, creates the fixed
/// rows only: the rows its `_outcome` says were created are left out, not created twice.
#[test]
fn an_annotated_copy_fixed_and_imported_again_creates_only_the_fixed_rows() {
    use calamine::{open_workbook_auto, Data, Reader as _};
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(4, &[2]));
    let first = ["import", "clients.csv", "--annotate", "annotated.xlsx"];
    let out = wd.against(&server, &first).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(server.records().len(), 3);

    // The person fixes the red capital in the copy and saves it, every other cell as it was.
    let mut book = open_workbook_auto(wd.path("annotated.xlsx")).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let mut fixed = rust_xlsxwriter::Workbook::new();
    let ws = fixed.add_worksheet();
    for (r, cells) in range.rows().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            let text = match cell {
                Data::String(s) if s == "12.5" => "1002".to_string(),
                Data::String(s) => s.clone(),
                Data::Empty => continue,
                other => other.to_string(),
            };
            ws.write_string(r as u32, c as u16, text).unwrap();
        }
    }
    fixed.save(wd.path("fixed.xlsx")).unwrap();

    let again = ["import", "fixed.xlsx", "--no-progress"];
    let out = wd.against(&server, &again).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = results(&wd, "fixed.results.csv");
    assert_eq!(count(&results, "created"), 1);
    assert_eq!(count(&results, "skipped"), 3);
    assert!(
        results[0]["_error"].contains("_outcome"),
        "{:?}",
        results[0]
    );
    assert_store_has_each_once(&server, 4);
    // This run's outcome columns replace the copy's old ones rather than repeating them.
    let header = csv::Reader::from_path(wd.path("fixed.results.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let header: Vec<&str> = header.iter().collect();
    assert_eq!(
        header,
        [
            "name",
            "siret",
            "zipCode",
            "city",
            "capital",
            "_row",
            "_outcome",
            "_id",
            "_status",
            "_error",
            "_response",
            "_note"
        ]
    );
}
