//! One file per command, each with its own `Args` and `run`: flags become an engine's plain
//! options here, and nothing below this module sees the command line. What every command shares
//! lives in this file: the progress bar's switch, printing a summary, Ctrl-C.

pub mod check;
pub mod completions;
pub mod connect;
pub mod export;
mod global;
pub mod import;
pub mod mapping;
pub mod sandbox;
pub mod template;
pub mod undo;
pub mod validate;
pub mod verify;

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::Arc;

use serde::Serialize;

use crate::apply::{Report, Stop};

use crate::error::Exit;
use crate::progress::Progress;
pub use global::{Global, Output, DEFAULT_BASE_URL};

/// A progress bar on a terminal only, never with `--no-progress` or `-q`.
pub fn progress(global: &Global) -> Progress {
    Progress::new(!global.no_progress && !global.quiet && std::io::stderr().is_terminal())
}

/// Prints a summary for people, or as JSON with `--output json`.
pub fn print<S: Serialize + Display>(global: &Global, summary: &S) -> anyhow::Result<()> {
    match global.output {
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

/// First Ctrl-C: the run stops taking rows and finishes what is in flight. Second: the process
/// exits at once with code 130 (journals are flushed line by line, so nothing written is lost).
pub fn watch_ctrl_c(then: &'static str) -> Arc<Stop> {
    let stop = Arc::new(Stop::default());
    let watched = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        crate::warn!("Stopping: finishing the requests in flight (Ctrl-C again aborts).");
        watched.interrupt();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Aborted. {then}");
            std::process::exit(130);
        }
    });
    stop
}
