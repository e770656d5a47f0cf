//! Matching rows to customers as people do: fallback and composite keys compared in each
//! field's own form, and likely duplicates said (or skipped, or updated) before they are made.

use std::collections::HashMap;

use serde_json::{json, Value};

use custbulk::api::{record_id, Record};
use custbulk::sandbox::Options;

use crate::util::{record, Server, Workdir};

/// A valid SIRET of company `siren` (9 digits), establishment `n`.
fn siret(siren: u64, n: u64) -> String {
    let payload = format!("{siren:09}{n:04}");
    let check = custbulk::validate::coerce::luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// Stores `customers` and returns them as stored, ids included, by name.
fn store(server: &Server, customers: Vec<Value>) -> HashMap<String, Record> {
    server
        .running
        .insert(customers.into_iter().map(record).collect());
    by_name(server)
}

fn by_name(server: &Server) -> HashMap<String, Record> {
    server
        .records()
        .into_iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r))
        .collect()
}

fn id(r: &Record) -> String {
    record_id(r).unwrap()
}

/// The results file's rows, by the value of their `name` cell.
fn outcomes(wd: &Workdir, file: &str) -> Vec<HashMap<String, String>> {
    wd.results(file)
}

/// A mixed sheet: rows with a SIRET are matched by it alone, rows without one by name and
/// postcode together, each compared trimmed, case and accents aside, postcodes without spaces.
#[test]
fn fallback_keys_match_some_rows_by_siret_and_others_by_name_and_postcode() {
    let server = Server::start(Options::default());
    let stored = store(
        &server,
        vec![
            json!({"name": "Boulangerie Martin", "siret": siret(552_120_222, 1), "zipCode": "75001", "capital": 1}),
            json!({"name": "Garage Dupont", "siret": siret(732_829_320, 7), "zipCode": "69002", "capital": 2}),
            json!({"name": "Épicerie Zoé", "zipCode": "75011", "capital": 3}),
            json!({"name": "Café de la Gare", "zipCode": "13001", "capital": 4}),
        ],
    );
    let wd = Workdir::new();
    wd.write(
        "edits.csv",
        format!(
            "name;siret;zipCode;capital\n\
             ;{};;10\n\
             \u{20}EPICERIE  zoe ;;75 011;30\n\
             café de la gare;;13001;40\n\
             Garage Dupont SARL;{};99999;20\n\
             Épicerie Zoé;;75012;50\n",
            siret(552_120_222, 1),
            siret(732_829_320, 7)
        ),
    );
    let args = [
        "import",
        "edits.csv",
        "--mode",
        "update",
        "--match-on",
        "siret,name+zipCode",
        "--no-progress",
    ];
    wd.exec_against(&server, &args).assert_code(1);
    let rows = outcomes(&wd, "edits.results.csv");
    let got: Vec<&str> = rows.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(
        got,
        ["updated", "updated", "updated", "updated", "failed"],
        "{rows:?}"
    );
    assert!(
        rows[4]["_error"].contains("no customer has name+zipCode = \"Épicerie Zoé\" + \"75012\""),
        "{}",
        rows[4]["_error"]
    );
    let now: HashMap<String, Record> = server.records().into_iter().map(|r| (id(&r), r)).collect();
    let capital = |name: &str| now[&id(&stored[name])]["capital"].clone();
    assert_eq!(capital("Boulangerie Martin"), 10);
    assert_eq!(capital("Épicerie Zoé"), 30);
    assert_eq!(capital("Café de la Gare"), 40);
    // Its SIRET found it, though its name and postcode are another customer's or nobody's.
    assert_eq!(capital("Garage Dupont"), 20);
    assert_eq!(now.len(), 4, "nothing created");
}

/// A file large enough to be matched through the index of the whole list: accents, case and
/// spaces in a composite key find the stored customer; the rest are created, none twice.
#[test]
fn composite_keys_with_accents_case_and_spaces_match_through_the_index() {
    let server = Server::start(Options::default());
    let mut customers = Vec::new();
    for i in 0..50 {
        customers.push(json!({"name": format!("Épicerie Zoé n°{i}"), "zipCode": format!("75{i:03}"), "city": "Paris"}));
    }
    store(&server, customers);
    let mut csv = String::from("Raison sociale;Code postal;Ville\n");
    for i in 0..50 {
        csv.push_str(&format!("  EPICERIE   ZOE N°{i} ;75 {i:03};PARIS\n"));
    }
    for i in 0..300 {
        csv.push_str(&format!("Nouveau client {i};{:05};Lyon\n", 69000 + i));
    }
    let wd = Workdir::new();
    wd.write("clients.csv", csv);
    let args = [
        "import",
        "clients.csv",
        "--mode",
        "upsert",
        "--match-on",
        "name+zipCode",
        "--no-progress",
    ];
    wd.exec_against(&server, &args).assert_ok();
    let rows = outcomes(&wd, "clients.results.csv");
    let count = |o: &str| rows.iter().filter(|r| r["_outcome"] == o).count();
    assert_eq!(
        count("updated"),
        50,
        "the sheet's spelling of name and city is sent"
    );
    assert_eq!(count("created"), 300);
    assert_eq!(server.records().len(), 350);
    assert_eq!(by_name(&server).len(), 350, "no name twice");
    let paris = server
        .records()
        .into_iter()
        .filter(|r| r["city"] == "PARIS");
    assert_eq!(
        paris.count(),
        50,
        "each of the 50 took the sheet's spelling"
    );
}

/// Two customers with the same key: the row fails rather than guess, and the other rows go on.
#[test]
fn a_key_that_finds_two_customers_fails_the_row() {
    let server = Server::start(Options::default());
    store(
        &server,
        vec![
            json!({"name": "Épicerie Zoé", "zipCode": "75011"}),
            json!({"name": "Épicerie Zoé", "zipCode": "75011", "city": "Paris"}),
            json!({"name": "Garage Dupont", "zipCode": "69002"}),
        ],
    );
    let wd = Workdir::new();
    wd.write(
        "edits.csv",
        "name;zipCode;capital\nepicerie zoé;75011;5\ngarage dupont;69002;6\n",
    );
    let args = [
        "import",
        "edits.csv",
        "--mode",
        "update",
        "--match-on",
        "name+zipCode",
        "--no-progress",
    ];
    wd.exec_against(&server, &args).assert_code(1);
    let rows = outcomes(&wd, "edits.results.csv");
    assert_eq!(rows[0]["_outcome"], "failed");
    assert!(
        rows[0]["_error"].contains("2 customers have"),
        "{}",
        rows[0]["_error"]
    );
    assert_eq!(rows[1]["_outcome"], "updated");
}

/// The server's customers for the likely-duplicate tests, by name.
fn zoe_and_martin(server: &Server) -> HashMap<String, Record> {
    store(
        server,
        vec![
            json!({"name": "Epicerie Zoe", "zipCode": "75011", "city": "Paris"}),
            json!({"name": "Boulangerie Martin", "siret": siret(552_120_222, 1), "zipCode": "69002"}),
            json!({"name": "Café Noël", "city": "Lyon"}),
        ],
    )
}

const CANDIDATES: &str = "name;siret;zipCode;city\n\
    SARL Épicerie Zoé;;75011;\n\
    ÉPICERIE ZOÉ (SAS);;75012;Paris\n\
    Boulangerie Martin Sud;{SAME_COMPANY};13001;\n\
    Le Fournil;{SAME_SIRET};;\n\
    cafe noel, S.A.R.L.;;;LYON\n\
    Acme Ltd;;75011;Paris\n";

fn candidates() -> String {
    CANDIDATES
        .replace("{SAME_COMPANY}", &siret(552_120_222, 2))
        .replace("{SAME_SIRET}", &siret(552_120_222, 1))
}

/// `--plan` says, for each row it would create, which customer it probably duplicates and
/// why: legal forms, accents, case and punctuation aside, with the same postcode (or city when
/// one has no postcode), or the same SIRET; another postcode is not a duplicate, and another
/// establishment of the same company is said as such. The row with a SIRET already there is
/// left out by default, and the plan says so.
#[test]
fn the_plan_lists_likely_duplicates_with_the_customer_and_what_matched() {
    let server = Server::start(Options::default());
    let stored = zoe_and_martin(&server);
    let wd = Workdir::new();
    wd.write("new.csv", candidates());
    wd.exec_against(&server, &["import", "new.csv", "--plan", "--no-progress"])
        .assert_ok();
    let rows = outcomes(&wd, "new.results.csv");
    let notes: Vec<&str> = rows.iter().map(|r| r["_note"].as_str()).collect();
    let zoe = id(&stored["Epicerie Zoe"]);
    let martin = id(&stored["Boulangerie Martin"]);
    let noel = id(&stored["Café Noël"]);
    assert_eq!(
        notes,
        [
            format!("possible duplicate of {zoe} (same name and postcode)"),
            String::new(),
            format!("another establishment of the same company as {martin} (same SIREN)"),
            format!("possible duplicate of {martin} (same SIRET)"),
            format!("possible duplicate of {noel} (same name and city)"),
            String::new(),
        ]
    );
    let planned: Vec<&str> = rows.iter().map(|r| r["_outcome"].as_str()).collect();
    assert_eq!(
        planned,
        [
            "would-create",
            "would-create",
            "would-create",
            "skipped-duplicate",
            "would-create",
            "would-create"
        ]
    );
    assert_eq!(server.records().len(), 3, "a plan changes nothing");
}

/// `validate --server` says the same, as warnings on the name cell, and a key that finds
/// nobody on update.
#[test]
fn validate_server_warns_of_likely_duplicates_and_keys_that_find_nobody() {
    let server = Server::start(Options::default());
    let stored = zoe_and_martin(&server);
    let wd = Workdir::new();
    wd.write("new.csv", candidates());
    let run = wd.exec_against(
        &server,
        &["validate", "new.csv", "--server", "--format", "json"],
    );
    run.assert_ok();
    let problems = run.json()["problems"].as_array().unwrap().clone();
    let zoe = id(&stored["Epicerie Zoe"]);
    let on_row = |row: u64| -> Vec<String> {
        problems
            .iter()
            .filter(|p| p["row"] == row)
            .map(|p| format!("{} {} {}", p["severity"], p["column"], p["message"]))
            .collect()
    };
    assert_eq!(
        on_row(2),
        [format!(
            "\"warning\" \"A\" \"possible duplicate of {zoe} on the server (same name and postcode)\""
        )]
    );
    assert!(on_row(3).is_empty(), "another postcode: {:?}", on_row(3));
    assert!(on_row(4)[0].contains("another establishment of the same company"));

    wd.write("edits.csv", "siret;capital\n73282932000074;5\n");
    let run = wd.exec_against(
        &server,
        &[
            "validate",
            "edits.csv",
            "--server",
            "--mode",
            "update",
            "--match-on",
            "siret",
        ],
    );
    run.assert_ok();
    assert!(
        run.stdout
            .contains("no customer has siret = \"73282932000074\""),
        "{run}"
    );
}

/// Rows that are likely the same customer within one file are a warning naming both rows,
/// and a key repeated within the file (case and accents aside) is an error.
#[test]
fn likely_duplicates_within_a_file_are_warnings_naming_both_rows() {
    let wd = Workdir::new();
    wd.write(
        "clients.csv",
        format!(
            "name;siret;zipCode;city\n\
             SARL Épicerie Zoé;;75011;Paris\n\
             Epicerie Zoe;;75011;\n\
             Épicerie Zoé;;75012;Paris\n\
             Boulangerie Martin;{};69002;Lyon\n\
             Boulangerie Martin;{};69002;Lyon\n\
             Café Noël;;;Lyon\n\
             CAFE NOEL;;69001;lyon\n",
            siret(552_120_222, 1),
            siret(552_120_222, 2)
        ),
    );
    let run = wd.exec(&["validate", "clients.csv", "--format", "json"]);
    run.assert_ok();
    let messages: Vec<String> = run.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}: {}", p["row"], p["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        messages,
        [
            "3: rows 2 and 3 are likely the same customer (same name and postcode): both would be created",
            "8: rows 7 and 8 are likely the same customer (same name and city): both would be created",
        ],
        "row 4 has another postcode, rows 5 and 6 two SIRETs"
    );

    let run = wd.exec(&["validate", "clients.csv", "--match-on", "siret,name+city"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("name+city \"CAFE NOEL\" + \"lyon\" already appears on row 7"),
        "{run}"
    );
}

/// The sheet for the `--on-duplicate` runs: every even row likely the same as a stored
/// customer (a legal form and upper case added, same postcode), every odd row new.
fn duplicates_sheet(server: &Server) -> String {
    let mut customers = Vec::new();
    for i in 0..40 {
        customers.push(
            json!({"name": format!("Client {i}"), "zipCode": format!("0{i:04}"), "capital": 1}),
        );
    }
    store(server, customers);
    let mut csv = String::from("name;zipCode;capital\n");
    for i in 0..40 {
        csv.push_str(&format!("SARL CLIENT {i};0{i:04};{}\n", 100 + i));
        csv.push_str(&format!("Nouveau {i};9{i:04};{}\n", 200 + i));
    }
    csv
}

/// Runs an import of the duplicates sheet with `choice` against a sandbox that drops
/// connections and fails after committing, kills it with SIGKILL mid-run, and resumes it.
/// Returns the server and the final results.
fn on_duplicate_with_faults(choice: &str) -> (Server, Vec<HashMap<String, String>>) {
    let server = Server::start(Options {
        latency_ms: 15,
        drop_rate: 0.1,
        fail_after_commit_rate: 0.1,
        seed: 7,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", duplicates_sheet(&server));
    let args = [
        "import",
        "clients.csv",
        "--on-duplicate",
        choice,
        "--concurrency",
        "2",
        "--no-progress",
    ];
    wd.kill_9_when(&server, &args, || server.records().len() >= 50);
    let at_kill = server.records().len();
    assert!(at_kill < 80, "killed mid-run ({at_kill} stored)");
    wd.exec_against(&server, &[&args[..], &["--resume"]].concat())
        .assert_ok();
    (server, outcomes(&wd, "clients.results.csv"))
}

fn count(rows: &[HashMap<String, String>], outcome: &str) -> usize {
    rows.iter().filter(|r| r["_outcome"] == outcome).count()
}

#[test]
fn on_duplicate_create_creates_and_names_the_customer_each_row_may_duplicate() {
    let (server, rows) = on_duplicate_with_faults("create");
    assert_eq!(count(&rows, "created"), 80, "{rows:?}");
    let stored = by_name(&server);
    assert_eq!(server.records().len(), 120, "each row created once");
    assert_eq!(stored.len(), 120, "no name twice");
    for (i, row) in rows.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let original = id(&stored[&format!("Client {}", i / 2)]);
        assert_eq!(
            row["_note"],
            format!("possible duplicate of {original} (same name and postcode)"),
            "{row:?}"
        );
    }
    assert!(rows
        .iter()
        .skip(1)
        .step_by(2)
        .all(|r| r["_note"].is_empty()));
}

#[test]
fn on_duplicate_skip_leaves_likely_duplicates_out() {
    let (server, rows) = on_duplicate_with_faults("skip");
    assert_eq!(count(&rows, "skipped-duplicate"), 40, "{rows:?}");
    assert_eq!(count(&rows, "created"), 40);
    assert_eq!(server.records().len(), 80);
    assert_eq!(by_name(&server).len(), 80, "no name twice");
    assert!(rows
        .iter()
        .step_by(2)
        .all(|r| r["_note"].starts_with("possible duplicate of ")));
}

#[test]
fn on_duplicate_update_updates_the_customer_each_row_likely_is() {
    let (server, rows) = on_duplicate_with_faults("update");
    assert_eq!(count(&rows, "updated"), 40, "{rows:?}");
    assert_eq!(count(&rows, "created"), 40);
    assert_eq!(server.records().len(), 80, "no duplicate made");
    let stored = by_name(&server);
    for i in 0..40 {
        let updated = &stored[&format!("SARL CLIENT {i}")];
        assert_eq!(updated["capital"], 100 + i, "{updated:?}");
        assert_eq!(updated["zipCode"], format!("0{i:04}"));
    }
}

/// Undo's look-up of a customer it re-creates uses the import's keys, kept in its journal:
/// two shops of one name in two postcodes, the one deleted by `name+zipCode` already back (as
/// an undo that died after its POST leaves it). By name alone undo would find two, and create
/// it a second time.
#[test]
fn undo_finds_a_customer_put_back_by_the_keys_of_the_import() {
    let server = Server::start(Options::default());
    store(
        &server,
        vec![
            json!({"name": "Épicerie Zoé", "zipCode": "75011", "city": "Paris"}),
            json!({"name": "Épicerie Zoé", "zipCode": "13001", "city": "Marseille"}),
        ],
    );
    let wd = Workdir::new();
    wd.write("gone.csv", "name,zipCode\nÉpicerie Zoé,75011\n");
    let args = [
        "import",
        "gone.csv",
        "--mode",
        "delete",
        "--match-on",
        "name+zipCode",
        "--yes",
    ];
    wd.exec_against(&server, &args).assert_ok();
    assert_eq!(server.records().len(), 1);
    server.running.insert(vec![record(
        json!({"name": "Épicerie Zoé", "zipCode": "75011", "city": "Paris"}),
    )]);
    wd.exec_against(&server, &["undo", "gone.journal", "--yes"])
        .assert_ok();
    let rows = wd.results("gone.undo.results.csv");
    assert_eq!(rows[0]["_outcome"], "unchanged", "{rows:?}");
    assert!(rows[0]["_error"].contains("already recreated"), "{rows:?}");
    assert_eq!(server.records().len(), 2, "no second Épicerie Zoé in 75011");
}

/// Issue 21, case 6: the same list imported twice (again from a copy `clients (1).csv`, with
/// default flags) doubled the account, exit 0. A file whose first rows mostly find their
/// customers already there stops before sending anything, exit 3, and says to use
/// `--mode upsert`; `--on-duplicate create` still creates them all.
#[test]
fn the_same_list_imported_twice_stops_before_creating_anything() {
    let server = Server::start(Options::default());
    let wd = Workdir::new();
    let mut csv = String::from("name;siret;zipCode\n");
    for i in 0..200 {
        csv.push_str(&format!(
            "Client {i};{};0{i:04}\n",
            siret(552_100_000 + i, 1)
        ));
    }
    wd.write("clients.csv", &csv);
    wd.exec_against(&server, &["import", "clients.csv", "--no-progress"])
        .assert_ok();
    wd.write("clients (1).csv", &csv);
    let posts = crate::honest::count(&server, "POST");
    let again = wd.exec_against(&server, &["import", "clients (1).csv", "--no-progress"]);
    again.assert_code(3);
    assert!(
        again.stderr.contains("100 of the first 100 rows")
            && again.stderr.contains("--mode upsert"),
        "{again}"
    );
    assert_eq!(crate::honest::count(&server, "POST"), posts, "nothing sent");
    assert_eq!(server.records().len(), 200);

    let upsert = [
        "import",
        "clients (1).csv",
        "--mode",
        "upsert",
        "--match-on",
        "siret",
    ];
    let run = wd.exec_against(&server, &[&upsert[..], &["--no-progress"]].concat());
    run.assert_ok();
    assert_eq!(
        server.records().len(),
        200,
        "upsert finds them all unchanged"
    );

    let create = [
        "import",
        "clients (1).csv",
        "--on-duplicate",
        "create",
        "--no-progress",
    ];
    wd.exec_against(&server, &create).assert_ok();
    assert_eq!(
        server.records().len(),
        400,
        "--on-duplicate create keeps the old way"
    );
}

/// By default a row whose SIRET (or `--match-on` key) finds a customer is not created: it is
/// `skipped-duplicate`, with the customer's id in `_note`; a row that only resembles one by
/// name and postcode is created, and said. A few such rows among many new ones do not stop the
/// run.
#[test]
fn a_create_whose_siret_or_key_finds_a_customer_is_skipped_by_default() {
    let server = Server::start(Options::default());
    let stored = store(
        &server,
        vec![
            json!({"name": "Boulangerie Martin", "siret": siret(552_120_222, 1), "zipCode": "69002"}),
            json!({"name": "Epicerie Zoe", "zipCode": "75011"}),
            json!({"name": "Atelier Bois", "city": "Lyon", "zipCode": "69001"}),
        ],
    );
    let wd = Workdir::new();
    let mut csv = format!(
        "name;siret;zipCode;city\nLe Fournil;{};;\nSARL Épicerie Zoé;;75011;\nAtelier Bois;;69001;Lyon\n",
        siret(552_120_222, 1)
    );
    for i in 0..10 {
        csv.push_str(&format!(
            "Nouveau {i};{};01000;\n",
            siret(731_000_000 + i, 1)
        ));
    }
    wd.write("new.csv", csv);
    let args = [
        "import",
        "new.csv",
        "--no-progress",
        "--match-on",
        "name+zipCode",
    ];
    wd.exec_against(&server, &args).assert_ok();
    let rows = outcomes(&wd, "new.results.csv");
    let martin = id(&stored["Boulangerie Martin"]);
    let bois = id(&stored["Atelier Bois"]);
    let zoe = id(&stored["Epicerie Zoe"]);
    assert_eq!(rows[0]["_outcome"], "skipped-duplicate", "{:?}", rows[0]);
    assert!(rows[0]["_note"].contains(&martin), "{:?}", rows[0]);
    assert_eq!(rows[1]["_outcome"], "created", "a likeness is only said");
    assert!(rows[1]["_note"].contains(&zoe), "{:?}", rows[1]);
    assert_eq!(
        rows[2]["_outcome"], "skipped-duplicate",
        "its --match-on key finds it"
    );
    assert!(rows[2]["_note"].contains(&bois), "{:?}", rows[2]);
    assert_eq!(count(&rows, "created"), 11);
    assert_eq!(server.records().len(), 3 + 11);
}
