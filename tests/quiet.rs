//! `-q` on every command: nothing but errors, the exit code telling the rest. `validate -q` of
//! a clean file printed its 9-line summary.

use custbulk::sandbox::Options;

use crate::util::{Run, Server, Workdir};

const CLEAN: &str = "Raison sociale;Code postal;N° SIRET\n\
                     Boulangerie Martin;01000;41234567800012\n\
                     Taxi Meziane;69002;73282932000074\n";

#[track_caller]
fn assert_silent(run: &Run, code: i32) {
    run.assert_code(code);
    assert!(
        run.stdout.is_empty() && run.stderr.is_empty(),
        "-q printed\n{run}"
    );
}

#[test]
fn every_command_is_silent_with_q_but_for_errors() {
    let wd = Workdir::new();
    wd.write("clients.csv", CLEAN);
    let server = Server::start(Options::default());
    let run = |args: &[&str]| wd.exec_against(&server, &[&["-q"], args].concat());

    assert_silent(&run(&["validate", "clients.csv"]), 0);
    assert_silent(&run(&["validate", "clients.csv", "--format", "json"]), 0);
    assert_silent(&run(&["mapping", "clients.csv", "--write", "m.toml"]), 0);
    assert!(wd.path("m.toml").exists());
    assert_silent(&run(&["template", "--out", "t.xlsx"]), 0);
    assert_silent(&run(&["check"]), 0);
    assert_silent(&run(&["import", "clients.csv"]), 0);
    assert_eq!(server.records().len(), 2, "the import ran");
    assert_silent(&run(&["export", "backup.csv"]), 0);
    assert_silent(&run(&["verify", "backup.csv"]), 0);
    assert_silent(&run(&["diff", "backup.csv", "live"]), 0);
    assert_silent(&run(&["undo", "clients.journal", "--yes"]), 0);
    assert!(server.records().is_empty(), "the undo ran");
    assert_silent(&run(&["restore", "backup.csv", "--yes"]), 0);
    assert_eq!(server.records().len(), 2, "the restore ran");
    assert_silent(
        &run(&[
            "import",
            "clients.csv",
            "--mode",
            "upsert",
            "--match-on",
            "siret",
        ]),
        0,
    );

    // A backup changed since: verify's differences are errors, and said.
    let mut text = wd.read("backup.csv");
    text.push_str("Intrus,,,\n");
    wd.write("backup.csv", text);
    let r = run(&["verify", "backup.csv"]);
    r.assert_code(1);
    assert!(r.stdout.is_empty(), "{r}");
    assert!(
        r.stderr
            .starts_with("error: backup.csv does not match backup.csv.manifest.json: "),
        "{r}"
    );
}

/// What is an error is still said, on stderr: validate's errors (one line each, naming file,
/// row and column; warnings left out), and the final error of a run that could not complete.
#[test]
fn errors_are_still_printed_with_q() {
    let wd = Workdir::new();
    wd.write(
        "clients.csv",
        "Raison sociale;Capital social;Nom (arabe)\n\
         Boulangerie Martin;12,5;Taxi Meziane\n\
         ;1000;مخبزة مارتان\n",
    );
    let r = wd.exec(&["-q", "validate", "clients.csv"]);
    r.assert_code(1);
    assert!(r.stdout.is_empty(), "{r}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "error: clients.csv, row 3, column A (Raison sociale): name is required to create a customer, and this row has none",
            "error: clients.csv, row 2, column B (Capital social): \"12,5\" has a fraction; a whole number is expected",
        ],
        "{r}"
    );

    let r = wd.exec(&["-q", "validate", "missing.csv"]);
    r.assert_code(3);
    assert!(r.stderr.contains("missing.csv: file not found"), "{r}");
}
