//! Bulk delete and per-row actions: `--mode delete` and the `_action` column.

use std::process::Stdio;

use serde_json::json;

use custbulk::api::record_id;
use custbulk::sandbox::Options;

use crate::import::{results, siret};
use crate::util::{record, stderr, stdout, with, Server, Workdir};

fn customers(server: &Server, n: u64) {
    server.running.insert(
        (0..n)
            .map(|i| record(json!({"name": format!("Client {i}"), "siret": siret(i), "city": "Paris", "capital": 1000 + i})))
            .collect(),
    );
}

fn names(server: &Server) -> Vec<String> {
    let mut names: Vec<String> = server
        .records()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_mixed_action_sheet_gives_the_expected_store() {
    let server = Server::start(Options::default());
    customers(&server, 3);
    let wd = Workdir::new();
    wd.write(
        "actions.csv",
        format!(
            "_action;name;siret;city\n\
             créer;Client 9;{};Nice\n\
             Modifier;Client 0;{};Lyon\n\
             SUPPRIMER;;{};\n\
             ignore;;not a siret;\n\
             frobnicate;Client 8;{};Brest\n\
             ;Client 7;{};Metz\n",
            siret(9),
            siret(0),
            siret(1),
            siret(8),
            siret(7)
        ),
    );
    let args = [
        "import",
        "actions.csv",
        "--match-on",
        "siret",
        "--no-progress",
    ];
    let out = wd
        .against(&server, &args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "deleting needs --yes without a terminal"
    );
    assert!(stderr(&out).contains("--yes"));
    assert_eq!(server.records().len(), 3, "nothing sent");

    let mut confirmed = args.to_vec();
    confirmed.push("--yes");
    let out = wd.against(&server, &confirmed).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "one unknown action: {}",
        stderr(&out)
    );
    let rows = results(&wd, "actions.results.csv");
    let outcomes: Vec<_> = rows.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        ["created", "updated", "deleted", "skipped", "invalid", "created"]
    );
    assert!(rows[4]["_error"].contains("frobnicate"));
    assert_eq!(
        names(&server),
        ["Client 0", "Client 2", "Client 7", "Client 9"]
    );
    let client0 = server
        .records()
        .into_iter()
        .find(|r| r["name"] == "Client 0")
        .unwrap();
    assert_eq!(client0["city"], "Lyon");
}

#[test]
fn validate_checks_the_action_column() {
    let wd = Workdir::new();
    wd.write(
        "actions.csv",
        "Commande,name\ncreate,A\nexplode,B\nignorer,\n",
    );
    let out = wd.run(&["validate", "actions.csv", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["row"], 3);
    assert_eq!(problems[0]["column"], "A");
    assert!(problems[0]["message"].as_str().unwrap().contains("explode"));
}

#[test]
fn delete_by_siret_with_not_found_plan_and_strict() {
    let server = Server::start(Options::default());
    customers(&server, 4);
    let wd = Workdir::new();
    wd.write(
        "gone.csv",
        format!("SIRET\n{}\n{}\n{}\n", siret(1), siret(3), siret(99)),
    );
    let base = [
        "import",
        "gone.csv",
        "--mode",
        "delete",
        "--match-on",
        "siret",
        "--no-progress",
    ];

    let mut plan = base.to_vec();
    plan.push("--plan");
    let out = wd.against(&server, &plan).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let outcomes: Vec<_> = results(&wd, "gone.results.csv")
        .into_iter()
        .map(|r| r["_outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["would-delete", "would-delete", "not-found"]);
    assert_eq!(server.records().len(), 4);

    let mut strict = base.to_vec();
    strict.extend(["--yes", "--strict"]);
    let out = wd.against(&server, &strict).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing customer fails under --strict"
    );
    let outcomes: Vec<_> = results(&wd, "gone.results.csv")
        .into_iter()
        .map(|r| r["_outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["deleted", "deleted", "failed"]);
    assert_eq!(names(&server), ["Client 0", "Client 2"]);

    let mut again = base.to_vec();
    again.push("--yes");
    let out = wd.against(&server, &again).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "not-found is not an error by default"
    );
    assert!(results(&wd, "gone.results.csv")
        .iter()
        .all(|r| r["_outcome"] == "not-found"));
}

#[test]
fn undo_of_a_delete_run_recreates_the_customers() {
    let server = Server::start(Options::default());
    customers(&server, 3);
    let old: Vec<_> = server.records();
    let wd = Workdir::new();
    wd.write(
        "gone.csv",
        format!(
            "_id\n{}\n{}\n",
            record_id(&old[0]).unwrap(),
            record_id(&old[2]).unwrap()
        ),
    );
    let out = wd
        .against(
            &server,
            &[
                "import",
                "gone.csv",
                "--mode",
                "delete",
                "--yes",
                "--no-progress",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&server), ["Client 1"]);

    let out = wd
        .against(&server, &["undo", "gone.journal", "--yes", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&server), ["Client 0", "Client 1", "Client 2"]);
    let rows = results(&wd, "gone.undo.results.csv");
    for row in &rows {
        assert_eq!(row["_outcome"], "recreated");
        assert_ne!(row["_new_id"], row["_id"], "new ids, said plainly");
        let recreated = server
            .records()
            .into_iter()
            .find(|r| record_id(r).as_deref() == Some(&row["_new_id"]))
            .unwrap();
        let original = old
            .iter()
            .find(|r| record_id(r).as_deref() == Some(&row["_id"]))
            .unwrap();
        for field in ["name", "siret", "city", "capital"] {
            assert_eq!(recreated[field], original[field], "{field}");
        }
    }
}

#[test]
fn faults_and_a_kill_9_lose_nothing_and_delete_nothing_twice() {
    let server = Server::start(Options {
        latency_ms: 10,
        fail_rate: 0.1,
        fail_after_commit_rate: 0.1,
        drop_rate: 0.1,
        seed: 5,
        ..Options::default()
    });
    customers(&server, 300);
    let wd = Workdir::new();
    let mut csv = String::from("siret\n");
    for i in 0..200 {
        csv.push_str(&format!("{}\n", siret(i)));
    }
    wd.write("gone.csv", csv);
    let args = [
        "import",
        "gone.csv",
        "--mode",
        "delete",
        "--match-on",
        "siret",
        "--yes",
        "--no-progress",
        "--concurrency",
        "4",
    ];
    wd.kill_9_when(&server, &args, || server.records().len() <= 260);
    assert!(server.records().len() > 100, "killed mid-run");

    wd.exec_against(&server, &with(&args, &["--resume"]))
        .assert_ok();
    let rows = results(&wd, "gone.results.csv");
    assert_eq!(rows.len(), 200);
    assert!(
        rows.iter().all(|r| r["_outcome"] == "deleted"),
        "{:?}",
        rows.iter().find(|r| r["_outcome"] != "deleted")
    );
    let left = names(&server);
    assert_eq!(left.len(), 100);
    assert!(left
        .iter()
        .all(|n| n["Client ".len()..].parse::<u64>().unwrap() >= 200));
}
