//! The results file and the failed file, written in input order.
//!
//! Rows finish out of order (requests run concurrently); a small reorder buffer releases them in
//! input order, so the results file has one line per input row, in order: the producer's own
//! cells (an import's input columns) then the outcome columns it asked for. Rows that need
//! fixing also go, in the input's own columns, to the failed file, ready to correct and import
//! again. Both are [`CsvOutput`]s: they appear under their names only when complete.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Done, Outcome};
use crate::annotate::Annotator;
use crate::output::CsvOutput;
use crate::read::Cells;
use crate::schema::{self, columns};
use crate::validate::{Problem, Severity};

/// Rows that resembled a customer already there, by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Similar {
    /// Created (or would be) although likely the same as a customer already there.
    pub possible_duplicates: u64,
    /// Another establishment of a company that is already a customer.
    pub same_company: u64,
}

impl Similar {
    fn count(&mut self, outcome: Outcome, duplicate: bool) {
        let created = matches!(outcome, Outcome::Created | Outcome::WouldCreate);
        match (duplicate, created) {
            (true, true) => self.possible_duplicates += 1,
            (false, _) => self.same_company += 1,
            (true, false) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Similar::default()
    }
}

/// A column the results file may add after the producer's own cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Row,
    Action,
    Id,
    NewId,
    Outcome,
    Status,
    Error,
    Response,
    Changes,
    Conflicts,
    /// The customer the row resembles (likely duplicates).
    Note,
}

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Column::Row => columns::ROW,
            Column::Action => columns::ACTION,
            Column::Id => columns::ID,
            Column::NewId => columns::NEW_ID,
            Column::Outcome => columns::OUTCOME,
            Column::Status => columns::STATUS,
            Column::Error => columns::ERROR,
            Column::Response => columns::RESPONSE,
            Column::Changes => columns::CHANGES,
            Column::Conflicts => columns::CONFLICTS,
            Column::Note => columns::NOTE,
        }
    }

    fn value(self, row: &Finished) -> String {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        match self {
            Column::Row => row.row.to_string(),
            Column::Action => row.action.to_string(),
            Column::Id => text(if row.id.is_some() {
                &row.id
            } else {
                &row.done.id
            }),
            // The id the step left, where it is not the row's own: a created customer's.
            Column::NewId => match (&row.id, &row.done.id) {
                (Some(own), Some(left)) if own == left => String::new(),
                (_, left) => text(left),
            },
            Column::Outcome => row.done.outcome.as_str().to_string(),
            Column::Status => row.done.status.map(|s| s.to_string()).unwrap_or_default(),
            Column::Error => text(&row.done.error),
            Column::Response => text(&row.done.response),
            Column::Changes => text(&row.changes),
            Column::Conflicts => text(&row.conflicts),
            Column::Note => {
                let similar = row.done.similar.as_ref().map(ToString::to_string);
                [similar, row.done.note.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
    }
}

/// One finished row, as written to the results file.
#[derive(Debug)]
pub struct Finished {
    /// Position in the input (0-based, blank rows excluded): the reorder key.
    pub seq: u64,
    /// The spreadsheet's own row number (an undo's: the import's row).
    pub row: u32,
    /// The producer's own cells: an import's input row; empty for undo.
    pub cells: Cells,
    /// Validation's findings, for the annotated copy.
    pub problems: Vec<Problem>,
    /// How it ended, as journaled.
    pub done: Done,
    /// Undo: what the step was (`delete`, `restore`, `recreate`).
    pub action: &'static str,
    /// The customer the row is about, when the producer knows it before the run (undo: the
    /// import's customer); else the `_id` column shows the id the step left.
    pub id: Option<String>,
    /// `--plan`: what an update would change.
    pub changes: Option<String>,
    /// Undo: the fields someone changed since the import.
    pub conflicts: Option<String>,
}

impl Finished {
    pub fn new(seq: u64, row: u32, done: Done) -> Finished {
        Finished {
            seq,
            row,
            cells: Cells::default(),
            problems: Vec::new(),
            done,
            action: "",
            id: None,
            changes: None,
            conflicts: None,
        }
    }
}

/// The files a run's results go to.
pub struct Layout<'a> {
    pub results: &'a Path,
    /// The failed rows in the producer's own columns; `None` when the rows have no columns of
    /// their own to fix (undo).
    pub failed: Option<&'a Path>,
    /// The producer's own column headers (an import's input headers).
    pub headers: &'a [String],
    pub columns: &'a [Column],
}

/// Writes results and failed rows in input order.
pub struct Results {
    results: CsvOutput,
    failed: Option<CsvOutput>,
    /// The producer's columns written back: all but those an earlier run wrote (`_outcome`,
    /// `Problems`, ...), which this run's own columns replace.
    keep: Vec<usize>,
    columns: Vec<Column>,
    pending: BTreeMap<u64, Finished>,
    next: u64,
    /// Rows written per outcome.
    pub counts: BTreeMap<Outcome, u64>,
    /// Rows that resembled a customer, by what became of them.
    pub similar: Similar,
    record: Vec<String>,
    /// `--annotate`: the input's own rows with problems marked and outcomes added.
    annotated: Option<Annotator>,
}

impl Results {
    pub fn create(layout: Layout, annotated: Option<Annotator>) -> anyhow::Result<Results> {
        let headers = layout.headers;
        let keep: Vec<usize> = (0..headers.len())
            .filter(|&i| !schema::is_result_column(&headers[i]))
            .collect();
        let mut header: Vec<&str> = keep.iter().map(|&i| headers[i].as_str()).collect();
        let failed = match layout.failed {
            Some(path) => {
                let mut failed = CsvOutput::create(path)?;
                failed.write_record(&header)?;
                Some(failed)
            }
            None => None,
        };
        header.extend(layout.columns.iter().map(|c| c.header()));
        let mut results = CsvOutput::create(layout.results)?;
        results.write_record(&header)?;
        Ok(Results {
            results,
            failed,
            keep,
            columns: layout.columns.to_vec(),
            pending: BTreeMap::new(),
            next: 0,
            counts: BTreeMap::new(),
            similar: Similar::default(),
            record: Vec::new(),
            annotated,
        })
    }

    /// Accepts a finished row; writes every row that is now next in input order.
    pub fn push(&mut self, finished: Finished) -> anyhow::Result<()> {
        self.pending.insert(finished.seq, finished);
        while let Some(row) = self.pending.remove(&self.next) {
            self.write(row)?;
            self.next += 1;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.next
    }

    fn write(&mut self, row: Finished) -> anyhow::Result<()> {
        let outcome = row.done.outcome;
        *self.counts.entry(outcome).or_default() += 1;
        let mut row = row;
        if let Some(likely) = &row.done.similar {
            self.similar.count(outcome, likely.is_duplicate());
            // The annotated copy marks it where the outcome is.
            row.problems.push(Problem {
                row: row.row,
                column: String::new(),
                header: String::new(),
                field: "",
                severity: Severity::Warning,
                message: likely.to_string(),
                value: String::new(),
            });
        }
        if let Some(annotated) = &mut self.annotated {
            annotated.row(
                row.row,
                &row.cells,
                &row.problems,
                Some((outcome.as_str(), row.done.id.as_deref())),
            )?;
        }
        // Ragged rows are cut or padded to the header's columns so the outcome columns line
        // up; validation has already reported them.
        let cell = |i: usize| row.cells.get(i).unwrap_or("");
        let record = &mut self.record;
        record.clear();
        record.extend(self.keep.iter().map(|&i| cell(i).to_string()));
        if let (Some(failed), true) = (&mut self.failed, outcome.to_fix()) {
            failed.write_record(record.iter())?;
        }
        record.extend(self.columns.iter().map(|c| c.value(&row)));
        self.results.write_record(record.iter())
    }

    /// Completes both files. Rows still waiting (never finished) are a bug: say so loudly.
    pub fn finish(self) -> anyhow::Result<(BTreeMap<Outcome, u64>, Similar)> {
        anyhow::ensure!(
            self.pending.is_empty(),
            "internal error: {} finished rows were never written (first missing row position {})",
            self.pending.len(),
            self.next
        );
        self.results.commit()?;
        if let Some(failed) = self.failed {
            failed.commit()?;
        }
        if let Some(annotated) = self.annotated {
            annotated.finish()?;
        }
        Ok((self.counts, self.similar))
    }
}
