//! Finding the customer a row stands for, by a key compared exactly.
//!
//! Two ways to find: for a large file, page through the whole list once and index it by the
//! match key; for a small one, search per row with `q` (or by id with a GET). `q` is a fuzzy
//! search, so every candidate is confirmed by comparing the key exactly.
//!
//! An index that misses customers turns an upsert into duplicates, so the list is walked by
//! export's pager ([`crate::export::pager`]), with its end-of-list rules and its checks for a
//! server that ignores or repeats pages, and an index that holds fewer customers than the
//! server says it has is refused before any row is sent.

use std::collections::HashMap;

use anyhow::Context;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::api::{record_id, ApiError, Client, ListQuery, Record};
use crate::export::pager::{self, Batch, PagingError};
use crate::schema;

/// Files with more data rows than this are matched through a full index of the server's list.
pub const INDEX_ABOVE_ROWS: usize = 300;
/// Page size when building the index.
const INDEX_PAGE: u64 = 1000;
/// Guards against servers that never signal the end of a list.
const MAX_PAGES: u64 = 100_000;
/// Pages fetched at once when the server tells its total (requests stay within the client's
/// own bounds).
const INDEX_CONCURRENCY: usize = 4;

/// What a lookup found.
#[derive(Debug)]
pub enum Found {
    None,
    One(Record),
    /// More than one customer has this key: the row cannot be matched safely.
    Many(usize),
}

impl Found {
    /// The customer, when exactly one was found.
    pub fn one(self) -> Option<Record> {
        match self {
            Found::One(record) => Some(record),
            _ => None,
        }
    }
}

/// How rows are matched to customers.
pub enum Finder {
    /// The whole list, indexed by normalised key.
    Index(HashMap<String, Vec<Record>>),
    /// One request per row.
    Search(Client),
}

/// The key as compared: trimmed; SIRETs and SIRENs without spaces.
pub fn normalise_key(field: &str, value: &str) -> String {
    let value = value.trim();
    if field == "siret" {
        value.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        value.to_string()
    }
}

/// The key of a stored record, as text.
pub fn record_key(record: &Record, field: &str) -> Option<String> {
    if field == schema::ID {
        return record_id(record);
    }
    match record.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(normalise_key(field, s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Finder {
    /// Looks each key up on the server as it comes.
    pub fn search(client: &Client) -> Finder {
        Finder::Search(client.clone())
    }

    /// Pages through every customer once and indexes them by `field`. Fails (exit 3) when the
    /// list cannot be proved complete: the server ignores or repeats pages, or it gave fewer
    /// customers than it says it has.
    pub async fn index(client: &Client, field: &str) -> anyhow::Result<Finder> {
        let plan = pager::Plan {
            query: ListQuery {
                limit: Some(INDEX_PAGE),
                sort_by: Some("createdAt".into()),
                order: Some("asc".into()),
                ..ListQuery::default()
            },
            concurrency: INDEX_CONCURRENCY,
            max_records: None,
            max_pages: MAX_PAGES,
            collect_keys: false,
        };
        let (tx, rx) = mpsc::channel::<Batch>(2);
        // Never cancelled: the import has not started when the index is built.
        let (_cancel, cancel) = watch::channel(false);
        let progress = crate::export::Progress::hidden();
        let (paged, index) = tokio::join!(
            pager::fetch_all(client, &plan, tx, &progress, cancel),
            fill(rx, field)
        );
        let report = paged.map_err(incomplete)?;
        let index = index?;
        if let Some(total) = report.server_total.filter(|t| report.records < *t) {
            anyhow::bail!(
                "the server says it has {total} customers but its list gave {}: an index \
                 missing customers would make rows that match them new customers (duplicates), \
                 so nothing was sent. Run again; if it persists, the server's paging is broken \
                 (`custbulk export` shows it too)",
                report.records
            );
        }
        Ok(Finder::Index(index))
    }

    /// Finds the customer whose `field` equals `key` exactly.
    pub async fn find(&self, field: &str, key: &str) -> Result<Found, ApiError> {
        let key = normalise_key(field, key);
        match self {
            Finder::Index(index) => Ok(match index.get(&key).map(Vec::as_slice) {
                None | Some([]) => Found::None,
                Some([one]) => Found::One(one.clone()),
                Some(many) => Found::Many(many.len()),
            }),
            Finder::Search(client) => search(client, field, &key).await,
        }
    }
}

/// Indexes by `field` the records the pager hands over, each once, until it is done.
async fn fill(
    mut rx: mpsc::Receiver<Batch>,
    field: &str,
) -> anyhow::Result<HashMap<String, Vec<Record>>> {
    let mut index: HashMap<String, Vec<Record>> = HashMap::new();
    while let Some(batch) = rx.recv().await {
        for line in batch.lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let record: Record =
                serde_json::from_slice(line).context("the pager handed over a damaged record")?;
            // Without an id a customer cannot be updated, so it cannot be matched either.
            if record_id(&record).is_none() {
                continue;
            }
            if let Some(key) = record_key(&record, field) {
                index.entry(key).or_default().push(record);
            }
        }
    }
    Ok(index)
}

/// Why the list could not be walked, in an import's words (the pager speaks of an export).
fn incomplete(err: PagingError) -> anyhow::Error {
    let why = match err {
        PagingError::PageIgnored => {
            "the server ignores `page`: page 2 returned exactly the \
                                     customers of page 1, so the rest of the list cannot be reached"
                .to_string()
        }
        PagingError::Repeated { page } => format!(
            "page {page} of the list brought only customers already listed: the server repeats \
             pages, so the list cannot be proved complete"
        ),
        PagingError::EndedEarly { page } => format!(
            "page {page} of the list came back empty although the page before said more would \
             follow: the list broke off, so it cannot be proved complete"
        ),
        PagingError::TooManyPages(pages) => {
            format!("the list did not end within {pages} pages")
        }
        other => return anyhow::Error::new(other),
    };
    anyhow::anyhow!(
        "{why}; an index missing customers would make duplicates, so nothing was sent \
         (`custbulk check` tells what the server does with `page`)"
    )
}

/// Looks one customer up on the server, confirming the key exactly.
pub async fn search(client: &Client, field: &str, key: &str) -> Result<Found, ApiError> {
    if field == schema::ID {
        return match client.get(key).await {
            Ok(record) => Ok(Found::One(record)),
            Err(e) if e.status() == Some(404) => Ok(Found::None),
            Err(e) => Err(e),
        };
    }
    let query = ListQuery {
        q: Some(key.to_string()),
        limit: Some(100),
        ..ListQuery::default()
    };
    let mut matches: Vec<Record> = client
        .list(&query)
        .await?
        .items
        .into_iter()
        .filter(|r| record_key(r, field).as_deref() == Some(key))
        .collect();
    if matches.is_empty() {
        // `q` may not search this field on the real API: try an exact filter too.
        let filter = serde_json::json!({ field: key }).to_string();
        let query = ListQuery {
            p: Some(filter),
            limit: Some(100),
            ..ListQuery::default()
        };
        if let Ok(page) = client.list(&query).await {
            matches = page
                .items
                .into_iter()
                .filter(|r| record_key(r, field).as_deref() == Some(key))
                .collect();
        }
    }
    matches.dedup_by(|a, b| record_id(a) == record_id(b));
    Ok(match matches.len() {
        0 => Found::None,
        1 => Found::One(matches.pop().expect("one")),
        n => Found::Many(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn sirets_match_without_spaces() {
        let r = record(json!({"siret": "552 120 222 00013"}));
        assert_eq!(record_key(&r, "siret").as_deref(), Some("55212022200013"));
        assert_eq!(
            normalise_key("siret", " 552 120 222 00013 "),
            "55212022200013"
        );
        assert_eq!(
            record_key(&record(json!({"_id": "x"})), schema::ID).as_deref(),
            Some("x")
        );
    }
}
