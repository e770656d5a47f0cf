//! No step counted done that is not done: creates, updates and restores count only when the
//! API's answer, or the customer read back, shows the values; against APIs whose answers
//! cannot show them (the old record, nothing, only an id) and that ignore `null`, with and
//! without an API profile. Read-backs happen only where an answer cannot show the change.

use serde_json::{json, Value};

use custbulk::api::{record_id, Record};
use custbulk::sandbox::{NullOnPatch, Options, PostAnswer, PutMode, UpdateAnswer, Variants};

use crate::import::siret;
use crate::util::{record, Run, Server, Workdir};

/// The sandbox's count of requests by method (`{"GET": 3, "POST": 2}`).
pub fn requests(server: &Server) -> Value {
    stats(server)["requests"].clone()
}

/// The sandbox's stats, as `GET /__sandbox/stats` gives them.
pub fn stats(server: &Server) -> Value {
    let url = format!("http://{}/__sandbox/stats", server.running.addr);
    server.block_on(async {
        reqwest::get(url)
            .await
            .expect("stats answer")
            .json()
            .await
            .expect("stats are JSON")
    })
}

/// How many requests of `method` the sandbox has answered.
pub fn count(server: &Server, method: &str) -> u64 {
    requests(server)[method].as_u64().unwrap_or(0)
}

/// The GETs of the whole list (paging), beside GETs of one customer.
pub fn lists(server: &Server) -> u64 {
    stats(server)["lists"]
        .as_u64()
        .expect("the sandbox counts list reads")
}

/// The stored customers named `name`.
pub fn store(server: &Server, name: &str) -> Vec<Record> {
    server
        .records()
        .into_iter()
        .filter(|r| r["name"] == name)
        .collect()
}

/// The store exactly, but for the update timestamp.
fn snapshot(server: &Server) -> Vec<Record> {
    let mut records = server.records();
    for r in &mut records {
        r.remove("updatedAt");
    }
    records.sort_by_key(record_id);
    records
}

fn playing(variants: Variants) -> Server {
    Server::start(Options {
        variants,
        ..Options::default()
    })
}

/// `n` customers with a name, a SIRET and a city, and a sheet that changes each one's city and
/// gives it a zipCode and a capital it did not have.
fn customers_and_sheet(server: &Server, wd: &Workdir, n: u64) {
    customers_and_sheet_adding(server, wd, n, "zipCode;capital", |i| {
        format!("0{:04};{}", 1000 + i, 2000 + i)
    });
}

/// `n` customers with a name, a SIRET and a city, and a sheet that changes each one's city and
/// gives it the columns `added` (`;`-separated), with the cells `cells(i)`.
fn customers_and_sheet_adding(
    server: &Server,
    wd: &Workdir,
    n: u64,
    added: &str,
    cells: impl Fn(u64) -> String,
) {
    server.running.insert(
        (0..n)
            .map(|i| {
                record(json!({"name": format!("Client {i}"), "siret": siret(i), "city": "Lyon"}))
            })
            .collect(),
    );
    let mut csv = format!("name;siret;city;{added}\n");
    for i in 0..n {
        csv.push_str(&format!("Client {i};{};Paris;{}\n", siret(i), cells(i)));
    }
    wd.write("clients.csv", csv);
}

fn run(wd: &Workdir, server: &Server, args: &[&str]) -> Run {
    let mut args = args.to_vec();
    args.push("--no-progress");
    wd.exec_against(server, &args)
}

fn upsert(wd: &Workdir, server: &Server) -> Run {
    let args = [
        "import",
        "clients.csv",
        "--mode",
        "upsert",
        "--match-on",
        "siret",
    ];
    run(wd, server, &args)
}

fn outcomes(wd: &Workdir, file: &str) -> Vec<String> {
    wd.results(file)
        .into_iter()
        .map(|r| r["_outcome"].clone())
        .collect()
}

fn all(outcomes: &[String], outcome: &str) -> bool {
    !outcomes.is_empty() && outcomes.iter().all(|o| o == outcome)
}

/// The case: PATCH answers the record as it was and ignores `null`. With the profile
/// `check --write --save` made, undo PUTs the pre-image (nothing in a PATCH clears a capital
/// there), and the store is exactly as before the import.
#[test]
fn undo_is_exact_with_a_profile_where_patch_answers_the_old_record_and_ignores_null() {
    let server = playing(Variants {
        patch_answer: UpdateAnswer::Old,
        patch_null: NullOnPatch::Ignored,
        ..Variants::default()
    });
    let wd = Workdir::new();
    customers_and_sheet(&server, &wd, 5);
    run(&wd, &server, &["check", "--write", "--save"]).assert_ok();
    let before = snapshot(&server);

    let import = upsert(&wd, &server);
    import.assert_ok();
    assert!(
        all(&outcomes(&wd, "clients.results.csv"), "updated"),
        "{import}"
    );
    assert_eq!(store(&server, "Client 3")[0]["zipCode"], "01003");

    let puts = count(&server, "PUT");
    let undo = run(&wd, &server, &["undo", "clients.journal", "--yes"]);
    undo.assert_ok();
    assert!(
        all(&outcomes(&wd, "clients.undo.results.csv"), "restored"),
        "{undo}"
    );
    assert_eq!(count(&server, "PUT") - puts, 5, "the pre-image PUT back");
    assert_eq!(
        snapshot(&server),
        before,
        "the store exactly as before the import"
    );
}

/// The same API without a profile: undo cannot tell from the answer, reads each customer back,
/// sees the added fields still there, and says so, naming the field and the fix, instead of
/// counting them restored. The fix it names works.
#[test]
fn without_a_profile_that_undo_reports_failed_and_says_what_to_do() {
    let server = playing(Variants {
        patch_answer: UpdateAnswer::Old,
        patch_null: NullOnPatch::Ignored,
        ..Variants::default()
    });
    let wd = Workdir::new();
    customers_and_sheet(&server, &wd, 5);
    let before = snapshot(&server);
    upsert(&wd, &server).assert_ok();
    assert!(all(&outcomes(&wd, "clients.results.csv"), "updated"));

    let undo = run(&wd, &server, &["undo", "clients.journal", "--yes"]);
    undo.assert_code(1);
    let rows = wd.results("clients.undo.results.csv");
    for row in &rows {
        assert_eq!(row["_outcome"], "failed", "{row:?}");
        let error = &row["_error"];
        for said in [
            "the API accepted the PATCH but ",
            " is still ",
            "this API ignores null on PATCH",
            "run `custbulk check --write --save`",
            "--restore-with put",
        ] {
            assert!(error.contains(said), "{said:?} in {error}");
        }
    }

    // Undone as far as it went (the city took), undo again as told.
    let again = run(
        &wd,
        &server,
        &["undo", "clients.journal", "--yes", "--restore-with", "put"],
    );
    again.assert_ok();
    assert!(
        all(&outcomes(&wd, "clients.undo.results.csv"), "restored"),
        "{again}"
    );
    assert_eq!(snapshot(&server), before);
}

/// A PUT that merges leaves the fields it is not sent: `--restore-with put` there is a failure
/// that says so, not a restore.
#[test]
fn a_put_that_merges_is_not_counted_as_a_restore() {
    let server = playing(Variants {
        put: PutMode::Merge,
        ..Variants::default()
    });
    let wd = Workdir::new();
    customers_and_sheet(&server, &wd, 3);
    upsert(&wd, &server).assert_ok();
    let undo = run(
        &wd,
        &server,
        &["undo", "clients.journal", "--yes", "--restore-with", "put"],
    );
    undo.assert_code(1);
    for row in wd.results("clients.undo.results.csv") {
        assert_eq!(row["_outcome"], "failed", "{row:?}");
        for said in [
            "the API accepted the PUT but ",
            "this API's PUT keeps the fields it is not sent",
            "--restore-with patch",
        ] {
            assert!(row["_error"].contains(said), "{said:?} in {row:?}");
        }
    }
    run(&wd, &server, &["undo", "clients.journal", "--yes"]).assert_ok();
    assert!(store(&server, "Client 1")[0]
        .get("capital")
        .is_none_or(Value::is_null));
}

/// POST answered with nothing, or with only the id: every row still gets its new id, is created
/// once and counted once; an id alone is confirmed by reading the customer, and the whole
/// record needs no read-back at all (beside the read of the list that looks for likely
/// duplicates).
#[test]
fn creates_answered_with_nothing_or_only_an_id_get_every_id_once() {
    for answer in [PostAnswer::Empty, PostAnswer::Id, PostAnswer::Record] {
        let server = playing(Variants {
            post_answer: answer,
            ..Variants::default()
        });
        let wd = Workdir::new();
        wd.write("clients.csv", crate::import::sheet(20, &[]));
        let import = run(&wd, &server, &["import", "clients.csv"]);
        import.assert_ok();
        let rows = wd.results("clients.results.csv");
        assert_eq!(rows.len(), 20);
        for row in &rows {
            assert_eq!(row["_outcome"], "created", "{answer:?}: {row:?}");
            let stored = store(&server, &row["name"]);
            assert_eq!(stored.len(), 1, "{answer:?}: {row:?}");
            assert_eq!(record_id(&stored[0]).as_deref(), Some(row["_id"].as_str()));
        }
        assert_eq!(count(&server, "POST"), 20, "{answer:?}: one POST a row");
        let read_back = count(&server, "GET") - lists(&server);
        match answer {
            PostAnswer::Id => assert_eq!(read_back, 20, "each id read back once"),
            PostAnswer::Record => assert_eq!(read_back, 0, "no extra request"),
            _ => {}
        }
    }
}

/// Updates are read back only where the answer cannot show them: none on the default sandbox,
/// one GET an update where PATCH answers nothing or the old record. Undo likewise.
#[test]
fn updates_are_read_back_only_where_the_answer_cannot_show_them() {
    for (answer, read_backs) in [
        (UpdateAnswer::New, 0),
        (UpdateAnswer::Empty, 6),
        (UpdateAnswer::Old, 6),
    ] {
        let server = playing(Variants {
            patch_answer: answer,
            ..Variants::default()
        });
        let wd = Workdir::new();
        customers_and_sheet(&server, &wd, 6);
        let import = upsert(&wd, &server);
        import.assert_ok();
        assert!(
            all(&outcomes(&wd, "clients.results.csv"), "updated"),
            "{import}"
        );
        // The list read to find the rows' customers, then the read-backs.
        assert_eq!(
            count(&server, "GET") - lists(&server),
            read_backs,
            "{answer:?}"
        );
        assert_eq!(count(&server, "PATCH"), 6);
        for i in 0..6 {
            let stored = &store(&server, &format!("Client {i}"))[0];
            assert_eq!(stored["city"], "Paris");
            assert_eq!(stored["capital"], json!(2000 + i));
        }

        let gets = count(&server, "GET");
        let undo = run(&wd, &server, &["undo", "clients.journal", "--yes"]);
        undo.assert_ok();
        assert!(all(&outcomes(&wd, "clients.undo.results.csv"), "restored"));
        // One GET a step to see the customer as it is now, then the read-backs.
        assert_eq!(count(&server, "GET") - gets, 6 + read_backs, "{answer:?}");
    }
}

/// `n` customers, and a sheet that gives each a `street2` it did not have: text only, which
/// `""` can empty but not remove.
fn customers_and_a_street2(server: &Server, wd: &Workdir, n: u64) {
    customers_and_sheet_adding(server, wd, n, "street2", |i| format!("Bâtiment {i}"));
}

/// Regression (issue 23): where PATCH ignores `null` and PUT replaces (the profile knows both),
/// undo of an update that added `street2` left `street2: ""`. The field is removed now, by a
/// PUT of the whole earlier record, and so is it by a restore to a backup made before.
#[test]
fn undo_and_restore_remove_a_field_the_import_added_where_put_replaces() {
    let server = playing(Variants {
        patch_null: NullOnPatch::Ignored,
        ..Variants::default()
    });
    let wd = Workdir::new();
    customers_and_a_street2(&server, &wd, 4);
    run(&wd, &server, &["check", "--write", "--save"]).assert_ok();
    let before = snapshot(&server);
    run(&wd, &server, &["export", "before.ndjson"]).assert_ok();

    upsert(&wd, &server).assert_ok();
    assert!(store(&server, "Client 1")[0].contains_key("street2"));
    let undo = run(&wd, &server, &["undo", "clients.journal"]);
    undo.assert_ok();
    let rows = wd.results("clients.undo.results.csv");
    assert!(
        rows.iter()
            .all(|r| r["_outcome"] == "restored" && r["_note"].is_empty()),
        "{rows:?}"
    );
    assert_eq!(
        snapshot(&server),
        before,
        "exactly as before: no street2 at all"
    );

    upsert(&wd, &server).assert_ok();
    run(&wd, &server, &["restore", "before.ndjson", "--yes"]).assert_ok();
    let rows = wd.results("before.restore.results.csv");
    assert!(rows.iter().all(|r| r["_note"].is_empty()), "{rows:?}");
    assert_eq!(snapshot(&server), before, "restored exactly too");
}

/// Where no verb can remove a field (`null` ignored, PUT merges), undo and restore leave it
/// empty and say so on the row, rather than count it restored in silence.
#[test]
fn where_no_verb_removes_a_field_undo_and_restore_say_they_left_it_empty() {
    let server = playing(Variants {
        patch_null: NullOnPatch::Ignored,
        put: PutMode::Merge,
        ..Variants::default()
    });
    let wd = Workdir::new();
    customers_and_a_street2(&server, &wd, 3);
    run(&wd, &server, &["check", "--write", "--save"]).assert_ok();
    run(&wd, &server, &["export", "before.ndjson"]).assert_ok();
    upsert(&wd, &server).assert_ok();
    run(&wd, &server, &["undo", "clients.journal"]).assert_ok();
    let said = "street2 left empty: this API cannot remove a field";
    for row in wd.results("clients.undo.results.csv") {
        assert_eq!(
            (row["_outcome"].as_str(), row["_note"].as_str()),
            ("restored", said)
        );
    }
    for customer in server.records() {
        assert_eq!(customer["city"], "Lyon");
        assert_eq!(customer["street2"], "", "emptied, as said");
    }

    upsert(&wd, &server).assert_ok();
    run(&wd, &server, &["restore", "before.ndjson", "--yes"]).assert_ok();
    for row in wd.results("before.restore.results.csv") {
        assert_eq!(row["_note"], said, "{row:?}");
    }
}
