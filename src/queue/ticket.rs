//! Joining a queue: a numbered ticket and a locked entry in `waiting/`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::Result;

use super::Queue;

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
/// Errors name the file that could not be created, read or locked.
pub fn enqueue(queue: &Queue, id: &str) -> Result<Ticket> {
    queue.create()?;
    let open = |path: PathBuf| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|err| crate::exit::io_failure("cannot open", &err, path.display()))
    };
    let lock = open(queue.path.join("lock"))?;
    lock.lock().map_err(|err| {
        crate::exit::io_failure("cannot lock", &err, queue.path.join("lock").display())
    })?;
    let seq_path = queue.path.join("seq");
    let mut counter = open(seq_path.clone())?;
    let mut text = String::new();
    let _ = counter.read_to_string(&mut text);
    let seq = text.trim().parse::<u64>().unwrap_or(0) + 1;
    let written = counter
        .rewind()
        .and_then(|()| counter.set_len(0))
        .and_then(|()| counter.write_all(format!("{seq}\n").as_bytes()));
    written.map_err(|err| crate::exit::io_failure("cannot write", &err, seq_path.display()))?;

    let waiting = queue.waiting_dir();
    let temp = waiting.join(format!(".new-{id}"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|err| crate::exit::io_failure("cannot create", &err, temp.display()))?;
    let path = waiting.join(entry_name(seq, id));
    let placed = file
        .try_lock()
        .map_err(|err| std::io::Error::other(err.to_string()))
        .and_then(|()| fs::rename(&temp, &path));
    if let Err(err) = placed {
        let _ = fs::remove_file(&temp);
        return Err(crate::exit::io_failure(
            "cannot enter the queue",
            &err,
            path.display(),
        ));
    }
    drop(lock);
    Ok(Ticket { seq, file, path })
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
