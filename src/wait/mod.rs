//! Waiting for sessions to end, many at once, event-driven: [`WaitSet`] watches a fixed set of
//! sessions and hands out each one's result as it ends, in the order they end (`order`:
//! sessions found ended together are sorted by their results' `finished_at`).
//!
//! What a waiter blocks on (a session's end is the release of its `lock`, docs/format.md):
//! - **Up to [`THREADS_UP_TO`] sessions**: one thread per session blocked in
//!   `flock(LOCK_SH)` on its `lock`. The kernel wakes it the moment the supervisor's
//!   exclusive lock goes away — also when the supervisor is killed with SIGKILL — and `flock` works on
//!   network file systems too. A one-session `wait` has always worked this way.
//! - **More sessions**: one inotify instance for the whole process, watching every session
//!   directory for the last close of `lock` by its writer (the supervisor, exiting or
//!   killed: `IN_CLOSE_WRITE`) and for `result.toml` or `lock` appearing by rename
//!   (`IN_MOVED_TO`). A `result.toml` ends its session at once, before the supervisor has
//!   even exited. A reader thread turns events into wake-ups; nothing polls. The
//!   kernel reports a close *before* it drops the closing descriptor's locks, so a close
//!   that finds the lock still held hands that session to a `flock` thread, which returns
//!   as soon as the lock is gone. The per-user limit of inotify instances is small (128 by
//!   default) and shared: that is why few sessions use threads, and why there is only one
//!   instance per process.
//! - **Fallbacks**: without an inotify instance (`EMFILE`) or a watch (`ENOSPC`), a session
//!   gets a `flock` thread (64 KiB of stack; the descriptor limit is raised to fit); without a
//!   thread or a descriptor, a poll that backs off from 1 ms to 250 ms.
//! - **Safety nets**: with inotify, every pending session is looked at again after 2 s,
//!   4 s, 8 s… up to every 20 s, for file systems that do not report changes made on
//!   another machine (attach does the same); after an inotify queue overflow, at once and
//!   50 ms later. A look costs about 8 µs a session: 1,000 sessions cost 0.4 ms of CPU a
//!   second at the longest pause.
//!
//! A session whose lock is found free is settled with [`crate::heal::settle`]: its result, a
//! `lost` one recorded now, or — an executor that started a new watcher — still running,
//! and then a `flock` thread waits for that watcher (which may hold the lock through a
//! descriptor opened read-only, whose close inotify does not report as a write).
//! A session that `csa run` is still setting up (no `lock` yet, younger than
//! [`check::SETUP_GRACE`]) is looked at on the poll schedule until it has a lock.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::store::record::ResultRecord;
use crate::store::session::SessionDir;

mod check;
mod inotify;
mod order;
mod schedule;
mod threads;

use check::{Checked, check};
use schedule::Schedule;

/// The most sessions watched with one `flock` thread each; above it, one inotify instance
/// watches them all. Threads wake a little sooner (no close-before-unlock race) and use no
/// inotify instance, of which a user has few; each costs a descriptor and a small stack.
pub const THREADS_UP_TO: usize = 8;

/// Test hook: `CSA_TEST_WAIT_MODE=threads|inotify|poll` forces how sessions are watched, so
/// the suite can exercise each fallback. Not part of the user-facing interface.
const MODE_VARIABLE: &str = "CSA_TEST_WAIT_MODE";

/// How a pending session is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// A `flock` thread (started when the lock is found held).
    Thread,
    /// The process's inotify instance.
    Inotify,
    /// Looked at on the poll schedule.
    Poll,
}

/// A wake-up for the thread that owns the [`WaitSet`].
#[derive(Debug, Clone, Copy)]
enum Wake {
    /// Something appeared in session `i`'s directory (or it was removed): look again.
    Look(usize),
    /// A writer closed session `i`'s `lock` for the last time: its supervisor may be gone.
    LockClosed(usize),
    /// The `flock` thread of session `i` returned: `true` when it got the lock (its holder
    /// is gone), `false` when `flock` failed.
    Unlocked(usize, bool),
    /// The inotify queue overflowed and events were lost: look at every session.
    Overflow,
    /// The inotify reader failed: watch the pending sessions another way.
    InotifyFailed,
}

/// One watched session.
#[derive(Debug)]
struct Watched {
    session: SessionDir,
    how: Watch,
    /// Not ended yet: still looked at.
    pending: bool,
    /// Handed out by [`WaitSet::next`].
    handed: bool,
    /// A `flock` thread is blocked on its lock.
    thread: bool,
    /// Still being set up by `csa run`: looked at on the poll schedule.
    starting: bool,
}

/// A session that ended: its index in the list given to [`WaitSet::new`], and its result — or
/// the error that kept it from being known (exit 124: dead and its `lost` result cannot be
/// recorded; 125: a malformed `result.toml`, an unreadable lock).
#[derive(Debug)]
pub struct Ended {
    /// The session's index in the list given to [`WaitSet::new`].
    pub index: usize,
    /// The session's result.
    pub outcome: Result<ResultRecord>,
}

/// A fixed set of sessions being waited for; see the module documentation.
#[derive(Debug)]
pub struct WaitSet {
    watched: Vec<Watched>,
    tx: Sender<Wake>,
    rx: Receiver<Wake>,
    /// Ended sessions not yet handed out, in the order they ended.
    ready: VecDeque<Ended>,
    /// When sessions watched by polling (or still being set up) are looked at next.
    poll: Schedule,
    /// When sessions watched by inotify are looked at next, as a safety net.
    net: Schedule,
}

/// The first look of the poll schedule, and its longest pause.
const POLL: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(250));
/// The first look of the inotify safety net, and its longest pause.
const NET: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(20));
/// After an inotify queue overflow: the second look at every session.
const AFTER_OVERFLOW: Duration = Duration::from_millis(50);

impl WaitSet {
    /// Starts watching `sessions` and looks at each once: those that have already ended are
    /// handed out first by [`next`](Self::next), in the order they ended (`finished_at`, then
    /// session ID).
    pub fn new(sessions: Vec<SessionDir>) -> Self {
        let (tx, rx) = mpsc::channel();
        let forced = std::env::var(MODE_VARIABLE).ok();
        let mut how = match forced.as_deref() {
            Some("threads") => Watch::Thread,
            Some("inotify") => Watch::Inotify,
            Some("poll") => Watch::Poll,
            _ if sessions.len() <= THREADS_UP_TO => Watch::Thread,
            _ => Watch::Inotify,
        };
        let mut watched_by_inotify = vec![false; sessions.len()];
        if how == Watch::Inotify {
            let dirs: Vec<&std::path::Path> = sessions.iter().map(|s| s.path.as_path()).collect();
            match inotify::start(&dirs, tx.clone()) {
                Some(watched) => watched_by_inotify = watched,
                None => how = Watch::Thread,
            }
        }
        if how == Watch::Thread || watched_by_inotify.contains(&false) {
            threads::allow_descriptors(sessions.len());
        }
        let watched = sessions
            .into_iter()
            .zip(watched_by_inotify)
            .map(|(session, by_inotify)| Watched {
                session,
                how: match how {
                    Watch::Inotify if !by_inotify => Watch::Thread,
                    other => other,
                },
                pending: true,
                handed: false,
                thread: false,
                starting: false,
            })
            .collect();
        let mut ends = Self {
            watched,
            tx,
            rx,
            ready: VecDeque::new(),
            poll: Schedule::new(POLL.0, POLL.1),
            net: Schedule::new(NET.0, NET.1),
        };
        for index in 0..ends.watched.len() {
            ends.look(index, false);
        }
        // Already ended: in the order they ended.
        ends.sort_ready();
        if ends
            .watched
            .iter()
            .any(|w| w.pending && w.how == Watch::Inotify)
        {
            ends.net.arm(Instant::now());
        }
        ends
    }

    /// The next session to end, blocking until one does or `deadline` passes. `None` when
    /// `deadline` has passed or no session is left pending.
    pub fn next(&mut self, deadline: Option<Instant>) -> Option<Ended> {
        loop {
            if let Some(ended) = self.ready.pop_front() {
                self.watched[ended.index].handed = true;
                return Some(ended);
            }
            let now = Instant::now();
            if !self.watched.iter().any(|w| w.pending) || deadline.is_some_and(|d| now >= d) {
                return None;
            }
            let wake_at = [deadline, self.poll.at(), self.net.at()]
                .into_iter()
                .flatten()
                .min();
            let received = match wake_at {
                Some(at) => self.rx.recv_timeout(at.saturating_duration_since(now)),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(wake) => self.wake(wake),
                Err(RecvTimeoutError::Timeout) => self.timers(),
                // Never: `self` holds a sender.
                Err(RecvTimeoutError::Disconnected) => return None,
            }
            // Sessions found ended together are handed out in the order they ended.
            self.gather();
        }
    }

    /// The session at `index` in the list given to [`WaitSet::new`].
    pub fn session(&self, index: usize) -> &SessionDir {
        &self.watched[index].session
    }

    /// The sessions not handed out by [`next`](Self::next) yet, in the order given to
    /// [`WaitSet::new`].
    pub fn pending(&self) -> impl Iterator<Item = &SessionDir> {
        self.watched
            .iter()
            .filter(|w| !w.handed)
            .map(|w| &w.session)
    }

    /// The sessions not handed out by [`next`](Self::next) that have ended already (found
    /// in the same look as the one handed out, or before), in the order given.
    pub fn ended_unreported(&self) -> impl Iterator<Item = &SessionDir> {
        self.watched
            .iter()
            .filter(|w| !w.handed && !w.pending)
            .map(|w| &w.session)
    }

    /// The sessions not ended yet, in the order given.
    pub fn still_live(&self) -> impl Iterator<Item = &SessionDir> {
        self.watched
            .iter()
            .filter(|w| !w.handed && w.pending)
            .map(|w| &w.session)
    }

    fn wake(&mut self, wake: Wake) {
        match wake {
            Wake::Look(index) => self.look(index, false),
            Wake::LockClosed(index) => self.look(index, true),
            Wake::Unlocked(index, got_it) => {
                if let Some(watched) = self.watched.get_mut(index) {
                    watched.thread = false;
                    if !got_it {
                        // `flock` itself fails: a thread would fail again at once.
                        watched.how = Watch::Poll;
                    }
                }
                self.look(index, false);
            }
            Wake::Overflow => {
                self.look_at_all(|w| w.how == Watch::Inotify);
                self.net.arm_in(Instant::now(), AFTER_OVERFLOW);
            }
            Wake::InotifyFailed => {
                threads::allow_descriptors(self.watched.len());
                for index in 0..self.watched.len() {
                    if self.watched[index].how == Watch::Inotify {
                        self.watched[index].how = Watch::Thread;
                        self.look(index, false);
                    }
                }
            }
        }
    }

    /// Runs what the poll schedule and the safety net have due.
    fn timers(&mut self) {
        let now = Instant::now();
        if self.poll.due(now) {
            self.poll.disarm();
            self.look_at_all(|w| w.how == Watch::Poll || w.starting);
            if self.watched.iter().any(Watched::polled) {
                self.poll.back_off(Instant::now());
            }
        }
        if self.net.due(now) {
            self.net.disarm();
            self.look_at_all(|w| w.how == Watch::Inotify);
            if self
                .watched
                .iter()
                .any(|w| w.pending && w.how == Watch::Inotify)
            {
                self.net.back_off(Instant::now());
            }
        }
    }

    fn look_at_all(&mut self, which: impl Fn(&Watched) -> bool) {
        for index in 0..self.watched.len() {
            if self.watched[index].pending && which(&self.watched[index]) {
                self.look(index, false);
            }
        }
    }

    /// Looks at session `index`: hands it out if it has ended, else makes sure something
    /// will wake us when it does. `lock_closed`: a writer just closed its lock.
    fn look(&mut self, index: usize, lock_closed: bool) {
        let Some(watched) = self.watched.get_mut(index) else {
            return;
        };
        if !watched.pending {
            return;
        }
        match check(&watched.session) {
            Checked::Ended(outcome) => {
                watched.pending = false;
                watched.starting = false;
                self.ready.push_back(Ended { index, outcome });
            }
            Checked::Held => {
                watched.starting = false;
                match watched.how {
                    Watch::Thread => self.ensure_thread(index),
                    // The close was reported before the lock was dropped: a thread sees the
                    // drop. (Or someone else closed it; the thread then simply waits.)
                    Watch::Inotify if lock_closed => self.ensure_thread(index),
                    Watch::Inotify => {}
                    Watch::Poll => self.poll.arm(Instant::now()),
                }
            }
            Checked::Resumed => {
                watched.starting = false;
                match watched.how {
                    Watch::Poll => self.poll.arm(Instant::now()),
                    Watch::Thread | Watch::Inotify => self.ensure_thread(index),
                }
            }
            Checked::Starting => {
                watched.starting = true;
                self.poll.arm(Instant::now());
            }
        }
    }

    /// Starts a `flock` thread on session `index`'s lock unless one is running; when that
    /// cannot be done, the session is polled.
    fn ensure_thread(&mut self, index: usize) {
        let watched = &mut self.watched[index];
        if watched.thread {
            return;
        }
        if threads::spawn(index, &watched.session, self.tx.clone()).is_ok() {
            watched.thread = true;
        } else {
            watched.how = Watch::Poll;
            self.poll.arm(Instant::now());
        }
    }
}

impl Watched {
    /// Looked at on the poll schedule.
    fn polled(&self) -> bool {
        self.pending && (self.how == Watch::Poll || self.starting)
    }
}
