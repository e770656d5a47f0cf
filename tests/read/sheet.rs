//! Workbooks: cells as the user sees them, sheet choice, header rows, and files as LibreOffice
//! writes them.

use std::path::{Path, PathBuf};

use custbulk::read::{Format, ReadError, ReadOptions, Row};
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};

use super::{data, open, open_with, rows, strings};

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

pub fn fixture() -> (tempfile::TempDir, PathBuf) {
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
        row.cells.iter().take(4).collect::<Vec<_>>(),
        ["Café de la Gare", "75001", "", "-12"]
    );
    assert_eq!(
        row.cells.len(),
        10,
        "a stray cell right of the header is kept"
    );
    assert_eq!(&row.cells[9], "note en marge");
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
        // LibreOffice keeps booleans as numbers shown as TRUE/FALSE: read as shown.
        let (yes, no) = ("true", "false");
        assert_eq!(first[4], yes, "{name}");
        assert_eq!(first[5], "2024-03-01", "{name}");
        assert_eq!(first[6], "مخبزة مارتن", "{name}");
        let second = &all[1].1;
        assert_eq!(second[3], "2500.5", "{name}");
        assert_eq!(second[4], no, "{name}");
        assert_eq!(second[5], "2024-03-01T10:30:00", "{name}");
        // A `00000` format on 1000 reads as shown: 01000.
        assert_eq!(second[1], "01000", "{name}");
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

/// Codes shown with leading zeros in every way a sheet stores numbers: whole numbers side by
/// side (XLS keeps them as one MULRK record), alone (RK), too large for RK (NUMBER), from a
/// formula, and with a text prefix in the format.
fn write_codes_xlsx(path: &Path) {
    let mut wb = Workbook::new();
    let zip = XlsxFormat::new().set_num_format("00000");
    let long = XlsxFormat::new().set_num_format("000000000000");
    let prefixed = XlsxFormat::new().set_num_format("\"FR-\"000");
    let ws = wb.add_worksheet();
    ws.set_name("Codes").unwrap();
    for (c, h) in ["Nom", "CP", "CP livraison", "Code", "Compte"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Martin").unwrap();
    ws.write_number_with_format(1, 1, 1000.0, &zip).unwrap();
    ws.write_number_with_format(1, 2, 6000.0, &zip).unwrap();
    ws.write_number_with_format(1, 3, 7.0, &prefixed).unwrap();
    ws.write_number_with_format(1, 4, 1234567890.0, &long)
        .unwrap();
    ws.write_string(2, 0, "Durand").unwrap();
    ws.write_number_with_format(2, 1, 75001.0, &zip).unwrap();
    // The result is stored too: LibreOffice does not recalculate such files on opening.
    let formula = rust_xlsxwriter::Formula::new("=B2+1").set_result("1001");
    ws.write_formula_with_format(2, 2, formula, &zip).unwrap();
    ws.write_number(2, 4, 42.0).unwrap();
    wb.save(path).unwrap();
}

#[test]
#[ignore = "needs LibreOffice; rewrites tests/data/clients-libreoffice.* and codes-libreoffice.*"]
fn regenerate_office_files() {
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients-libreoffice.xlsx");
    write_fixture_xlsx(&clients);
    let codes = dir.path().join("codes-libreoffice.xlsx");
    write_codes_xlsx(&codes);
    for src in [clients, codes] {
        let stem = src.file_stem().unwrap().to_str().unwrap().to_string();
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
                out.join(format!("{stem}.{ext}")),
                data(&format!("{stem}.{ext}")),
            )
            .unwrap();
        }
    }
}

/// What a person sees in LibreOffice is what is read, whichever format it saved: `00000` on
/// 1000 is 01000 whether the number sits beside others, alone, is large or comes from a formula.
#[test]
fn office_suite_files_keep_leading_zeros() {
    for ext in ["xlsx", "xls", "ods"] {
        let name = format!("codes-libreoffice.{ext}");
        let mut t = open(&data(&name));
        assert_eq!(
            t.headers,
            ["Nom", "CP", "CP livraison", "Code", "Compte"],
            "{name}"
        );
        assert_eq!(
            rows(&mut t),
            vec![
                (
                    2,
                    strings(&["Martin", "01000", "06000", "FR-007", "001234567890"])
                ),
                (3, strings(&["Durand", "75001", "01001", "", "42"])),
            ],
            "{name}"
        );
    }
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

#[test]
fn the_default_sheet_is_the_first_visible_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hidden.xlsx");
    let mut wb = Workbook::new();
    let lists = wb.add_worksheet();
    lists.set_name("Listes").unwrap();
    lists.write_string(0, 0, "oui").unwrap();
    lists.set_hidden(true);
    let clients = wb.add_worksheet();
    clients.set_name("Clients").unwrap();
    clients.set_active(true);
    clients.write_string(0, 0, "Nom").unwrap();
    clients.write_string(0, 1, "Ville").unwrap();
    wb.save(&path).unwrap();
    let t = open(&path);
    assert_eq!(t.sheet.as_deref(), Some("Clients"));
    assert_eq!(t.sheet_names(), ["Listes", "Clients"]);
}

/// A workbook whose first sheet is `first` (empty, or instructions), then a hidden sheet of
/// lists whose headers map, then the list itself on "Clients".
fn workbook_with_the_list_on_a_later_sheet(path: &Path, first: &[&str]) {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("Feuil1").unwrap();
    for (r, line) in first.iter().enumerate() {
        notes.write_string(r as u32, 0, *line).unwrap();
    }
    let lists = wb.add_worksheet();
    lists.set_name("Listes").unwrap();
    lists.write_row(0, 0, ["Ville", "Code postal"]).unwrap();
    lists.set_hidden(true);
    let clients = wb.add_worksheet();
    clients.set_name("Clients").unwrap();
    clients
        .write_row(0, 0, ["Raison sociale", "Ville"])
        .unwrap();
    clients.write_row(1, 0, ["Épicerie Zoé", "Lyon"]).unwrap();
    wb.save(path).unwrap();
}

/// An empty first sheet holds nothing to read: the first visible sheet whose headers map is
/// read instead, and said; a hidden sheet of lists is never taken for it.
#[test]
fn an_empty_first_sheet_gives_way_to_the_sheet_that_holds_the_list() {
    let wd = crate::util::Workdir::new();
    let path = wd.path("clients.xlsx");
    workbook_with_the_list_on_a_later_sheet(&path, &[]);
    let out = wd.run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let (said, warned) = (crate::util::stdout(&out), crate::util::stderr(&out));
    assert!(said.contains("sheet \"Clients\": 1 row checked"), "{said}");
    assert!(
        warned.contains("Sheet \"Feuil1\" is empty: sheet \"Clients\""),
        "{warned}"
    );
    // Asked for, the empty sheet is what is read.
    let out = wd.run(&["validate", path.to_str().unwrap(), "--sheet", "Feuil1"]);
    assert_eq!(out.status.code(), Some(3));
}

/// A first sheet of instructions is not read as the list, and the error names the sheet that
/// holds one.
#[test]
fn a_first_sheet_without_headers_names_the_sheet_that_has_them() {
    let wd = crate::util::Workdir::new();
    let path = wd.path("clients.xlsx");
    workbook_with_the_list_on_a_later_sheet(&path, &["Remplissez l'onglet Clients", "Merci"]);
    let out = wd.run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::util::stderr(&out);
    assert!(err.contains("sheet \"Feuil1\""), "{err}");
    assert!(err.contains("give --sheet \"Clients\""), "{err}");
}

#[test]
fn xlsx_formulas_read_as_their_cached_values() {
    use rust_xlsxwriter::Formula;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("formulas.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Nom", "Ville", "Capital", "Code postal"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_formula(
        1,
        0,
        Formula::new("=UPPER(\"martin\")").set_result("MARTIN"),
    )
    .unwrap();
    ws.write_formula(1, 1, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    ws.write_formula(1, 2, Formula::new("=500*2").set_result("1000"))
        .unwrap();
    ws.write_formula(1, 3, Formula::new("=TRUE()").set_result("TRUE"))
        .unwrap();
    wb.save(&path).unwrap();
    let mut t = open(&path);
    assert_eq!(
        rows(&mut t),
        vec![(2, strings(&["MARTIN", "#N/A", "1000", "true"]))]
    );
}

/// calamine streams style ids or formulas, not both: a workbook with a zero-padding format
/// (read through the style ids) still tells its formulas with no saved value.
#[test]
fn formulas_without_a_value_are_told_beside_zero_padded_codes() {
    use rust_xlsxwriter::Formula;
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written.xlsx");
    let mut wb = Workbook::new();
    let zip = XlsxFormat::new().set_num_format("00000");
    let ws = wb.add_worksheet();
    for (c, h) in ["Nom", "Code postal", "Ville"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Martin").unwrap();
    ws.write_number_with_format(1, 1, 1000.0, &zip).unwrap();
    ws.write_formula(1, 2, Formula::new("=A2")).unwrap();
    ws.write_string(2, 0, "Durand").unwrap();
    ws.write_number_with_format(2, 1, 75001.0, &zip).unwrap();
    ws.write_formula(2, 2, Formula::new("=A3").set_result("Paris"))
        .unwrap();
    wb.save(&written).unwrap();
    // As a tool that writes formulas without computing them leaves it: no <v> at all.
    let path = dir.path().join("uncomputed.xlsx");
    rewrite_member(&written, &path, "xl/worksheets/sheet1.xml", |xml| {
        xml.replace("<f>A2</f><v>0</v>", "<f>A2</f>")
    });
    let mut t = open(&path);
    let mut row = Row::new();
    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.cells, strings(&["Martin", "01000", ""]));
    assert_eq!(row.issues.len(), 1, "{:?}", row.issues);
    assert_eq!(row.issues[0].column, Some(2));
    assert!(row.issues[0]
        .message
        .contains("formula with no saved value"));
    assert!(t.next_row(&mut row).unwrap());
    assert_eq!(row.cells, strings(&["Durand", "75001", "Paris"]));
    assert!(row.issues.is_empty(), "{:?}", row.issues);
    assert!(!t.next_row(&mut row).unwrap());
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("1 formula cell has no saved value")),
        "{:?}",
        t.notes
    );
}

/// A copy of the zip at `from` with the text of `member` changed by `change`.
fn rewrite_member(from: &Path, to: &Path, member: &str, change: impl Fn(&str) -> String) {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut text = Vec::new();
        entry.read_to_end(&mut text).unwrap();
        if name == member {
            text = change(std::str::from_utf8(&text).unwrap()).into_bytes();
        }
        out.start_file(name, options).unwrap();
        out.write_all(&text).unwrap();
    }
    out.finish().unwrap();
}

/// A minimal ODS package around the given tables (`<table:table>` elements).
fn write_ods(path: &Path, tables: &str) {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
    );
    write_ods_package(
        path,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
        content.as_bytes(),
    );
}

/// An ODS package: its mimetype, a manifest listing the package and `content_entry` (the
/// manifest's entry of `content.xml`), and `content` as `content.xml`.
fn write_ods_package(path: &Path, content_entry: &str, content: &[u8]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>{content_entry}</manifest:manifest>"#
    )
    .unwrap();
    zip.start_file("content.xml", stored).unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap();
}

fn ods_text(text: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
    )
}

fn ods_number(value: &str, shown: &str, repeat: u32) -> String {
    format!(
        r#"<table:table-cell table:number-columns-repeated="{repeat}" office:value-type="float" office:value="{value}"><text:p>{shown}</text:p></table:table-cell>"#
    )
}

/// LibreOffice keeps a number's shown text beside its value: `00000` on 1000 shows 01000 and is
/// read so, a boolean shown VRAI reads true, through repeated rows and columns, covered cells and
/// gaps, on the chosen sheet only.
#[test]
fn ods_numbers_keep_their_leading_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.ods");
    let row = |cells: &[String]| format!("<table:table-row>{}</table:table-row>", cells.concat());
    let header = row(&[
        ods_text("Nom"),
        ods_text("CP"),
        ods_text("Code"),
        ods_text("Capital"),
    ]);
    let other = format!(
        r#"<table:table table:name="Autre">{header}{}</table:table>"#,
        row(&[ods_text("X"), ods_number("75001", "75001", 1)])
    );
    let repeated = format!(
        r#"<table:table-row table:number-rows-repeated="2">{}{}{}</table:table-row>"#,
        ods_text("Martin"),
        ods_number("1000", "01000", 2),
        ods_number("2500", "2 500", 1)
    );
    let gaps = row(&[
        r#"<table:covered-table-cell/>"#.to_string(),
        r#"<table:table-cell table:number-columns-repeated="2"/>"#.to_string(),
        ods_number("42", "00042", 1),
    ]);
    let plain = row(&[
        ods_text("Durand"),
        ods_number("1000", "1000", 1),
        ods_number("1", "VRAI", 1),
    ]);
    let clients = format!(
        r#"<table:table table:name="Clients">{header}{repeated}{gaps}{plain}</table:table>"#
    );
    write_ods(&path, &format!("{other}{clients}"));

    let opts = ReadOptions {
        sheet: Some("Clients".into()),
        ..Default::default()
    };
    let mut t = open_with(&path, &opts).unwrap();
    assert_eq!(t.format, Format::Ods);
    let all = rows(&mut t);
    assert_eq!(
        all,
        vec![
            (2, strings(&["Martin", "01000", "01000", "2500"])),
            (3, strings(&["Martin", "01000", "01000", "2500"])),
            (4, strings(&["", "", "", "00042"])),
            (5, strings(&["Durand", "1000", "true", ""])),
        ]
    );
    let mut t = open_with(&path, &ReadOptions::default()).unwrap();
    assert_eq!(rows(&mut t), vec![(2, strings(&["X", "75001", "", ""]))]);
}

/// LibreOffice's "Save with password" keeps an ODS a zip package, but its `content.xml` is
/// encrypted (AES), as its manifest's `encryption-data` says: the error says it is protected
/// and how to remove the password, not that the file is damaged.
#[test]
fn an_ods_saved_with_a_password_is_said_to_be_protected() {
    let wd = crate::util::Workdir::new();
    let path = wd.path("clients.ods");
    let ciphertext: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect();
    write_ods_package(
        &path,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" manifest:size="3000"><manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k" manifest:checksum="c2FsdA=="><manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc" manifest:initialisation-vector="c2FsdA=="/><manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:key-size="32" manifest:iteration-count="100000" manifest:salt="c2FsdA=="/></manifest:encryption-data></manifest:file-entry>"#,
        &ciphertext,
    );

    let out = wd.run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("clients.ods") && err.contains("protected by a password"),
        "{err}"
    );
    assert!(!err.contains("damaged"), "{err}");
}
