//! Finding the customer a row stands for, by [match keys](key) compared in their own forms,
//! and the customers a new row would probably [duplicate](duplicates).
//!
//! Two ways to find: an [index] of the server's whole list, paged once, or a search per row
//! ([search]: `q`, or a GET by id). A server's search is fuzzy and knows nothing of our
//! folding, so it serves only small files that never create a customer and match on keys it
//! can find as typed (the id, a SIRET, a postcode, a number); every other run reads the list
//! once, so that `Epicerie Zoe` finds `SARL Épicerie Zoé` whatever the server's search does.
//!
//! An index that misses customers turns an upsert into duplicates, so the list is read by
//! the list walk ([`crate::api::list`]), with its end-of-list rules and its checks for a
//! server that ignores or repeats pages, and an index that holds fewer customers than the
//! server says it has is refused before any row is sent.

pub mod duplicates;
pub mod fold;
mod index;
pub mod key;
mod name;
mod search;

use std::path::Path;

use tokio::sync::{mpsc, watch};

use crate::api::list::{self, Batch, PagingError};
use crate::api::{ApiError, Client, ListQuery, Record};
use duplicates::Likeness;
pub use index::{Index, Needs};
pub use key::{Key, Keys, Picked};
pub use search::{identifying, search};

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

/// How rows are matched to customers.
pub enum Finder {
    /// The whole list, indexed by every key and probe the run needs.
    Index(Box<Index>),
    /// One request per row.
    Search(Client),
}

/// The key as compared, for one field: see [`key`] (`siret` without spaces, text folded).
pub fn normalise_key(field: &str, value: &str) -> String {
    let mut body = Record::new();
    body.insert(field.to_string(), value.into());
    match Key::parse(field) {
        Ok(key) if !key.is_id() => key.of_row(&body, None).unwrap_or_default(),
        _ => value.trim().to_string(),
    }
}

/// The key of a stored record for one field, as text in its compared form.
pub fn record_key(record: &Record, field: &str) -> Option<String> {
    Key::parse(field).ok()?.of_record(record)
}

impl Finder {
    /// Matches nothing: for runs that send nothing (`--dry-run`).
    pub fn offline() -> Finder {
        Finder::Index(Box::new(Index::empty()))
    }

    /// Looks each key up on the server as it comes.
    pub fn search(client: &Client) -> Finder {
        Finder::Search(client.clone())
    }

    /// Pages through every customer once and indexes them for `needs`, spooling the records
    /// beside `beside`. Fails (exit 3) when the list cannot be proved complete: the server
    /// ignores or repeats pages, or it gave fewer customers than it says it has.
    pub async fn index(client: &Client, needs: &Needs, beside: &Path) -> anyhow::Result<Finder> {
        Ok(Finder::Index(Box::new(
            read_list(client, needs, beside).await?,
        )))
    }

    /// The customers `picked` (a key of `keys`, chosen for a row whose fields are `body` and
    /// id column `id`) finds.
    pub async fn find(
        &self,
        keys: &Keys,
        picked: &Picked,
        body: &Record,
        id: Option<&str>,
    ) -> Result<Found, ApiError> {
        match self {
            Finder::Index(index) => index.find(picked.key, &picked.value).map_err(local),
            Finder::Search(client) => {
                search(client, keys.get(picked.key), body, id, &picked.value).await
            }
        }
    }

    /// The customers a row whose fields are `body` resembles, strongest first; empty when this
    /// finder does not look (a search per row, which a run that creates never uses).
    pub fn resembling(&self, body: &Record) -> Result<Vec<(Record, duplicates::Why)>, ApiError> {
        match self {
            Finder::Index(index) => index.resembling(&Likeness::of_record(body)).map_err(local),
            Finder::Search(_) => Ok(Vec::new()),
        }
    }

    /// The customers indexed; `None` for a search per row.
    pub fn indexed(&self) -> Option<u64> {
        match self {
            Finder::Index(index) => Some(index.records),
            Finder::Search(_) => None,
        }
    }
}

/// Pages through every customer once and indexes them for `needs`, spooling the records
/// beside `beside`. Fails (exit 3) when the list cannot be proved complete: the server ignores
/// or repeats pages, or it gave fewer customers than it says it has.
pub async fn read_list(client: &Client, needs: &Needs, beside: &Path) -> anyhow::Result<Index> {
    let plan = list::ListPlan {
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
    let index = Index::new(needs, beside)?;
    let (tx, rx) = mpsc::channel::<Batch>(2);
    // Never cancelled: the import has not started when the index is built.
    let (_cancel, cancel) = watch::channel(false);
    let (paged, index) = tokio::join!(
        list::fetch_all(client, &plan, tx, &(), cancel),
        fill(rx, index)
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
    Ok(index)
}

fn local(err: anyhow::Error) -> ApiError {
    ApiError::Local(format!("{err:#}"))
}

/// Indexes the records the walk hands over, each once, until it is done.
async fn fill(mut rx: mpsc::Receiver<Batch>, mut index: Index) -> anyhow::Result<Index> {
    let mut scratch = Likeness::default();
    while let Some(batch) = rx.recv().await {
        for line in batch.lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            index.push(line, &mut scratch)?;
        }
    }
    index.finish()?;
    Ok(index)
}

/// Why the list could not be walked, in an import's words (the walk speaks of an export).
fn incomplete(err: PagingError) -> anyhow::Error {
    let why = match err {
        PagingError::PageIgnored => "the server ignores `page`: page 2 returned exactly the \
             customers of page 1, so the rest of the list cannot be reached"
            .to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use serde_json::{json, Value};

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
        assert_eq!(normalise_key("name", " Épicerie  ZOÉ"), "epicerie zoe");
    }
}
