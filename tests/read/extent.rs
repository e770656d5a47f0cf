//! How many rows a file holds, as the reader tells it before reaching the end: the total a
//! progress bar shows for a file too large to read ahead.

use std::path::Path;

use custbulk::read::{Row, Table};
use rust_xlsxwriter::Workbook;

use super::{data, open};

/// Reads `n` rows, then what the reader says the file holds.
fn told_after(table: &mut Table, n: usize) -> Option<u64> {
    let mut row = Row::new();
    for _ in 0..n {
        assert!(table.next_row(&mut row).unwrap(), "the file has {n} rows");
    }
    table.extent().data_rows()
}

/// Every row to the end, and the last row's number.
fn last_row(table: &mut Table) -> u64 {
    let mut row = Row::new();
    let mut last = 0;
    while table.next_row(&mut row).unwrap() {
        last = row.number;
    }
    u64::from(last)
}

fn assert_near(told: Option<u64>, rows: u64, what: &str) {
    let told = told.unwrap_or_else(|| panic!("{what}: no estimate"));
    let off = told.abs_diff(rows) as f64 / rows as f64;
    assert!(off < 0.01, "{what}: told {told} rows, holds {rows}");
}

/// Rows of one length, as a generated list has: the file's size over its first bytes' rows is
/// then the count, to a row, whatever the reader's buffers hold ahead.
fn customers(n: usize, line: impl Fn(usize) -> String) -> String {
    let mut text = String::from("name;city;zip\n");
    for i in 0..n {
        text.push_str(&line(i));
    }
    text
}

#[test]
fn a_csv_file_tells_its_rows_from_its_size_long_before_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.csv");
    std::fs::write(
        &path,
        customers(20_000, |i| {
            format!("Client {i:06};Paris;{:05}\n", i % 100_000)
        }),
    )
    .unwrap();
    let mut t = open(&path);
    assert_near(told_after(&mut t, 2000), 20_000, "UTF-8 CSV");

    // Transcoded on the fly: the bytes are counted in the file's own encoding.
    let latin: Vec<u8> = customers(20_000, |i| format!("Société {i:06};Besançon;25000\n"))
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    std::fs::write(&path, latin).unwrap();
    let mut t = open(&path);
    assert_eq!(t.encoding, Some("windows-1252"));
    assert_near(told_after(&mut t, 2000), 20_000, "Windows-1252 CSV");
}

#[test]
fn json_and_ndjson_tell_their_records_from_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let record = |i: usize| format!("{{\"name\":\"Client {i:06}\",\"city\":\"Paris\"}}");
    let lines: Vec<String> = (0..20_000).map(record).collect();
    let ndjson = dir.path().join("clients.ndjson");
    std::fs::write(&ndjson, lines.join("\n") + "\n").unwrap();
    let mut t = open(&ndjson);
    assert_near(told_after(&mut t, 2000), 20_000, "NDJSON");

    let json = dir.path().join("clients.json");
    std::fs::write(&json, format!("[{}]", lines.join(",\n"))).unwrap();
    let mut t = open(&json);
    assert_near(told_after(&mut t, 2000), 20_000, "JSON array");
}

#[test]
fn a_workbook_tells_its_rows_from_the_sheet_it_declares() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.xlsx");
    write_xlsx(&path, 5000);
    let mut t = open(&path);
    assert_eq!(told_after(&mut t, 10), Some(5000), "XLSX <dimension>");

    // XLS and ODS sheets are loaded whole: their range says it, blank rows included.
    for name in ["clients-libreoffice.xls", "clients-libreoffice.ods"] {
        let mut t = open(&data(name));
        let told = t.extent().data_rows();
        let header = u64::from(t.header_row);
        assert_eq!(told, Some(last_row(&mut t) - header), "{name}");
    }
}

#[test]
fn a_file_too_small_to_tell_says_nothing_until_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet().write_string(0, 0, "name").unwrap();
    wb.save(&path).unwrap();
    let mut t = open(&path);
    assert_eq!(last_row(&mut t), 0);
    assert_eq!(t.extent().data_rows(), None, "a header alone holds no rows");
}

fn write_xlsx(path: &Path, rows: u32) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "name").unwrap();
    ws.write_string(0, 1, "city").unwrap();
    for r in 1..=rows {
        ws.write_string(r, 0, format!("Client {r}")).unwrap();
        ws.write_string(r, 1, "Paris").unwrap();
    }
    wb.save(path).unwrap();
}
