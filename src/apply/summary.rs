//! What a run of changes did, for people (`Display`) or scripts (`Serialize`), and the exit code
//! it stands for.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::results::Similar;
use super::Outcome;
use crate::api::{Client, Traffic};
use crate::error::Exit;

/// What a run did.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub file: String,
    pub mode: &'static str,
    pub rows: u64,
    pub outcomes: BTreeMap<&'static str, u64>,
    pub blank_rows: u64,
    /// How the input was read (`Read as Windows-1256, ";"-separated; header on row 1`), for a
    /// run that read a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_as: Option<String>,
    /// What the requests met; none with `--dry-run`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    pub duration_secs: f64,
    pub rows_per_sec: f64,
    pub results: String,
    pub failed: String,
    pub journal: Option<String>,
    /// Why the run stopped before its end, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Rows that resembled a customer already there (likely duplicates).
    #[serde(skip_serializing_if = "Similar::is_empty")]
    pub similar: Similar,
    #[serde(skip)]
    problems: bool,
}

/// Where a run's files are, for the summary.
pub struct Files<'a> {
    pub input: &'a Path,
    pub results: &'a Path,
    pub failed: &'a Path,
    pub journal: Option<&'a Path>,
}

impl Summary {
    pub fn new(
        mode: &'static str,
        counts: &BTreeMap<Outcome, u64>,
        blank_rows: u64,
        client: Option<&Client>,
        elapsed: Duration,
        files: Files,
    ) -> Summary {
        let rows = counts.values().sum::<u64>();
        Summary {
            file: files.input.display().to_string(),
            mode,
            rows,
            outcomes: counts.iter().map(|(o, n)| (o.as_str(), *n)).collect(),
            blank_rows,
            read_as: None,
            traffic: client.map(Client::traffic),
            duration_secs: elapsed.as_secs_f64(),
            rows_per_sec: rows as f64 / elapsed.as_secs_f64().max(1e-9),
            results: files.results.display().to_string(),
            failed: files.failed.display().to_string(),
            journal: files.journal.map(|j| j.display().to_string()),
            stopped: None,
            similar: Similar::default(),
            problems: counts.keys().any(|o| o.is_problem()),
        }
    }

    /// 0 when every row was fine, 1 when some need the user's attention.
    pub fn exit(&self) -> Exit {
        if self.problems {
            Exit::SomeRowsFailed
        } else {
            Exit::Ok
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({} mode): {} rows in {:.1} s, {:.0} rows/s",
            self.file, self.mode, self.rows, self.duration_secs, self.rows_per_sec
        )?;
        if let Some(read_as) = &self.read_as {
            writeln!(f, "  {read_as}.")?;
        }
        for (outcome, count) in &self.outcomes {
            writeln!(f, "  {outcome:<13} {count:>9}")?;
        }
        if self.blank_rows > 0 {
            writeln!(
                f,
                "  {:<13} {:>9}  (not counted as rows)",
                "blank", self.blank_rows
            )?;
        }
        let Similar {
            possible_duplicates,
            same_company,
        } = self.similar;
        if possible_duplicates > 0 {
            writeln!(
                f,
                "  {possible_duplicates} of the created are possible duplicates of customers \
                 already there (_note in the results names each one's)"
            )?;
        }
        if same_company > 0 {
            writeln!(
                f,
                "  {same_company} are other establishments of a company already a customer \
                 (see _note)"
            )?;
        }
        if let Some(traffic) = &self.traffic {
            write!(f, "{traffic}")?;
        }
        writeln!(f, "Results: {}", self.results)?;
        if self.outcomes.contains_key("invalid") || self.outcomes.contains_key("failed") {
            writeln!(f, "Rows to fix and import again: {}", self.failed)?;
        }
        if let Some(journal) = &self.journal {
            writeln!(f, "Journal: {journal}")?;
        }
        if let Some(why) = &self.stopped {
            writeln!(f, "Stopped early: {why}")?;
        }
        Ok(())
    }
}
