//! Walking the customer list (`GET /customers`): every page in order, each record once. Export,
//! the index of a look-up and the account's side of a comparison all walk it here.
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

use super::{
    record_id, ApiError, Client, Concurrency, Envelope, ListQuery, Page, Record, Response,
};
use tracker::{fingerprint, Tracker};

/// What to fetch and how.
#[derive(Debug, Clone)]
pub struct ListPlan {
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

/// What the walk saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageReport {
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

/// Who hears of a walk's pages: the progress bar ([`crate::progress::Progress`]), or no one
/// (`()`).
pub trait Watch: Sync {
    /// The first page is in: the records to expect, when the server or `--max` says.
    fn started(&self, expected: Option<u64>, client: &Client);
    /// Page `number` (of `last`, once known) brought `records` new records.
    fn page(&self, number: u64, last: Option<u64>, records: u64);
}

impl Watch for () {
    fn started(&self, _: Option<u64>, _: &Client) {}
    fn page(&self, _: u64, _: Option<u64>, _: u64) {}
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
    if let Some(id) = leading_id(text) {
        return Some(id.to_string());
    }
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

/// The id of a record that opens with `"_id"` as a plain string (no escape), as Mongo-backed
/// APIs write every record, read without a second pass over the rest; `None` for any other
/// shape, or when `"_id"` appears again (a repeated key: the whole record decides).
fn leading_id(text: &str) -> Option<&str> {
    // Past the brace that opens it: a page's items are objects (anything else is refused).
    let value = text
        .get(1..)?
        .trim_start()
        .strip_prefix("\"_id\"")?
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let end = value.find(['"', '\\'])?;
    let (id, rest) = value.split_at(end);
    let plain = !id.is_empty() && rest.starts_with('"') && !rest.contains("\"_id\"");
    plain.then_some(id)
}

type InFlight = VecDeque<JoinHandle<Result<Fetched, ApiError>>>;

/// Fetches every page and sends each page's new records, in order, to `tx`.
pub async fn fetch_all(
    client: &Client,
    plan: &ListPlan,
    tx: mpsc::Sender<Batch>,
    progress: &dyn Watch,
    cancel: watch::Receiver<bool>,
) -> Result<PageReport, PagingError> {
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
    progress: &dyn Watch,
    mut cancel: watch::Receiver<bool>,
) -> Result<PageReport, PagingError> {
    let (client, plan) = (walk.client, walk.plan);
    // Pages are reads: a walk opens wide rather than ramping up from the usual start, which
    // would take longer than a short list does (docs/concurrency.md).
    client
        .throttle
        .open_at(Concurrency::READS.min(plan.concurrency));
    let asked = walk.size;
    let mut report = PageReport {
        page_size: asked,
        ..PageReport::default()
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
            progress.started(expected, client);
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
    plan: &'a ListPlan,
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
    fn new(client: &'a Client, plan: &'a ListPlan) -> Walk<'a> {
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
mod tests;
