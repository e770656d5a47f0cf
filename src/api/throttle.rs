//! What a request waits for before it leaves: a place under the concurrency limit
//! ([`Controller`]), the end of a pause the server asked for, and its turn under the pace
//! ([`Pace`]: `--rate`, the server's rate-limit headers, the rate its refusals show); and the
//! [`Gate`] it takes that place through, closed when the run stops.
//!
//! The pause: when the server throttles one request (429 or 503), every request waits as that
//! one does (its `Retry-After`, or its backoff), not only the one refused. Otherwise the other
//! requests, answered 429 in a millisecond each, would flood a rate-limited server with
//! hundreds of refusals a second until its window turns. The server told the refused request
//! to wait, which it does in full; the others' pause is custbulk's own caution, so while the
//! pace is still being learnt one request, a canary, asks again a quarter of the way through a
//! short pause, and if it is accepted the pause is over: a token bucket refills in a fraction of
//! the whole second its `Retry-After` rounds up to, and a fixed window may have turned. A
//! spent allowance (a rate-limit header saying none remain) pauses the same way, until its
//! reset, before anything is refused. A pause longer than `--max-wait` is not waited out: it is
//! one more stop, so it closes the gate (requests that have not left are refused) and the
//! request that met it fails with [`ApiError::WaitTooLong`]; the run stops (resumable) rather
//! than spend hours, or a quota, on refusals.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::allowance::Allowance;
use super::concurrency::{Concurrency, Controller, LoadReport, Pushback, Signal, Slot};
use super::gate::Gate;
use super::pace::{Pace, PaceReport};
use super::waits::{self, Waits};
use super::ApiError;

/// The longest wait custbulk accepts before stopping the run (`--max-wait`).
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// Bounds, pauses and paces requests. Shared by every clone of a client.
#[derive(Debug)]
pub struct Throttle {
    controller: Controller,
    pace: Pace,
    /// No request starts before this, but a canary.
    paused: Mutex<Option<Pause>>,
    /// Wakes the requests waiting out a pause that a canary ended early.
    lifted: Notify,
    /// The long waits said to the user.
    pub waits: Waits,
    max_wait: Duration,
    /// Every request of the client takes its place through it ([`Throttle::admit`]).
    pub gate: Arc<Gate>,
}

/// A pause of every request that has not left.
#[derive(Debug, Clone)]
struct Pause {
    until: Instant,
    /// Why, in words for [`ApiError::WaitTooLong`].
    why: String,
    /// When one request may go early to ask whether the pause is needed, until one has.
    canary: Option<Instant>,
}

/// Pauses longer than this get no canary: a long wait is meant.
const LONGEST_CANARIED: Duration = Duration::from_secs(10);

/// A request's place: under the limit, after any pause, on its turn of the pace. Report how
/// it went with [`Turn::finish`].
#[derive(Debug)]
pub struct Turn<'a> {
    slot: Slot<'a>,
    throttle: &'a Throttle,
    sent: Instant,
    /// Sent early, during a pause, to ask whether it is needed.
    canary: bool,
}

impl Turn<'_> {
    /// Reports the attempt's outcome to the controller and the pace, and frees the place.
    pub fn finish(self, signal: Signal) {
        let Turn {
            slot,
            throttle,
            sent,
            canary,
        } = self;
        match signal {
            Signal::Answered(_) => {
                if canary {
                    throttle.lift(sent);
                }
                throttle.pace.accepted(sent);
            }
            Signal::Pushback(Pushback::Throttled(_)) => {
                throttle.pace.refused(sent);
                throttle.controller.fit(throttle.pace.rate());
            }
            Signal::Pushback(_) | Signal::Silent => {}
        }
        slot.finish(signal);
    }
}

impl Throttle {
    /// `rate`: requests per second at most (`--rate`); `max_wait`: the longest pause waited.
    pub fn new(concurrency: Concurrency, rate: Option<f64>, max_wait: Duration) -> Throttle {
        Throttle {
            controller: Controller::new(concurrency),
            pace: Pace::new(rate),
            paused: Mutex::new(None),
            lifted: Notify::new(),
            waits: Waits::default(),
            max_wait,
            gate: Arc::new(Gate::new()),
        }
    }

    /// A place and turn for one request ([`Throttle::slot`]) through the gate: refused, at once
    /// or while it waits, once the run has stopped. While a pause past `--max-wait` lasts (the
    /// stop it caused closed the gate), the refusal is that wait's own error, which says how
    /// long.
    pub async fn admit(&self) -> Result<Turn<'_>, ApiError> {
        self.ready()?;
        self.gate.admit(self.slot()).await?
    }

    /// Waits for a place under the limit, the end of any pause (or the pause's canary time),
    /// and the pace's next turn. A pause longer than `--max-wait` is [`ApiError::WaitTooLong`],
    /// at once.
    pub async fn slot(&self) -> Result<Turn<'_>, ApiError> {
        let mut slot = self.controller.acquire().await;
        let before = self.pace.rate();
        // A pause that begins while a request waits for its turn holds it too.
        let canary = loop {
            if self.wait_out_pause().await? {
                break true;
            }
            let turn = self.pace.turn();
            // Only a turn ahead is slept for: tokio's timer wakes on a millisecond tick, so a
            // sleep until now would cost up to a millisecond a request.
            if turn > Instant::now() {
                tokio::time::sleep_until(turn).await;
            }
            if self
                .paused_until()
                .is_none_or(|until| until <= Instant::now())
            {
                break false;
            }
        };
        let after = self.pace.rate();
        if after != before {
            // The pace moved on its own (a probe, a reading made after a pause).
            self.controller.fit(after);
        }
        slot.begin();
        Ok(Turn {
            slot,
            throttle: self,
            sent: Instant::now(),
            canary,
        })
    }

    /// Fails when a request would wait longer than `--max-wait` before it could leave.
    fn ready(&self) -> Result<(), ApiError> {
        let paused = self
            .paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match paused {
            Some(pause) => self.check_wait(
                pause.until.saturating_duration_since(Instant::now()),
                &pause.why,
            ),
            None => Ok(()),
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        let paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        paused.as_ref().map(|p| p.until)
    }

    /// Waits out any pause, or fails at once when it is longer than `--max-wait`; true when
    /// this request is the pause's canary, to go now.
    async fn wait_out_pause(&self) -> Result<bool, ApiError> {
        loop {
            // Listening before looking, so that a lift between the two is not missed.
            let lifted = self.lifted.notified();
            tokio::pin!(lifted);
            lifted.as_mut().enable();
            let now = Instant::now();
            let wake = {
                let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
                match paused.as_mut() {
                    Some(pause) if pause.until > now => {
                        self.check_wait(pause.until - now, &pause.why)?;
                        match pause.canary {
                            Some(at) if at <= now => {
                                pause.canary = None;
                                return Ok(true);
                            }
                            Some(at) => at,
                            None => pause.until,
                        }
                    }
                    _ => return Ok(false),
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = lifted => {}
            }
        }
    }

    /// A canary was accepted: the pause is over for every request.
    fn lift(&self, sent: Instant) {
        {
            let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
            if paused.as_ref().is_some_and(|p| p.until > sent) {
                *paused = None;
            }
        }
        self.pace.resumed(sent);
        self.lifted.notify_waiters();
    }

    /// A wait longer than `--max-wait` stops the run: the gate closes, with it as the reason.
    fn check_wait(&self, wait: Duration, why: &str) -> Result<(), ApiError> {
        if wait <= self.max_wait {
            return Ok(());
        }
        let err = ApiError::WaitTooLong {
            wait,
            until: waits::clock(wait),
            why: why.to_owned(),
            max: self.max_wait,
        };
        self.gate.close(err.to_string());
        Err(err)
    }

    /// Holds every request that has not started yet for `wait`: the server throttled, or its
    /// allowance is spent. `short` says why on the progress bar ("the server asked (429)"),
    /// `detail` in the log line. A wait past `--max-wait` is refused at once.
    pub fn pause(&self, wait: Duration, short: &str, detail: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let until = now + wait;
        {
            let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
            let same = paused
                .as_ref()
                .is_some_and(|p| p.until < until && until <= p.until + Duration::from_secs(1));
            if same {
                // The same wait, read again (a refusal in flight when a spent allowance was
                // told): its first reason stands.
                if let Some(pause) = paused.as_mut() {
                    pause.until = until;
                }
            } else if paused.as_ref().is_none_or(|p| p.until < until) {
                // A pause that replaces one whose canary was refused gets none.
                let canaried = paused
                    .as_ref()
                    .is_none_or(|p| p.canary.is_some() || p.until <= now);
                let learning = self.pace.learning() && wait <= LONGEST_CANARIED;
                *paused = Some(Pause {
                    until,
                    why: detail.to_owned(),
                    canary: (canaried && learning).then(|| now + wait / 4),
                });
            }
        }
        self.pace.paused(until);
        self.check_wait(wait, detail)?;
        self.waits.ahead(until, short, detail);
        Ok(())
    }

    /// What an answer's rate-limit headers said: the pace follows, and a spent allowance
    /// pauses every request until its reset.
    pub fn told(&self, allowance: &Allowance) {
        let before = self.pace.rate();
        let spent = self.pace.told(allowance);
        let now = self.pace.rate();
        if now != before {
            self.controller.fit(now);
        }
        if let Some(reset) = spent {
            let detail = format!(
                "the server's allowance is spent ({}: none remaining) until its reset",
                allowance.source
            );
            // Too long to wait, it stops the run here, before a refusal: the stop says why.
            let _ = self.pause(reset, "the server's allowance is spent", &detail);
        }
    }

    /// Opens a run of reads at `n` in flight ([`Controller::open_at`]).
    pub fn open_at(&self, n: usize) {
        self.controller.open_at(n);
    }

    /// The concurrency limit now, for a progress bar.
    pub fn limit(&self) -> usize {
        self.controller.limit()
    }

    /// The longest wait accepted (`--max-wait`).
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The limit settled at, its range, and the round trips seen, for a summary.
    pub fn report(&self) -> LoadReport {
        self.controller.report()
    }

    /// The pace, and what the server said it allows, for a summary.
    pub fn pace_report(&self) -> PaceReport {
        self.pace.report()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::concurrency::Signal;

    fn throttle(concurrency: Concurrency, rate: Option<f64>) -> Throttle {
        Throttle::new(concurrency, rate, MAX_WAIT)
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_requests_that_have_not_started_but_one_canary() {
        let throttle = throttle(Concurrency::Fixed(4), None);
        let started = Instant::now();
        throttle.pause(Duration::from_secs(2), "", "").unwrap();
        // While the pace is learnt, one request asks a quarter of the way through.
        let canary = throttle.slot().await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        // Refused: the server means it, and the pause it extends has no canary.
        canary.finish(Signal::Pushback(Pushback::Throttled(429)));
        throttle.pause(Duration::from_secs(2), "", "").unwrap();
        let held = throttle.slot().await.unwrap();
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(2500),
            "the rest wait it out"
        );
        held.finish(Signal::Silent);
    }

    #[tokio::test(start_paused = true)]
    async fn an_accepted_canary_ends_the_pause_for_every_request() {
        let throttle = Arc::new(throttle(Concurrency::Fixed(4), None));
        throttle.pause(Duration::from_secs(4), "", "").unwrap();
        let started = Instant::now();
        let waiting = {
            let throttle = throttle.clone();
            tokio::spawn(async move {
                drop(throttle.slot().await.unwrap());
                Instant::now()
            })
        };
        let canary = throttle.slot().await.unwrap();
        tokio::time::advance(Duration::from_millis(20)).await;
        canary.finish(Signal::Answered(Duration::from_millis(20)));
        let resumed = waiting.await.unwrap();
        assert_eq!(
            resumed - started,
            Duration::from_millis(1020),
            "woken at once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_past_the_longest_wait_stops_requests_at_once() {
        let throttle = Throttle::new(Concurrency::Fixed(4), None, Duration::from_secs(60));
        let held = throttle.pause(Duration::from_secs(3600), "spent", "the quota is spent");
        assert!(matches!(held, Err(ApiError::WaitTooLong { .. })));
        let started = Instant::now();
        let refused = throttle.slot().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::ZERO, "not waited out");
        let said = refused.to_string();
        assert!(said.contains("the quota is spent"), "{said}");
        assert!(said.contains("more than --max-wait (60 s)"), "{said}");
    }

    /// A spent allowance (`RateLimit-Remaining: 0`) holds every request until its reset, with
    /// no canary: the server said it.
    #[tokio::test(start_paused = true)]
    async fn a_spent_allowance_holds_every_request_until_its_reset() {
        let throttle = throttle(Concurrency::Fixed(4), None);
        throttle.told(&Allowance {
            limit: Some(1000),
            window: Some(Duration::from_secs(86_400)),
            remaining: Some(0),
            reset: Some(Duration::from_secs(5)),
            source: crate::api::allowance::Source::Draft,
        });
        assert_eq!(
            throttle.waits.status().as_deref(),
            Some("waiting 5 s: the server's allowance is spent")
        );
        let started = Instant::now();
        drop(throttle.slot().await.unwrap());
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(
            throttle.pace_report().per_sec,
            None,
            "a quota paces nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_spaces_request_starts() {
        let throttle = throttle(Concurrency::Fixed(8), Some(10.0));
        let started = Instant::now();
        for _ in 0..5 {
            throttle.slot().await.unwrap().finish(Signal::Silent);
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(500),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_bounds_slots_in_flight() {
        let throttle = throttle(Concurrency::Fixed(1), None);
        let first = throttle.slot().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(1), throttle.slot()).await;
        assert!(second.is_err(), "only one request may be in flight");
        drop(first);
        drop(throttle.slot().await);
    }
}
