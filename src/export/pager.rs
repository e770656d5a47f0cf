//! Paging through `GET /customers` for an export: every page in order, each record once.
//!
//! The API documents `limit` and `page` but no response schema, so the end of the list is read
//! from whatever the envelope offers (an empty page, `hasNextPage`/`nextPage`, `totalPages`, or a
//! total), records are de-duplicated by id (a fixed-key 64-bit hash of each id, so a million ids
//! cost about 18 MB), and two failure modes are caught instead of looping: a server that ignores
//! `page` (page 2 repeats page 1) and one that repeats pages later on, and a list that breaks
//! off (an empty page after one that said `hasNextPage` with no total); a page cap is the last
//! guard. When the first page tells the total, pages are fetched concurrently and handed on in
//! order through a bounded reorder buffer; otherwise one page is fetched ahead. As many pages
//! are asked for at once as the client's concurrency limit allows as it adapts (an adaptive
//! limit opens at [`Concurrency::READS`] for the walk), and the next is asked for as soon as
//! any is answered, up to twice the limit ahead of the page being written: so a slow page does
//! not leave the others idle, and a request never waits behind later pages for its place.

mod tracker;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::progress::Progress;
use crate::api::{
    record_id, ApiError, Client, Concurrency, Envelope, ListQuery, Page, Record, Response,
};
use tracker::{fingerprint, Tracker};

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
    #[error(
        "page {page} came back empty although the page before said more would follow \
         (`hasNextPage`, with no total): the list broke off, so the export cannot be proved \
         complete"
    )]
    EndedEarly { page: u64 },
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
    /// A list answer read as a page: its records' own text when no keys are needed (JSON and
    /// NDJSON), else parsed, for their keys. Its total is the envelope's, or a header's.
    fn parse(client: &Client, listed: &Response, collect_keys: bool) -> Result<Fetched, ApiError> {
        let total = listed.header_total;
        if collect_keys {
            let page = client.page_from(&listed.body)?.with_header_total(total);
            Ok(Fetched::compact(page, true))
        } else {
            let page = client.raw_page_from(&listed.body)?.with_header_total(total);
            Ok(Fetched::raw(page))
        }
    }

    /// Records kept as the server wrote them, one line each: a newline in a record's text (a
    /// server that pretty-prints) becomes a space, since JSON text has newlines only between
    /// tokens, never inside a string.
    fn raw(page: Page<&RawValue>) -> Fetched {
        let mut lines = Vec::with_capacity(page.items.iter().map(|r| r.get().len() + 1).sum());
        let mut spans = Vec::with_capacity(page.items.len());
        for record in &page.items {
            let start = lines.len();
            let text = record.get().trim();
            let one_line = |b: u8| if b == b'\n' || b == b'\r' { b' ' } else { b };
            lines.extend(text.bytes().map(one_line));
            let (print, has_id) = fingerprint(raw_id(text).as_deref(), &lines[start..]);
            lines.push(b'\n');
            spans.push((print, has_id, lines.len()));
        }
        Fetched {
            meta: Meta::of(&page),
            lines,
            spans,
            keys: Vec::new(),
        }
    }

    fn compact(page: Page, collect_keys: bool) -> Fetched {
        let mut lines = Vec::with_capacity(page.items.len() * 512);
        let mut spans = Vec::with_capacity(page.items.len());
        let mut keys: HashSet<&str> = HashSet::new();
        for record in &page.items {
            let start = lines.len();
            // A JSON map always serialises, and never with a raw newline inside.
            let _ = serde_json::to_writer(&mut lines, record);
            let (print, has_id) = fingerprint(record_id(record).as_deref(), &lines[start..]);
            lines.push(b'\n');
            spans.push((print, has_id, lines.len()));
            if collect_keys {
                keys.extend(record.keys().map(String::as_str));
            }
        }
        let keys = keys.into_iter().map(str::to_string).collect();
        Fetched {
            meta: Meta::of(&page),
            lines,
            spans,
            keys,
        }
    }
}

impl Meta {
    fn of<T>(page: &Page<T>) -> Meta {
        Meta {
            count: page.items.len() as u64,
            envelope: page.envelope.clone(),
            total: page.total,
            total_pages: page.total_pages,
            has_next: page.has_next,
            limit: page.limit,
        }
    }
}

/// The id fields of a record's text, read without parsing the rest into values.
#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(rename = "_id", borrow, default)]
    underscore: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// The record's id as [`record_id`] reads it, from its JSON text.
fn raw_id(text: &str) -> Option<String> {
    let Ok(ids) = serde_json::from_str::<Ids>(text) else {
        // A repeated key, say: the whole record decides, as it does for a parsed one.
        return record_id(&serde_json::from_str(text).ok()?);
    };
    let mut record = Record::new();
    for (key, raw) in [("_id", ids.underscore), ("id", ids.id)] {
        if let Some(value) = raw.and_then(|r| serde_json::from_str(r.get()).ok()) {
            record.insert(key.to_string(), value);
        }
    }
    record_id(&record)
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
    let mut walk = Walk::new(client, plan);
    let result = page_through(&mut walk, &tx, progress, cancel).await;
    for handle in walk.in_flight {
        handle.abort();
    }
    result
}

async fn page_through(
    walk: &mut Walk<'_>,
    tx: &mpsc::Sender<Batch>,
    progress: &Progress,
    mut cancel: watch::Receiver<bool>,
) -> Result<Report, PagingError> {
    let (client, plan) = (walk.client, walk.plan);
    // Pages are reads: a walk opens wide rather than ramping up from the usual start, which
    // would take longer than a short list does (docs/concurrency.md).
    client
        .throttle
        .open_at(Concurrency::READS.min(plan.concurrency));
    let asked = walk.size;
    let mut report = Report {
        page_size: asked,
        ..Report::default()
    };
    let mut tracker = Tracker::new(plan.max_records);
    // Whether the page before said, with no total, that more would follow.
    let mut promised = false;
    let mut number = 0;
    loop {
        walk.fill();
        let Some(handle) = walk.in_flight.pop_front() else {
            return Err(PagingError::TooManyPages(plan.max_pages));
        };
        number += 1;
        let fetched = walk.receive(handle, number, &mut cancel).await?;
        let meta = fetched.meta.clone();
        if number == 1 {
            report.envelope = Some(meta.envelope.to_string());
            report.page_size = page_size(&meta, asked);
            report.concurrent = last_page(&meta, report.page_size).is_some();
            walk.size = report.page_size;
            walk.one_ahead = !report.concurrent;
            let expected = plan.max_records.into_iter().chain(meta.total).min();
            tracker.reserve(expected.unwrap_or(0));
            progress.start(expected, client);
        }
        walk.learn(number, &meta);
        if promised && meta.count == 0 {
            return Err(PagingError::EndedEarly { page: number });
        }
        promised = meta.has_next == Some(true) && last_page(&meta, walk.size).is_none();
        report.pages += 1;
        if meta.total.is_some() {
            report.server_total = meta.total;
        }
        let (batch, full) = tracker.accept(number, fetched)?;
        progress.page(number, walk.last, batch.records);
        if batch.records > 0 && tx.send(batch).await.is_err() {
            return Err(PagingError::WriterGone);
        }
        if is_end(number, &meta, walk.size) || full {
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

/// The pages asked for: those in flight, in order, and what is known of the last.
struct Walk<'a> {
    client: &'a Client,
    plan: &'a Plan,
    /// Pages asked for and not yet written, in order (answered or not).
    in_flight: InFlight,
    unanswered: Arc<Unanswered>,
    /// The next page to ask for.
    next: u64,
    /// The last page, once known (from the envelope, or from `--max`).
    last: Option<u64>,
    /// The page size, as asked until page 1 tells the server's.
    size: u64,
    /// The total is unknown: one page is fetched ahead.
    one_ahead: bool,
}

impl<'a> Walk<'a> {
    fn new(client: &'a Client, plan: &'a Plan) -> Walk<'a> {
        let size = plan.query.limit.unwrap_or(100).max(1);
        Walk {
            client,
            plan,
            in_flight: InFlight::new(),
            unanswered: Arc::default(),
            next: 1,
            last: plan.max_records.map(|m| m.div_ceil(size)),
            size,
            one_ahead: false,
        }
    }

    /// How many pages may wait ahead of the one being written: twice the limit, so one slow
    /// page does not leave the others idle. Pages wait as NDJSON (about 0.65 MB per 1000
    /// records), so the bound is small; it follows the adaptive limit, read afresh each time.
    fn window(&self) -> u64 {
        if self.one_ahead {
            return 2;
        }
        self.limit() as u64 * 2
    }

    /// The requests that may be unanswered at once: the client's limit (within the plan's).
    /// Until page 1 tells more, the first pages go out together (as many as a known total
    /// would allow): a round trip saved.
    fn limit(&self) -> usize {
        let limit = self.client.throttle.limit();
        limit.clamp(1, self.plan.concurrency.max(1))
    }

    /// Asks for the next pages: while fewer than the limit are unanswered, within the window
    /// ahead of the page being written, and no further than the last page known (but always
    /// at least one, since the list may have grown). Each request finds a place under the
    /// limit at once, so places go to pages in order: page 1 is never left for a second wave.
    fn fill(&mut self) {
        let (window, limit) = (self.window(), self.limit());
        while (self.in_flight.len() as u64) < window
            // A cancelled request counts until its task is dropped: an empty walk asks anyway.
            && (self.in_flight.is_empty() || self.unanswered.count.load(Ordering::Acquire) < limit)
            && self.next <= self.plan.max_pages
        {
            if !self.in_flight.is_empty() && self.last.is_some_and(|l| self.next > l) {
                break;
            }
            let mut query = self.plan.query.clone();
            // Pages are numbered from 1 here; the API may count from 0.
            query.page = Some(self.next - 1 + self.client.first_page());
            let client = self.client.clone();
            let keys = self.plan.collect_keys;
            let ticket = Unanswered::ticket(&self.unanswered);
            self.in_flight.push_back(tokio::spawn(async move {
                let listed = client.list_body(&query).await;
                drop(ticket);
                Fetched::parse(&client, &listed?, keys)
            }));
            self.next += 1;
        }
    }

    /// Waits for page `number`, the oldest request in flight, asking for more pages each time
    /// another is answered, unless the run is interrupted.
    async fn receive(
        &mut self,
        mut handle: JoinHandle<Result<Fetched, ApiError>>,
        number: u64,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<Fetched, PagingError> {
        let unanswered = Arc::clone(&self.unanswered);
        let joined = loop {
            tokio::select! {
                joined = &mut handle => break joined,
                () = unanswered.answered.notified() => self.fill(),
                Ok(_) = cancel.wait_for(|c| *c) => {
                    handle.abort();
                    return Err(PagingError::Interrupted);
                }
            }
        };
        let source = match joined {
            Ok(Ok(fetched)) => return Ok(fetched),
            Ok(Err(source)) => source,
            Err(join) => ApiError::Local(format!("the request task failed: {join}")),
        };
        Err(PagingError::Api {
            page: number,
            source,
        })
    }

    /// Learns the last page from page `number`'s envelope, and cancels what was fetched
    /// speculatively beyond it (or beyond one page ahead when the total is unknown); keeps at
    /// least one, since the list may grow.
    fn learn(&mut self, number: u64, meta: &Meta) {
        let for_max = self.plan.max_records.map(|m| m.div_ceil(self.size));
        if let Some(l) = last_page(meta, self.size).or(self.last) {
            self.last = Some(for_max.map_or(l, |m| m.min(l)));
        }
        let keep_to = self.last.unwrap_or(number + self.window());
        while self.in_flight.len() > 1 && self.next - 1 > keep_to {
            if let Some(handle) = self.in_flight.pop_back() {
                handle.abort();
            }
            self.next -= 1;
        }
    }
}

/// The requests not answered yet, and a wake-up for the walk each time one is.
#[derive(Debug, Default)]
struct Unanswered {
    count: AtomicUsize,
    answered: Notify,
}

/// One unanswered request: counted until dropped (answered, failed or cancelled).
struct Ticket(Arc<Unanswered>);

impl Unanswered {
    fn ticket(this: &Arc<Unanswered>) -> Ticket {
        this.count.fetch_add(1, Ordering::AcqRel);
        Ticket(Arc::clone(this))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.answered.notify_one();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::envelope::parse_page;
    use serde_json::json;

    fn page(ids: &[&str]) -> Page {
        Page {
            items: ids
                .iter()
                .map(|id| json!({"_id": id, "n": 1}).as_object().unwrap().clone())
                .collect(),
            envelope: Envelope::Array,
            total: None,
            total_from: None,
            total_pages: None,
            has_next: None,
            limit: None,
        }
    }

    pub(super) fn fetched(ids: &[&str]) -> Fetched {
        Fetched::compact(page(ids), true)
    }

    pub(super) fn lines(batch: &Batch) -> Vec<String> {
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
    fn raw_records_are_written_as_sent_one_line_each_with_the_same_ids() {
        let body = br#"{"docs": [
            {"_id": "a", "name": "Caf\u00e9",
             "n": 12345678901234567890123},
            {"id": 7, "name": "x"},
            {"_id": {"$oid": "b"}},
            {"name": "no id"},
            {"_id": "c", "_id": "d"}
        ], "totalDocs": 5, "hasNextPage": false}"#;
        let page = crate::api::envelope::parse_raw_page(body, None).unwrap();
        assert_eq!((page.total, page.has_next), (Some(5), Some(false)));
        let raw = Fetched::raw(page);
        let text = String::from_utf8(raw.lines.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[0],
            r#"{"_id": "a", "name": "Caf\u00e9",              "n": 12345678901234567890123}"#,
            "the server's own text: escapes and digits kept"
        );
        let parsed = Fetched::compact(parse_page(body, None).unwrap(), false);
        let prints = |f: &Fetched| f.spans.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>();
        let (raw_prints, parsed_prints) = (prints(&raw), prints(&parsed));
        assert_eq!(
            raw_prints[..3],
            parsed_prints[..3],
            "ids read as a parsed record's"
        );
        assert_eq!(
            raw_prints[4], parsed_prints[4],
            "a repeated key: the last wins"
        );
        assert!(!raw_prints[3].1, "no id");
        assert!(crate::api::envelope::parse_raw_page(br#"{"docs": [1, 2]}"#, None).is_err());
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
