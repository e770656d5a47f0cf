//! The progress bar: drawn on a terminal only. Scripts pipe custbulk's stderr and parse it, so
//! not one byte of a bar may reach a pipe; at a terminal the bar says how far, and when it ends.

use std::process::Command;

use custbulk::sandbox::Options;

use crate::import::sheet;
use crate::util::{Run, Server, Workdir};

/// What only a bar writes: its cells, its fields, carriage returns and cursor escapes.
const BAR_TEXT: &[&str] = &["█", "░", "ETA", "/s ", "concurrency", "\r", "\x1b["];

fn assert_no_bar(run: &Run) {
    for text in BAR_TEXT {
        assert!(
            !run.stderr.contains(text),
            "{text:?} on a piped stderr\n{run}"
        );
    }
}

/// Every long command, run with its stderr piped and no `--no-progress`: the output is what it
/// was before the bar existed. 400 rows, more than an import reads ahead, so the import's bar
/// would be the one whose total the reader estimates.
#[test]
fn no_bar_reaches_a_piped_stderr() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(400, &[7]));
    let run = wd.exec(&["validate", "clients.csv"]);
    run.assert_code(1);
    assert_no_bar(&run);
    let run = wd.exec_against(&server, &["import", "clients.csv"]);
    run.assert_code(1);
    assert_no_bar(&run);
    let run = wd.exec_against(&server, &["-v", "export", "backup.ndjson"]);
    run.assert_ok();
    assert_no_bar(&run);
    let run = wd.exec_against(&server, &["undo", "clients.journal", "--yes"]);
    run.assert_ok();
    assert_no_bar(&run);
    let run = wd.exec_against(&server, &["restore", "backup.ndjson"]);
    run.assert_ok();
    assert_no_bar(&run);
    assert_eq!(
        server.records().len(),
        399,
        "the restore put back what undo removed"
    );
}

/// At a terminal (a pseudo-terminal from util-linux's `script`), an import of a file too large
/// to read ahead shows a percentage of the rows the file holds, a rate, an ETA and the
/// concurrency. The sandbox's latency makes the run last a few seconds whatever the machine,
/// long enough for the rate's first second.
#[test]
fn a_terminal_shows_the_percentage_the_eta_and_the_concurrency() {
    if !script_runs() {
        eprintln!("skipped: util-linux `script` is not available to give a pseudo-terminal");
        return;
    }
    let server = Server::start(Options {
        latency_ms: 5,
        ..Options::default()
    });
    let screen = import_at_a_terminal(&server, 600, "--concurrency 1");
    assert_eq!(server.records().len(), 600);
    let frames: Vec<&str> = screen.split(['\r', '\n']).collect();
    let shows = |what: &dyn Fn(&str) -> bool| frames.iter().any(|f| what(f));
    assert!(
        shows(&|f| f.contains("% ") && f.contains("/~") && f.contains(" rows")),
        "a percentage of an estimated total:\n{screen}"
    );
    assert!(
        shows(&|f| f
            .split("ETA ")
            .nth(1)
            .is_some_and(|eta| eta.starts_with(|c: char| c.is_ascii_digit()))),
        "an ETA:\n{screen}"
    );
    assert!(shows(&|f| f.contains("/s ")), "a rate:\n{screen}");
    assert!(
        shows(&|f| f.contains("concurrency 1")),
        "the concurrency:\n{screen}"
    );
    assert!(shows(&|f| f.contains("created ")), "counts:\n{screen}");
    assert!(!screen.contains("test-key-SECRET-123"));
}

/// Regression (issue 21): a wait for the server, here a `Retry-After` of 3 s, showed nothing
/// on the bar. At a terminal it says how long is left and why, and the log line says until
/// when.
#[test]
fn a_terminal_shows_a_long_wait_for_the_server() {
    if !script_runs() {
        eprintln!("skipped: util-linux `script` is not available to give a pseudo-terminal");
        return;
    }
    let server = Server::start(Options {
        rate_limit: Some(6),
        rate_period: Some(std::time::Duration::from_secs(3)),
        ..Options::default()
    });
    let screen = import_at_a_terminal(&server, 9, "");
    assert_eq!(server.records().len(), 9);
    assert!(
        screen.contains("s: the server asked (429)") && screen.contains("waiting "),
        "the bar says it waits, and why:\n{screen}"
    );
    assert!(screen.contains("Waiting 3 s (until "), "{screen}");
}

/// The screen of an import of `rows` rows at a terminal (a pseudo-terminal from util-linux's
/// `script`), with `flags`; the import must succeed.
fn import_at_a_terminal(server: &Server, rows: u64, flags: &str) -> String {
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(rows, &[]));
    let import = format!(
        "'{}' import clients.csv --base-url '{}' {flags} >/dev/null",
        env!("CARGO_BIN_EXE_custbulk"),
        server.url()
    );
    // The environment of the harness's own runs: a key, no base URL or profile of the user's.
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &import, "/dev/null"])
        .current_dir(wd.dir())
        .env_remove("ICLOUDREADY_BASE_URL")
        .env("ICLOUDREADY_API_KEY", "test-key-SECRET-123")
        .env("XDG_CONFIG_HOME", wd.path("config"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{screen}");
    screen
}

/// Whether `script -q -e -c CMD /dev/null` runs here (util-linux's; BSD's takes other flags).
fn script_runs() -> bool {
    Command::new("script")
        .args(["-q", "-e", "-c", "true", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}
