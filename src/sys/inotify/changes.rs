//! [`DirChanges`]: waiting for a change in a set of directories, for at most a given time —
//! on inotify when an instance can be had, else with a bounded polling pause.

use std::io;
use std::os::fd::{AsFd as _, BorrowedFd};
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};
use rustix::fs::inotify::WatchFlags;

use super::{DirWatch, timespec};
use crate::backoff::Backoff;

/// Waits for "something changed in these directories: look again". Each wait is bounded:
/// with inotify it ends on an event or after the limit the caller gives (the re-check that
/// covers file systems that report nothing); without inotify (no instance left: the
/// per-user limit is small, 128 by default) it is a pause that grows from the polling
/// back-off's first value to its maximum, never longer than that limit.
///
/// Used by the queue's head (waiting for a slot) and by the follower of spool files
/// (`attach`, `logs --follow`). The wait set (`wait` for many sessions) and the fleet view
/// read events on a thread of their own instead ([`super::read_events`]).
#[derive(Debug)]
pub struct DirChanges {
    /// The inotify instance, or `None` when polling.
    watch: Option<DirWatch>,
    /// The next polling pauses (without inotify).
    pauses: Backoff,
    /// The polling pauses as they were first given: [`DirChanges::changed`] starts over.
    first: Backoff,
}

impl DirChanges {
    /// Watches each of `dirs` for `events` with one inotify instance (never through a
    /// symbolic link at a directory's name). When no instance can be had, or a directory
    /// cannot be watched, or `dirs` is empty, the waits poll instead with the pauses of
    /// `polling`, and the error comes back beside the value, for a caller that says so.
    pub fn new(dirs: &[&Path], events: WatchFlags, polling: Backoff) -> (Self, Option<io::Error>) {
        let watch = match dirs.split_first() {
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no directory to watch",
            )),
            Some((first, others)) => DirWatch::new(first, events).and_then(|watch| {
                for dir in others {
                    watch.add(dir, events)?;
                }
                Ok(watch)
            }),
        };
        let (watch, err) = match watch {
            Ok(watch) => (Some(watch), None),
            Err(err) => (None, Some(err)),
        };
        let changes = Self {
            watch,
            pauses: polling,
            first: polling,
        };
        (changes, err)
    }

    /// True when the directories are watched with inotify (false: polling).
    pub fn is_watched(&self) -> bool {
        self.watch.is_some()
    }

    /// Waits until a watched directory reports a change, `limit` passes, or one of `also`
    /// (descriptors with the events wanted of each) is ready — without inotify, until the
    /// next polling pause (at most `limit`) passes or one of `also` is ready. Returns what
    /// happened to each of `also` (empty: nothing). A signal ending the wait early is no
    /// error: the caller looks again anyway.
    ///
    /// Errors: `poll` fails otherwise than by being interrupted.
    pub fn wait<const N: usize>(
        &mut self,
        limit: Duration,
        also: [(BorrowedFd<'_>, PollFlags); N],
    ) -> io::Result<[PollFlags; N]> {
        let timeout = match self.watch {
            Some(_) => limit,
            None => self.pauses.next_pause().min(limit),
        };
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(N + 1);
        fds.extend(
            also.iter()
                .map(|(fd, events)| PollFd::from_borrowed_fd(*fd, *events)),
        );
        if let Some(watch) = &self.watch {
            fds.push(PollFd::from_borrowed_fd(watch.as_fd(), PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, Some(&timespec(timeout))) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
        let mut ready = [PollFlags::empty(); N];
        for (slot, fd) in ready.iter_mut().zip(&fds) {
            *slot = fd.revents();
        }
        drop(fds);
        self.drain();
        Ok(ready)
    }

    /// The caller found something new: the events queued meanwhile only say "look again"
    /// (they are discarded), and the polling pauses start over from the first.
    pub fn changed(&mut self) {
        self.drain();
        self.pauses = self.first;
    }

    /// Reads and discards the queued events.
    fn drain(&self) {
        if let Some(watch) = &self.watch {
            watch.drain();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_change_ends_the_wait_and_time_bounds_it() {
        let dir = tempfile::tempdir().unwrap();
        let polling = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));
        let (mut changes, err) = DirChanges::new(&[dir.path()], WatchFlags::CREATE, polling);
        assert!(err.is_none() && changes.is_watched(), "{err:?}");
        std::fs::write(dir.path().join("new"), b"").unwrap();
        let start = Instant::now();
        changes.wait(Duration::from_secs(600), []).unwrap();
        assert!(start.elapsed() < Duration::from_secs(300));
        // The event was drained: the next wait lasts its limit.
        let start = Instant::now();
        changes.wait(Duration::from_millis(20), []).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn without_a_watch_it_polls_with_growing_pauses_bounded_by_the_limit() {
        let missing = tempfile::tempdir().unwrap().path().join("gone");
        let polling = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));
        let (mut changes, err) = DirChanges::new(&[&missing], WatchFlags::CREATE, polling);
        assert!(err.is_some() && !changes.is_watched());
        let start = Instant::now();
        for _ in 0..4 {
            changes.wait(Duration::from_secs(600), []).unwrap();
        }
        // 1 + 2 + 4 + 4 ms: the pauses, not the limit.
        assert!(start.elapsed() < Duration::from_secs(300));
        assert!(start.elapsed() >= Duration::from_millis(11));
        assert_eq!(changes.pauses.pause(), Duration::from_millis(4));
        changes.changed();
        assert_eq!(changes.pauses.pause(), Duration::from_millis(1));
        let (empty, err) = DirChanges::new(&[], WatchFlags::CREATE, polling);
        assert!(err.is_some() && !empty.is_watched());
    }

    #[test]
    fn another_descriptor_ends_the_wait_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let polling = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));
        let (mut changes, _) = DirChanges::new(&[dir.path()], WatchFlags::CREATE, polling);
        let (read, write) = rustix::pipe::pipe().unwrap();
        drop(write);
        let [hung_up] = changes
            .wait(
                Duration::from_secs(600),
                [(read.as_fd(), PollFlags::empty())],
            )
            .unwrap();
        assert!(hung_up.contains(PollFlags::HUP), "{hung_up:?}");
    }
}
