//! Reading a side: a backup file in any export format, or the account through the list walk
//! ([`crate::api::list`]).
//!
//! JSON and NDJSON backups keep each record as the API returned it, so their records are split
//! without parsing and taken as written (their identity computed from the text), and left in
//! the file, where the side reads them again. CSV and sheet
//! backups go through the import's own pipeline, so their values are what an import would send:
//! `01000` stays text, `true` a boolean, a contacts cell the array it holds.

use std::path::Path;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use super::{Builder, Side};
use crate::api::list::{self, Batch};
use crate::api::{Client, ListQuery, Record};
use crate::lookup::Keys;
use crate::pipeline::{Input, Pipeline};
use crate::read::records::{Records, Split};
use crate::validate::{Checked, Mode, ValidateOptions};

/// Reads a backup file into a side; `keys` are what records may also be matched on,
/// and `indexed` whether the other side's records are looked up in this one. Records that
/// cannot be read (not a JSON object, a row with errors) are left out and counted in
/// [`Side::unreadable`], the first ones with their reason.
pub fn from_file(path: &Path, keys: Option<&Keys>, indexed: bool) -> anyhow::Result<Side> {
    let format = crate::read::sniff(path)?.format;
    if format.is_json() {
        let mut side = Builder::in_place(path, keys, indexed);
        let mut records = Records::open(path, format)?;
        while let Some((row, split)) = records.next()? {
            match split {
                Split::Text => {
                    if let Err(e) = side.push_in_place(row, records.bytes(), records.at()) {
                        side.unreadable(row, format!("not a customer record: {e}"));
                    }
                }
                Split::TooLong => side.unreadable(row, "longer than a customer record can be"),
                Split::Blank => {}
            }
        }
        side.finish()
    } else {
        let name = path.display().to_string();
        let mut side = Builder::new(&name, path, keys, indexed)?;
        read_table(path, &mut side)?;
        side.finish()
    }
}

/// A sheet or CSV backup, read as an import reads it: the id column and the customer fields.
fn read_table(path: &Path, side: &mut Builder) -> anyhow::Result<()> {
    let input = Input {
        file: path.to_path_buf(),
        ..Input::default()
    };
    let options = ValidateOptions {
        mode: Mode::Upsert,
        match_on: None,
    };
    let mut pipeline = Pipeline::open(&input, &options)?;
    let mut row = Checked::new();
    while pipeline.next(&mut row)? {
        if row.blank_row {
            continue;
        }
        if !row.is_valid() {
            let why = row
                .problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            side.unreadable(row.row, why);
            continue;
        }
        let mut record: Record = row.record();
        if let Some(id) = row.id() {
            record.insert("_id".into(), id.into());
        }
        side.push(row.row, &record)
            .with_context(|| format!("cannot spool {}", path.display()))?;
    }
    Ok(())
}

/// Where and how to page through the account.
pub struct Live<'a> {
    pub client: &'a Client,
    pub page_size: u64,
    /// Pages in flight, when the server tells the total.
    pub concurrency: usize,
    pub progress: &'a crate::progress::Progress,
    pub cancel: watch::Receiver<bool>,
}

/// Reads every customer of the account into a side, in a stable order (oldest first), with
/// export's checks: each record once, and a server that ignores or repeats pages refused.
/// Its spool goes beside `beside`.
pub async fn from_live(
    live: Live<'_>,
    beside: &Path,
    keys: Option<&Keys>,
    indexed: bool,
) -> anyhow::Result<Side> {
    let mut side = Builder::new("live", beside, keys, indexed)?;
    let plan = list::ListPlan {
        query: ListQuery {
            limit: Some(live.page_size),
            sort_by: Some("createdAt".into()),
            order: Some("asc".into()),
            ..ListQuery::default()
        },
        concurrency: live.concurrency,
        max_records: None,
        max_pages: 1_000_000,
        collect_keys: false,
    };
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let paging = list::fetch_all(live.client, &plan, tx, live.progress, live.cancel);
    let mut row = 0u32;
    let taking = async {
        while let Some(batch) = rx.recv().await {
            for line in batch.lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                row += 1;
                side.push_json(row, line)?;
            }
        }
        Ok::<_, serde_json::Error>(())
    };
    let (paged, taken) = tokio::join!(paging, taking);
    paged.context("cannot list the customers of the account")?;
    taken.context("the account's list holds a record that is not a JSON object")?;
    side.finish()
}
