//! A timer that backs off: when [`WaitSet`](super::WaitSet) next looks at sessions that nothing
//! will wake it for.

use std::time::{Duration, Instant};

use crate::backoff::Backoff;

/// The next time to look, and the pause that doubles after each look up to a maximum.
#[derive(Debug)]
pub(super) struct Schedule {
    at: Option<Instant>,
    pauses: Backoff,
}

impl Schedule {
    /// Disarmed; the first pause is `first`, doubling up to `max`.
    pub(super) fn new(first: Duration, max: Duration) -> Self {
        Self {
            at: None,
            pauses: Backoff::new(first, max),
        }
    }

    /// When the next look is due, if armed.
    pub(super) fn at(&self) -> Option<Instant> {
        self.at
    }

    /// True when armed and due at `now`.
    pub(super) fn due(&self, now: Instant) -> bool {
        self.at.is_some_and(|at| now >= at)
    }

    /// Arms the timer one pause after `now`, unless it is armed already.
    pub(super) fn arm(&mut self, now: Instant) {
        if self.at.is_none() {
            self.at = Some(now + self.pauses.pause());
        }
    }

    /// Arms the timer `delay` after `now`, or sooner if it is already due sooner.
    pub(super) fn arm_in(&mut self, now: Instant, delay: Duration) {
        let at = now + delay;
        self.at = Some(self.at.map_or(at, |current| current.min(at)));
    }

    /// Disarms the timer.
    pub(super) fn disarm(&mut self) {
        self.at = None;
    }

    /// Doubles the pause (up to the maximum) and arms the timer after it.
    pub(super) fn back_off(&mut self, now: Instant) {
        self.pauses.next_pause();
        self.at = Some(now + self.pauses.pause());
    }
}
