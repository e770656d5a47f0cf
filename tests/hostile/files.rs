//! What a user finds beside their files and in `--help`: no hidden leftovers of a killed run,
//! and one example per line.

use custbulk::sandbox::Options;

use super::{clients, dead_pid};
use crate::util::{Server, Workdir};

/// Issue 14: a killed export leaves `.NAME.spool-PID` and `.NAME.tmp-PID` forever. The next
/// export to that name removes those of dead processes and keeps those of live ones.
#[test]
fn an_export_removes_stale_hidden_files_of_its_target_and_keeps_live_ones() {
    let server = Server::start(Options::default());
    server.running.insert(
        (0..3)
            .map(|i| crate::util::record(serde_json::json!({"name": format!("Client {i}")})))
            .collect(),
    );
    let wd = Workdir::new();
    let dead = dead_pid();
    let stale = [
        wd.write(&format!(".backup.csv.spool-{dead}"), "{}\n"),
        wd.write(&format!(".backup.csv.tmp-{dead}"), "id\n"),
        wd.write(&format!(".backup.csv.manifest.json.tmp-{dead}"), "{}"),
    ];
    // The test process runs: its file is another run's work in progress.
    let live = wd.write(&format!(".backup.csv.tmp-{}", std::process::id()), "id\n");
    let unrelated = wd.write(&format!(".other.csv.tmp-{dead}"), "id\n");

    wd.exec_against(&server, &["export", "backup.csv", "--no-progress"])
        .assert_ok();
    for path in &stale {
        assert!(!path.exists(), "{} is removed", path.display());
    }
    assert!(live.exists(), "a live process's file is kept");
    assert!(unrelated.exists(), "another target's files are left to it");
    assert_eq!(wd.read("backup.csv").lines().count(), 4);
}

/// Results files are written the same way, so they are cleaned the same way.
#[test]
fn an_import_removes_stale_hidden_results_files() {
    let wd = Workdir::new();
    wd.write("clients.csv", clients(0..3));
    let stale = wd.write(&format!(".clients.results.csv.tmp-{}", dead_pid()), "x");
    wd.exec(&["import", "clients.csv", "--dry-run", "--no-progress"])
        .assert_ok();
    assert!(!stale.exists());
}

/// Issue 14: `--help` ran a command's examples into one line.
#[test]
fn help_shows_one_example_per_line() {
    let wd = Workdir::new();
    for (command, first) in [
        ("import", "custbulk import customers.xlsx --sandbox"),
        ("export", "custbulk export customers.xlsx"),
    ] {
        let help = wd.exec(&[command, "--help"]);
        help.assert_ok();
        let text = &help.stdout;
        let examples = text
            .split_once("Examples:\n")
            .unwrap_or_else(|| panic!("an examples block: {help}"))
            .1;
        let lines: Vec<&str> = examples.lines().take_while(|l| !l.is_empty()).collect();
        assert!(lines.len() >= 3, "{help}");
        assert_eq!(lines[0].trim(), first, "{help}");
        for line in lines {
            assert_eq!(
                line.matches("custbulk ").count(),
                1,
                "one example per line: {line:?}"
            );
        }
    }
    let import = wd.exec(&["import", "--help"]);
    assert!(
        import.stdout.contains("NAME.journal beside the input"),
        "{import}"
    );
}

/// Issue 14: results and failed rows were written through a symlink planted at their names,
/// into whatever file it points to. They are written as exports are: to a temporary file, then
/// renamed onto the name, which replaces the link and leaves its target alone.
#[test]
fn results_replace_a_symlink_at_their_name_instead_of_writing_through_it() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    wd.write("clients.csv", clients(0..3));
    let precious = wd.write("precious.txt", "do not overwrite\n");
    for name in ["clients.results.csv", "clients.failed.csv"] {
        std::os::unix::fs::symlink(&precious, wd.path(name)).unwrap();
    }
    wd.exec_against(&server, &["import", "clients.csv", "--no-progress"])
        .assert_ok();
    assert_eq!(wd.read("precious.txt"), "do not overwrite\n");
    for name in ["clients.results.csv", "clients.failed.csv"] {
        let meta = std::fs::symlink_metadata(wd.path(name)).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{name} is a file of its own now"
        );
    }
    assert_eq!(wd.results("clients.results.csv").len(), 3);
}
