//! The progress bar every long command shows: on a terminal only, never with `--no-progress` or
//! `-q` (the command decides, and passes `show`), one style for all.
//!
//! It says when the work will end: done against a total when one is known (a small file read
//! ahead, undo's and restore's steps, the server's count of records), else against the total
//! the reader can tell before the end (a sheet's dimension; a CSV or JSON file's size over its
//! bytes per row so far, see [`Extent`]), marked `~`; the rate and the ETA (indicatif's, which
//! weigh the last seconds, not the whole run, so an ETA follows a server that slows down or
//! speeds up); the concurrency the client allows at the moment; a long wait for the server
//! while it lasts (`waiting 5 s: the server asked (429)`); and a message (counts by outcome,
//! the page).
//!
//! indicatif draws it, 4 times a second on its own thread, from its keys (`{bar}`,
//! `{percent}`, `{human_pos}`, `{human_len}`, `{per_sec}`, `{eta}`); ours add only what it
//! lacks: the `~` of an estimated total, and what the client says (its concurrency, a long
//! wait). The work updates counters cheaply: an atomic add per row, nothing formatted. What
//! the client says is read without its lock (an atomic, and the waits' own short lock, never
//! held while a line is logged), so a log line printed above the bar (see [`suspend`]) cannot
//! deadlock with a draw.
//!
//! Every call is also forwarded, as an [`Event`], to the sink given by [`Progress::with_events`]
//! (the page's), shown or not.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, WeakProgressBar};

use crate::api::Client;
use crate::events::{Event, Sink};
use crate::read::Extent;

/// How often the bar redraws, how often [`Progress::due`] says yes, and how often an estimated
/// total is read again.
const TICK: Duration = Duration::from_millis(250);

/// A bar against a total: `[███░░░░░░░░░] 31%  3,100/~10,000 rows  812/s  ETA 9s  concurrency
/// 24`, then the message.
const WITH_TOTAL: &str = "[{bar:12}] {percent}%  {human_pos}/{approx}{human_len} {prefix}  \
                          {per_sec:0}  ETA {eta}{client}  {wide_msg}";
/// A counter with no end known: `| 3,100 rows  812/s`, then the message.
const COUNTING: &str = "{spinner} {human_pos} {prefix}  {per_sec:0}{client}  {wide_msg}";

/// A progress bar, or nothing. Cheap to clone; clones draw the same bar.
#[derive(Clone, Default)]
pub struct Progress {
    shown: Option<Arc<Shown>>,
    /// Who else hears of the work (the page).
    events: Option<Arc<dyn Sink>>,
}

/// The bar and what it draws from besides its own position and length.
struct Shown {
    bar: ProgressBar,
    born: Instant,
    /// The bar has its draw target and its steady tick (from the first start).
    drawing: AtomicBool,
    /// When [`Progress::due`] next says yes, in milliseconds since `born`.
    next_due: AtomicU64,
    /// The total is the reader's estimate: drawn with `~`, and read again as rows come.
    estimated: AtomicBool,
    /// When the estimate is next read again, in milliseconds since `born`.
    next_estimate: AtomicU64,
    extent: Mutex<Option<Extent>>,
    /// The client whose concurrency and long waits the bar shows.
    client: Mutex<Option<Client>>,
}

/// The bar shown now, if any, so that log lines can be printed above it rather than through it.
static ACTIVE: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

/// Runs `print` (which writes a line to stderr) with the progress bar cleared, then redraws it.
pub fn suspend<R>(print: impl FnOnce() -> R) -> R {
    let bar = lock(&ACTIVE).as_ref().and_then(WeakProgressBar::upgrade);
    match bar {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Progress {
    /// A bar on stderr when `show`; a no-op otherwise.
    pub fn new(show: bool) -> Progress {
        let shown = show.then(|| {
            Arc::new(Shown {
                bar: ProgressBar::hidden(),
                born: Instant::now(),
                drawing: AtomicBool::new(false),
                next_due: AtomicU64::new(0),
                estimated: AtomicBool::new(false),
                next_estimate: AtomicU64::new(0),
                extent: Mutex::new(None),
                client: Mutex::new(None),
            })
        });
        Progress {
            shown,
            events: None,
        }
    }

    /// The same progress, every call of which is also told to `sink`.
    pub fn with_events(self, sink: Arc<dyn Sink>) -> Progress {
        Progress {
            events: Some(sink),
            ..self
        }
    }

    fn tell(&self, event: Event<'_>) {
        if let Some(sink) = &self.events {
            sink.event(event);
        }
    }

    /// A progress that shows nothing (tests, benchmarks, pipes).
    pub fn hidden() -> Progress {
        Progress::default()
    }

    /// Starts counting `unit`s (`rows`, `records`) from 0: against `total` when it is known,
    /// with no end otherwise.
    pub fn start(&self, total: Option<u64>, unit: &str) {
        self.tell(Event::Start {
            unit,
            total,
            estimate: None,
        });
        self.begin(unit, total, None);
    }

    /// Starts counting rows whose number is known only at the end of the input: against the
    /// number the reader can tell so far (`extent`).
    pub fn start_reading(&self, unit: &str, extent: Extent) {
        self.tell(Event::Start {
            unit,
            total: None,
            estimate: Some(&extent),
        });
        self.begin(unit, extent.data_rows(), Some(extent));
    }

    fn begin(&self, unit: &str, total: Option<u64>, extent: Option<Extent>) {
        let Some(shown) = &self.shown else { return };
        shown.estimated.store(extent.is_some(), Ordering::Relaxed);
        *lock(&shown.extent) = extent;
        shown.bar.reset();
        shown.bar.set_prefix(unit.to_owned());
        shown.set_length(total);
        if !shown.drawing.swap(true, Ordering::Relaxed) {
            shown
                .bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            shown.bar.enable_steady_tick(TICK);
            *lock(&ACTIVE) = Some(shown.bar.downgrade());
        }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        self.tell(Event::Done(n));
        if let Some(shown) = &self.shown {
            shown.bar.inc(n);
            if shown.estimated.load(Ordering::Relaxed) && shown.ticked(&shown.next_estimate) {
                let rows = lock(&shown.extent).as_ref().and_then(Extent::data_rows);
                shown.set_length(rows.map(|rows| rows.max(shown.bar.position())));
            }
        }
    }

    /// The input has been read to its end: `total` rows in all.
    pub fn set_total(&self, total: u64) {
        self.tell(Event::Total(total));
        if let Some(shown) = &self.shown {
            shown.estimated.store(false, Ordering::Relaxed);
            shown.set_length(Some(total));
        }
    }

    /// The text after the counts (counts by outcome, the page); only built when a bar is shown.
    pub fn message(&self, text: impl FnOnce() -> String) {
        if let Some(shown) = &self.shown {
            shown.bar.set_message(text());
        }
    }

    /// Whether it is time to refresh what [`Progress::message`] says: yes 4 times a second at
    /// most, never when nothing is shown. Calling it per row costs a clock read.
    pub fn due(&self) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|shown| shown.ticked(&shown.next_due))
    }

    /// Shows what `client` allows in flight and any long wait it is in. The first call counts;
    /// later ones change nothing.
    pub fn follow(&self, client: &Client) {
        self.tell(Event::Follow(client));
        if let Some(shown) = &self.shown {
            lock(&shown.client).get_or_insert_with(|| client.clone());
        }
    }

    /// One row of a run of changes ended as `outcome` (the bar shows the counts in its
    /// message; the sink hears each).
    pub fn outcome(&self, outcome: &'static str) {
        self.tell(Event::Outcome(outcome));
    }

    pub fn finish(&self) {
        self.tell(Event::Finish);
        if let Some(shown) = &self.shown {
            shown.bar.finish_and_clear();
            *lock(&ACTIVE) = None;
        }
    }
}

/// A list walked ([`crate::api::list`]): records against the server's total, the page, and the
/// concurrency the client allows.
impl crate::api::list::Watch for Progress {
    fn started(&self, expected: Option<u64>, client: &Client) {
        self.start(expected, "records");
        self.follow(client);
    }

    fn page(&self, number: u64, last: Option<u64>, records: u64) {
        self.inc(records);
        self.message(|| match last {
            Some(last) => format!("page {number}/{}", last.max(number)),
            None => format!("page {number}"),
        });
    }
}

impl Shown {
    /// Whether a [`TICK`] has passed since `next` was last moved on; moves it on if so.
    fn ticked(&self, next: &AtomicU64) -> bool {
        let now = self.born.elapsed().as_millis() as u64;
        let due = next.load(Ordering::Relaxed);
        now >= due
            && next
                .compare_exchange(
                    due,
                    now + TICK.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Counts against `total`, or with no end; the style follows.
    fn set_length(self: &Arc<Shown>, total: Option<u64>) {
        let had = self.bar.length().is_some();
        match total {
            Some(total) => self.bar.set_length(total),
            None => self.bar.unset_length(),
        }
        if !self.drawing.load(Ordering::Relaxed) || had != total.is_some() {
            self.bar.set_style(self.style(total.is_some()));
        }
    }

    /// The bar's look, with our keys: `approx` (the `~` of an estimate) and `client` (the
    /// concurrency, a long wait). They hold the bar weakly: the bar holds its style.
    fn style(self: &Arc<Shown>, with_total: bool) -> ProgressStyle {
        let template = if with_total { WITH_TOTAL } else { COUNTING };
        let shown = Arc::downgrade(self);
        let approx = shown.clone();
        ProgressStyle::with_template(template)
            .expect("a valid progress template")
            .tick_chars("|/-\\ ")
            .with_key(
                "approx",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if approx
                        .upgrade()
                        .is_some_and(|s| s.estimated.load(Ordering::Relaxed))
                    {
                        let _ = w.write_char('~');
                    }
                },
            )
            .with_key(
                "client",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let Some(shown) = shown.upgrade() else { return };
                    let Some(client) = lock(&shown.client).clone() else {
                        return;
                    };
                    let limit = client.throttle.limit();
                    if limit > 0 {
                        let _ = write!(w, "  concurrency {limit}");
                    }
                    if let Some(waiting) = client.throttle.waits.status() {
                        let _ = write!(w, "  {waiting}");
                    }
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_progress_says_nothing_is_due() {
        let progress = Progress::hidden();
        progress.start(Some(10), "rows");
        progress.inc(1);
        assert!(!progress.due());
        progress.finish();
    }

    #[test]
    fn the_templates_are_valid() {
        let progress = Progress::new(true);
        progress.start(Some(10), "rows");
        assert!(progress.due());
        assert!(!progress.due());
        progress.start_reading("records", Extent::default());
        progress.inc(3);
        progress.set_total(3);
        progress.start(None, "records");
        progress.finish();
    }
}
