//! Waiting for a stopped job's processes to exit (its group to drain) without rescanning
//! `/proc` all the time: between two scans csa sleeps in `poll(2)` on pidfds of the members
//! the last scan found ([`sys::until_one_exits`]), so it wakes when one of them exits, and
//! scans again at the latest after a pause of [`RESCANS`] (for members forked since, which
//! no pidfd watches). A 30 s grace period that the job sits out costs some 35 scans, not
//! the 600 of a scan every 50 ms. Where pidfds are missing (Linux before 5.3) or cannot be
//! opened (`EMFILE`), it scans at the pauses of [`super::SCANS`] instead.

use std::time::{Duration, Instant};

use crate::backoff::{self, Backoff};
use crate::sys::{self, Pid};

/// The longest sleep between two scans while members are watched: 50 ms, doubling up to
/// 1 s.
pub const RESCANS: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));

/// Calls `scan` — the live members still there, `None` when they cannot be listed — until
/// it finds none or `limit` passes; sleeps in between as the module says. Returns true
/// when a scan found none (a scan that fails is not an empty one).
pub fn until_empty(limit: Duration, mut scan: impl FnMut() -> Option<Vec<Pid>>) -> bool {
    let deadline = backoff::deadline(limit);
    let mut rescans = RESCANS;
    let mut scans = super::SCANS;
    loop {
        let members = scan();
        if members.as_ref().is_some_and(Vec::is_empty) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let watched = members.and_then(|members| {
            sys::until_one_exits(&members, rescans.next_pause().min(left)).ok()
        });
        if watched.is_none() {
            scans.sleep_until(deadline);
        }
    }
}
