//! Looking at a queue without waiting in it: how many of its sessions run, which wait and
//! in what order ([`take`], which only reads). Removing the entries that waiters which
//! died left behind (crashed machines, supervisors killed with SIGKILL) is a separate step,
//! [`take_and_tidy`], that `csa queue list` asks for ([`crate::heal::queue`]); the queue's
//! own waiters remove such entries as they pass them ([`super::slot`]).

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::Queue;
use super::slot::slot_is_held;
use super::ticket::parse_entry;
use crate::store::files::{self, Options};
use crate::store::session::StateRoot;

/// How old an unfinished file — an entry `waiting/.new-<ID>` left by an enqueue that died
/// halfway, a temporary file of an atomic write of `seq` or `slots` — must be before a look
/// removes it.
const STALE: Duration = Duration::from_secs(60);

/// How the temporary files of atomic writes start ([`crate::store::record::write_bytes_atomic`]).
const TEMPORARY: &str = ".tmp-";

/// What a look at a queue found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The number of slots that are held: sessions of this queue whose job runs.
    pub running: usize,
    /// The sessions holding those slots, as their supervisors named them in the slot files
    /// (oldest first). For an instant after a slot is taken its holder may not be named
    /// yet, so there can be fewer IDs than `running`.
    pub running_ids: Vec<String>,
    /// The session IDs waiting for a slot, in the order they will get one.
    pub waiting: Vec<String>,
    /// What csa found in the queue's directory and could not use (a slot file or an entry
    /// that is a symbolic link, a FIFO, another user's…): one text each, `<why> (<path>)`,
    /// never a byte of content. Not counted above.
    pub malformed: Vec<String>,
}

/// Looks at `queue`: reads only, never blocks. Entries of dead waiters are not counted. A
/// queue that does not exist, or cannot be read, looks empty.
pub fn take(queue: &Queue) -> Snapshot {
    scan(queue, false)
}

/// Looks at `queue` as [`take`] does, and removes the entries dead waiters left: unfinished
/// ones (`waiting/.new-<ID>`) older than a minute whose creator is gone, and unlocked empty
/// ones. Never changes a live session's entry.
pub fn take_and_tidy(queue: &Queue) -> Snapshot {
    scan(queue, true)
}

/// Reads the waiting entries first, then the slots. A session moves one way only — from
/// waiting to running — and takes its slot before it removes its entry: read in this
/// order, a session is seen in one or the other (or, for an instant, in both), never in
/// neither. (Read the other way round, a session that took its slot between the two reads
/// was missed, and `queue rm` removed a queue a job had just started in.) A session seen in
/// both whose slot names it counts as running only.
fn scan(queue: &Queue, tidy: bool) -> Snapshot {
    let mut snapshot = Snapshot {
        running: 0,
        running_ids: Vec::new(),
        waiting: Vec::new(),
        malformed: Vec::new(),
    };
    scan_waiting(queue, tidy, &mut snapshot);
    scan_slots(queue, tidy, &mut snapshot);
    let running = &snapshot.running_ids;
    snapshot.waiting.retain(|id| !running.contains(id));
    snapshot
}

/// Counts the held slots of `queue` into `snapshot` (and, with `tidy`, removes the stale
/// temporary files of atomic writes).
fn scan_slots(queue: &Queue, tidy: bool, snapshot: &mut Snapshot) {
    let Ok(entries) = files::read_dir(&queue.path) else {
        return;
    };
    for entry in &entries {
        let Some(name) = entry.name_str() else {
            continue;
        };
        let path = queue.path.join(name);
        if name.starts_with(TEMPORARY) {
            // An atomic write of `seq` or `slots` that died halfway.
            if tidy && is_stale(&path) {
                let _ = files::remove_file(&path);
            }
            continue;
        }
        if Queue::slot_index(name).is_none() {
            continue;
        }
        // Opened for writing, though nothing is written: the head of the queue tries the
        // slots with `try_lock` and, when every slot is held, waits until a slot file is
        // closed by a writer (`IN_CLOSE_WRITE`). A look that held a free slot's lock for
        // that instant makes the head's try fail; its close then wakes the head at once
        // (the head also looks again on its own within 50 ms).
        match Options::read_write().open(&path) {
            Ok(file) if slot_is_held(&file) => {
                snapshot.running += 1;
                snapshot.running_ids.extend(holder(queue, &file));
            }
            Ok(_) => {}
            Err(err) => snapshot.note_malformed(&path, &err),
        }
    }
    snapshot.running_ids.sort_unstable();
}

/// Lists the sessions waiting in `queue` into `snapshot`, in ticket order (and, with
/// `tidy`, removes the entries dead waiters left).
fn scan_waiting(queue: &Queue, tidy: bool, snapshot: &mut Snapshot) {
    let dir = queue.waiting_dir();
    let Ok(entries) = files::read_dir(&dir) else {
        return;
    };
    let mut waiting: Vec<(u64, String)> = Vec::new();
    for entry in &entries {
        let Some(name) = entry.name_str() else {
            continue;
        };
        let path = dir.join(name);
        if name.starts_with(".new-") {
            let free = || {
                Options::read()
                    .open(&path)
                    .is_ok_and(|file| file.try_lock_shared().is_ok())
            };
            if tidy && is_stale(&path) && free() {
                let _ = files::remove_file(&path);
            }
            continue;
        }
        let Some((seq, id)) = parse_entry(name) else {
            continue;
        };
        let file = match Options::read().open(&path) {
            Ok(file) => file,
            Err(err) => {
                snapshot.note_malformed(&path, &err);
                continue;
            }
        };
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => waiting.push((seq, id.to_owned())),
            // Its waiter is gone: a dead waiter's entry is empty; a waiter that took a slot
            // removes its own entry.
            Ok(()) if tidy && file.metadata().is_ok_and(|meta| meta.len() == 0) => {
                let _ = files::remove_file(&path);
            }
            _ => {}
        }
    }
    waiting.sort_unstable();
    snapshot.waiting = waiting.into_iter().map(|(_, id)| id).collect();
}

/// True when the file at `path` was last changed more than [`STALE`] ago.
fn is_stale(path: &Path) -> bool {
    files::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STALE)
}

/// The session named in a held slot file ([`super::slot::Slot::name_holder`]), unless the
/// name is not a session ID or that session has ended (the name of a previous holder, read
/// in the instant before the new one wrote its own).
fn holder(queue: &Queue, file: &File) -> Option<String> {
    let mut text = [0u8; crate::store::session::ID_LEN];
    file.read_exact_at(&mut text, 0).ok()?;
    let id = ulid::Ulid::from_string(std::str::from_utf8(&text).ok()?).ok()?;
    let sessions = queue.path.parent()?.with_file_name("sessions");
    let dir = sessions.join(id.to_string());
    let ended = files::exists(&dir.join(crate::store::session::RESULT_TOML));
    (files::is_dir(&dir) && !ended).then(|| id.to_string())
}

/// One snapshot per queue, taken on first use: for callers that describe many sessions
/// (`session list`), so that each queue is read once.
#[derive(Debug, Default)]
pub struct Snapshots(HashMap<String, Snapshot>);

impl Snapshots {
    /// The snapshot of queue `name` under `root`, taken now if this is its first use.
    pub fn of(&mut self, root: &StateRoot, name: &str) -> &Snapshot {
        self.0
            .entry(name.to_owned())
            .or_insert_with(|| take(&Queue::new(root, name)))
    }
}

impl Snapshot {
    /// Notes that the file at `path` could not be used (nothing when it is simply gone).
    fn note_malformed(&mut self, path: &Path, err: &std::io::Error) {
        if let Some(why) = files::why_refused(err) {
            self.malformed.push(format!("{why} ({})", path.display()));
        }
    }

    /// The 1-based position of session `id` among the waiting sessions, if it waits.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.waiting
            .iter()
            .position(|other| other == id)
            .map(|at| at + 1)
    }
}
