//! A journal that cannot be written: its disk fills mid-run.

use std::process::Stdio;

use custbulk::sandbox::Options;

use super::{watch, SmallDisk};
use crate::honest::count;
use crate::import::{assert_store_has_each_once, siret};
use crate::util::{Server, Workdir};

/// Issue 21, case 1: the journal on a real small disk (a tmpfs) used to fail its first lines
/// while every row was still POSTed. Now the first line that cannot be written stops the run
/// at once: no request leaves after it, the rows whose request had left are `unknown` (never
/// `failed`: importing them again would make duplicates), the rest `skipped` and out of the
/// failed file, and `--resume` finds the unknown ones instead of creating them twice.
#[test]
fn a_full_disk_stops_every_request_at_once_and_resume_loses_and_doubles_nothing() {
    let server = Server::start(Options {
        latency_ms: 5,
        ..Options::default()
    });
    let wd = Workdir::new();
    // Two short columns, so that under a file-size limit the results file stays under it.
    let mut csv = String::from("name,siret\n");
    for i in 0..200 {
        csv.push_str(&format!("Client {i},{}\n", siret(i)));
    }
    wd.write("clients.csv", csv);
    let disk = SmallDisk::new(&wd, 26_000);
    let child = disk
        .import(&wd, &server)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ran = watch(child, || count(&server, "POST"));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("the journal could not be written"),
        "{}",
        ran.stderr
    );
    let at_stop = ran.at_stop.expect("the run says it stops");
    let posts = count(&server, "POST");
    assert!(
        posts - at_stop <= 4,
        "{} POSTs arrived after the stop ({posts} in all); at most the 4 in flight may",
        posts - at_stop
    );

    let rows = wd.results("clients.results.csv");
    assert_eq!(rows.len(), 200, "every row has one outcome");
    let outcome = |o: &str| rows.iter().filter(|r| r["_outcome"] == o).count();
    let (created, unknown, skipped) = (outcome("created"), outcome("unknown"), outcome("skipped"));
    assert_eq!(created + unknown + skipped, 200, "nothing failed: {rows:?}");
    assert!(skipped > 0, "the rest were not attempted");
    assert_eq!(
        server.records().len() as u64,
        posts,
        "each POST made one customer"
    );
    assert_eq!(
        posts as usize,
        created + unknown,
        "no POST for a skipped row"
    );
    for row in rows.iter().filter(|r| r["_outcome"] != "created") {
        assert!(row["name"].starts_with("Client "), "cells kept: {row:?}");
    }
    let failed = wd.read("clients.failed.csv");
    assert_eq!(failed.lines().count(), 1, "nothing to re-import: {failed}");

    disk.rescue("clients.journal", &wd.path("clients.journal"));
    drop(disk);
    let resume = ["import", "clients.csv", "--no-progress", "--resume"];
    wd.exec_against(&server, &resume).assert_ok();
    let rows = wd.results("clients.results.csv");
    assert!(rows.iter().all(|r| r["_outcome"] == "created"));
    assert_store_has_each_once(&server, 200);
}

/// Issue 21, case 1's second run: the file's names were on the server once already, so the
/// rows `--resume` reconciled each found two customers, and it sent them again. A look-up
/// that finds more than one candidate never re-sends: the row stays `unknown`, and says so.
#[test]
fn a_reconciliation_that_finds_two_candidates_never_sends_again() {
    let server = Server::start(Options {
        latency_ms: 10,
        ..Options::default()
    });
    let names: Vec<String> = (0..160).map(|i| format!("Client {i}")).collect();
    server.running.insert(
        names
            .iter()
            .map(|n| crate::util::record(serde_json::json!({ "name": n })))
            .collect(),
    );
    let wd = Workdir::new();
    wd.write("clients.csv", format!("name\n{}\n", names.join("\n")));
    // Under a file-size limit, the import's spool of the account (160 customers) must fit.
    let disk = SmallDisk::new(&wd, 24_000);
    let out = disk.import(&wd, &server).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let first = wd.results("clients.results.csv");
    let unknown = first.iter().filter(|r| r["_outcome"] == "unknown").count();
    assert!(unknown >= 1, "a request was in flight when the disk filled");
    disk.rescue("clients.journal", &wd.path("clients.journal"));
    drop(disk);

    let posts = count(&server, "POST");
    let resume = ["import", "clients.csv", "--no-progress", "--resume"];
    let run = wd.exec_against(&server, &resume);
    run.assert_code(1);
    let rows = wd.results("clients.results.csv");
    let created = rows.iter().filter(|r| r["_outcome"] == "created").count();
    let left: Vec<_> = rows.iter().filter(|r| r["_outcome"] == "unknown").collect();
    assert_eq!(left.len(), unknown, "the unknown rows stay unknown");
    for row in &left {
        assert!(
            row["_error"].contains("2 customers now match it")
                && row["_error"].contains("not sent again"),
            "{row:?}"
        );
    }
    assert_eq!(
        count(&server, "POST") - posts,
        (160 - created_before(&first)) as u64 - unknown as u64,
        "only the rows never sent are sent"
    );
    assert_eq!(created + left.len(), 160);
    let records = server.records();
    assert_eq!(
        records.len(),
        320,
        "each name twice: the old one and this import's"
    );
    for name in &names {
        let n = records
            .iter()
            .filter(|r| r["name"] == name.as_str())
            .count();
        assert_eq!(n, 2, "{name}");
    }
}

fn created_before(rows: &[std::collections::HashMap<String, String>]) -> usize {
    rows.iter().filter(|r| r["_outcome"] == "created").count()
}
