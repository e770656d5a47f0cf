//! `--annotate OUT.xlsx`: the annotated copy read back as people and tools see it. Values come
//! back with calamine; fills and notes, which calamine does not expose, from the archive's own
//! parts (the sheet's cell styles, `styles.xml`, `comments1.xml`).
//!
//! `copy` checks the copy against its input (CSV, XLSX, XLS, ODS) and the round trip after
//! fixing; `extras` the summary sheet, import outcomes, the notes' cap and failures.

mod copy;
mod extras;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use calamine::{open_workbook_auto, Data, Reader as _};
use custbulk::pipeline::{Input, Pipeline};
use custbulk::read::{column_letter, Cells};
use custbulk::validate::coerce::luhn;
use custbulk::validate::{Checked, ValidateOptions};
use rust_xlsxwriter::Workbook;
use serde_json::Value;

use crate::util::{stderr, Workdir};

pub const RED: &str = "FFFFC7CE";
pub const AMBER: &str = "FFFFEB9C";

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A Luhn-valid SIRET for `n`, and one with its last digit wrong.
pub fn siret(n: u64) -> String {
    let payload = format!("{:013}", 4_000_000_000_000 + n * 7);
    (0..10)
        .map(|c| format!("{payload}{c}"))
        .find(|s| luhn(s))
        .unwrap()
}

pub fn bad_siret(n: u64) -> String {
    let mut s = siret(n);
    let last = s.pop().unwrap().to_digit(10).unwrap();
    s.push(char::from_digit((last + 1) % 10, 10).unwrap());
    s
}

/// A workbook with one sheet: every cell text, except numbers given as `#1000`.
pub fn write_xlsx(path: &Path, sheet: &str, rows: &[Vec<String>]) {
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

pub fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// A row's cells as the annotator takes them.
pub fn row_cells(cells: &[&str]) -> Cells {
    cells.iter().collect()
}

/// `custbulk validate FILE --format json` (plus `extra` flags): exit code and summary.
pub fn validate(wd: &Workdir, file: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["validate", file.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = wd.run(&args);
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code().unwrap(), json)
}

/// One part of an XLSX archive as text.
pub fn part(xlsx: &Path, name: &str) -> Option<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(xlsx).unwrap()).unwrap();
    let mut file = zip.by_name(name).ok()?;
    let mut s = String::new();
    file.read_to_string(&mut s).unwrap();
    Some(s)
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// What an annotated archive says about its first sheet's cells.
pub struct Marks {
    /// Cell reference → fill colour, for every cell with a fill.
    pub fills: BTreeMap<String, String>,
    /// Cell reference → note text.
    pub notes: BTreeMap<String, String>,
    /// The cells whose text reads right to left (Excel's reading order 2).
    pub right_to_left: BTreeSet<String>,
}

pub fn marks(xlsx: &Path) -> Marks {
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
    let style_rtl: Vec<bool> = xfs
        .split("<xf ")
        .skip(1)
        .map(|xf| attr(xf, "readingOrder").as_deref() == Some("2"))
        .collect();

    // Cells name their place, or follow the previous cell of their row (`r` is optional).
    let sheet = part(xlsx, "xl/worksheets/sheet1.xml").expect("sheet1.xml");
    let data = &sheet[sheet.find("<sheetData>").unwrap()..sheet.find("</sheetData>").unwrap()];
    let mut fills = BTreeMap::new();
    let mut right_to_left = BTreeSet::new();
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
                let s = s.parse::<usize>().unwrap();
                let at = format!("{}{number}", column_letter(here));
                if style_rtl[s] {
                    right_to_left.insert(at.clone());
                }
                if let Some(colour) = &style_fill[s] {
                    fills.insert(at, colour.clone());
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
    Marks {
        fills,
        notes,
        right_to_left,
    }
}

/// The value of `name="..."` in `xml`.
pub fn attr(xml: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = xml.find(&key)? + key.len();
    Some(xml[at..at + xml[at..].find('"')?].to_string())
}

/// The first sheet's name and cells by (row, column), 1-based row and 0-based column as
/// the annotated file holds them.
pub fn cells(xlsx: &Path) -> (Vec<String>, BTreeMap<(u32, usize), Data>) {
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

pub fn text(cells: &BTreeMap<(u32, usize), Data>, row: u32, col: usize) -> String {
    match cells.get(&(row, col)) {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.clone(),
        Some(other) => panic!("row {row} column {col}: {other:?} is not text"),
    }
}

/// The input's rows as custbulk reads them: (row number, cells).
pub fn input_rows(file: &Path) -> Vec<(u32, Vec<String>)> {
    let input = Input {
        file: file.to_path_buf(),
        ..Input::default()
    };
    let mut pipeline = Pipeline::open(&input, &ValidateOptions::default()).unwrap();
    let mut row = Checked::new();
    let mut out = Vec::new();
    while pipeline.next(&mut row).unwrap() {
        if !row.blank_row {
            out.push((row.row, row.cells.to_vec()));
        }
    }
    out
}

/// `A` → 0, `AB` → 27.
pub fn column_index(letters: &str) -> usize {
    letters
        .bytes()
        .fold(0usize, |n, b| n * 26 + (b - b'A' + 1) as usize)
        - 1
}

/// The letter a column of the input has in the annotated copy (one to the right).
pub fn shifted(letter: &str) -> String {
    column_letter(column_index(letter) + 1)
}

/// The generic promise: every problem of the input sits on its cell in the annotated copy
/// (note with the message, red or amber fill), no other cell is marked, every row with a
/// problem has its `Problems` cell, and every value reads back as custbulk read it.
pub fn assert_annotated(wd: &Workdir, input: &Path, annotated: &Path) -> Value {
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
