//! The progress bar during an import and the summary after it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::ProgressBar;
use serde::Serialize;

use super::journal::Outcome;
use crate::api::Client;
use crate::cli::{Global, Output};

/// A progress bar on a terminal only; a no-op otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: std::sync::Mutex<BTreeMap<Outcome, u64>>,
}

impl Progress {
    pub fn new(global: &Global, total: Option<u64>) -> Progress {
        let bar = crate::progress::bar(global).inspect(|bar| {
            let template = match total {
                Some(total) => {
                    bar.set_length(total);
                    "{bar:30} {pos}/{len} rows  {rate}  ETA {eta}  {msg}"
                }
                None => "{spinner} {pos} rows  {rate}  {msg}",
            };
            bar.set_style(crate::progress::style(template));
        });
        Progress {
            bar,
            counts: Default::default(),
        }
    }

    pub fn row(&self, outcome: Option<Outcome>) {
        let Some(bar) = &self.bar else { return };
        let mut counts = self.counts.lock().unwrap();
        *counts
            .entry(outcome.unwrap_or(Outcome::Skipped))
            .or_default() += 1;
        bar.inc(1);
        if bar.position() % 64 == 1 {
            bar.set_message(
                counts
                    .iter()
                    .map(|(o, n)| format!("{} {n}", o.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What a run did, printed as a table or as JSON (`--output json`).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub file: String,
    pub mode: &'static str,
    pub rows: u64,
    pub outcomes: BTreeMap<&'static str, u64>,
    pub blank_rows: u64,
    pub retries: u64,
    pub throttles: u64,
    pub duration_secs: f64,
    pub rows_per_sec: f64,
    pub results: String,
    pub failed: String,
    pub journal: Option<String>,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        file: &Path,
        mode: &'static str,
        counts: &BTreeMap<Outcome, u64>,
        blank_rows: u64,
        client: Option<&Client>,
        elapsed: Duration,
        results: &Path,
        failed: &Path,
        journal: Option<&Path>,
    ) -> Summary {
        let rows = counts.values().sum::<u64>();
        let counter = |f: fn(&Client) -> u64| client.map(f).unwrap_or(0);
        Summary {
            file: file.display().to_string(),
            mode,
            rows,
            outcomes: counts.iter().map(|(o, n)| (o.as_str(), *n)).collect(),
            blank_rows,
            retries: counter(|c| c.retry.retries.load(Ordering::Relaxed)),
            throttles: counter(|c| c.retry.throttles.load(Ordering::Relaxed)),
            duration_secs: elapsed.as_secs_f64(),
            rows_per_sec: rows as f64 / elapsed.as_secs_f64().max(1e-9),
            results: results.display().to_string(),
            failed: failed.display().to_string(),
            journal: journal.map(|j| j.display().to_string()),
        }
    }

    pub fn print(&self, output: Output) -> anyhow::Result<()> {
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(self)?);
            return Ok(());
        }
        println!(
            "{} ({} mode): {} rows in {:.1} s, {:.0} rows/s",
            self.file, self.mode, self.rows, self.duration_secs, self.rows_per_sec
        );
        for (outcome, count) in &self.outcomes {
            println!("  {outcome:<13} {count:>9}");
        }
        if self.blank_rows > 0 {
            println!(
                "  {:<13} {:>9}  (not counted as rows)",
                "blank", self.blank_rows
            );
        }
        if self.retries > 0 || self.throttles > 0 {
            println!(
                "  retries {}, throttled {} times",
                self.retries, self.throttles
            );
        }
        println!("Results: {}", self.results);
        if self.outcomes.contains_key("invalid") || self.outcomes.contains_key("failed") {
            println!("Rows to fix and import again: {}", self.failed);
        }
        if let Some(journal) = &self.journal {
            println!("Journal: {journal}");
        }
        Ok(())
    }
}
