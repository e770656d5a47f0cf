//! The annotated copy itself: where each input row and column lands, which cells are
//! coloured, what the `Problems` cell and the notes say. Runs on the annotator's own thread.

use std::fs::File;
use std::path::Path;

use anyhow::Context as _;

use super::summary::SummarySheet;
use super::xlsx::{needs_escape, Book, SheetXml, Style};
use super::{MAX_NOTES, NEW_ID, OUTCOME, PROBLEMS, SUMMARY_SHEET};
use crate::lookup::duplicates;
use crate::read::Cells;
use crate::schema;
use crate::validate::{Problem, Severity};

/// Excel's limits.
pub(super) const MAX_CELL: usize = 32_767;
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: usize = 16_384;

/// The data sheet's name when the input has none (a CSV file).
const DEFAULT_SHEET: &str = "Annotated";

/// Where rows go: the header on sheet row `header` (0-based), input row `n` on `n - 1 - offset`.
#[derive(Clone, Copy)]
struct Layout {
    header: u32,
    offset: i64,
}

pub(super) struct Writer {
    book: Book,
    rows: SheetXml,
    /// Output column of each input column; `None` for an input column written afresh (the
    /// `Problems` column of an earlier annotation).
    out_cols: Vec<Option<u16>>,
    /// Per input column, whether its cells read right to left (an Arabic field's).
    rtl: Vec<bool>,
    /// First output column for cells right of the last header (ragged rows), when they fit.
    extra_col: Option<u16>,
    /// The `_outcome` column, followed by `_new_id`.
    outcome_col: Option<u16>,
    last_col: u16,
    widths: Vec<f64>,
    /// Written when the first row comes (or at the end), once its sheet row is known.
    headers: Vec<String>,
    /// The input's header row, when known: the copy then keeps the input's row numbers.
    header_row: Option<u32>,
    layout: Option<Layout>,
    /// The last sheet row written (0-based).
    last_row: u32,
    sheet_name: String,
    summary: SummarySheet,
    /// Per-row scratch: (input column, problem index), sorted.
    marks: Vec<(usize, usize)>,
    text: String,
    note: String,
}

impl Writer {
    pub fn new(
        file: File,
        temp_base: &Path,
        headers: &[String],
        with_outcome: bool,
    ) -> anyhow::Result<Writer> {
        let written_afresh = |h: &str| {
            let h = h.trim();
            h.eq_ignore_ascii_case(PROBLEMS)
                || (with_outcome && (h.eq_ignore_ascii_case(OUTCOME) || h == NEW_ID))
        };
        let mut out_cols = Vec::with_capacity(headers.len());
        let mut widths = vec![60.0];
        for h in headers {
            if written_afresh(h) {
                out_cols.push(None);
            } else {
                out_cols.push(Some(widths.len() as u16));
                widths.push((h.chars().count().clamp(6, 36) + 4) as f64);
            }
        }
        let next = widths.len();
        let (extra_col, outcome_col) = if with_outcome {
            widths.extend([12.0, 26.0]);
            (None, Some(next as u16))
        } else {
            (Some(next as u16), None)
        };
        if widths.len() > MAX_COLS {
            anyhow::bail!(
                "cannot annotate {} columns: an XLSX sheet holds at most {MAX_COLS}",
                headers.len()
            );
        }
        Ok(Writer {
            book: Book::new(file, temp_base),
            rows: SheetXml::new(),
            rtl: vec![false; out_cols.len()],
            out_cols,
            extra_col,
            outcome_col,
            last_col: (widths.len() - 1) as u16,
            widths,
            headers: headers.to_vec(),
            header_row: None,
            layout: None,
            last_row: 0,
            sheet_name: DEFAULT_SHEET.to_string(),
            summary: SummarySheet::default(),
            marks: Vec::new(),
            text: String::new(),
            note: String::new(),
        })
    }

    /// Marks input `columns` as read right to left.
    pub fn right_to_left(&mut self, columns: impl IntoIterator<Item = usize>) {
        for c in columns {
            if let Some(rtl) = self.rtl.get_mut(c) {
                *rtl = true;
            }
        }
    }

    /// Takes the input's sheet name (when Excel allows it) and header row; 0 for an input
    /// without one (JSON, whose record `n` then goes on row `n + 1`, below the header).
    pub fn match_source(&mut self, sheet: Option<&str>, header_row: u32) {
        if self.layout.is_none() {
            self.header_row = Some(header_row.min(MAX_ROWS / 2));
        }
        if let Some(name) = sheet.filter(|n| valid_sheet_name(n)) {
            self.sheet_name = name.to_string();
        }
    }

    /// Fixes where rows go (from the header row, or else from the first row's number) and
    /// writes the header.
    fn layout(&mut self, first: Option<u32>) -> anyhow::Result<Layout> {
        if let Some(layout) = self.layout {
            return Ok(layout);
        }
        let layout = match (self.header_row, first) {
            (Some(0), _) => Layout {
                header: 0,
                offset: -1,
            },
            (Some(h), _) => Layout {
                header: h - 1,
                offset: 0,
            },
            (None, Some(n)) => Layout {
                header: 0,
                offset: i64::from(n.saturating_sub(2)),
            },
            (None, None) => Layout {
                header: 0,
                offset: 0,
            },
        };
        self.book.start_sheet(layout.header, &self.widths)?;
        let r = &mut self.rows;
        r.row(layout.header);
        r.string(0, PROBLEMS, Style::Bold);
        for (h, col) in self.headers.iter().zip(&self.out_cols) {
            if let (Some(col), false) = (*col, h.is_empty()) {
                r.string(col, fit(h, MAX_CELL).0, Style::Bold);
            }
        }
        if let Some(col) = self.outcome_col {
            r.string(col, OUTCOME, Style::Bold);
            r.string(col + 1, NEW_ID, Style::Bold);
        }
        self.last_row = layout.header;
        self.layout = Some(layout);
        Ok(layout)
    }

    pub fn row(
        &mut self,
        number: u32,
        cells: &Cells,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        let layout = self.layout(Some(number))?;
        let Some(sheet_row) = u32::try_from(i64::from(number) - 1 - layout.offset)
            .ok()
            .filter(|&r| r > self.last_row)
        else {
            anyhow::bail!(
                "annotate: rows must come in input order, below the header (row {number} came \
                 after row {})",
                i64::from(self.last_row) + 1 + layout.offset
            );
        };
        if problems.is_empty() && cells.is_blank() {
            self.summary.blank_rows += 1;
            return Ok(());
        }
        if sheet_row >= MAX_ROWS {
            anyhow::bail!(
                "row {number} does not fit: an XLSX sheet holds at most {MAX_ROWS} rows; \
                 annotate a part of the file at a time, or use --report"
            );
        }
        self.last_row = sheet_row;
        self.summary.add_row(problems);
        if let Some((o, _)) = outcome {
            self.summary.add_outcome(o);
        }
        self.write_row(sheet_row, cells, problems, outcome)
            .with_context(|| format!("writing row {number}"))
    }

    fn write_row(
        &mut self,
        row: u32,
        cells: &Cells,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> std::io::Result<()> {
        let Writer {
            book,
            rows,
            out_cols,
            rtl,
            extra_col,
            outcome_col,
            summary,
            marks,
            text,
            note,
            ..
        } = self;
        rows.row(row);

        mark(problems, out_cols, marks);

        if !problems.is_empty() {
            problems_text(problems, text);
            rows.string(0, fit(text, MAX_CELL).0, style_of(worst(problems.iter())));
        }

        // One scan of the row says whether any of its cells needs escaping (nearly none does).
        let plain = !needs_escape(cells.text());
        let mut m = 0;
        for (i, cell) in cells.iter().enumerate() {
            let col = match out_cols.get(i) {
                Some(Some(c)) => *c,
                Some(None) => continue,
                None => match *extra_col {
                    Some(first) if first as usize + (i - out_cols.len()) < MAX_COLS => {
                        first + (i - out_cols.len()) as u16
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
            let rtl = rtl.get(i).copied().unwrap_or(false);
            let styled = |style: Style| if rtl { style.right_to_left() } else { style };
            if start == m {
                if !value.is_empty() {
                    rows.text_cell(col, value, styled(Style::Plain), plain);
                }
                continue;
            }
            let flagged = marks[start..m].iter().map(|&(_, p)| &problems[p]);
            let style = styled(style_of(worst(flagged.clone())));
            if value.is_empty() {
                rows.blank(col, style);
            } else {
                rows.text_cell(col, value, style, plain);
            }
            if summary.notes < MAX_NOTES {
                note_text(flagged, cut, note);
                book.note(row, col, note, note_height(note))?;
                summary.notes += 1;
            } else {
                summary.notes_skipped += 1;
            }
        }

        if let (Some(col), Some((o, id))) = (*outcome_col, outcome) {
            // A likely duplicate of a customer already there is marked on its outcome.
            let mut similar = problems
                .iter()
                .filter(|p| p.column.is_empty() && duplicates::is_message(&p.message))
                .peekable();
            if similar.peek().is_some() && summary.notes < MAX_NOTES {
                rows.string(col, fit(o, MAX_CELL).0, Style::Warning);
                note_text(similar, false, note);
                book.note(row, col, note, note_height(note))?;
                summary.notes += 1;
            } else {
                rows.string(col, fit(o, MAX_CELL).0, Style::Plain);
            }
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                rows.string(col + 1, fit(id, MAX_CELL).0, Style::Plain);
            }
        }
        book.flush_rows(rows, false)
    }

    /// Closes the data sheet, writes the `Summary` sheet and the rest of the file.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let header = self.layout(None)?.header;
        let mut summary = SheetXml::new();
        let widths = self.summary.write(&mut summary);
        self.book.finish(
            &mut self.rows,
            &self.sheet_name,
            (header, self.last_row, self.last_col),
            (SUMMARY_SHEET, &mut summary, &widths),
        )?;
        Ok(())
    }
}

/// Which problems sit on a cell of the copy, as (input column, problem) sorted by column; the
/// rest are the row's own.
fn mark(problems: &[Problem], out_cols: &[Option<u16>], marks: &mut Vec<(usize, usize)>) {
    marks.clear();
    for (i, p) in problems.iter().enumerate() {
        if let Some(c) = column_index(&p.column) {
            if out_cols.get(c).is_some_and(|o| o.is_some()) {
                marks.push((c, i));
            }
        }
    }
    marks.sort_unstable();
}

/// Excel's rules for sheet names, and not our `Summary`.
fn valid_sheet_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=31).contains(&n)
        && !name.contains(['[', ']', ':', '*', '?', '/', '\\'])
        && !name.starts_with('\'')
        && !name.ends_with('\'')
        && !name.eq_ignore_ascii_case("history")
        && !name.eq_ignore_ascii_case(SUMMARY_SHEET)
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
pub(super) fn fit(text: &str, max: usize) -> (&str, bool) {
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

fn style_of(severity: Severity) -> Style {
    match severity {
        Severity::Error => Style::Error,
        Severity::Warning => Style::Warning,
    }
}

/// The `Problems` cell: `ERROR N° SIRET: "123" is not 14 digits; WARNING: the row has ...`.
/// Upper-case severities let the autofilter's "contains ERROR" find the rows that block.
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
        // contacts help speaks of the JSON column. A likely duplicate's name is no mistake.
        if (p.field == "contacts" && p.message.contains("e-mail"))
            || duplicates::is_message(&p.message)
        {
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
    let keep = fit(out, MAX_CELL - 54).0.len();
    out.truncate(keep);
}

/// A note's height in pixels for its text in a 300-pixel-wide box, so it shows whole.
fn note_height(text: &str) -> u32 {
    const CHARS_PER_LINE: usize = 44;
    let lines: usize = text
        .lines()
        .map(|l| l.chars().count().div_ceil(CHARS_PER_LINE).max(1))
        .sum();
    (lines as u32).clamp(2, 30) * 15 + 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_become_indexes() {
        assert_eq!(column_index("A"), Some(0));
        assert_eq!(column_index("Z"), Some(25));
        assert_eq!(column_index("AA"), Some(26));
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

    #[test]
    fn sheet_names_follow_excel_rules() {
        assert!(valid_sheet_name("Clients"));
        assert!(valid_sheet_name("Feuil 1 (2024)"));
        assert!(!valid_sheet_name(""));
        assert!(!valid_sheet_name("a/b"));
        assert!(!valid_sheet_name(&"x".repeat(32)));
        assert!(!valid_sheet_name("summary"));
    }
}
