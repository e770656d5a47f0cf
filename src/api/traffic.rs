//! What a run's requests met, for its summary: retries, throttling, what the server said it
//! allows and the pace kept, and the concurrency the controller settled at. One report for every command that sends many
//! requests, so each summary says it the same way.

use std::fmt;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::pace::PaceReport;
use super::{Client, LoadReport};

/// See the module doc. Flattened into each command's JSON summary.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub retries: u64,
    /// 429 and 503 answers.
    pub throttles: u64,
    pub load: LoadReport,
    pub pace: PaceReport,
}

impl Client {
    /// What this client's requests met so far.
    pub fn traffic(&self) -> Traffic {
        let count = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        Traffic {
            retries: count(&self.retry.retries),
            throttles: count(&self.retry.throttles),
            load: self.load(),
            pace: self.throttle.pace_report(),
        }
    }
}

/// The summary's lines: retries when there were any, what the server allows and the pace kept
/// when either is known, and the concurrency with the round trips once any request was
/// answered.
impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.retries > 0 || self.throttles > 0 {
            writeln!(
                f,
                "  retries {}, throttled {} times",
                self.retries, self.throttles
            )?;
        }
        let pace = &self.pace;
        if let (Some(allows), Some(from)) = (&pace.server_allows, &pace.read_from) {
            write!(f, "  the server allows {allows} (read from {from})")?;
            match pace.per_sec {
                Some(rate) => writeln!(f, "; paced at {rate:.0} a second")?,
                None => writeln!(f)?,
            }
        } else if let Some(rate) = pace.per_sec {
            writeln!(f, "  paced at {rate:.0} requests a second")?;
        }
        let load = &self.load;
        if load.round_trips == 0 {
            return Ok(());
        }
        let how = if load.adaptive { "adaptive" } else { "fixed" };
        write!(
            f,
            "  concurrency settled at {} ({}–{}, {how})",
            load.settled, load.lowest, load.highest
        )?;
        let ms = |v: f64| {
            if v < 10.0 {
                format!("{v:.1} ms")
            } else {
                format!("{v:.0} ms")
            }
        };
        match (load.median_ms, load.baseline_ms) {
            (Some(median), Some(base)) => writeln!(
                f,
                "; round trips: median {}, baseline {}",
                ms(median),
                ms(base)
            ),
            (Some(median), None) => writeln!(f, "; round trips: median {}", ms(median)),
            _ => writeln!(f),
        }
    }
}
