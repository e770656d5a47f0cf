//! One run at a time per journal: a second is refused at once, naming the first's pid, and a
//! run killed with kill -9 blocks nobody.

use std::process::Stdio;

use custbulk::sandbox::Options;

use super::clients;
use crate::util::{stderr, with, Server, Workdir};

const ARGS: [&str; 5] = ["import", "two.csv", "--no-progress", "--concurrency", "2"];

/// Issue 14, item 1: two imports of one file started together each created every customer.
#[test]
fn two_imports_of_one_file_at_once_create_each_customer_once() {
    let server = Server::start(Options {
        latency_ms: 20,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("two.csv", clients(0..200));
    let start = || {
        wd.against(&server, &ARGS)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start custbulk")
    };
    let (first, second) = (start(), start());
    let pids = [first.id(), second.id()];
    let outs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
    let winner = codes
        .iter()
        .position(|c| *c == Some(0))
        .unwrap_or_else(|| panic!("one run succeeds: {codes:?}\n{}", stderr(&outs[0])));
    let loser = 1 - winner;
    assert_eq!(codes[loser], Some(3), "the other is refused: {codes:?}");
    let refusal = stderr(&outs[loser]);
    assert!(
        refusal.contains(&format!("pid {}", pids[winner])),
        "the refusal names the run that holds the journal: {refusal}"
    );
    assert!(refusal.contains("Nothing was sent"), "{refusal}");
    assert_eq!(server.records().len(), 200, "each customer once");
    let results = wd.results("two.results.csv");
    assert_eq!(results.len(), 200);
    assert!(results.iter().all(|r| r["_outcome"] == "created"));
    assert!(
        !wd.path("two.journal.lock").exists(),
        "the lock file goes with the run"
    );
}

/// The kernel releases a killed run's lock: the lock file it leaves behind refuses nobody.
#[test]
fn a_run_killed_with_kill_9_leaves_no_lock_that_refuses_the_resume() {
    let server = Server::start(Options {
        latency_ms: 20,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("two.csv", clients(0..200));
    wd.kill_9_when(&server, &ARGS, || server.records().len() >= 20);
    assert!(
        wd.path("two.journal.lock").exists(),
        "a killed run cannot remove its lock file"
    );
    let resumed = wd.exec_against(&server, &with(&ARGS, &["--resume"]));
    resumed.assert_ok();
    assert_eq!(server.records().len(), 200);
    assert!(!wd.path("two.journal.lock").exists());
}

/// An undo reads the import's journal: while an import holds it, no undo starts on it. A
/// `--plan` reads no journal and holds nothing, so it is not refused.
#[test]
fn an_undo_is_refused_while_an_import_holds_its_journal() {
    let server = Server::start(Options {
        latency_ms: 20,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("two.csv", clients(0..40));
    wd.exec_against(&server, &["import", "two.csv", "--no-progress"])
        .assert_ok();
    // The same file again, as an upsert under way (one request at a time, each row looked up).
    let upsert = [
        "import",
        "two.csv",
        "--mode",
        "upsert",
        "--concurrency",
        "1",
        "--no-progress",
    ];
    let mut import = wd
        .against(&server, &upsert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::util::wait_until(|| wd.path("two.journal.lock").exists());
    let undo = wd.exec_against(&server, &["undo", "two.journal", "--yes", "--no-progress"]);
    let plan = wd.exec_against(
        &server,
        &[
            "import",
            "two.csv",
            "--plan",
            "--results",
            "plan.csv",
            "--no-progress",
        ],
    );
    import.wait().unwrap();
    undo.assert_code(3);
    assert!(
        undo.stderr
            .contains(&format!("custbulk import (pid {})", import.id())),
        "{undo}"
    );
    plan.assert_ok();
    assert_eq!(server.records().len(), 40, "the undo sent nothing");
}
