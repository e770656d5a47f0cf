//! Spreadsheet sources through calamine: sheet selection for every format, a streaming cell
//! reader for XLSX and XLSB (on a background thread, never the whole sheet in memory), and
//! whole-sheet ranges for XLS and ODS, which calamine cannot stream.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Cell, Data, DataRef, Ods, Range, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx};

use super::cell::{is_empty_ref, write_data, write_ref, ZeroPad};
use super::sniff::open_file;
use super::threaded::{self, Emitter};
use super::{Format, ReadError, ReadOptions, Row, Source};

/// Excel's limits; a position beyond them means a damaged file, not a huge sheet.
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLUMNS: u32 = 16_384;

pub(crate) struct Opened {
    pub source: Source,
    pub sheet: String,
    pub sheet_names: Vec<String>,
}

type Input = BufReader<File>;

/// Opens the workbook and its sheet. calamine asserts on some damaged files: a panic in it
/// becomes an [`ReadError::Unreadable`] rather than taking the program down.
pub(crate) fn open(path: &Path, format: Format, opts: &ReadOptions) -> Result<Opened, ReadError> {
    super::guard::contain(|| open_unguarded(path, format, opts))
        .unwrap_or_else(|| Err(unreadable(path, format, &"its structure is inconsistent")))
}

fn open_unguarded(path: &Path, format: Format, opts: &ReadOptions) -> Result<Opened, ReadError> {
    let input = BufReader::new(open_file(path)?);
    let file = path.to_path_buf();
    let bad = |e: &dyn std::fmt::Display| unreadable(path, format, e);
    match format {
        Format::Xlsx => {
            let wb: Xlsx<Input> = Xlsx::new(input).map_err(|e| bad(&e))?;
            let (sheet, names) = pick_sheet(path, &wb, opts)?;
            let name = sheet.clone();
            let fail = failure(&file, &sheet);
            let source = threaded::spawn(fail, move |emit| stream_xlsx(wb, &name, &file, emit));
            Ok(opened(Source::Threaded(source), sheet, names))
        }
        Format::Xlsb => {
            let wb: Xlsb<Input> = Xlsb::new(input).map_err(|e| bad(&e))?;
            let (sheet, names) = pick_sheet(path, &wb, opts)?;
            let name = sheet.clone();
            let fail = failure(&file, &sheet);
            let source = threaded::spawn(fail, move |emit| stream_xlsb(wb, &name, &file, emit));
            Ok(opened(Source::Threaded(source), sheet, names))
        }
        Format::Xls => {
            let wb: Xls<Input> = Xls::new(input).map_err(|e| {
                unreadable(
                    path,
                    format,
                    &format!("{e}; a password-protected workbook is stored this way too"),
                )
            })?;
            range_source(path, wb, opts, super::xls::zero_padded)
        }
        Format::Ods => {
            let wb: Ods<Input> = Ods::new(input).map_err(|e| bad(&e))?;
            range_source(path, wb, opts, super::ods::shown_numbers)
        }
        Format::Csv => Err(unreadable(path, format, &"CSV is not a workbook format")),
    }
}

fn opened(source: Source, sheet: String, sheet_names: Vec<String>) -> Opened {
    Opened {
        source,
        sheet,
        sheet_names,
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

/// The sheet to read: by name (exact, then ignoring case), then by 1-based index; by default
/// the first visible worksheet, the one the user sees on opening (chart sheets have no cells).
fn pick_sheet<R: Reader<Input>>(
    path: &Path,
    wb: &R,
    opts: &ReadOptions,
) -> Result<(String, Vec<String>), ReadError> {
    let names = wb.sheet_names();
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
        Some(sheet) => Ok((sheet, names)),
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
) -> Result<(), ReadError> {
    let mut cells = wb
        .worksheet_cells_reader(sheet)
        .map_err(|e| sheet_error(file, sheet, None, e))?;
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
    if pads.iter().all(Option::is_none) {
        // No zero-padding format in the workbook: skip reading style ids.
        return stream_cells(sheet, file, emit, &[], || {
            cells
                .next_cell()
                .map(|c| c.map(|c| (c, 0)))
                .map_err(|e| e.to_string())
        });
    }
    stream_cells(sheet, file, emit, &pads, || {
        cells.next_cell_with_style_id().map_err(|e| e.to_string())
    })
}

fn stream_xlsb(
    mut wb: Xlsb<Input>,
    sheet: &str,
    file: &Path,
    emit: &mut Emitter<Row>,
) -> Result<(), ReadError> {
    let mut cells = wb
        .worksheet_cells_reader(sheet)
        .map_err(|e| sheet_error(file, sheet, None, e))?;
    stream_cells(sheet, file, emit, &[], || {
        cells
            .next_cell()
            .map(|c| c.map(|c| (c, 0)))
            .map_err(|e| e.to_string())
    })
}

/// Turns cells arriving in row order into rows: gaps between cells become empty cells, rows
/// without any cell become blank rows, so row numbers stay those of the sheet.
fn stream_cells<'a>(
    sheet: &str,
    file: &Path,
    emit: &mut Emitter<Row>,
    pads: &[Option<ZeroPad>],
    mut next: impl FnMut() -> Result<Option<(Cell<DataRef<'a>>, usize)>, String>,
) -> Result<(), ReadError> {
    let mut open_row: Option<u32> = None;
    let mut next_number = 1u32;
    loop {
        let cell = next().map_err(|e| sheet_error(file, sheet, Some(next_number), e))?;
        let Some((cell, style)) = cell else { break };
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
            open_row = Some(r);
            next_number = next_number.max(number + 1);
        }
        let value = cell.get_value();
        if is_empty_ref(value) {
            continue;
        }
        let pad = pads.get(style).and_then(Option::as_ref);
        emit.current()
            .cells
            .set(c as usize, |out| write_ref(out, value, pad));
    }
    if open_row.is_some() {
        emit.commit();
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
    let (sheet, names) = pick_sheet(path, &wb, opts)?;
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| sheet_error(path, &sheet, None, e))?;
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let source = RangeSource {
        range,
        start_row,
        start_col,
        index: 0,
        shown: shown(path, &sheet),
    };
    Ok(opened(Source::Range(source), sheet, names))
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
}

impl RangeSource {
    pub fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        if self.index >= self.range.height() {
            return Ok(false);
        }
        let number = self.start_row as usize + self.index + 1;
        row.begin(u32::try_from(number).unwrap_or(u32::MAX));
        for c in 0..self.range.width() {
            if let Some(value) = self.range.get((self.index, c)) {
                if !matches!(value, Data::Empty) {
                    let col = self.start_col as usize + c;
                    match self.shown.get(&((number - 1) as u32, col as u32)) {
                        Some(text) => row.cells.set(col, |out| out.push_str(text)),
                        None => row.cells.set(col, |out| write_data(out, value)),
                    }
                }
            }
        }
        self.index += 1;
        Ok(true)
    }
}
