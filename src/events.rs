//! What a long piece of work reports as it goes, for whoever shows it: the terminal's bar
//! ([`crate::progress::Progress`], which forwards every call here) and the page (`ui`), which
//! streams a [`Tally`] of them to the browser. The engines report once, through the progress
//! they are given; no engine knows who listens.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::api::Client;
use crate::read::Extent;

/// One thing the work reports.
#[derive(Debug)]
pub enum Event<'a> {
    /// Counting `unit`s from 0: against `total` when known, else against what the reader can
    /// tell so far (`estimate`), else with no end.
    Start {
        unit: &'a str,
        total: Option<u64>,
        estimate: Option<&'a Extent>,
    },
    /// The input has been read to its end: `total` in all.
    Total(u64),
    /// `n` more done.
    Done(u64),
    /// One row ended so (a run of changes): the outcome's name, as the results file says it.
    Outcome(&'static str),
    /// Something the person should know, in the engine's words (printed as a warning).
    Warning(&'a str),
    /// The requests go through `client`: its concurrency and long waits can be asked.
    Follow(&'a Client),
    /// The work is over.
    Finish,
}

/// Who listens to the events. Called on the work's own tasks, once per row at most: keep it
/// cheap.
pub trait Sink: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// How far back the rate looks, as the terminal's bar does.
const WINDOW: Duration = Duration::from_secs(10);

/// The events of one piece of work added up, to be read at any moment ([`Tally::reading`]).
#[derive(Default)]
pub struct Tally(Mutex<Counted>);

#[derive(Default)]
struct Counted {
    unit: String,
    done: u64,
    total: Option<u64>,
    estimate: Option<Extent>,
    counts: BTreeMap<&'static str, u64>,
    warnings: Vec<String>,
    client: Option<Client>,
    finished: bool,
    /// (when, done) at each reading, for the rate.
    samples: VecDeque<(Instant, u64)>,
}

/// The work as it stands.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reading {
    pub unit: String,
    pub done: u64,
    /// The total, when known or estimated (`estimated`).
    pub total: Option<u64>,
    pub estimated: bool,
    /// Units per second over the last seconds; `None` before a second has passed.
    pub rate: Option<f64>,
    /// Seconds left at that rate.
    pub eta_secs: Option<u64>,
    /// Requests the client allows in flight now.
    pub concurrency: Option<usize>,
    /// A long wait for the server, in words, while it lasts.
    pub waiting: Option<String>,
    /// Rows by outcome (a run of changes).
    pub outcomes: BTreeMap<&'static str, u64>,
    pub warnings: Vec<String>,
    pub finished: bool,
}

impl Sink for Tally {
    fn event(&self, event: Event<'_>) {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Start {
                unit,
                total,
                estimate,
            } => {
                c.unit = unit.to_string();
                c.done = 0;
                c.total = total;
                c.estimate = estimate.cloned();
                c.samples.clear();
            }
            Event::Total(total) => c.total = Some(total),
            Event::Done(n) => c.done += n,
            Event::Outcome(outcome) => *c.counts.entry(outcome).or_default() += 1,
            Event::Warning(text) => c.warnings.push(text.to_string()),
            Event::Follow(client) => {
                c.client.get_or_insert_with(|| client.clone());
            }
            Event::Finish => c.finished = true,
        }
    }
}

impl Tally {
    /// The work as it stands now.
    pub fn reading(&self) -> Reading {
        self.reading_at(Instant::now())
    }

    fn reading_at(&self, now: Instant) -> Reading {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let done = c.done;
        if c.samples.back().is_some_and(|&(_, d)| d > done) {
            c.samples.clear();
        }
        c.samples.push_back((now, done));
        while c.samples.len() > 2 && now.duration_since(c.samples[1].0) >= WINDOW {
            c.samples.pop_front();
        }
        let rate = match (c.samples.front(), c.samples.back()) {
            (Some(&(t0, d0)), Some(&(t1, d1)))
                if t1.duration_since(t0) >= Duration::from_secs(1) =>
            {
                Some((d1 - d0) as f64 / t1.duration_since(t0).as_secs_f64())
            }
            _ => None,
        };
        let (total, estimated) = match (c.total, &c.estimate) {
            (Some(total), _) => (Some(total.max(done)), false),
            (None, Some(extent)) => (extent.data_rows().map(|t| t.max(done)), true),
            (None, None) => (None, false),
        };
        let eta_secs = match (total, rate) {
            (Some(total), Some(rate)) if rate > 0.0 => {
                Some((total.saturating_sub(done) as f64 / rate).ceil() as u64)
            }
            (Some(total), _) if total == done => Some(0),
            _ => None,
        };
        let live = c.client.as_ref().filter(|_| !c.finished);
        Reading {
            unit: c.unit.clone(),
            done,
            total,
            estimated,
            rate,
            eta_secs,
            concurrency: live.map(|client| client.throttle.limit()),
            waiting: live.and_then(|client| client.throttle.waits.status()),
            outcomes: c.counts.clone(),
            warnings: c.warnings.clone(),
            finished: c.finished,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_rows_and_outcomes_and_says_the_rate_over_the_last_seconds() {
        let tally = Tally::default();
        tally.event(Event::Start {
            unit: "rows",
            total: Some(100),
            estimate: None,
        });
        let t = Instant::now();
        assert_eq!(tally.reading_at(t).rate, None);
        tally.event(Event::Done(40));
        for _ in 0..40 {
            tally.event(Event::Outcome("created"));
        }
        tally.event(Event::Outcome("failed"));
        let r = tally.reading_at(t + Duration::from_secs(2));
        assert_eq!((r.done, r.total, r.rate), (40, Some(100), Some(20.0)));
        assert_eq!(r.eta_secs, Some(3));
        assert_eq!(r.outcomes["created"], 40);
        assert_eq!(r.outcomes["failed"], 1);
        assert!(!r.finished);
        tally.event(Event::Finish);
        assert!(tally.reading().finished);
    }
}
