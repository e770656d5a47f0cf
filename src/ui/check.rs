//! The check of a whole file: one pass of the pipeline the commands run (read → map →
//! validate, with the page's edits amended into the rows as they are read), its rows with
//! problems spooled to disk, its counts kept; and a row edited afterwards, checked again alone
//! by the same validator.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::job::{lock, Snapshot};
use super::spool::{Spool, SpoolWriter};
use crate::mapping::Mapping;
use crate::pipeline::{Counts, Pipeline};
use crate::read::Cells;
use crate::report::ProblemLog;
use crate::validate::{Checked, Problem, Validator};

/// What one pass found.
pub struct Check {
    pub spool: Spool,
    pub counts: Counts,
    /// `(field, errors, warnings)`, as the text summary orders them.
    pub by_field: Vec<(&'static str, u64, u64)>,
    pub headers: Vec<String>,
    /// The column letters, and the field each column feeds.
    pub letters: Vec<String>,
    pub fields: Vec<Option<&'static str>>,
    /// The file (and sheet) as messages name it.
    pub location: String,
    pub took: Duration,
    /// A validator of the same mapping, for rows edited after the pass (it remembers nothing
    /// of other rows: [`Validator::check_alone`] needs nothing of them).
    alone: Mutex<Validator>,
}

/// Checks every row of the job's file, as `custbulk validate` does.
pub fn run(job: &Snapshot, folder: &Path) -> anyhow::Result<Check> {
    let started = Instant::now();
    let table = job.open().map_err(|e| anyhow::anyhow!(job.say(e)))?;
    let location = job.say(table.location());
    let amend = Box::new(job.amend());
    let mut pipeline = Pipeline::from_table_amended(table, Some(&job.map), &job.options, amend)
        .map_err(|e| anyhow::anyhow!(job.say(format!("{e:#}"))))?;
    let mapping: &Mapping = pipeline.mapping();
    let letters = mapping.columns.iter().map(|c| c.letter.clone()).collect();
    let fields = mapping
        .columns
        .iter()
        .map(|c| c.target.field_name())
        .collect();
    let alone = Validator::new(mapping, &job.options)?;
    let headers = pipeline.headers().to_vec();
    let spool_path = folder.join(format!("{}.{}.spool", job.id, super::upload::new_id()));
    let mut spool = SpoolWriter::create(&spool_path)?;
    let mut log = ProblemLog::new(false, None)?;
    let mut row = Checked::new();
    while pipeline
        .next(&mut row)
        .map_err(|e| anyhow::anyhow!(job.say(e)))?
    {
        if row.problems.is_empty() {
            continue;
        }
        log.add(&row.problems)?;
        let alone = row.problems.len() - row.across_rows().len();
        spool
            .push(row.row, &row.cells, &row.problems, alone)
            .context("cannot keep the rows with problems")?;
    }
    Ok(Check {
        spool: spool.finish()?,
        counts: *pipeline.counts(),
        by_field: log.by_field(),
        headers,
        letters,
        fields,
        location,
        took: started.elapsed(),
        alone: Mutex::new(alone),
    })
}

impl Check {
    /// The problems of row `row` with `cells`, from the checks of the row alone.
    pub fn recheck(&self, row: u32, cells: &[String]) -> Vec<Problem> {
        let mut out = Checked::new();
        out.row = row;
        out.cells = cells.iter().collect::<Cells>();
        lock(&self.alone).check_alone(&mut out);
        out.problems
    }
}
