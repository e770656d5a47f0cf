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
//! Memory stays flat: rows are compressed into the file as they come, on a thread of their own
//! so validation goes on meanwhile, and notes wait in temporary files beside the output
//! (`xlsx.rs` says why rust_xlsxwriter's constant-memory mode is not enough here). Blank input
//! rows stay blank rows at their place, and with [`Annotator::match_source`] the header stays
//! on the input's header row, so every row keeps its number and the rows named in the text
//! and CSV reports are the same rows in the annotated copy.

mod summary;
mod writer;
mod xlsx;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use anyhow::Context as _;

use crate::pipeline::Source;
use crate::read::Cells;
use crate::validate::Problem;
use writer::Writer;

/// Header of the first column, which sums up each row's problems. Mapping ignores it.
pub const PROBLEMS: &str = "Problems";
/// Header of the import outcome column (`created`, `failed`, ...). Mapping ignores it.
pub const OUTCOME: &str = "_outcome";
/// Header of the column with the id the API gave a created customer. Mapping ignores it.
pub const NEW_ID: &str = "_new_id";
/// The second sheet.
pub const SUMMARY_SHEET: &str = "Summary";

/// Flagged cells that get a note; past it, cells are still coloured and the `Problems` column
/// still says everything. Memory does not limit notes, Excel does: tens of thousands of notes
/// make a workbook slow to open, and nobody reads that many.
pub const MAX_NOTES: u64 = 20_000;

/// Rows handed to the writing thread at a time.
const BATCH: usize = 256;
/// Batches in flight: bounds memory whatever the input's size.
const IN_FLIGHT: usize = 4;

/// One row as the writing thread gets it; its buffers come back to be refilled.
#[derive(Default)]
struct Job {
    number: u32,
    cells: Cells,
    problems: Vec<Problem>,
    outcome: Option<(String, Option<String>)>,
}

enum Msg {
    Source {
        sheet: Option<String>,
        header_row: u32,
    },
    Rows(Vec<Job>),
    Finish,
}

/// Writes an annotated copy of a sheet, row by row in input order.
pub struct Annotator {
    path: PathBuf,
    tmp: PathBuf,
    to_writer: Option<SyncSender<Msg>>,
    spent: Receiver<Vec<Job>>,
    worker: Option<JoinHandle<anyhow::Result<()>>>,
    batch: Vec<Job>,
    pool: Vec<Job>,
    finished: bool,
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
        let mut writer = match Writer::new(file, &tmp, headers, with_outcome) {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.context(format!("annotating into {}", path.display())));
            }
        };
        let (to_writer, from_caller) = mpsc::sync_channel::<Msg>(IN_FLIGHT);
        let (give_back, spent) = mpsc::sync_channel::<Vec<Job>>(IN_FLIGHT + 2);
        let worker = thread::Builder::new()
            .name("custbulk-annotate".into())
            .spawn(move || -> anyhow::Result<()> {
                for msg in from_caller {
                    match msg {
                        Msg::Source { sheet, header_row } => {
                            writer.match_source(sheet.as_deref(), header_row)
                        }
                        Msg::Rows(jobs) => {
                            for j in &jobs {
                                let outcome = j
                                    .outcome
                                    .as_ref()
                                    .map(|(o, id)| (o.as_str(), id.as_deref()));
                                writer.row(j.number, &j.cells, &j.problems, outcome)?;
                            }
                            let _ = give_back.try_send(jobs);
                        }
                        Msg::Finish => return writer.finish(),
                    }
                }
                // The caller went away without finishing: leave no file behind.
                Ok(())
            })
            .context("starting the annotating thread")?;
        Ok(Annotator {
            path: path.to_path_buf(),
            tmp,
            to_writer: Some(to_writer),
            spent,
            worker: Some(worker),
            batch: Vec::with_capacity(BATCH),
            pool: Vec::new(),
            finished: false,
        })
    }

    /// Makes the copy look like its input: the data sheet takes the input's sheet name (so
    /// `--sheet NAME` works on both files) and the header stays on the input's header row,
    /// with blank rows above it in place of the title rows, so every row keeps its number.
    /// Call it before the first row; without it the header goes on row 1.
    pub fn match_source(&mut self, source: &Source) -> anyhow::Result<()> {
        self.send(Msg::Source {
            sheet: source.sheet.clone(),
            header_row: source.header_row,
        })
    }

    /// One input row, in input order: its row number, cells as read, problems, and for an
    /// import its outcome (`created`, `failed`, ...) and new id. A blank row stays blank.
    /// A writing error shows here a few rows late, or at [`Annotator::finish`].
    pub fn row(
        &mut self,
        number: u32,
        cells: &Cells,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        let mut job = self.pool.pop().unwrap_or_default();
        job.cells.clone_from(cells);
        self.push(job, number, problems, outcome)
    }

    /// Like [`Annotator::row`], but takes the cells rather than copying them: `cells` is left
    /// holding the buffers of an earlier row, stale text to be overwritten, as
    /// [`Pipeline::next`](crate::pipeline::Pipeline::next) does with a row it refills. For
    /// callers done with the cells: it spares the copy, the copy's share of the time.
    pub fn take_row(
        &mut self,
        number: u32,
        cells: &mut Cells,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        let mut job = self.pool.pop().unwrap_or_default();
        std::mem::swap(&mut job.cells, cells);
        self.push(job, number, problems, outcome)
    }

    fn push(
        &mut self,
        mut job: Job,
        number: u32,
        problems: &[Problem],
        outcome: Option<(&str, Option<&str>)>,
    ) -> anyhow::Result<()> {
        job.number = number;
        job.problems.clear();
        job.problems.extend_from_slice(problems);
        match (&mut job.outcome, outcome) {
            (Some((o, id)), Some((new_o, new_id))) => {
                o.clear();
                o.push_str(new_o);
                *id = new_id.map(str::to_string);
            }
            (slot, new) => *slot = new.map(|(o, id)| (o.to_string(), id.map(str::to_string))),
        }
        self.batch.push(job);
        if self.batch.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(())
    }

    fn send_batch(&mut self) -> anyhow::Result<()> {
        let mut next = match self.spent.try_recv() {
            Ok(mut spent) => {
                self.pool.append(&mut spent);
                spent
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        std::mem::swap(&mut next, &mut self.batch);
        self.send(Msg::Rows(next))
    }

    fn send(&mut self, msg: Msg) -> anyhow::Result<()> {
        let sent = match &self.to_writer {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writing thread stopped: its error says why.
        self.to_writer = None;
        Err(self.join().err().unwrap_or_else(|| {
            anyhow::anyhow!("the annotated copy {} failed earlier", self.path.display())
        }))
    }

    fn join(&mut self) -> anyhow::Result<()> {
        let result = match self.worker.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the annotating thread panicked"))),
            None => Ok(()),
        };
        result.with_context(|| format!("writing the annotated copy {}", self.path.display()))
    }

    /// Writes the `Summary` sheet and closes the file: written to a temporary file beside the
    /// target and renamed over it once complete, so a failed run never leaves a partial
    /// workbook under the target's name.
    pub fn finish(mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() {
            self.send_batch()?;
        }
        self.send(Msg::Finish)?;
        self.to_writer = None;
        self.join()?;
        std::fs::rename(&self.tmp, &self.path).with_context(|| {
            format!(
                "moving the annotated copy into place as {}",
                self.path.display()
            )
        })?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Annotator {
    /// An annotator dropped before [`Annotator::finish`] (the run failed) leaves no file.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.to_writer = None;
        let _ = self.join();
        let _ = std::fs::remove_file(&self.tmp);
        xlsx::remove_temp_files(&self.tmp);
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
