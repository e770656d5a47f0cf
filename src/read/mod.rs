//! Reading customer lists: one entry point, [`open`], for CSV files, spreadsheets (xlsx, xlsm,
//! xlsb, xls, ods) and JSON (an array of objects, or NDJSON), giving the header row and then a
//! stream of [`Row`]s of cells as text.
//!
//! Everything that depends on the kind of file lives here and nowhere else: format sniffing,
//! CSV delimiter and encoding detection, sheet selection, header-row detection, and turning
//! spreadsheet cells into the text a person sees (`01000` stays `01000`, a 14-digit SIRET typed as
//! a number never turns into `5.52E+13`). Mapping and validation only ever see text cells with
//! the spreadsheet's own row numbers.
//!
//! Rows stream: a million-row CSV or a 200,000-row XLSX is never held whole. XLSX, XLSB and JSON
//! are parsed on a background thread (see `threaded`), so the caller's checks run on the other
//! core. Hostile files meet limits (`limits`): a row, a cell, and how far a workbook may inflate.

mod cell;
mod cells;
mod csv;
mod error;
mod extent;
mod formulas;
mod guard;
mod json;
mod limits;
mod nfc;
mod ods;
mod rows;
mod sheet;
mod sniff;
pub(crate) mod threaded;
mod xls;

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use cells::{trim, Cells};
pub use error::ReadError;
pub use extent::Extent;
pub(crate) use json::records;
pub use nfc::surely_nfc;
pub use rows::Rows;
pub(crate) use sniff::sniff;
pub use sniff::Format;

/// How to read a file; every field has a sensible default (`ReadOptions::default()`).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sheet name (case-insensitive) or 1-based index (`"2"`); `None` is the first sheet.
    pub sheet: Option<String>,
    /// 1-based spreadsheet row of the header; `None` detects it.
    pub header_row: Option<u32>,
    /// CSV only: an encoding label such as `utf-8`, `windows-1256`, `latin1`, `utf-16`;
    /// `None` detects UTF-8 (with or without BOM), UTF-16, else the legacy code page the bytes
    /// read best in (Windows-1252, Windows-1256, ISO-8859-6, ...).
    pub encoding: Option<String>,
    /// CSV only: the delimiter byte; `None` detects it among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
}

/// One row of the file, as text cells.
///
/// `cells` has one entry per header column (short rows are padded with `""`); cells beyond the
/// header are kept when they are not empty. Buffers are reused from row to row: pass the same
/// `Row` to [`Table::next_row`] again and again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The row number the user sees in their spreadsheet (1-based; the header has its own). For
    /// JSON, the record's position: its line in NDJSON, its 1-based index in an array.
    pub number: u32,
    pub cells: Cells,
    /// `Some(cell count)` when the row's length differs from the header's: a CSV record with
    /// more or fewer fields, or a sheet row with non-empty cells right of the last header.
    pub ragged: Option<usize>,
    /// What reading found wrong with the row without stopping the run: a JSON line that is not
    /// an object, bytes that are not UTF-8 in a UTF-8 file, a formula with no saved value.
    /// Validation turns each into a problem on the row.
    pub issues: Vec<RowIssue>,
}

/// A problem found while reading a row; validation reports it as a [`Problem`] of the row.
///
/// [`Problem`]: crate::validate::Problem
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// The 0-based column, or `None` for the whole row.
    pub column: Option<usize>,
    /// An error makes the row invalid; otherwise it is a warning.
    pub error: bool,
    /// A sentence saying what is wrong and what to do.
    pub message: String,
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    /// A row built from literal cells, for tests and for callers that make rows themselves.
    pub fn from_cells<S: AsRef<str>>(number: u32, cells: impl IntoIterator<Item = S>) -> Row {
        Row {
            number,
            cells: cells.into_iter().collect(),
            ragged: None,
            issues: Vec::new(),
        }
    }

    /// True when every cell is empty or whitespace: such rows are counted, not validated.
    pub fn is_blank(&self) -> bool {
        self.cells.is_blank()
    }

    /// Starts refilling this row for the source, keeping the buffers.
    fn begin(&mut self, number: u32) {
        self.number = number;
        self.ragged = None;
        self.cells.clear();
        self.issues.clear();
    }

    /// Number of cells up to the last non-empty one.
    fn used_width(&self) -> usize {
        self.cells
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1)
    }
}

/// A file opened for reading: where the header is, and the rows below it.
pub struct Table {
    pub file: PathBuf,
    /// The sheet read; `None` for CSV and JSON.
    pub sheet: Option<String>,
    /// The header's 1-based row number; 0 for JSON, whose keys are the headers.
    pub header_row: u32,
    /// Header cells, trimmed; trailing empty headers are dropped.
    pub headers: Vec<String>,
    /// Non-blank rows above the header (titles, notes) that were skipped.
    pub title_rows_skipped: u32,
    /// Whether the header row was found as one (its headers map to fields) or asked for;
    /// else it is the first row with text.
    pub header_found: bool,
    /// A workbook whose first sheet, read by default, has no header row found: the first
    /// other visible sheet that has one, for the error of a mapping that fails to name.
    pub sheet_with_header: Option<String>,
    /// CSV and JSON: the encoding used (detected or asked), e.g. `UTF-8`, `windows-1252`.
    pub encoding: Option<&'static str>,
    /// CSV: the delimiter used.
    pub delimiter: Option<u8>,
    /// What the file really is (by content, not by extension).
    pub format: Format,
    /// Things worth telling the user, as sentences: e.g. a `.xlsx` that is really a CSV. Most
    /// are known on opening; a few only once the last row is read (see [`Table::next_row`]).
    pub notes: Vec<String>,
    /// Counts the reader keeps while rows stream, for the notes made at the end.
    tally: Arc<Tally>,
    /// How far the reader is through the file, for a progress bar.
    extent: Extent,
    /// The end was reached and its notes made.
    ended: bool,
    sheet_names: Vec<String>,
    /// A workbook's visible worksheets, in order.
    visible_sheets: Vec<String>,
    /// Whether there is a second core to read on (see [`background`]).
    background: bool,
    rows: Rows,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("file", &self.file)
            .field("sheet", &self.sheet)
            .field("header_row", &self.header_row)
            .field("headers", &self.headers)
            .field("title_rows_skipped", &self.title_rows_skipped)
            .field("encoding", &self.encoding)
            .field("delimiter", &self.delimiter.map(char::from))
            .field("format", &self.format)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

/// Where raw rows come from; each fills a [`Row`] after `begin`.
enum Source {
    Csv(Box<csv::CsvSource>),
    Threaded(threaded::Receiver<Row>),
    Range(sheet::RangeSource),
    /// Taken by [`Table::take_rows`]: no more rows here.
    Taken,
}

impl Source {
    fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        match self {
            Source::Csv(s) => s.next(row),
            Source::Threaded(s) => s.next(row),
            Source::Range(s) => s.next(row),
            Source::Taken => Ok(false),
        }
    }

    /// The rows below the header are wanted: a CSV file is tokenised on a thread of its own
    /// from now on, when it may be. The header's search reads before this, on the caller's.
    fn start(&mut self) {
        if let Source::Csv(s) = self {
            s.start();
        }
    }
}

impl Table {
    /// Fills `row` with the next data row (reusing its buffers); `Ok(false)` at the end.
    ///
    /// Blank rows are returned too (check [`Row::is_blank`]) so that callers can count them.
    /// At the end, notes that needed every row (formula cells without a value) are added to
    /// [`Table::notes`].
    pub fn next_row(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        let more = self.rows.next_shaped(row, self.headers.len())?;
        if !more {
            self.end();
        }
        Ok(more)
    }

    /// The rows below the header, to be read on another thread (the pipeline reads and checks
    /// them there). `None` when the table reads on a thread of its own already (XLSX, XLSB,
    /// JSON), or there is no second core. The table has no more rows after this; its
    /// [`Table::next_row`] ends it, with the notes of the end of the file, once the taken rows
    /// are read.
    pub fn take_rows(&mut self) -> Option<Rows> {
        if !self.background || matches!(self.rows.source, Source::Threaded(_)) {
            return None;
        }
        let mut rows = std::mem::replace(&mut self.rows, Rows::new(Source::Taken));
        rows.width = self.headers.len();
        if let Source::Csv(s) = &mut rows.source {
            s.stay_here();
        }
        Some(rows)
    }

    /// Adds, once, the notes that only the whole file could give.
    fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let formulas = self.tally.formulas_without_value.load(Ordering::Relaxed);
        if formulas > 0 {
            let cells = if formulas == 1 {
                "1 formula cell has".to_string()
            } else {
                format!("{formulas} formula cells have")
            };
            self.notes.push(format!(
                "{}: {cells} no saved value and read as blank; open and save the file in Excel \
                 or LibreOffice so their values are stored.",
                self.location()
            ));
        }
    }

    /// How many data rows the file holds, as the reader can tell before reaching its end (the
    /// sheet's dimension, the file's size over the bytes per row so far): a progress bar's
    /// estimate, not a count.
    pub fn extent(&self) -> Extent {
        self.extent.clone().below(u64::from(self.header_row))
    }

    /// Sheet names of the workbook, in order (empty for CSV).
    pub fn sheet_names(&self) -> &[String] {
        &self.sheet_names
    }

    /// The file (and sheet) as messages should name them: `clients.xlsx, sheet "Feuil1"`.
    pub fn location(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{}, sheet \"{s}\"", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

/// Opens a CSV file or a spreadsheet and finds its header row.
///
/// The kind of file is decided by content first (zip, OLE or text) and extension second, so a
/// `.xlsx` that is really a CSV is read as CSV (and [`Table::notes`] says so).
/// `is_header(cells)` says whether a row looks like the header: the header is the first of the
/// first 10 non-blank rows for which it returns true; when none does, the first non-blank row.
/// [`ReadOptions::header_row`] overrides the detection.
pub fn open(
    path: &Path,
    opts: &ReadOptions,
    is_header: &dyn Fn(&[String]) -> bool,
) -> Result<Table, ReadError> {
    let sniffed = sniff::sniff(path)?;
    let mut notes = Vec::new();
    if let Some(note) = sniffed.note {
        notes.push(note);
    }
    let mut table = match sniffed.format {
        Format::Csv => {
            let src = csv::CsvSource::open(path, opts, background())?;
            let (encoding, delimiter) = (src.encoding_name(), src.delimiter());
            let extent = src.extent();
            let mut t = Table::empty(path, Format::Csv, Source::Csv(Box::new(src)));
            t.extent = extent;
            t.encoding = Some(encoding);
            t.delimiter = Some(delimiter);
            t.rows.short_rows_are_ragged = true;
            t
        }
        format @ (Format::Json | Format::Ndjson) => {
            let opened = json::open(path, format)?;
            let mut t = Table::empty(path, format, opened.source);
            t.headers = opened.headers;
            t.header_found = true;
            t.extent = opened.extent;
            t.encoding = Some("UTF-8");
            t
        }
        format => {
            let tally = Arc::new(Tally::default());
            let opened = sheet::open(path, format, opts, tally.clone())?;
            let mut t = Table::empty(path, format, opened.source);
            t.sheet = Some(opened.sheet);
            t.sheet_names = opened.sheet_names;
            t.visible_sheets = opened.visible;
            t.tally = tally;
            t.extent = opened.extent;
            t
        }
    };
    if table.format.is_json() {
        notes.extend(json::ignored_options(opts));
        table.notes = notes;
        return Ok(table);
    }
    if table.format == Format::Csv {
        if let Some(sheet) = &opts.sheet {
            notes.push(format!(
                "A CSV file has no sheets; the sheet \"{sheet}\" asked for was ignored."
            ));
        }
    } else if opts.encoding.is_some() || opts.delimiter.is_some() {
        notes.push(format!(
            "Encoding and delimiter apply to CSV files only; they were ignored for this {} workbook.",
            table.format.name()
        ));
    }
    table.notes = notes;
    let found = table.find_header(opts, is_header);
    if opts.sheet.is_some() || opts.header_row.is_some() || table.header_found {
        return found.map(|()| table);
    }
    or_another_sheet(table, found, path, opts, is_header)
}

/// A workbook's first sheet, read by default, has no header: another visible sheet may hold
/// the list. When the first is empty, the first that has a header is read instead, and said;
/// else the table is kept, naming that sheet for the error of its columns.
fn or_another_sheet(
    mut table: Table,
    found: Result<(), ReadError>,
    path: &Path,
    opts: &ReadOptions,
    is_header: &dyn Fn(&[String]) -> bool,
) -> Result<Table, ReadError> {
    let other = table.visible_sheets.iter().find_map(|name| {
        let asked = ReadOptions {
            sheet: Some(name.clone()),
            ..opts.clone()
        };
        let other = (table.sheet.as_ref() != Some(name)).then(|| open(path, &asked, is_header));
        other?.ok().filter(|t| t.header_found)
    });
    match (found, other) {
        (Err(ReadError::Empty { .. }), Some(mut other)) => {
            let note = format!(
                "Sheet \"{}\" is empty: sheet \"{}\", the first whose headers map to fields, was \
                 read instead (--sheet chooses).",
                table.sheet.unwrap_or_default(),
                other.sheet.clone().unwrap_or_default()
            );
            other.notes.push(note);
            Ok(other)
        }
        (found, other) => {
            table.sheet_with_header = other.and_then(|t| t.sheet);
            found.map(|()| table)
        }
    }
}

/// Whether to tokenise CSV on a background thread: yes when there is a second core, unless
/// `CUSTBULK_READ_THREADS=1` asks for one thread (to compare, or on a crowded machine).
fn background() -> bool {
    if std::env::var("CUSTBULK_READ_THREADS").is_ok_and(|v| v.trim() == "1") {
        return false;
    }
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// What a reader counts while rows stream, shared with its thread.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// XLSX cells holding a formula and no saved value (they read as blank).
    pub formulas_without_value: AtomicU64,
}

/// How many non-blank rows the header detection looks at.
const HEADER_SCAN_ROWS: u32 = 10;
/// How many rows (blank ones included) it reads at most before giving up.
const HEADER_SCAN_LIMIT: u32 = 10_000;

impl Table {
    fn empty(path: &Path, format: Format, source: Source) -> Table {
        Table {
            file: path.to_path_buf(),
            sheet: None,
            header_row: 0,
            headers: Vec::new(),
            title_rows_skipped: 0,
            header_found: false,
            sheet_with_header: None,
            encoding: None,
            delimiter: None,
            format,
            notes: Vec::new(),
            tally: Arc::new(Tally::default()),
            extent: Extent::default(),
            ended: false,
            sheet_names: Vec::new(),
            visible_sheets: Vec::new(),
            background: background(),
            rows: Rows::new(source),
        }
    }

    fn no_header(&self, reason: impl Into<String>) -> ReadError {
        ReadError::Empty {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            reason: reason.into(),
        }
    }

    fn set_header(&mut self, row: &Row) {
        let width = row.used_width();
        self.header_row = row.number;
        self.headers = row
            .cells
            .iter()
            .take(width)
            .map(|c| c.trim().to_string())
            .collect();
    }

    fn find_header(
        &mut self,
        opts: &ReadOptions,
        is_header: &dyn Fn(&[String]) -> bool,
    ) -> Result<(), ReadError> {
        if let Some(wanted) = opts.header_row {
            return self.header_at(wanted);
        }
        // Rows from the first non-blank one on, kept to be replayed if no row looks like a header.
        let mut seen: Vec<Row> = Vec::new();
        let mut non_blank = 0u32;
        let mut scanned = 0u32;
        loop {
            let mut row = Row::new();
            if !self.rows.source.next(&mut row)? {
                break;
            }
            scanned += 1;
            let blank = row.is_blank();
            if !blank {
                if is_header(&row.cells.to_vec()) {
                    self.set_header(&row);
                    self.header_found = true;
                    self.title_rows_skipped = non_blank;
                    return Ok(());
                }
                non_blank += 1;
            }
            if !blank || !seen.is_empty() {
                seen.push(row);
            }
            if non_blank >= HEADER_SCAN_ROWS || scanned >= HEADER_SCAN_LIMIT {
                break;
            }
        }
        let mut seen = VecDeque::from(seen);
        let Some(first) = seen.pop_front() else {
            return Err(self.no_header("there is no row with any text in it"));
        };
        self.set_header(&first);
        self.title_rows_skipped = 0;
        self.rows.pending = seen;
        Ok(())
    }

    fn header_at(&mut self, wanted: u32) -> Result<(), ReadError> {
        if wanted == 0 {
            return Err(self.no_header("header row 0 does not exist; rows are numbered from 1"));
        }
        let mut row = Row::new();
        loop {
            if !self.rows.source.next(&mut row)? {
                return Err(self.no_header(format!(
                    "header row {wanted} is past the last row of the file"
                )));
            }
            if row.number < wanted {
                if !row.is_blank() {
                    self.title_rows_skipped += 1;
                }
                continue;
            }
            if row.number > wanted || row.is_blank() {
                return Err(self.no_header(format!("header row {wanted} is blank")));
            }
            self.set_header(&row);
            self.header_found = true;
            return Ok(());
        }
    }
}

/// The spreadsheet letter of a 0-based column index: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(column_letter(16383), "XFD");
    }

    #[test]
    fn table_is_send() {
        fn send<T: Send>() {}
        send::<Table>();
        send::<ReadError>();
    }

    #[test]
    fn row_refill_reuses_and_clears() {
        let mut row = Row::from_cells(1, ["a", "b", "c"]);
        row.begin(2);
        row.cells.set(1, |c| c.push('x'));
        assert_eq!(row.cells, ["", "x"]);
        assert_eq!(row.used_width(), 2);
        assert!(!row.is_blank());
        row.begin(3);
        row.cells.set(2, |c| c.push_str(" \u{a0}"));
        assert!(row.is_blank());
    }
}
