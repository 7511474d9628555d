//! Queues with slots, daemonless: a queue is a directory under the state root, and a
//! session's supervisor takes its turn with advisory locks (`flock`) and, at the head of
//! the queue only, inotify.
//!
//! Layout of `<root>/queues/<NAME>/` (docs/internals/queues.md):
//! - `lock` — taken exclusively for the few microseconds of an enqueue, so that tickets are
//!   numbered in submission order;
//! - `seq` — the last ticket number given out (decimal text);
//! - `slots` — the slot count set by `csa queue slots` or `run --slots` (decimal text),
//!   absent when never set (the configured default applies);
//! - `slot.<i>` — one file per slot; the supervisor of a running job holds an exclusive lock
//!   on one of them for as long as the job runs, so a dying supervisor frees its slot at
//!   once;
//! - `paused` — present while the queue is paused (`csa queue pause`, [`control`]): no
//!   waiting session takes a slot;
//! - `waiting/<seq>-<ID>` — one entry per session waiting for a slot, exclusively locked by
//!   its supervisor while it waits; `seq` is 20 digits, so names sort in submission order.
//!
//! The hand-off ([`slot`]): each waiting supervisor blocks on the entry of the newest live
//! waiter ahead of it (a chain, as in a CLH lock); only the oldest waiter, the head,
//! watches the slots. When the head takes a slot it removes its entry and lets go of it,
//! which wakes exactly its successor, the new head. A waiter that dies lets go of its entry
//! without removing it; its successor removes it and looks for the next live waiter ahead.

pub mod control;
pub mod slot;
pub mod snapshot;
pub mod ticket;

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::store::files;
use crate::store::session::StateRoot;

/// The most slots a queue may have.
pub const MAX_SLOTS: u32 = 1024;

/// The most bytes csa reads of a queue's counter files (`seq`, `slots`): a count is a
/// decimal number and a newline. A larger file is malformed, and never read.
pub const MAX_COUNT_BYTES: u64 = 64;

/// The queue's lock file, taken for the moment of an enqueue.
const LOCK: &str = "lock";
/// The last ticket number given out.
const SEQ: &str = "seq";
/// The slot count set with `csa queue slots`.
const SLOTS: &str = "slots";
/// Present while the queue is paused.
const PAUSED: &str = "paused";

/// One queue's directory, `<root>/queues/<NAME>/` (it may not exist yet).
#[derive(Debug, Clone)]
pub struct Queue {
    /// The queue's name (`[A-Za-z0-9_.-]{1,64}`, see [`crate::values::parse_label`]).
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
}

impl Queue {
    /// The queue `name` under `root`. `name` must already be validated.
    pub fn new(root: &StateRoot, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            path: queues_dir(root).join(name),
        }
    }

    /// `waiting/`, where waiting sessions' entries live.
    pub fn waiting_dir(&self) -> PathBuf {
        self.path.join("waiting")
    }

    /// `slot.<index>`.
    pub fn slot_path(&self, index: u32) -> PathBuf {
        self.path.join(format!("slot.{index}"))
    }

    /// The index of a slot file named `name` (`slot.<index>`).
    pub fn slot_index(name: &str) -> Option<u32> {
        name.strip_prefix("slot.")?.parse().ok()
    }

    /// Opens the queue's `lock` file (read only: its close is not an event the head of the
    /// queue wakes up for; created when missing) and takes its exclusive lock, waiting for
    /// it. The lock goes with the returned file.
    ///
    /// Errors name the file that cannot be opened (or is refused) or locked.
    pub fn lock(&self) -> Result<std::fs::File> {
        let path = self.path.join(LOCK);
        let lock = files::Options::read()
            .create()
            .open(&path)
            .map_err(|err| files::failure("cannot open", &err, &path))?;
        lock.lock()
            .map_err(|err| crate::exit::io_failure("cannot lock", &err, path.display()))?;
        Ok(lock)
    }

    /// Creates the queue's directories (mode 0700) if missing, and checks those that exist
    /// (directories of csa's user, not writable by group or others; never followed).
    ///
    /// The state root too, when it is missing (`csa queue slots` may be the first command
    /// run): made and checked as `csa run` makes it ([`files::root::check`]).
    ///
    /// Errors name the directory that cannot be created or is refused.
    pub fn create(&self) -> Result<()> {
        let queues = self.path.parent().unwrap_or(&self.path);
        if let Some(root) = queues.parent() {
            files::root::check(root, files::root::Missing::Create)?;
        }
        for dir in [queues, &self.path, &self.waiting_dir()] {
            files::ensure_dir(dir)
                .map_err(|err| files::failure("cannot create the queue directory", &err, dir))?;
        }
        Ok(())
    }

    /// True while the queue is paused ([`control::pause`]).
    pub fn is_paused(&self) -> bool {
        files::exists(&self.path.join(PAUSED))
    }

    /// The slot count set with `csa queue slots` or `run --slots`, if any.
    ///
    /// Never blocks, never follows a symbolic link, reads at most [`MAX_COUNT_BYTES`].
    /// Errors: the file is there but is not a count from 1 to [`MAX_SLOTS`] (a FIFO, a
    /// symbolic link, another user's, too large, not a number): `malformed state file`,
    /// naming the file and the fix, never its content.
    pub fn set_slots(&self) -> Result<Option<u32>> {
        let path = self.path.join(SLOTS);
        let fix = format!("set it again with `csa queue slots {} N`", self.name);
        match read_count(&path) {
            Ok(None) => Ok(None),
            Ok(Some(count)) => u32::try_from(count)
                .ok()
                .filter(|n| (1..=MAX_SLOTS).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    files::malformed(
                        &path,
                        format!("not a slot count from 1 to {MAX_SLOTS}; {fix}"),
                    )
                }),
            Err(err) => Err(count_failure(&path, &err, &fix)),
        }
    }

    /// Sets the slot count (atomically: temporary file and rename, which wakes the head of
    /// the queue at once).
    pub fn store_slots(&self, slots: u32) -> Result<()> {
        self.create()?;
        crate::store::record::write_bytes_atomic(
            &self.path,
            SLOTS,
            format!("{slots}\n").as_bytes(),
            false,
        )
        .map(drop)
    }
}

/// Reads a counter file (`seq`, `slots`): `None` when it does not exist.
///
/// Errors: the file is refused ([`files`]: a symbolic link, not a regular file, another
/// user's, over [`MAX_COUNT_BYTES`]), cannot be read, or holds no decimal number
/// (`InvalidData`, naming nothing of its content).
fn read_count(path: &Path) -> io::Result<Option<u64>> {
    let text = match files::read_to_string(path, MAX_COUNT_BYTES) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a decimal number"))
}

/// The error for a counter file [`read_count`] could not use, with the `fix`.
fn count_failure(path: &Path, err: &io::Error, fix: &str) -> anyhow::Error {
    match files::why_refused(err) {
        Some(why) => files::malformed(path, format!("{why}; {fix}")),
        None if err.kind() == io::ErrorKind::InvalidData => {
            files::malformed(path, format!("not a decimal number; {fix}"))
        }
        None => files::failure("cannot read", err, path),
    }
}

/// `<root>/queues`.
pub fn queues_dir(root: &StateRoot) -> PathBuf {
    root.sessions_dir().with_file_name("queues")
}

/// The queues that exist under `root`, sorted by name: the directories of `queues/` (not
/// symbolic links) whose names are queue names.
pub fn all(root: &StateRoot) -> Vec<Queue> {
    let Ok(entries) = files::read_dir(&queues_dir(root)) else {
        return Vec::new();
    };
    let mut queues: Vec<Queue> = entries
        .iter()
        .filter(|entry| entry.kind == files::Kind::Dir)
        .filter_map(|entry| entry.name_str())
        .filter(|name| crate::values::parse_label(name).is_ok())
        .map(|name| Queue::new(root, name))
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    queues
}

/// Parses a slot count: 1 to [`MAX_SLOTS`].
pub fn parse_slots(text: &str) -> Result<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_SLOTS).contains(n))
        .ok_or_else(|| {
            anyhow::anyhow!("invalid slot count `{text}`: give a number from 1 to {MAX_SLOTS}")
        })
}
