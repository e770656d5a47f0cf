//! The flags every command accepts, and what they mean to all of them.

use clap::{Args, ValueEnum};

/// The vendor's base URL, used when neither `--base-url` nor `ICLOUDREADY_BASE_URL` is set.
pub const DEFAULT_BASE_URL: &str = "https://api.icloud-ready.com/api/v2";

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

    /// The API profile to read (default: ./custbulk.api.toml, else the user's config directory's
    /// custbulk/api.toml); `check --save` writes it here.
    #[arg(long, global = true, value_name = "FILE")]
    pub profile: Option<std::path::PathBuf>,

    /// Allow a plain http:// base URL that is not on this machine (the key travels in clear).
    #[arg(long, global = true)]
    pub allow_http: bool,

    /// Seconds to wait for one HTTP response before giving up on that attempt.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// The longest the server may ask custbulk to wait (Retry-After, a spent quota), in
    /// seconds: a longer wait stops the run (exit 3; --resume continues it later).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 600)]
    pub max_wait: u64,

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
