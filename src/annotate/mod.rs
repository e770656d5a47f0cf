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
//! out.match_source(pipeline.source());
//! let mut row = Checked::new();
//! while pipeline.next(&mut row)? {
//!     out.row(row.row, &row.cells, &row.problems, None)?;
//! }
//! out.finish()?;
//! # Ok(()) }
//! ```
//!
//! Memory stays flat: rows become sheet XML on the caller's thread, where their cells are
//! still in cache, and are compressed into the file as they come on a thread of its own; notes
//! wait in temporary files beside the output
//! (`xlsx.rs` says why rust_xlsxwriter's constant-memory mode is not enough here). Blank input
//! rows stay blank rows at their place, and with [`Annotator::match_source`] the header stays
//! on the input's header row, so every row keeps its number and the rows named in the text
//! and CSV reports are the same rows in the annotated copy.

mod summary;
mod writer;
mod xlsx;

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::output::TempFile;
use crate::read::{Cells, Table};
use crate::validate::Problem;
use writer::Writer;

pub use crate::schema::columns::{NEW_ID, OUTCOME, PROBLEMS};
/// The second sheet.
pub const SUMMARY_SHEET: &str = "Summary";

/// Flagged cells that get a note; past it, cells are still coloured and the `Problems` column
/// still says everything. Memory does not limit notes, Excel does: tens of thousands of notes
/// make a workbook slow to open, and nobody reads that many.
pub const MAX_NOTES: u64 = 20_000;

/// Writes an annotated copy of a sheet, row by row in input order.
pub struct Annotator {
    path: PathBuf,
    /// The workbook until it is complete; `None` once it is under its name.
    temp: Option<TempFile>,
    writer: Option<Writer>,
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
        let temp = TempFile::beside(path, "tmp");
        let tmp = temp.path();
        let file = File::create(tmp).with_context(|| {
            format!(
                "cannot write the annotated copy {}: check that its folder exists and is writable",
                path.display()
            )
        })?;
        let writer = Writer::new(file, tmp, headers, with_outcome)
            .with_context(|| format!("annotating into {}", path.display()))?;
        Ok(Annotator {
            path: path.to_path_buf(),
            temp: Some(temp),
            writer: Some(writer),
        })
    }

    /// Makes the copy look like its input: the data sheet takes the input's sheet name (so
    /// `--sheet NAME` works on both files) and the header stays on the input's header row,
    /// with blank rows above it in place of the title rows, so every row keeps its number.
    /// Call it before the first row; without it the header goes on row 1.
    pub fn match_source(&mut self, source: &Table) {
        if let Some(w) = &mut self.writer {
            w.match_source(source.sheet.as_deref(), source.header_row);
        }
    }

    /// Shows the cells of `columns` (0-based input columns) right to left, Excel's reading
    /// order for Arabic: [`crate::mapping::Mapping::right_to_left_columns`].
    pub fn right_to_left(&mut self, columns: impl IntoIterator<Item = usize>) {
        if let Some(w) = &mut self.writer {
            w.right_to_left(columns);
        }
    }

    /// One input row, in input order: its row number, cells as read, problems, and for an
    /// import its outcome (`created`, `failed`, ...) and new id. A blank row stays blank.
    pub fn row(
        &mut self,
        number: u32,
        cells: &Cells,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        let Some(w) = &mut self.writer else {
            return Err(self.failed_earlier());
        };
        let written = w.row(number, cells, problems, outcome);
        if written.is_err() {
            self.writer = None;
        }
        written.with_context(|| format!("writing the annotated copy {}", self.path.display()))
    }

    /// Writes the `Summary` sheet and closes the file: written to a temporary file beside the
    /// target and renamed over it once complete, so a failed run never leaves a partial
    /// workbook under the target's name.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let Some(w) = self.writer.take() else {
            return Err(self.failed_earlier());
        };
        w.finish()
            .with_context(|| format!("writing the annotated copy {}", self.path.display()))?;
        let temp = self
            .temp
            .take()
            .expect("the workbook until it is committed");
        temp.commit(&self.path).with_context(|| {
            format!(
                "moving the annotated copy into place as {}",
                self.path.display()
            )
        })
    }

    fn failed_earlier(&self) -> anyhow::Error {
        anyhow::anyhow!("the annotated copy {} failed earlier", self.path.display())
    }
}

impl Drop for Annotator {
    /// An annotator dropped before [`Annotator::finish`] (the run failed) leaves no file.
    fn drop(&mut self) {
        let Some(temp) = self.temp.take() else {
            return;
        };
        // The writer's compressing thread stops first, so nothing writes after the removal.
        self.writer = None;
        xlsx::remove_temp_files(temp.path());
    }
}
