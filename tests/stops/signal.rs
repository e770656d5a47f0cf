//! Ctrl-C, as a real SIGINT sent to the binary.

use std::process::Stdio;

use custbulk::sandbox::Options;

use super::watch;
use crate::honest::count;
use crate::import::{assert_store_has_each_once, sheet};
use crate::util::{wait_until, Server, Workdir};

/// Issue 21, case 2: after Ctrl-C, rows taken ahead that were waiting for a place still went
/// out (123 POSTs after the signal into a server serving 8 at a time at 40 ms). Now the signal
/// closes the gate: no request starts after it, those in flight finish, the rest are
/// `skipped`, and `--resume` completes the run with every customer once.
#[test]
fn ctrl_c_starts_no_request_after_it_and_resume_completes_the_run() {
    let server = Server::start(Options {
        capacity: Some(4),
        latency_ms: 40,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(400, &[]));
    // 4 in flight at most: the requests already on their way when the signal comes.
    let args = [
        "import",
        "clients.csv",
        "--no-progress",
        "--concurrency",
        "4",
    ];
    let child = wd
        .against(&server, &args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(|| server.records().len() >= 40);
    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let ran = watch(child, || count(&server, "POST"));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("--resume"), "{}", ran.stderr);
    let at_stop = ran.at_stop.expect("the run says it stops");
    let after = count(&server, "POST") - at_stop;
    assert!(
        after <= 4,
        "{after} POSTs arrived after the signal: only those in flight may"
    );

    let rows = wd.results("clients.results.csv");
    assert_eq!(
        rows.len(),
        400,
        "every row has an outcome, even after Ctrl-C"
    );
    let outcome = |o: &str| rows.iter().filter(|r| r["_outcome"] == o).count();
    assert_eq!(outcome("created") + outcome("skipped"), 400, "{rows:?}");
    assert_eq!(
        outcome("created"),
        server.records().len(),
        "in flight, finished"
    );
    assert!(
        outcome("skipped") > 200,
        "it stopped early: {}",
        outcome("skipped")
    );

    let resume = ["import", "clients.csv", "--no-progress", "--resume"];
    wd.exec_against(&server, &resume).assert_ok();
    assert_store_has_each_once(&server, 400);
}
