//! The inotify watch: one instance for the whole process, one watch per session directory,
//! and a reader thread that turns the events that matter into wake-ups.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::thread;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::Wake;
use crate::store::session;
use crate::sys;
use crate::sys::inotify::Read;

/// The events watched in each session directory: the last close of a file opened for
/// writing (the supervisor's `lock`), and files renamed into it (`result.toml`, `lock`). A deleted directory reports `IN_IGNORED` unasked.
const WATCHED: WatchFlags = WatchFlags::CLOSE_WRITE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

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
        .spawn(move || {
            sys::inotify::read_events(&fd, |read| {
                let wake = match read {
                    Read::Event { wd, flags, name } => wake_for(wd, flags, name, &by_watch),
                    Read::Failed => Some(Wake::InotifyFailed),
                };
                // After a failure the reader ends anyway.
                wake.is_none_or(|wake| tx.send(wake).is_ok())
            });
        })
        .ok()?;
    Some(watched)
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
