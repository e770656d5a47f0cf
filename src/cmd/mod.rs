//! One file per command, each with its own `Args` and `run`: flags become an engine's plain
//! options here, and nothing below this module sees the command line. What every command shares
//! lives in this file: the progress bar's switch, printing a summary, Ctrl-C.

pub mod check;
pub mod completions;
pub mod connect;
pub mod diff;
pub mod export;
mod global;
pub mod import;
mod input;
mod load;
pub mod mapping;
pub mod restore;
pub mod sandbox;
pub mod template;
pub mod ui;
pub mod undo;
pub mod validate;
pub mod verify;

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::Arc;

use serde::Serialize;

use crate::api::Client;
use crate::apply::{Limits, Report, Session, Settings, Stop};

use crate::error::{usage, Exit};
use crate::progress::Progress;
use crate::validate::Mode;
pub use global::{Global, Output, DEFAULT_BASE_URL};
pub use input::InputArgs;
pub use load::Load;

/// The input and how its rows find their customers: the same flags for `validate` and
/// `import`, so a dry run checks exactly what the import will do.
#[derive(Debug, Clone, clap::Args)]
pub struct Rows {
    #[command(flatten)]
    pub input: InputArgs,

    /// What to do with each row (create, update, upsert or delete); it decides what a row
    /// needs: create requires a name, update an id column or --match-on.
    #[arg(long, value_enum, default_value_t = Mode::Create)]
    pub mode: Mode,

    /// The keys that match rows to customers, tried in order for each row: the first whose
    /// fields all have a value is the row's key; `+` joins fields into one key
    /// (`siret,name+zipCode`). Text compares trimmed, case and accents aside; SIRETs and
    /// postcodes without spaces. A key must not repeat within the file. Default: the id
    /// column, else siret, else name.
    #[arg(long, value_name = "KEYS")]
    pub match_on: Option<String>,
}

/// The flags of every command that changes the store (import, undo, restore): how hard it may
/// press the API, when failures stop it, and resuming it.
#[derive(Debug, Clone, clap::Args)]
pub struct Changes {
    #[command(flatten)]
    pub load: Load,

    /// Stop after N failed rows in all. A run also stops when 20 rows in a row fail the same
    /// way, or more than half of its first 100 rows fail; 0 never stops for failures.
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,

    /// Continue the interrupted run its journal describes (the newest of its series):
    /// finished rows are skipped, rows that were in flight are looked up before anything is
    /// sent again.
    #[arg(long)]
    pub resume: bool,

    /// Start a new run beside an unfinished journal instead of continuing it: the new run
    /// writes the next journal of the series (NAME.2.journal, ...); the unfinished one is kept
    /// as it is. A journal is never overwritten.
    #[arg(long, conflicts_with = "resume")]
    pub fresh: bool,
}

impl Changes {
    /// The run's settings; `repair` is each command's own flag.
    pub fn settings(&self, repair: bool) -> Settings {
        Settings {
            concurrency: self.load.most_in_flight(),
            limits: Limits {
                max_errors: self.max_errors,
                ..Limits::default()
            },
            resume: self.resume,
            repair,
            fresh: self.fresh,
        }
    }
}

/// A progress bar on a terminal only, never with `--no-progress` or `-q`.
pub fn progress(global: &Global) -> Progress {
    Progress::new(!global.no_progress && !global.quiet && std::io::stderr().is_terminal())
}

/// Prints a summary for people, or as JSON with `--output json`; nothing with `-q`, whose
/// runs tell how they went by their exit code (and errors, which are printed regardless).
pub fn print<S: Serialize + Display>(global: &Global, summary: &S) -> anyhow::Result<()> {
    match global.output {
        _ if global.quiet => {}
        Output::Json => println!("{}", serde_json::to_string_pretty(summary)?),
        Output::Text => print!("{summary}"),
    }
    Ok(())
}

/// Prints a run's summary, then fails with what stopped it early, if anything did.
pub fn finish(global: &Global, report: Report) -> anyhow::Result<Exit> {
    print(global, &report.summary)?;
    match report.stopped {
        Some(err) => Err(err),
        None => Ok(report.summary.exit()),
    }
}

/// Deleting needs a yes: typed at a terminal after reading `question` (which says how many
/// customers go; `None` when none do), or `--yes`, without which a run not at a terminal is
/// refused. `what` names the command.
pub fn confirm_deletes(
    what: &str,
    question: impl FnOnce() -> anyhow::Result<Option<String>>,
) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "this {what} deletes customers: add --yes to confirm (custbulk is not run from a \
             terminal, so it cannot ask)"
        )));
    }
    let Some(question) = question()? else {
        return Ok(());
    };
    eprint!("{question} Type yes to go on: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(usage("not confirmed: nothing was sent"))
    }
}

/// A run of changes' link to the terminal: its progress bar, and Ctrl-C, which closes the
/// gate of `client`'s requests (`None` for a run that sends none).
pub fn session(global: &Global, client: Option<&Client>) -> Session {
    let gate = client.map_or_else(Default::default, |c| c.throttle.gate.clone());
    Session {
        stop: watch_ctrl_c(Arc::new(Stop::new(gate))),
        progress: progress(global),
    }
}

/// First Ctrl-C: the gate closes (no request starts after it) and the run finishes what is
/// in flight. Second: the process exits at once with code 130 (journals are flushed line by
/// line, so nothing written is lost).
fn watch_ctrl_c(stop: Arc<Stop>) -> Arc<Stop> {
    let watched = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        watched.interrupt();
        crate::warn!(
            "Stopping: no request starts now; finishing those in flight (Ctrl-C again aborts)."
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Aborted. Run the same command with --resume to continue.");
            std::process::exit(130);
        }
    });
    stop
}

/// A future that completes on Ctrl-C or SIGTERM; the handlers are installed on return.
pub(crate) fn shutdown_signal(
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
            Ok(())
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async { Ok(tokio::signal::ctrl_c().await?) })
    }
}
