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
//! - `waiting/<seq>-<ID>` — one entry per session waiting for a slot, exclusively locked by
//!   its supervisor while it waits; `seq` is 20 digits, so names sort in submission order.
//!
//! The hand-off ([`slot`]): each waiting supervisor blocks on the entry of the newest live
//! waiter ahead of it (a chain, as in a CLH lock); only the oldest waiter, the head,
//! watches the slots. When the head takes a slot it removes its entry and lets go of it,
//! which wakes exactly its successor, the new head. A waiter that dies lets go of its entry
//! without removing it; its successor removes it and looks for the next live waiter ahead.

pub mod slot;
pub mod snapshot;
pub mod ticket;

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::PathBuf;

use anyhow::Result;

use crate::exit::{CSA_ERROR, Failure};
use crate::store::session::StateRoot;

/// The most slots a queue may have.
pub const MAX_SLOTS: u32 = 1024;

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

    /// Creates the queue's directories (mode 0700) if missing.
    pub fn create(&self) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.waiting_dir())
            .map_err(|err| {
                crate::exit::io_failure(
                    "cannot create the queue directory",
                    &err,
                    self.path.display(),
                )
            })
    }

    /// The slot count set with `csa queue slots` or `run --slots`, if any. Errors name the
    /// file when it exists but is not a count.
    pub fn set_slots(&self) -> Result<Option<u32>> {
        let path = self.path.join("slots");
        match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SLOTS).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    Failure::new(
                        CSA_ERROR,
                        format!(
                            "malformed slot count {:?}; set it again with `csa queue slots {} N` ({})",
                            text.trim(),
                            self.name,
                            path.display()
                        ),
                    )
                    .into()
                }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(crate::exit::io_failure("cannot read", &err, path.display())),
        }
    }

    /// Sets the slot count (atomically: temporary file and rename, which wakes the head of
    /// the queue at once).
    pub fn store_slots(&self, slots: u32) -> Result<()> {
        self.create()?;
        crate::store::record::write_bytes_atomic(
            &self.path,
            "slots",
            format!("{slots}\n").as_bytes(),
            false,
        )
        .map(drop)
    }
}

/// `<root>/queues`.
pub fn queues_dir(root: &StateRoot) -> PathBuf {
    root.sessions_dir().with_file_name("queues")
}

/// The queues that exist under `root`, sorted by name.
pub fn all(root: &StateRoot) -> Vec<Queue> {
    let Ok(entries) = fs::read_dir(queues_dir(root)) else {
        return Vec::new();
    };
    let mut queues: Vec<Queue> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| crate::values::parse_label(name).is_ok())
        .map(|name| Queue::new(root, &name))
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
