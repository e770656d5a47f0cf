//! XLSX through rust_xlsxwriter in constant-memory mode: rows go to a temporary file as they
//! are written, so memory stays flat whatever the record count. A bold, frozen header with an
//! autofilter; every string is a text cell (so `01000`, a SIRET or `=1+1` stay exactly as
//! stored, never a number or a formula), booleans are boolean cells, numbers are number cells
//! when a double holds them exactly; the Arabic fields' cells read right to left. A sheet holds 1,048,575 records under its header; more
//! continue on "Customers (2)", and so on.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet, XlsxError};
use serde_json::Number;

use super::{close, output, Cell, Columns, RecordWriter, Written};
use crate::api::{record_id, Record};
use crate::schema::{self, Kind};

/// Rows in an Excel sheet, the header included.
pub const SHEET_ROWS: u32 = 1_048_576;

/// The largest integer a double holds exactly; larger ones are written as text.
const EXACT_IN_DOUBLE: u64 = 1 << 53;

pub struct XlsxWriter {
    workbook: Workbook,
    path: PathBuf,
    columns: Columns,
    header: Format,
    /// The columns of Arabic fields: their cells read right to left.
    right_to_left: Format,
    /// Rows per sheet, header included (a parameter so tests can fill a sheet quickly).
    sheet_rows: u32,
    sheet: usize,
    /// The next row to write in the current sheet.
    row: RowNum,
    records: u64,
}

impl XlsxWriter {
    /// A workbook for `path`; its row data is buffered in temporary files in `tempdir`.
    pub fn create(path: &Path, columns: Columns, tempdir: &Path) -> anyhow::Result<XlsxWriter> {
        Self::with_sheet_rows(path, columns, tempdir, SHEET_ROWS)
    }

    pub fn with_sheet_rows(
        path: &Path,
        columns: Columns,
        tempdir: &Path,
        sheet_rows: u32,
    ) -> anyhow::Result<XlsxWriter> {
        if columns.len() > usize::from(ColNum::MAX) {
            anyhow::bail!(
                "{} columns do not fit in an Excel sheet; export to CSV or NDJSON",
                columns.len()
            );
        }
        let mut workbook = Workbook::new();
        workbook
            .set_tempdir(tempdir)
            .with_context(|| format!("cannot create temporary files in {}", tempdir.display()))?;
        let mut writer = XlsxWriter {
            workbook,
            path: path.to_path_buf(),
            columns,
            header: Format::new().set_bold(),
            right_to_left: Format::new().set_reading_direction(2),
            sheet_rows: sheet_rows.max(2),
            sheet: 0,
            row: 0,
            records: 0,
        };
        writer.add_sheet()?;
        Ok(writer)
    }

    /// Adds a sheet and writes its header.
    fn add_sheet(&mut self) -> anyhow::Result<()> {
        let index = self.workbook.worksheets_mut().len();
        let name = if index == 0 {
            "Customers".to_string()
        } else {
            format!("Customers ({})", index + 1)
        };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        sheet.set_freeze_panes(1, 0)?;
        for (col, name) in self.columns.names().iter().enumerate() {
            let col = col as ColNum;
            sheet.set_column_width(col, width(name))?;
            if schema::is_right_to_left(name) {
                sheet.set_column_format(col, &self.right_to_left)?;
            }
            sheet.write_string_with_format(0, col, name, &self.header)?;
        }
        self.sheet = index;
        self.row = 1;
        Ok(())
    }

    /// Puts the autofilter over the current sheet's header and rows.
    fn close_sheet(&mut self) -> anyhow::Result<()> {
        let last_col = self.columns.len().saturating_sub(1) as ColNum;
        let last_row = self.row.saturating_sub(1);
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        sheet.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }
}

impl RecordWriter for XlsxWriter {
    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        if self.row >= self.sheet_rows {
            self.close_sheet()?;
            self.add_sheet()?;
        }
        let row = self.row;
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        for (col, name) in self.columns.names().iter().enumerate() {
            write_cell(sheet, row, col as ColNum, Cell::of(record.get(name))).map_err(|e| {
                let id = record_id(record).unwrap_or_else(|| "(no id)".into());
                anyhow::anyhow!(
                    "cannot write record {id}, column {name}, to {}: {e}",
                    self.path.display()
                )
            })?;
        }
        self.row += 1;
        self.records += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<Written> {
        self.close_sheet()?;
        let mut out = output(&self.path)?;
        // The zip is written as a stream (no seeking), so it can be hashed on its way out.
        self.workbook
            .save_to_writer(&mut out)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        let (bytes, sha256) = close(out, &self.path)?;
        Ok(Written {
            records: self.records,
            bytes,
            sha256,
        })
    }
}

fn write_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    cell: Cell,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => return Ok(()),
        Cell::Text(s) => sheet.write_string(row, col, s)?,
        Cell::Bool(b) => sheet.write_boolean(row, col, b)?,
        Cell::Number(n) => match exact_double(n) {
            Some(f) => sheet.write_number(row, col, f)?,
            None => sheet.write_string(row, col, n.to_string())?,
        },
        // The cell takes an owned String anyway; a Value always serialises.
        Cell::Json(v) => {
            sheet.write_string(row, col, serde_json::to_string(v).unwrap_or_default())?
        }
    };
    Ok(())
}

/// The number as a double, when the double is exactly the number.
fn exact_double(n: &Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        return (i.unsigned_abs() <= EXACT_IN_DOUBLE).then_some(i as f64);
    }
    if let Some(u) = n.as_u64() {
        return (u <= EXACT_IN_DOUBLE).then_some(u as f64);
    }
    n.as_f64().filter(|f| f.is_finite())
}

/// A readable column width: wide for JSON and text, narrow for flags and numbers.
fn width(name: &str) -> f64 {
    let by_kind: f64 = match schema::field(name).map(|f| f.kind) {
        Some(Kind::Contacts) => 40.0,
        Some(Kind::Text) => 22.0,
        Some(Kind::Boolean | Kind::Integer) => 12.0,
        None if name == "_id" || name == "id" => 26.0,
        None => 16.0,
    };
    by_kind.max(name.chars().count() as f64 + 4.0).min(60.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook, Data, Reader, Xlsx};
    use serde_json::json;

    #[test]
    fn cells_keep_their_types_and_sheets_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        let columns = Columns::from_names(
            ["_id", "isCompany", "capital", "zipCode", "contacts", "big"]
                .map(String::from)
                .to_vec(),
        );
        // Three rows per sheet: the header and two records.
        let mut writer =
            Box::new(XlsxWriter::with_sheet_rows(&path, columns, dir.path(), 3).unwrap());
        for i in 0..5 {
            let record = json!({"_id": format!("r{i}"), "isCompany": i % 2 == 0, "capital": 2000000,
                "zipCode": "01000", "contacts": [{"name": "Jo"}], "big": 9007199254740993u64});
            writer.write(record.as_object().unwrap()).unwrap();
        }
        let written = writer.finish().unwrap();
        assert_eq!(written.records, 5);
        assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());

        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(
            book.sheet_names(),
            ["Customers", "Customers (2)", "Customers (3)"]
        );
        let first = book.worksheet_range("Customers").unwrap();
        assert_eq!(first.height(), 3);
        assert_eq!(first.get((0, 0)), Some(&Data::String("_id".into())));
        assert_eq!(first.get((1, 1)), Some(&Data::Bool(true)));
        assert_eq!(first.get((1, 2)), Some(&Data::Float(2000000.0)));
        assert_eq!(first.get((1, 3)), Some(&Data::String("01000".into())));
        assert_eq!(
            first.get((1, 4)),
            Some(&Data::String(r#"[{"name":"Jo"}]"#.into()))
        );
        assert_eq!(
            first.get((1, 5)),
            Some(&Data::String("9007199254740993".into()))
        );
        let last = book.worksheet_range("Customers (3)").unwrap();
        assert_eq!(last.height(), 2);
        assert_eq!(last.get((1, 0)), Some(&Data::String("r4".into())));
    }

    /// The XML of one member of the workbook at `path`.
    fn member(path: &Path, name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        std::io::read_to_string(zip.by_name(name).unwrap()).unwrap()
    }

    #[test]
    fn arabic_fields_read_right_to_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        let columns = Columns::from_names(["name", "name_ar"].map(String::from).to_vec());
        let mut writer = Box::new(XlsxWriter::create(&path, columns, dir.path()).unwrap());
        let record = json!({"name": "Bijouterie Chaabane", "name_ar": "مجوهرات شعبان"});
        writer.write(record.as_object().unwrap()).unwrap();
        writer.finish().unwrap();
        // The second style (after Excel's default and the bold header) reads right to left,
        // and the name_ar cell (B2) has it; the name cell (A2) keeps the default.
        let styles = member(&path, "xl/styles.xml");
        let xfs = &styles[styles.find("<cellXfs").unwrap()..];
        let rtl = xfs
            .split("<xf ")
            .skip(1)
            .position(|xf| xf.contains("readingOrder=\"2\""));
        let sheet = member(&path, "xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains(&format!("<c r=\"B2\" s=\"{}\"", rtl.unwrap())),
            "{sheet}"
        );
        assert!(!sheet.contains("<c r=\"A2\" s="), "{sheet}");
    }
}
