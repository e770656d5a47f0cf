//! The rule that moves the limit at the end of each window: down on push-back or a queue, up
//! while the round trips stay steady, else held. What each move means is in the header of
//! [`super`]; `docs/concurrency.md` says why each differs from vector.

use tokio::time::Instant;

use super::reason::{Ms, Reason};
use super::{
    Controller, Pushback, State, Window, CEILING_MEMORY, DECREASE, DEVIATION_SCALE, MAX_WIDENING,
    NOISE_FLOOR, PROBE_STEP, QUEUEING, STEADY,
};

impl Controller {
    /// The rule: decrease on push-back or a queue, grow while steady, else hold.
    pub(super) fn judge(
        &self,
        state: &mut State,
        window: &Window,
        now: Instant,
    ) -> Option<(usize, usize, Reason)> {
        if let Some(pushback) = window.pushback {
            return self.pushed_back(state, now, pushback);
        }
        if window.held_back {
            return None;
        }
        let (recent, baseline) = (state.recent?, state.baseline?);
        let noise = (DEVIATION_SCALE * recent.deviation()).min(MAX_WIDENING * baseline);
        let rise = recent.mean - baseline;
        let queueing = rise > (baseline * QUEUEING + noise).max(NOISE_FLOOR);
        if queueing && state.fresh >= state.limit {
            if state.limit == 1 {
                // One request at a time cannot queue behind our own: the server got slower.
                crate::debug!(
                    "One request at a time takes {} now, against {} earlier: that is the \
                     server's own pace, taken as the new baseline.",
                    Ms(recent.mean),
                    Ms(baseline)
                );
                state.baseline = Some(recent.mean);
                return None;
            }
            if state.slow_start {
                if let Some(change) = self.drain(state, now, window) {
                    return Some(change);
                }
            }
            let reason = Reason::Queueing {
                rtt: recent.mean,
                baseline,
            };
            return self.decrease(state, now, reason);
        }
        let steady = rise <= (baseline * STEADY).max(NOISE_FLOOR / 2.0);
        let judged = state.fresh >= state.limit;
        if steady && window.reached && judged && state.limit < self.max && may_grow(state, now) {
            // Slow start: double until the first sign of a queue or push-back, then one step.
            let target = if state.slow_start {
                state.limit * 2
            } else {
                state.limit + 1
            };
            let reason = Reason::Steady { rtt: recent.mean };
            return self.set(state, now, target.min(self.max), reason);
        }
        None
    }

    /// Push-back: a throttle holds growth (the pace answers it); a timeout or a failed
    /// connection cuts by 10%, and the limit stays at or below the cut for [`CEILING_MEMORY`].
    fn pushed_back(
        &self,
        state: &mut State,
        now: Instant,
        pushback: Pushback,
    ) -> Option<(usize, usize, Reason)> {
        state.slow_start = false;
        if let Pushback::Throttled(_) = pushback {
            return None;
        }
        let change = self.decrease(state, now, Reason::Pushback(pushback));
        state.ceiling = Some((state.limit + 1, now));
        change
    }

    /// The first queue, in slow start: the limit goes where Little's law puts the server's
    /// places (in flight × its pace ÷ the round trip), when that is below the usual cut. The
    /// pace is the fastest round trip so far (TCP Vegas' base RTT), not the baseline, since a
    /// run that opened wide ([`Controller::open_at`]) measured its first window through a
    /// queue. Lowered by that (the fastest is below the mean), the cut leaves no queue; the
    /// baseline is then read afresh, without the answers that waited in the queue the cut
    /// drains, and growth goes on one step a window. From 32 in flight against 4 places, that
    /// is one step instead of twenty.
    fn drain(
        &self,
        state: &mut State,
        now: Instant,
        window: &Window,
    ) -> Option<(usize, usize, Reason)> {
        let (rtt, pace) = (window.mean()?, state.rtts.fastest()?);
        // Never less than the noise floor: for a server whose round trips are a fraction of it,
        // the fastest round trip says nothing of its service time.
        let places = ((state.limit as f64 * pace.max(NOISE_FLOOR) / rtt) as usize).max(1);
        let cut = ((state.limit as f64 * DECREASE) as usize).max(1);
        if places >= cut {
            return None;
        }
        state.slow_start = false;
        state.drained_at = Some(now);
        state.recent = None;
        state.baseline = None;
        let reason = Reason::Drained { rtt, pace, places };
        self.set(state, now, places, reason)
    }

    fn decrease(
        &self,
        state: &mut State,
        now: Instant,
        reason: Reason,
    ) -> Option<(usize, usize, Reason)> {
        state.slow_start = false;
        // Under a pace, never below what it needs (requests a second × round trip).
        let need = match (state.paced, state.recent) {
            (Some(per_sec), Some(recent)) => (per_sec * recent.mean).ceil() as usize,
            _ => 1,
        };
        let target = ((state.limit as f64 * DECREASE) as usize).max(need).max(1);
        if target >= state.limit {
            return None;
        }
        self.set(state, now, target, reason)
    }
}

/// Whether the limit may grow by one now, given the last push-back: freely below the ceiling
/// (a decrease for a queue since then), and to it or above only after [`CEILING_MEMORY`] of
/// calm, one step per [`PROBE_STEP`].
fn may_grow(state: &State, now: Instant) -> bool {
    match state.ceiling {
        None => true,
        Some((ceiling, _)) if state.limit + 1 < ceiling => true,
        Some((_, at)) => {
            now.duration_since(at) >= CEILING_MEMORY
                && now.duration_since(state.grown) >= PROBE_STEP
        }
    }
}
