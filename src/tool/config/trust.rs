//! Whose configuration files csa reads. A configuration file names the commands `csa run`
//! starts (`[tools.sh] argv`, `[executors.slurm] csa`), so one that another user could have
//! written is never read: it would run that user's commands as whoever runs csa in the
//! directory — a `.csa/config.toml` planted in `/tmp` would run for every user working
//! below `/tmp`. As git refuses a repository owned by someone else, csa refuses a file
//! (followed through symbolic links) or its directory that is owned by another user than
//! the one csa runs as and root, or is writable by others. Group-writable files are read:
//! the group is trusted by the file's owner, as for a project shared by a team (and
//! Debian's per-user groups make a user's own files group-writable under umask 002).

use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Result;

use crate::exit::{CSA_ERROR, Failure};
use crate::store::files::{euid, user_name};

/// Checks the opened configuration file at `path` (its metadata: `file`) and the directory
/// it is in, as the module documentation says.
///
/// Errors (exit 125): one line naming the file or directory, its owner or mode, and the fix.
pub fn check(path: &Path, file: &Metadata) -> Result<()> {
    if !file.is_file() {
        return Err(refusal(
            path,
            path,
            "it is not a regular file",
            "replace it with one",
        ));
    }
    check_one(path, path, file, "it")?;
    let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    let meta = std::fs::metadata(dir).map_err(|err| {
        crate::exit::io_failure("cannot check the config's directory", &err, dir.display())
    })?;
    check_one(path, dir, &meta, "its directory")
}

/// The owner and mode rule for `checked` (the configuration file `path` or its directory),
/// `what` naming it in the message.
fn check_one(path: &Path, checked: &Path, meta: &Metadata, what: &str) -> Result<()> {
    let owner = meta.uid();
    if owner != euid() && owner != 0 {
        let readable = if euid() == 0 {
            "root's".to_owned()
        } else {
            format!("those of {} or root", user_name(euid()))
        };
        return Err(refusal(
            path,
            checked,
            &format!(
                "{what} is owned by {} and could name that user's commands (only {readable} are read)",
                user_name(owner),
            ),
            &format!(
                "remove it, or own it: chown {} {}",
                euid(),
                checked.display()
            ),
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(refusal(
            path,
            checked,
            &format!("{what} is writable by every user (mode {mode:04o})"),
            "chmod o-w it",
        ));
    }
    Ok(())
}

/// `not reading the config: WHY; FIX (PATH)` when the configuration file `path` itself is
/// refused, `not reading the config PATH: WHY; FIX (DIRECTORY)` when its directory is
/// (`checked`); exit 125.
fn refusal(path: &Path, checked: &Path, why: &str, fix: &str) -> anyhow::Error {
    let config = if checked == path {
        String::new()
    } else {
        format!(" {}", path.display())
    };
    Failure::new(
        CSA_ERROR,
        format!(
            "not reading the config{config}: {why}; {fix} ({})",
            checked.display()
        ),
    )
    .into()
}
