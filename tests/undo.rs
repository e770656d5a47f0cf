//! `custbulk undo`: an import reversed from its journal, against a real sandbox.

use serde_json::json;

use custbulk::api::{record_id, Record};
use custbulk::sandbox::Options;

use crate::import::{results, siret};
use crate::util::{record, stderr, with, Server, Workdir};

/// The store as a user sees it: every record without the update timestamp.
fn snapshot(server: &Server) -> Vec<Record> {
    let mut records = server.records();
    for r in &mut records {
        r.remove("updatedAt");
    }
    records.sort_by_key(record_id);
    records
}

/// A store of `existing` customers, and a sheet that updates the first two of them, leaves the
/// third as it is, and creates `new` more.
fn scenario(existing: u64, new: u64) -> (Server, Workdir) {
    let server = Server::start(Options::default());
    server.running.insert(
        (0..existing)
            .map(|i| {
                record(
                    json!({"name": format!("Client {i}"), "siret": siret(i), "city": "Paris",
                    "status": "actif", "contacts": [{"name": "Ana", "email": "ana@example.fr"}]}),
                )
            })
            .collect(),
    );
    let wd = Workdir::new();
    let mut csv = String::from("name;siret;city;Contact 1 Nom;Contact 1 Email\n");
    for i in 0..existing.min(3) {
        let city = if i < 2 { "Lyon" } else { "Paris" };
        csv.push_str(&format!(
            "Client {i};{};{city};Ana;ana@example.fr\n",
            siret(i)
        ));
    }
    for i in 1000..1000 + new {
        csv.push_str(&format!(
            "Nouveau {i};{};Nice;Bob;bob@example.fr\n",
            siret(i)
        ));
    }
    wd.write("clients.csv", csv);
    (server, wd)
}

fn import(server: &Server, wd: &Workdir) {
    let out = wd
        .against(
            server,
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
}

fn outcomes(wd: &Workdir) -> Vec<String> {
    results(wd, "clients.undo.results.csv")
        .into_iter()
        .map(|r| r["_outcome"].clone())
        .collect()
}

#[test]
fn undo_puts_the_store_back_exactly_and_twice_does_no_harm() {
    let (server, wd) = scenario(3, 4);
    let before = snapshot(&server);
    import(&server, &wd);
    assert_eq!(server.records().len(), 7);

    let out = wd
        .against(
            &server,
            &["undo", "clients.journal", "--plan", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut plan = outcomes(&wd);
    plan.sort();
    assert_eq!(
        plan,
        [
            "would-delete",
            "would-delete",
            "would-delete",
            "would-delete",
            "would-restore",
            "would-restore"
        ]
    );
    assert_eq!(server.records().len(), 7, "--plan changes nothing");

    let out = wd
        .against(
            &server,
            &["undo", "clients.journal", "--yes", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        snapshot(&server),
        before,
        "ids, fields and contacts as before the import"
    );
    let rows = results(&wd, "clients.undo.results.csv");
    assert_eq!(
        rows.iter().filter(|r| r["_outcome"] == "deleted").count(),
        4
    );
    assert_eq!(
        rows.iter().filter(|r| r["_outcome"] == "restored").count(),
        2
    );

    let out = wd
        .against(
            &server,
            &["undo", "clients.journal", "--yes", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        outcomes(&wd).iter().all(|o| o == "unchanged"),
        "{:?}",
        outcomes(&wd)
    );
    assert_eq!(snapshot(&server), before);
}

#[test]
fn a_customer_edited_since_the_import_is_a_conflict_and_left_alone() {
    let (server, wd) = scenario(3, 2);
    import(&server, &wd);
    // Someone edits one updated and one created customer after the import.
    let edited: Vec<String> = server
        .records()
        .into_iter()
        .filter(|r| r["name"] == "Client 0" || r["name"] == "Nouveau 1000")
        .map(|r| record_id(&r).unwrap())
        .collect();
    let api = crate::util::client(&server.running);
    for id in &edited {
        server
            .block_on(api.patch(id, &record(json!({"city": "Marseille"}))))
            .unwrap();
    }
    let out = wd
        .against(
            &server,
            &["undo", "clients.journal", "--yes", "--no-progress"],
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "conflicts are reported: {}",
        stderr(&out)
    );
    let rows = results(&wd, "clients.undo.results.csv");
    let conflicts: Vec<_> = rows
        .iter()
        .filter(|r| r["_outcome"] == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts
        .iter()
        .all(|r| r["_conflicts"].contains("city") && r["_conflicts"].contains("Marseille")));
    let records = server.records();
    assert_eq!(
        records.iter().filter(|r| r["city"] == "Marseille").count(),
        2,
        "left alone"
    );
    assert!(records.iter().any(|r| r["name"] == "Nouveau 1000"));
    assert!(
        !records.iter().any(|r| r["name"] == "Nouveau 1001"),
        "the rest is undone"
    );

    let out = wd
        .against(
            &server,
            &[
                "undo",
                "clients.journal",
                "--yes",
                "--force",
                "--no-progress",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!server.records().iter().any(|r| r["city"] == "Marseille"));
}

#[test]
fn undo_under_faults_loses_nothing() {
    let (clean, wd) = scenario(20, 60);
    let before = snapshot(&clean);
    import(&clean, &wd);
    // The same store, served by a sandbox that fails 10% of requests in every way.
    let faulty = Server::start(Options {
        fail_rate: 0.1,
        fail_after_commit_rate: 0.1,
        drop_rate: 0.1,
        seed: 11,
        ..Options::default()
    });
    faulty.running.insert(clean.records());
    let out = wd
        .against(
            &faulty,
            &["undo", "clients.journal", "--yes", "--no-progress"],
        )
        .output()
        .unwrap();
    let failed: Vec<_> = results(&wd, "clients.undo.results.csv")
        .into_iter()
        .filter(|r| r["_outcome"] != "deleted" && r["_outcome"] != "restored")
        .collect();
    assert_eq!(out.status.code(), Some(0), "{failed:?}");
    assert_eq!(snapshot(&faulty), before);
}

#[test]
fn undo_killed_mid_run_finishes_with_resume() {
    let (clean, wd) = scenario(3, 300);
    let before = snapshot(&clean);
    import(&clean, &wd);
    let slow = Server::start(Options {
        latency_ms: 20,
        ..Options::default()
    });
    slow.running.insert(clean.records());
    let total = slow.records().len();
    let args = [
        "undo",
        "clients.journal",
        "--yes",
        "--no-progress",
        "--concurrency",
        "2",
    ];
    wd.kill_9_when(&slow, &args, || slow.records().len() <= total - 40);
    assert!(slow.records().len() > before.len(), "killed mid-run");

    wd.exec_against(&slow, &with(&args, &["--resume"]))
        .assert_ok();
    assert_eq!(snapshot(&slow), before);
    let rows = results(&wd, "clients.undo.results.csv");
    assert_eq!(rows.len(), 302, "every step of the import reported once");
    assert!(rows.iter().all(|r| r["_outcome"] != "failed"));
}

/// Undo reads only import journals: an undo's own journal or any other file is a usage error
/// naming the file, before anything is sent.
#[test]
fn undo_takes_an_import_journal_and_nothing_else() {
    let (server, wd) = scenario(2, 2);
    import(&server, &wd);
    let undo = |file: &str| {
        wd.against(&server, &["undo", file, "--yes", "--no-progress"])
            .output()
            .unwrap()
    };
    let out = undo("clients.journal");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (file, why) in [
        (
            "clients.undo.journal",
            "is the journal of an undo, not of an import",
        ),
        ("clients.csv", "is not a custbulk import journal"),
    ] {
        let before = snapshot(&server);
        let out = undo(file);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{file}: {}", stderr(&out));
        assert_eq!(snapshot(&server), before, "{file}: nothing sent");
    }
}

/// Issue 21: undo deleted customers without asking and refused `--yes`, while `import --mode
/// delete` and `restore --prune` needed it off a terminal. Now the three agree: an undo that
/// deletes the customers an import created is refused off a terminal without `--yes` (exit 2,
/// nothing sent), and one that only restores needs none.
#[test]
fn undo_deletes_what_an_import_created_only_with_yes_off_a_terminal() {
    let (server, wd) = scenario(3, 2);
    let before = snapshot(&server);
    import(&server, &wd);
    let after = snapshot(&server);
    let refused = wd.exec_against(&server, &["undo", "clients.journal", "--no-progress"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(snapshot(&server), after, "nothing sent");
    wd.exec_against(
        &server,
        &["undo", "clients.journal", "--no-progress", "--yes"],
    )
    .assert_ok();
    assert_eq!(snapshot(&server), before);

    let (server, wd) = scenario(3, 0);
    let before = snapshot(&server);
    import(&server, &wd);
    wd.exec_against(&server, &["undo", "clients.journal", "--no-progress"])
        .assert_ok();
    assert_eq!(snapshot(&server), before, "restores need no yes");
}
