//! Paging through `GET /customers` for an export: every page in order, each record once.
//!
//! The API documents `limit` and `page` but no response schema, so the end of the list is read
//! from whatever the envelope offers (an empty page, `hasNextPage`/`nextPage`, `totalPages`, or a
//! total), records are de-duplicated by id (a fixed-key 64-bit hash of each id, so a million ids
//! cost about 18 MB), and two failure modes are caught instead of looping: a server that ignores
//! `page` (page 2 repeats page 1) and one that repeats pages later on; a page cap is the last
//! guard. When the first page tells the total, pages are fetched concurrently and handed on in
//! order through a bounded reorder buffer; otherwise one page is fetched ahead.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::progress::Progress;
use crate::api::{record_id, ApiError, Client, ListQuery, Page, Record};

/// What to fetch and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `limit`, sort and filters; `page` is set per request.
    pub query: ListQuery,
    /// Pages in flight when the total is known.
    pub concurrency: usize,
    pub max_records: Option<u64>,
    pub max_pages: u64,
}

/// What the paging saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub pages: u64,
    pub records: u64,
    /// Records skipped because an earlier page already had their id.
    pub duplicates: u64,
    /// Records without `_id`/`id`: kept, but they cannot be de-duplicated.
    pub without_id: u64,
    /// The total the last page reported, when the envelope has one.
    pub server_total: Option<u64>,
    pub envelope: Option<String>,
    /// The page size the server used (lower than asked when it caps `limit`).
    pub page_size: u64,
    /// Whether pages were fetched concurrently (the total was known).
    pub concurrent: bool,
}

/// Why paging stopped short.
#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    #[error(
        "the server ignores `page`: page 2 returned exactly the records of page 1, so the rest \
         of the list cannot be reached (try a different --page-size, or check the API with \
         `custbulk check`)"
    )]
    PageIgnored,
    #[error(
        "page {page} brought only records already exported: the server repeats pages (it may \
         ignore or clamp `page`), so the export cannot be proved complete"
    )]
    Repeated { page: u64 },
    #[error("reached {0} pages (--max-pages) without reaching the end of the list")]
    TooManyPages(u64),
    #[error("fetching page {page}: {source}")]
    Api {
        page: u64,
        #[source]
        source: ApiError,
    },
    #[error("interrupted")]
    Interrupted,
    /// The writer stopped; its own error says why.
    #[error("the file writer stopped")]
    WriterGone,
}

/// Fetches every page and sends each page's new records, in order, to `tx`.
pub async fn fetch_all(
    client: &Client,
    plan: &Plan,
    tx: mpsc::Sender<Vec<Record>>,
    progress: &Progress,
    mut cancel: watch::Receiver<bool>,
) -> Result<Report, PagingError> {
    let asked = plan.query.limit.unwrap_or(100).max(1);
    let first = fetch(client, &plan.query, 1).await?;
    let mut report = Report {
        envelope: Some(first.envelope.to_string()),
        page_size: page_size(&first, asked),
        ..Report::default()
    };
    let size = report.page_size;
    // Pages needed to reach --max, so a short export does not fetch the whole list ahead.
    let max_pages_for_max = plan.max_records.map(|m| m.div_ceil(size));
    let mut last = last_page(&first, size);
    report.concurrent = last.is_some();
    let window = if report.concurrent {
        plan.concurrency.max(1) * 2
    } else {
        2
    };
    let mut tracker = Tracker::new(plan.max_records, first.total);
    progress.start(
        first
            .total
            .map(|t| plan.max_records.map_or(t, |m| m.min(t))),
    );

    let mut page = first;
    let mut number = 1;
    let mut in_flight: VecDeque<JoinHandle<Result<Page, ApiError>>> = VecDeque::new();
    let mut next = 2;
    let result = loop {
        report.pages += 1;
        if page.total.is_some() {
            report.server_total = page.total;
        }
        let end = is_end(number, &page, size);
        let (batch, full) = match tracker.accept(number, page.items) {
            Ok(accepted) => accepted,
            Err(e) => break Err(e),
        };
        progress.page(number, last, batch.len() as u64);
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            break Err(PagingError::WriterGone);
        }
        if end || full {
            break Ok(());
        }
        if *cancel.borrow() {
            break Err(PagingError::Interrupted);
        }
        // Keep the reorder buffer full: up to `window` pages ahead of the one being written,
        // and no further than the last page known (but always at least the next one, since the
        // list may have grown).
        while in_flight.len() < window && next <= plan.max_pages {
            let wanted = [last, max_pages_for_max].into_iter().flatten().min();
            if !in_flight.is_empty() && wanted.is_some_and(|w| next > w) {
                break;
            }
            let mut query = plan.query.clone();
            query.page = Some(next);
            let client = client.clone();
            in_flight.push_back(tokio::spawn(async move { client.list(&query).await }));
            next += 1;
        }
        let Some(handle) = in_flight.pop_front() else {
            break Err(PagingError::TooManyPages(plan.max_pages));
        };
        number += 1;
        let joined = tokio::select! {
            joined = handle => joined,
            Ok(_) = cancel.wait_for(|c| *c) => break Err(PagingError::Interrupted),
        };
        page = match joined {
            Ok(Ok(p)) => p,
            Ok(Err(source)) => {
                break Err(PagingError::Api {
                    page: number,
                    source,
                })
            }
            Err(join) => {
                break Err(PagingError::Api {
                    page: number,
                    source: ApiError::Local(format!("the request task failed: {join}")),
                })
            }
        };
        if let Some(l) = last_page(&page, size) {
            last = Some(l);
        }
    };
    for handle in in_flight {
        handle.abort();
    }
    result?;
    report.records = tracker.records;
    report.duplicates = tracker.duplicates;
    report.without_id = tracker.without_id;
    Ok(report)
}

async fn fetch(client: &Client, query: &ListQuery, page: u64) -> Result<Page, PagingError> {
    let mut query = query.clone();
    query.page = Some(page);
    client
        .list(&query)
        .await
        .map_err(|source| PagingError::Api { page, source })
}

/// The page size the server really uses: the envelope's `limit`, or the size of a first page
/// that came back shorter than asked although more records exist (a cap), or what was asked.
fn page_size(first: &Page, asked: u64) -> u64 {
    let got = first.items.len() as u64;
    match first.limit {
        Some(limit) if limit > 0 => limit,
        _ if got > 0 && got < asked && first.total.is_some_and(|t| t > got) => got,
        _ => asked,
    }
}

/// The last page number, when the envelope tells enough to compute it.
fn last_page(page: &Page, size: u64) -> Option<u64> {
    page.total_pages
        .or_else(|| page.total.map(|t| t.div_ceil(size.max(1))))
}

/// Whether page `number` is the last one, by the best signal the envelope gives.
fn is_end(number: u64, page: &Page, size: u64) -> bool {
    if page.items.is_empty() {
        return true;
    }
    if let Some(has_next) = page.has_next {
        return !has_next;
    }
    if let Some(total_pages) = page.total_pages {
        return number >= total_pages;
    }
    if let Some(total) = page.total {
        return number.saturating_mul(size) >= total;
    }
    // A bare array says nothing: only an empty page ends it (a short page may be a cap).
    false
}

/// The ids seen so far and the counts, in page order.
struct Tracker {
    seen: HashSet<u64, BuildHasherDefault<Prehashed>>,
    /// Fingerprints of page 1, kept until page 2 has been compared with them.
    first_page: Vec<u64>,
    max: Option<u64>,
    records: u64,
    duplicates: u64,
    without_id: u64,
}

impl Tracker {
    fn new(max: Option<u64>, total: Option<u64>) -> Tracker {
        // Sized from the total up front, so the set does not double (and briefly triple its
        // memory) while it grows; capped so a wild total cannot reserve gigabytes.
        let expected = max.or(total).unwrap_or(0).min(4_000_000) as usize;
        Tracker {
            seen: HashSet::with_capacity_and_hasher(expected, Default::default()),
            first_page: Vec::new(),
            max,
            records: 0,
            duplicates: 0,
            without_id: 0,
        }
    }

    /// Takes page `number`'s records; returns the new ones and whether `--max` is reached.
    fn accept(
        &mut self,
        number: u64,
        items: Vec<Record>,
    ) -> Result<(Vec<Record>, bool), PagingError> {
        let prints: Vec<(u64, bool)> = items.iter().map(fingerprint).collect();
        if number == 1 {
            self.first_page = prints.iter().map(|p| p.0).collect();
        } else if number == 2 {
            let first = std::mem::take(&mut self.first_page);
            if !items.is_empty() && prints.iter().map(|p| p.0).eq(first) {
                return Err(PagingError::PageIgnored);
            }
        }
        let arrived = items.len();
        let mut fresh = Vec::with_capacity(arrived);
        for (record, (print, has_id)) in items.into_iter().zip(prints) {
            if !has_id {
                self.without_id += 1;
            } else if !self.seen.insert(print) {
                self.duplicates += 1;
                continue;
            }
            fresh.push(record);
        }
        if arrived > 0 && fresh.is_empty() {
            return Err(PagingError::Repeated { page: number });
        }
        let mut full = false;
        if let Some(max) = self.max {
            let room = max.saturating_sub(self.records) as usize;
            fresh.truncate(room);
            full = self.records + fresh.len() as u64 >= max;
        }
        self.records += fresh.len() as u64;
        Ok((fresh, full))
    }
}

/// A record's fingerprint: a hash of its id, or of the whole record when it has none (then it
/// only serves to recognise a repeated page). The flag says whether it came from an id.
fn fingerprint(record: &Record) -> (u64, bool) {
    // SipHash with fixed keys: the same id always gives the same fingerprint within a run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match record_id(record) {
        Some(id) => {
            id.hash(&mut hasher);
            (hasher.finish(), true)
        }
        None => {
            serde_json::to_string(record)
                .unwrap_or_default()
                .hash(&mut hasher);
            (hasher.finish(), false)
        }
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Envelope;
    use serde_json::json;

    fn page(ids: &[&str]) -> Page {
        Page {
            items: ids
                .iter()
                .map(|id| json!({"_id": id}).as_object().unwrap().clone())
                .collect(),
            envelope: Envelope::Array,
            total: None,
            total_pages: None,
            has_next: None,
            limit: None,
        }
    }

    #[test]
    fn duplicates_are_skipped_and_counted() {
        let mut t = Tracker::new(None, None);
        let (a, _) = t.accept(1, page(&["a", "b"]).items).unwrap();
        assert_eq!(a.len(), 2);
        let (b, _) = t.accept(2, page(&["b", "c"]).items).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!((t.records, t.duplicates), (3, 1));
    }

    #[test]
    fn page_two_repeating_page_one_is_caught() {
        let mut t = Tracker::new(None, None);
        t.accept(1, page(&["a", "b"]).items).unwrap();
        assert!(matches!(
            t.accept(2, page(&["a", "b"]).items),
            Err(PagingError::PageIgnored)
        ));
        let mut t = Tracker::new(None, None);
        t.accept(1, page(&["a"]).items).unwrap();
        t.accept(2, page(&["b"]).items).unwrap();
        assert!(matches!(
            t.accept(3, page(&["b"]).items),
            Err(PagingError::Repeated { page: 3 })
        ));
    }

    #[test]
    fn max_truncates_and_stops() {
        let mut t = Tracker::new(Some(3), None);
        let (_, full) = t.accept(1, page(&["a", "b"]).items).unwrap();
        assert!(!full);
        let (b, full) = t.accept(2, page(&["c", "d"]).items).unwrap();
        assert_eq!((b.len(), full), (1, true));
    }

    #[test]
    fn the_end_is_read_from_the_best_signal() {
        let mut p = page(&["a"]);
        assert!(!is_end(1, &p, 1), "a bare array ends only on an empty page");
        assert!(is_end(1, &page(&[]), 1));
        p.total = Some(3);
        assert!(!is_end(2, &p, 1) && is_end(3, &p, 1));
        p.total_pages = Some(2);
        assert!(is_end(2, &p, 1));
        p.has_next = Some(true);
        assert!(!is_end(2, &p, 1), "hasNextPage wins: the list grew");
    }

    #[test]
    fn a_capped_page_size_is_detected() {
        let mut p = page(&["a", "b"]);
        assert_eq!(page_size(&p, 100), 100, "no total: cannot tell a cap");
        p.total = Some(10);
        assert_eq!(page_size(&p, 100), 2);
        assert_eq!(last_page(&p, 2), Some(5));
        p.limit = Some(50);
        assert_eq!(page_size(&p, 100), 50);
    }
}
