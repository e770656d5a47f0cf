//! The results file and the failed file, written in input order.
//!
//! Rows finish out of order (requests run concurrently); a small reorder buffer releases them in
//! input order, so the results file has one line per input row, in order, with the original
//! cells plus the outcome columns. Rows that need fixing also go, in the input's own columns, to
//! the failed file, ready to correct and import again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::journal::Outcome;
use crate::annotate::Annotator;
use crate::read::Cells;
use crate::validate::Problem;

/// The columns added after the input's own, in this order.
pub const COLUMNS: &[&str] = &["_row", "_outcome", "_id", "_status", "_error", "_response"];
/// Added in `--plan`: what an update would change.
pub const CHANGES: &str = "_changes";

/// One finished row, as written to the results file.
#[derive(Debug, Default)]
pub struct Finished {
    /// Position in the input (0-based, blank rows excluded): the reorder key.
    pub seq: u64,
    /// The spreadsheet's own row number.
    pub row: u32,
    pub cells: Cells,
    pub outcome: Option<Outcome>,
    pub id: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The server's raw error body, kept so nothing it said is lost.
    pub response: Option<String>,
    pub changes: Option<String>,
    /// Validation's findings, for the annotated copy.
    pub problems: Vec<Problem>,
}

impl Finished {
    /// A row that ends without a request (invalid, skipped, validated only).
    pub fn now(
        seq: u64,
        row: super::InputRow,
        outcome: Outcome,
        error: Option<String>,
    ) -> Finished {
        Finished {
            seq,
            row: row.number,
            cells: row.cells,
            problems: row.problems,
            outcome: Some(outcome),
            error,
            ..Finished::default()
        }
    }
}

/// Writes results and failed rows in input order.
pub struct Results {
    results: csv::Writer<BufWriter<File>>,
    failed: csv::Writer<BufWriter<File>>,
    pub results_path: PathBuf,
    pub failed_path: PathBuf,
    /// The input's columns written back: all but those an earlier run wrote (`_outcome`,
    /// `Problems`, ...), which this run's own columns replace.
    keep: Vec<usize>,
    plan: bool,
    pending: BTreeMap<u64, Finished>,
    next: u64,
    /// Rows written per outcome.
    pub counts: BTreeMap<Outcome, u64>,
    record: Vec<String>,
    /// `--annotate`: the input's own rows with problems marked and outcomes added.
    annotated: Option<Annotator>,
}

impl Results {
    pub fn create(
        results_path: &Path,
        failed_path: &Path,
        headers: &[String],
        plan: bool,
        annotated: Option<Annotator>,
    ) -> anyhow::Result<Results> {
        let open = |path: &Path| -> anyhow::Result<csv::Writer<BufWriter<File>>> {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            Ok(csv::Writer::from_writer(BufWriter::new(file)))
        };
        let mut results = open(results_path)?;
        let mut failed = open(failed_path)?;
        let keep: Vec<usize> = (0..headers.len())
            .filter(|&i| !crate::schema::is_result_column(&headers[i]))
            .collect();
        let mut header: Vec<&str> = keep.iter().map(|&i| headers[i].as_str()).collect();
        failed.write_record(&header)?;
        header.extend(COLUMNS);
        if plan {
            header.push(CHANGES);
        }
        results.write_record(&header)?;
        Ok(Results {
            results,
            failed,
            results_path: results_path.to_path_buf(),
            failed_path: failed_path.to_path_buf(),
            keep,
            plan,
            pending: BTreeMap::new(),
            next: 0,
            counts: BTreeMap::new(),
            record: Vec::new(),
            annotated,
        })
    }

    /// Accepts a finished row; writes every row that is now next in input order. Returns how
    /// many rows were written.
    pub fn push(&mut self, finished: Finished) -> anyhow::Result<usize> {
        self.pending.insert(finished.seq, finished);
        let mut written = 0;
        while let Some(row) = self.pending.remove(&self.next) {
            self.write(row)?;
            self.next += 1;
            written += 1;
        }
        Ok(written)
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.next
    }

    fn write(&mut self, row: Finished) -> anyhow::Result<()> {
        let outcome = row.outcome.unwrap_or(Outcome::Skipped);
        *self.counts.entry(outcome).or_default() += 1;
        if let Some(annotated) = &mut self.annotated {
            annotated.row(
                row.row,
                &row.cells,
                &row.problems,
                Some((outcome.as_str(), row.id.as_deref())),
            )?;
        }
        // Ragged rows are cut or padded to the header's columns so the outcome columns line
        // up; validation has already reported them.
        let cell = |i: usize| row.cells.get(i).unwrap_or("");
        let record = &mut self.record;
        record.clear();
        record.extend(self.keep.iter().map(|&i| cell(i).to_string()));
        if outcome.is_problem() {
            self.failed.write_record(record.iter())?;
        }
        record.push(row.row.to_string());
        record.push(outcome.as_str().to_string());
        record.push(row.id.unwrap_or_default());
        record.push(row.status.map(|s| s.to_string()).unwrap_or_default());
        record.push(row.error.unwrap_or_default());
        record.push(row.response.unwrap_or_default());
        if self.plan {
            record.push(row.changes.unwrap_or_default());
        }
        self.results.write_record(record.iter())?;
        Ok(())
    }

    /// Flushes both files. Rows still waiting (never finished) are a bug: say so loudly.
    pub fn finish(mut self) -> anyhow::Result<BTreeMap<Outcome, u64>> {
        anyhow::ensure!(
            self.pending.is_empty(),
            "internal error: {} finished rows were never written (first missing row position {})",
            self.pending.len(),
            self.next
        );
        self.results
            .flush()
            .with_context(|| format!("cannot write {}", self.results_path.display()))?;
        self.failed
            .flush()
            .with_context(|| format!("cannot write {}", self.failed_path.display()))?;
        if let Some(annotated) = self.annotated {
            annotated.finish()?;
        }
        Ok(self.counts)
    }
}
