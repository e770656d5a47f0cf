//! The summary sheet, import outcomes through the library, the notes' cap, and failures that
//! must leave no file behind.

use calamine::{open_workbook_auto, Reader as _};
use custbulk::annotate::Annotator;
use custbulk::validate::{Problem, Severity};

use super::*;
use crate::util::Workdir;

#[test]
fn the_summary_counts_by_field_and_by_kind_largest_first() {
    let wd = Workdir::new();
    let mut csv = String::from("Nom;Capital;SIRET\n");
    for i in 0..6 {
        // Six bad SIRETs, two negative capitals, one missing name.
        let name = if i == 5 {
            String::new()
        } else {
            format!("Société {i}")
        };
        let capital = if i < 2 { "-1" } else { "10" };
        csv.push_str(&format!("{name};{capital};{}\n", bad_siret(i)));
    }
    wd.write("c.csv", csv);
    assert_eq!(
        wd.run(&["validate", "c.csv", "--annotate", "a.xlsx"])
            .status
            .code(),
        Some(1)
    );
    let mut wb = open_workbook_auto(wd.path("a.xlsx")).unwrap();
    let range = wb.worksheet_range("Summary").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let value = |label: &str| {
        rows.iter()
            .find(|r| r[0] == label)
            .unwrap_or_else(|| panic!("{label}: {rows:?}"))[1]
            .clone()
    };
    assert_eq!(value("Rows"), "6");
    assert_eq!(value("Rows with errors"), "6");
    assert_eq!(value("Errors"), "9");
    let by_field = rows
        .iter()
        .position(|r| r[0] == "Problems by field")
        .unwrap();
    let fields: Vec<(&str, &str)> = rows[by_field + 2..by_field + 5]
        .iter()
        .map(|r| (r[0].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(fields, [("siret", "6"), ("capital", "2"), ("name", "1")]);
    let by_kind = rows
        .iter()
        .position(|r| r[0] == "Problems by kind")
        .unwrap();
    let first = &rows[by_kind + 2];
    assert_eq!(
        first[0],
        "… is not a valid SIRET: its check digit is wrong (mistyped digit?)"
    );
    assert_eq!(
        (first[1].as_str(), first[4].as_str(), first[5].as_str()),
        ("siret", "6", "2")
    );
}

#[test]
fn import_outcomes_go_in_their_own_columns_and_are_ignored_on_the_way_back() {
    let wd = Workdir::new();
    let path = wd.path("results.xlsx");
    // An annotated copy fed back in: its old Problems and _outcome columns are replaced.
    let headers = row(&["Problems", "Nom", "Ville", "_outcome", "_new_id"]);
    let mut a = Annotator::create(&path, &headers, true).unwrap();
    a.row(
        2,
        &row_cells(&["old", "Boulangerie Martin", "Lyon", "failed", ""]),
        &[],
        Some(("created", Some("c-123"))),
    )
    .unwrap();
    let missing = Problem {
        row: 3,
        column: "B".into(),
        header: "Nom".into(),
        field: "name",
        severity: Severity::Error,
        message: "name is required to create a customer, and this row has none".into(),
        value: String::new(),
    };
    a.row(
        3,
        &row_cells(&["old", "", "Paris", "", ""]),
        &[missing],
        Some(("invalid", None)),
    )
    .unwrap();
    a.finish().unwrap();

    let (_, got) = cells(&path);
    let line = |r| (0..5).map(|c| text(&got, r, c)).collect::<Vec<_>>();
    assert_eq!(line(1), ["Problems", "Nom", "Ville", "_outcome", "_new_id"]);
    assert_eq!(
        line(2),
        ["", "Boulangerie Martin", "Lyon", "created", "c-123"]
    );
    assert_eq!(
        line(3),
        [
            "ERROR Nom: name is required to create a customer, and this row has none",
            "",
            "Paris",
            "invalid",
            ""
        ]
    );
    assert_eq!(marks(&path).fills["B3"], RED);

    let (code, report) = validate(&wd, &path, &[]);
    assert_eq!(code, 1, "row 3 still has no name");
    assert_eq!(
        report["ignored"],
        serde_json::json!(["Problems", "_outcome", "_new_id"])
    );
    assert_eq!(report["unmapped"], serde_json::json!([]));
}

#[test]
fn notes_stop_at_the_cap_but_every_flagged_cell_is_coloured() {
    let wd = Workdir::new();
    let rows = custbulk::annotate::MAX_NOTES as usize + 5;
    let mut csv = String::from("Nom;SIRET\n");
    for i in 0..rows {
        csv.push_str(&format!("Société {i};123\n"));
    }
    wd.write("many.csv", csv);
    let out = wd.run(&["validate", "many.csv", "--annotate", "a.xlsx", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let m = marks(&wd.path("a.xlsx"));
    assert_eq!(m.notes.len(), custbulk::annotate::MAX_NOTES as usize);
    assert_eq!(m.fills.keys().filter(|r| r.starts_with('C')).count(), rows);
    let mut wb = open_workbook_auto(wd.path("a.xlsx")).unwrap();
    let summary = wb.worksheet_range("Summary").unwrap();
    assert!(summary.rows().any(|r| r[0]
        .to_string()
        .starts_with("Notes were added to the first 20000")));
}

#[test]
fn an_unwritable_target_fails_before_reading_and_leaves_nothing() {
    let wd = Workdir::new();
    wd.write("c.csv", "Nom;Ville\nMartin;Lyon\n");
    let out = wd.run(&["validate", "c.csv", "--annotate", "no-such-dir/a.xlsx"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("no-such-dir/a.xlsx") && err.contains("folder"),
        "{err}"
    );
    assert!(!wd.path("no-such-dir").exists());
}

#[test]
fn an_annotator_dropped_before_finishing_leaves_no_file() {
    let wd = Workdir::new();
    let path = wd.path("a.xlsx");
    let headers = row(&["Nom", "SIRET"]);
    let mut a = Annotator::create(&path, &headers, false).unwrap();
    let bad = Problem {
        row: 2,
        column: "B".into(),
        header: "SIRET".into(),
        field: "siret",
        severity: Severity::Error,
        message: "\"1\" is not 14 digits".into(),
        value: "1".into(),
    };
    for r in 2..600 {
        a.row(
            r,
            &row_cells(&["Martin", "1"]),
            std::slice::from_ref(&bad),
            None,
        )
        .unwrap();
    }
    drop(a);
    assert_eq!(std::fs::read_dir(wd.dir()).unwrap().count(), 0);
}
