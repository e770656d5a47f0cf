//! Adaptive concurrency: how many requests may be in flight, found from the server's own round
//! trips and push-back instead of from a guess on the command line.
//!
//! Modelled on vector's adaptive request concurrency (`docs/concurrency.md` says what was kept
//! and what was changed, and why). Finished requests are grouped in windows one round trip long.
//! At the end of each window its mean round trip feeds an EWMA (`recent`), and the lowest window
//! mean seen is the `baseline`: the server's pace when our requests do not queue. Then:
//! - the limit grows when the window filled it, nothing pushed back, and `recent` stays within
//!   10% of the baseline (or within 2 ms): it doubles until the first decrease (slow
//!   start), then grows by one;
//! - it is cut to 90% when a request timed out or a connection failed, or when `recent` climbed
//!   30% past the baseline and more than 4 ms (the server is queueing us; less is the
//!   scheduler's noise);
//! - a change is judged only once a whole limit's worth of requests sent after it has come
//!   back, since the answers to requests sent before cannot show its effect;
//! - the first queue in slow start goes where Little's law puts the server's places (in flight ×
//!   the fastest round trip ÷ the window's), when that is below the cut, and the baseline is
//!   read afresh: a doubling, or a walk through a list that opened wide
//!   ([`Controller::open_at`]), may have overshot many times;
//! - a throttle (429, 503) cuts nothing: a rate limit is met by the pace ([`super::pace`]), and
//!   the limit then goes where that pace needs it ([`Controller::fit`]); it only holds growth;
//! - after other push-back (timeouts, failed connections), the limit stays at or below where it
//!   was cut to for 30 s, then grows one step every two seconds until it is half again that
//!   level.
//!
//! A fixed limit (`--concurrency N`) is measured the same way, for the summary, but never moved.

mod reason;
mod rule;
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

use reason::Reason;
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
/// A paced limit leaves room for round trips this many times the usual.
const PACED_ROOM: f64 = 2.0;
/// A rise in round trips smaller than this is never a queue, nor one half as large a reason to
/// hold: sub-millisecond round trips (a server on this machine or the LAN) jitter by far more
/// than 30% with the scheduler, and a limit held down by that noise settled at 1, at half the
/// throughput of 16 in flight.
const NOISE_FLOOR: f64 = 0.004;
/// A window lasts at least this long, so that its mean is of many round trips, not of the few a
/// sub-millisecond round trip holds.
const SHORTEST_WINDOW: Duration = Duration::from_millis(10);
/// A window's length before any round trip has been measured, at most: the first window also
/// ends once the first wave (a limit's worth of answers) is back, which is one round trip.
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
    /// After the first queue's cut ([`Controller::drain`]), answers to requests sent before it
    /// are not measured: they waited in the queue it drains, and would be taken for a queue
    /// still there.
    drained_at: Option<Instant>,
    /// The pace that governs the requests, when one does: the limit is never cut below what
    /// it needs, since the round trips the pace keeps short are no queue of ours.
    paced: Option<f64>,
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
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
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
                drained_at: None,
                paced: None,
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
            self.set(&mut state, Instant::now(), n, Reason::Reads)
        };
        if let Some((from, to, reason)) = change {
            crate::debug!("Concurrency {from} → {to}: {reason}.");
        }
    }

    /// A pace governs the requests now (a rate limit): the limit goes where that pace needs
    /// it, its requests a second × the round trip (Little's law), with room for round trips
    /// twice as long, so that the pace and not the limit decides how many go. `None`: no pace
    /// any more.
    pub fn fit(&self, paced: Option<f64>) {
        if !self.adaptive {
            return;
        }
        let change = {
            let mut state = self.lock();
            state.paced = paced;
            let (Some(per_sec), Some(rtt)) = (paced, state.recent.map(|r| r.mean)) else {
                return;
            };
            state.slow_start = false;
            let target = ((per_sec * rtt * PACED_ROOM).ceil() as usize).clamp(2, self.max);
            if target == state.limit {
                return;
            }
            self.set(
                &mut state,
                Instant::now(),
                target,
                Reason::Paced { per_sec, rtt },
            )
        };
        if let Some((from, to, reason)) = change {
            crate::debug!("Concurrency {from} → {to}: {reason}.");
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
                    if state.since.is_none_or(|since| begun >= since) {
                        state.fresh += 1;
                    }
                    let secs = rtt.as_secs_f64();
                    state.rtts.add(secs);
                    if state.drained_at.is_none_or(|at| begun >= at) {
                        state.window.sum += secs;
                        state.window.count += 1;
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
            // The first wave's answers are the first round trip: waiting out the rest of
            // FIRST_WINDOW would leave a walk opened at the server's own capacity with every
            // request waiting on our turnaround, and slow start a round trip behind.
            let first_wave_back = state.recent.is_none() && state.fresh >= state.limit;
            if now >= state.window.ends || first_wave_back {
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
        let window = std::mem::replace(&mut state.window, Window::new(now));
        if let Some(mean) = window.mean() {
            state.baseline = Some(state.baseline.map_or(mean, |b| b.min(mean)));
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
        // The next window lasts one round trip, as it is now (and no less than a few ms).
        let length = state.recent.map_or(FIRST_WINDOW, |r| {
            Duration::from_secs_f64(r.mean).max(SHORTEST_WINDOW)
        });
        state.window.ends = now + length;
        change
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
