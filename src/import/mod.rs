//! Import: validate a sheet, then create, update or delete its customers through the API.
//!
//! Plan, then run. [`Plan::new`] opens and maps the input, reads its first rows, decides where
//! results and journal go and what an earlier run left, and refuses every mistake before any
//! request. [`run`] then streams the rows from a reader thread (validation runs beside the
//! requests, on the other core) into the applier's run as the import's producer of steps
//! ([`rows::Rows`]).
//!
//! The input is read once, as the rows are sent, plus a raw pass for the journal's fingerprint:
//! its sha256 must be known before the first request, so that `--resume` can refuse a file that
//! changed since the journal was written without sending anything.

mod rows;
mod source;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::annotate::Annotator;
use crate::api::Client;
use crate::apply::journal::{Claim, Resume};
use crate::apply::summary::Files;
use crate::apply::{
    self, Applier, Column, Done, Finished, Job, Layout, Outcome, Results, RowSink, RunReport,
    Session, Settings, Summary, UpdateWith, Writes,
};
use crate::lookup::duplicates::{self, OnDuplicate};
use crate::lookup::{Finder, Needs};
use crate::output::beside;
use crate::pipeline::Input;
use crate::read::Cells;
pub use crate::validate::Mode;
use crate::validate::{Problem, Severity};
use rows::{Rows, Wanted};
use source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Blank {
    /// A blank cell leaves the stored value as it is.
    Keep,
    /// A blank cell clears the stored value.
    Clear,
}

/// What an import is asked to do: the command line, checked into plain values.
#[derive(Debug, Clone)]
pub struct Options {
    pub input: Input,
    pub mode: Mode,
    /// The keys that match rows to customers, tried in order (`siret,name+zipCode`; default:
    /// the id column, else siret, else name).
    pub match_on: Option<String>,
    /// What a row that would create a likely duplicate does instead.
    pub on_duplicate: OnDuplicate,
    /// `--update-with`; `None` leaves it to the API profile (else PATCH).
    pub update_with: Option<UpdateWith>,
    pub blank: Blank,
    /// The results file (default: NAME.results.csv beside the input).
    pub results: Option<PathBuf>,
    /// The journal (default: NAME.journal beside the input).
    pub journal: Option<PathBuf>,
    /// Ask the server (read only) and say what each row would do.
    pub plan: bool,
    /// Validate only; no network.
    pub dry_run: bool,
    /// In delete mode, a row whose customer does not exist is a failure.
    pub strict: bool,
    pub annotate: Option<PathBuf>,
    /// Concurrency, failure limits, resume and repair.
    pub run: Settings,
}

/// One validated input row.
#[derive(Debug, Clone, Default)]
pub struct InputRow {
    /// The spreadsheet's own row number.
    pub number: u32,
    /// The cells as read, for the results file.
    pub cells: Cells,
    /// What validation found; a row with an error is never sent.
    pub problems: Vec<Problem>,
    pub wanted: Wanted,
}

impl InputRow {
    /// The row's errors in one line, `None` when it has none.
    pub fn errors(&self) -> Option<String> {
        let errors: Vec<String> = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| match p.column.as_str() {
                "" => p.message.clone(),
                column => format!("column {column} ({}): {}", p.header, p.message),
            })
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }
}

/// Where an import's files go.
struct Paths {
    results: PathBuf,
    failed: PathBuf,
    journal: PathBuf,
}

/// An import checked and ready: everything that can be refused was refused.
pub struct Plan {
    options: Options,
    source: Source,
    paths: Paths,
    /// The journal's state: this run's hold on it, and what an earlier run left.
    journal: Option<Claim>,
    /// How this API's writes behave, from the API profile.
    writes: Writes,
}

impl Plan {
    /// Opens and maps the input, reads its first rows, and checks the journal; no request.
    pub fn new(options: Options) -> anyhow::Result<Plan> {
        let source = Source::open(&options.input, options.mode, options.match_on.as_deref())?;
        let paths = paths(&options);
        let journal = if options.dry_run || options.plan {
            None
        } else {
            let (file, journal) = (&options.input.file, &paths.journal);
            Some(Claim::take(journal, file, "import", options.run.start())?)
        };
        Ok(Plan {
            options,
            source,
            paths,
            journal,
            writes: Writes::default(),
        })
    }

    /// What the API profile says about this API's writes.
    pub fn with_writes(mut self, writes: Writes) -> Plan {
        self.writes = writes;
        self
    }

    /// Whether the import talks to the API at all (not `--dry-run`).
    pub fn needs_network(&self) -> bool {
        !self.options.dry_run
    }

    /// Whether some rows may delete a customer (not in `--plan`), which needs a yes.
    pub fn may_delete(&self) -> bool {
        let options = &self.options;
        !options.dry_run
            && !options.plan
            && (options.mode == Mode::Delete || self.source.has_actions)
    }

    /// How many rows would delete a customer, for the confirmation.
    pub fn count_deletes(&self) -> anyhow::Result<u64> {
        let options = &self.options;
        self.source
            .count_deletes(&options.input, options.mode, options.match_on.as_deref())
    }
}

/// Runs a planned import: `client` is `None` for `--dry-run`.
pub async fn run(
    plan: Plan,
    client: Option<&Client>,
    session: Session,
) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let Plan {
        options,
        source,
        paths,
        journal,
        writes,
    } = plan;
    let (applier, resume) = match client {
        Some(client) => {
            let (applier, resume) = applier(client, &options, journal)?;
            (Some(Arc::new(applier.with_writes(writes))), resume)
        }
        None => (None, None),
    };
    let journal_path = applier
        .as_ref()
        .and_then(|a| a.journal())
        .map(|j| j.path.clone());
    let results = results(&options, &paths, &source)?;
    let producer = Rows {
        finder: finder(client, &options, &paths, &source).await?,
        mode: options.mode,
        keys: source.keys.clone(),
        on_duplicate: options.on_duplicate,
        update_with: options.update_with,
        blank: options.blank,
        strict: options.strict,
        create_keys: options.on_duplicate.checks_keys() && options.match_on.is_some(),
    };
    // A resumed run's first rows are its own customers: only a new run is looked at.
    let creates = options.mode == Mode::Create && options.on_duplicate == OnDuplicate::SkipSameKey;
    if creates && !options.run.resume && client.is_some() {
        if let Some(why) = imported_before(&producer, &source).await? {
            let instead = duplicates::INSTEAD;
            match options.plan {
                true => crate::warn!("{why}: the import would stop before sending any. {instead}."),
                false => anyhow::bail!("{why}, so nothing was sent. {instead}"),
            }
        }
    }
    source.show(&session.progress);

    let network = client.is_some();
    let read_as = source.read_as.clone();
    let (row_tx, row_rx) = mpsc::channel::<anyhow::Result<InputRow>>(256);
    let reader = std::thread::spawn(move || source.send_rows(row_tx));
    let jobs = futures::stream::unfold(row_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .map(move |item| item.map(|row| job(row, network)))
    .boxed();
    let run = apply::Run {
        applier,
        producer: Arc::new(producer),
        results,
        resume,
        session,
        window: options.run.window(),
        limits: options.run.limits,
    };
    let ran = apply::run(run, jobs).await?;
    let blank_rows = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    let files = Files {
        input: &options.input.file,
        results: &paths.results,
        failed: &paths.failed,
        journal: journal_path.as_deref(),
    };
    let mut summary = Summary::new(
        options.mode.as_str(),
        &ran.counts,
        blank_rows,
        client,
        started.elapsed(),
        files,
    );
    summary.read_as = Some(read_as);
    Ok(ran.report("import", summary))
}

/// The applier, with its journal started afresh or reopened to resume; the plan's reading only.
fn applier(
    client: &Client,
    options: &Options,
    journal: Option<Claim>,
) -> anyhow::Result<(Applier, Option<Resume>)> {
    let Some(claim) = journal else {
        return Ok((Applier::plan(client.clone()), None));
    };
    let (writer, resume) = claim.open(options.mode.as_str(), options.match_on.as_deref())?;
    Ok((Applier::new(client.clone(), Arc::new(writer)), resume))
}

/// How rows find their customers and their likely duplicates (see [`crate::lookup`]).
async fn finder(
    client: Option<&Client>,
    options: &Options,
    paths: &Paths,
    source: &Source,
) -> anyhow::Result<Finder> {
    let Some(client) = client else {
        return Ok(Finder::offline());
    };
    let creates = matches!(options.mode, Mode::Create | Mode::Upsert) || source.has_actions;
    // A create's --match-on key finds the customers it would duplicate.
    let key_duplicates = options.on_duplicate.checks_keys() && options.match_on.is_some();
    let matches = options.mode != Mode::Create || source.has_actions || key_duplicates;
    let wanted = Needs::for_run(creates, matches, &source.keys, source.is_large());
    let Some(wanted) = wanted else {
        return Ok(Finder::search(client));
    };
    crate::info!(
        "Reading the customers on the server once, to {}...",
        wanted.purpose()
    );
    Finder::index(client, &wanted, &paths.results)
        .await
        .context("cannot list the customers to match rows")
}

/// Why a create should not start: most of its first rows would be likely duplicates of
/// customers already there (see [`duplicates::imported_before`]); looked at before any request
/// but the list's.
async fn imported_before(producer: &Rows, source: &Source) -> anyhow::Result<Option<String>> {
    let mut found = BTreeMap::new();
    let mut sample = 0;
    for row in source.first_rows().take(duplicates::SAMPLE) {
        if let Some(why) = producer.likely_duplicate(&row).await? {
            *found.entry(why).or_default() += 1;
        }
        sample += 1;
    }
    Ok(duplicates::imported_before(sample, &found))
}

/// The results file (with the annotated copy, when asked): the input's columns, then the
/// outcome's.
fn results(options: &Options, paths: &Paths, source: &Source) -> anyhow::Result<Results> {
    let annotated = match &options.annotate {
        Some(path) => {
            let mut annotated = Annotator::create(path, &source.headers, true)?;
            annotated.match_source(source.table());
            annotated.right_to_left(source.mapping().right_to_left_columns());
            Some(Box::new(annotated) as Box<dyn RowSink>)
        }
        None => None,
    };
    let mut columns = vec![
        Column::Row,
        Column::Outcome,
        Column::Id,
        Column::Status,
        Column::Error,
        Column::Response,
    ];
    if options.plan {
        columns.push(Column::Changes);
    }
    columns.push(Column::Note);
    let layout = Layout {
        results: &paths.results,
        failed: Some(&paths.failed),
        headers: &source.headers,
        columns: &columns,
    };
    Results::create(layout, annotated)
}

/// The annotated copy takes each finished row: its cells, problems and outcome.
impl RowSink for Annotator {
    fn row(&mut self, row: &Finished) -> anyhow::Result<()> {
        let outcome = (row.done.outcome.as_str(), row.done.id.as_deref());
        Annotator::row(self, row.row, &row.cells, &row.problems, Some(outcome))
    }

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        Annotator::finish(*self)
    }
}

/// A row as a job of the run: invalid rows and `--dry-run` rows end without a request.
fn job(row: InputRow, network: bool) -> Job<Wanted> {
    let mut line = Finished::new(0, row.number, Done::new(Outcome::Valid));
    let errors = row.errors();
    line.cells = row.cells;
    line.problems = row.problems;
    match errors {
        Some(errors) => Job::ended(line, Done::because(Outcome::Invalid, errors)),
        None if !network => Job::ended(line, Done::new(Outcome::Valid)),
        None => Job::new(line, row.wanted),
    }
}

fn paths(options: &Options) -> Paths {
    let file = &options.input.file;
    Paths {
        results: options
            .results
            .clone()
            .unwrap_or_else(|| beside(file, "results.csv")),
        // The failed file goes beside the results: `out.csv` gives `out.failed.csv`.
        failed: match &options.results {
            Some(results) => beside(&results.with_extension(""), "failed.csv"),
            None => beside(file, "failed.csv"),
        },
        journal: options
            .journal
            .clone()
            .unwrap_or_else(|| beside(file, "journal")),
    }
}
