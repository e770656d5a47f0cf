//! `custbulk import`: validate a sheet, then create or update its customers through the API.
//!
//! The flow: a reader thread runs the validation pipeline and sends rows over a bounded channel;
//! the dispatcher spawns one task per row (requests bounded and paced by the client's throttle,
//! rows in progress bounded by a window); tasks journal before and after their request; the
//! finished rows come back to one writer that releases them in input order to the results file.

pub mod journal;
pub mod lookup;
pub mod results;
mod source;
pub mod summary;
pub mod upload;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use tokio::sync::mpsc;

use crate::annotate::Annotator;
use crate::api::{ClientOptions, Load, Record};
use crate::cli::Global;
use crate::config;
use crate::error::{usage, Exit};
use crate::pipeline::Input;
use crate::read::Cells;
pub use crate::validate::Mode;
use crate::validate::{Problem, Severity};
use journal::{Fingerprint, Line, Outcome, Resume, Writer};
use lookup::Finder;
use results::{Finished, Results};
use upload::Uploader;

pub use source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateWith {
    /// Send only the changed fields (the API's "update soft").
    Patch,
    /// Send the whole record, replacing the stored one.
    Put,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Blank {
    /// A blank cell leaves the stored value as it is.
    Keep,
    /// A blank cell clears the stored value.
    Clear,
}

/// One validated input row, as the uploader needs it.
#[derive(Debug, Clone, Default)]
pub struct InputRow {
    /// The spreadsheet's own row number.
    pub number: u32,
    /// The cells as read, for the results file.
    pub cells: Cells,
    /// The mapped, coerced fields that are not blank (the id is never among them).
    pub record: Record,
    /// Mapped fields whose cell was blank.
    pub blank: Vec<&'static str>,
    /// The match key's value (the id when matching on the id column).
    pub key: Option<String>,
    /// The row's own action (`_action` column), overriding `--mode`.
    pub action: Option<crate::validate::Action>,
    /// What validation found; a row with an error is never sent.
    pub problems: Vec<Problem>,
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

/// Import a sheet into the Customers API: create or update one customer per valid row.
///
/// Every row ends in exactly one outcome in the results file (NAME.results.csv beside the
/// input): created, updated, unchanged, invalid, failed or skipped. Invalid and failed rows also
/// go to NAME.failed.csv, ready to fix and import again. A journal written ahead of every request
/// lets `--resume` continue after a crash or Ctrl-C without losing or duplicating a customer.
///
/// Examples:
///   custbulk import customers.xlsx --sandbox
///   custbulk import clients.csv --mode upsert --match-on siret --concurrency 16
///   custbulk import clients.csv --resume
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,

    /// What to do with each row.
    #[arg(long, value_enum, default_value_t = Mode::Create)]
    pub mode: Mode,

    /// The field that matches rows to customers (default: the id column, else siret, else name).
    #[arg(long, value_name = "FIELD")]
    pub match_on: Option<String>,

    /// How updates are sent.
    #[arg(long, value_enum, default_value_t = UpdateWith::Patch)]
    pub update_with: UpdateWith,

    /// What a blank cell means on update.
    #[arg(long, value_enum, default_value_t = Blank::Keep)]
    pub blank: Blank,

    #[command(flatten)]
    pub load: Load,

    /// The results file (default: NAME.results.csv beside the input).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// The journal (default: NAME.journal beside the results file).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Continue the run its journal describes: finished rows are skipped, rows that were in
    /// flight are looked up before anything is sent again.
    #[arg(long)]
    pub resume: bool,

    /// Ask the server (read only) and say what each row would do; change nothing.
    #[arg(long, conflicts_with_all = ["resume", "dry_run"])]
    pub plan: bool,

    /// Validate only; no network.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete without asking (required to delete when not run from a terminal).
    #[arg(long)]
    pub yes: bool,

    /// In delete mode, a row whose customer does not exist is a failure, not `not-found`.
    #[arg(long)]
    pub strict: bool,

    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,

    /// Also write the input as XLSX with every problem cell marked and noted, and each row's
    /// outcome and id, to fix and import again.
    #[arg(long, value_name = "OUT.xlsx")]
    pub annotate: Option<PathBuf>,
}

/// Rows read ahead of the slowest unfinished row; bounds memory whatever the latency.
const WINDOW_PER_REQUEST: u64 = 8;

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let started = Instant::now();
    // Parse, then plan: everything that can be refused is refused before any request.
    let source = Source::open(&args.input, args.mode, args.match_on.as_deref())?;
    let key_field = source.key_field.clone();
    let file = args.input.file.clone();
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| beside(&file, "results.csv"));
    // The failed file goes beside the results: `out.csv` gives `out.failed.csv`.
    let failed_path = match &args.results {
        Some(results) => beside(&results.with_extension(""), "failed.csv"),
        None => beside(&file, "failed.csv"),
    };
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| beside(&file, "journal"));
    let network = !args.dry_run;
    if network && !args.plan && !args.yes && (args.mode == Mode::Delete || source.has_actions) {
        confirm_deletes(&args)?;
    }

    let connection = if network {
        let options = ClientOptions {
            items_path: args.items_path.clone(),
            ..args.load.client_options()
        };
        Some(config::connect(global, options).await?)
    } else {
        None
    };

    let mut resume = None;
    let journal = if network && !args.plan {
        let fingerprint = Fingerprint::of(&file)?;
        if args.resume {
            let loaded = Resume::load(&journal_path, &file, &fingerprint)?;
            crate::info!(
                "Resuming from {}: {} rows already done, {} to reconcile.",
                journal_path.display(),
                loaded.finished(),
                loaded.in_flight.len()
            );
            resume = Some(loaded);
            Some(Arc::new(Writer::reopen(&journal_path)?))
        } else {
            refuse_unfinished_journal(&journal_path)?;
            Some(Arc::new(Writer::create(
                &journal_path,
                &file,
                &fingerprint,
                args.mode.as_str(),
            )?))
        }
    } else {
        None
    };

    let headers = source.headers.clone();
    let total_hint = source.buffered_rows();
    let annotated = match &args.annotate {
        Some(path) => {
            let mut annotated = Annotator::create(path, &headers, true)?;
            annotated.match_source(source.table());
            Some(annotated)
        }
        None => None,
    };
    let mut results = Results::create(&results_path, &failed_path, &headers, args.plan, annotated)?;
    let uploader = match &connection {
        Some(connection) => {
            let finder = if (args.mode != Mode::Create || source.has_actions) && source.is_large() {
                crate::info!("Indexing the customers on the server by {key_field}...");
                Finder::index(&connection.client, &key_field)
                    .await
                    .context("cannot list the customers to match rows")?
            } else {
                Finder::Search
            };
            Some(Arc::new(Uploader {
                client: connection.client.clone(),
                journal: journal.clone(),
                finder,
                mode: args.mode,
                key_field: key_field.clone(),
                update_with: args.update_with,
                blank: args.blank,
                plan: args.plan,
                strict: args.strict,
            }))
        }
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone(), interrupted.clone());
    let progress = summary::Progress::new(global, total_hint);

    // Reader thread: validation runs beside the uploads, on the other core.
    let (row_tx, mut row_rx) = mpsc::channel::<anyhow::Result<InputRow>>(256);
    let reader = std::thread::spawn(move || source.send_rows(row_tx));

    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Finished, bool)>();
    // Rows are read at most this far ahead of the first unwritten one, so a row stuck in
    // retries holds back a bounded number of finished rows whatever the file's size.
    let window = args.load.most_in_flight() as u64 * WINDOW_PER_REQUEST + 64;
    let mut seq = 0u64;
    let mut fatal: Option<String> = None;
    let mut read_error = None;
    let mut reading = true;
    let mut outstanding = 0u64;
    while reading || outstanding > 0 {
        tokio::select! {
            biased;
            Some((finished, is_fatal)) = done_rx.recv() => {
                outstanding -= 1;
                if is_fatal && fatal.is_none() {
                    fatal = finished.error.clone();
                    stop.store(true, Ordering::SeqCst);
                }
                progress.row(finished.outcome);
                results.push(finished)?;
            }
            item = row_rx.recv(), if reading && seq < results.written() + window => {
                let row = match item {
                    Some(Ok(row)) => row,
                    Some(Err(err)) => {
                        read_error = Some(err);
                        stop.store(true, Ordering::SeqCst);
                        reading = false;
                        continue;
                    }
                    None => {
                        reading = false;
                        continue;
                    }
                };
                let this = seq;
                seq += 1;
                let finished = if let Some(error) = row.errors() {
                    let error = Some(error);
                    Finished::now(this, row, Outcome::Invalid, error)
                } else if let Some(line) = resume.as_mut().map(|r| r.done(row.number)).transpose()?.flatten() {
                    from_journal(this, row, line)
                } else if let Some(uploader) = uploader.clone().filter(|_| !stop.load(Ordering::SeqCst)) {
                    let resumed = resume.as_mut().and_then(|r| r.in_flight.remove(&row.number));
                    let done_tx = done_tx.clone();
                    outstanding += 1;
                    tokio::spawn(async move {
                        let ending = uploader.process(this, row, resumed).await;
                        let _ = done_tx.send((ending.finished, ending.fatal));
                    });
                    continue;
                } else if network {
                    let error = Some("not attempted: the run stopped; run again with --resume".to_string());
                    Finished::now(this, row, Outcome::Skipped, error)
                } else {
                    Finished::now(this, row, Outcome::Valid, None)
                };
                progress.row(finished.outcome);
                results.push(finished)?;
            }
        }
    }
    drop(done_tx);
    let blank_rows = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    progress.finish();
    let counts = results.finish()?;
    if let Some(journal) = &journal {
        let complete =
            fatal.is_none() && read_error.is_none() && !interrupted.load(Ordering::SeqCst);
        journal.append(&Line::End {
            finished: journal::now(),
            complete,
        })?;
        journal.sync()?;
    }

    let report = summary::Summary::new(
        &file,
        args.mode.as_str(),
        &counts,
        blank_rows,
        connection.as_ref().map(|c| &c.client),
        started.elapsed(),
        &results_path,
        &failed_path,
        journal.as_ref().map(|j| j.path.as_path()),
    );
    report.print(global.output)?;
    if let Some(err) = read_error {
        return Err(err.context("the import stopped because the input could not be read further"));
    }
    if let Some(reason) = fatal {
        anyhow::bail!(
            "the import stopped: {reason}. Fix the cause, then run the same command with --resume"
        );
    }
    if interrupted.load(Ordering::SeqCst) {
        anyhow::bail!(
            "the import was interrupted; run the same command with --resume to finish it"
        );
    }
    Ok(if counts.keys().any(|o| o.is_problem()) {
        Exit::SomeRowsFailed
    } else {
        Exit::Ok
    })
}

/// Deleting needs a yes: typed at a terminal after seeing the count, or `--yes`.
fn confirm_deletes(args: &Args) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(usage("this import deletes customers: add --yes to confirm (custbulk is not run from a terminal, so it cannot ask)"));
    }
    let count = Source::count_deletes(&args.input, args.mode, args.match_on.as_deref())?;
    if count == 0 {
        return Ok(());
    }
    eprint!("This will delete up to {count} customer(s) from the API (one per row). Type yes to go on: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(usage("not confirmed: nothing was sent"))
    }
}

/// `dir/NAME.EXT` for an input `dir/NAME.xlsx`.
fn beside(input: &Path, ext: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.{ext}"))
}

/// A journal with unfinished rows is the only record of what a crashed run did: never
/// overwrite it without being told.
fn refuse_unfinished_journal(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let finished = matches!(
        journal::last_line(path)?,
        Some(Line::Start { .. } | Line::End { complete: true, .. })
    );
    if !finished {
        return Err(usage(format!(
            "{} holds an unfinished import of this file: add --resume to continue it, \
             or move the journal away to start afresh",
            path.display()
        )));
    }
    Ok(())
}

/// A results line for a row an earlier run finished.
fn from_journal(seq: u64, row: InputRow, line: Line) -> Finished {
    let Line::Done {
        outcome,
        id,
        status,
        error,
        ..
    } = line
    else {
        unreachable!("only done lines are indexed")
    };
    Finished {
        seq,
        row: row.number,
        cells: row.cells,
        outcome: Some(outcome),
        id,
        status,
        error,
        ..Finished::default()
    }
}

/// First Ctrl-C: stop taking rows, finish what is in flight. Second: abort at once (the journal
/// is flushed line by line, so nothing written is lost).
fn watch_ctrl_c(stop: Arc<AtomicBool>, interrupted: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        crate::warn!("Stopping: finishing the requests in flight (Ctrl-C again aborts).");
        interrupted.store(true, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Aborted. Run the same command with --resume to continue.");
            std::process::exit(130);
        }
    });
}
