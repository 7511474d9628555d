//! The inotify watch: one instance for the whole process, one watch per session directory,
//! and a reader thread that turns the events that matter into wake-ups.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::thread;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::Wake;
use crate::store::session;

/// The events watched in each session directory: the last close of a file opened for
/// writing (the supervisor's `lock`), and files renamed into it (`result.toml`, `lock`). A deleted directory reports `IN_IGNORED` unasked.
const WATCHED: WatchFlags = WatchFlags::CLOSE_WRITE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// The reader's event buffer (bytes): room for a few hundred events per `read`.
const BUFFER: usize = 16 * 1024;

/// Creates the inotify instance, watches each of `dirs` and starts the reader thread, which
/// sends wake-ups naming the index of the directory in `dirs`. Returns which directories are
/// watched; `None` when there is no instance (the per-user limit is reached), no directory
/// could be watched, or the thread cannot be started.
pub(super) fn start(dirs: &[&Path], tx: Sender<Wake>) -> Option<Vec<bool>> {
    let fd = inotify::init(CreateFlags::CLOEXEC).ok()?;
    let mut by_watch = HashMap::with_capacity(dirs.len());
    let mut watched = vec![false; dirs.len()];
    for (index, dir) in dirs.iter().enumerate() {
        if let Ok(wd) = inotify::add_watch(&fd, *dir, WATCHED) {
            by_watch.insert(wd, index);
            watched[index] = true;
        }
    }
    if by_watch.is_empty() {
        return None;
    }
    thread::Builder::new()
        .stack_size(super::threads::STACK)
        .spawn(move || read_events(&fd, &by_watch, &tx))
        .ok()?;
    Some(watched)
}

/// Reads events until the receiver is gone; on a read error, sends
/// [`Wake::InotifyFailed`] and ends.
fn read_events(fd: &OwnedFd, by_watch: &HashMap<i32, usize>, tx: &Sender<Wake>) {
    let mut buffer = vec![MaybeUninit::<u8>::uninit(); BUFFER];
    let mut events = inotify::Reader::new(fd, &mut buffer);
    loop {
        let wake = match events.next() {
            Ok(event) => wake_for(
                event.wd(),
                event.events(),
                event.file_name().map(std::ffi::CStr::to_bytes),
                by_watch,
            ),
            Err(rustix::io::Errno::INTR) => None,
            Err(_) => Some(Wake::InotifyFailed),
        };
        if let Some(wake) = wake {
            let failed = matches!(wake, Wake::InotifyFailed);
            if tx.send(wake).is_err() || failed {
                return;
            }
        }
    }
}

/// The wake-up an event calls for, if any.
fn wake_for(
    wd: i32,
    flags: ReadFlags,
    name: Option<&[u8]>,
    by_watch: &HashMap<i32, usize>,
) -> Option<Wake> {
    if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
        return Some(Wake::Overflow);
    }
    let index = *by_watch.get(&wd)?;
    let named = |wanted: &str| name == Some(wanted.as_bytes());
    if flags.contains(ReadFlags::IGNORED) {
        Some(Wake::Look(index))
    } else if flags.contains(ReadFlags::CLOSE_WRITE) && named(session::LOCK) {
        Some(Wake::LockClosed(index))
    } else if flags.contains(ReadFlags::MOVED_TO)
        && (named(session::RESULT_TOML) || named(session::LOCK))
    {
        Some(Wake::Look(index))
    } else {
        None
    }
}
