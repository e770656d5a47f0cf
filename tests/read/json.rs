//! JSON and NDJSON input: records as rows whose keys are the headers, values as the text they
//! are written as, row numbers that are the records' positions, a record that is not an
//! object as an invalid row, and the backup loop: an export read back unchanged.

use serde_json::{json, Value};

use custbulk::read::{Format, Row};
use custbulk::sandbox::Options;

use super::{open, strings};
use crate::util::{Server, Workdir};

/// Every row as (number, cells, issue messages).
fn rows_and_issues(path: &std::path::Path) -> Vec<(u32, Vec<String>, Vec<String>)> {
    let mut t = open(path);
    let mut row = Row::new();
    let mut out = Vec::new();
    while t.next_row(&mut row).expect("row") {
        let issues = row.issues.iter().map(|i| i.message.clone()).collect();
        out.push((row.number, row.cells.to_vec(), issues));
    }
    out
}

#[test]
fn ndjson_records_are_rows_numbered_by_line_with_the_union_of_keys_as_headers() {
    let w = Workdir::new();
    let path = w.write(
        "backup.ndjson",
        concat!(
            r#"{"_id":{"$oid":"65a1"},"name":"Acme","siret":55212022200013,"capital":1000}"#,
            "\n\n",
            r#"{"name":"Beta","contacts":[ {"name":"J", "email":"j@example.fr"} ],"zipCode":"01000","city":null}"#,
            "\n42\n",
            r#"{"isCompany":true,"legacy":{"old":"007"}}"#,
            "\r\n",
        ),
    );
    let t = open(&path);
    assert_eq!(t.format, Format::Ndjson);
    assert_eq!(t.header_row, 0);
    assert_eq!(t.encoding, Some("UTF-8"));
    assert_eq!(
        t.headers,
        strings(&[
            "_id",
            "name",
            "siret",
            "capital",
            "contacts",
            "zipCode",
            "city",
            "isCompany",
            "legacy"
        ])
    );
    let rows = rows_and_issues(&path);
    let numbers: Vec<u32> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5], "blank lines are blank rows");
    assert_eq!(
        rows[0].1,
        strings(&["65a1", "Acme", "55212022200013", "1000", "", "", "", "", ""])
    );
    assert_eq!(
        rows[2].1,
        strings(&[
            "",
            "Beta",
            "",
            "",
            r#"[{"name":"J","email":"j@example.fr"}]"#,
            "01000",
            "",
            "",
            ""
        ])
    );
    assert!(rows[1].1.iter().all(String::is_empty) && rows[1].2.is_empty());
    assert_eq!(
        rows[3].2,
        ["not a JSON object: the line holds a number (42)"]
    );
    assert_eq!(rows[4].1[7..], strings(&["true", r#"{"old":"007"}"#]));
}

#[test]
fn json_array_elements_are_rows_numbered_from_one() {
    let w = Workdir::new();
    let path = w.write(
        "backup.json",
        "[\n  {\"name\": \"A\", \"city\": \"Lyon\"},\n  \"oops\",\n  {\"name\": \"C\", \"zip\": 1e3}\n]\n",
    );
    let t = open(&path);
    assert_eq!(t.format, Format::Json);
    assert_eq!(t.headers, strings(&["name", "city", "zip"]));
    let rows = rows_and_issues(&path);
    assert_eq!(
        rows,
        [
            (1, strings(&["A", "Lyon", ""]), vec![]),
            (
                2,
                strings(&["", "", ""]),
                vec!["not a JSON object: the element holds a string (\"oops\")".to_string()]
            ),
            (3, strings(&["C", "", "1e3"]), vec![]),
        ]
    );
}

/// A `.csv` that holds NDJSON, and a `.json` that holds NDJSON, read by their content.
#[test]
fn the_content_decides_json_over_the_extension() {
    let w = Workdir::new();
    let ndjson = "{\"name\":\"Acme\"}\n{\"name\":\"Beta\"}\n";
    for name in ["export.csv", "export.json"] {
        let t = open(&w.write(name, ndjson));
        assert_eq!(t.format, Format::Ndjson, "{name}");
        assert!(
            t.notes[0].contains("really an NDJSON file"),
            "{:?}",
            t.notes
        );
    }
    let t = open(&w.write("list.ndjson", "[{\"name\":\"Acme\"}]"));
    assert_eq!(t.format, Format::Json);
}

/// The user sees every record that is not an object as an invalid row on its line, and the run
/// goes on: exit 1, not 3.
#[test]
fn validate_reports_a_line_that_is_not_an_object_on_its_row() {
    let w = Workdir::new();
    w.write(
        "clients.ndjson",
        "{\"name\":\"Acme\",\"siret\":\"55212022200013\"}\n[1,2]\n{\"name\": \"Beta\", \"city\": }\n{\"name\":\"Gamma\"}\n",
    );
    let r = w.exec(&["validate", "clients.ndjson", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        (v["rows"].as_u64(), v["valid"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(v["format"], "NDJSON");
    assert_eq!(v["encoding"], "UTF-8");
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0]["row"], 2);
    assert_eq!(problems[0]["column"], "");
    assert_eq!(
        problems[0]["message"],
        "not a JSON object: the line holds an array ([1,2])"
    );
    assert_eq!(problems[1]["row"], 3);
    assert_eq!(
        problems[1]["message"],
        "not a valid JSON object: expected value at column 26"
    );
    let text = w.exec(&["validate", "clients.ndjson"]);
    assert!(
        text.stdout.contains("Read as NDJSON (UTF-8)"),
        "{}",
        text.stdout
    );
}

/// A truncated array: the rows before the cut are read, then the run stops (exit 3) with the
/// file and line named.
#[test]
fn a_truncated_json_array_is_a_read_error_naming_file_and_line() {
    let w = Workdir::new();
    w.write(
        "cut.json",
        "[\n{\"name\":\"A\"},\n{\"name\":\"B\"},\n{\"name\":\"C\", \"ci",
    );
    let r = w.exec(&["validate", "cut.json", "--report", "problems.csv"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains("cut.json, line 4"), "{}", r.stderr);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);

    // One object written over several lines is not NDJSON: said once, plainly.
    w.write("one.json", "{\n  \"name\": \"A\"\n}\n");
    let r = w.exec(&["validate", "one.json"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains("over several lines"), "{}", r.stderr);
}

/// `--annotate` of a JSON input: the records under a header row, in order, problems on them.
#[test]
fn an_annotated_copy_of_ndjson_puts_each_record_below_the_header() {
    use calamine::{open_workbook, Reader, Xlsx};
    let w = Workdir::new();
    w.write(
        "c.ndjson",
        "{\"name\":\"Acme\",\"siret\":\"123\"}\n\n{\"name\":\"Beta\"}\n",
    );
    let r = w.exec(&["validate", "c.ndjson", "--annotate", "out.xlsx"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let mut book: Xlsx<_> = open_workbook(w.path("out.xlsx")).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let text = |r: usize, c: usize| {
        sheet
            .get_value((r as u32, c as u32))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    assert_eq!((text(0, 1), text(0, 2)), ("name".into(), "siret".into()));
    assert_eq!(text(1, 1), "Acme");
    assert!(text(1, 0).contains("not 14 digits"), "{}", text(1, 0));
    assert_eq!(text(3, 1), "Beta");
}

/// The backup loop: what `custbulk export` writes as JSON or NDJSON validates with no error,
/// maps every customer field, reports the server's own fields as not imported, and imports
/// back into the same account with every row unchanged and nothing written.
#[test]
fn an_exported_json_or_ndjson_backup_validates_and_imports_back_unchanged() {
    let server = Server::start(Options::default());
    server.running.insert(crate::export::tricky(60));
    let before = server.records();
    let w = Workdir::new();
    for file in ["backup.json", "backup.ndjson"] {
        let out = w.against(&server, &["export", file]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");

        let r = w.exec(&["validate", file, "--format", "json"]);
        assert_eq!(r.code, 0, "{file}: {}", r.stdout);
        let v = r.json();
        assert_eq!(
            (v["rows"].as_u64(), v["errors"].as_u64()),
            (Some(60), Some(0))
        );
        let mapped: Vec<&str> = v["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["field"].as_str().unwrap())
            .collect();
        let stored = custbulk::schema::FIELDS
            .iter()
            .filter(|f| before.iter().any(|r| r.contains_key(f.name)));
        for field in stored {
            assert!(
                mapped.contains(&field.name),
                "{file}: {} unmapped",
                field.name
            );
        }
        assert!(mapped.contains(&"id"), "{file}: {mapped:?}");
        // The server's own fields and unknown keys are said, not errors.
        let mut extra: Vec<&str> = Vec::new();
        for key in before.iter().flat_map(|r| r.keys()) {
            let known = key == "_id" || custbulk::schema::field(key).is_some();
            if !known && !extra.contains(&key.as_str()) {
                extra.push(key);
            }
        }
        assert!(extra.contains(&"createdAt") && extra.contains(&"legacyCode"));
        let mut unmapped: Vec<&str> = v["unmapped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        unmapped.sort();
        extra.sort();
        assert_eq!(unmapped, extra, "{file}");

        let out = w
            .against(
                &server,
                &["import", file, "--mode", "upsert", "--output", "json"],
            )
            .output()
            .unwrap();
        let summary: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(summary["outcomes"], json!({"unchanged": 60}), "{file}");
    }
    assert_eq!(server.records(), before, "nothing was written");
}
