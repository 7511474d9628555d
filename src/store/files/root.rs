//! The state root belongs to its user (docs/format.md, "Ownership and malformed files"):
//! the directory must be owned by the user csa runs as and not writable by its group or
//! others — as ssh demands of `~/.ssh` and the XDG base directory specification of
//! `XDG_RUNTIME_DIR` — or every command refuses it. Root (uid 0) is no exception: a state
//! root owned by another user is refused to root too.
//!
//! The root's own path is the user's configuration (`CSA_STATE_DIR`, `XDG_STATE_HOME`,
//! `HOME`): the directories above it, and a symbolic link that is the root itself, are
//! followed and not checked; the directory reached is. A root created by csa is made
//! with mode 0700, and so is each missing directory above it. Below the root nothing is
//! followed ([`super`]).
//!
//! The check is one `open` and one `fstat` per process ([`check`]): the descriptor is kept,
//! and every path below the root is resolved from it.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::refusal::{Unsafe, check_dir, euid, user_name, why_refused};
use super::resolve;
use crate::exit::{CSA_ERROR, Failure};

/// Whether [`check`] creates a missing root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Create it (mode 0700, with its missing parents): commands that make sessions.
    Create,
    /// Leave it missing: commands that only look (an empty store).
    Leave,
}

/// Opens and checks the state root at `path` once per process, and keeps it for every
/// path below it to be resolved from. Returns false when it does not exist (and `missing`
/// is [`Missing::Leave`]).
///
/// Errors (exit 125): the root is not a directory, is another user's, or is writable by
/// group or others — one line naming the path, its owner and mode, and the fix
/// ([`unsafe_directory`]); it cannot be created or opened.
pub fn check(path: &Path, missing: Missing) -> anyhow::Result<bool> {
    if resolve::registered(path).is_some() {
        return Ok(true);
    }
    let dir = match open(path) {
        Ok(dir) => dir,
        Err(err) if err.kind() == io::ErrorKind::NotFound && missing == Missing::Create => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(|err| {
                    crate::exit::io_failure(
                        "cannot create the state root (check CSA_STATE_DIR)",
                        &err,
                        path.display(),
                    )
                })?;
            open(path).map_err(|err| open_failure(&err, path))?
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(open_failure(&err, path)),
    };
    let meta = std::fs::File::from(dir.try_clone().map_err(|err| open_failure(&err, path))?)
        .metadata()
        .map_err(|err| open_failure(&err, path))?;
    if let Err(err) = check_dir(&meta) {
        let why = why_refused(&err)
            .cloned()
            .unwrap_or(Unsafe::NotDirectory("unknown"));
        return Err(refusal(
            path,
            &why,
            meta.uid(),
            meta.permissions().mode(),
            true,
        ));
    }
    resolve::register(path, dir);
    Ok(true)
}

/// True when the state root this process checked at `path` has been removed since (its
/// directory has no link left), e.g. by `rm -rf` while a waiter waits. False when it is
/// there, or was never checked by this process.
pub fn removed(path: &Path) -> bool {
    resolve::registered(path)
        .and_then(|root| rustix::fs::fstat(&root.dir).ok())
        .is_some_and(|stat| stat.st_nlink == 0)
}

/// Opens the root directory (following symbolic links: its path is the user's own).
fn open(path: &Path) -> io::Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
}

fn open_failure(err: &io::Error, path: &Path) -> anyhow::Error {
    crate::exit::io_failure(
        "cannot open the state root (check CSA_STATE_DIR)",
        err,
        path.display(),
    )
}

/// The refusal of a directory of the state root (or the root itself) that is another
/// user's or writable by group or others; see [`refusal`].
pub fn unsafe_directory(path: &Path, why: &Unsafe) -> anyhow::Error {
    let meta = std::fs::symlink_metadata(path);
    let (uid, mode) = meta.map_or((euid(), 0), |meta| (meta.uid(), meta.permissions().mode()));
    refusal(path, why, uid, mode, false)
}

/// One line: what is wrong with the directory `path` (owner, mode) and the fix, exit 125.
fn refusal(path: &Path, why: &Unsafe, uid: u32, mode: u32, is_root: bool) -> anyhow::Error {
    let what = if is_root {
        "refusing the state root"
    } else {
        "refusing a directory in the state root"
    };
    let shown = crate::term::quote(&path.to_string_lossy());
    let message = match why {
        Unsafe::Owner(_) => format!(
            "{what}: owned by {}, mode {:04o}; csa uses only a directory owned by you, {}, that group and others cannot write ({}); set CSA_STATE_DIR to a directory of your own (csa creates it with mode 0700)",
            user_name(uid),
            mode & 0o7777,
            user_name(euid()),
            path.display()
        ),
        Unsafe::Writable(_) => format!(
            "{what}: writable by group or others, mode {:04o}, owned by you, {} ({}); make it yours alone: chmod go-w {shown}",
            mode & 0o7777,
            user_name(uid),
            path.display()
        ),
        other => format!("{what}: {other} ({})", path.display()),
    };
    Failure::new(CSA_ERROR, message).into()
}
