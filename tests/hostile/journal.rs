//! A journal line that cannot be read stops `--resume` (and undo) with its number, before
//! anything is sent; `--repair` goes on, looking up every row without a `done` line first.

use custbulk::sandbox::Options;

use super::clients;
use crate::util::{with, Server, Workdir};

const ARGS: [&str; 3] = ["import", "clients.csv", "--no-progress"];

/// Imports `Client 0` to `Client 19`; returns the journal's lines.
fn imported(server: &Server, wd: &Workdir) -> Vec<String> {
    wd.write("clients.csv", clients(0..20));
    wd.exec_against(server, &ARGS).assert_ok();
    wd.read("clients.journal")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The journal's line `t` for sheet row `row`.
fn is_line(line: &str, t: &str, row: u32) -> bool {
    line.starts_with(&format!(r#"{{"t":"{t}","row":{row},"#))
}

/// Writes `lines` as the journal; returns the (1-based) number of the line that is `garbage`.
fn write_journal(wd: &Workdir, lines: &[String], garbage: &str) -> usize {
    wd.write("clients.journal", lines.join("\n") + "\n");
    1 + lines.iter().position(|l| l == garbage).expect("the damage")
}

/// Issue 14, item 9: a row in flight whose `send` line was damaged was POSTed again on
/// `--resume` without a lookup, with no warning.
#[test]
fn a_damaged_send_line_stops_resume_and_repair_looks_the_row_up() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    let lines = imported(&server, &wd);
    // As if the run had died with row 9 (Client 7) in flight, its `send` line then damaged.
    let damaged: Vec<String> = lines
        .iter()
        .filter(|l| !is_line(l, "done", 9) && !l.starts_with(r#"{"t":"end""#))
        .map(|l| match is_line(l, "send", 9) {
            true => "#garbage".to_string(),
            false => l.clone(),
        })
        .collect();
    let number = write_journal(&wd, &damaged, "#garbage");

    let refused = wd.exec_against(&server, &with(&ARGS, &["--resume"]));
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains(&format!("line {number} of the journal")),
        "the damaged line is named: {refused}"
    );
    assert!(refused.stderr.contains("--repair"), "{refused}");
    assert_eq!(server.records().len(), 20, "nothing was sent");

    let repaired = wd.exec_against(&server, &with(&ARGS, &["--resume", "--repair"]));
    repaired.assert_ok();
    assert_eq!(
        server.records().len(),
        20,
        "the row's customer was found, not created again"
    );
    let results = wd.results("clients.results.csv");
    let row = results.iter().find(|r| r["_row"] == "9").expect("row 9");
    let stored = server
        .records()
        .into_iter()
        .find(|r| r["name"] == "Client 7")
        .unwrap();
    assert_eq!(row["_outcome"], "created");
    assert_eq!(row["_id"], stored["_id"].as_str().unwrap());
}

/// Issue 14, item 9, for undo: a damaged line of the import's journal may be the `done` line of
/// a customer the import created; undo must not leave it behind without a word.
#[test]
fn a_damaged_line_in_the_import_journal_stops_undo_unless_repair() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    let lines = imported(&server, &wd);
    let damaged: Vec<String> = lines
        .iter()
        .map(|l| match is_line(l, "done", 9) {
            true => r#"{"t":"done","row":9,"outcome":"crea"#.to_string(),
            false => l.clone(),
        })
        .collect();
    let number = write_journal(&wd, &damaged, r#"{"t":"done","row":9,"outcome":"crea"#);

    let undo = ["undo", "clients.journal", "--yes", "--no-progress"];
    let refused = wd.exec_against(&server, &undo);
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains(&format!("line {number} of the journal")),
        "{refused}"
    );
    assert_eq!(server.records().len(), 20, "nothing was sent");

    let repaired = wd.exec_against(&server, &with(&undo, &["--repair"]));
    repaired.assert_ok();
    assert!(
        repaired.stderr.contains("--repair passes over it"),
        "{repaired}"
    );
    let left: Vec<_> = server
        .records()
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        left,
        ["Client 7"],
        "only the damaged line's change is not undone"
    );
}
