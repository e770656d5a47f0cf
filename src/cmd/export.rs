//! `custbulk export FILE`: the flags, then the export engine ([`crate::export`]).

use std::path::PathBuf;

use anyhow::Context;
use tokio::sync::watch;

use crate::api::ClientOptions;
use crate::cmd::Global;
use crate::cmd::Load;
use crate::error::Exit;
use crate::export::{self, Format, Job, Order};

const EXAMPLES: &str = "\
Examples:
  custbulk export customers.xlsx
  custbulk export backup.ndjson --page-size 1000 --concurrency 8
  custbulk export actifs.csv --p '{\"status\":\"actif\"}' --bom";

/// Export every customer to a file: a complete backup you can open, verify, and import back.
///
/// custbulk pages through the API in a stable order (oldest first by default), writes each
/// customer once even if the list shifts between pages, and writes CSV, XLSX, JSON or NDJSON,
/// chosen by --format or the file's extension. The file appears under its name only when the
/// export is complete, with FILE.manifest.json beside it (record count, size, sha256, query);
/// `custbulk verify FILE` checks it later. A failed export leaves no new file and exits 3, and
/// so does one whose list ends short of the server's own total (unless --allow-incomplete);
/// the hidden temporary files of one that was killed are removed by the next export to FILE.
///
/// Columns of CSV and XLSX: the id, the customer fields in a fixed order, then every other
/// field the API returned; contacts are JSON text.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The file to write; its extension (.csv, .xlsx, .json, .ndjson or .jsonl) picks the
    /// format unless --format is given.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The output format, when the extension does not say it.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Start a CSV with a UTF-8 byte-order mark, so Excel shows accents and Arabic correctly.
    #[arg(long)]
    pub bom: bool,

    /// Records per page to ask for (the server may cap it lower; custbulk notices).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,

    /// Pages in flight (when the server tells the total) and requests per second.
    #[command(flatten)]
    pub load: Load,

    /// The field to sort by; a stable key keeps pages consistent.
    #[arg(long, value_name = "FIELD", default_value = "createdAt")]
    pub sort_by: String,

    /// The sort order.
    #[arg(long, value_enum, default_value_t = Order::Asc)]
    pub order: Order,

    /// Search text, passed to the API's `q` as given.
    #[arg(long, value_name = "TEXT")]
    pub q: Option<String>,

    /// Policy filters, passed to the API's `p` as given (the sandbox takes a JSON object).
    #[arg(long, value_name = "FILTER")]
    pub p: Option<String>,

    /// Fields to return, passed to the API's `fields` as given (e.g. `name,city`); the id always
    /// comes along.
    #[arg(long, value_name = "LIST")]
    pub fields: Option<String>,

    /// Stop after this many records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max: Option<u64>,

    /// Give up after this many pages: a guard against a list that never ends.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: u64,

    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,

    /// Keep an export that ends short of the server's own total (its list gave fewer
    /// customers than it says it has): written, with `complete: false` in the manifest, exit 1.
    /// Without it such an export writes nothing and exits 3.
    #[arg(long)]
    pub allow_incomplete: bool,
}

impl Args {
    fn options(&self) -> export::Options {
        export::Options {
            file: self.file.clone(),
            format: self.format,
            bom: self.bom,
            page_size: self.page_size,
            concurrency: self.load.most_in_flight(),
            sort_by: self.sort_by.clone(),
            order: self.order,
            q: self.q.clone(),
            p: self.p.clone(),
            fields: self.fields.clone(),
            max: self.max,
            max_pages: self.max_pages,
            allow_incomplete: self.allow_incomplete,
        }
    }
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let options = args.options();
    // Checked once before connecting (usage errors first), and again with the real base URL.
    Job::new(&options, &global.base_url)?;
    let client_options = ClientOptions {
        items_path: args.items_path.clone(),
        ..args.load.client_options()
    };
    let connection = super::connect::connect(global, client_options).await?;
    let job = Job::new(&options, connection.client.base_url())?;
    let progress = export::Progress::new(super::progress(global));
    let (cancel_tx, cancel) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = cancel_tx.send(true);
        }
    });
    let result = export::export(&connection.client, &job, &progress, cancel).await;
    watcher.abort();
    progress.finish();
    let summary = result.with_context(|| {
        format!(
            "the export did not complete, so {} was not written",
            job.file.display()
        )
    })?;
    summary.warn();
    super::print(global, &summary)?;
    Ok(match summary.complete {
        true => Exit::Ok,
        false => Exit::SomeRowsFailed,
    })
}
