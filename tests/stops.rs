//! When a run must stop before its end: a journal that cannot be written, failures that repeat.
//! Every row still ends in one outcome, nothing is lost, and `--resume` finishes the run.

use std::os::unix::process::CommandExt;

use custbulk::sandbox::Options;

use crate::import::{assert_store_has_each_once, siret};
use crate::util::{Server, Workdir};

/// A journal that fills its disk mid-run (here: the file-size limit of the process, as a full
/// disk answers, ENOSPC or EFBIG) stops the import: the rows whose request had gone out are
/// `unknown`, with their cells, never `failed` (importing them again would make duplicates),
/// and `--resume` finds them on the server instead of creating them twice.
#[test]
fn a_journal_that_cannot_be_written_stops_the_run_and_resume_loses_nothing() {
    let server = Server::start(Options {
        latency_ms: 5,
        ..Options::default()
    });
    let wd = Workdir::new();
    // Two short columns, so the results file stays under the limit the journal meets.
    let mut csv = String::from("name,siret\n");
    for i in 0..200 {
        csv.push_str(&format!("Client {i},{}\n", siret(i)));
    }
    wd.write("clients.csv", csv);
    let args = [
        "import",
        "clients.csv",
        "--no-progress",
        "--concurrency",
        "4",
        "--results",
        "out/clients.results.csv",
    ];
    std::fs::create_dir(wd.path("out")).unwrap();
    let mut command = wd.against(&server, &args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            // Writes past the limit fail with EFBIG instead of killing the process.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 26_000,
                rlim_max: 26_000,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("journal"), "{stderr}");
    let stored = server.records().len();
    assert!(
        stored > 0 && stored < 200,
        "stopped mid-run ({stored} stored)"
    );

    let rows = wd.results("out/clients.results.csv");
    assert_eq!(rows.len(), 200, "every row has one outcome");
    let count = |o: &str| rows.iter().filter(|r| r["_outcome"] == o).count();
    assert_eq!(count("failed"), 0);
    assert_eq!(count("created") + count("unknown") + count("skipped"), 200);
    assert!(count("unknown") > 0, "the rows in flight are unknown");
    for row in rows.iter().filter(|r| r["_outcome"] != "created") {
        assert!(row["name"].starts_with("Client "), "cells kept: {row:?}");
        assert!(!row["siret"].is_empty(), "cells kept: {row:?}");
    }
    let failed = wd.read("out/clients.failed.csv");
    assert_eq!(
        failed.lines().count(),
        1,
        "nothing to re-import by hand: {failed}"
    );

    wd.exec_against(&server, &[&args[..], &["--resume"]].concat())
        .assert_ok();
    let rows = wd.results("out/clients.results.csv");
    assert!(rows.iter().all(|r| r["_outcome"] == "created"));
    assert_store_has_each_once(&server, 200);
}
