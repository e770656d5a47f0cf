//! The annotated workbook (`--annotate OUT.xlsx`): the input's own rows with every problem shown
//! where people fix it.
//!
//! A list of 300 problems as text sends people hunting cell by cell. The annotated copy is the
//! same sheet (same columns, order, header text, and every value as typed, written as text so
//! `01000` stays `01000`), with each cell that has an error filled red and each warning amber, a
//! note on the cell giving the message and the expected form, a first column `Problems` that
//! sums up the row, an autofilter and a frozen header, and a second sheet `Summary` with counts
//! by field and by kind. For an import, `_outcome` and `_new_id` columns come last. Mapping
//! ignores all the added columns, so the fixed file imports back as it is.
//!
//! ```no_run
//! use custbulk::annotate::Annotator;
//! use custbulk::pipeline::{Input, Pipeline};
//! use custbulk::validate::{Checked, ValidateOptions};
//! # fn main() -> anyhow::Result<()> {
//! let input = Input { file: "customers.csv".into(), ..Input::default() };
//! let mut pipeline = Pipeline::open(&input, &ValidateOptions::default())?;
//! let mut out = Annotator::create("annotated.xlsx".as_ref(), pipeline.headers(), false)?;
//! let mut row = Checked::new();
//! while pipeline.next(&mut row)? {
//!     out.row(row.row, &row.cells, &row.problems, None)?;
//! }
//! out.finish()?;
//! # Ok(()) }
//! ```
//!
//! Rows stream through a constant-memory worksheet (one row in memory, the rest in a temporary
//! file). Notes are the exception: rust_xlsxwriter keeps them until the file is saved (the
//! comments part is written after the sheet), so they cost memory per flagged cell; past
//! [`MAX_NOTES`] flagged cells are still coloured and listed in the `Problems` column, without
//! a note, which bounds memory whatever the input. Blank input rows stay blank rows at their
//! place, so the annotated rows keep the input's row numbers (when the header is on row 1) and
//! the numbers in the text and CSV reports point at the same rows.

mod summary;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rust_xlsxwriter::{ColNum, Color, Format, Note, RowNum, Workbook, XlsxError};

use crate::pipeline::Source;
use crate::schema;
use crate::validate::{Problem, Severity};
use summary::Summary;

/// Header of the first column, which sums up each row's problems. Mapping ignores it.
pub const PROBLEMS: &str = "Problems";
/// Headers of the import columns at the end. Mapping ignores them.
pub const OUTCOME: &str = "_outcome";
pub const NEW_ID: &str = "_new_id";

/// Flagged cells that get a note. Each note is held in memory until the file is saved (about a
/// kilobyte with its drawing), and Excel itself slows down past tens of thousands of notes.
pub const MAX_NOTES: u64 = 20_000;

/// Excel's limits.
const MAX_CELL: usize = 32_767;
const MAX_NOTE: usize = MAX_CELL - 54;
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: usize = 16_384;

const RED_FILL: u32 = 0xFFC7CE;
const RED_TEXT: u32 = 0x9C0006;
const AMBER_FILL: u32 = 0xFFEB9C;
const AMBER_TEXT: u32 = 0x9C5700;

/// The sheet name when none is given: a CSV has none.
const DEFAULT_SHEET: &str = "Annotated";
const SUMMARY_SHEET: &str = "Summary";

/// Where rows go: the header on sheet row `header` (0-based), input row `n` on `n - 1 - offset`.
#[derive(Clone, Copy)]
struct Layout {
    header: RowNum,
    offset: u32,
}

struct Formats {
    header: Format,
    error: Format,
    warning: Format,
}

/// Writes an annotated copy of a sheet, row by row in input order.
pub struct Annotator {
    workbook: Workbook,
    path: PathBuf,
    tmp: PathBuf,
    /// The temporary file beside `path`, created up front so a bad path fails before any row.
    file: Option<File>,
    /// Output column of each input column; `None` for an input column the annotator writes
    /// afresh (a `Problems` column of an earlier annotation).
    out_cols: Vec<Option<ColNum>>,
    /// First output column for cells right of the last header (ragged rows), when they fit.
    extra_col: Option<ColNum>,
    /// The `_outcome` column, followed by `_new_id`.
    outcome_col: Option<ColNum>,
    last_col: ColNum,
    /// The header, written when the first row comes (or at the end), once its row is known.
    headers: Vec<String>,
    /// The input's header row, when the caller gave it: the copy keeps the input's numbering.
    header_row: Option<u32>,
    layout: Option<Layout>,
    /// The last sheet row written (0-based).
    last_row: RowNum,
    formats: Formats,
    summary: Summary,
    /// Per-row scratch: (input column, problem index), sorted.
    marks: Vec<(usize, usize)>,
    text: String,
    note: String,
}

impl Annotator {
    /// Starts the annotated copy of a sheet whose header row is `headers`. `with_outcome` adds
    /// `_outcome` and `_new_id` columns (for import). Fails now, before any row is read, when
    /// `path` cannot be written.
    pub fn create(
        path: &Path,
        headers: &[String],
        with_outcome: bool,
    ) -> anyhow::Result<Annotator> {
        let tmp = temp_path(path);
        let file = File::create(&tmp).with_context(|| {
            format!(
                "cannot write the annotated copy {}: check that its folder exists and is writable",
                path.display()
            )
        })?;
        Annotator::start(path, tmp.clone(), file, headers, with_outcome).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    fn start(
        path: &Path,
        tmp: PathBuf,
        file: File,
        headers: &[String],
        with_outcome: bool,
    ) -> anyhow::Result<Annotator> {
        let written_afresh = |h: &str| {
            let h = h.trim();
            h.eq_ignore_ascii_case(PROBLEMS)
                || (with_outcome && (h.eq_ignore_ascii_case(OUTCOME) || h == NEW_ID))
        };
        let mut out_cols = Vec::with_capacity(headers.len());
        let mut next: usize = 1;
        for h in headers {
            if written_afresh(h) {
                out_cols.push(None);
            } else {
                out_cols.push(Some(next as ColNum));
                next += 1;
            }
        }
        let width = next + if with_outcome { 2 } else { 0 };
        if width > MAX_COLS {
            anyhow::bail!(
                "cannot annotate {} columns: an XLSX sheet holds at most {MAX_COLS}",
                headers.len()
            );
        }
        let (extra_col, outcome_col) = if with_outcome {
            (None, Some(next as ColNum))
        } else {
            (Some(next as ColNum), None)
        };
        let formats = Formats {
            header: Format::new().set_bold(),
            error: Format::new()
                .set_background_color(Color::RGB(RED_FILL))
                .set_font_color(Color::RGB(RED_TEXT)),
            warning: Format::new()
                .set_background_color(Color::RGB(AMBER_FILL))
                .set_font_color(Color::RGB(AMBER_TEXT)),
        };

        let mut workbook = Workbook::new();
        let ws = workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(DEFAULT_SHEET)?;
        ws.set_column_width(0, 60)?;
        for (h, col) in headers.iter().zip(&out_cols) {
            if let Some(col) = *col {
                let width = h.chars().count().clamp(6, 36) + 4;
                ws.set_column_width(col, width as f64)?;
            }
        }
        if let Some(col) = outcome_col {
            ws.set_column_width(col, 12)?;
            ws.set_column_width(col + 1, 26)?;
        }
        Ok(Annotator {
            workbook,
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
            out_cols,
            extra_col,
            outcome_col,
            last_col: (width - 1) as ColNum,
            headers: headers.to_vec(),
            header_row: None,
            layout: None,
            last_row: 0,
            formats,
            summary: Summary::default(),
            marks: Vec::new(),
            text: String::new(),
            note: String::new(),
        })
    }

    /// Makes the copy look like its input: the data sheet takes the input's sheet name (so
    /// `--sheet NAME` works on both files) and the header stays on the input's header row,
    /// with blank rows above it in place of the title rows, so every row keeps its number and
    /// the numbers in reports point at the same rows. Call it before the first row.
    pub fn match_source(&mut self, source: &Source) {
        if self.layout.is_none() {
            self.header_row = Some(source.header_row.clamp(1, MAX_ROWS / 2));
        }
        let Some(name) = &source.sheet else { return };
        if name.eq_ignore_ascii_case(SUMMARY_SHEET) {
            return;
        }
        if let Ok(ws) = self.workbook.worksheet_from_index(0) {
            if ws.set_name(name).is_err() {
                let _ = ws.set_name(DEFAULT_SHEET);
            }
        }
    }

    /// Fixes where rows go (from the header row, or else from the first row's number) and
    /// writes the header.
    fn layout(&mut self, first: Option<u32>) -> Result<Layout, XlsxError> {
        if let Some(layout) = self.layout {
            return Ok(layout);
        }
        let layout = match (self.header_row, first) {
            (Some(h), _) => Layout {
                header: h - 1,
                offset: 0,
            },
            (None, Some(n)) => Layout {
                header: 0,
                offset: n.saturating_sub(2),
            },
            (None, None) => Layout {
                header: 0,
                offset: 0,
            },
        };
        let ws = self.workbook.worksheet_from_index(0)?;
        let r = layout.header;
        ws.set_freeze_panes(r + 1, 0)?;
        let bold = &self.formats.header;
        ws.write_string_with_format(r, 0, PROBLEMS, bold)?;
        for (h, col) in self.headers.iter().zip(&self.out_cols) {
            if let (Some(col), false) = (*col, h.is_empty()) {
                ws.write_string_with_format(r, col, fit(h, MAX_CELL).0, bold)?;
            }
        }
        if let Some(col) = self.outcome_col {
            ws.write_string_with_format(r, col, OUTCOME, bold)?;
            ws.write_string_with_format(r, col + 1, NEW_ID, bold)?;
        }
        self.last_row = r;
        self.layout = Some(layout);
        Ok(layout)
    }

    /// One input row, in input order: its row number, cells as read, problems, and for an
    /// import its outcome (`created`, `failed`, ...) and new id. A blank row stays blank.
    pub fn row(
        &mut self,
        number: u32,
        cells: &[String],
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        let layout = self.layout(Some(number))?;
        let sheet_row = number
            .checked_sub(1 + layout.offset)
            .filter(|&r| r > self.last_row);
        let Some(sheet_row) = sheet_row else {
            anyhow::bail!(
                "annotate: rows must come in input order, below the header (row {number} came \
                 after row {})",
                self.last_row + 1 + layout.offset
            );
        };
        if problems.is_empty() && cells.iter().all(|c| c.trim().is_empty()) {
            self.summary.blank_rows += 1;
            return Ok(());
        }
        if sheet_row >= MAX_ROWS {
            anyhow::bail!(
                "row {number} does not fit in the annotated copy {}: an XLSX sheet holds at \
                 most {MAX_ROWS} rows; validate a smaller part of the file, or use --report",
                self.path.display()
            );
        }
        self.last_row = sheet_row;
        self.summary.add_row(problems);
        if let Some((o, _)) = outcome {
            self.summary.add_outcome(o);
        }
        self.write_row(sheet_row, cells, problems, outcome)
            .with_context(|| {
                format!(
                    "writing row {number} of the annotated copy {}",
                    self.path.display()
                )
            })
    }

    fn write_row(
        &mut self,
        row: RowNum,
        cells: &[String],
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> Result<(), XlsxError> {
        let Annotator {
            workbook,
            out_cols,
            extra_col,
            outcome_col,
            formats,
            summary,
            marks,
            text,
            note,
            ..
        } = self;
        let ws = workbook.worksheet_from_index(0)?;

        // Which problems sit on a cell of the copy; the rest are the row's own.
        marks.clear();
        for (i, p) in problems.iter().enumerate() {
            if let Some(c) = column_index(&p.column) {
                if out_cols.get(c).is_some_and(|o| o.is_some()) {
                    marks.push((c, i));
                }
            }
        }
        marks.sort_unstable();

        if !problems.is_empty() {
            problems_text(problems, text);
            let worst = worst(problems.iter());
            let (t, _) = fit(text, MAX_CELL);
            ws.write_string_with_format(row, 0, t, format_of(formats, worst))?;
        }

        let mut m = 0;
        for (i, cell) in cells.iter().enumerate() {
            let col = match out_cols.get(i) {
                Some(Some(c)) => *c,
                Some(None) => continue,
                None => match *extra_col {
                    Some(first) if first as usize + (i - out_cols.len()) < MAX_COLS => {
                        first + (i - out_cols.len()) as ColNum
                    }
                    _ => break,
                },
            };
            let (value, cut) = fit(cell, MAX_CELL);
            if cut {
                summary.cut_cells += 1;
            }
            while m < marks.len() && marks[m].0 < i {
                m += 1;
            }
            let start = m;
            while m < marks.len() && marks[m].0 == i {
                m += 1;
            }
            if start == m {
                if !value.is_empty() {
                    ws.write_string(row, col, value)?;
                }
                continue;
            }
            let flagged = marks[start..m].iter().map(|&(_, p)| &problems[p]);
            let format = format_of(formats, worst(flagged.clone()));
            if value.is_empty() {
                ws.write_blank(row, col, format)?;
            } else {
                ws.write_string_with_format(row, col, value, format)?;
            }
            if summary.notes < MAX_NOTES {
                note_text(flagged, cut, note);
                ws.insert_note(row, col, &sized_note(note))?;
                summary.notes += 1;
            } else {
                summary.notes_skipped += 1;
            }
        }

        if let (Some(col), Some((o, id))) = (*outcome_col, outcome) {
            ws.write_string(row, col, fit(o, MAX_CELL).0)?;
            if let Some(id) = id {
                ws.write_string(row, col + 1, fit(id, MAX_CELL).0)?;
            }
        }
        Ok(())
    }

    /// Writes the `Summary` sheet and the file: to a temporary file beside the target, renamed
    /// over it once complete, so a failed run never leaves a partial workbook under its name.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let result = self.save();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result.with_context(|| format!("writing the annotated copy {}", self.path.display()))
    }

    fn save(&mut self) -> anyhow::Result<()> {
        let header = self.layout(None)?.header;
        let last_row = self.last_row;
        let last_col = self.last_col;
        let ws = self.workbook.worksheet_from_index(0)?;
        ws.autofilter(header, 0, last_row, last_col)?;
        let bold = self.formats.header.clone();
        let summary = self.workbook.add_worksheet();
        summary.set_name(SUMMARY_SHEET)?;
        self.summary.write(summary, &bold)?;
        let file = self
            .file
            .take()
            .context("the annotated copy was already saved")?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        self.workbook.save_to_writer(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(())
    }
}

impl Drop for Annotator {
    /// An annotator dropped before [`Annotator::finish`] (the run failed) leaves no file.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `.NAME.PID.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "annotated.xlsx".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// `A` → 0, `AB` → 27; `None` for anything that is not a column letter (a row-level problem).
fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n = 0usize;
    for b in letters.bytes() {
        if !b.is_ascii_uppercase() {
            return None;
        }
        n = n * 26 + (b - b'A' + 1) as usize;
    }
    Some(n - 1)
}

/// `text` cut to `max` UTF-16 units (Excel's measure), and whether it was cut.
fn fit(text: &str, max: usize) -> (&str, bool) {
    // UTF-16 never needs more units than UTF-8 needs bytes.
    if text.len() <= max {
        return (text, false);
    }
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max {
            return (&text[..i], true);
        }
    }
    (text, false)
}

fn worst<'a>(mut problems: impl Iterator<Item = &'a Problem>) -> Severity {
    if problems.any(|p| p.severity == Severity::Error) {
        Severity::Error
    } else {
        Severity::Warning
    }
}

fn format_of(formats: &Formats, severity: Severity) -> &Format {
    match severity {
        Severity::Error => &formats.error,
        Severity::Warning => &formats.warning,
    }
}

/// The `Problems` cell: `ERROR N° SIRET: "123" is not 14 digits; WARNING: the row has ...`.
/// Upper-case severities make the autofilter's "contains ERROR" find the rows that block.
fn problems_text(problems: &[Problem], out: &mut String) {
    out.clear();
    for p in problems {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(match p.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        });
        if !p.header.is_empty() && !p.column.is_empty() {
            out.push(' ');
            out.push_str(&p.header);
        } else if !p.field.is_empty() {
            out.push(' ');
            out.push_str(p.field);
        }
        out.push_str(": ");
        out.push_str(&p.message);
    }
}

/// A cell's note: each problem's message, then the expected form from the schema's help.
fn note_text<'a>(problems: impl Iterator<Item = &'a Problem>, cut: bool, out: &mut String) {
    out.clear();
    let mut field = "";
    for p in problems {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(match p.severity {
            Severity::Error => "Error: ",
            Severity::Warning => "Warning: ",
        });
        out.push_str(&p.message);
        field = p.field;
        // An e-mail in a contact column: the message already gives the form, and the
        // contacts help speaks of the JSON column.
        if p.field == "contacts" && p.message.contains("e-mail") {
            field = "";
        }
    }
    if let Some(help) = schema::field(field).map(|f| f.help) {
        out.push_str("\nExpected: ");
        out.extend(help.chars().filter(|&c| c != '`'));
    }
    if cut {
        out.push_str("\nThis value was cut to 32,767 characters, Excel's limit.");
    }
    let keep = fit(out, MAX_NOTE).0.len();
    out.truncate(keep);
}

/// A note sized to its text, so the whole message shows without resizing.
fn sized_note(text: &str) -> Note {
    const WIDTH: u32 = 300;
    const CHARS_PER_LINE: usize = 44;
    let lines: usize = text
        .lines()
        .map(|l| l.chars().count().div_ceil(CHARS_PER_LINE).max(1))
        .sum();
    let height = (lines as u32).clamp(2, 30) * 15 + 10;
    Note::new(text)
        .set_author("custbulk")
        .add_author_prefix(false)
        .set_width(WIDTH)
        .set_height(height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_become_indexes() {
        assert_eq!(column_index("A"), Some(0));
        assert_eq!(column_index("Z"), Some(25));
        assert_eq!(column_index("AA"), Some(26));
        assert_eq!(column_index("AB"), Some(27));
        assert_eq!(column_index(""), None);
        assert_eq!(column_index("a1"), None);
        for i in [0, 25, 26, 701, 702, 16383] {
            assert_eq!(column_index(&crate::read::column_letter(i)), Some(i));
        }
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let s = "é".repeat(MAX_CELL + 5);
        let (t, cut) = fit(&s, MAX_CELL);
        assert!(cut);
        assert_eq!(t.chars().count(), MAX_CELL);
        // A character outside the BMP counts twice, as Excel counts it.
        let s = "😀".repeat(MAX_CELL);
        let (t, cut) = fit(&s, MAX_CELL);
        assert!(cut);
        assert_eq!(t.chars().count(), MAX_CELL / 2);
        assert_eq!(fit("01000", MAX_CELL), ("01000", false));
    }

    #[test]
    fn notes_say_the_message_and_the_expected_form() {
        let p = Problem {
            row: 3,
            column: "C".into(),
            header: "N° SIRET".into(),
            field: "siret",
            severity: Severity::Error,
            message: "\"123\" is not 14 digits".into(),
            value: "123".into(),
        };
        let mut out = String::new();
        note_text(std::iter::once(&p), false, &mut out);
        assert!(out.starts_with("Error: \"123\" is not 14 digits\nExpected: "));
        assert!(
            out.contains("14 digits with a valid Luhn check digit"),
            "{out}"
        );
        let mut text = String::new();
        problems_text(std::slice::from_ref(&p), &mut text);
        assert_eq!(text, "ERROR N° SIRET: \"123\" is not 14 digits");
    }
}
