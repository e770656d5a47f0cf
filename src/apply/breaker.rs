//! The circuit breaker: a run whose rows keep failing the same way stops early, so a wrong
//! guess about the API (a required field nobody documented, a type it wants otherwise) costs a
//! few requests, not the whole file. The rows not attempted are `skipped`, the journal stays
//! resumable, and `--resume` finishes the run once the cause is fixed.
//!
//! Three rules, as pgloader's and dsbulk's error limits have them: the same failure (same
//! status, same message) on `repeat` rows in a row; more than half of the first 100 rows
//! attempted; `--max-errors N` failed rows in all. `--max-errors 0` turns them all off.
//! While a streak of identical failures is under way, the run sends one row at a time, and
//! until a first row has succeeded it keeps at most [`FIRST_ROWS`] in flight (see
//! [`Breaker::holds`]), so a server that refuses everything is asked about `repeat` rows, not
//! `repeat` plus the window of rows taken before the first answer came back.

use super::{Done, Outcome};

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows failing the same way in a row.
    pub repeat: u32,
    /// Failed rows in all; `Some(0)` never stops for failures.
    pub max_errors: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            repeat: 20,
            max_errors: None,
        }
    }
}

/// Rows attempted and failed so far, and the current streak of one failure.
#[derive(Debug, Default)]
pub struct Breaker {
    limits: Limits,
    attempted: u64,
    failed: u64,
    /// Rows attempted that did not fail.
    succeeded: u64,
    /// Failures among the first [`SAMPLE`] rows attempted.
    early_failures: u64,
    /// The failure repeating now, and how many rows in a row it has failed.
    streak: Option<(Option<u16>, String)>,
    streak_len: u32,
}

/// The first rows of a run, where more than half failing means a wrong assumption.
const SAMPLE: u64 = 100;
/// Identical failures in a row after which rows go out one at a time.
const CAUTIOUS_AFTER: u32 = 3;
/// Rows in flight at most until one has succeeded: the run's first answers tell whether the
/// API takes what is sent, so only this many are asked before they come back.
pub const FIRST_ROWS: u64 = 8;

impl Breaker {
    pub fn new(limits: Limits) -> Breaker {
        Breaker {
            limits,
            ..Breaker::default()
        }
    }

    /// Counts a row that was attempted (sent, or looked up); returns why the run must stop,
    /// when it must.
    pub fn record(&mut self, done: &Done) -> Option<String> {
        self.attempted += 1;
        if done.outcome != Outcome::Failed {
            self.succeeded += 1;
            self.streak = None;
            self.streak_len = 0;
            return None;
        }
        self.failed += 1;
        if self.attempted <= SAMPLE {
            self.early_failures += 1;
        }
        let failure = (done.status, done.error.clone().unwrap_or_default());
        if self.streak.as_ref() == Some(&failure) {
            self.streak_len += 1;
        } else {
            self.streak = Some(failure);
            self.streak_len = 1;
        }
        self.verdict()
    }

    fn verdict(&self) -> Option<String> {
        let error = self
            .streak
            .as_ref()
            .map(|(_, message)| message.as_str())
            .unwrap_or_default();
        match self.limits.max_errors {
            Some(0) => None,
            Some(max) if self.failed >= max => Some(format!(
                "{} rows failed (--max-errors {max}); the last: {error}",
                self.failed
            )),
            _ if self.streak_len >= self.limits.repeat => Some(format!(
                "the same failure repeated on {} rows in a row: {error}",
                self.streak_len
            )),
            _ if self.early_failures > SAMPLE / 2 => Some(format!(
                "more than half of the first {SAMPLE} rows failed ({} of {}); the last: {error}",
                self.early_failures,
                self.attempted.min(SAMPLE)
            )),
            _ => None,
        }
    }

    /// A streak of identical failures is under way: send one row at a time until one succeeds.
    pub fn cautious(&self) -> bool {
        self.limits.max_errors != Some(0) && self.streak_len >= CAUTIOUS_AFTER
    }

    /// Whether to hold the next row back while `outstanding` rows are in flight: one at a time
    /// during a streak of identical failures, [`FIRST_ROWS`] at a time until a row succeeds.
    pub fn holds(&self, outstanding: u64) -> bool {
        let starting = self.succeeded == 0 && self.limits.max_errors != Some(0);
        (self.cautious() && outstanding > 0) || (starting && outstanding >= FIRST_ROWS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16, message: &str) -> Done {
        Done {
            status: Some(status),
            ..Done::because(Outcome::Failed, message)
        }
    }

    #[test]
    fn the_same_failure_in_a_row_trips_it_and_a_success_resets_it() {
        let mut breaker = Breaker::new(Limits::default());
        for _ in 0..19 {
            assert_eq!(breaker.record(&failed(422, "name: required")), None);
            assert!(breaker.record(&Done::new(Outcome::Created)).is_none());
        }
        assert!(!breaker.cautious());
        for n in 1..20 {
            assert_eq!(breaker.record(&failed(422, "name: required")), None, "{n}");
        }
        assert!(breaker.cautious());
        let why = breaker.record(&failed(422, "name: required")).unwrap();
        assert!(why.contains("20 rows in a row: name: required"), "{why}");
    }

    #[test]
    fn different_failures_do_not_make_a_streak_but_half_of_the_first_hundred_do() {
        let mut breaker = Breaker::new(Limits::default());
        for n in 0..50 {
            assert_eq!(
                breaker.record(&failed(404, &format!("no customer {n}"))),
                None
            );
            assert_eq!(breaker.record(&Done::new(Outcome::Created)), None);
        }
        // 50 of the first 100 failed: not more than half.
        let mut breaker = Breaker::new(Limits::default());
        for n in 0..50 {
            breaker.record(&Done::new(Outcome::Created));
            assert_eq!(
                breaker.record(&failed(404, &format!("no customer {n}"))),
                None
            );
        }
        let mut breaker = Breaker::new(Limits::default());
        for n in 0..50 {
            assert_eq!(
                breaker.record(&failed(404, &format!("no customer {n}"))),
                None
            );
        }
        let why = breaker.record(&failed(404, "no customer x")).unwrap();
        assert!(
            why.contains("more than half of the first 100 rows"),
            "{why}"
        );
    }

    #[test]
    fn max_errors_counts_all_failures_and_zero_never_stops() {
        let limits = Limits {
            max_errors: Some(3),
            ..Limits::default()
        };
        let mut breaker = Breaker::new(limits);
        breaker.record(&failed(500, "a"));
        breaker.record(&Done::new(Outcome::Updated));
        assert_eq!(breaker.record(&failed(500, "b")), None);
        assert!(breaker
            .record(&failed(500, "c"))
            .unwrap()
            .contains("--max-errors 3"));

        let mut never = Breaker::new(Limits {
            max_errors: Some(0),
            ..Limits::default()
        });
        for _ in 0..200 {
            assert_eq!(never.record(&failed(422, "same")), None);
        }
        assert!(!never.cautious());
    }

    #[test]
    fn it_holds_rows_back_until_one_succeeds_and_during_a_streak() {
        let mut breaker = Breaker::new(Limits::default());
        assert!(!breaker.holds(FIRST_ROWS - 1));
        assert!(breaker.holds(FIRST_ROWS), "none has succeeded yet");
        breaker.record(&Done::new(Outcome::Created));
        assert!(!breaker.holds(100));
        for _ in 0..CAUTIOUS_AFTER {
            breaker.record(&failed(422, "siret: is required"));
        }
        assert!(breaker.holds(1) && !breaker.holds(0));
        let never = Breaker::new(Limits {
            max_errors: Some(0),
            ..Limits::default()
        });
        assert!(!never.holds(1000));
    }
}
