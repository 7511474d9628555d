//! Waiting for one's turn in a queue and taking a slot (see [`super`] for the design).
//!
//! **Why FIFO holds.** Tickets are numbered under the queue's lock, so entries sort in
//! submission order. A waiter blocks on the newest live entry ahead of it; only a waiter
//! with no live entry ahead — the head — may take a slot, and it takes one before it lets
//! go of its entry. So there is at most one head, and it is always the oldest live waiter.
//!
//! **Why a dead waiter cannot block the queue.** A waiter's entry is locked through a
//! descriptor only its supervisor holds; when that process dies the kernel releases the
//! lock, which wakes its successor. The successor tells a predecessor that took a slot
//! (it wrote a byte into its entry first) from one that died or was stopped (its entry is
//! empty): after a death it removes the entry and looks for the next live waiter ahead.
//!
//! **Why a freed slot is taken within milliseconds.** The head watches the queue directory
//! with inotify: the supervisor holding a slot closes the slot file when its job ends or
//! when it dies (the kernel closes its descriptors), which is an `IN_CLOSE_WRITE` event; a
//! new slot count arrives by rename (`IN_MOVED_TO`). Without inotify (the per-user limit of
//! instances reached) the head re-checks with a backed-off pause of at most 100 ms, and
//! says so with `CSA_DEBUG`.
//!
//! **Why the head never stalls.** No wait is unbounded: when a slot looks free but its lock
//! could not be taken (a look at the queue held it for an instant, and closed it in a way
//! inotify may not report), the head looks again after 1 ms, doubling up to 50 ms; when
//! every slot is held it still looks again every second.
//!
//! **Why a running job holds no inotify instance.** The head makes its instance only when
//! it has to wait, and the supervisor closes it once the job has started
//! ([`Slot::job_started`]): the per-user limit (128 by default) bounds nothing but the
//! number of queues whose head is waiting.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use rustix::fs::inotify;

use super::Queue;
use super::ticket::{Ticket, parse_entry, remove_entry};
use crate::backoff::Backoff;
use crate::interrupt::{Interruptible, Waited};
use crate::store::files::{self, Options};
use crate::sys::inotify::{DirChanges, SAFETY_NET};

/// The longest pause between two looks at the slots when inotify is unavailable.
const MAX_FALLBACK_PAUSE: Duration = Duration::from_millis(100);

/// The first pause before the head looks again when the slots look free but none could be
/// taken (another process holds a free slot's lock for an instant: a look at the queue).
const FIRST_RECHECK: Duration = Duration::from_millis(1);

/// The longest pause between two looks when the slots look free but none could be taken.
const MAX_RECHECK: Duration = Duration::from_millis(50);

/// A queue slot, exclusively locked for as long as this value lives: keep it while the job
/// runs and drop it when the job has ended.
#[derive(Debug)]
pub struct Slot {
    file: File,
    /// The inotify instance the head waited with, if it had to wait (and had one): closed
    /// by [`Slot::job_started`].
    watch: Option<DirChanges>,
}

impl Slot {
    /// Writes session `id` (26 characters) at the start of the slot file, so that a look at
    /// the queue can name the session that holds the slot ([`super::snapshot`]). Best
    /// effort: a slot whose holder is not named is still held, and counted.
    pub fn name_holder(&self, id: &str) {
        use std::os::unix::fs::FileExt as _;
        let _ = self.file.write_all_at(id.as_bytes(), 0);
    }

    /// Lets go of what the wait for the slot used (its inotify instance): call once the
    /// job has started. Closing an inotify instance waits for an RCU grace period (about
    /// 8 ms measured here), which would delay the job if done before it starts; kept for
    /// the job's life, every running job of a queue would hold one of the user's few
    /// instances (128 by default). The slot itself stays held.
    pub fn job_started(&mut self) {
        self.watch = None;
    }
}

/// Waits until `ticket` is at the head of `queue` and a slot is free, and takes the slot.
/// `default_slots` is the slot count when none was set with `csa queue slots`.
/// Returns [`Waited::Stopped`] when a stop signal arrives first (the ticket is given up).
///
/// Errors: the queue directory cannot be read, or a slot file cannot be created.
pub fn wait_for_slot(
    queue: &Queue,
    ticket: Ticket,
    default_slots: u32,
    waker: &Interruptible,
) -> Result<Waited<Slot>> {
    loop {
        let Some((path, ahead)) = newest_live_ahead(queue, ticket.seq)? else {
            break;
        };
        match waker.lock(ahead, true)? {
            Waited::Stopped(signal) => return Ok(Waited::Stopped(signal)),
            Waited::Ready(entry) if took_a_slot(&entry) => break,
            Waited::Ready(entry) => remove_entry(&path, &entry),
        }
    }
    head(queue, ticket, default_slots, waker)
}

/// The newest entry ahead of ticket `seq` whose waiter is alive, opened, with its path —
/// or `None` when there is none (this ticket is the head). Removes the entries of dead
/// waiters on the way. What is not an entry csa made (not a regular file of csa's user, a
/// symbolic link) is passed over: no waiter holds it.
fn newest_live_ahead(queue: &Queue, seq: u64) -> Result<Option<(PathBuf, File)>> {
    let dir = queue.waiting_dir();
    let entries =
        files::read_dir(&dir).map_err(|err| files::failure("cannot read the queue", &err, &dir))?;
    let mut ahead: Vec<(u64, String)> = entries
        .iter()
        .filter_map(|entry| entry.name_str())
        .filter_map(|name| Some((parse_entry(name)?.0, name.to_owned())))
        .filter(|(other, _)| *other < seq)
        .collect();
    ahead.sort_unstable();
    for (_, name) in ahead.into_iter().rev() {
        let path = dir.join(&name);
        let Ok(entry) = Options::read().open(&path) else {
            continue; // left meanwhile, or not an entry csa made
        };
        match entry.try_lock_shared() {
            Err(TryLockError::WouldBlock) => return Ok(Some((path, entry))),
            Err(TryLockError::Error(_)) => {}
            // That waiter took a slot: none ahead of it is alive, so this ticket is the head.
            Ok(()) if took_a_slot(&entry) => return Ok(None),
            Ok(()) => remove_entry(&path, &entry),
        }
    }
    Ok(None)
}

/// True when the entry's waiter left it after taking a slot (it wrote a byte first).
fn took_a_slot(entry: &File) -> bool {
    entry.metadata().is_ok_and(|meta| meta.len() > 0)
}

/// The head of the queue: takes a slot as soon as fewer sessions run than the queue has
/// slots, then leaves the queue (which wakes the next waiter).
///
/// It waits for a change only when it could take no slot, and never without a bound: on
/// inotify, for at most [`SAFETY_NET`] when every slot is held, and for a pause growing
/// from [`FIRST_RECHECK`] to [`MAX_RECHECK`] when a slot looks free but could not be locked
/// (another process — a look at the queue — held its lock for an instant, and its close
/// may be one inotify does not report); without inotify, for a pause growing to
/// [`MAX_FALLBACK_PAUSE`] (and no longer than those bounds). The inotify instance is made only when the head first has to
/// wait, so a queue with free slots starts its jobs without one.
fn head(
    queue: &Queue,
    mut ticket: Ticket,
    default_slots: u32,
    waker: &Interruptible,
) -> Result<Waited<Slot>> {
    // Made when the head first has to wait.
    let mut changes: Option<DirChanges> = None;
    let mut open: BTreeMap<u32, File> = BTreeMap::new();
    let mut contended = Backoff::new(FIRST_RECHECK, MAX_RECHECK);
    loop {
        // A paused queue has no slot to give (its `paused` file comes by rename and goes
        // by unlink: both wake the head).
        let slots = if queue.is_paused() {
            0
        } else {
            queue.set_slots()?.unwrap_or(default_slots)
        };
        open_slots(queue, slots, &mut open)?;
        let held = open.values().filter(|file| is_held(file)).count();
        let looks_free = held < usize::try_from(slots).unwrap_or(usize::MAX);
        if looks_free {
            let free = open
                .iter()
                .filter(|(index, _)| **index < slots)
                .find(|(_, file)| file.try_lock().is_ok())
                .map(|(index, _)| *index);
            if let Some(index) = free {
                let file = open.remove(&index).expect("the slot just locked");
                // Say "took a slot" to the successor, then leave the queue.
                let _ = ticket.file.write_all(b"1");
                let _ = files::remove_file(&ticket.path);
                drop(ticket);
                let watch = changes.filter(DirChanges::is_watched);
                return Ok(Waited::Ready(Slot { file, watch }));
            }
        } else {
            contended = Backoff::new(FIRST_RECHECK, MAX_RECHECK);
        }
        let Some(changes) = &mut changes else {
            // Look again at once: a slot freed before the watch existed sent no event.
            changes = Some(watch(queue));
            continue;
        };
        let limit = if looks_free {
            contended.next_pause()
        } else {
            SAFETY_NET
        };
        let woke = waker.changes(changes, limit)?;
        if let Waited::Stopped(signal) = woke {
            // Leave the entry in place, empty: the successor takes it as a departure.
            ticket.file.flush().ok();
            return Ok(Waited::Stopped(signal));
        }
    }
}

/// Watches the queue directory for slots freed and slot counts set — or, when no inotify
/// instance can be had (`EMFILE`: the per-user limit) or the directory cannot be watched,
/// polls with a pause growing to [`MAX_FALLBACK_PAUSE`], saying so with `CSA_DEBUG`.
fn watch(queue: &Queue) -> DirChanges {
    use inotify::WatchFlags as W;
    // It may wait long: give back what was freed first.
    crate::sys::release_free_heap();
    // Not `CLOSE_NOWRITE`: the head's own looks (reading `slots`, listing the directory)
    // close read-only descriptors, and each such close would wake it again — a loop that
    // kept one CPU busy for as long as a queue had waiters. Slots are opened for writing,
    // so freeing one is a `CLOSE_WRITE`.
    let events = W::CLOSE_WRITE | W::MOVED_TO | W::CREATE | W::DELETE;
    let polling = Backoff::new(Duration::from_millis(2), MAX_FALLBACK_PAUSE);
    let (changes, err) = DirChanges::new(&[&queue.path], events, polling);
    if let Some(err) = err {
        crate::debug!(
            "queue {}: no inotify instance ({}); looking at the slots every {} ms at most instead",
            queue.name,
            crate::exit::io_why(&err),
            MAX_FALLBACK_PAUSE.as_millis()
        );
    }
    changes
}

/// Opens (creating those below `slots`) every slot file, keeping them in `open`: the
/// head keeps its descriptors open, so that looking at a slot does not itself cause the
/// close events it waits for.
///
/// Errors: a slot below `slots` cannot be created or opened, or is refused (a symbolic
/// link, a FIFO, another user's file: whether it is held cannot be known). A refused file
/// above the slot count is not a slot and is passed over.
fn open_slots(queue: &Queue, slots: u32, open: &mut BTreeMap<u32, File>) -> Result<()> {
    let mut wanted: Vec<u32> = (0..slots).collect();
    if let Ok(entries) = files::read_dir(&queue.path) {
        wanted.extend(
            entries
                .iter()
                .filter_map(|entry| Queue::slot_index(entry.name_str()?)),
        );
    }
    for index in wanted {
        if open.contains_key(&index) {
            continue;
        }
        let path = queue.slot_path(index);
        let options = if index < slots {
            Options::read_write().create()
        } else {
            Options::read_write()
        };
        match options.open(&path) {
            Ok(file) => {
                open.insert(index, file);
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) if index >= slots && files::why_refused(&err).is_some() => {}
            Err(err) => return Err(files::failure("cannot open", &err, &path)),
        }
    }
    Ok(())
}

/// True when another process holds the slot (a running job's supervisor).
fn is_held(file: &File) -> bool {
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// True when `file` — a slot file — is held by a running job's supervisor. For
/// [`super::snapshot`].
pub(super) fn slot_is_held(file: &File) -> bool {
    is_held(file)
}
