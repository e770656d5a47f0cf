//! Long waits, said: a run that waits more than [`LONG`] for the server (a `Retry-After`, a
//! backoff, a spent quota, an answer that drips in slowly) prints a line saying why and for
//! how long, and the progress bar shows it (`waiting 5 s: the server asked (429)`) until it
//! ends. A wait shared by every request (a pause) is said once, not once a request; a longer
//! one that replaces it is said again.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Waits longer than this are said.
pub const LONG: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Waits {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The wait ahead that was said last: when it ends, and why, in the bar's words.
    ahead: Option<(Instant, String)>,
    /// Answers slower than [`LONG`] now: how many, since when the oldest began, and what.
    slow: usize,
    slow_since: Option<(Instant, String)>,
}

impl Waits {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A wait until `until`: said when longer than [`LONG`] and not already said (a shorter or
    /// equal wait being said now covers it). `short` is the bar's reason ("the server asked
    /// (429)"); `detail` completes the log line.
    pub fn ahead(&self, until: Instant, short: &str, detail: &str) {
        let now = Instant::now();
        let wait = until.saturating_duration_since(now);
        if wait <= LONG {
            return;
        }
        {
            let mut state = self.lock();
            let covered = state
                .ahead
                .as_ref()
                .is_some_and(|(end, _)| *end > now && until <= *end + Duration::from_secs(1));
            if covered {
                return;
            }
            state.ahead = Some((until, short.to_owned()));
        }
        crate::info!("Waiting {} ({}): {detail}.", seconds(wait), clock(wait));
    }

    /// An answer is taking long: said once for all the answers slow at the same time.
    pub fn slow_began(&self, began: Instant, what: &str) {
        let first = {
            let mut state = self.lock();
            state.slow += 1;
            let first = state.slow_since.is_none();
            if first {
                state.slow_since = Some((began, what.to_owned()));
            }
            first
        };
        if first {
            crate::info!(
                "The server has not finished answering {what} after {} s; waiting for it.",
                began.elapsed().as_secs()
            );
        }
    }

    /// A slow answer came (or failed).
    pub fn slow_ended(&self) {
        let mut state = self.lock();
        state.slow = state.slow.saturating_sub(1);
        if state.slow == 0 {
            state.slow_since = None;
        }
    }

    /// What the progress bar says while a long wait lasts: `waiting 5 s: the server asked
    /// (429)`, or `waiting 12 s for the server's answer (GET /customers)`.
    pub fn status(&self) -> Option<String> {
        let now = Instant::now();
        let state = self.lock();
        if let Some((until, why)) = state.ahead.as_ref().filter(|(u, _)| *u > now) {
            return Some(format!("waiting {}: {why}", seconds(*until - now)));
        }
        let (since, what) = state.slow_since.as_ref()?;
        Some(format!(
            "waiting {} for the server's answer ({what})",
            seconds(now - *since)
        ))
    }
}

/// `5 s`, `3 min 20 s`, `2 h 05 min`: whole seconds, rounded up.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// When a wait of `d` from now ends, on the local clock: `until 14:03:12`, with the date when
/// it is not today.
pub fn clock(d: Duration) -> String {
    let now = chrono::Local::now();
    let end = now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    if end.date_naive() == now.date_naive() {
        format!("until {}", end.format("%H:%M:%S"))
    } else {
        format!("until {}", end.format("%Y-%m-%d %H:%M:%S"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_is_said_once_and_shown_until_it_ends() {
        let waits = Waits::default();
        waits.ahead(Instant::now() + Duration::from_secs(1), "short", "short");
        assert_eq!(waits.status(), None, "short waits are not said");
        let until = Instant::now() + Duration::from_secs(5);
        waits.ahead(until, "the server asked (429)", "the server asked");
        assert_eq!(
            waits.status().as_deref(),
            Some("waiting 5 s: the server asked (429)")
        );
        tokio::time::advance(Duration::from_millis(2500)).await;
        assert_eq!(
            waits.status().as_deref(),
            Some("waiting 3 s: the server asked (429)")
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(waits.status(), None);
        let began = Instant::now();
        tokio::time::advance(Duration::from_secs(3)).await;
        waits.slow_began(began, "GET /customers");
        waits.slow_began(began, "GET /customers");
        tokio::time::advance(Duration::from_secs(9)).await;
        waits.slow_ended();
        assert_eq!(
            waits.status().as_deref(),
            Some("waiting 12 s for the server's answer (GET /customers)")
        );
        waits.slow_ended();
        assert_eq!(waits.status(), None);
    }

    #[test]
    fn durations_are_said_in_words() {
        assert_eq!(seconds(Duration::from_millis(4200)), "5 s");
        assert_eq!(seconds(Duration::from_secs(200)), "3 min 20 s");
        assert_eq!(seconds(Duration::from_secs(86_100)), "23 h 55 min");
        assert!(clock(Duration::from_secs(3 * 86_400)).len() > "until 00:00:00".len());
    }
}
