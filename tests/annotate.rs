//! `--annotate OUT.xlsx`: the annotated copy read back as people and tools see it. Values come
//! back with calamine; fills and notes, which calamine does not expose, from the archive's own
//! parts (the sheet's cell styles, `styles.xml`, `comments1.xml`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use calamine::{open_workbook_auto, Data, Reader as _};
use custbulk::annotate::Annotator;
use custbulk::pipeline::{Input, Pipeline};
use custbulk::read::column_letter;
use custbulk::validate::coerce::luhn;
use custbulk::validate::{Checked, Problem, Severity, ValidateOptions};
use rust_xlsxwriter::Workbook;
use serde_json::Value;

use crate::util::{stderr, Workdir};

const RED: &str = "FFFFC7CE";
const AMBER: &str = "FFFFEB9C";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A Luhn-valid SIRET for `n`, and one with its last digit wrong.
fn siret(n: u64) -> String {
    let payload = format!("{:013}", 4_000_000_000_000 + n * 7);
    (0..10)
        .map(|c| format!("{payload}{c}"))
        .find(|s| luhn(s))
        .unwrap()
}

fn bad_siret(n: u64) -> String {
    let mut s = siret(n);
    let last = s.pop().unwrap().to_digit(10).unwrap();
    s.push(char::from_digit((last + 1) % 10, 10).unwrap());
    s
}

/// A workbook with one sheet: every cell text, except numbers given as `#1000`.
fn write_xlsx(path: &Path, sheet: &str, rows: &[Vec<String>]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v.strip_prefix('#').and_then(|n| n.parse::<f64>().ok()) {
                Some(n) => ws.write_number(r as u32, c as u16, n).unwrap(),
                None if v.is_empty() => ws,
                None => ws.write_string(r as u32, c as u16, v).unwrap(),
            };
        }
    }
    wb.save(path).unwrap();
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// `custbulk validate FILE --format json` (plus `extra` flags): exit code and summary.
fn validate(wd: &Workdir, file: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["validate", file.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = wd.run(&args);
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code().unwrap(), json)
}

/// One part of an XLSX archive as text.
fn part(xlsx: &Path, name: &str) -> Option<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(xlsx).unwrap()).unwrap();
    let mut file = zip.by_name(name).ok()?;
    let mut s = String::new();
    file.read_to_string(&mut s).unwrap();
    Some(s)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// What an annotated archive says about its first sheet's cells.
struct Marks {
    /// Cell reference → fill colour, for every cell with a fill.
    fills: BTreeMap<String, String>,
    /// Cell reference → note text.
    notes: BTreeMap<String, String>,
}

fn marks(xlsx: &Path) -> Marks {
    // styles.xml: the fill colour of each cell style.
    let styles = part(xlsx, "xl/styles.xml").expect("styles.xml");
    let fills_xml = &styles[styles.find("<fills").unwrap()..styles.find("</fills>").unwrap()];
    let fill_colours: Vec<Option<String>> = fills_xml
        .split("<fill>")
        .skip(1)
        .map(|f| attr(f, "fgColor rgb"))
        .collect();
    let xfs = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
    let style_fill: Vec<Option<String>> = xfs
        .split("<xf ")
        .skip(1)
        .map(|xf| {
            let id: usize = attr(xf, "fillId").unwrap().parse().unwrap();
            fill_colours[id].clone()
        })
        .collect();

    // Cells name their place, or follow the previous cell of their row (`r` is optional).
    let sheet = part(xlsx, "xl/worksheets/sheet1.xml").expect("sheet1.xml");
    let data = &sheet[sheet.find("<sheetData>").unwrap()..sheet.find("</sheetData>").unwrap()];
    let mut fills = BTreeMap::new();
    for row in data.split("<row ").skip(1) {
        let number = attr(&row[..row.find('>').unwrap()], "r").unwrap();
        let mut col = None;
        for c in row.split("<c ").skip(1) {
            let head = &c[..c.find('>').unwrap()];
            let here = match attr(head, "r") {
                Some(r) => column_index(r.trim_end_matches(|c: char| c.is_ascii_digit())),
                None => col.map_or(0, |c| c + 1),
            };
            col = Some(here);
            if let Some(s) = attr(head, "s") {
                if let Some(colour) = &style_fill[s.parse::<usize>().unwrap()] {
                    fills.insert(format!("{}{number}", column_letter(here)), colour.clone());
                }
            }
        }
    }

    let mut notes = BTreeMap::new();
    if let Some(comments) = part(xlsx, "xl/comments1.xml") {
        for c in comments.split("<comment ").skip(1) {
            let r = attr(c, "ref").unwrap();
            let t = &c[c.find("<t>").or_else(|| c.find("<t ")).unwrap()..];
            let text = &t[t.find('>').unwrap() + 1..t.find("</t>").unwrap()];
            notes.insert(r, unescape(text));
        }
    }
    Marks { fills, notes }
}

/// The value of `name="..."` in `xml`.
fn attr(xml: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = xml.find(&key)? + key.len();
    Some(xml[at..at + xml[at..].find('"')?].to_string())
}

/// The first sheet's name and cells by (row, column), 1-based row and 0-based column as
/// the annotated file holds them.
fn cells(xlsx: &Path) -> (Vec<String>, BTreeMap<(u32, usize), Data>) {
    let mut wb = open_workbook_auto(xlsx).unwrap();
    let names = wb.sheet_names();
    let range = wb.worksheet_range(&names[0]).unwrap();
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut out = BTreeMap::new();
    for (r, c, v) in range.used_cells() {
        out.insert((r0 + r as u32 + 1, c0 as usize + c), v.clone());
    }
    (names, out)
}

fn text(cells: &BTreeMap<(u32, usize), Data>, row: u32, col: usize) -> String {
    match cells.get(&(row, col)) {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(other) => panic!("row {row} column {col}: {other:?} is not text"),
    }
}

/// The input's rows as custbulk reads them: (row number, cells).
fn input_rows(file: &Path) -> Vec<(u32, Vec<String>)> {
    let input = Input {
        file: file.to_path_buf(),
        ..Input::default()
    };
    let mut pipeline = Pipeline::open(&input, &ValidateOptions::default()).unwrap();
    let mut row = Checked::new();
    let mut out = Vec::new();
    while pipeline.next(&mut row).unwrap() {
        if !row.blank_row {
            out.push((row.row, row.cells.clone()));
        }
    }
    out
}

/// `A` → 0, `AB` → 27.
fn column_index(letters: &str) -> usize {
    letters
        .bytes()
        .fold(0usize, |n, b| n * 26 + (b - b'A' + 1) as usize)
        - 1
}

/// The letter a column of the input has in the annotated copy (one to the right).
fn shifted(letter: &str) -> String {
    column_letter(column_index(letter) + 1)
}

/// The generic promise: every problem of the input sits on its cell in the annotated copy
/// (note with the message, red or amber fill), no other cell is marked, every row with a
/// problem has its `Problems` cell, and every value reads back as custbulk read it.
fn assert_annotated(wd: &Workdir, input: &Path, annotated: &Path) -> Value {
    let (_, report) = validate(wd, input, &[]);
    let problems = report["problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    let m = marks(annotated);
    let (_, got) = cells(annotated);

    let mut want_notes: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut problem_rows: BTreeMap<u64, bool> = BTreeMap::new();
    for p in problems {
        let row = p["row"].as_u64().unwrap();
        let error = p["severity"] == "error";
        *problem_rows.entry(row).or_default() |= error;
        let column = p["column"].as_str().unwrap();
        if !column.is_empty() {
            want_notes
                .entry(format!("{}{row}", shifted(column)))
                .or_default()
                .push(p);
        }
    }
    for (cell, ps) in &want_notes {
        let note = m
            .notes
            .get(cell)
            .unwrap_or_else(|| panic!("no note on {cell}"));
        for p in ps {
            let message = p["message"].as_str().unwrap();
            assert!(note.contains(message), "{cell}: {note:?} lacks {message:?}");
        }
        let colour = if ps.iter().any(|p| p["severity"] == "error") {
            RED
        } else {
            AMBER
        };
        assert_eq!(
            m.fills.get(cell).map(String::as_str),
            Some(colour),
            "{cell}"
        );
    }
    let noted: BTreeSet<&String> = m.notes.keys().collect();
    assert_eq!(
        noted,
        want_notes.keys().collect(),
        "notes on exactly the flagged cells"
    );
    let data_fills: BTreeSet<&String> = m.fills.keys().filter(|r| !r.starts_with("A")).collect();
    assert_eq!(
        data_fills,
        want_notes.keys().collect(),
        "fills on exactly the flagged cells"
    );

    for (&row, &error) in &problem_rows {
        let summary = text(&got, row as u32, 0);
        assert!(!summary.is_empty(), "row {row} has a Problems cell");
        let colour = if error { RED } else { AMBER };
        assert_eq!(
            m.fills.get(&format!("A{row}")).map(String::as_str),
            Some(colour)
        );
    }

    for (number, row) in input_rows(input) {
        if !problem_rows.contains_key(&(number as u64)) {
            assert_eq!(text(&got, number, 0), "", "row {number} has no problems");
        }
        for (c, value) in row.iter().enumerate() {
            assert_eq!(
                &text(&got, number, c + 1),
                value,
                "row {number}, column {c}"
            );
        }
    }
    report
}

/// The known-problems workbook of the first tests: header on row 1, a blank row 4.
fn clients(wd: &Workdir) -> PathBuf {
    let path = wd.path("clients.xlsx");
    write_xlsx(
        &path,
        "Clients",
        &[
            row(&[
                "Raison sociale",
                "Code postal",
                "N° SIRET",
                "Capital social",
                "Nom (arabe)",
                "Ville",
            ]),
            row(&[
                "Boulangerie Martin",
                "01000",
                &siret(1),
                "2 000 000",
                "مخبزة مارتن",
                "Bourg-en-Bresse",
            ]),
            row(&[
                "Garage Dupont",
                "75011",
                &bad_siret(2),
                "#1000",
                "",
                "Paris",
            ]),
            row(&[]),
            row(&["", "69002", &siret(3), "-5", "Boulangerie", "Lyon"]),
            row(&["Café de la Gare", "06000", &siret(1), "", "", "Nice"]),
            row(&[
                "Épicerie Benali",
                "13001",
                &siret(5),
                "",
                "بقالة بنعلي",
                "Marseille",
            ]),
        ],
    );
    path
}

#[test]
fn each_problem_is_on_its_cell_with_a_note_and_a_fill() {
    let wd = Workdir::new();
    let input = clients(&wd);
    let out = wd.run(&["validate", "clients.xlsx", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let annotated = wd.path("annotated.xlsx");
    assert_annotated(&wd, &input, &annotated);

    let (names, got) = cells(&annotated);
    assert_eq!(names, ["Clients", "Summary"]);
    let header: Vec<String> = (0..7).map(|c| text(&got, 1, c)).collect();
    assert_eq!(
        header,
        [
            "Problems",
            "Raison sociale",
            "Code postal",
            "N° SIRET",
            "Capital social",
            "Nom (arabe)",
            "Ville"
        ]
    );
    // Text stays text: the zip code keeps its zero, the number cell reads as typed.
    assert_eq!(got[&(2, 2)], Data::String("01000".into()));
    assert_eq!(got[&(2, 5)], Data::String("مخبزة مارتن".into()));
    assert_eq!(got[&(3, 4)], Data::String("1000".into()));
    // The blank row stays a blank row, so row numbers are the input's.
    assert!(got.keys().all(|(r, _)| *r != 4));
    assert_eq!(text(&got, 5, 3), siret(3));

    let m = marks(&annotated);
    // The mistyped SIRET, with the expected form from the schema.
    let note = &m.notes["D3"];
    assert!(note.starts_with("Error: "), "{note}");
    assert!(note.contains("check digit"), "{note}");
    assert!(
        note.contains(
            "Expected: French establishment number: 14 digits with a valid Luhn check digit"
        ),
        "{note}"
    );
    // A required name that is missing: the empty cell itself is red.
    assert_eq!(m.fills["B5"], RED);
    assert!(m.notes["B5"].contains("name is required"));
    assert_eq!(m.fills["E5"], RED);
    assert_eq!(m.fills["F5"], AMBER);
    assert!(m.notes["F5"].starts_with("Warning: "));
    assert!(m.notes["D6"].contains("already appears on row 2"));

    assert_eq!(text(&got, 2, 0), "");
    assert!(text(&got, 3, 0).starts_with("ERROR N° SIRET: "));
    let row5 = text(&got, 5, 0);
    for part in [
        "ERROR Raison sociale: name is required",
        "ERROR Capital social: \"-5\" is negative",
        "WARNING Nom (arabe): \"Boulangerie\" has no Arabic letters",
    ] {
        assert!(row5.contains(part), "{row5}");
    }

    // The sheet opens filtered and frozen on its header.
    let sheet = part(&annotated, "xl/worksheets/sheet1.xml").unwrap();
    assert!(sheet.contains(r#"<autoFilter ref="A1:G7"/>"#), "{sheet}");
    assert!(sheet.contains(r#"<pane ySplit="1" topLeftCell="A2""#));
    // Nothing but the annotated copy is left in the directory.
    let mut files: Vec<String> = std::fs::read_dir(wd.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["annotated.xlsx", "clients.xlsx"]);
}

#[test]
fn fixing_the_red_cells_gives_a_file_with_no_errors() {
    let wd = Workdir::new();
    clients(&wd);
    let out = wd.run(&["validate", "clients.xlsx", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1));

    // As a person would: open the annotated copy, fix the flagged cells, save it as it is,
    // the Problems column and the Summary sheet included.
    let (_, mut got) = cells(&wd.path("annotated.xlsx"));
    let fixes = [
        ((3, 3), siret(2)),
        ((5, 1), "Menuiserie Lefèvre".to_string()),
        ((5, 4), "5000".to_string()),
        ((6, 3), siret(6)),
    ];
    for ((r, c), v) in fixes {
        got.insert((r, c), Data::String(v));
    }
    let fixed = wd.path("fixed.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Clients").unwrap();
    for ((r, c), v) in &got {
        if let Data::String(s) = v {
            ws.write_string(r - 1, *c as u16, s).unwrap();
        }
    }
    wb.add_worksheet().set_name("Summary").unwrap();
    wb.save(&fixed).unwrap();

    let (code, report) = validate(&wd, &fixed, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["errors"], 0);
    assert_eq!(
        report["warnings"], 1,
        "the Arabic warning was left: {report:#}"
    );
    assert_eq!(report["rows"], 5);
    assert_eq!(report["ignored"], serde_json::json!(["Problems"]));
    assert_eq!(report["unmapped"], serde_json::json!([]));
}

#[test]
fn the_annotated_copy_validates_like_its_input() {
    let wd = Workdir::new();
    let input = clients(&wd);
    assert_eq!(
        wd.run(&["validate", "clients.xlsx", "--annotate", "a.xlsx"])
            .status
            .code(),
        Some(1)
    );
    let key = |r: &Value| -> Vec<(u64, String, String, String)> {
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["row"].as_u64().unwrap(),
                    p["field"].as_str().unwrap().to_string(),
                    p["severity"].as_str().unwrap().to_string(),
                    p["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (_, before) = validate(&wd, &input, &[]);
    let (code, after) = validate(&wd, &wd.path("a.xlsx"), &[]);
    assert_eq!(code, 1);
    assert_eq!(key(&before), key(&after));
    assert_eq!(after["blank_rows"], 1);

    // Annotating the annotated copy gives the same copy: the old Problems column is replaced.
    assert_eq!(
        wd.run(&["validate", "a.xlsx", "--annotate", "b.xlsx"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(cells(&wd.path("a.xlsx")), cells(&wd.path("b.xlsx")));
    assert_eq!(
        marks(&wd.path("a.xlsx")).notes,
        marks(&wd.path("b.xlsx")).notes
    );
}

#[test]
fn csv_input_with_a_blank_line_and_awkward_text() {
    let wd = Workdir::new();
    let input = wd.write(
        "clients.csv",
        format!(
            "Nom;Code postal;Ville;Contact 1 Email;SIRET\n\
             Boulangerie Martin;01000;Bourg-en-Bresse;jean@example.fr;{}\n\
             Garage Dupont;75011;Paris;pas-un-email;\n\
             \n\
             \"Café \"\"Le Zinc\"\" & fils\";69002;  Lyon ;<b>x</b>@example;\n\
             Épicerie_x0041_;13001;Marseille;;123\n",
            siret(1)
        ),
    );
    let out = wd.run(&["validate", "clients.csv", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let annotated = wd.path("annotated.xlsx");
    assert_annotated(&wd, &input, &annotated);

    let (names, got) = cells(&annotated);
    assert_eq!(names, ["Annotated", "Summary"]);
    assert_eq!(text(&got, 5, 1), "Café \"Le Zinc\" & fils");
    assert_eq!(text(&got, 5, 3), "  Lyon ", "spaces as typed");
    assert_eq!(text(&got, 6, 1), "Épicerie_x0041_");
    assert_eq!(text(&got, 2, 2), "01000");
    let m = marks(&annotated);
    assert!(m.notes["E3"].contains("\"pas-un-email\" is not an e-mail address"));
    // The e-mail message already gives the form; no JSON help for a contact column.
    assert!(!m.notes["E3"].contains("Expected"), "{}", m.notes["E3"]);
    assert!(m.notes["F6"].contains("\"123\" is not 14 digits"));
}

#[test]
fn office_suite_files_keep_their_sheet_and_header_row() {
    for name in [
        "clients-libreoffice.ods",
        "clients-libreoffice.xls",
        "clients-libreoffice.xlsx",
    ] {
        let wd = Workdir::new();
        let input = data(name);
        let out = wd.run(&[
            "validate",
            input.to_str().unwrap(),
            "--annotate",
            "annotated.xlsx",
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let annotated = wd.path("annotated.xlsx");
        let before = assert_annotated(&wd, &input, &annotated);

        // The header stays on row 3, under the blank place of the title row.
        let (names, got) = cells(&annotated);
        assert_eq!(names[0], "Clients", "{name}");
        assert_eq!(text(&got, 3, 0), "Problems", "{name}");
        assert!(got.keys().all(|(r, _)| *r >= 3), "{name}");
        let (code, after) = validate(&wd, &annotated, &[]);
        assert_eq!(code, 1);
        assert_eq!(after["header_row"], before["header_row"], "{name}");
        assert_eq!(after["errors"], before["errors"], "{name}");
        assert_eq!(after["warnings"], before["warnings"], "{name}");
    }
}

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
        &row(&["old", "Boulangerie Martin", "Lyon", "failed", ""]),
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
        &row(&["old", "", "Paris", "", ""]),
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
        a.row(r, &row(&["Martin", "1"]), std::slice::from_ref(&bad), None)
            .unwrap();
    }
    drop(a);
    assert_eq!(std::fs::read_dir(wd.dir()).unwrap().count(), 0);
}
