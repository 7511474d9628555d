//! inotify, the two ways csa uses it.
//!
//! - [`DirChanges`] (on a [`DirWatch`]): directories watched for waits that only need to
//!   know "something changed here: look again" (the queue's head watching its slots, a
//!   follower watching its spool files). Events are never parsed: each one only ends a
//!   wait, and the waiter looks at the files themselves. It is also the one place that
//!   bounds such a wait and falls back to polling without inotify.
//! - [`read_events`]: one instance with many watches, read on a thread of its own that
//!   turns the events that matter into messages (the wait set watching many sessions, the
//!   fleet view watching the store).
//!
//! Either way a wait keeps a bounded re-check (or a polling fallback) for file systems that
//! report nothing, and for when no inotify instance is left (the per-user limit is small,
//! 128 by default): [`DirChanges`] does it for the first kind; the readers of the second
//! fall back on their own (they watch sessions one by one).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::event::Timespec;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

mod changes;

pub use changes::DirChanges;

/// How long a wait on a [`DirWatch`] lasts at most before the waiter looks again anyway:
/// the bounded re-check that covers file systems that report nothing and events that are
/// not watched for.
pub const SAFETY_NET: Duration = Duration::from_secs(1);

/// An inotify instance (non-blocking, closed on exec) with one watch on a directory.
#[derive(Debug)]
pub struct DirWatch(OwnedFd);

impl DirWatch {
    /// Watches `dir` for `events`: a directory, never reached through a symbolic link at
    /// its name (`IN_ONLYDIR | IN_DONT_FOLLOW` are added).
    ///
    /// Errors: no inotify instance can be had (the per-user limit), or `dir` cannot be
    /// watched (gone, not a directory, a symbolic link, no permission).
    pub fn new(dir: &Path, events: WatchFlags) -> io::Result<Self> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        inotify::add_watch(
            &fd,
            dir,
            events | WatchFlags::ONLYDIR | WatchFlags::DONT_FOLLOW,
        )?;
        Ok(Self(fd))
    }

    /// Watches one more directory, `dir`, for `events` with the same instance (as
    /// [`DirWatch::new`], never through a symbolic link at its name).
    ///
    /// Errors: `dir` cannot be watched (gone, not a directory, a symbolic link, no
    /// permission, the per-user limit of watches reached).
    pub fn add(&self, dir: &Path, events: WatchFlags) -> io::Result<()> {
        inotify::add_watch(
            &self.0,
            dir,
            events | WatchFlags::ONLYDIR | WatchFlags::DONT_FOLLOW,
        )?;
        Ok(())
    }

    /// Reads and discards the queued events: each only means "look again".
    pub fn drain(&self) {
        let mut buffer = [0u8; 4096];
        while matches!(rustix::io::read(&self.0, &mut buffer), Ok(n) if n > 0) {}
    }
}

impl AsFd for DirWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// `duration` as a `poll` timeout (seconds saturate at `i64::MAX`).
pub fn timespec(duration: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(duration.subsec_nanos()),
    }
}

/// The event buffer of [`read_events`] (bytes): room for a few hundred events per `read`.
const BUFFER: usize = 16 * 1024;

/// What [`read_events`] hands its caller.
#[derive(Debug, Clone, Copy)]
pub enum Read<'a> {
    /// One event: its watch descriptor, its flags (`IN_Q_OVERFLOW` has no watch: -1), and
    /// the name of the file in the watched directory it is about, if any.
    Event {
        /// The watch descriptor.
        wd: i32,
        /// What happened.
        flags: ReadFlags,
        /// The file's name in the watched directory.
        name: Option<&'a [u8]>,
    },
    /// Reading failed: no more events will come; the caller must look another way.
    Failed,
}

/// Reads the events of the inotify instance `fd` (blocking) and hands each to `handle`,
/// until `handle` returns false or reading fails (after [`Read::Failed`]). Meant for a
/// thread of its own; an interrupted read is retried.
pub fn read_events(fd: &OwnedFd, mut handle: impl FnMut(Read<'_>) -> bool) {
    let mut buffer = vec![MaybeUninit::<u8>::uninit(); BUFFER];
    let mut events = inotify::Reader::new(fd, &mut buffer);
    loop {
        let go_on = match events.next() {
            Ok(event) => handle(Read::Event {
                wd: event.wd(),
                flags: event.events(),
                name: event.file_name().map(std::ffi::CStr::to_bytes),
            }),
            Err(rustix::io::Errno::INTR) => true,
            Err(_) => {
                handle(Read::Failed);
                return;
            }
        };
        if !go_on {
            return;
        }
    }
}
