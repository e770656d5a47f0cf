//! How many requests a second may start: `--rate`, the server's own words (its rate-limit
//! headers, [`super::allowance`]), or the rate its refusals show. A rate limit is a rate, so it
//! is met with a rate: requests are spaced evenly (GCRA's virtual schedule, without a burst),
//! whatever the number in flight. A concurrency limit cannot do it: at 20 ms a round trip each
//! place is 50 requests a second, so 300 a second falls between 5 places (250) and 6 (300,
//! refused whenever the round trips run short).
//!
//! What the refusals show (no headers). A throttle (429, 503) is a reading: N requests
//! accepted of those sent in the t seconds from when the allowance was whole (the run's start,
//! or the end of the last pause) to the refused one, counted by when they were sent, once the
//! requests in flight are answered (a refusal answered at once comes before the answers to
//! requests sent earlier). A first reading fits a window of N a second (fixed or sliding) and a
//! token bucket refilled below N / t alike, and assuming the window would hold a bucket far
//! below its rate with nothing ever to say so: the first reading errs high (a pace of 75% of
//! N / t). The second is read against the first: the same count is a window, a larger count in
//! a longer time a bucket whose rate is the slope between them (`kind`). A throttle after that says the pace is too high:
//! what the last second accepted, when less, else 10% less. A first reading that holds requests
//! back a second without a throttle grows half again every half second; after 30 s without one,
//! the pace grows 5% a second while it holds requests back, and is dropped once half again above
//! what was read. docs/concurrency.md says why each rule, and which were tried and left.
//!
//! What the headers say. A policy of N requests per window of a minute or less is paced at 97%
//! of N per window; longer windows are quotas, spent at full speed. Remaining 0 pauses every
//! request until the reset, so the quota is not spent on refusals.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::allowance::{Allowance, Source};

/// The share of the server's allowance custbulk uses: a margin for round trips that vary.
const SHARE: f64 = 0.97;
/// A throttle while paced, with no lower reading: the allowance is this far below the pace.
const CUT: f64 = 0.9;
/// Windows up to this long are rate limits, paced; longer ones are quotas.
const LONGEST_PACED_WINDOW: Duration = Duration::from_secs(60);
/// After a throttle, the pace holds this long before it probes upward...
const CALM: Duration = Duration::from_secs(30);
/// ...by this factor, once per step, while it holds requests back...
const PROBE_GROWTH: f64 = 1.05;
const PROBE_STEP: Duration = Duration::from_secs(1);
/// ...until it is this far above what was read: the limit was a passing one, and the pace is
/// dropped.
const PASSED: f64 = 1.5;
/// A first reading's pace: this share of the rate the allowance was spent at.
const FIRST_SHARE: f64 = 0.75;
/// A first reading that has held requests back this long without a throttle grows...
const FIRST_CALM: Duration = Duration::from_secs(1);
/// ...by this factor every step.
const FIRST_GROWTH: f64 = 1.5;
const FIRST_STEP: Duration = Duration::from_millis(500);
/// Readings lie on one bucket's line when the sizes they give agree this closely (and within
/// 5 requests, for those in flight at each end).
const SAME_SIZE: f64 = 0.05;
/// A bucket's rate read from the slope between two readings counts this many requests fewer
/// between them.
const SLOPE_SLACK: f64 = 2.0;
/// Two readings this close in count are one window's allowance, read twice.
const SAME_COUNT: f64 = 0.15;
/// The span over which acceptances are counted.
const SECOND: Duration = Duration::from_secs(1);

/// Spaces request starts and learns the server's rate. Shared by every clone of a client.
#[derive(Debug)]
pub struct Pace {
    /// `--rate`.
    fixed: Option<f64>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the next request may start (GCRA's theoretical arrival time).
    next: Instant,
    told: Option<Told>,
    learnt: Option<Learnt>,
    /// When each request accepted in the last seconds was sent (roughly oldest first), and how
    /// many sent since `counting_from` were accepted.
    accepted: VecDeque<Instant>,
    accepted_since: u64,
    /// The end of the last pause (the server's allowance was unused during it), or the first
    /// request.
    counting_from: Option<Instant>,
    /// A throttle whose reading waits for the answers in flight.
    reading: Option<Reading>,
    /// When the pace last held a request back.
    held_back: Option<Instant>,
    /// What a reading showed, said with `-v` once the lock is released.
    said: Option<String>,
}

/// What the headers said, the latest.
#[derive(Debug, Clone, Copy)]
struct Told {
    limit: u64,
    window: Duration,
    source: Source,
}

/// How many readings are kept to tell a bucket from a window...
const READINGS: usize = 6;
/// ...each made within this long of its allowance being whole: over longer, a window paced
/// below its limit accepts the pace × the time, a line too.
const LINE_SPAN: Duration = Duration::from_secs(3);

/// The server's allowance as its refusals showed it.
#[derive(Debug, Clone, Copy)]
struct Learnt {
    /// Requests a second the server accepts.
    allowance: f64,
    /// The last throttle, and the last probe step.
    throttled: Instant,
    probed: Instant,
    /// The readings so far, newest last: the seconds from a whole allowance to the refusal,
    /// and the requests accepted in them.
    readings: [Option<(f64, f64)>; READINGS],
    /// Whether a second reading has said what kind of limit it is.
    confirmed: bool,
    /// The allowance as read, before any probe.
    read: f64,
}

/// A throttle, read once the requests in flight when it came are answered.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// When the allowance was whole, and when the first refused request was sent.
    from: Instant,
    refused_sent: Instant,
    /// When the refusal came: nothing sent since counts.
    opened: Instant,
    /// When it is read: the end of the pause it began, and a moment after the refusal.
    due: Instant,
    /// Requests sent from `from` until the refusal came and accepted, so far: those sent just
    /// after the refused one may have reached the server before it.
    count: u64,
}

/// How long after a throttle its reading waits at least, for the answers in flight.
const IN_FLIGHT: Duration = Duration::from_millis(100);
/// How far back accepted requests are kept.
const KEPT: Duration = Duration::from_secs(2);

/// What the pace was and why, for the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PaceReport {
    /// Requests a second allowed now; `None` when unpaced.
    pub per_sec: Option<f64>,
    /// What the server said it allows, in words ("300 requests per 1 s").
    pub server_allows: Option<String>,
    /// Where that was read: headers, or the server's refusals.
    pub read_from: Option<String>,
}

impl Pace {
    pub fn new(fixed: Option<f64>) -> Pace {
        Pace {
            fixed: fixed.filter(|r| r.is_finite() && *r > 0.0),
            state: Mutex::new(State {
                next: Instant::now(),
                told: None,
                learnt: None,
                accepted: VecDeque::new(),
                accepted_since: 0,
                counting_from: None,
                reading: None,
                held_back: None,
                said: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state now, then says with `-v` what a reading it made showed: a log line
    /// is printed without the lock held.
    fn with_state<T>(&self, f: impl FnOnce(&Pace, &mut State, Instant) -> T) -> T {
        let now = Instant::now();
        let (out, said) = {
            let mut state = self.lock();
            let out = f(self, &mut state, now);
            (out, state.said.take())
        };
        if let Some(said) = said {
            crate::debug!("{said}");
        }
        out
    }

    /// When a request that is ready now may start: now when unpaced, else its place on an even
    /// schedule (a gap of one over the pace after the last start, never before now).
    pub fn turn(&self) -> Instant {
        self.with_state(Pace::turn_in)
    }

    fn turn_in(&self, state: &mut State, now: Instant) -> Instant {
        state.counting_from.get_or_insert(now);
        let Some(rate) = self.rate_of(state, now) else {
            return now;
        };
        let start = state.next.max(now);
        if start > now {
            state.held_back = Some(now);
        }
        state.next = start + Duration::from_secs_f64(1.0 / rate);
        start
    }

    /// Requests a second allowed now, if any limit applies.
    pub fn rate(&self) -> Option<f64> {
        self.with_state(|pace, state, now| pace.rate_of(state, now))
    }

    fn rate_of(&self, state: &mut State, now: Instant) -> Option<f64> {
        if let Some(reading) = state.reading.filter(|r| r.due <= now) {
            state.reading = None;
            let learnt = self.read(state, reading, now);
            let seen = (reading.refused_sent - reading.from).as_secs_f64();
            state.said = Some(format!(
                "The server's refusals show about {:.0} requests a second ({} accepted in the \
                 {seen:.2} s to the refusal{}): custbulk paces at {:.0} a second.",
                learnt.allowance,
                reading.count,
                if learnt.confirmed {
                    ""
                } else {
                    ", a first reading"
                },
                learnt.allowance * SHARE
            ));
            state.learnt = Some(learnt);
        }
        let pressed = |step: Duration| {
            state
                .held_back
                .is_some_and(|t| now.duration_since(t) < step)
        };
        let resumed = state.counting_from;
        if let Some(learnt) = &mut state.learnt {
            let (calm, step, growth) = match learnt.confirmed {
                false => (FIRST_CALM, FIRST_STEP, FIRST_GROWTH),
                true => (CALM, PROBE_STEP, PROBE_GROWTH),
            };
            // Calm is counted from the end of the throttle's pause.
            let since = resumed.map_or(learnt.throttled, |r| r.max(learnt.throttled));
            let quiet = now.saturating_duration_since(since) >= calm;
            if quiet && pressed(step) && now.duration_since(learnt.probed) >= step {
                learnt.allowance *= growth;
                learnt.probed = now;
            }
        }
        if state
            .learnt
            .is_some_and(|l| l.confirmed && l.allowance >= l.read * PASSED)
        {
            crate::debug!(
                "The server no longer refuses at half again the rate it allowed: unpaced."
            );
            state.learnt = None;
        }
        let told = state.told.and_then(Told::pace);
        let learnt = state.learnt.map(|l| l.allowance * SHARE);
        [self.fixed, told, learnt]
            .into_iter()
            .flatten()
            .reduce(f64::min)
    }

    /// An accepted answer (2xx or 4xx) to a request sent at `sent`.
    pub fn accepted(&self, sent: Instant) {
        let now = Instant::now();
        let mut state = self.lock();
        while state
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= KEPT)
        {
            state.accepted.pop_front();
        }
        state.accepted.push_back(sent);
        let since_from = state.counting_from.is_none_or(|from| sent >= from);
        match &mut state.reading {
            // An answer to a request sent before a throttle came, while its reading waits: it
            // counts when sent since the allowance was whole.
            Some(reading) if sent < reading.opened => {
                reading.count += u64::from(sent >= reading.from);
            }
            _ if since_from => state.accepted_since += 1,
            _ => {}
        }
    }

    /// A throttle (429, 503) of a request sent at `sent`: the allowance is read again once the
    /// requests in flight are answered.
    pub fn refused(&self, sent: Instant) {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(reading) = &mut state.reading {
            // The rest of one burst: the earliest refused request ends the reading's time.
            reading.refused_sent = reading.refused_sent.min(sent);
            return;
        }
        let from = state.counting_from.unwrap_or(sent);
        if sent < from || state.learnt.is_some_and(|l| sent < l.throttled) {
            // Sent before the last pause ended: part of a burst already read.
            return;
        }
        state.reading = Some(Reading {
            from,
            refused_sent: sent,
            opened: now,
            due: now + IN_FLIGHT,
            count: state.accepted_since,
        });
    }

    /// What a throttle says of the server's allowance, given what was read before.
    fn read(&self, state: &mut State, reading: Reading, now: Instant) -> Learnt {
        let (from, to) = (reading.from, reading.refused_sent);
        let secs = to.duration_since(from).as_secs_f64().max(1e-3);
        let sent_in = |start: Instant| {
            let n = state.accepted.iter().filter(|s| **s >= start && **s < to);
            n.count() as f64
        };
        let count = reading.count as f64;
        // Accepted of those sent in the second before the refused one (a partial second
        // counted as whole).
        let last_second = sent_in(from.max(to - SECOND));
        let pace = self.rate_of(state, now);
        let mut readings = state.learnt.map_or([None; READINGS], |l| l.readings);
        readings.rotate_left(1);
        readings[READINGS - 1] = Some((secs, count));
        let (allowance, confirmed) = match (state.learnt, pace) {
            // A throttle after a second or more at full speed: that second's count.
            (None, _) if secs >= SECOND.as_secs_f64() => (last_second, true),
            (None, _) => (count / secs * FIRST_SHARE / SHARE, false),
            (Some(_), Some(pace)) => {
                let too_high = last_second.min(pace * CUT / SHARE);
                if secs >= LINE_SPAN.as_secs_f64() {
                    // Refused after seconds at this pace (a probe went too far): too high. What
                    // the last second accepted, when less, else 10% less; the readings start
                    // again.
                    readings = [None; READINGS];
                    readings[READINGS - 1] = Some((secs, count));
                    (too_high, true)
                } else {
                    (kind(&readings, pace / SHARE).unwrap_or(too_high), true)
                }
            }
            (Some(learnt), None) => (learnt.allowance, learnt.confirmed),
        };
        Learnt {
            allowance: allowance.max(1.0),
            throttled: now,
            probed: now,
            readings,
            confirmed,
            read: allowance.max(1.0),
        }
    }

    /// A pause until `until` began: the allowance counts afresh from its end (it was unused
    /// during it), and a throttle's reading is made then.
    pub fn paused(&self, until: Instant) {
        let mut state = self.lock();
        if state.counting_from.is_none_or(|c| c < until) {
            state.counting_from = Some(until);
            state.accepted_since = 0;
        }
        state.next = state.next.max(until);
        if let Some(reading) = &mut state.reading {
            reading.due = reading.due.max(until);
        }
    }

    /// Whether the pace is still being learnt from refusals: no throttle yet, or one reading
    /// not confirmed by a second, and no headers to say it.
    pub fn learning(&self) -> bool {
        let state = self.lock();
        state.told.is_none() && state.learnt.is_none_or(|l| !l.confirmed)
    }

    /// A pause ended early (its canary, sent at `sent`, was accepted): the allowance counts
    /// afresh from then, and a throttle's reading is made now.
    pub fn resumed(&self, sent: Instant) {
        let now = Instant::now();
        let mut state = self.lock();
        state.counting_from = Some(sent);
        state.accepted_since = 0;
        state.next = sent;
        if let Some(reading) = &mut state.reading {
            reading.due = now;
        }
    }

    /// What an answer's headers said: sets the pace of a short window's policy, and returns
    /// how long to hold every request when the allowance is spent (remaining 0).
    pub fn told(&self, allowance: &Allowance) -> Option<Duration> {
        let mut state = self.lock();
        let window = allowance.window.or_else(|| {
            // No policy: the window is as long as the longest reset seen, in whole seconds
            // rounded down (a reset given as a date in whole seconds runs up to a second long).
            let seen = allowance.reset?.as_secs_f64().floor().max(1.0);
            let known = state.told.map_or(0.0, |t| t.window.as_secs_f64());
            Some(Duration::from_secs_f64(seen.max(known)))
        });
        if let (Some(limit), Some(window)) = (allowance.limit, window) {
            let changed = state
                .told
                .is_none_or(|t| t.limit != limit || t.window != window);
            state.told = Some(Told {
                limit,
                window,
                source: allowance.source,
            });
            if changed {
                let told = state.told.expect("just set");
                drop(state);
                crate::debug!("The server allows {}.", told);
            }
        }
        match (allowance.remaining, allowance.reset) {
            (Some(0), Some(reset)) if !reset.is_zero() => Some(reset),
            _ => None,
        }
    }

    pub fn report(&self) -> PaceReport {
        self.with_state(Pace::report_in)
    }

    fn report_in(&self, state: &mut State, now: Instant) -> PaceReport {
        let per_sec = self.rate_of(state, now);
        let (server_allows, read_from) = match (state.told, state.learnt) {
            (Some(told), _) => (Some(told.words()), Some(told.source.to_string())),
            (None, Some(learnt)) => (
                Some(format!("about {:.0} requests a second", learnt.allowance)),
                Some("its refusals, 429 and 503".to_owned()),
            ),
            (None, None) => (None, None),
        };
        PaceReport {
            per_sec,
            server_allows,
            read_from,
        }
    }
}

/// What the readings say the limit is, in requests a second, below `most` (the allowance the
/// refused pace was set for). A token bucket when they lie on one line: each is its size plus
/// its rate × the time, so the rate is the slope between the last two and every reading gives
/// the same size. A window when the last two counts are the same, or when no line fits: its
/// allowance is the lowest count read within a second (a reading over a window's turn counts
/// part of two). A window read across its turn can look like a bucket: when both fit, the
/// higher is taken, since a pace too high is refused and read again and one too low never is;
/// unless the window's own allowance was what was refused. `None` when neither fits.
fn kind(readings: &[Option<(f64, f64)>; READINGS], most: f64) -> Option<f64> {
    let known: Vec<(f64, f64)> = readings.iter().flatten().copied().collect();
    let [.., (t0, n0), (t1, n1)] = known[..] else {
        return None;
    };
    let within_a_second = known.iter().filter(|(t, _)| *t < SECOND.as_secs_f64());
    let window = within_a_second.map(|(_, n)| *n).reduce(f64::min);
    if (n1 - n0).abs() <= SAME_COUNT * n0 && t1 < SECOND.as_secs_f64() {
        return window;
    }
    let bucket = (t1 > t0 + 0.05)
        .then(|| (n1 - n0) / (t1 - t0))
        .filter(|rate| *rate > 0.0 && *rate < most)
        .filter(|rate| {
            let sizes: Vec<f64> = known.iter().map(|(t, n)| n - rate * t).collect();
            let size = sizes.iter().sum::<f64>() / sizes.len() as f64;
            let near = |b: &f64| (b - size).abs() <= SAME_SIZE * size + 5.0;
            size > 0.0 && sizes.iter().all(near)
        });
    // The slope is a difference of two counts, each off by the requests in flight at its end:
    // it is taken that much low.
    let bucket = bucket.map(|rate| rate - SLOPE_SLACK / (t1 - t0));
    match (bucket, window) {
        // Refused at the window's own allowance: it was no window.
        (Some(rate), Some(window)) if most <= window * 1.01 => Some(rate),
        // Either fits: the higher, since a pace too high is refused and read again, and one
        // too low never is.
        (Some(rate), Some(window)) => Some(rate.max(window)),
        (Some(rate), None) => Some(rate),
        (None, window) => window,
    }
}

impl Told {
    /// The pace a short window's policy asks for; `None` for a quota.
    fn pace(self) -> Option<f64> {
        (self.window <= LONGEST_PACED_WINDOW)
            .then(|| self.limit as f64 / self.window.as_secs_f64() * SHARE)
    }

    /// "300 requests per 1 s"
    fn words(self) -> String {
        format!(
            "{} requests per {} s",
            self.limit,
            (self.window.as_secs_f64() * 1000.0).round() / 1000.0
        )
    }
}

impl std::fmt::Display for Told {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pace() {
            Some(pace) => write!(
                f,
                "{} ({}); custbulk paces at {pace:.0} a second",
                self.words(),
                self.source
            ),
            None => write!(
                f,
                "{} ({}), a quota: custbulk goes at full speed and waits when it is spent",
                self.words(),
                self.source
            ),
        }
    }
}
