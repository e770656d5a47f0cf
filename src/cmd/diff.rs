//! `custbulk diff OLD NEW`: the flags, the sides (files or `live`), then [`crate::diff`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::sync::watch;

use crate::api::ClientOptions;
use crate::cmd::Global;
use crate::diff::{self, Options};
use crate::error::{usage, Exit};
use crate::lookup::Keys;
use crate::side::{self, By, Side};

/// Compare two customer lists and say what changed: customers added, removed, and changed
/// field by field.
///
/// Each side is a backup file in any export format (CSV, XLSX, JSON, NDJSON) or the word
/// `live` for the account itself. Records are matched by id, or by --match-on FIELD when the
/// ids differ (two accounts, or an account restored from scratch). Values compare as the
/// importer reads them: CSV `01000` equals JSON "01000", `true` equals true, a contacts cell
/// equals the array. Exit 0 when the lists are the same, 1 when they differ, 2 for a usage
/// error, 3 when a side cannot be read.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custbulk diff backup.ndjson live
  custbulk diff monday.csv tuesday.xlsx --report changes.csv
  custbulk diff account-a.ndjson account-b.ndjson --match-on siret --output json")]
pub struct Args {
    /// The older list: a backup file, or `live`.
    pub old: String,

    /// The newer list: a backup file, or `live`.
    pub new: String,

    /// Write every difference to this CSV file (id, key, kind, field, old, new).
    #[arg(long, value_name = "DIFF.csv")]
    pub report: Option<PathBuf>,

    /// Match records by these keys instead of by id, tried in order (`siret,name+zipCode`),
    /// compared as import compares them.
    #[arg(long, value_name = "KEYS")]
    pub match_on: Option<Keys>,

    /// Records per page to ask for when a side is `live`.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
}

const LIVE: &str = "live";

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    if args.old == LIVE && args.new == LIVE {
        return Err(usage(
            "diff compares two lists: at most one side can be `live`",
        ));
    }
    let keys = args
        .match_on
        .clone()
        .unwrap_or_else(|| "siret".parse().expect("a field"));
    let options = Options {
        by: if args.match_on.is_some() {
            By::Key
        } else {
            By::Id
        },
        keys,
        report: args.report.clone(),
    };
    // Keys are hashed only when records are matched on them.
    let key = args.match_on.as_ref();
    let (old, new) = sides(global, &args, key).await?;
    let summary = tokio::task::spawn_blocking(move || diff::compare(&old, &new, &options))
        .await
        .context("the comparison failed")??;
    super::print(global, &summary)?;
    Ok(summary.exit())
}

/// Reads both sides: two files in parallel, or a file and the account. The old side is
/// indexed: the new one's records are looked up in it.
async fn sides(global: &Global, args: &Args, key: Option<&Keys>) -> anyhow::Result<(Side, Side)> {
    let file = |name: &str, indexed: bool| {
        let (path, key) = (PathBuf::from(name), key.cloned());
        tokio::task::spawn_blocking(move || side::from_file(&path, key.as_ref(), indexed))
    };
    let read = |name: &str, indexed: bool| match name {
        LIVE => SideTask::Live,
        name => SideTask::File(file(name, indexed)),
    };
    let (old, new) = (read(&args.old, true), read(&args.new, false));
    let mut live = None;
    if args.old == LIVE || args.new == LIVE {
        let beside = if args.old == LIVE {
            &args.new
        } else {
            &args.old
        };
        let indexed = args.old == LIVE;
        live = Some(self::live(global, args, Path::new(beside), key, indexed).await?);
    }
    Ok((old.finish(&mut live).await?, new.finish(&mut live).await?))
}

/// A side being read.
enum SideTask {
    File(tokio::task::JoinHandle<anyhow::Result<Side>>),
    Live,
}

impl SideTask {
    async fn finish(self, live: &mut Option<Side>) -> anyhow::Result<Side> {
        match self {
            SideTask::File(task) => task.await.context("reading a side failed")?,
            SideTask::Live => live.take().context("the live side was read once"),
        }
    }
}

/// The account's customers, paged as export pages them.
async fn live(
    global: &Global,
    args: &Args,
    beside: &Path,
    key: Option<&Keys>,
    indexed: bool,
) -> anyhow::Result<Side> {
    let connection = super::connect::connect(global, ClientOptions::default()).await?;
    let progress = super::progress(global);
    let (_cancel_tx, cancel) = watch::channel(false);
    let live = side::Live {
        client: &connection.client,
        page_size: args.page_size,
        concurrency: 4,
        progress: &progress,
        cancel,
    };
    let side = side::from_live(live, beside, key, indexed).await;
    progress.finish();
    side
}
