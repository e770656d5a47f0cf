//! A place under the limit for one attempt, and what the attempt tells the controller when it
//! gives the place back.

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;

use super::{Controller, Signal};

/// A place under the limit for one attempt. [`Slot::finish`] reports how the attempt went;
/// dropping a begun slot without it (a cancelled task) counts as [`Signal::Silent`].
#[derive(Debug)]
pub struct Slot<'a> {
    pub(super) controller: &'a Controller,
    pub(super) _permit: SemaphorePermit<'a>,
    /// When the request left, once it did.
    pub(super) begun: Option<Instant>,
}

impl Slot<'_> {
    /// The request leaves now: from here it counts as in flight.
    pub fn begin(&mut self) {
        if self.begun.is_none() {
            self.begun = Some(self.controller.begin());
        }
    }

    /// Reports the attempt's outcome and frees the place.
    pub fn finish(mut self, signal: Signal) {
        if let Some(begun) = self.begun.take() {
            self.controller.finish(begun, signal);
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(begun) = self.begun.take() {
            self.controller.finish(begun, Signal::Silent);
        }
    }
}
