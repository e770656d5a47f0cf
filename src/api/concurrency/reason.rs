//! Why the limit moved, said as the end of a `-v` sentence
//! (`Concurrency 12 → 13: round trips steady at 41 ms.`).

use std::fmt;

use super::Pushback;

/// Why the limit moved, as the end of a sentence.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reason {
    Steady {
        rtt: f64,
    },
    Queueing {
        rtt: f64,
        baseline: f64,
    },
    /// The first queue, in slow start: the server's places, by Little's law.
    Drained {
        rtt: f64,
        pace: f64,
        places: usize,
    },
    Pushback(Pushback),
    /// A walk through a list opens wide ([`super::Controller::open_at`]).
    Reads,
    /// A pace governs: this limit leaves it room.
    Paced {
        per_sec: f64,
        rtt: f64,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Steady { rtt } => write!(f, "round trips steady at {}", Ms(rtt)),
            Reason::Queueing { rtt, baseline } => write!(
                f,
                "round trip {} against a baseline of {}",
                Ms(rtt),
                Ms(baseline)
            ),
            Reason::Drained { rtt, pace, places } => write!(
                f,
                "round trip {} against the fastest {}: the server serves about {places} at \
                 once",
                Ms(rtt),
                Ms(pace)
            ),
            Reason::Pushback(Pushback::Throttled(429)) => {
                f.write_str("the server answered 429 (too many requests)")
            }
            Reason::Pushback(Pushback::Throttled(status)) => {
                write!(f, "the server answered {status} (unavailable)")
            }
            Reason::Reads => f.write_str(
                "a walk through the list opens wide (its pages are reads, cheap to queue or refuse)",
            ),
            Reason::Pushback(Pushback::Timeout) => f.write_str("a request timed out"),
            Reason::Pushback(Pushback::Connection) => f.write_str("a connection failed"),
            Reason::Paced { per_sec, rtt } => write!(
                f,
                "paced at {per_sec:.0} requests a second, which at {} each need {:.1} in flight \
                 (room left for twice that)",
                Ms(rtt),
                per_sec * rtt
            ),
        }
    }
}

/// Seconds shown as milliseconds: `41 ms`, `2.5 ms`.
pub(super) struct Ms(pub f64);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 * 1000.0;
        if ms < 10.0 {
            write!(f, "{ms:.1} ms")
        } else {
            write!(f, "{ms:.0} ms")
        }
    }
}
