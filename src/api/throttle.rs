//! What a request waits for before it leaves: a place under the concurrency limit
//! ([`Controller`]), the end of a pause the server asked for, and its turn under `--rate`; and
//! the [`Gate`] it takes that place through, closed when the run stops.
//!
//! The pause: when the server throttles one request (429 or 503), every request waits as that
//! one does (its `Retry-After`, or its backoff), not only the one refused. Otherwise the other
//! requests, answered 429 in a millisecond each, would flood a rate-limited server with
//! hundreds of refusals a second until its window turns.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::concurrency::{Concurrency, Controller, LoadReport, Slot};
use super::gate::Gate;
use super::ApiError;

/// Bounds, pauses and paces requests. Shared by every clone of a client.
#[derive(Debug)]
pub struct Throttle {
    controller: Controller,
    /// Minimum gap between request starts, from `--rate`.
    interval: Option<Duration>,
    next_start: Mutex<Instant>,
    /// No request starts before this, after the server throttled.
    paused_until: Mutex<Option<Instant>>,
    /// Every request of the client takes its place through it ([`Throttle::admit`]).
    pub gate: Arc<Gate>,
}

impl Throttle {
    /// `rate`: requests per second at most.
    pub fn new(concurrency: Concurrency, rate: Option<f64>) -> Throttle {
        Throttle {
            controller: Controller::new(concurrency),
            interval: rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next_start: Mutex::new(Instant::now()),
            paused_until: Mutex::new(None),
            gate: Arc::new(Gate::new()),
        }
    }

    /// A place for one request ([`Throttle::slot`]) through the gate: refused, at once or
    /// while it waits, once the run has stopped.
    pub async fn admit(&self) -> Result<Slot<'_>, ApiError> {
        self.gate.admit(self.slot()).await
    }

    /// Waits for a place under the limit, the end of any pause, and the rate's next start.
    pub async fn slot(&self) -> Slot<'_> {
        let mut slot = self.controller.acquire().await;
        loop {
            let until = *self
                .paused_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        if let Some(interval) = self.interval {
            let start = {
                let mut next = self
                    .next_start
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let start = (*next).max(Instant::now());
                *next = start + interval;
                start
            };
            tokio::time::sleep_until(start).await;
        }
        slot.begin();
        slot
    }

    /// Holds every request that has not started yet for `wait` (the server throttled).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
        self.controller.paused(until);
    }

    /// Opens a run of reads at `n` in flight ([`Controller::open_at`]).
    pub fn open_at(&self, n: usize) {
        self.controller.open_at(n);
    }

    /// The concurrency limit now, for a progress bar.
    pub fn limit(&self) -> usize {
        self.controller.limit()
    }

    /// The limit settled at, its range, and the round trips seen, for a summary.
    pub fn report(&self) -> LoadReport {
        self.controller.report()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::concurrency::Signal;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_requests_that_have_not_started() {
        let throttle = Throttle::new(Concurrency::Fixed(4), None);
        throttle.pause(Duration::from_secs(2));
        let started = Instant::now();
        let slot = throttle.slot().await;
        assert!(started.elapsed() >= Duration::from_secs(2));
        slot.finish(Signal::Silent);
        let again = Instant::now();
        drop(throttle.slot().await);
        assert!(
            again.elapsed() < Duration::from_millis(1),
            "the pause is over"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_spaces_request_starts() {
        let throttle = Throttle::new(Concurrency::Fixed(8), Some(10.0));
        let started = Instant::now();
        for _ in 0..5 {
            throttle.slot().await.finish(Signal::Silent);
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(500),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_bounds_slots_in_flight() {
        let throttle = Throttle::new(Concurrency::Fixed(1), None);
        let first = throttle.slot().await;
        let second = tokio::time::timeout(Duration::from_secs(1), throttle.slot()).await;
        assert!(second.is_err(), "only one request may be in flight");
        drop(first);
        drop(throttle.slot().await);
    }
}
