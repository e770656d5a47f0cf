//! The command line: the list of commands, and how a run becomes an exit code.
//!
//! Each command lives in its own file under `cmd/` with its `Args` and `run`; this module only
//! dispatches, so adding a command is one variant here and one file there.

use std::io;

use clap::{CommandFactory, Parser, Subcommand};

use crate::cmd::{self, Global};
use crate::error::{self, Exit};
use crate::log;

/// Move customer records in bulk between spreadsheets and the iCloud-Ready Customers API.
///
/// The API key is read from ICLOUDREADY_API_KEY or from --api-key-file. Add --sandbox to any
/// command to run it against a local emulator of the API instead of the real one.
#[derive(Debug, Parser)]
#[command(
    name = "custbulk",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(cmd::validate::Args),
    Import(cmd::import::Args),
    Export(cmd::export::Args),
    Undo(cmd::undo::Args),
    Diff(cmd::diff::Args),
    Restore(cmd::restore::Args),
    Mapping(cmd::mapping::Args),
    Template(cmd::template::Args),
    Check(cmd::check::Args),
    Verify(cmd::verify::Args),
    Ui(cmd::ui::Args),
    Sandbox(cmd::sandbox::Args),
    Completions(cmd::completions::Args),
}

/// Runs a parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> u8 {
    log::init(if cli.global.quiet {
        0
    } else {
        1 + cli.global.verbose
    });
    match run(cli) {
        Ok(exit) => exit as u8,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            eprintln!("error: {err:#}");
            error::exit_code(&err)
        }
    }
}

/// Runs a parsed command line on a fresh runtime.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let Cli { global, command } = cli;
    runtime.block_on(async move {
        match command {
            Command::Check(args) => cmd::check::run(&global, args).await,
            Command::Sandbox(args) => cmd::sandbox::run(&global, args).await,
            Command::Ui(args) => cmd::ui::run(&global, args).await,
            Command::Completions(args) => cmd::completions::run(args, Cli::command()),
            Command::Validate(args) => cmd::validate::run(&global, args),
            Command::Import(args) => cmd::import::run(&global, args).await,
            Command::Export(args) => cmd::export::run(&global, args).await,
            Command::Undo(args) => cmd::undo::run(&global, args).await,
            Command::Diff(args) => cmd::diff::run(&global, args).await,
            Command::Restore(args) => cmd::restore::run(&global, args).await,
            Command::Mapping(args) => cmd::mapping::run(&global, args),
            Command::Template(args) => cmd::template::run(&global, args),
            Command::Verify(args) => cmd::verify::run(&global, args),
        }
    })
}

/// A closed stdout (`custbulk ... | head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
