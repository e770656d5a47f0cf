//! Paging through `GET /customers` for an export: every page in order, each record once.
//!
//! The API documents `limit` and `page` but no response schema, so the end of the list is read
//! from whatever the envelope offers (an empty page, `hasNextPage`/`nextPage`, `totalPages`, or a
//! total), records are de-duplicated by id (a fixed-key 64-bit hash of each id, so a million ids
//! cost about 18 MB), and two failure modes are caught instead of looping: a server that ignores
//! `page` (page 2 repeats page 1) and one that repeats pages later on; a page cap is the last
//! guard. When the first page tells the total, pages are fetched concurrently and handed on in
//! order through a bounded reorder buffer; otherwise one page is fetched ahead. How many pages
//! are asked for at once follows the client's concurrency limit as it adapts (twice the limit,
//! so a slow page does not leave the others idle), and never passes twice the plan's cap.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::progress::Progress;
use crate::api::{record_id, ApiError, Client, Envelope, ListQuery, Page, Record};

/// What to fetch and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `limit`, sort and filters; `page` is set per request.
    pub query: ListQuery,
    /// The most pages in flight when the total is known (the concurrency cap, or the fixed
    /// `--concurrency`); within it, the client's current limit decides.
    pub concurrency: usize,
    pub max_records: Option<u64>,
    pub max_pages: u64,
    /// Gather each page's keys (for the columns of a table export).
    pub collect_keys: bool,
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
    /// The API's error is the source, so `{:#}` shows it once.
    #[error("fetching page {page}")]
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

/// New records on their way to the writer: NDJSON lines, exactly the records as returned.
#[derive(Debug, Default)]
pub struct Batch {
    /// One compact JSON object per line, each ending in `\n`.
    pub lines: Vec<u8>,
    pub records: u64,
    /// The distinct keys of these records, when the plan collects them.
    pub keys: Vec<String>,
}

/// The paging facts of one page (its records are elsewhere).
#[derive(Debug, Clone)]
struct Meta {
    envelope: Envelope,
    count: u64,
    total: Option<u64>,
    total_pages: Option<u64>,
    has_next: Option<bool>,
    limit: Option<u64>,
}

/// A page as held in the reorder buffer: its records serialised as NDJSON lines, about seven
/// times smaller than parsed JSON values.
struct Fetched {
    meta: Meta,
    lines: Vec<u8>,
    /// Per record: its fingerprint, whether that came from an id, and where its line ends.
    spans: Vec<(u64, bool, usize)>,
    keys: Vec<String>,
}

impl Fetched {
    fn compact(page: Page, collect_keys: bool) -> Fetched {
        let mut lines = Vec::with_capacity(page.items.len() * 512);
        let mut spans = Vec::with_capacity(page.items.len());
        let mut keys: HashSet<&str> = HashSet::new();
        for record in &page.items {
            let start = lines.len();
            // A JSON map always serialises, and never with a raw newline inside.
            let _ = serde_json::to_writer(&mut lines, record);
            let (print, has_id) = fingerprint(record, &lines[start..]);
            lines.push(b'\n');
            spans.push((print, has_id, lines.len()));
            if collect_keys {
                keys.extend(record.keys().map(String::as_str));
            }
        }
        let keys = keys.into_iter().map(str::to_string).collect();
        Fetched {
            meta: Meta {
                count: page.items.len() as u64,
                envelope: page.envelope,
                total: page.total,
                total_pages: page.total_pages,
                has_next: page.has_next,
                limit: page.limit,
            },
            lines,
            spans,
            keys,
        }
    }
}

type InFlight = VecDeque<JoinHandle<Result<Fetched, ApiError>>>;

/// Fetches every page and sends each page's new records, in order, to `tx`.
pub async fn fetch_all(
    client: &Client,
    plan: &Plan,
    tx: mpsc::Sender<Batch>,
    progress: &Progress,
    cancel: watch::Receiver<bool>,
) -> Result<Report, PagingError> {
    let mut in_flight = InFlight::new();
    let result = page_through(client, plan, &tx, progress, cancel, &mut in_flight).await;
    for handle in in_flight {
        handle.abort();
    }
    result
}

async fn page_through(
    client: &Client,
    plan: &Plan,
    tx: &mpsc::Sender<Batch>,
    progress: &Progress,
    mut cancel: watch::Receiver<bool>,
    in_flight: &mut InFlight,
) -> Result<Report, PagingError> {
    let asked = plan.query.limit.unwrap_or(100).max(1);
    // The reorder buffer holds twice the requests in flight, so one slow page does not leave
    // the others idle. Pages wait in it as NDJSON (about 0.65 MB per 1000 records), so its
    // bound is small; it follows the adaptive limit, read afresh for each page.
    let limit = || client.throttle.limit().clamp(1, plan.concurrency.max(1)) as u64;
    let mut report = Report {
        page_size: asked,
        ..Report::default()
    };
    let mut tracker = Tracker::new(plan.max_records);
    // Until page 1 tells more, the first pages go out together (as many as a known total
    // would allow): a round trip saved. Those the list turns out not to need are cancelled.
    let mut one_ahead = false;
    let mut last: Option<u64> = plan.max_records.map(|m| m.div_ceil(asked));
    let mut next = 1;
    let mut number = 0;
    loop {
        let window = if one_ahead { 2 } else { limit() * 2 };
        // Keep the reorder buffer full: up to `window` pages ahead of the one being written,
        // and no further than the last page known (but always at least one, since the list
        // may have grown).
        while (in_flight.len() as u64) < window && next <= plan.max_pages {
            if !in_flight.is_empty() && last.is_some_and(|l| next > l) {
                break;
            }
            let mut query = plan.query.clone();
            query.page = Some(next);
            let client = client.clone();
            let keys = plan.collect_keys;
            in_flight.push_back(tokio::spawn(async move {
                let page = client.list(&query).await?;
                Ok(Fetched::compact(page, keys))
            }));
            next += 1;
        }
        let Some(handle) = in_flight.pop_front() else {
            return Err(PagingError::TooManyPages(plan.max_pages));
        };
        number += 1;
        let joined = tokio::select! {
            joined = handle => joined,
            Ok(_) = cancel.wait_for(|c| *c) => return Err(PagingError::Interrupted),
        };
        let fetched = match joined {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(source)) => {
                return Err(PagingError::Api {
                    page: number,
                    source,
                })
            }
            Err(join) => {
                return Err(PagingError::Api {
                    page: number,
                    source: ApiError::Local(format!("the request task failed: {join}")),
                })
            }
        };
        let meta = fetched.meta.clone();
        if number == 1 {
            report.envelope = Some(meta.envelope.to_string());
            report.page_size = page_size(&meta, asked);
            report.concurrent = last_page(&meta, report.page_size).is_some();
            one_ahead = !report.concurrent;
            let expected = plan.max_records.into_iter().chain(meta.total).min();
            tracker.reserve(expected.unwrap_or(0));
            progress.start(expected, client);
        }
        let size = report.page_size;
        let for_max = plan.max_records.map(|m| m.div_ceil(size));
        if let Some(l) = last_page(&meta, size).or(last) {
            last = Some(for_max.map_or(l, |m| m.min(l)));
        }
        // Cancel what was fetched speculatively beyond the last page (or beyond one page
        // ahead when the total is unknown); keep at least one, since the list may grow.
        let window = if one_ahead { 2 } else { limit() * 2 };
        let keep_to = last.unwrap_or(number + window);
        while in_flight.len() > 1 && next - 1 > keep_to {
            if let Some(handle) = in_flight.pop_back() {
                handle.abort();
            }
            next -= 1;
        }
        report.pages += 1;
        if meta.total.is_some() {
            report.server_total = meta.total;
        }
        let (batch, full) = tracker.accept(number, fetched)?;
        progress.page(number, last, batch.records);
        if batch.records > 0 && tx.send(batch).await.is_err() {
            return Err(PagingError::WriterGone);
        }
        if is_end(number, &meta, size) || full {
            report.records = tracker.records;
            report.duplicates = tracker.duplicates;
            report.without_id = tracker.without_id;
            return Ok(report);
        }
        if *cancel.borrow() {
            return Err(PagingError::Interrupted);
        }
    }
}

/// The page size the server really uses: the envelope's `limit`, or the size of a first page
/// that came back shorter than asked although more records exist (a cap), or what was asked.
fn page_size(first: &Meta, asked: u64) -> u64 {
    let got = first.count;
    match first.limit {
        Some(limit) if limit > 0 => limit,
        _ if got > 0 && got < asked && first.total.is_some_and(|t| t > got) => got,
        _ => asked,
    }
}

/// The last page number, when the envelope tells enough to compute it.
fn last_page(page: &Meta, size: u64) -> Option<u64> {
    page.total_pages
        .or_else(|| page.total.map(|t| t.div_ceil(size.max(1))))
}

/// Whether page `number` is the last one, by the best signal the envelope gives.
fn is_end(number: u64, page: &Meta, size: u64) -> bool {
    if page.count == 0 {
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
    fn new(max: Option<u64>) -> Tracker {
        Tracker {
            seen: HashSet::default(),
            first_page: Vec::new(),
            max,
            records: 0,
            duplicates: 0,
            without_id: 0,
        }
    }

    /// Sizes the id set for the expected count up front, so it does not double (and briefly
    /// hold both tables) while it grows; capped so a wild total cannot reserve gigabytes.
    fn reserve(&mut self, expected: u64) {
        self.seen.reserve(expected.min(4_000_000) as usize);
    }

    /// Takes page `number`'s records; returns the new ones and whether `--max` is reached.
    fn accept(&mut self, number: u64, page: Fetched) -> Result<(Batch, bool), PagingError> {
        let Fetched {
            mut lines,
            spans,
            keys,
            ..
        } = page;
        if number == 1 {
            self.first_page = spans.iter().map(|s| s.0).collect();
        } else if number == 2 {
            let first = std::mem::take(&mut self.first_page);
            if !spans.is_empty() && spans.iter().map(|s| s.0).eq(first) {
                return Err(PagingError::PageIgnored);
            }
        }
        let room = self
            .max
            .map_or(u64::MAX, |m| m.saturating_sub(self.records));
        // The page's buffer is sent as it is unless a record must go: then, from the first
        // record dropped, the kept lines are copied.
        let mut copied: Option<Vec<u8>> = None;
        let mut count = 0u64;
        let mut start = 0;
        for &(print, has_id, end) in &spans {
            let fresh = if !has_id {
                self.without_id += 1;
                true
            } else if self.seen.insert(print) {
                true
            } else {
                self.duplicates += 1;
                false
            };
            if fresh && count < room {
                count += 1;
                if let Some(out) = &mut copied {
                    out.extend_from_slice(&lines[start..end]);
                }
            } else if copied.is_none() {
                copied = Some(lines[..start].to_vec());
            }
            start = end;
        }
        if !spans.is_empty() && count == 0 && room > 0 {
            return Err(PagingError::Repeated { page: number });
        }
        if let Some(out) = copied {
            lines = out;
        }
        self.records += count;
        let full = self.max.is_some_and(|m| self.records >= m);
        Ok((
            Batch {
                lines,
                records: count,
                keys,
            },
            full,
        ))
    }
}

/// A record's fingerprint: a hash of its id, or of its serialised form when it has none (then
/// it only serves to recognise a repeated page). The flag says whether it came from an id.
fn fingerprint(record: &Record, serialised: &[u8]) -> (u64, bool) {
    // SipHash with fixed keys: the same id always gives the same fingerprint within a run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match record_id(record) {
        Some(id) => {
            id.hash(&mut hasher);
            (hasher.finish(), true)
        }
        None => {
            serialised.hash(&mut hasher);
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
    use serde_json::json;

    fn page(ids: &[&str]) -> Page {
        Page {
            items: ids
                .iter()
                .map(|id| json!({"_id": id, "n": 1}).as_object().unwrap().clone())
                .collect(),
            envelope: Envelope::Array,
            total: None,
            total_pages: None,
            has_next: None,
            limit: None,
        }
    }

    fn fetched(ids: &[&str]) -> Fetched {
        Fetched::compact(page(ids), true)
    }

    fn lines(batch: &Batch) -> Vec<String> {
        String::from_utf8(batch.lines.clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn pages_are_compacted_to_lines_with_their_keys() {
        let f = fetched(&["a", "b"]);
        assert_eq!(
            f.lines,
            b"{\"_id\":\"a\",\"n\":1}\n{\"_id\":\"b\",\"n\":1}\n"
        );
        let mut keys = f.keys.clone();
        keys.sort();
        assert_eq!(keys, ["_id", "n"]);
        assert_eq!(f.meta.count, 2);
    }

    #[test]
    fn duplicates_are_skipped_and_counted() {
        let mut t = Tracker::new(None);
        let (a, _) = t.accept(1, fetched(&["a", "b"])).unwrap();
        assert_eq!(a.records, 2);
        let (b, _) = t.accept(2, fetched(&["b", "c", "a", "d"])).unwrap();
        assert_eq!(b.records, 2);
        assert_eq!(lines(&b), [r#"{"_id":"c","n":1}"#, r#"{"_id":"d","n":1}"#]);
        assert_eq!((t.records, t.duplicates), (4, 2));
    }

    #[test]
    fn page_two_repeating_page_one_is_caught() {
        let mut t = Tracker::new(None);
        t.accept(1, fetched(&["a", "b"])).unwrap();
        assert!(matches!(
            t.accept(2, fetched(&["a", "b"])),
            Err(PagingError::PageIgnored)
        ));
        let mut t = Tracker::new(None);
        t.accept(1, fetched(&["a"])).unwrap();
        t.accept(2, fetched(&["b"])).unwrap();
        assert!(matches!(
            t.accept(3, fetched(&["b"])),
            Err(PagingError::Repeated { page: 3 })
        ));
    }

    #[test]
    fn max_truncates_and_stops() {
        let mut t = Tracker::new(Some(3));
        let (_, full) = t.accept(1, fetched(&["a", "b"])).unwrap();
        assert!(!full);
        let (b, full) = t.accept(2, fetched(&["c", "d"])).unwrap();
        assert_eq!((b.records, full), (1, true));
        assert_eq!(lines(&b), [r#"{"_id":"c","n":1}"#]);
    }

    #[test]
    fn the_end_is_read_from_the_best_signal() {
        let mut p = fetched(&["a"]).meta;
        assert!(!is_end(1, &p, 1), "a bare array ends only on an empty page");
        assert!(is_end(1, &fetched(&[]).meta, 1));
        p.total = Some(3);
        assert!(!is_end(2, &p, 1) && is_end(3, &p, 1));
        p.total_pages = Some(2);
        assert!(is_end(2, &p, 1));
        p.has_next = Some(true);
        assert!(!is_end(2, &p, 1), "hasNextPage wins: the list grew");
    }

    #[test]
    fn a_capped_page_size_is_detected() {
        let mut p = fetched(&["a", "b"]).meta;
        assert_eq!(page_size(&p, 100), 100, "no total: cannot tell a cap");
        p.total = Some(10);
        assert_eq!(page_size(&p, 100), 2);
        assert_eq!(last_page(&p, 2), Some(5));
        p.limit = Some(50);
        assert_eq!(page_size(&p, 100), 50);
    }
}
