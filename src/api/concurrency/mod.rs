//! Adaptive concurrency: how many requests may be in flight, found from the server's own round
//! trips and push-back instead of from a guess on the command line.
//!
//! Modelled on vector's adaptive request concurrency (`docs/concurrency.md` says what was kept
//! and what was changed, and why). Finished requests are grouped in windows one round trip long.
//! At the end of each window its mean round trip feeds an EWMA (`recent`), and the lowest window
//! mean seen is the `baseline`: the server's pace when our requests do not queue. Then:
//! - the limit grows when the window filled it, nothing pushed back, and `recent` stays within
//!   10% of the baseline: it doubles until the first decrease (slow start), then grows by one;
//! - it is cut to 90% when the server throttled (429, 503), a request timed out or a connection
//!   failed, or when `recent` climbed 30% past the baseline (the server is queueing us);
//! - a change is judged only once a whole limit's worth of requests sent after it has come
//!   back, since the answers to requests sent before cannot show its effect;
//! - on a throttle, when the server's pace since the last one (answers a second × round trip,
//!   Little's law) explains a lower limit than the cut, it goes there at once: a rate limit;
//! - after push-back, the limit stays at or below where it was cut to for 30 s, then grows one
//!   step every two seconds until it is half again that level: a rate limit, which round trips do
//!   not show, is then hit about once every half minute, not every few round trips.
//!
//! A fixed limit (`--concurrency N`) is measured the same way, for the summary, but never moved.

mod reason;
mod slot;
mod stats;

#[cfg(test)]
mod scenarios;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use reason::{Ms, Reason};
pub use slot::Slot;
use stats::{Ewma, Held, Histogram};

/// How many requests may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Starts at `initial` and moves between 1 and `max` with the server's round trips and
    /// push-back.
    Adaptive { initial: usize, max: usize },
    /// Exactly this many, whatever happens.
    Fixed(usize),
}

impl Concurrency {
    /// The limit a run starts at when nothing is said: low enough for a small server, and
    /// reached from below in a few round trips when the server can take more.
    pub const INITIAL: usize = 4;
    /// The default cap of the adaptive limit (`--max-concurrency`).
    pub const MAX: usize = 64;
    /// The limit a walk through a list opens at ([`Controller::open_at`]): its pages are
    /// reads, which a server that cannot take them all queues or refuses at no harm, and a
    /// short list is over in the round trips a ramp from [`Concurrency::INITIAL`] would take.
    pub const READS: usize = 32;

    /// The most requests that may ever be in flight.
    pub fn most(&self) -> usize {
        match *self {
            Concurrency::Adaptive { max, .. } => max.max(1),
            Concurrency::Fixed(n) => n.max(1),
        }
    }

    fn initial(&self) -> usize {
        match *self {
            Concurrency::Adaptive { initial, max } => initial.clamp(1, max.max(1)),
            Concurrency::Fixed(n) => n.max(1),
        }
    }
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::Adaptive {
            initial: Concurrency::INITIAL,
            max: Concurrency::MAX,
        }
    }
}

/// What one finished attempt tells the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The server handled the request (2xx or 4xx) after this round trip.
    Answered(Duration),
    /// The server, or the way to it, pushed back.
    Pushback(Pushback),
    /// Nothing to learn from (a 500, a refused redirect, a task cancelled mid-request).
    Silent,
}

/// The kinds of push-back that lower the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushback {
    /// 429 or 503.
    Throttled(u16),
    Timeout,
    Connection,
}

/// Multiplicative decrease, as vector's default.
const DECREASE: f64 = 0.9;
/// Weight of a new window in `recent`, as vector's default.
const EWMA_ALPHA: f64 = 0.4;
/// `recent` within this fraction above the baseline is steady: room to grow.
const STEADY: f64 = 0.1;
/// `recent` more than this fraction above the baseline means the server queues our requests.
const QUEUEING: f64 = 0.3;
/// The queueing threshold widens by this many standard deviations of `recent`, so one slow
/// answer is not taken for a queue...
const DEVIATION_SCALE: f64 = 2.0;
/// ...by at most this fraction of the baseline, so a jump in round trips is not hidden by the
/// spread it causes.
const MAX_WIDENING: f64 = 0.2;
/// After push-back, the limit stays at or below its cut for this long without push-back...
const CEILING_MEMORY: Duration = Duration::from_secs(30);
/// ...then grows at most once in this time...
const PROBE_STEP: Duration = Duration::from_secs(2);
/// ...until it passes the cut by this factor: then the push-back was a passing one.
const CEILING_CLEARED: f64 = 1.5;
/// A window's length before any round trip has been measured.
const FIRST_WINDOW: Duration = Duration::from_millis(100);

/// Bounds the requests in flight and moves the bound. Shared by every clone of a client.
#[derive(Debug)]
pub struct Controller {
    semaphore: Semaphore,
    adaptive: bool,
    max: usize,
    /// The current limit, readable without the lock (a progress bar reads it often).
    limit: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: usize,
    /// Permits to retire as they come back, after a decrease with every permit in use.
    to_forget: usize,
    in_flight: usize,
    window: Window,
    recent: Option<Ewma>,
    baseline: Option<f64>,
    /// One above where the limit was cut to at the last push-back, and when.
    ceiling: Option<(usize, Instant)>,
    /// When the limit last grew.
    grown: Instant,
    /// Doubling per steady window, until the first decrease.
    slow_start: bool,
    /// The run opened wide ([`Controller::open_at`]): until the first decrease, a queue is
    /// met by the cut its round trips explain, since the opening may be many times what the
    /// server serves at once.
    opened: bool,
    /// After that cut, answers to requests sent before it are not measured: they waited in
    /// the queue it drained, and would be taken for a queue still there.
    drained_at: Option<Instant>,
    /// The first request, and the last throttle (429/503), with the answers since.
    first: Option<Instant>,
    throttled_at: Option<Instant>,
    answers_since_throttle: u64,
    /// When the last pause the server asked for ends.
    paused_until: Option<Instant>,
    /// Answers to requests sent since the limit last changed: a change is judged on a whole
    /// limit's worth of them, since answers to requests sent before cannot show its effect (a
    /// doubling's queue is only in the answers to the requests it let through).
    fresh: usize,
    rtts: Histogram,
    held: Held,
    /// When the current limit took effect; `None` until the first request.
    since: Option<Instant>,
    lowest: usize,
    highest: usize,
    changes: u64,
}

/// The attempts finished in one window.
#[derive(Debug)]
struct Window {
    ends: Instant,
    sum: f64,
    count: u32,
    /// Whether the requests in flight reached the limit: growth needs that evidence.
    reached: bool,
    /// Push-back to a request sent under the current limit.
    pushback: Option<Pushback>,
    /// Any push-back at all: no growth in this window.
    held_back: bool,
    /// Each round trip, in the windows of an opening wide until one has answers: the baseline
    /// is read from its first wave ([`Window::pace`]).
    wave: Option<Vec<f64>>,
}

impl Window {
    fn new(ends: Instant) -> Window {
        Window {
            ends,
            sum: 0.0,
            count: 0,
            reached: false,
            pushback: None,
            held_back: false,
            wave: None,
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }

    /// The server's pace as this window shows it: its mean, or after an opening wide the mean
    /// of its first wave (the round trips under twice the fastest). Requests that leave
    /// together against a server that serves fewer at once come back in waves a round trip
    /// apart: only the first was served without waiting behind our own, and one that waited
    /// for a place took a round trip to wait and one to be served, twice the fastest at least.
    fn pace(&self) -> Option<f64> {
        let Some(wave) = self.wave.as_ref().filter(|w| !w.is_empty()) else {
            return self.mean();
        };
        let fastest = wave.iter().copied().fold(f64::INFINITY, f64::min);
        eprintln!("WAVE {:?}", wave.iter().map(|w| (w * 1000.0) as u32).collect::<Vec<_>>());
        let first: Vec<f64> = wave
            .iter()
            .copied()
            .filter(|rtt| *rtt < fastest * 2.0)
            .collect();
        Some(first.iter().sum::<f64>() / first.len() as f64)
    }
}

/// What a run's summary needs to know about its concurrency.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadReport {
    /// Whether the limit adapts (false with `--concurrency N`).
    pub adaptive: bool,
    /// The limit now.
    pub limit: usize,
    /// The limit held for the middle of the run's time (time-weighted median).
    pub settled: usize,
    pub lowest: usize,
    pub highest: usize,
    /// How many times the limit moved.
    pub changes: u64,
    /// Round trips measured (answered attempts).
    pub round_trips: u64,
    /// The lowest window mean: the server's pace without our queue.
    pub baseline_ms: Option<f64>,
    /// The smoothed round trip of the last windows.
    pub recent_ms: Option<f64>,
    /// The median of every round trip measured.
    pub median_ms: Option<f64>,
}

impl Controller {
    pub fn new(concurrency: Concurrency) -> Controller {
        let limit = concurrency.initial();
        let max = concurrency.most().max(limit);
        Controller {
            semaphore: Semaphore::new(limit),
            adaptive: matches!(concurrency, Concurrency::Adaptive { .. }),
            max,
            limit: AtomicUsize::new(limit),
            state: Mutex::new(State {
                limit,
                to_forget: 0,
                in_flight: 0,
                window: Window::new(Instant::now() + FIRST_WINDOW),
                recent: None,
                baseline: None,
                ceiling: None,
                grown: Instant::now(),
                slow_start: true,
                opened: false,
                drained_at: None,
                first: None,
                throttled_at: None,
                answers_since_throttle: 0,
                paused_until: None,
                fresh: 0,
                rtts: Histogram::new(),
                held: Held::new(max),
                since: None,
                lowest: limit,
                highest: limit,
                changes: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a place under the limit. The slot counts as in flight only once
    /// [`Slot::begin`] is called, so time spent waiting after this (a rate, a `Retry-After`)
    /// is not taken for the server's.
    pub async fn acquire(&self) -> Slot<'_> {
        loop {
            let permit = self.semaphore.acquire().await.expect("never closed");
            let mut state = self.lock();
            if state.to_forget > 0 {
                state.to_forget -= 1;
                permit.forget();
                continue;
            }
            return Slot {
                controller: self,
                _permit: permit,
                begun: None,
            };
        }
    }

    /// Opens a run of reads at `n` in flight (at most the cap) instead of the usual start, then
    /// adapts as ever. Only an adaptive limit that has not moved yet opens: a run that has
    /// already learnt the server's pace keeps it.
    pub fn open_at(&self, n: usize) {
        if !self.adaptive {
            return;
        }
        let change = {
            let mut state = self.lock();
            let n = n.min(self.max);
            if state.changes > 0 || !state.slow_start || n <= state.limit {
                return;
            }
            state.opened = true;
            state.window.wave.get_or_insert_with(Vec::new);
            self.set(&mut state, Instant::now(), n, Reason::Reads)
        };
        if let Some((from, to, reason)) = change {
            crate::debug!("Concurrency {from} → {to}: {reason}.");
        }
    }

    /// Told by the throttle: no request starts before `until`.
    pub fn paused(&self, until: Instant) {
        let mut state = self.lock();
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    pub fn report(&self) -> LoadReport {
        let state = self.lock();
        let extra = state.since.map_or(Duration::ZERO, |s| s.elapsed());
        let ms = |secs: f64| (secs * 10_000.0).round() / 10.0;
        LoadReport {
            adaptive: self.adaptive,
            limit: state.limit,
            settled: state.held.median(state.limit, extra),
            lowest: state.lowest,
            highest: state.highest,
            changes: state.changes,
            round_trips: state.rtts.count(),
            baseline_ms: state.baseline.map(ms),
            recent_ms: state.recent.map(|r| ms(r.mean)),
            median_ms: state.rtts.median().map(ms),
        }
    }

    fn begin(&self) -> Instant {
        let now = Instant::now();
        let mut state = self.lock();
        state.since.get_or_insert(now);
        state.first.get_or_insert(now);
        state.in_flight += 1;
        if state.in_flight >= state.limit {
            state.window.reached = true;
        }
        now
    }

    fn finish(&self, begun: Instant, signal: Signal) {
        let now = Instant::now();
        let change = {
            let mut state = self.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            match signal {
                Signal::Answered(rtt) => {
                    state.answers_since_throttle += 1;
                    if state.since.is_none_or(|since| begun >= since) {
                        state.fresh += 1;
                    }
                    let secs = rtt.as_secs_f64();
                    state.rtts.add(secs);
                    if state.drained_at.is_none_or(|at| begun >= at) {
                        state.window.sum += secs;
                        state.window.count += 1;
                        if let Some(wave) = &mut state.window.wave {
                            wave.push(secs);
                        }
                    }
                }
                Signal::Pushback(pushback) => {
                    // Push-back to a request sent before the last change was already answered
                    // by it (the rest of one burst of 429s): it holds growth, cuts nothing.
                    state.window.held_back = true;
                    if state.since.is_none_or(|since| begun >= since) {
                        state.window.pushback.get_or_insert(pushback);
                    }
                }
                Signal::Silent => {}
            }
            if now >= state.window.ends {
                self.close_window(&mut state, now)
            } else {
                None
            }
        };
        if let Some((from, to, reason)) = change {
            crate::debug!("Concurrency {from} → {to}: {reason}.");
        }
    }

    /// Ends the window: updates `recent` and the baseline, moves the limit, opens the next.
    fn close_window(&self, state: &mut State, now: Instant) -> Option<(usize, usize, Reason)> {
        let mut window = std::mem::replace(&mut state.window, Window::new(now));
        if window.count == 0 {
            // An opening's first wave is still to come.
            state.window.wave = window.wave.take();
        }
        if let (Some(mean), Some(pace)) = (window.mean(), window.pace()) {
            state.baseline = Some(state.baseline.map_or(pace, |b| b.min(pace)));
            match &mut state.recent {
                Some(recent) => recent.update(mean),
                None => state.recent = Some(Ewma::new(EWMA_ALPHA, mean)),
            }
        }
        let change = if self.adaptive {
            self.judge(state, &window, now)
        } else {
            None
        };
        // The next window lasts one round trip, as it is now.
        let length = state
            .recent
            .map_or(FIRST_WINDOW, |r| Duration::from_secs_f64(r.mean));
        state.window.ends = now + length;
        change
    }

    /// The rule: decrease on push-back or a queue, grow while steady, else hold.
    fn judge(
        &self,
        state: &mut State,
        window: &Window,
        now: Instant,
    ) -> Option<(usize, usize, Reason)> {
        if let Some(pushback) = window.pushback {
            return self.pushed_back(state, now, pushback);
        }
        if window.held_back {
            return None;
        }
        let (recent, baseline) = (state.recent?, state.baseline?);
        let noise = (DEVIATION_SCALE * recent.deviation()).min(MAX_WIDENING * baseline);
        if recent.mean > baseline * (1.0 + QUEUEING) + noise && state.fresh >= state.limit {
            if state.limit == 1 {
                // One request at a time cannot queue behind our own: the server got slower.
                crate::debug!(
                    "One request at a time takes {} now, against {} earlier: that is the \
                     server's own pace, taken as the new baseline.",
                    Ms(recent.mean),
                    Ms(baseline)
                );
                state.baseline = Some(recent.mean);
                return None;
            }
            if state.opened && state.slow_start {
                return self.drain(state, now, window, baseline);
            }
            let reason = Reason::Queueing {
                rtt: recent.mean,
                baseline,
            };
            return self.decrease(state, now, reason);
        }
        let steady = recent.mean <= baseline * (1.0 + STEADY);
        let judged = state.fresh >= state.limit;
        if steady && window.reached && judged && state.limit < self.max && may_grow(state, now) {
            // Slow start: double until the first sign of a queue or push-back, then one step.
            let target = if state.slow_start {
                state.limit * 2
            } else {
                state.limit + 1
            };
            let reason = Reason::Steady { rtt: recent.mean };
            return self.set(state, now, target.min(self.max), reason);
        }
        None
    }

    /// Push-back: cut by 10%, and stay at or below the cut for [`CEILING_MEMORY`].
    fn pushed_back(
        &self,
        state: &mut State,
        now: Instant,
        pushback: Pushback,
    ) -> Option<(usize, usize, Reason)> {
        let explained = match (pushback, state.recent) {
            (Pushback::Throttled(status), Some(recent)) => {
                self.explained(state, now, status, recent)
            }
            _ => None,
        };
        let change = match explained {
            Some((need, reason)) => self.set(state, now, need, reason),
            None => self.decrease(state, now, Reason::Pushback(pushback)),
        };
        state.slow_start = false;
        state.ceiling = Some((state.limit + 1, now));
        change
    }

    /// After a throttle: the limit that the server's pace since the last throttle explains, by
    /// Little's law (answers a second × round trip = requests in flight), when it is below the
    /// usual cut. That is a rate limit's level, reached in one step instead of a cut per
    /// `Retry-After` pause.
    fn explained(
        &self,
        state: &mut State,
        now: Instant,
        status: u16,
        recent: Ewma,
    ) -> Option<(usize, Reason)> {
        let since = state.throttled_at.or(state.first)?;
        // Counted from the end of the pause that followed the last throttle (the server's
        // allowance was unused while we waited), over a second at least: rate limits are
        // counted per second or longer, so a burst that spent a second's allowance in a third
        // of it is that allowance, not three times it.
        let since = state
            .paused_until
            .filter(|p| *p > since && *p < now)
            .unwrap_or(since);
        let answers = std::mem::take(&mut state.answers_since_throttle);
        state.throttled_at = Some(now);
        let secs = now.duration_since(since).as_secs_f64().max(1.0);
        let rate = answers as f64 / secs;
        // Rounded up: 5.5 in flight are met by 6, and the probe above waits 30 s.
        let need = ((rate * recent.mean).ceil() as usize).max(1);
        let cut = ((state.limit as f64 * DECREASE) as usize).max(1);
        let reason = Reason::Explained {
            status,
            rate,
            rtt: recent.mean,
        };
        (need < cut).then_some((need, reason))
    }

    /// The first queue after an opening wide: the limit goes where Little's law puts the
    /// server's places (in flight × baseline ÷ round trip), rounded up, rather than down by 10%
    /// a window: from 32 against 4 places, that is one step instead of twenty.
    fn drain(
        &self,
        state: &mut State,
        now: Instant,
        window: &Window,
        baseline: f64,
    ) -> Option<(usize, usize, Reason)> {
        let rtt = window.mean().or(state.recent.map(|r| r.mean))?;
        let places = ((state.limit as f64 * baseline / rtt).ceil() as usize).max(1);
        let cut = ((state.limit as f64 * DECREASE) as usize).max(1);
        if places >= cut {
            return self.decrease(state, now, Reason::Queueing { rtt, baseline });
        }
        state.slow_start = false;
        state.drained_at = Some(now);
        state.recent = None;
        let reason = Reason::Drained {
            rtt,
            baseline,
            places,
        };
        self.set(state, now, places, reason)
    }

    fn decrease(
        &self,
        state: &mut State,
        now: Instant,
        reason: Reason,
    ) -> Option<(usize, usize, Reason)> {
        state.slow_start = false;
        let target = ((state.limit as f64 * DECREASE) as usize).max(1);
        if target == state.limit {
            return None;
        }
        self.set(state, now, target, reason)
    }

    /// Moves the limit, giving or retiring permits.
    fn set(
        &self,
        state: &mut State,
        now: Instant,
        target: usize,
        reason: Reason,
    ) -> Option<(usize, usize, Reason)> {
        let from = state.limit;
        if target > from {
            state.grown = now;
            if state
                .ceiling
                .is_some_and(|(c, _)| target as f64 >= c as f64 * CEILING_CLEARED)
            {
                state.ceiling = None;
            }
            let back = (target - from).min(state.to_forget);
            state.to_forget -= back;
            self.semaphore.add_permits(target - from - back);
        } else {
            for _ in target..from {
                match self.semaphore.try_acquire() {
                    Ok(permit) => permit.forget(),
                    Err(_) => state.to_forget += 1,
                }
            }
        }
        if let Some(since) = state.since {
            state.held.add(from, now.duration_since(since));
        }
        state.since = Some(now);
        state.fresh = 0;
        state.limit = target;
        state.lowest = state.lowest.min(target);
        state.highest = state.highest.max(target);
        state.changes += 1;
        self.limit.store(target, Ordering::Relaxed);
        Some((from, target, reason))
    }
}

/// Whether the limit may grow by one now, given the last push-back: freely below the ceiling
/// (a decrease for a queue since then), and to it or above only after [`CEILING_MEMORY`] of
/// calm, one step per [`PROBE_STEP`].
fn may_grow(state: &State, now: Instant) -> bool {
    match state.ceiling {
        None => true,
        Some((ceiling, _)) if state.limit + 1 < ceiling => true,
        Some((_, at)) => {
            now.duration_since(at) >= CEILING_MEMORY
                && now.duration_since(state.grown) >= PROBE_STEP
        }
    }
}
