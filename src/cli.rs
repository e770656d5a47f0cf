//! The command line: global flags, the list of commands, and how a run becomes an exit code.
//!
//! Each command lives in its own file under `cmd/` with its `Args` and `run`; this module only
//! dispatches, so adding a command is one variant here and one file there.

use std::io;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cmd;
use crate::error::{self, Exit};
use crate::log;

/// The vendor's base URL, used when neither `--base-url` nor `ICLOUDREADY_BASE_URL` is set.
pub const DEFAULT_BASE_URL: &str = "https://api.icloud-ready.com/api/v2";

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

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Base URL of the Customers API.
    #[arg(long, global = true, env = "ICLOUDREADY_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,

    /// Read the API key from this file instead of ICLOUDREADY_API_KEY.
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<std::path::PathBuf>,

    /// Start the sandbox (a local emulator of the API) in-process and talk to it.
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Allow a plain http:// base URL that is not on this machine (the key travels in clear).
    #[arg(long, global = true)]
    pub allow_http: bool,

    /// Seconds to wait for one HTTP response before giving up on that attempt.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// The largest response body read, in MB: a larger answer fails its request, unread.
    #[arg(long, global = true, value_name = "N", default_value_t = crate::api::MAX_RESPONSE_MB,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_response_mb: u64,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more: -v for each request, -vv for more detail.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never show a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// How to print the final summary: text for people, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(cmd::validate::Args),
    Import(crate::import::Args),
    Export(cmd::export::Args),
    Undo(crate::undo::Args),
    Mapping(cmd::mapping::Args),
    Template(cmd::template::Args),
    Check(cmd::check::Args),
    Verify(cmd::verify::Args),
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
            Command::Completions(args) => cmd::completions::run(args),
            Command::Validate(args) => cmd::validate::run(&global, args),
            Command::Import(args) => crate::import::run(&global, args).await,
            Command::Export(args) => cmd::export::run(&global, args).await,
            Command::Undo(args) => crate::undo::run(&global, args).await,
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
