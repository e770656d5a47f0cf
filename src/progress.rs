//! The progress bar every long command shows: on a terminal only, never with `--no-progress` or
//! `-q` (the command decides, and passes `show`), one style for all.
//!
//! It says when the work will end: done against a total when one is known (a small file read
//! ahead, undo's and restore's steps, the server's count of records), else against the total
//! the reader can tell before the end (a sheet's dimension; a CSV or JSON file's size over its
//! bytes per row so far, see [`Extent`]); the rate over the last few seconds, not since the start, so that an ETA follows a
//! server that slows down or speeds up; the ETA from that rate; the concurrency the client
//! allows at the moment; a long wait for the server while it lasts (`waiting 5 s: the server
//! asked (429)`); and a message (counts by outcome, the page).
//!
//! Everything is worked out when the bar draws (4 times a second, on the bar's own thread),
//! from counters the work updates cheaply: an atomic add per row, nothing formatted. The draw
//! takes no lock but the bar's own: the concurrency is asked for between draws, so a log line
//! printed under the client's lock (which clears the bar, see [`suspend`]) cannot deadlock.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, WeakProgressBar};

use crate::api::Client;
use crate::read::Extent;

/// How far back the rate looks.
const WINDOW: Duration = Duration::from_secs(10);
/// The shortest span a rate is given for: less says more about bursts than about the pace.
const MIN_SPAN: Duration = Duration::from_secs(1);
/// How often the bar redraws, and how often [`Progress::due`] says yes.
const TICK: Duration = Duration::from_millis(250);
/// The bar's width in cells.
const BAR_CELLS: usize = 12;

/// A progress bar, or nothing. Cheap to clone; clones draw the same bar.
#[derive(Clone, Default)]
pub struct Progress {
    shown: Option<Arc<Shown>>,
}

/// The bar and what it draws from.
struct Shown {
    bar: ProgressBar,
    /// Units done (rows, records).
    done: AtomicU64,
    born: Instant,
    /// The bar has been styled and its ticker started (by the first start).
    drawing: AtomicBool,
    /// When [`Progress::due`] next says yes, in milliseconds since `born`.
    next_due: AtomicU64,
    /// The requests in flight the client allowed at the last tick; 0 when not known.
    concurrency: AtomicUsize,
    /// The client's long wait at the last tick, if one was on.
    waiting: Mutex<Option<String>>,
    state: Mutex<State>,
}

/// Asks the client how many requests it allows in flight now, and what long wait is on.
type Limit = Arc<dyn Fn() -> usize + Send + Sync>;
type Waiting = Arc<dyn Fn() -> Option<String> + Send + Sync>;

struct State {
    unit: String,
    total: Total,
    window: Window,
    limit: Option<Limit>,
    waiting: Option<Waiting>,
}

/// What the rows done are counted against.
enum Total {
    Unknown,
    Known(u64),
    /// Not known until the input is read to its end: what the reader can tell so far.
    Estimated(Extent),
}

/// The bar shown now, if any, so that log lines can be printed above it rather than through it.
static ACTIVE: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

/// Runs `print` (which writes a line to stderr) with the progress bar cleared, then redraws it.
pub fn suspend<R>(print: impl FnOnce() -> R) -> R {
    let bar = ACTIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(WeakProgressBar::upgrade);
    match bar {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}

impl Progress {
    /// A bar on stderr when `show`; a no-op otherwise.
    pub fn new(show: bool) -> Progress {
        let shown = show.then(|| {
            let bar = ProgressBar::hidden();
            Arc::new(Shown {
                bar,
                done: AtomicU64::new(0),
                born: Instant::now(),
                drawing: AtomicBool::new(false),
                next_due: AtomicU64::new(0),
                concurrency: AtomicUsize::new(0),
                waiting: Mutex::new(None),
                state: Mutex::new(State {
                    unit: String::new(),
                    total: Total::Unknown,
                    window: Window::default(),
                    limit: None,
                    waiting: None,
                }),
            })
        });
        Progress { shown }
    }

    /// A progress that shows nothing (tests, benchmarks, pipes).
    pub fn hidden() -> Progress {
        Progress::default()
    }

    /// Starts counting `unit`s (`rows`, `records`) from 0: against `total` when it is known,
    /// with no end otherwise.
    pub fn start(&self, total: Option<u64>, unit: &str) {
        self.begin(unit, total.map_or(Total::Unknown, Total::Known));
    }

    /// Starts counting rows whose number is known only at the end of the input: against the
    /// number the reader can tell so far (`extent`).
    pub fn start_reading(&self, unit: &str, extent: Extent) {
        self.begin(unit, Total::Estimated(extent));
    }

    fn begin(&self, unit: &str, total: Total) {
        let Some(shown) = &self.shown else { return };
        shown.done.store(0, Ordering::Relaxed);
        {
            let mut state = shown.lock();
            state.unit = unit.to_string();
            state.total = total;
            state.window = Window::default();
        }
        if !shown.drawing.swap(true, Ordering::Relaxed) {
            let drawn = Arc::downgrade(shown);
            let template = "{status}  {wide_msg}";
            let style = ProgressStyle::with_template(template)
                .expect("a valid progress template")
                .with_key(
                    "status",
                    move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                        if let Some(shown) = drawn.upgrade() {
                            let _ = w.write_str(&shown.status(Instant::now()));
                        }
                    },
                );
            shown.bar.set_style(style);
            shown
                .bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            tick(Arc::downgrade(shown));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(shown.bar.downgrade());
        }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        if let Some(shown) = &self.shown {
            shown.done.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The input has been read to its end: `total` rows in all.
    pub fn set_total(&self, total: u64) {
        if let Some(shown) = &self.shown {
            shown.lock().total = Total::Known(total);
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
        let Some(shown) = &self.shown else {
            return false;
        };
        let now = shown.born.elapsed().as_millis() as u64;
        let next = shown.next_due.load(Ordering::Relaxed);
        now >= next
            && shown
                .next_due
                .compare_exchange(
                    next,
                    now + TICK.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Shows what `client` allows in flight and any long wait it is in, asked before each draw
    /// (on the bar's thread, holding no lock). The first call counts; later ones change
    /// nothing.
    pub fn follow(&self, client: &Client) {
        if let Some(shown) = &self.shown {
            let mut shown = shown.lock();
            if shown.limit.is_none() {
                let (limit, waiting) = (client.clone(), client.clone());
                shown.limit = Some(Arc::new(move || limit.throttle.limit()));
                shown.waiting = Some(Arc::new(move || waiting.throttle.waits.status()));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(shown) = &self.shown {
            shown.bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// Redraws the bar every [`TICK`] until it is finished or dropped, asking for the concurrency
/// before each draw, outside any lock.
fn tick(shown: Weak<Shown>) {
    let ticker = move || loop {
        std::thread::sleep(TICK);
        let Some(shown) = shown.upgrade() else { return };
        if shown.bar.is_finished() {
            return;
        }
        let (limit, waiting) = {
            let state = shown.lock();
            (state.limit.clone(), state.waiting.clone())
        };
        if let Some(limit) = limit {
            shown.concurrency.store(limit(), Ordering::Relaxed);
        }
        if let Some(waiting) = waiting {
            let now = waiting();
            *shown.waiting.lock().unwrap_or_else(|e| e.into_inner()) = now;
        }
        shown.bar.tick();
    };
    // Without its thread the bar is drawn only when its message changes: a lesser bar, not
    // a reason to stop.
    let _ = std::thread::Builder::new()
        .name("custbulk-progress".into())
        .spawn(ticker);
}

impl Shown {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bar's line, but for the message: worked out afresh at each draw.
    fn status(&self, now: Instant) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let mut state = self.lock();
        state.window.push(now, done);
        let total = match &state.total {
            Total::Unknown => None,
            Total::Known(total) => Some((*total, false)),
            Total::Estimated(extent) => extent.data_rows().map(|t| (t, true)),
        };
        let status = Status {
            done,
            total: total.map(|(t, estimated)| (t.max(done), estimated)),
            rate: state.window.rate(),
            unit: &state.unit,
            concurrency: Some(self.concurrency.load(Ordering::Relaxed)).filter(|&n| n > 0),
            waiting: self
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            spinner: (now - self.born).as_millis() as usize / TICK.as_millis() as usize,
        };
        status.render()
    }
}

/// Recent samples of the position: the rate over the last [`WINDOW`].
#[derive(Debug, Default)]
struct Window {
    samples: VecDeque<(Instant, u64)>,
}

impl Window {
    /// Adds a sample; a position that went back (a new count) starts afresh.
    fn push(&mut self, at: Instant, position: u64) {
        if self
            .samples
            .back()
            .is_some_and(|&(t, p)| p > position || t > at)
        {
            self.samples.clear();
        }
        self.samples.push_back((at, position));
        // Keep one sample at or before the window's start, so the rate spans the whole window.
        while self.samples.len() > 2 && at.duration_since(self.samples[1].0) >= WINDOW {
            self.samples.pop_front();
        }
        if self.samples.len() > 1024 {
            self.samples.pop_front();
        }
    }

    /// Units per second over the window; `None` until it spans [`MIN_SPAN`].
    fn rate(&self) -> Option<f64> {
        let (&(t0, p0), &(t1, p1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1.duration_since(t0);
        (span >= MIN_SPAN).then(|| (p1 - p0) as f64 / span.as_secs_f64())
    }
}

/// How long the rest takes at `rate`; `None` when nothing moves.
fn eta(done: u64, total: u64, rate: f64) -> Option<Duration> {
    let left = total.saturating_sub(done);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    (rate > 0.0).then(|| Duration::from_secs_f64((left as f64 / rate).min(1e7)))
}

/// What one draw of the bar shows.
struct Status<'a> {
    done: u64,
    /// The total, and whether it is an estimate.
    total: Option<(u64, bool)>,
    rate: Option<f64>,
    unit: &'a str,
    concurrency: Option<usize>,
    /// A long wait for the server, in words.
    waiting: Option<String>,
    /// Ticks since the bar started, to turn the spinner.
    spinner: usize,
}

impl Status<'_> {
    /// `[███░░░░░░░░░] 31%  3,100/~10,000 rows  812/s  ETA 9s  concurrency 24`, where `~`
    /// marks a total the reader estimated.
    fn render(&self) -> String {
        let mut line = String::new();
        let approx = if self.total.is_some_and(|(_, e)| e) {
            "~"
        } else {
            ""
        };
        match self.total {
            Some((total, _)) => {
                let fraction = if total == 0 {
                    1.0
                } else {
                    self.done as f64 / total as f64
                };
                let filled = ((fraction * BAR_CELLS as f64) as usize).min(BAR_CELLS);
                let _ = write!(
                    line,
                    "[{}{}] {:.0}%  {}/{approx}{} {}",
                    "█".repeat(filled),
                    "░".repeat(BAR_CELLS - filled),
                    (fraction * 100.0).floor(),
                    grouped(self.done),
                    grouped(total),
                    self.unit
                );
            }
            None => {
                const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
                let frame = FRAMES[self.spinner % FRAMES.len()];
                let _ = write!(line, "{frame} {} {}", grouped(self.done), self.unit);
            }
        }
        if let Some(rate) = self.rate {
            let _ = write!(line, "  {}/s", grouped(rate.round() as u64));
        }
        if let Some((total, _)) = self.total {
            let eta = self.rate.and_then(|rate| eta(self.done, total, rate));
            let _ = match eta {
                Some(eta) => write!(line, "  ETA {}", duration(eta)),
                None if self.rate.is_some() => write!(line, "  ETA --"),
                None => Ok(()),
            };
        }
        if let Some(n) = self.concurrency {
            let _ = write!(line, "  concurrency {n}");
        }
        if let Some(waiting) = &self.waiting {
            let _ = write!(line, "  {waiting}");
        }
        line
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `42s`, `3m07s`, `2h05m`.
fn duration(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn the_rate_is_over_the_last_seconds_not_since_the_start() {
        let t = Instant::now();
        let mut window = Window::default();
        // 100 rows/s for 30 s, then 10 rows/s for 20 s: since the start that is 64 rows/s.
        let mut position = 0;
        for tick in 0..=200 {
            let ms = tick * 250;
            position = if ms <= 30_000 {
                ms / 10
            } else {
                3000 + (ms - 30_000) / 100
            };
            window.push(at(t, ms), position);
        }
        assert_eq!(position, 3200);
        let rate = window.rate().unwrap();
        assert!((rate - 10.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn no_rate_before_a_second_and_a_new_count_starts_afresh() {
        let t = Instant::now();
        let mut window = Window::default();
        window.push(t, 0);
        window.push(at(t, 500), 50);
        assert_eq!(window.rate(), None);
        window.push(at(t, 1000), 100);
        assert_eq!(window.rate(), Some(100.0));
        // The export's table pass counts from 0 again.
        window.push(at(t, 1250), 0);
        assert_eq!(window.rate(), None);
    }

    #[test]
    fn eta_from_the_recent_rate() {
        assert_eq!(eta(200, 1000, 40.0), Some(Duration::from_secs(20)));
        assert_eq!(eta(1000, 1000, 0.0), Some(Duration::ZERO));
        assert_eq!(eta(10, 1000, 0.0), None);
        assert_eq!(duration(Duration::from_secs(20)), "20s");
        assert_eq!(duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
    }

    #[test]
    fn the_line_says_how_far_how_fast_and_when_it_ends() {
        let status = Status {
            done: 3100,
            total: Some((10_000, true)),
            rate: Some(812.4),
            unit: "rows",
            concurrency: Some(24),
            waiting: None,
            spinner: 0,
        };
        assert_eq!(
            status.render(),
            "[███░░░░░░░░░] 31%  3,100/~10,000 rows  812/s  ETA 9s  concurrency 24"
        );
        let waiting = Status {
            waiting: Some("waiting 5 s: the server asked (429)".to_owned()),
            ..status
        };
        assert_eq!(
            waiting.render(),
            "[███░░░░░░░░░] 31%  3,100/~10,000 rows  812/s  ETA 9s  concurrency 24  waiting 5 s: \
             the server asked (429)"
        );
        let known = Status {
            total: Some((10_000, false)),
            rate: Some(0.0),
            concurrency: None,
            waiting: None,
            ..waiting
        };
        assert_eq!(
            known.render(),
            "[███░░░░░░░░░] 31%  3,100/10,000 rows  0/s  ETA --"
        );
        let counting = Status {
            total: None,
            rate: None,
            ..known
        };
        assert_eq!(counting.render(), "| 3,100 rows");
    }

    #[test]
    fn a_hidden_progress_says_nothing_is_due() {
        let progress = Progress::hidden();
        progress.start(Some(10), "rows");
        progress.inc(1);
        assert!(!progress.due());
        progress.finish();
    }

    #[test]
    fn the_template_is_valid() {
        let progress = Progress::new(true);
        progress.start(Some(10), "rows");
        assert!(progress.due());
        assert!(!progress.due());
        progress.start_reading("records", Extent::default());
        progress.finish();
    }
}
