//! When a run stops before its end, and what becomes of its rows: decided here, once.
//!
//! Every stop closes the client's [`Gate`] before anything else happens, whoever finds it:
//! Ctrl-C ([`Stop::interrupt`], from the command), the breaker and an unreadable input (the run
//! loop, [`Stop::halt`]), the first journal line that cannot be written (the applier), a
//! refused key, a server that cannot be reached, or a wait past `--max-wait` the server asks
//! for (the client and its throttle). From then on no request starts; those on the wire
//! finish. Each row then ends as [`ending`] and [`after_sent`] say:
//!
//! - a row none of whose writes left (refused at the gate, or never begun) is `skipped`, with
//!   no journal line, so `--resume` takes it up as new; never in the failed file;
//! - a row whose write left ends with its outcome if its `done` line can be journaled, else
//!   `unknown` (nothing on disk says what it did: `--resume` looks it up before sending);
//! - a write that left, whose answer or look-up the stop cut off, is `unknown` too;
//! - a write the server refused asking for a wait past `--max-wait` (a 429 or 503: it did
//!   nothing) is `skipped` like one that never left; `--resume` finds its `send` line and looks
//!   before it sends again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Done, Outcome};
use crate::api::{ApiError, Gate};

/// A run's stop: the gate its requests pass, and whether Ctrl-C closed it.
#[derive(Debug)]
pub struct Stop {
    gate: Arc<Gate>,
    interrupted: AtomicBool,
}

impl Stop {
    /// The stop of a run whose requests pass `gate` (the client's: `client.throttle.gate`).
    pub fn new(gate: Arc<Gate>) -> Stop {
        Stop {
            gate,
            interrupted: AtomicBool::new(false),
        }
    }

    /// The user asked to stop (Ctrl-C): the gate closes, what is in flight finishes.
    pub fn interrupt(&self) {
        if self.gate.close("interrupted (Ctrl-C)") {
            self.interrupted.store(true, Ordering::SeqCst);
        }
    }

    /// A failure dooms the rest of the run.
    pub fn halt(&self, why: impl Into<String>) {
        self.gate.close(why);
    }

    pub fn halted(&self) -> bool {
        self.gate.is_closed()
    }

    /// Whether Ctrl-C was the stop (the first one: a later Ctrl-C changes nothing).
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Why the run stopped, when it did.
    pub fn reason(&self) -> Option<String> {
        self.gate.reason()
    }
}

/// How a row ends, and whether its `done` line is journaled.
pub(super) enum Ending {
    /// Journal it (and if that fails, see [`unjournaled`]).
    Journal(Done),
    /// Not attempted: no line, so `--resume` does it.
    Skipped(Done),
}

/// How a row ends from what its producer returned: a row whose writes never left and that
/// the stop refused is `skipped`; any other error before a write left is `failed`.
pub(super) fn ending(result: Result<Done, ApiError>) -> Ending {
    match result {
        Ok(done) => Ending::Journal(done),
        Err(err) if err.is_stop() => Ending::Skipped(not_attempted()),
        Err(err) => Ending::Journal(Done::failed(&err)),
    }
}

/// How a row whose write left ends on `err`: cut off by the stop, `unknown`; refused for a wait
/// past `--max-wait`, back to [`ending`] as not attempted; any other error, `failed`.
pub(super) fn after_sent(err: ApiError) -> Result<Done, ApiError> {
    match err {
        ApiError::Stopped(why) => Ok(cut_off(&why)),
        err @ ApiError::WaitTooLong { .. } => Err(err),
        err => Ok(Done {
            sent: true,
            ..Done::failed(&err)
        }),
    }
}

/// A row the run did not get to (why it stopped is said once, in the summary).
pub(super) fn not_attempted() -> Done {
    Done::because(
        Outcome::Skipped,
        "not attempted: the run stopped; run again with --resume",
    )
}

/// What a row ends as when its `done` line could not be written (`why`): a row whose write
/// left is `unknown`, since nothing on disk says what it did; one that sent nothing keeps its
/// outcome (`--resume` decides it afresh).
pub(super) fn unjournaled(done: Done, why: &str) -> Done {
    if !done.sent {
        return done;
    }
    Done {
        id: done.id,
        status: done.status,
        sent: true,
        ..Done::because(
            Outcome::Unknown,
            format!("{why}; run again with --resume to find out"),
        )
    }
}

/// A write that left but whose answer the stop cut off (a retry or a look-up refused at the
/// gate): it may have taken effect.
pub(super) fn cut_off(why: &str) -> Done {
    Done {
        sent: true,
        ..Done::because(
            Outcome::Unknown,
            format!(
                "the request left, but the run stopped ({why}) before its outcome was known; \
                 run again with --resume to look it up"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_refused_at_the_gate_is_skipped_and_one_that_sent_is_unknown_unjournaled() {
        let Ending::Skipped(done) = ending(Err(ApiError::Stopped("interrupted".into()))) else {
            panic!("a refused row is skipped, with no journal line");
        };
        assert_eq!(done.outcome, Outcome::Skipped);
        assert!(!done.outcome.to_fix());

        let created = Done {
            id: Some("c1".into()),
            sent: true,
            ..Done::new(Outcome::Created)
        };
        let lost = unjournaled(created, "cannot write the journal");
        assert_eq!(
            (lost.outcome, lost.id.as_deref()),
            (Outcome::Unknown, Some("c1"))
        );
        let unchanged = unjournaled(Done::new(Outcome::Unchanged), "no space");
        assert_eq!(unchanged.outcome, Outcome::Unchanged, "nothing was sent");
    }

    #[test]
    fn the_first_stop_is_the_reason_and_ctrl_c_after_it_is_not_an_interrupt() {
        let stop = Stop::new(Arc::new(Gate::new()));
        stop.halt("the journal could not be written");
        stop.interrupt();
        assert!(stop.halted() && !stop.interrupted());
        assert_eq!(
            stop.reason().as_deref(),
            Some("the journal could not be written")
        );
    }
}
