//! Backups that come back, as a user runs the loop: export, diff, restore, undo of a restore,
//! with the real binary against the sandbox. The account is compared record by record in the
//! importer's terms ([`canonical`]: server-owned fields such as ids and timestamps aside).

use serde_json::{json, Value};

use custbulk::api::{record_id, Record};
use custbulk::compare::canonical;
use custbulk::sandbox::Options;

use crate::import::siret;
use crate::util::{client, record, Server, Workdir};

const FORMATS: [&str; 4] = ["csv", "xlsx", "json", "ndjson"];

/// Customers with what backups find hard: leading zeros, Arabic, contacts, booleans, numbers,
/// blank and missing fields.
fn customers(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = record(json!({
                "name": format!("Client {i:03}"),
                "isCompany": i % 2 == 0,
                "capital": 1000 + i,
                "zipCode": format!("0{:04}", i),
                "city": "Bourg-en-Bresse",
                "siret": siret(i),
                "name_ar": "مخبزة مارتان",
                "contacts": [{"name": "Jeanne", "email": format!("j{i}@example.fr")}],
            }));
            if i % 3 == 0 {
                r.insert("street2".into(), json!("Bâtiment B"));
            }
            r
        })
        .collect()
}

/// The account as a sorted list of canonical records: equal when the importer sees the same
/// customers, whatever their ids.
fn account(server: &Server) -> Vec<String> {
    let mut all: Vec<String> = server
        .records()
        .iter()
        .map(|r| serde_json::to_string(&canonical(r)).unwrap())
        .collect();
    all.sort();
    all
}

fn ids(server: &Server) -> Vec<String> {
    server.records().iter().filter_map(record_id).collect()
}

/// Deletes 3 customers, changes 3 (a field edited, one cleared, contacts edited) and adds 2,
/// through the API.
fn change(server: &Server) {
    let api = client(&server.running);
    let ids = ids(server);
    server.block_on(async {
        for id in &ids[0..3] {
            api.delete(id).await.unwrap();
        }
        // Customer 3 has a street2 (every third one does): it is cleared.
        let edits = [
            json!({"street2": null}),
            json!({"city": "Lyon"}),
            json!({"contacts": [{"name": "Paul", "email": "paul@example.fr"}]}),
        ];
        for (id, edit) in ids[3..6].iter().zip(edits) {
            api.patch(id, &record(edit)).await.unwrap();
        }
        for i in 900..902 {
            let new =
                json!({"name": format!("Nouveau {i}"), "siret": siret(i), "zipCode": "01000"});
            api.create(&record(new)).await.unwrap();
        }
    });
}

fn seeded(n: u64) -> Server {
    let server = Server::start(Options::default());
    server.running.insert(customers(n));
    server
}

#[test]
fn diff_says_what_changed_and_restore_prune_gives_the_backup_back_in_every_format() {
    for format in FORMATS {
        let server = seeded(12);
        let wd = Workdir::new();
        let backup = format!("backup.{format}");
        wd.exec_against(&server, &["export", &backup]).assert_ok();
        let exported = account(&server);
        change(&server);
        let changed = account(&server);

        let diff = wd.exec_against(
            &server,
            &[
                "diff", &backup, "live", "--report", "d.csv", "--output", "json",
            ],
        );
        diff.assert_code(1);
        let v = diff.json();
        let counts = (&v["added"], &v["removed"], &v["changed"], &v["unchanged"]);
        assert_eq!(
            counts,
            (&json!(2), &json!(3), &json!(3), &json!(6)),
            "{format}: {v}"
        );
        let fields: Vec<&str> = v["fields"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["city", "contacts", "street2"], "{format}");
        let report = wd.results("d.csv");
        assert_eq!(report.len(), 2 + 3 + 3, "{format}: one line per difference");
        let cleared = report.iter().find(|r| r["field"] == "street2").unwrap();
        assert_eq!(
            (cleared["old"].as_str(), cleared["new"].as_str()),
            ("Bâtiment B", "")
        );

        let plan = wd.exec_against(&server, &["restore", &backup, "--plan", "--prune"]);
        plan.assert_ok();
        assert_eq!(
            account(&server),
            changed,
            "{format}: --plan changes nothing"
        );

        let restore = wd.exec_against(
            &server,
            &["restore", &backup, "--prune", "--yes", "--output", "json"],
        );
        restore.assert_ok();
        let outcomes = &restore.json()["outcomes"];
        assert_eq!(outcomes["created"], 3, "{format}: {outcomes}");
        assert_eq!(outcomes["updated"], 3, "{format}: {outcomes}");
        assert_eq!(outcomes["deleted"], 2, "{format}: {outcomes}");
        assert_eq!(
            account(&server),
            exported,
            "{format}: the account is the backup again"
        );
        let again = wd.exec_against(&server, &["diff", &backup, "live", "--match-on", "siret"]);
        again.assert_ok();

        let undo = wd.exec_against(&server, &["undo", "backup.restore.journal", "--yes"]);
        undo.assert_ok();
        assert_eq!(
            account(&server),
            changed,
            "{format}: undo gives the changed account back"
        );
    }
}

#[test]
fn a_backup_of_any_format_restores_into_an_empty_account_with_old_and_new_ids() {
    let source = seeded(10);
    let wd = Workdir::new();
    for format in FORMATS {
        wd.exec_against(&source, &["export", &format!("b.{format}")])
            .assert_ok();
    }
    for format in FORMATS {
        let empty = Server::start(Options::default());
        let results = format!("{format}.results.csv");
        let run = wd.exec_against(
            &empty,
            &["restore", &format!("b.{format}"), "--results", &results],
        );
        run.assert_ok();
        assert_eq!(account(&empty), account(&source), "{format}");
        let rows = wd.results(&results);
        assert_eq!(rows.len(), 10);
        let old: Vec<String> = ids(&source);
        for row in &rows {
            assert_eq!(row["_outcome"], "created", "{format}: {row:?}");
            assert!(
                old.contains(&row["_id"]),
                "{format}: the old id beside the new one"
            );
            assert!(ids(&empty).contains(&row["_new_id"]), "{format}: {row:?}");
        }
    }
}

#[test]
fn a_backup_changed_by_one_byte_is_refused_with_nothing_sent() {
    let server = seeded(8);
    let wd = Workdir::new();
    wd.exec_against(&server, &["export", "b.ndjson"])
        .assert_ok();
    let mut bytes = std::fs::read(wd.path("b.ndjson")).unwrap();
    let at = bytes.iter().position(|b| *b == b'C').unwrap();
    bytes[at] = b'K';
    std::fs::write(wd.path("b.ndjson"), bytes).unwrap();
    change(&server);
    let before = account(&server);
    let run = wd.exec_against(&server, &["restore", "b.ndjson", "--prune", "--yes"]);
    run.assert_code(3);
    assert!(run.stderr.contains("does not match its manifest"), "{run}");
    assert_eq!(account(&server), before, "nothing sent");
    assert!(!wd.path("b.restore.journal").exists(), "nothing journaled");
    // --force restores it as it is.
    let forced = wd.exec_against(&server, &["restore", "b.ndjson", "--force"]);
    forced.assert_ok();
    assert!(server.records().iter().any(|r| r["name"] == "Klient 000"));
}

/// 10% faults of every kind, then a kill -9 mid-restore and `--resume`: the account ends equal
/// to the backup, with no customer twice and nothing lost.
#[test]
fn faults_and_a_kill_9_lose_nothing_and_duplicate_nothing() {
    let clean = seeded(240);
    let wd = Workdir::new();
    wd.exec_against(&clean, &["export", "b.ndjson"]).assert_ok();
    let exported = account(&clean);
    // A changed account: 80 deleted, 80 edited, 40 added.
    let mut records = clean.records();
    records.drain(0..80);
    for r in records.iter_mut().take(80) {
        r.insert("city".into(), Value::from("Lyon"));
    }
    for i in 0..40 {
        records.push(record(
            json!({"name": format!("Extra {i}"), "siret": siret(5000 + i)}),
        ));
    }
    let faulty = Server::start(Options {
        latency_ms: 10,
        fail_rate: 0.1,
        fail_after_commit_rate: 0.1,
        drop_rate: 0.1,
        seed: 9,
        ..Options::default()
    });
    faulty.running.insert(records);
    let args = [
        "restore",
        "b.ndjson",
        "--prune",
        "--yes",
        "--no-progress",
        "--concurrency",
        "4",
    ];
    let started = faulty.records().len();
    wd.kill_9_when(&faulty, &args, || faulty.records().len() != started);
    assert_ne!(account(&faulty), exported, "killed mid-run");
    let resumed = wd.exec_against(&faulty, &[&args[..], &["--resume"]].concat());
    resumed.assert_ok();
    assert_eq!(account(&faulty), exported);
    let names: Vec<Value> = faulty.records().iter().map(|r| r["name"].clone()).collect();
    let mut unique = names.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no customer twice");
}

/// Issue 16: restore into another account (other ids) pairs each record by the first of
/// `--match-on siret,name+zipCode` it has: by SIRET where there is one, else by name and
/// postcode compared without case or accents; diff pairs them the same way.
#[test]
fn restore_and_diff_pair_records_by_fallback_and_composite_keys() {
    let mut backed_up = customers(6);
    for (i, r) in backed_up.iter_mut().enumerate() {
        if i % 2 == 0 {
            r.remove("siret");
        }
        r["name"] = json!(format!("Épicerie Zoé {i}"));
    }
    let source = Server::start(Options::default());
    source.running.insert(backed_up.clone());
    let wd = Workdir::new();
    wd.exec_against(&source, &["export", "b.ndjson"])
        .assert_ok();

    // The same customers under other ids, their names typed otherwise, their cities changed.
    let other = Server::start(Options::default());
    other.running.insert(
        backed_up
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["name"] = json!(r["name"].as_str().unwrap().to_uppercase().replace('É', "E"));
                r["city"] = json!("Lyon");
                r
            })
            .collect(),
    );
    let keys = ["--match-on", "siret,name+zipCode"];
    let diff = wd.exec_against(&other, &[&["diff", "live", "b.ndjson"][..], &keys].concat());
    let count = |what: &str| {
        diff.stdout.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(what)).then(|| words.next().unwrap().to_string())
        })
    };
    for (what, n) in [("added", "0"), ("removed", "0"), ("changed", "6")] {
        assert_eq!(count(what).as_deref(), Some(n), "{what}: {diff}");
    }
    let args = [&["restore", "b.ndjson", "--results", "r.csv"][..], &keys].concat();
    wd.exec_against(&other, &args).assert_ok();
    let rows = wd.results("r.csv");
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["_outcome"] == "updated"), "{rows:?}");
    assert_eq!(account(&other), account(&source));
    assert_eq!(other.records().len(), 6, "nothing created");
}

/// Issue 21, case 5: a restore run again (as one does after a failure) replaced the first
/// run's journal, so undo could no longer bring back what the first deleted or changed. A
/// journal is never overwritten: the second run writes `backup.restore.2.journal` and says
/// so, and undo of each, newest first, gives back the account as it was before either.
#[test]
fn a_second_restore_keeps_the_first_ones_journal_and_undo_of_both_gives_the_account_back() {
    let server = seeded(12);
    let wd = Workdir::new();
    wd.exec_against(&server, &["export", "backup.ndjson"])
        .assert_ok();
    change(&server);
    let changed = account(&server);
    let restore = ["restore", "backup.ndjson", "--prune", "--yes"];
    wd.exec_against(&server, &restore).assert_ok();
    let first = wd.read("backup.restore.journal");
    let again = wd.exec_against(&server, &restore);
    again.assert_ok();
    assert!(
        again.stderr.contains("backup.restore.2.journal"),
        "says where its journal is: {again}"
    );
    assert_eq!(
        wd.read("backup.restore.journal"),
        first,
        "the first is kept whole"
    );
    assert!(wd.path("backup.restore.2.journal").exists());

    for journal in ["backup.restore.2.journal", "backup.restore.journal"] {
        wd.exec_against(&server, &["undo", journal, "--yes"])
            .assert_ok();
    }
    assert_eq!(account(&server), changed, "both restores undone");

    // Its journal where it is told, and the help names the real default.
    let elsewhere = wd.path("elsewhere.journal");
    let restore = [&restore[..], &["--journal", elsewhere.to_str().unwrap()]].concat();
    wd.exec_against(&server, &restore).assert_ok();
    assert!(elsewhere.exists());
    let help = wd.exec(&["restore", "--help"]);
    assert!(help.stdout.contains("NAME.restore.journal"), "{help}");
}
