//! `flock` threads: one thread per session blocked in `flock(LOCK_SH)` on its `lock` until
//! the supervisor's exclusive lock goes away.

use std::io;
use std::sync::mpsc::Sender;
use std::thread;

use rustix::process::{Resource, Rlimit};

use super::Wake;
use crate::store::session::{self, SessionDir};

/// The stack of a `flock` thread (bytes): it only calls `flock` and sends one message, so
/// only a page or two of it is ever touched.
pub(super) const STACK: usize = 64 * 1024;

/// Descriptors kept free for everything else the process opens.
const SPARE_DESCRIPTORS: u64 = 64;

/// Starts a thread that takes a shared lock on the session's `lock` (blocking until the
/// supervisor's exclusive lock is gone), lets go of it at once, and sends
/// [`Wake::Unlocked`]. A missing `lock` is reported at once the same way.
///
/// Errors when the lock cannot be opened (no descriptor left) or the thread cannot be
/// started; the caller then polls the session.
pub(super) fn spawn(index: usize, session: &SessionDir, tx: Sender<Wake>) -> io::Result<()> {
    let lock = match crate::store::files::Options::read().open(&session.file(session::LOCK)) {
        Ok(lock) => lock,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let _ = tx.send(Wake::Unlocked(index, true));
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    thread::Builder::new().stack_size(STACK).spawn(move || {
        let got_it = lock.lock_shared().is_ok();
        // Let go at once: an executor resuming the session takes the lock over.
        drop(lock);
        let _ = tx.send(Wake::Unlocked(index, got_it));
    })?;
    Ok(())
}

/// Raises the soft limit on open descriptors (up to the hard limit) so that `count`
/// sessions can each have a `flock` thread holding its lock open. Best effort: a thread
/// that cannot open its lock leaves its session to the poll.
pub(super) fn allow_descriptors(count: usize) {
    let wanted = u64::try_from(count)
        .unwrap_or(u64::MAX)
        .saturating_add(SPARE_DESCRIPTORS);
    let limit = rustix::process::getrlimit(Resource::Nofile);
    let Some(current) = limit.current else {
        return;
    };
    if current >= wanted {
        return;
    }
    let raised = limit.maximum.map_or(wanted, |max| max.min(wanted));
    if raised > current {
        let _ = rustix::process::setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            },
        );
    }
}
