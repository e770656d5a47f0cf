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
//! unreadable file is an ordinary error (exit 3) naming the file. So does a CSV file read in a
//! code page without Arabic letters whose Arabic fields have none (`validate::mojibake`): the
//! first rows are read ahead to tell, before any is handed on.
//!
//! Two threads for two cores. Reading runs on a thread of its own: for CSV (and XLS, ODS) the
//! pipeline's, which tokenises and decodes each row, tells whether it is surely NFC, and hands
//! it over as one buffer of text (see [`Cells`](crate::read::Cells)); XLSX, XLSB and JSON are
//! parsed on `read`'s. The checks that need every earlier row (a repeated key, a likely
//! duplicate) run on the caller's thread, in row order, and so do the checks of a row alone
//! unless the caller's thread falls behind: then the reading thread does those too, as long as
//! it stays behind, so that neither core waits. A third, checking thread between the two was
//! measured slower, as each row then crossed cores twice.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::mapping::{self, MapFile, Mapping};
use crate::read::threaded::{self, Receiver};
use crate::read::{self, Format, ReadError, ReadOptions, Row, Rows, Table};
use crate::validate::mojibake::{self, Sample};
use crate::validate::{Checked, Severity, ValidateOptions, Validator};

/// A change made to each row as read, before it is checked: the page's edits of cells.
pub type Amend = Box<dyn FnMut(&mut Row) + Send>;

/// Full batches of rows the caller's thread may have waiting before the reading thread checks
/// the rows it reads itself (of the four the channel holds).
const BEHIND: usize = 2;
/// How many rows ahead of its checks across rows a row checked on the reading thread has its
/// table slots fetched.
const LOOKAHEAD: usize = 3;

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
    validator: Validator,
    table: Box<Table>,
    row: Row,
    /// The reading thread, when the table's rows could be taken to it.
    worker: Option<Receiver<Checked>>,
    /// Rows read ahead and checked, not handed on yet.
    ahead: VecDeque<Checked>,
    /// The table has given its last row.
    ended: bool,
    counts: Counts,
    /// Notes of the table already known when it was opened (the commands print those); the
    /// ones made at the end of the file are printed here.
    notes_said: usize,
    amend: Option<Amend>,
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
        Pipeline::build(table, file, opts, None)
    }

    /// Like [`Pipeline::from_table`], with `amend` applied to each row as read, before it is
    /// checked (rows read ahead included): the page's edits, checked as if the file held them.
    pub fn from_table_amended(
        table: Table,
        file: Option<&MapFile>,
        opts: &ValidateOptions,
        amend: Amend,
    ) -> anyhow::Result<Pipeline> {
        Pipeline::build(table, file, opts, Some(amend))
    }

    fn build(
        mut table: Table,
        file: Option<&MapFile>,
        opts: &ValidateOptions,
        amend: Option<Amend>,
    ) -> anyhow::Result<Pipeline> {
        let mapping = Mapping::infer(&table.headers, file);
        let validator = match Validator::new(&mapping, opts) {
            Ok(validator) => validator,
            Err(e) => {
                let e = e.context(format!(
                    "{}: the columns cannot be used as they are",
                    table.location()
                ));
                return Err(match hint(&mapping, &mut table) {
                    Some(hint) => crate::error::usage(format!("{e:#}. {hint}")),
                    None => e,
                });
            }
        };
        let mut pipeline = Pipeline {
            mapping,
            validator,
            notes_said: table.notes.len(),
            table: Box::new(table),
            row: Row::new(),
            worker: None,
            ahead: VecDeque::new(),
            ended: false,
            counts: Counts::default(),
            amend,
        };
        if let Some(rows) = pipeline.table.take_rows() {
            pipeline.worker = Some(pipeline.start_worker(rows));
        }
        pipeline.check_script()?;
        Ok(pipeline)
    }

    /// Refuses a CSV file decoded in a code page without Arabic letters when its Arabic fields
    /// have none as a rule (see `validate::mojibake`), from rows read ahead.
    fn check_script(&mut self) -> anyhow::Result<()> {
        let table = &self.table;
        let read_as = table
            .encoding
            .and_then(|e| encoding_rs::Encoding::for_label(e.as_bytes()));
        let Some(read_as) = read_as.filter(|e| !mojibake::can_hold_arabic(e)) else {
            return Ok(());
        };
        if table.format != Format::Csv || !self.validator.has_arabic_fields() {
            return Ok(());
        }
        let mut sample = Sample::default();
        while self.ahead.len() < mojibake::SAMPLE_ROWS && !sample.is_enough() {
            let mut row = Checked::new();
            if !self.read(&mut row)? {
                break;
            }
            sample.add(&row);
            self.ahead.push_back(row);
        }
        sample
            .verdict(&self.table.location(), read_as)
            .map_err(crate::error::usage)
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
        match self.ahead.pop_front() {
            Some(mut row) => std::mem::swap(out, &mut row),
            None if !self.read(out)? => return Ok(false),
            None => {}
        }
        self.count(out);
        Ok(true)
    }

    /// Reads and checks the next row of the table into `out`.
    fn read(&mut self, out: &mut Checked) -> Result<bool, ReadError> {
        let more = !self.ended
            && match &mut self.worker {
                Some(worker) => {
                    let more = worker.next(out)?;
                    // The table slots of a row the reading thread checked alone are fetched a
                    // few rows ahead of its turn (a row checked here has them fetched then).
                    if let Some(ahead) = worker.upcoming(LOOKAHEAD).filter(|r| r.checked_alone) {
                        self.validator.prefetch_across(ahead);
                    }
                    more
                }
                None => self.read_here(out)?,
            };
        if !more {
            self.end()?;
            return Ok(false);
        }
        if !out.checked_alone {
            self.validator.check_alone(out);
        }
        self.validator.check_across(out);
        Ok(true)
    }

    /// Reads the next row of the table into `out`, on this thread.
    fn read_here(&mut self, out: &mut Checked) -> Result<bool, ReadError> {
        if !self.table.next_row(&mut self.row)? {
            return Ok(false);
        }
        if let Some(amend) = &mut self.amend {
            amend(&mut self.row);
        }
        hand_over(&mut self.row, out);
        Ok(true)
    }

    /// Reads the table's rows on a thread of its own, which checks each row alone too
    /// whenever this thread has [`BEHIND`] batches waiting.
    fn start_worker(&mut self, mut rows: Rows) -> Receiver<Checked> {
        let mut amend = self.amend.take();
        let mut alone = self.validator.apart();
        let file = self.table.file.clone();
        let fail = move |reason: &str| ReadError::Unreadable {
            file: file.clone(),
            reason: format!("the reader failed: {reason}"),
        };
        threaded::spawn(fail, move |emit| {
            let mut row = Row::new();
            loop {
                if !rows.next_row(&mut row)? {
                    return Ok(());
                }
                if let Some(amend) = &mut amend {
                    amend(&mut row);
                }
                let behind = emit.backlog() >= BEHIND;
                let Ok(out) = emit.slot() else {
                    return Ok(());
                };
                hand_over(&mut row, out);
                if behind {
                    alone.check_alone(out);
                    out.checked_alone = true;
                } else {
                    // The one pass over every byte the checks need: done here in any case.
                    out.cells.find_nfc();
                }
                emit.commit();
            }
        })
    }

    /// The end of the rows: the table's notes of the whole file, said once.
    fn end(&mut self) -> Result<(), ReadError> {
        self.ended = true;
        if self.worker.take().is_some() {
            // The table's rows were taken: asked for one more, it ends, making those notes.
            self.table.next_row(&mut self.row)?;
        }
        for note in &self.table.notes[self.notes_said..] {
            crate::warn!("{note}");
        }
        self.notes_said = self.table.notes.len();
        Ok(())
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

/// Moves a row as read into `out`, to be checked.
fn hand_over(row: &mut Row, out: &mut Checked) {
    out.row = row.number;
    out.ragged = row.ragged;
    out.checked_alone = false;
    std::mem::swap(&mut out.cells, &mut row.cells);
    std::mem::swap(&mut out.issues, &mut row.issues);
}

/// What the error of columns that cannot be used adds, when the file says more than its
/// headers: another sheet that holds the list, or a `Société` column of names.
fn hint(mapping: &Mapping, table: &mut Table) -> Option<String> {
    if let Some(other) = &table.sheet_with_header {
        return Some(format!(
            "Sheet \"{other}\" has a row of headers that map to fields: give --sheet \"{other}\" \
             to read it"
        ));
    }
    company_names(mapping, table)
}

/// Rows looked at to tell a column of names from one of yes/no values.
const SAMPLED: usize = 20;

/// With nothing mapped to name, the column read as isCompany when it holds names rather than
/// yes/no values: `Société` is "is a company" to the schema, and the company's name in many
/// contact lists. Said as the fix, never done silently: a column of legal forms (`SARL`) holds
/// no names either.
fn company_names(mapping: &Mapping, table: &mut Table) -> Option<String> {
    if mapping.column_of_field("name").is_some() {
        return None;
    }
    let column = mapping
        .column_of_field("isCompany")
        .filter(|c| !c.from_file)?;
    let (mut seen, mut names, mut example) = (0, 0, None);
    let mut row = Row::new();
    while seen < SAMPLED && table.next_row(&mut row).ok()? {
        let cell = row.cells.get(column.index).unwrap_or("").trim();
        if cell.is_empty() {
            continue;
        }
        seen += 1;
        if crate::validate::coerce::parse_bool(cell).is_none() {
            names += 1;
            example.get_or_insert_with(|| cell.to_string());
        }
    }
    let (letter, header) = (&column.letter, &column.header);
    (names * 2 > seen).then(|| {
        format!(
            "Column {letter} ({header:?}) is read as isCompany (yes or no), but holds text such \
             as {:?}: if it is the customers' names, say so in a mapping file ([columns] \
             {header:?} = \"name\") and give it with --map",
            example.unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::coerce::luhn_check_digit;

    /// A list whose rows repeat earlier rows' SIRETs and names at every distance, with invalid
    /// cells among them.
    fn list_with_repeats(rows: u64) -> String {
        let mut text = String::from("name;siret;zipCode;city;capital;email\n");
        for i in 0..rows {
            let payload = format!("{:013}", 4_100_000_000_000 + i * 7);
            let mut siret = format!("{payload}{}", luhn_check_digit(&payload));
            let mut name = format!("Épicerie n°{i}");
            if i % 7 == 3 {
                // The SIRET of a row a few rows up, or many: an error.
                let j = i - 1 - (i * 13) % i.min(200);
                let payload = format!("{:013}", 4_100_000_000_000 + j * 7);
                siret = format!("{payload}{}", luhn_check_digit(&payload));
            }
            if i % 11 == 5 {
                // The name of a row up, without a SIRET: a warning.
                name = format!("ÉPICERIE N°{}", i - 1 - (i * 17) % i.min(300));
                siret.clear();
            }
            let capital = if i % 13 == 0 { "beaucoup" } else { "1 000" };
            text += &format!("{name};{siret};01000;Bourg;{capital};c{i}@exemple.fr\n");
        }
        text
    }

    #[test]
    fn rows_checked_on_either_thread_get_the_problems_of_a_check_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        std::fs::write(&path, list_with_repeats(3000)).unwrap();
        let opts = ValidateOptions::default();

        // Every row checked here, in order, as `Validator::check` does.
        let mut table = read::open(&path, &ReadOptions::default(), &mapping::is_header).unwrap();
        let mut validator = Validator::new(&Mapping::infer(&table.headers, None), &opts).unwrap();
        let (mut row, mut checked) = (Row::new(), Checked::new());
        let mut expected = Vec::new();
        while table.next_row(&mut row).unwrap() {
            hand_over(&mut row, &mut checked);
            validator.check(&mut checked);
            expected.push((checked.row, checked.problems.clone()));
        }

        // The pipeline, slow at first, so that the reading thread checks rows too.
        let mut pipeline = Pipeline::open(
            &Input {
                file: path,
                ..Input::default()
            },
            &opts,
        )
        .unwrap();
        let (mut seen, mut on_reader) = (Vec::new(), 0);
        while pipeline.next(&mut checked).unwrap() {
            if seen.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            on_reader += usize::from(checked.checked_alone);
            seen.push((checked.row, checked.problems.clone()));
        }
        assert_eq!(seen.len(), expected.len());
        for (seen, expected) in seen.iter().zip(&expected) {
            assert_eq!(seen, expected);
        }
        let found = |words: &str| {
            let problems = expected.iter().flat_map(|(_, p)| p);
            problems.filter(|p| p.message.contains(words)).count()
        };
        assert!(found("already appears on row") > 300);
        assert!(found("both would be created") > 150);
        if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            assert!(
                on_reader > 0 && on_reader < seen.len(),
                "{on_reader} rows checked on the reader"
            );
        }
    }

    #[test]
    fn amended_rows_are_checked_as_if_the_file_held_them() {
        // The page's edits are an overlay on the uploaded file: the pass must check them.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "name,capital\nA,1\nB,\"1,5\"\nC,2\n").unwrap();
        let table = read::open(&path, &ReadOptions::default(), &mapping::is_header).unwrap();
        let amend: Amend = Box::new(|row: &mut Row| {
            if row.number == 3 {
                row.cells.set(1, |c| c.push('7'));
            }
        });
        let mut pipeline =
            Pipeline::from_table_amended(table, None, &ValidateOptions::default(), amend).unwrap();
        let mut row = Checked::new();
        let mut seen = Vec::new();
        while pipeline.next(&mut row).unwrap() {
            seen.push((row.row, row.cells.to_vec(), row.problems.len()));
        }
        assert_eq!(seen[1], (3, vec!["B".to_string(), "7".to_string()], 0));
        assert_eq!(pipeline.counts().invalid, 0);
    }
}
