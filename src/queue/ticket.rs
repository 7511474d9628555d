//! Joining a queue: a numbered ticket and a locked entry in `waiting/`.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{LOCK, Queue, SEQ, count_failure, read_count};
use crate::store::files::{self, Options};

/// A session's place in a queue: the entry `waiting/<seq>-<ID>`, exclusively locked through
/// `file` for as long as the session waits. Dropping the ticket (or the process dying)
/// lets go of the lock, which wakes the session behind it.
#[derive(Debug)]
pub struct Ticket {
    /// The ticket number: tickets are numbered in the order sessions joined the queue.
    pub seq: u64,
    /// The entry, exclusively locked.
    pub file: File,
    /// The entry's path.
    pub path: PathBuf,
}

impl Ticket {
    /// Leaves the queue without waiting: removes the entry (if it is still this ticket's).
    /// For a `csa run` that fails after joining, so that nothing of it is left behind; the
    /// lock goes when the ticket is dropped.
    pub fn leave(&self) {
        remove_entry(&self.path, &self.file);
    }
}

/// Removes the entry at `path` if it is still the file `entry` (never another waiter's
/// entry that took its name meanwhile).
pub(super) fn remove_entry(path: &Path, entry: &File) {
    if let (Ok(there), Ok(ours)) = (files::metadata(path), entry.metadata())
        && there.dev() == ours.dev()
        && there.ino() == ours.ino()
    {
        let _ = files::remove_file(path);
    }
}

/// The name of the entry of ticket `seq` of session `id`: 20 digits, so that names sort
/// in ticket order.
pub fn entry_name(seq: u64, id: &str) -> String {
    format!("{seq:020}-{id}")
}

/// Parses an entry name into its ticket number and session ID.
pub fn parse_entry(name: &str) -> Option<(u64, &str)> {
    let (seq, id) = name.split_once('-')?;
    (seq.len() == 20 && id.len() == crate::store::session::ID_LEN)
        .then(|| Some((seq.parse().ok()?, id)))
        .flatten()
}

/// Joins `queue` with session `id`: takes the next ticket number under the queue's lock
/// and creates the entry, locked, under its final name in one rename — so no one ever sees
/// an entry that is not locked by a live session.
///
/// Errors name the file that could not be created, read, written or locked, or that is
/// refused ([`files`]: a symbolic link, a FIFO, another user's…).
pub fn enqueue(queue: &Queue, id: &str) -> Result<Ticket> {
    let lock_path = queue.path.join(LOCK);
    let lock = loop {
        queue.create()?;
        let lock = queue.lock()?;
        // `csa queue rm` may have removed the queue while this waited for its lock: then
        // join the queue made anew.
        if let (Ok(there), Ok(ours)) = (files::metadata(&lock_path), lock.metadata())
            && there.dev() == ours.dev()
            && there.ino() == ours.ino()
        {
            break lock;
        }
    };
    let seq = next_seq(queue)?;

    let waiting = queue.waiting_dir();
    let temp = waiting.join(format!(".new-{id}"));
    let file = Options::read_write()
        .create_new()
        .open(&temp)
        .map_err(|err| files::failure("cannot create", &err, &temp))?;
    let path = waiting.join(entry_name(seq, id));
    let placed = file
        .try_lock()
        .map_err(|err| std::io::Error::other(err.to_string()))
        .and_then(|()| files::rename(&temp, &path));
    if let Err(err) = placed {
        let _ = files::remove_file(&temp);
        return Err(files::failure("cannot enter the queue", &err, &path));
    }
    drop(lock);
    Ok(Ticket { seq, file, path })
}

/// Gives out the next ticket number, under the queue's lock: one more than the last one
/// given out (`seq`) and than every waiting entry's — so the numbering never goes back,
/// even after `seq` was lost — and records it in `seq` atomically (a new file renamed over
/// the old one: a crash or a full disk leaves the old number or the new one, never an
/// empty file) before it is used.
///
/// An empty `seq` (left by csa versions that rewrote it in place) counts as missing.
/// Errors: `seq` is refused or holds no number (`malformed state file`, naming the fix);
/// `waiting/` cannot be read; the new `seq` cannot be written (a full disk: nothing is
/// changed).
fn next_seq(queue: &Queue) -> Result<u64> {
    let path = queue.path.join(SEQ);
    let fix = "remove it: numbering goes on after the sessions waiting";
    let empty = files::metadata(&path).is_ok_and(|meta| meta.is_file() && meta.len() == 0);
    let last = if empty {
        0
    } else {
        read_count(&path)
            .map_err(|err| count_failure(&path, &err, fix))?
            .unwrap_or(0)
    };
    let dir = queue.waiting_dir();
    let newest_waiting = files::read_dir(&dir)
        .map_err(|err| files::failure("cannot read the queue", &err, &dir))?
        .iter()
        .filter_map(|entry| Some(parse_entry(entry.name_str()?)?.0))
        .max()
        .unwrap_or(0);
    let seq = last.max(newest_waiting).checked_add(1).ok_or_else(|| {
        files::malformed(
            &path,
            format!("the last ticket number given out is the largest there is; {fix}"),
        )
    })?;
    crate::store::record::write_bytes_atomic(
        &queue.path,
        SEQ,
        format!("{seq}\n").as_bytes(),
        false,
    )?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_sort_in_ticket_order_and_parse_back() {
        let id = "01JD0000000000000000000000";
        let (a, b) = (entry_name(9, id), entry_name(10, id));
        assert!(a < b);
        assert_eq!(parse_entry(&b), Some((10, id)));
        assert_eq!(parse_entry(".new-x"), None);
        assert_eq!(parse_entry("12-x"), None);
    }
}
