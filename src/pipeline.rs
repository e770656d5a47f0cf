//! Read → map → validate, as one stream of checked rows: what `validate` reports on and what
//! `import` uploads.
//!
//! ```no_run
//! use custbulk::pipeline::{Pipeline, Input};
//! use custbulk::validate::{Checked, ValidateOptions};
//! # fn main() -> anyhow::Result<()> {
//! let input = Input { file: "customers.xlsx".into(), ..Input::default() };
//! let mut pipeline = Pipeline::open(&input, &ValidateOptions::default())?;
//! let mut row = Checked::new();
//! while pipeline.next(&mut row)? {
//!     if row.blank_row { continue; }
//!     if row.is_valid() {
//!         let body = row.record(); // serde_json::Map with the API's names and types
//!         let _ = (row.row, row.id(), row.key(), &row.cells, row.blank_fields());
//!         # drop(body);
//!     } else {
//!         for p in &row.problems { eprintln!("row {}: {}", p.row, p.message); }
//!     }
//! }
//! println!("{} rows, {} valid", pipeline.counts().rows, pipeline.counts().valid);
//! # Ok(()) }
//! ```
//!
//! All configuration mistakes (mapping file, duplicate columns, `--match-on`, update without
//! an id) come out of [`Pipeline::open`] as usage errors (exit 2) before any row is read; an
//! unreadable file is an ordinary error (exit 3) naming the file.
//!
//! Three threads share the work, for two cores. Reading runs on a thread of its own (`read`
//! tokenises and decodes CSV, and parses XLSX, there); the checks that need one row alone
//! (coercion, folding, hashing its key and likely-duplicate values) run on a checking thread,
//! on batches of rows; the checks across rows (a key seen before, a likely duplicate: table
//! lookups in file order, their slots fetched a few rows ahead) run on the caller's thread as
//! it takes the rows, with whatever the caller does with them. Each row is one buffer of text
//! (see [`Cells`](crate::read::Cells)) and its checked form moves between threads by pointer,
//! so a row crossing cores costs one sequential read.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::Context as _;

use crate::mapping::{self, MapFile, Mapping};
use crate::read::{self, ReadError, ReadOptions, Row, Table};
use crate::validate::{Checked, Severity, ValidateOptions, Validator};

/// Where the rows come from: the file and how to read and map it.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub file: PathBuf,
    /// Sheet name (case-insensitive) or 1-based position; `None` is the first sheet.
    pub sheet: Option<String>,
    /// The header's 1-based row; `None` finds it among the first 10 rows.
    pub header_row: Option<u32>,
    /// CSV encoding label; `None` detects it.
    pub encoding: Option<String>,
    /// CSV delimiter; `None` detects it.
    pub delimiter: Option<u8>,
    /// A mapping file (TOML).
    pub map: Option<PathBuf>,
}

impl Input {
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            sheet: self.sheet.clone(),
            header_row: self.header_row,
            encoding: self.encoding.clone(),
            delimiter: self.delimiter,
        }
    }
}

/// Row counts so far. `rows` counts data rows, blank rows apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub blank_rows: u64,
    /// Problems of each severity.
    pub errors: u64,
    pub warnings: u64,
}

/// A file that cannot be opened is exit 3, except when a flag asked for something the file
/// does not have (a sheet, an encoding): that is a usage error, exit 2.
pub fn open_error(e: ReadError) -> anyhow::Error {
    match e {
        ReadError::UnknownSheet { .. } | ReadError::UnknownEncoding { .. } => {
            crate::error::usage(e.to_string())
        }
        e => anyhow::Error::new(e),
    }
}

/// A file being read, mapped and validated row by row.
pub struct Pipeline {
    mapping: Mapping,
    /// The checks across rows (the row checks run on [`Checker`]'s clone of it).
    validator: Validator,
    table: Box<Table>,
    row: Row,
    counts: Counts,
    /// Notes of the table already known when it was opened (the commands print those); the
    /// ones made at the end of the file are printed here.
    notes_said: usize,
    checker: Checker,
    /// Checked rows, in file order, waiting for the checks across rows.
    ready: VecDeque<Checked>,
    /// Rows whose buffers can be filled again.
    spare: Vec<Checked>,
    /// Batches at the checking thread.
    in_flight: usize,
    /// What ended the reading: the end of the table, or an error to give after the rows
    /// before it.
    ended: Option<Result<(), ReadError>>,
}

/// Rows a batch sent to the checking thread holds: channel operations rare, the batch in
/// cache.
const BATCH: usize = 256;
/// Batches at the checking thread (or on their way back) at most: enough to keep it busy
/// while the caller takes rows, few enough to bound memory.
const IN_FLIGHT: usize = 3;
/// How many rows ahead of the one taken the table slots of its checks across rows are
/// fetched.
const PREFETCH_AHEAD: usize = 8;

/// The checking thread: batches of rows in, the same rows checked out.
struct Checker {
    to: Option<mpsc::SyncSender<Vec<Checked>>>,
    from: mpsc::Receiver<Vec<Checked>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checker {
    fn start(mut validator: Validator) -> std::io::Result<Checker> {
        let (to, rows) = mpsc::sync_channel::<Vec<Checked>>(IN_FLIGHT);
        let (done, from) = mpsc::sync_channel(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("custbulk-check".into())
            .spawn(move || {
                for mut batch in rows {
                    for row in &mut batch {
                        validator.check_row(row);
                    }
                    if done.send(batch).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Checker {
            to: Some(to),
            from,
            thread: Some(thread),
        })
    }

    fn send(&self, batch: Vec<Checked>) {
        if let Some(to) = &self.to {
            // The thread only stops when this side hangs up.
            let _ = to.send(batch);
        }
    }

    /// The oldest batch sent, checked.
    fn receive(&self) -> Vec<Checked> {
        self.from.recv().expect("the checking thread checks every batch it gets")
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.to = None;
        if let Some(thread) = self.thread.take() {
            // A batch may be on its way back: let it come so that the thread can end.
            while self.from.recv().is_ok() {}
            let _ = thread.join();
        }
    }
}

impl Pipeline {
    /// Opens `input.file`, finds its header, maps the columns (with `input.map` when given) and
    /// prepares the checks for `opts`.
    pub fn open(input: &Input, opts: &ValidateOptions) -> anyhow::Result<Pipeline> {
        let file = input.map.as_deref().map(MapFile::load).transpose()?;
        let table = read::open(&input.file, &input.read_options(), &|cells| {
            mapping::is_header_with(cells, file.as_ref())
        })
        .map_err(open_error)?;
        Pipeline::from_table(table, file.as_ref(), opts)
    }

    /// Like [`Pipeline::open`], from a table already open (the mapping file already parsed).
    pub fn from_table(
        table: Table,
        file: Option<&MapFile>,
        opts: &ValidateOptions,
    ) -> anyhow::Result<Pipeline> {
        let mapping = Mapping::infer(&table.headers, file);
        let validator = Validator::new(&mapping, opts).with_context(|| {
            format!(
                "{}: the columns cannot be used as they are",
                table.location()
            )
        })?;
        let checker = Checker::start(validator.clone())
            .context("cannot start the thread that checks rows")?;
        Ok(Pipeline {
            mapping,
            validator,
            notes_said: table.notes.len(),
            table: Box::new(table),
            row: Row::new(),
            counts: Counts::default(),
            checker,
            ready: VecDeque::new(),
            spare: Vec::new(),
            in_flight: 0,
            ended: None,
        })
    }

    /// The file as read: its sheet, header row, headers and the notes on how it was read.
    pub fn source(&self) -> &Table {
        &self.table
    }

    pub fn headers(&self) -> &[String] {
        &self.table.headers
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The keys rows are matched on, when there are any.
    pub fn keys(&self) -> Option<&crate::lookup::Keys> {
        self.validator.keys()
    }

    /// Counts `n` more warnings, found of the last row by a check outside the pipeline
    /// (`validate --server`).
    pub fn add_warnings(&mut self, n: u64) {
        self.counts.warnings += n;
    }

    /// Counts of the rows returned so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Reads and checks the next row into `out` (reusing its buffers); `Ok(false)` at the end.
    /// Blank rows come through with `out.blank_row` set, so callers can keep every input row.
    pub fn next(&mut self, out: &mut Checked) -> Result<bool, ReadError> {
        if self.ready.is_empty() {
            self.refill();
        }
        let Some(mut row) = self.ready.pop_front() else {
            return match self.ended.replace(Ok(())) {
                Some(Err(e)) => Err(e),
                _ => {
                    for note in &self.table.notes[self.notes_said..] {
                        crate::warn!("{note}");
                    }
                    self.notes_said = self.table.notes.len();
                    Ok(false)
                }
            };
        };
        if let Some(ahead) = self.ready.get(PREFETCH_AHEAD) {
            self.validator.prefetch(ahead);
        }
        std::mem::swap(out, &mut row);
        self.spare.push(row);
        self.validator.check_across(out);
        self.count(out);
        Ok(true)
    }

    /// Keeps the checking thread busy with batches read from the table, and takes back the
    /// oldest, checked.
    fn refill(&mut self) {
        while self.in_flight < IN_FLIGHT && self.ended.is_none() {
            let batch = self.read_batch();
            if batch.is_empty() {
                break;
            }
            self.checker.send(batch);
            self.in_flight += 1;
        }
        if self.in_flight > 0 {
            let batch = self.checker.receive();
            self.in_flight -= 1;
            self.ready.extend(batch);
        }
    }

    /// Up to [`BATCH`] rows from the table, in buffers used before; at the table's end or a
    /// read error, what was read before it (the error is kept for after those rows).
    fn read_batch(&mut self) -> Vec<Checked> {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            match self.table.next_row(&mut self.row) {
                Ok(true) => {}
                Ok(false) => {
                    self.ended = Some(Ok(()));
                    break;
                }
                Err(e) => {
                    self.ended = Some(Err(e));
                    break;
                }
            }
            let mut out = self.spare.pop().unwrap_or_default();
            out.row = self.row.number;
            out.ragged = self.row.ragged;
            std::mem::swap(&mut out.cells, &mut self.row.cells);
            std::mem::swap(&mut out.issues, &mut self.row.issues);
            batch.push(out);
        }
        batch
    }

    fn count(&mut self, out: &Checked) {
        let c = &mut self.counts;
        if out.blank_row {
            c.blank_rows += 1;
            return;
        }
        c.rows += 1;
        let mut errors = 0;
        for p in &out.problems {
            match p.severity {
                Severity::Error => errors += 1,
                Severity::Warning => c.warnings += 1,
            }
        }
        c.errors += errors;
        if errors == 0 {
            c.valid += 1;
        } else {
            c.invalid += 1;
        }
    }
}
