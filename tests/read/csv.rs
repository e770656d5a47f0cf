//! CSV files: delimiters, encodings, BOM, quoted newlines, title rows and the row numbers a
//! spreadsheet would show.

use custbulk::read::{Format, ReadError, ReadOptions, Row};

use super::{data, open, open_with, rows, strings};

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
fn csv_blank_lines_before_an_unterminated_last_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("lf.csv", "Nom;Ville\nA;B\n\n\nC;D"),
        ("crlf.csv", "Nom;Ville\r\nA;B\r\n\r\n\r\nC;D"),
        ("lead.csv", "\n\nNom;Ville\nA;B\n"),
        ("cr.csv", "Nom;Ville\rA;B\rC;D\r"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut t = open(&path);
        let numbers: Vec<u32> = rows(&mut t).iter().map(|r| r.0).collect();
        let expected: Vec<u32> = match name {
            "lf.csv" | "crlf.csv" => vec![2, 3, 4, 5],
            "lead.csv" => vec![4],
            _ => vec![2, 3],
        };
        assert_eq!(
            (t.header_row, numbers),
            (if name == "lead.csv" { 3 } else { 1 }, expected),
            "{name}"
        );
    }
}

/// A quote opened and never closed must not swallow the rest of a big file into one row.
#[test]
fn csv_unclosed_quote_is_an_error_not_a_giant_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quote.csv");
    let mut text = String::from("Nom;Ville\n\"Boulangerie;Lyon\n");
    let line = "Client sans histoire;Paris\n";
    while text.len() < 40 << 20 {
        text.push_str(line);
    }
    std::fs::write(&path, text).unwrap();
    let mut t = open(&path);
    let mut row = Row::new();
    let err = t.next_row(&mut row).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("quote.csv, row 2"), "{msg}");
    assert!(msg.contains("never closed"), "{msg}");
}

/// Detection looks at the first 64 KiB; a Windows-1252 field further down a UTF-8 file is
/// decoded as Windows-1252 instead of failing or turning into replacement characters, and
/// each such cell is an issue of its row, so it is looked at rather than imported as a guess.
#[test]
fn csv_late_windows_1252_field_in_a_utf8_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.csv");
    let mut bytes = b"Nom;Ville\n".to_vec();
    while bytes.len() < 70_000 {
        bytes.extend_from_slice("Société Générale;Paris\n".as_bytes());
    }
    bytes.extend_from_slice(b"Fran\xe7ois;Orl\xe9ans\n");
    std::fs::write(&path, bytes).unwrap();
    let mut t = open(&path);
    assert_eq!(t.encoding, Some("UTF-8"));
    let mut row = Row::new();
    let mut last = Row::new();
    let mut rows_before = 0;
    while t.next_row(&mut row).unwrap() {
        std::mem::swap(&mut row, &mut last);
        if row.number > 0 {
            // Every row before the last: UTF-8, no issue.
            assert!(row.issues.is_empty() && row.cells[0] == *"Société Générale");
            rows_before += 1;
        }
    }
    assert!(rows_before > 2000);
    assert_eq!(last.cells, ["François", "Orléans"]);
    let issues: Vec<Option<usize>> = last.issues.iter().map(|i| i.column).collect();
    assert_eq!(issues, [Some(0), Some(1)]);
    assert!(last.issues.iter().all(|i| i.error));
    assert!(
        last.issues[1].message.contains("(\\xE9)")
            && last.issues[1].message.contains("\"Orléans\""),
        "{}",
        last.issues[1].message
    );
}

/// The issue's file: 1,001 rows of `Société N,Orléans`, four bad bytes in row 500. Read as
/// Windows-1252 it turned every row into mojibake and validated "all valid"; it stays UTF-8,
/// and the bad bytes are an error on their row and column, with the encoding said.
#[test]
fn a_utf8_file_with_a_few_bad_bytes_stays_utf8_and_names_their_cell() {
    let w = crate::util::Workdir::new();
    let mut bytes = b"Nom,Ville\n".to_vec();
    for row in 2..=1002 {
        if row == 500 {
            bytes.extend_from_slice(b"Soci\xc3\xa9t\xc3\xa9 500,Orl\xe9ans\xa0\x80\x81\n");
        } else {
            bytes.extend_from_slice(format!("Société {row},Orléans\n").as_bytes());
        }
    }
    w.write("clients.csv", &bytes);
    let r = w.exec(&["validate", "clients.csv", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["encoding"], "UTF-8");
    assert_eq!(
        (v["rows"].as_u64(), v["invalid"].as_u64()),
        (Some(1001), Some(1))
    );
    let p = &v["problems"][0];
    assert_eq!(
        (p["row"].as_u64(), p["column"].as_str()),
        (Some(500), Some("B"))
    );
    assert_eq!(
        (p["header"].as_str(), p["field"].as_str()),
        (Some("Ville"), Some("city"))
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid UTF-8 bytes (\\xE9 \\xA0 \\x80 \\x81)"),
        "{p}"
    );
    let text = w.exec(&["validate", "clients.csv"]);
    assert!(
        text.stdout
            .contains("row 500, column B (Ville): invalid UTF-8 bytes"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("Read as UTF-8, \",\"-separated"),
        "{}",
        text.stdout
    );

    // A file in Windows-1252 throughout is still read as such, and says so.
    w.write("latin.csv", b"Nom;Ville\nSoci\xe9t\xe9;Orl\xe9ans\n");
    let r = w.exec(&["validate", "latin.csv", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["encoding"], "windows-1252");
}
