//! Pausing, resuming and removing a queue (`csa queue pause|resume|rm`).
//!
//! **Pause** is a file, `paused`, in the queue's directory: while it exists the head of the
//! queue takes no slot ([`super::slot`] counts a paused queue's slots as none), so waiting
//! sessions keep their places and running jobs go on. It is written atomically (a rename)
//! and removed to resume; both are events the head watches, so a resumed queue starts its
//! next job at once.
//!
//! **Remove** takes the queue's lock (which every enqueue takes), so no session can join
//! while it looks; with no session running in the queue and none waiting, it moves the
//! directory aside under a name no queue can have and deletes it. An enqueue that was
//! blocked on the lock of the removed queue starts again on a new directory
//! ([`super::ticket::enqueue`]).

use anyhow::Result;

use super::{PAUSED, Queue, snapshot};
use crate::store::files;

/// Pauses `queue` (creating it if needed). Pausing a paused queue changes nothing.
///
/// Errors: the queue's directory or its `paused` file cannot be written.
pub fn pause(queue: &Queue) -> Result<()> {
    queue.create()?;
    crate::store::record::write_bytes_atomic(&queue.path, PAUSED, b"", false).map(drop)
}

/// Resumes `queue`. Returns false when it was not paused.
///
/// Errors: the `paused` file cannot be removed.
pub fn resume(queue: &Queue) -> Result<bool> {
    let path = queue.path.join(PAUSED);
    match files::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(files::failure("cannot remove", &err, &path)),
    }
}

/// What [`remove`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// The queue is gone.
    Removed,
    /// No such queue.
    Missing,
    /// Left in place: sessions run in it (`running`) or wait for its slots (`waiting`,
    /// their IDs).
    Live {
        /// How many of its slots are held.
        running: usize,
        /// The sessions waiting for a slot, in the order they would start.
        waiting: Vec<String>,
    },
}

/// Removes `queue` — its slot count, pause and numbering with it — unless a session runs in
/// it or waits for one of its slots.
///
/// Errors: the queue's lock cannot be taken, or its directory cannot be moved or removed.
pub fn remove(queue: &Queue) -> Result<Removal> {
    if !files::is_dir(&queue.path) {
        return Ok(Removal::Missing);
    }
    let lock = queue.lock()?;
    let seen = snapshot::take_and_tidy(queue);
    if seen.running > 0 || !seen.waiting.is_empty() {
        return Ok(Removal::Live {
            running: seen.running,
            waiting: seen.waiting,
        });
    }
    // A name no queue can have (queue names have no `+`), so nothing joins it meanwhile.
    let aside =
        queue
            .path
            .with_file_name(format!(".removed+{}+{}", queue.name, std::process::id()));
    files::rename(&queue.path, &aside)
        .map_err(|err| files::failure("cannot remove the queue", &err, &queue.path))?;
    drop(lock);
    files::remove_dir_all(&aside).map_err(|err| files::failure("cannot remove", &err, &aside))?;
    Ok(Removal::Removed)
}
