//! `custbulk sandbox`: serve the local emulator of the Customers API until Ctrl-C or SIGTERM.
//!
//! The URL goes to stdout as the first line, flushed, so a script can start the sandbox in the
//! background and read where it listens; everything for people goes to stderr.

use std::io::Write;
use std::path::PathBuf;

use crate::cmd::Global;
use crate::error::Exit;
use crate::info;
use crate::sandbox::{
    self, IdField, ListShape, Options, Quirks, RateHeaders, RateWindow, Variants,
};

const EXAMPLES: &str = "\
Examples:
  # Serve on port 8080, keeping customers in customers.json between runs:
  custbulk sandbox --data customers.json

  # Rehearse a bulk import against a flaky, rate-limited server (same faults every run):
  custbulk sandbox --port 0 --fail-rate 0.05 --drop-rate 0.01 --rate-limit 50 --seed 7

  # A token bucket of 60 refilled at 300 a second, saying so in RateLimit-* headers:
  custbulk sandbox --rate-limit 300 --rate-window bucket --rate-burst 60 --rate-headers

  # Play an API whose POST answers only the id and whose PATCH ignores null:
  custbulk sandbox --post-answer id --patch-null ignored

  # Then, in another shell:
  export ICLOUDREADY_BASE_URL=http://127.0.0.1:8080/api/v2 ICLOUDREADY_API_KEY=anything
  custbulk check";

/// Serve a local emulator of the Customers API, for trying custbulk and for tests.
///
/// The sandbox keeps customers in memory and answers like the real API: bearer auth, JSON type
/// checks, paging, sorting, search and filters. It prints its base URL as the first line on
/// stdout and serves until Ctrl-C or SIGTERM, then saves --data. Latency, errors, dropped
/// connections and rate limits can be injected to rehearse a bulk run; --seed makes them
/// repeat exactly.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES, next_help_heading = "Sandbox options")]
pub struct Args {
    /// Port to listen on, on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Accept only this API key (by default any non-empty bearer token is accepted).
    #[arg(long, value_name = "T")]
    pub token: Option<String>,

    /// How list responses are wrapped.
    #[arg(long, value_enum, default_value = "docs")]
    pub list_shape: ListShape,

    /// The name of the id field in records.
    #[arg(long, value_enum, default_value = "_id")]
    pub id_field: IdField,

    /// Milliseconds to wait before handling each request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Up to this many more milliseconds, drawn at random for each request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,

    /// Probability (0 to 1) of answering 500 before doing anything.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_rate: f64,

    /// Probability (0 to 1) of answering 500 after a write is stored.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_after_commit_rate: f64,

    /// Probability (0 to 1) of closing the connection without an answer after a write is stored.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub drop_rate: f64,

    /// Answer 429 with Retry-After to requests beyond N a second (or a --rate-period).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,

    /// How --rate-limit counts: in fixed windows of the period, in a sliding period ending now,
    /// or as a token bucket refilled at the rate (holding --rate-burst tokens).
    #[arg(long, value_enum, value_name = "KIND", default_value = "fixed")]
    pub rate_window: RateWindow,

    /// The period --rate-limit counts over, in seconds (86400 plays a daily quota).
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = positive_seconds)]
    pub rate_period: f64,

    /// The token bucket's size with --rate-window bucket (default: a fifth of --rate-limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: Option<u32>,

    /// Tell the allowance on every answer: the IETF draft's RateLimit-* fields (ietf, the
    /// default), X-RateLimit-* with an epoch reset (x), or the later draft's RateLimit and
    /// RateLimit-Policy (combined).
    #[arg(long, value_enum, value_name = "STYLE", num_args = 0..=1, default_missing_value = "ietf")]
    pub rate_headers: Option<RateHeaders>,

    /// Serve at most N requests at a time (latency included) and queue the rest, so round
    /// trips grow with the load as a real server's do.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub capacity: Option<u32>,

    /// Seed of the random faults: the same seed gives the same faults for the same requests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Load customers from this JSON array at start (a missing file is an empty store) and
    /// write them back on shutdown.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    #[command(flatten)]
    pub variants: Variants,

    #[command(flatten)]
    pub quirks: Quirks,
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "{s:?} is not a probability: give a number from 0 to 1, such as 0.05"
        )),
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(secs),
        _ => Err(format!(
            "{s:?} is not a number of seconds: give one above 0, such as 1 or 86400"
        )),
    }
}

pub async fn run(_global: &Global, args: Args) -> anyhow::Result<Exit> {
    // Listen for signals before printing the URL: a script may send SIGTERM as soon as it has it.
    let shutdown = super::shutdown_signal()?;
    let data = args.data.clone();
    let running = sandbox::start(Options {
        port: args.port,
        token: args.token,
        list_shape: args.list_shape,
        id_field: args.id_field,
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        fail_rate: args.fail_rate,
        fail_after_commit_rate: args.fail_after_commit_rate,
        drop_rate: args.drop_rate,
        rate_limit: args.rate_limit,
        rate_window: args.rate_window,
        rate_period: Some(std::time::Duration::from_secs_f64(args.rate_period)),
        rate_burst: args.rate_burst,
        rate_headers: args.rate_headers,
        capacity: args.capacity.map(|n| n as usize),
        seed: args.seed,
        data: args.data,
        variants: args.variants,
        quirks: args.quirks,
    })
    .await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", running.base_url)?;
        out.flush()?;
    }
    if let Some(path) = &data {
        info!(
            "Loaded {} customers from {}.",
            running.len(),
            path.display()
        );
    }
    info!("The sandbox is listening. To use it from another shell:");
    info!("  export ICLOUDREADY_BASE_URL={}", running.base_url);
    info!("  export ICLOUDREADY_API_KEY=anything   # or the value given to --token");
    info!("Press Ctrl-C to stop.");
    shutdown.await?;
    let (count, saved) = running.stop_for_exit().await?;
    match &data {
        Some(path) if saved => info!("Saved {count} customers to {}.", path.display()),
        Some(path) => info!(
            "{} still holds the {count} customers: nothing changed, nothing to save.",
            path.display()
        ),
        None => {}
    }
    Ok(Exit::Ok)
}
