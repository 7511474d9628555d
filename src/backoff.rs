//! Pauses that grow: how every polling loop in csa waits between two looks (processes
//! leaving a group, a file appearing, a process reaching its `exec`). One rule for all of
//! them: look, and if the answer is not there yet, sleep a pause that doubles from a first
//! value up to a maximum — never past the deadline — and look again.

use std::thread;
use std::time::{Duration, Instant};

/// A pause that doubles after each sleep, from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pause: Duration,
    max: Duration,
}

impl Backoff {
    /// A back-off whose first pause is `first`, doubling up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self { pause: first, max }
    }

    /// The pause the next sleep would take.
    pub fn pause(&self) -> Duration {
        self.pause
    }

    /// Returns the current pause and doubles the next one (up to the maximum).
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.pause;
        self.pause = (self.pause * 2).min(self.max);
        pause
    }

    /// Sleeps the current pause, then doubles it (up to the maximum).
    pub fn sleep(&mut self) {
        thread::sleep(self.next_pause());
    }

    /// Sleeps the current pause, but not past `deadline`, then doubles it.
    pub fn sleep_until(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        thread::sleep(self.next_pause().min(left));
    }
}

/// The instant `limit` from now: [`later`] than now.
pub fn deadline(limit: Duration) -> Instant {
    later(Instant::now(), limit)
}

/// The instant `by` after `from` — or, when that is beyond what an [`Instant`] can hold, the
/// latest instant it can: a deadline that never comes. Never panics, as `Instant + Duration`
/// does on overflow (a duration read from a file or the environment may be any `u64` of
/// milliseconds), and never comes early.
pub fn later(from: Instant, by: Duration) -> Instant {
    let mut by = by;
    loop {
        if let Some(instant) = from.checked_add(by) {
            return instant;
        }
        by /= 2;
    }
}

/// Calls `look` until it returns `Some`, sleeping the pauses of `backoff` in between, for
/// at most `limit`: returns what `look` found, or `None` once `limit` has passed (`look`
/// is always called at least once, and once more after the last pause).
pub fn poll<T>(
    limit: Duration,
    mut backoff: Backoff,
    mut look: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = deadline(limit);
    loop {
        if let Some(found) = look() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        backoff.sleep_until(deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        for huge in [Duration::MAX, Duration::from_millis(u64::MAX)] {
            let far = later(now, huge);
            assert!(
                far > now + Duration::from_secs(100 * 365 * 86_400),
                "{far:?}"
            );
            assert!(deadline(huge) > Instant::now());
        }
    }

    #[test]
    fn pauses_double_up_to_the_maximum() {
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(5));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn poll_returns_what_it_found_or_none_after_the_limit() {
        let mut calls = 0;
        let found = poll(
            Duration::from_secs(5),
            Backoff::new(Duration::ZERO, Duration::ZERO),
            || {
                calls += 1;
                (calls == 3).then_some(calls)
            },
        );
        assert_eq!(found, Some(3));
        let start = Instant::now();
        let never: Option<()> = poll(
            Duration::from_millis(20),
            Backoff::new(Duration::from_millis(1), Duration::from_millis(4)),
            || None,
        );
        assert!(never.is_none());
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
