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
//! Rows are read and checked on a background thread in batches (`read` tokenises CSV and
//! parses XLSX on a thread of its own too), and only the repeated-key check (which needs every
//! earlier row) runs on the caller's thread. For CSV the read thread decodes the cells too,
//! so the checks have a core nearly to themselves; they run on the thread that receives the
//! cells, as they arrive, rather than being handed to an idle caller: cells decoded on another
//! core are cache misses wherever they are checked, and the prefetch that hides them works
//! best in one steady loop. Buffers travel back to the reader: a steady run allocates nothing
//! per row. On a one-core machine everything runs on the caller's thread.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

use anyhow::Context as _;

use crate::mapping::{self, MapFile, Mapping};
use crate::read::{self, Format, ReadError, ReadOptions, Row, Table};
use crate::validate::{Checked, Severity, ValidateOptions, Validator};

/// Where the rows come from: the file and how to read and map it. `clap`-ready, so commands
/// flatten it into their `Args`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Input {
    /// The customer list: .csv, .xlsx, .xlsm, .xlsb, .xls or .ods.
    pub file: PathBuf,

    /// The sheet to read, by name or 1-based position (default: the first sheet).
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,

    /// The row holding the headers (default: found among the first 10 rows).
    #[arg(long, value_name = "N")]
    pub header_row: Option<u32>,

    /// CSV encoding, e.g. utf-8 or windows-1252 (default: detected).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,

    /// CSV delimiter: `,`, `;`, `|` or `tab` (default: detected).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// A mapping file (TOML) naming columns, defaults and value translations; see
    /// `custbulk mapping FILE --write mapping.toml`.
    #[arg(long = "map", value_name = "MAPPING.toml")]
    pub map: Option<PathBuf>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "{s:?} is not a one-character delimiter (`,`, `;`, `|` or `tab`)"
        )),
    }
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

/// What a file turned out to be, kept when the table itself moves to the reader thread.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    pub sheet: Option<String>,
    pub sheet_names: Vec<String>,
    pub header_row: u32,
    pub headers: Vec<String>,
    pub title_rows_skipped: u32,
    pub encoding: Option<&'static str>,
    pub delimiter: Option<u8>,
    pub format: Format,
    pub notes: Vec<String>,
}

impl Source {
    /// The file (and sheet) as messages name them: `clients.xlsx, sheet "Feuil1"`.
    pub fn location(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{}, sheet \"{s}\"", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
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

/// Rows per batch sent from the reader thread.
const BATCH: usize = 256;
/// Batches in flight: bounds memory whatever the file's size.
const IN_FLIGHT: usize = 4;
/// How many rows ahead of the one being finished the key table slot is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// Rows handed from the reader thread to the caller's, checked but for repeated keys.
struct Batch {
    rows: Vec<Checked>,
    len: usize,
}

enum Rows {
    /// Read and checked on the caller's thread (a one-core machine).
    Direct(Box<Table>, Row),
    /// Read and checked (all but repeated keys) on a reader thread.
    Threaded(Box<Threaded>),
}

struct Threaded {
    full: mpsc::Receiver<Result<Batch, ReadError>>,
    empty: mpsc::SyncSender<Batch>,
    batch: Batch,
    next: usize,
    done: bool,
}

/// A file being read, mapped and validated row by row.
pub struct Pipeline {
    source: Source,
    mapping: Mapping,
    validator: Validator,
    rows: Rows,
    counts: Counts,
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
        let source = Source {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            sheet_names: table.sheet_names().to_vec(),
            header_row: table.header_row,
            headers: table.headers.clone(),
            title_rows_skipped: table.title_rows_skipped,
            encoding: table.encoding,
            delimiter: table.delimiter,
            format: table.format,
            notes: table.notes.clone(),
        };
        let rows = if thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            spawn_reader(table, validator.for_rows()).context("cannot start the reader thread")?
        } else {
            Rows::Direct(Box::new(table), Row::new())
        };
        Ok(Pipeline {
            source,
            mapping,
            validator,
            rows,
            counts: Counts::default(),
        })
    }

    /// The file, sheet, header row and headers.
    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn headers(&self) -> &[String] {
        &self.source.headers
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The field rows are matched on (`id` for the id column), when there is one.
    pub fn key_field(&self) -> Option<&'static str> {
        self.validator.key_field()
    }

    /// Counts of the rows returned so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Reads and checks the next row into `out` (reusing its buffers); `Ok(false)` at the end.
    /// Blank rows come through with `out.blank_row` set, so callers can keep every input row.
    pub fn next(&mut self, out: &mut Checked) -> Result<bool, ReadError> {
        match &mut self.rows {
            Rows::Direct(table, row) => {
                if !table.next_row(row)? {
                    return Ok(false);
                }
                out.row = row.number;
                out.ragged = row.ragged;
                std::mem::swap(&mut out.cells, &mut row.cells);
                self.validator.check(out);
            }
            Rows::Threaded(t) => {
                if t.next >= t.batch.len && !t.refill()? {
                    return Ok(false);
                }
                if let Some(ahead) = t.batch.rows[..t.batch.len].get(t.next + PREFETCH_AHEAD) {
                    self.validator.prefetch_key(ahead);
                }
                std::mem::swap(out, &mut t.batch.rows[t.next]);
                t.next += 1;
                self.validator.check_key(out);
            }
        }
        self.count(out);
        Ok(true)
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

impl Threaded {
    /// Gives the spent batch back to the reader and takes the next one. `Ok(false)` at the end.
    fn refill(&mut self) -> Result<bool, ReadError> {
        loop {
            if self.done {
                return Ok(false);
            }
            let spent = std::mem::replace(
                &mut self.batch,
                Batch {
                    rows: Vec::new(),
                    len: 0,
                },
            );
            if !spent.rows.is_empty() {
                let _ = self.empty.try_send(spent);
            }
            match self.full.recv().map_err(|_| ()) {
                Ok(Ok(batch)) => {
                    self.batch = batch;
                    self.next = 0;
                    if self.batch.len > 0 {
                        return Ok(true);
                    }
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(()) => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }
}

/// Checks a batch's rows (all but repeated keys), fetching the next row's cells meanwhile:
/// another core decoded them, so without the prefetch each cell is a cache miss in turn.
fn check_rows(validator: &mut Validator, rows: &mut [Checked]) {
    for i in 0..rows.len() {
        if let Some(next) = rows.get(i + 1) {
            prefetch_cells(&next.cells);
        }
        validator.check_row(&mut rows[i]);
    }
}

#[inline]
fn prefetch_cells(cells: &[String]) {
    #[cfg(target_arch = "x86_64")]
    for cell in cells {
        // SAFETY: a prefetch is a hint and never faults; the address is the cell's own buffer.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(cell.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cells;
}

/// Moves the table to a thread that reads batches of rows and checks them (all but repeated
/// keys); spent batches come back to be
/// refilled, so a steady run allocates nothing per row.
fn spawn_reader(mut table: Table, mut validator: Validator) -> std::io::Result<Rows> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Result<Batch, ReadError>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT + 2);
    let mut row = Row::new();
    thread::Builder::new()
        .name("custbulk-check".into())
        .spawn(move || loop {
            let mut batch = empty_rx.try_recv().unwrap_or_else(|_| Batch {
                rows: Vec::new(),
                len: 0,
            });
            if batch.rows.len() < BATCH {
                batch.rows.resize_with(BATCH, Checked::new);
            }
            let mut n = 0;
            let mut failed = None;
            while n < BATCH {
                match table.next_row(&mut row) {
                    Ok(true) => {
                        let c = &mut batch.rows[n];
                        c.row = row.number;
                        c.ragged = row.ragged;
                        std::mem::swap(&mut c.cells, &mut row.cells);
                        n += 1;
                    }
                    Ok(false) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            batch.len = n;
            check_rows(&mut validator, &mut batch.rows[..n]);
            let last = n < BATCH || failed.is_some();
            if full_tx.send(Ok(batch)).is_err() {
                return;
            }
            if let Some(e) = failed {
                let _ = full_tx.send(Err(e));
            }
            if last {
                return;
            }
        })?;
    Ok(Rows::Threaded(Box::new(Threaded {
        full: full_rx,
        empty: empty_tx,
        batch: Batch {
            rows: Vec::new(),
            len: 0,
        },
        next: 0,
        done: false,
    })))
}
