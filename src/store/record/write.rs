//! Writing the records of a session directory: atomically (the whole file appears at once,
//! under its final name, by a rename in the same directory) and, for `result.toml`, exactly
//! once (the rename never replaces an existing file) and durably (the file fsynced before
//! its rename; the directory too, except after the rename of `result.toml`, whose
//! reservation is adopted after a crash instead: see `write_in_place`).
//!
//! **A full file system never loses a result.** A job may fill the file system with its
//! spool files; its result must still be recorded. So `csa run` reserves the space of
//! `result.toml` when it creates the session ([`reserve_result`]): a hidden file,
//! `.result.toml.reserve`, whose blocks are allocated up front. [`write_result`] writes the
//! result into those blocks in place, trims the file to the result's length (which frees
//! blocks, never needs one), fsyncs it and renames it to `result.toml` without replacing an
//! existing one, so the guarantees of a temporary file and a rename hold. Writers of the
//! same session's result (a `wait` and a `list` that both find it lost) take turns through
//! an exclusive `flock` on the reservation; the first one renames it, the others find
//! `result.toml` and write nothing. Without a reservation (a session made by an older csa)
//! the record goes through a temporary file as before.
//!
//! Copy-on-write file systems (btrfs, ZFS) may need new blocks even to overwrite reserved
//! ones; there the reservation makes a lost result unlikely, not impossible.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use rustix::fs::FallocateFlags;
use rustix::io::Errno;
use serde::Serialize;

use super::ResultRecord;
use crate::exit::io_failure;
use crate::store::files;
use crate::store::session::{self, SessionDir};

/// The space reserved for `result.toml` (bytes): one block of common file systems, and
/// about ten times a typical result. A longer `reason` is shortened to fit.
pub const RESERVED_RESULT_BYTES: u64 = 4096;

/// The name of the reservation for the file `target` of a session directory:
/// `.<target>.reserve`, e.g. `.result.toml.reserve`.
pub fn reservation_name(target: &str) -> String {
    format!(".{target}.reserve")
}

/// Reserves `len` bytes of disk space in `dir` for the file `target`, written later with
/// [`write_reserved`]: creates `dir/.<target>.reserve` (mode 0600) and allocates its blocks
/// (`fallocate`; where the file system has none, by writing zeros).
///
/// Errors (exit 125) when the file exists already or the space cannot be had (`ENOSPC`),
/// e.g. `cannot reserve space for result.toml: No space left on device (<path>)`; nothing is
/// left behind then.
pub fn reserve(dir: &Path, target: &str, len: u64) -> Result<()> {
    let path = dir.join(reservation_name(target));
    let what = format!("cannot reserve space for {target}");
    let mut file = files::Options::write()
        .create_new()
        .open(&path)
        .map_err(|err| files::failure(&what, &err, &path))?;
    let allocated = match rustix::fs::fallocate(&file, FallocateFlags::empty(), 0, len) {
        Err(Errno::OPNOTSUPP | Errno::NOSYS) => {
            let zeros = vec![0; usize::try_from(len).unwrap_or(0)];
            file.write_all(&zeros).and_then(|()| file.flush())
        }
        other => other.map_err(io::Error::from),
    };
    allocated.map_err(|err| {
        let _ = files::remove_file(&path);
        io_failure(&what, &err, path.display())
    })
}

/// Reserves the space of the session's `result.toml` ([`RESERVED_RESULT_BYTES`]); see
/// [`reserve`]. `csa run` calls it when it creates the session, before the job can start;
/// so does anything else that creates sessions.
pub fn reserve_result(session: &SessionDir) -> Result<()> {
    reserve(&session.path, session::RESULT_TOML, RESERVED_RESULT_BYTES)
}

/// Records `result` as the session's `result.toml`: exactly once, atomically, durably, and
/// into the space [`reserve_result`] set aside when there is one (so a full file system
/// cannot stop it). Then removes the unused reservation of `stop.toml`, if any. Every writer of `result.toml` — the supervisor, `--no-daemon`, the
/// synthetic results of `kill` and of lost sessions, executors — goes through here.
///
/// Returns `Ok(false)` when the session already has a result: nothing was written, and
/// the one on disk stands. Errors with [`Unrecorded`] in the chain (see [`is_unrecorded`])
/// when the result cannot be written; the message names `result.toml`.
pub fn write_result(session: &SessionDir, result: &ResultRecord) -> Result<bool> {
    let written = write_result_only(session, result)?;
    remove_stop_reservation(session);
    Ok(written)
}

/// [`write_result`] without removing the reservation of `stop.toml`: for a supervisor,
/// which lets go of its lock first (a waiter wakes sooner) and then calls
/// [`remove_stop_reservation`].
pub fn write_result_only(session: &SessionDir, result: &ResultRecord) -> Result<bool> {
    let text = result_text(result)?;
    write_reserved(&session.path, session::RESULT_TOML, text.as_bytes(), true).map_err(|err| {
        Unrecorded {
            message: format!("{err:#}"),
        }
        .into()
    })
}

/// Once the result is durable, nothing is left to stop: gives back the space of a stop
/// request that never came (removes `.stop.toml.reserve`). Best effort.
pub fn remove_stop_reservation(session: &SessionDir) {
    let unused = reservation_name(crate::store::stop_request::STOP_TOML);
    let _ = files::remove_file(&session.file(&unused));
}

/// The longest `id`, `started_at` and `finished_at` of a result (bytes): a session ID is 26
/// characters and a timestamp about 24, so only a damaged value is ever cut. With them
/// bounded, a result without its `reason` is a few hundred bytes: it always fits in
/// [`RESERVED_RESULT_BYTES`].
const MAX_FIELD_BYTES: usize = 64;

/// The TOML text of `result`, fitting in [`RESERVED_RESULT_BYTES`]: its `reason` is halved
/// (ending in `…`) until the text fits, and dropped when even `…` does not; the other text
/// fields are cut to [`MAX_FIELD_BYTES`]. Each round shortens the reason or drops it, so
/// this ends.
fn result_text(result: &ResultRecord) -> Result<String> {
    let mut shortened = result.clone();
    for field in [&mut shortened.id, &mut shortened.finished_at]
        .into_iter()
        .chain(shortened.started_at.as_mut())
    {
        cut(field, MAX_FIELD_BYTES);
    }
    loop {
        let text =
            toml::to_string(&shortened).context("cannot serialize the result of a session")?;
        if text.len() as u64 <= RESERVED_RESULT_BYTES {
            return Ok(text);
        }
        match shortened.reason.as_mut() {
            Some(reason) if !reason.trim_end_matches('…').is_empty() => {
                let keep = reason.trim_end_matches('…').len() / 2;
                cut(reason, keep);
                reason.push('…');
            }
            Some(_) => shortened.reason = None,
            // Not reached (the other fields are bounded); a longer text is still written,
            // beyond the reservation.
            None => return Ok(text),
        }
    }
}

/// Cuts `text` to at most `len` bytes, at a character boundary.
fn cut(text: &mut String, len: usize) {
    if text.len() > len {
        let mut keep = len;
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
        text.truncate(keep);
    }
}

/// The error of a `result.toml` that could not be written (a full file system without a
/// reservation, a file size limit, a read-only store). Commands decide what it means for
/// them: `wait` exits 124, `kill` 125, `list` and `result` show the session as lost.
#[derive(Debug)]
pub struct Unrecorded {
    /// One line: `cannot write: <why> (<path of result.toml>)`.
    message: String,
}

impl fmt::Display for Unrecorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Unrecorded {}

/// True when `err` is, or was caused by, a result that could not be written ([`Unrecorded`]).
pub fn is_unrecorded(err: &anyhow::Error) -> bool {
    err.chain().any(<dyn std::error::Error>::is::<Unrecorded>)
}

/// `err`, ending csa with `code` when it is a result that could not be recorded
/// ([`is_unrecorded`]); any other error unchanged. The message is kept.
pub fn recode_unrecorded(err: anyhow::Error, code: u8) -> anyhow::Error {
    if is_unrecorded(&err) {
        crate::exit::Failure::new(code, format!("{err:#}")).into()
    } else {
        err
    }
}

/// Writes `bytes` as `dir/target`, through its reservation (see [`reserve`]) when there is
/// one, else through a temporary file ([`write_bytes_atomic`]); `exactly_once` as there.
///
/// Returns `Ok(false)` when `exactly_once` and the file already exists (it may have appeared
/// while this write failed). Errors (exit 125): `cannot write: <why> (<dir/target>)`.
pub fn write_reserved(dir: &Path, target: &str, bytes: &[u8], exactly_once: bool) -> Result<bool> {
    let path = dir.join(target);
    let first_error = match write_in_place(dir, target, bytes, exactly_once) {
        Ok(Some(written)) => return Ok(written),
        Ok(None) => None,
        Err(err) => Some(err),
    };
    match write_temp(dir, target, bytes, exactly_once) {
        Ok(written) => Ok(written),
        // Another writer may have recorded it meanwhile; theirs stands.
        Err(_) if exactly_once && files::exists(&path) => Ok(false),
        Err(err) => Err(io_failure(
            "cannot write",
            first_error.as_ref().unwrap_or(&err),
            path.display(),
        )),
    }
}

/// Writes `bytes` into the reservation of `target` and renames it to `target`. Returns
/// `Ok(None)` when there is no reservation (any more).
fn write_in_place(
    dir: &Path,
    target: &str,
    bytes: &[u8],
    exactly_once: bool,
) -> io::Result<Option<bool>> {
    let reservation = dir.join(reservation_name(target));
    let path = dir.join(target);
    // Not followed, never blocking on a FIFO planted under the name, and only a file of
    // ours: anything else is not a reservation.
    let file = match files::Options::write().open(&reservation) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if files::why_refused(&err).is_some() => return Ok(None),
        Err(err) => return Err(err),
    };
    let ours = file.metadata()?;
    // One writer at a time; the lock goes with the descriptor.
    file.lock()?;
    if exactly_once && files::exists(&path) {
        return Ok(Some(false));
    }
    // A writer before us may have used it (and renamed it) while we waited.
    match files::metadata(&reservation) {
        Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
        _ => return Ok(None),
    }
    file.write_all_at(bytes, 0)?;
    file.set_len(bytes.len() as u64)?;
    file.sync_all()?;
    if exactly_once {
        if !files::rename_noreplace(&reservation, &path)? {
            return Ok(Some(false));
        }
    } else {
        files::rename(&reservation, &path)?;
    }
    // The directory is not fsynced after the rename of `result.toml`: its text is durable
    // in the file already, and a rename lost in a crash leaves that file under its
    // reservation's name, which the next look adopts (`adopt`) — so a result, once seen,
    // is never replaced by `lost`. Other records get the directory fsync.
    if !(exactly_once && target == session::RESULT_TOML) {
        files::sync_dir(dir);
    }
    Ok(Some(true))
}

/// Serializes `record` as TOML and writes it to `dir/name` atomically (temporary file in
/// `dir` with mode 0600, then rename).
///
/// With `exactly_once`, the file is fsynced, the rename never replaces an existing file
/// (`renameat2(RENAME_NOREPLACE)`), and the directory is fsynced; `Ok(false)` means the file
/// already existed and nothing was written. Otherwise an existing file is replaced.
/// `result.toml` is written with [`write_result`] instead.
pub fn write_atomic<T: Serialize>(
    dir: &Path,
    name: &str,
    record: &T,
    exactly_once: bool,
) -> Result<bool> {
    let text = toml::to_string(record).context("cannot serialize a record")?;
    write_bytes_atomic(dir, name, text.as_bytes(), exactly_once)
}

/// Writes `bytes` to `dir/name` atomically; see [`write_atomic`]. Errors (exit 125):
/// `cannot write: <why> (<dir/name>)`.
pub fn write_bytes_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    exactly_once: bool,
) -> Result<bool> {
    write_temp(dir, name, bytes, exactly_once)
        .map_err(|err| io_failure("cannot write", &err, dir.join(name).display()))
}

/// [`write_bytes_atomic`] with the bare I/O error.
fn write_temp(dir: &Path, name: &str, bytes: &[u8], exactly_once: bool) -> io::Result<bool> {
    let temp = files::Temp::new_in(dir, ".tmp-")?;
    temp.file().write_all(bytes)?;
    let replace = if exactly_once {
        files::Replace::No
    } else {
        files::Replace::Yes
    };
    Ok(temp.persist(OsStr::new(name), replace)?.is_some())
}

#[cfg(test)]
mod tests;
