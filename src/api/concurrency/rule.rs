//! The rule that moves the limit at the end of each window: down on push-back or a queue, up
//! while the round trips stay steady, else held. What each move means is in the header of
//! [`super`]; `docs/concurrency.md` says why each differs from vector.

use tokio::time::Instant;

use super::reason::{Ms, Reason};
use super::stats::Ewma;
use super::{
    Controller, Pushback, State, Window, CEILING_MEMORY, DECREASE, DEVIATION_SCALE, MAX_WIDENING,
    PROBE_STEP, QUEUEING, STEADY,
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
        if recent.mean > baseline * (1.0 + QUEUEING) + noise && state.fresh >= state.limit {
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
        let steady = recent.mean <= baseline * (1.0 + STEADY);
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

    /// Push-back: cut by 10%, and stay at or below the cut for [`CEILING_MEMORY`].
    fn pushed_back(
        &self,
        state: &mut State,
        now: Instant,
        pushback: Pushback,
    ) -> Option<(usize, usize, Reason)> {
        let explained = match (pushback, state.recent) {
            (Pushback::Throttled(status), Some(recent)) => {
                self.explained(state, now, status, recent)
            }
            _ => None,
        };
        let change = match explained {
            Some((need, reason)) => self.set(state, now, need, reason),
            None => self.decrease(state, now, Reason::Pushback(pushback)),
        };
        state.slow_start = false;
        state.ceiling = Some((state.limit + 1, now));
        change
    }

    /// After a throttle: the limit that the server's pace since the last throttle explains, by
    /// Little's law (answers a second × round trip = requests in flight), when it is below the
    /// usual cut. That is a rate limit's level, reached in one step instead of a cut per
    /// `Retry-After` pause.
    fn explained(
        &self,
        state: &mut State,
        now: Instant,
        status: u16,
        recent: Ewma,
    ) -> Option<(usize, Reason)> {
        let earlier = state.throttled_at;
        let since = earlier.or(state.first)?;
        // Counted from the end of the pause that followed the last throttle (the server's
        // allowance was unused while we waited), over a second at least: rate limits are
        // counted per second or longer, so a burst that spent a second's allowance in a third
        // of it is that allowance, not three times it.
        let since = [state.paused_until, state.pause_ended]
            .into_iter()
            .flatten()
            .filter(|p| *p > since && *p < now)
            .max()
            .unwrap_or(since);
        let answers = std::mem::take(&mut state.answers_since_throttle);
        state.throttled_at = Some(now);
        let secs = now.duration_since(since).as_secs_f64();
        if earlier.is_some() && secs < 1.0 {
            // Less than a second since the last pause is part of one of the server's windows,
            // not its rate: spread over a second, it took 7 in flight at 300/s for 5.
            return None;
        }
        let rate = answers as f64 / secs.max(1.0);
        // Rounded up: 5.5 in flight are met by 6, and the probe above waits 30 s.
        let need = ((rate * recent.mean).ceil() as usize).max(1);
        let cut = ((state.limit as f64 * DECREASE) as usize).max(1);
        let reason = Reason::Explained {
            status,
            rate,
            rtt: recent.mean,
        };
        (need < cut).then_some((need, reason))
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
        let places = ((state.limit as f64 * pace / rtt) as usize).max(1);
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
        let target = ((state.limit as f64 * DECREASE) as usize).max(1);
        if target == state.limit {
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
