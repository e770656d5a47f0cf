//! Spreadsheet sources through calamine: sheet selection for every format, a streaming cell
//! reader for XLSX and XLSB (on a background thread, never the whole sheet in memory), and
//! whole-sheet ranges for XLS and ODS, which calamine cannot stream. The bounds of `limits`
//! apply to all: the archive is checked before calamine opens it, cells and rows as they come.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use calamine::{
    Cell, Data, DataRef, Ods, OdsError, Range, Reader, SheetType, SheetVisible, Xls, XlsError,
    Xlsb, Xlsx,
};

use super::cell::{is_empty_ref, write_data, write_ref, ZeroPad};
use super::limits::{self, MAX_CELL_BYTES, MAX_ROW_BYTES};
use super::sniff::open_file;
use super::threaded::{self, Emitter};
use super::{column_letter, Extent, Format, ReadError, ReadOptions, Row, RowIssue, Source, Tally};

/// Excel's limits; a position beyond them means a damaged file, not a huge sheet.
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLUMNS: u32 = 16_384;

pub(crate) struct Opened {
    pub source: Source,
    pub sheet: String,
    pub sheet_names: Vec<String>,
    /// The visible worksheets, in the workbook's order.
    pub visible: Vec<String>,
    /// The row reached, against the sheet's last row.
    pub extent: Extent,
}

type Input = BufReader<File>;

/// Opens the workbook and its sheet. calamine asserts on some damaged files: a panic in it
/// becomes an [`ReadError::Unreadable`] rather than taking the program down.
pub(crate) fn open(
    path: &Path,
    format: Format,
    opts: &ReadOptions,
    tally: Arc<Tally>,
) -> Result<Opened, ReadError> {
    super::guard::contain(|| open_unguarded(path, format, opts, tally))
        .unwrap_or_else(|| Err(unreadable(path, format, &"its structure is inconsistent")))
}

fn open_unguarded(
    path: &Path,
    format: Format,
    opts: &ReadOptions,
    tally: Arc<Tally>,
) -> Result<Opened, ReadError> {
    let suspects = match format {
        Format::Xlsx | Format::Xlsb | Format::Ods => limits::check_archive(path, format)?,
        _ => limits::Suspects::default(),
    };
    let input = BufReader::new(open_file(path)?);
    let file = path.to_path_buf();
    let bad = |e: &dyn std::fmt::Display| unreadable(path, format, e);
    match format {
        Format::Xlsx => {
            let wb: Xlsx<Input> = Xlsx::new(input).map_err(|e| bad(&e))?;
            let picked = pick_sheet(path, &wb, opts)?;
            let sheet = picked.0.clone();
            suspects.check_sheet(path, &sheet)?;
            let name = sheet.clone();
            let fail = failure(&file, &sheet);
            let extent = Extent::default();
            let reached = extent.clone();
            let source = threaded::spawn(fail, move |emit| {
                stream_xlsx(wb, &name, &file, emit, &tally, &reached)
            });
            Ok(opened(Source::Threaded(source), picked, extent))
        }
        Format::Xlsb => {
            let wb: Xlsb<Input> = Xlsb::new(input).map_err(|e| bad(&e))?;
            let picked = pick_sheet(path, &wb, opts)?;
            let sheet = picked.0.clone();
            let name = sheet.clone();
            let fail = failure(&file, &sheet);
            let extent = Extent::default();
            let reached = extent.clone();
            let source = threaded::spawn(fail, move |emit| {
                stream_xlsb(wb, &name, &file, emit, &reached)
            });
            Ok(opened(Source::Threaded(source), picked, extent))
        }
        Format::Xls => {
            let wb: Xls<Input> = Xls::new(input).map_err(|e| match e {
                XlsError::Password => protected(path),
                _ if super::sniff::is_encrypted_package(path) => protected(path),
                e => unreadable(path, format, &e),
            })?;
            range_source(path, wb, opts, super::xls::zero_padded)
        }
        Format::Ods => {
            let wb: Ods<Input> = Ods::new(input).map_err(|e| match e {
                OdsError::Password => protected(path),
                e => bad(&e),
            })?;
            range_source(path, wb, opts, super::ods::shown_numbers)
        }
        Format::Csv | Format::Json | Format::Ndjson => Err(unreadable(
            path,
            format,
            &format!("{} is not a workbook format", format.name()),
        )),
    }
}

fn opened(source: Source, (sheet, sheet_names, visible): Picked, extent: Extent) -> Opened {
    Opened {
        source,
        sheet,
        sheet_names,
        visible,
        extent,
    }
}

fn unreadable(path: &Path, format: Format, e: &dyn std::fmt::Display) -> ReadError {
    ReadError::Unreadable {
        file: path.to_path_buf(),
        reason: format!(
            "it is not a readable {} workbook (damaged or truncated?): {e}",
            format.name()
        ),
    }
}

/// A workbook encrypted with a password: its cells cannot be read without it.
fn protected(path: &Path) -> ReadError {
    ReadError::Unreadable {
        file: path.to_path_buf(),
        reason: "it is protected by a password (its cells are encrypted); open it with the \
                 password, remove the password and save it (Excel: File > Info > Protect Workbook \
                 > Encrypt with Password, then clear it; LibreOffice: File > Save As, without \
                 \"Save with password\"), or save it as CSV"
            .into(),
    }
}

/// The error for a reader thread that panicked or could not start.
fn failure(file: &Path, sheet: &str) -> impl Fn(&str) -> ReadError + Clone + Send + 'static {
    let (file, sheet) = (file.to_path_buf(), sheet.to_string());
    move |reason: &str| sheet_error(&file, &sheet, None, reason)
}

fn sheet_error(file: &Path, sheet: &str, row: Option<u32>, e: impl std::fmt::Display) -> ReadError {
    ReadError::Sheet {
        file: file.to_path_buf(),
        sheet: sheet.to_string(),
        row,
        reason: format!("the sheet is damaged or truncated: {e}"),
    }
}

/// The sheets of a workbook: the one to read, every name, and the visible worksheets.
type Picked = (String, Vec<String>, Vec<String>);

/// The sheet to read: by name (exact, then ignoring case), then by 1-based index; by default
/// the first visible worksheet, the one the user sees on opening (chart sheets have no cells).
fn pick_sheet<R: Reader<Input>>(
    path: &Path,
    wb: &R,
    opts: &ReadOptions,
) -> Result<Picked, ReadError> {
    let names = wb.sheet_names();
    let visible = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    let chosen = match opts.sheet.as_deref() {
        None => {
            let sheets = wb.sheets_metadata();
            let worksheet = |s: &&calamine::Sheet| s.typ == SheetType::WorkSheet;
            sheets
                .iter()
                .filter(worksheet)
                .find(|s| s.visible == SheetVisible::Visible)
                .or_else(|| sheets.iter().find(worksheet))
                .map(|s| s.name.clone())
                .or_else(|| names.first().cloned())
        }
        Some(asked) => names
            .iter()
            .find(|n| *n == asked)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| n.to_lowercase() == asked.to_lowercase())
            })
            .or_else(|| {
                let i: usize = asked.trim().parse().ok()?;
                names.get(i.checked_sub(1)?)
            })
            .cloned(),
    };
    match chosen {
        Some(sheet) => Ok((sheet, names, visible)),
        None if opts.sheet.is_none() => Err(ReadError::Empty {
            file: path.to_path_buf(),
            sheet: None,
            reason: "the workbook has no sheet".into(),
        }),
        None => Err(ReadError::UnknownSheet {
            file: path.to_path_buf(),
            asked: opts.sheet.clone().unwrap_or_default(),
            available: names,
        }),
    }
}

fn stream_xlsx(
    mut wb: Xlsx<Input>,
    sheet: &str,
    file: &Path,
    emit: &mut Emitter<Row>,
    tally: &Tally,
    extent: &Extent,
) -> Result<(), ReadError> {
    let mut cells = wb
        .worksheet_cells_reader(sheet)
        .map_err(|e| sheet_error(file, sheet, None, e))?;
    extent.set_end(u64::from(cells.dimensions().end.0) + 1);
    // Zero-padding number formats by style id, parsed once.
    let pads: Vec<Option<ZeroPad>> = cells
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .and_then(|f| ZeroPad::parse(&f.format_code))
        })
        .collect();
    let mut sheet_cells = SheetCells::new(sheet, file, emit, extent);
    if pads.iter().all(Option::is_none) {
        // No zero-padding format in the workbook: no style ids needed, and the formula loop
        // (the same pass) tells formulas that have no saved value.
        let mut formulas = 0u64;
        let streamed = sheet_cells.stream(&[], || {
            let Some(c) = cells
                .next_cell_with_formula_metadata()
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let no_value = c.formula.is_some() && matches!(c.value, DataRef::Empty);
            formulas += u64::from(no_value);
            Ok(Some((Cell::new(c.pos, c.value), 0, no_value)))
        });
        tally
            .formulas_without_value
            .fetch_add(formulas, Ordering::Relaxed);
        return streamed;
    }
    // calamine gives style ids or formulas in one pass, not both: with zero-padding formats
    // the style ids come from it, the formulas without a value from a pass of our own.
    let missing = super::formulas::without_value(file, sheet);
    tally
        .formulas_without_value
        .fetch_add(missing.count, Ordering::Relaxed);
    sheet_cells.stream(&pads, || {
        let Some((c, style)) = cells.next_cell_with_style_id().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let no_value =
            matches!(c.get_value(), DataRef::Empty) && missing.cells.contains(&c.get_position());
        Ok(Some((c, style, no_value)))
    })
}

fn stream_xlsb(
    mut wb: Xlsb<Input>,
    sheet: &str,
    file: &Path,
    emit: &mut Emitter<Row>,
    extent: &Extent,
) -> Result<(), ReadError> {
    let mut cells = wb
        .worksheet_cells_reader(sheet)
        .map_err(|e| sheet_error(file, sheet, None, e))?;
    extent.set_end(u64::from(cells.dimensions().end.0) + 1);
    SheetCells::new(sheet, file, emit, extent).stream(&[], || {
        cells
            .next_cell()
            .map(|c| c.map(|c| (c, 0, false)))
            .map_err(|e| e.to_string())
    })
}

/// A streamed cell: the cell, its style id, and whether it is a formula with no saved value.
type Streamed<'a> = (Cell<DataRef<'a>>, usize, bool);

/// Rows built from cells arriving in row order.
struct SheetCells<'e> {
    sheet: &'e str,
    file: &'e Path,
    emit: &'e mut Emitter<Row>,
    extent: &'e Extent,
}

impl<'e> SheetCells<'e> {
    fn new(sheet: &'e str, file: &'e Path, emit: &'e mut Emitter<Row>, extent: &'e Extent) -> Self {
        SheetCells {
            sheet,
            file,
            emit,
            extent,
        }
    }

    /// Turns cells arriving in row order into rows: gaps between cells become empty cells,
    /// rows without any cell become blank rows, so row numbers stay those of the sheet.
    fn stream<'a>(
        &mut self,
        pads: &[Option<ZeroPad>],
        mut next: impl FnMut() -> Result<Option<Streamed<'a>>, String>,
    ) -> Result<(), ReadError> {
        let (sheet, file) = (self.sheet, self.file);
        let emit = &mut *self.emit;
        let mut open_row: Option<u32> = None;
        let mut next_number = 1u32;
        loop {
            let cell = next().map_err(|e| sheet_error(file, sheet, Some(next_number), e))?;
            let Some((cell, style, no_value)) = cell else {
                break;
            };
            let (r, c) = cell.get_position();
            if r >= MAX_ROWS || c >= MAX_COLUMNS {
                return Err(sheet_error(
                    file,
                    sheet,
                    None,
                    format!(
                        "a cell lies outside the sheet (row {}, column {})",
                        r + 1,
                        c + 1
                    ),
                ));
            }
            if open_row != Some(r) {
                if open_row.is_some() {
                    emit.commit();
                }
                let number = r + 1;
                for blank in next_number..number {
                    let Ok(row) = emit.slot() else {
                        return Ok(());
                    };
                    row.begin(blank);
                    emit.commit();
                }
                let Ok(row) = emit.slot() else {
                    return Ok(());
                };
                row.begin(number);
                self.extent.row(u64::from(number));
                open_row = Some(r);
                next_number = next_number.max(number + 1);
            }
            if no_value {
                emit.current()
                    .issues
                    .push(formula_without_value(c as usize));
            }
            let value = cell.get_value();
            if is_empty_ref(value) {
                continue;
            }
            let pad = pads.get(style).and_then(Option::as_ref);
            let row = emit.current();
            row.cells.set(c as usize, |out| write_ref(out, value, pad));
            check_size(file, sheet, row, c as usize)?;
        }
        if open_row.is_some() {
            emit.commit();
        }
        Ok(())
    }
}

/// The warning on a formula cell that reads as blank.
fn formula_without_value(column: usize) -> RowIssue {
    RowIssue {
        column: Some(column),
        error: false,
        message: "the cell holds a formula with no saved value, so it reads as blank; open and \
                  save the file in Excel or LibreOffice to store its value"
            .to_string(),
    }
}

/// Refuses a cell over [`MAX_CELL_BYTES`] or a row over [`MAX_ROW_BYTES`] once cell `column`
/// of `row` is written.
fn check_size(file: &Path, sheet: &str, row: &Row, column: usize) -> Result<(), ReadError> {
    let cell = row.cells.get(column).map_or(0, str::len);
    if cell > MAX_CELL_BYTES {
        return Err(ReadError::Cell {
            file: file.to_path_buf(),
            sheet: sheet.to_string(),
            cell: format!("{}{}", column_letter(column), row.number),
            reason: format!(
                "the cell holds more than {} MiB of text ({:.1} MB); a customer field is a few \
                 hundred characters",
                MAX_CELL_BYTES >> 20,
                cell as f64 / 1e6
            ),
        });
    }
    if row.cells.text().len() > MAX_ROW_BYTES {
        return Err(ReadError::Sheet {
            file: file.to_path_buf(),
            sheet: sheet.to_string(),
            row: Some(row.number),
            reason: format!(
                "the row holds more than {} MB of text; a customer is a few kilobytes",
                MAX_ROW_BYTES >> 20
            ),
        });
    }
    Ok(())
}

/// A sheet calamine loads whole; `shown(path, sheet)` gives the numbers to read as shown.
fn range_source<R: Reader<Input>>(
    path: &Path,
    mut wb: R,
    opts: &ReadOptions,
    shown: fn(&Path, &str) -> Shown,
) -> Result<Opened, ReadError>
where
    R::Error: std::fmt::Display,
{
    let picked = pick_sheet(path, &wb, opts)?;
    let sheet = picked.0.clone();
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| sheet_error(path, &sheet, None, e))?;
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let extent = Extent::rows(u64::from(start_row) + range.height() as u64);
    let source = RangeSource {
        range,
        start_row,
        start_col,
        index: 0,
        shown: shown(path, &sheet),
        file: path.to_path_buf(),
        sheet: sheet.clone(),
        extent: extent.clone(),
    };
    Ok(opened(Source::Range(source), picked, extent))
}

/// The text number cells are read as, by 0-based (row, column) of the sheet, where calamine's
/// value is not what the cell shows: `01000` for 1000 under a `00000` format (see `xls`, `ods`).
pub(crate) type Shown = HashMap<(u32, u32), String>;

/// Rows of a sheet calamine has loaded whole (XLS, ODS).
pub(crate) struct RangeSource {
    range: Range<Data>,
    start_row: u32,
    start_col: u32,
    index: usize,
    /// Numbers read as they are shown, zero-padded or (ODS) as booleans.
    shown: Shown,
    file: std::path::PathBuf,
    sheet: String,
    /// The row reached, against the range's last.
    extent: Extent,
}

impl RangeSource {
    pub fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        if self.index >= self.range.height() {
            return Ok(false);
        }
        let number = self.start_row as usize + self.index + 1;
        row.begin(u32::try_from(number).unwrap_or(u32::MAX));
        self.extent.row(number as u64);
        for c in 0..self.range.width() {
            if let Some(value) = self.range.get((self.index, c)) {
                if !matches!(value, Data::Empty) {
                    let col = self.start_col as usize + c;
                    match self.shown.get(&((number - 1) as u32, col as u32)) {
                        Some(text) => row.cells.set(col, |out| out.push_str(text)),
                        None => row.cells.set(col, |out| write_data(out, value)),
                    }
                    check_size(&self.file, &self.sheet, row, col)?;
                }
            }
        }
        self.index += 1;
        Ok(true)
    }
}
