//! Reading CSV files and workbooks as people's tools write them: the cells as the user sees them,
//! the user's row numbers, the header found under title rows, and a clear error (never a panic)
//! for files that cannot be read.

use std::path::{Path, PathBuf};

use custbulk::read::{self, column_letter, Format, ReadError, ReadOptions, Row, Table};
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};

// A path attribute so this file also builds as its own test target (Cargo autotests).
#[path = "read/fuzz.rs"]
mod fuzz;

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

fn open(path: &Path) -> Table {
    read::open(path, &ReadOptions::default(), &is_header)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open_with(path: &Path, opts: &ReadOptions) -> Result<Table, ReadError> {
    read::open(path, opts, &is_header)
}

/// Every remaining row as (number, cells), through one reused `Row` as callers do.
fn rows(table: &mut Table) -> Vec<(u32, Vec<String>)> {
    let mut row = Row::new();
    let mut out = Vec::new();
    while table.next_row(&mut row).expect("row") {
        out.push((row.number, row.cells.clone()));
    }
    out
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// The workbook the sheet tests read: a title row, a blank row, the header on row 3, text and
/// number cells side by side, a `00000` format on 1000, a 14-digit number, booleans, dates,
/// Arabic text, a blank row inside the data, a stray cell right of the header, a second sheet.
pub fn write_fixture_xlsx(path: &Path) {
    let mut wb = Workbook::new();
    let zip = XlsxFormat::new().set_num_format("00000");
    let date = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let datetime = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = wb.add_worksheet();
    ws.set_name("Clients").unwrap();
    ws.write_string(0, 0, "Liste des clients — mars 2024")
        .unwrap();
    let headers = [
        "Nom",
        "Code postal",
        "SIRET",
        "Capital",
        "Société",
        "Créé le",
        "Nom (arabe)",
        " Ville ",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    ws.write_string(3, 0, "Boulangerie Martin").unwrap();
    ws.write_string(3, 1, "01000").unwrap();
    ws.write_number(3, 2, 55212022200013.0).unwrap();
    ws.write_number(3, 3, 1000.0).unwrap();
    ws.write_boolean(3, 4, true).unwrap();
    let d = ExcelDateTime::from_ymd(2024, 3, 1).unwrap();
    ws.write_datetime_with_format(3, 5, &d, &date).unwrap();
    ws.write_string(3, 6, "مخبزة مارتن").unwrap();
    ws.write_string(3, 7, "Bourg-en-Bresse").unwrap();

    ws.write_string(4, 0, "Garage Dupont").unwrap();
    ws.write_number_with_format(4, 1, 1000.0, &zip).unwrap();
    ws.write_string(4, 2, "55212022200013").unwrap();
    ws.write_number(4, 3, 2500.5).unwrap();
    ws.write_boolean(4, 4, false).unwrap();
    let dt = ExcelDateTime::from_ymd(2024, 3, 1)
        .unwrap()
        .and_hms(10, 30, 0)
        .unwrap();
    ws.write_datetime_with_format(4, 5, &dt, &datetime).unwrap();
    ws.write_string(4, 7, "Paris").unwrap();
    // Row 6 (index 5) stays blank.
    ws.write_string(6, 0, "Café de la Gare").unwrap();
    ws.write_number_with_format(6, 1, 75001.0, &zip).unwrap();
    ws.write_number(6, 3, -12.0).unwrap();
    ws.write_string(6, 9, "note en marge").unwrap();

    let notes = wb.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "Nom").unwrap();
    notes.write_string(0, 1, "Ville").unwrap();
    notes.write_string(1, 0, "Autre").unwrap();
    notes.write_string(1, 1, "Nice").unwrap();
    wb.save(path).unwrap();
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.xlsx");
    write_fixture_xlsx(&path);
    (dir, path)
}

#[test]
fn xlsx_cells_read_as_the_user_sees_them() {
    let (_dir, path) = fixture();
    let mut t = open(&path);
    assert_eq!(t.format, Format::Xlsx);
    assert_eq!(t.sheet.as_deref(), Some("Clients"));
    assert_eq!(t.sheet_names(), ["Clients", "Notes"]);
    assert_eq!(t.header_row, 3);
    assert_eq!(t.title_rows_skipped, 1);
    assert_eq!(t.headers[7], "Ville", "headers are trimmed");
    assert_eq!(t.headers.len(), 8);
    let mut row = Row::new();

    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.number, 4);
    assert_eq!(
        row.cells,
        strings(&[
            "Boulangerie Martin",
            "01000",
            "55212022200013",
            "1000",
            "true",
            "2024-03-01",
            "مخبزة مارتن",
            "Bourg-en-Bresse"
        ])
    );
    assert_eq!(row.ragged, None);

    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.number, 5);
    assert_eq!(
        row.cells,
        strings(&[
            "Garage Dupont",
            "01000",
            "55212022200013",
            "2500.5",
            "false",
            "2024-03-01T10:30:00",
            "",
            "Paris"
        ])
    );

    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.number, 6);
    assert!(row.is_blank(), "blank rows are returned, to be counted");
    assert_eq!(row.cells.len(), 8);

    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.number, 7);
    assert_eq!(
        &row.cells[..4],
        &strings(&["Café de la Gare", "75001", "", "-12"])
    );
    assert_eq!(
        row.cells.len(),
        10,
        "a stray cell right of the header is kept"
    );
    assert_eq!(row.cells[9], "note en marge");
    assert_eq!(row.ragged, Some(10));

    assert!(!t.next_row(&mut row).unwrap());
    assert!(!t.next_row(&mut row).unwrap(), "the end stays the end");
}

#[test]
fn xlsx_in_constant_memory_mode_uses_inline_strings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.write_string(0, 0, "name").unwrap();
    ws.write_string(0, 1, "zip").unwrap();
    for r in 1..=3000u32 {
        ws.write_string(r, 0, format!("Client {r}")).unwrap();
        ws.write_string(r, 1, format!("{:05}", r)).unwrap();
    }
    wb.save(&path).unwrap();
    let mut t = open(&path);
    let all = rows(&mut t);
    assert_eq!(all.len(), 3000);
    assert_eq!(all[0], (2, strings(&["Client 1", "00001"])));
    assert_eq!(all[2999], (3001, strings(&["Client 3000", "03000"])));
}

#[test]
fn sheet_by_name_index_and_unknown() {
    let (_dir, path) = fixture();
    for asked in ["Notes", "notes", "2"] {
        let opts = ReadOptions {
            sheet: Some(asked.into()),
            ..Default::default()
        };
        let mut t = open_with(&path, &opts).unwrap();
        assert_eq!(t.sheet.as_deref(), Some("Notes"), "asked {asked}");
        assert_eq!(t.headers, strings(&["Nom", "Ville"]));
        assert_eq!(rows(&mut t), vec![(2, strings(&["Autre", "Nice"]))]);
    }
    let opts = ReadOptions {
        sheet: Some("Feuil1".into()),
        ..Default::default()
    };
    let err = open_with(&path, &opts).unwrap_err();
    assert!(matches!(err, ReadError::UnknownSheet { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("clients.xlsx"), "{msg}");
    assert!(msg.contains("\"Feuil1\""), "{msg}");
    assert!(msg.contains("\"Clients\", \"Notes\""), "{msg}");
    let opts = ReadOptions {
        sheet: Some("3".into()),
        ..Default::default()
    };
    assert!(matches!(
        open_with(&path, &opts),
        Err(ReadError::UnknownSheet { .. })
    ));
}

#[test]
fn header_row_option_overrides_detection() {
    let (_dir, path) = fixture();
    let opts = ReadOptions {
        header_row: Some(4),
        ..Default::default()
    };
    let mut t = open_with(&path, &opts).unwrap();
    assert_eq!(t.header_row, 4);
    assert_eq!(t.headers[0], "Boulangerie Martin");
    assert_eq!(t.title_rows_skipped, 2);
    assert_eq!(rows(&mut t)[0].0, 5);

    let blank = ReadOptions {
        header_row: Some(2),
        ..Default::default()
    };
    let err = open_with(&path, &blank).unwrap_err();
    assert!(err.to_string().contains("header row 2 is blank"), "{err}");
    let past = ReadOptions {
        header_row: Some(99),
        ..Default::default()
    };
    let err = open_with(&path, &past).unwrap_err();
    assert!(err.to_string().contains("past the last row"), "{err}");
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
fn csv_windows_1252_semicolon() {
    let mut t = open(&data("clients-windows1252.csv"));
    assert_eq!(t.encoding, Some("windows-1252"));
    assert_eq!(t.delimiter, Some(b';'));
    assert_eq!(t.format, Format::Csv);
    assert_eq!(t.sheet, None);
    assert!(t.sheet_names().is_empty());
    assert_eq!(t.headers[4], "Société");
    let all = rows(&mut t);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].0, 2);
    assert_eq!(all[0].1[1], "01000");
    assert_eq!(all[0].1[3], "1 000 €");
    assert_eq!(all[1].1[0], "Crêperie Françoise");
    assert_eq!(all[2].1[0], "Garçon & Fils");
    assert_eq!(all[2].1[2], "Lyon à côté");
}

#[test]
fn csv_encoding_option_overrides_detection() {
    let opts = ReadOptions {
        encoding: Some("latin1".into()),
        ..Default::default()
    };
    let t = open_with(&data("clients-windows1252.csv"), &opts).unwrap();
    assert_eq!(t.encoding, Some("windows-1252"));
    assert_eq!(t.headers[4], "Société");

    let bad = ReadOptions {
        encoding: Some("klingon".into()),
        ..Default::default()
    };
    let err = open_with(&data("clients-windows1252.csv"), &bad).unwrap_err();
    assert!(matches!(err, ReadError::UnknownEncoding { .. }), "{err:?}");
    assert!(err.to_string().contains("klingon"));
}

#[test]
fn csv_utf8_bom_crlf_and_quoted_newlines() {
    let mut t = open(&data("clients-utf8-bom.csv"));
    assert_eq!(t.encoding, Some("UTF-8"));
    assert_eq!(t.delimiter, Some(b','));
    assert_eq!(
        t.headers[0], "Nom",
        "the BOM is not part of the first header"
    );
    let all = rows(&mut t);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0],
        (
            2,
            strings(&[
                "Boulangerie \"Le Fournil\"",
                "12 rue de la Paix\r\nBâtiment B",
                "01000",
                "مخبزة"
            ])
        )
    );
    assert_eq!(all[1].0, 3, "a quoted newline does not make two rows");
    assert_eq!(all[1].1[0], "Café, Bar");
    assert_eq!(all[2].0, 4);
    assert_eq!(all[2].1[1], "Zone industrielle\r\nLot 4\r\nBP 12");
    assert_eq!(all[2].1[3], "");
}

#[test]
fn csv_tab_and_pipe_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sep) in [("tab.tsv", "\t"), ("pipe.txt", "|"), ("comma.csv", ",")] {
        let path = dir.path().join(name);
        let text = format!("Nom{sep}Ville{sep}Code postal\nMartin{sep}Lyon{sep}69002\n");
        std::fs::write(&path, text).unwrap();
        let mut t = open(&path);
        assert_eq!(t.delimiter, Some(sep.as_bytes()[0]), "{name}");
        assert_eq!(t.headers, strings(&["Nom", "Ville", "Code postal"]));
        assert_eq!(
            rows(&mut t),
            vec![(2, strings(&["Martin", "Lyon", "69002"]))]
        );
    }
    let path = dir.path().join("forced.csv");
    std::fs::write(&path, "Nom;Ville,x\nMartin;Lyon,y\n").unwrap();
    let opts = ReadOptions {
        delimiter: Some(b','),
        ..Default::default()
    };
    let t = open_with(&path, &opts).unwrap();
    assert_eq!(t.headers, strings(&["Nom;Ville", "x"]));
}

#[test]
fn csv_title_rows_blank_lines_and_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("titles.csv");
    let text = "Export clients;;\r\nGénéré le 01/03/2024;;\r\n\r\nNom;Ville;Code postal\r\nA;Lyon;69002\r\n\r\n\r\n\"B\nbis\";Paris;75001\r\nC;Nice;06000\r\n";
    std::fs::write(&path, text).unwrap();
    let mut t = open(&path);
    assert_eq!(t.header_row, 4);
    assert_eq!(t.title_rows_skipped, 2);
    let numbers: Vec<u32> = rows(&mut t).iter().map(|r| r.0).collect();
    assert_eq!(numbers, vec![5, 6, 7, 8, 9]);

    let lf = dir.path().join("lf.csv");
    std::fs::write(&lf, text.replace("\r\n", "\n")).unwrap();
    let mut t = open(&lf);
    assert_eq!(t.header_row, 4);
    let got: Vec<(u32, bool)> = rows(&mut t)
        .iter()
        .map(|r| (r.0, r.1.iter().all(|c| c.is_empty())))
        .collect();
    assert_eq!(
        got,
        vec![(5, false), (6, true), (7, true), (8, false), (9, false)]
    );
}

#[test]
fn csv_ragged_rows_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ragged.csv");
    std::fs::write(
        &path,
        "Nom,Ville,Code postal\nA,Lyon\nB,Paris,75001,extra\nC,Nice,06000,\n",
    )
    .unwrap();
    let mut t = open(&path);
    let mut row = Row::new();
    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.cells, strings(&["A", "Lyon", ""]));
    assert_eq!(row.ragged, Some(2));
    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.cells, strings(&["B", "Paris", "75001", "extra"]));
    assert_eq!(row.ragged, Some(4));
    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.cells, strings(&["C", "Nice", "06000"]));
    assert_eq!(
        row.ragged, None,
        "a trailing empty field is not worth a warning"
    );
}

#[test]
fn csv_utf16_from_excel_unicode_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unicode.txt");
    let mut bytes = vec![0xFF, 0xFE];
    for u in "Nom\tVille\r\nÉlise\tالرباط\r\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let mut t = open(&path);
    assert_eq!(t.encoding, Some("UTF-16LE"));
    assert_eq!(t.delimiter, Some(b'\t'));
    assert_eq!(t.headers, strings(&["Nom", "Ville"]));
    assert_eq!(rows(&mut t), vec![(2, strings(&["Élise", "الرباط"]))]);
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
    assert!(t.notes[0].contains("really a XLSX file"), "{:?}", t.notes);
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

/// Files written by LibreOffice Calc (converted from the fixture above), committed so that tests
/// do not need LibreOffice. Regenerate with `cargo test regenerate_office_files -- --ignored`.
#[test]
fn office_suite_files() {
    for (name, format) in [
        ("clients-libreoffice.xlsx", Format::Xlsx),
        ("clients-libreoffice.ods", Format::Ods),
        ("clients-libreoffice.xls", Format::Xls),
    ] {
        let mut t = open(&data(name));
        assert_eq!(t.format, format, "{name}");
        assert_eq!(t.sheet_names(), ["Clients", "Notes"], "{name}");
        assert_eq!(t.header_row, 3, "{name}");
        assert_eq!(t.title_rows_skipped, 1, "{name}");
        assert_eq!(t.headers[5], "Créé le", "{name}");
        let all = rows(&mut t);
        let numbers: Vec<u32> = all.iter().map(|r| r.0).collect();
        assert_eq!(numbers, vec![4, 5, 6, 7], "{name}");
        let first = &all[0].1;
        assert_eq!(first[0], "Boulangerie Martin", "{name}");
        assert_eq!(first[1], "01000", "{name}: text stays text");
        assert_eq!(first[2], "55212022200013", "{name}: no exponent");
        assert_eq!(first[3], "1000", "{name}");
        // LibreOffice keeps booleans as numbers shown as TRUE/FALSE; ODS gives the number.
        let (yes, no) = if format == Format::Ods {
            ("1", "0")
        } else {
            ("true", "false")
        };
        assert_eq!(first[4], yes, "{name}");
        assert_eq!(first[5], "2024-03-01", "{name}");
        assert_eq!(first[6], "مخبزة مارتن", "{name}");
        let second = &all[1].1;
        assert_eq!(second[3], "2500.5", "{name}");
        assert_eq!(second[4], no, "{name}");
        assert_eq!(second[5], "2024-03-01T10:30:00", "{name}");
        // calamine exposes number formats for XLSX only: in XLS and ODS the `00000` format on
        // 1000 is lost, and the zip code reads as 1000.
        let padded = if format == Format::Xlsx {
            "01000"
        } else {
            "1000"
        };
        assert_eq!(second[1], padded, "{name}");
        assert!(all[2].1.iter().all(|c| c.is_empty()), "{name}");
        let sheet2 = ReadOptions {
            sheet: Some("notes".into()),
            ..Default::default()
        };
        let mut t = open_with(&data(name), &sheet2).unwrap();
        assert_eq!(
            rows(&mut t),
            vec![(2, strings(&["Autre", "Nice"]))],
            "{name}"
        );
    }
}

#[test]
#[ignore = "needs LibreOffice; rewrites tests/data/clients-libreoffice.*"]
fn regenerate_office_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("clients-libreoffice.xlsx");
    write_fixture_xlsx(&src);
    for ext in ["xls", "ods", "xlsx"] {
        let out = dir.path().join("out");
        let status = std::process::Command::new("soffice")
            .args(["--headless", "--convert-to", ext, "--outdir"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("soffice");
        assert!(status.success());
        std::fs::copy(
            out.join(format!("clients-libreoffice.{ext}")),
            data(&format!("clients-libreoffice.{ext}")),
        )
        .unwrap();
    }
}

#[test]
fn column_letters_as_spreadsheets_name_them() {
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(18), "S");
    assert_eq!(column_letter(26), "AA");
}

#[test]
fn errors_name_file_and_sheet() {
    let (_dir, path) = fixture();
    let opts = ReadOptions {
        sheet: Some("Notes".into()),
        header_row: Some(7),
        ..Default::default()
    };
    let err = open_with(&path, &opts).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("clients.xlsx, sheet \"Notes\""), "{msg}");
}
