//! Reading CSV files and workbooks as people's tools write them: the cells as the user sees them,
//! the user's row numbers, the header found under title rows, and a clear error (never a panic)
//! for files that cannot be read.

use std::path::{Path, PathBuf};

use custbulk::read::{self, column_letter, Format, ReadError, ReadOptions, Row, Table};

// Path attributes so this file also builds as its own test target (Cargo autotests).
#[path = "read/csv.rs"]
mod csv;
#[path = "read/extent.rs"]
mod extent;
#[path = "read/fuzz.rs"]
mod fuzz;
#[path = "read/json.rs"]
mod json;
#[path = "read/limits.rs"]
mod limits;
#[path = "read/sheet.rs"]
mod sheet;

use sheet::fixture;

/// Header words of the fixtures; a row with two of them is the header, as mapping will decide.
const KNOWN: &[&str] = &[
    "nom",
    "code postal",
    "siret",
    "capital",
    "société",
    "ville",
    "adresse",
    "nom (arabe)",
    "créé le",
    "name",
    "zip",
    "city",
];

pub fn is_header(cells: &[String]) -> bool {
    cells
        .iter()
        .filter(|c| KNOWN.contains(&c.trim().to_lowercase().as_str()))
        .count()
        >= 2
}

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn open(path: &Path) -> Table {
    read::open(path, &ReadOptions::default(), &is_header)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn open_with(path: &Path, opts: &ReadOptions) -> Result<Table, ReadError> {
    read::open(path, opts, &is_header)
}

/// Every remaining row as (number, cells), through one reused `Row` as callers do.
pub fn rows(table: &mut Table) -> Vec<(u32, Vec<String>)> {
    let mut row = Row::new();
    let mut out = Vec::new();
    while table.next_row(&mut row).expect("row") {
        out.push((row.number, row.cells.to_vec()));
    }
    out
}

pub fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

#[test]
fn without_a_recognisable_header_the_first_non_blank_row_is_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.csv");
    std::fs::write(&path, "\n\nfoo;bar\n1;2\n\n3;4\n").unwrap();
    let mut t = open(&path);
    assert_eq!(t.header_row, 3);
    assert_eq!(t.headers, strings(&["foo", "bar"]));
    assert_eq!(t.title_rows_skipped, 0);
    let all = rows(&mut t);
    assert_eq!(
        all,
        vec![
            (4, strings(&["1", "2"])),
            (5, strings(&["", ""])),
            (6, strings(&["3", "4"]))
        ]
    );
}

#[test]
fn a_workbook_with_a_csv_inside_is_read_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    std::fs::write(&path, "Nom;Ville\nMartin;Lyon\n").unwrap();
    let mut t = open(&path);
    assert_eq!(t.format, Format::Csv);
    assert_eq!(t.notes.len(), 1);
    assert!(t.notes[0].contains("really a CSV file"), "{:?}", t.notes);
    assert_eq!(rows(&mut t), vec![(2, strings(&["Martin", "Lyon"]))]);

    // And the other way round: a workbook saved under .csv.
    let (_d, xlsx) = fixture();
    let renamed = dir.path().join("clients.csv");
    std::fs::copy(&xlsx, &renamed).unwrap();
    let t = open(&renamed);
    assert_eq!(t.format, Format::Xlsx);
    assert!(t.notes[0].contains("really an XLSX file"), "{:?}", t.notes);
}

#[test]
fn unreadable_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    let err = open_with(&p("missing.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.csv"));

    std::fs::write(p("empty.csv"), "").unwrap();
    let err = open_with(&p("empty.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains("empty.csv"), "{err}");

    std::fs::write(p("blank.csv"), "\n\n;;\n").unwrap();
    let err = open_with(&p("blank.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Empty { .. }), "{err:?}");

    std::fs::write(p("binary.csv"), [0u8, 1, 2, 3, 255, 0, 7, 8]).unwrap();
    let err = open_with(&p("binary.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("binary.csv"));

    std::fs::write(p("binary.xlsx"), [0u8, 1, 2, 3, 255, 0, 7, 8]).unwrap();
    let err = open_with(&p("binary.xlsx"), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not a valid XLSX file"), "{err}");

    let (_d, good) = fixture();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(p("truncated.xlsx"), &bytes[..bytes.len() / 2]).unwrap();
    let err = open_with(&p("truncated.xlsx"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated.xlsx"), "{err}");

    let err = open_with(dir.path(), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("directory"), "{err}");

    std::fs::write(p("fake.xls"), b"PK\x03\x04 not really a zip").unwrap();
    let err = open_with(&p("fake.xls"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Unreadable { .. }), "{err:?}");
}

#[test]
fn column_letters_as_spreadsheets_name_them() {
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(18), "S");
    assert_eq!(column_letter(26), "AA");
}

#[test]
fn options_that_do_not_apply_are_noted() {
    let opts = ReadOptions {
        sheet: Some("Feuil1".into()),
        ..Default::default()
    };
    let t = open_with(&data("clients-utf8-bom.csv"), &opts).unwrap();
    assert!(
        t.notes.iter().any(|n| n.contains("no sheets")),
        "{:?}",
        t.notes
    );
    let (_dir, path) = fixture();
    let opts = ReadOptions {
        delimiter: Some(b';'),
        ..Default::default()
    };
    let t = open_with(&path, &opts).unwrap();
    assert!(
        t.notes.iter().any(|n| n.contains("CSV files only")),
        "{:?}",
        t.notes
    );
}

/// Web applications often "export to Excel" an HTML table saved as .xls.
#[test]
fn html_and_xml_saved_as_xls_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content, kind) in [
        ("export.xls", "\u{feff}  <HTML><body><table><tr><td>Nom</td></tr></table>", "HTML"),
        ("old.xls", "<?xml version=\"1.0\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">", "XML"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = open_with(&path, &ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ReadError::Unreadable { .. }), "{msg}");
        assert!(msg.contains(kind) && msg.contains("save it as XLSX or CSV"), "{msg}");
    }
}
