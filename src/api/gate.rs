//! The one gate every request passes before it leaves, and the stops that close it.
//!
//! A run of changes must stop at once when it cannot go on safely: Ctrl-C, a journal that
//! cannot be written, the breaker, a refused key, a server that cannot be reached, a wait past
//! `--max-wait` the server asks for. Deciding it
//! is not enough: requests already queued for a place under the throttle would still leave.
//! So every request takes its place through [`Gate::admit`], and the first stop closes the
//! gate before anything else happens: requests waiting for a place are woken and refused
//! ([`super::ApiError::Stopped`]), none starts afterwards, and only those already on the wire
//! finish. A closed gate stays closed, with the first reason given.
//!
//! The client closes it itself when the server refuses the key (401, 403), when a request
//! cannot connect even after its retries, and when [`UNREACHABLE_AFTER`] attempts in a row
//! met a refused or broken connection and no request sent since the first of them was answered
//! (a server that died: late answers to requests sent before do not count), so a dead server
//! costs a few attempts, not a retry of every row read ahead. The throttle closes it when the
//! server asks for a wait past `--max-wait` ([`super::throttle`]).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use tokio::time::Instant;

use super::ApiError;

/// Attempts in a row that found no server (refused or reset), with no answer between, after
/// which the server counts as unreachable.
pub const UNREACHABLE_AFTER: u32 = 20;

/// See the module doc. Shared by every clone of a client, and by the run that stops it.
#[derive(Debug)]
pub struct Gate {
    /// Why it closed; `None` while open.
    closed: watch::Sender<Option<Arc<str>>>,
    /// Since when attempts find no server, and how many in a row have.
    unanswered: Mutex<Option<(Instant, u32)>>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            closed: watch::Sender::new(None),
            unanswered: Mutex::new(None),
        }
    }
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Closes the gate for `why`; true when this call closed it (the first stop's reason is
    /// the one kept).
    pub fn close(&self, why: impl Into<String>) -> bool {
        let why = why.into();
        let closed = self.closed.send_if_modified(|closed| match closed {
            Some(_) => false,
            None => {
                *closed = Some(why.as_str().into());
                true
            }
        });
        if closed {
            crate::warn!("Stopping: {why}. No request starts now; those in flight finish.");
        }
        closed
    }

    /// Why the gate closed, once it has.
    pub fn reason(&self) -> Option<String> {
        self.closed.borrow().as_deref().map(str::to_string)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.borrow().is_some()
    }

    /// Waits for `place` (a place under the throttle) unless the gate closes first, and
    /// refuses it if the gate closed meanwhile: a request that was waiting is never sent late.
    pub async fn admit<T>(&self, place: impl Future<Output = T>) -> Result<T, ApiError> {
        let mut closed = self.closed.subscribe();
        let taken = tokio::select! {
            biased;
            _ = closed.wait_for(Option::is_some) => None,
            taken = place => Some(taken),
        };
        match (taken, self.reason()) {
            (Some(taken), None) => Ok(taken),
            (_, why) => Err(ApiError::Stopped(why.unwrap_or_default())),
        }
    }

    /// Counts the result of an attempt that left at `started` toward [`UNREACHABLE_AFTER`],
    /// and closes the gate when that many in a row found no server. An answer ends the count
    /// only if its request left after the count began.
    pub(super) fn count(&self, started: Instant, result: &Result<super::Response, ApiError>) {
        let mut unanswered = self
            .unanswered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let err = match result {
            Err(err @ (ApiError::Connect { .. } | ApiError::Transport(_))) => err,
            _ => {
                if unanswered.is_some_and(|(since, _)| started >= since) {
                    *unanswered = None;
                }
                return;
            }
        };
        let (since, streak) = unanswered.unwrap_or((Instant::now(), 0));
        *unanswered = Some((since, streak + 1));
        drop(unanswered);
        if streak + 1 >= UNREACHABLE_AFTER {
            self.close(format!(
                "the API cannot be reached: {} requests in a row found no server \
                 (connection refused or reset); the last: {err}",
                streak + 1
            ));
        }
    }

    /// Closes the gate after a call's final error when that error dooms every other request:
    /// the key refused, or no connection even after the retries.
    pub(super) fn judge(&self, err: &ApiError) {
        if err.is_auth() {
            self.close(format!("the API refused the key: {err}"));
        } else if matches!(err, ApiError::Connect { .. }) {
            self.close(format!("the API cannot be reached: {err}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_waiting_for_a_place_is_refused_when_the_gate_closes() {
        let gate = Arc::new(Gate::new());
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit(std::future::pending::<()>()).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(gate.close("interrupted"));
        assert!(!gate.close("something later"), "the first reason stays");
        let refused = waiting.await.unwrap().unwrap_err();
        assert!(matches!(&refused, ApiError::Stopped(why) if why == "interrupted"));
        assert!(gate.admit(async {}).await.is_err(), "and none after");
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_answers_nothing_twenty_times_in_a_row_closes_it() {
        let gate = Gate::new();
        let refused = || {
            Err(ApiError::Connect {
                url: "http://127.0.0.1:9/api/v2/customers".into(),
                reason: "connection refused".into(),
            })
        };
        let answered = || {
            Ok(super::super::Response {
                status: 201,
                body: Vec::new(),
                header_total: None,
            })
        };
        let sent_before = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        for _ in 1..UNREACHABLE_AFTER {
            gate.count(Instant::now(), &refused());
        }
        gate.count(Instant::now(), &answered());
        for _ in 1..UNREACHABLE_AFTER {
            let reset = Err(ApiError::Transport("connection reset".into()));
            gate.count(Instant::now(), &reset);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            !gate.is_closed(),
            "an answer between starts the count again"
        );
        gate.count(sent_before, &answered());
        assert!(!gate.is_closed());
        gate.count(Instant::now(), &refused());
        let why = gate.reason().unwrap();
        assert!(
            why.contains("20 requests in a row found no server"),
            "a late answer to an older request does not start it again: {why}"
        );
    }
}
