//! Making a new session's directory and files.
//!
//! **Staged** (a local session started detached — `csa run`'s usual path): the files are
//! written in a hidden directory, `sessions/.new-<ID>`, that no reader looks at (its name
//! is not a session ID), and the directory appears under its ID in one rename
//! ([`publish`]) once it is complete: `lock` held, `daemon.pid` written. So no file needs a
//! temporary name and a rename of its own, and no reader ever sees a session half made. A
//! `csa run` killed before the rename leaves only the hidden directory, which `session
//! clean` removes.
//!
//! **In place** (`--no-daemon`, or an executor that needs it:
//! [`crate::executor::HandOver::in_place`]): the directory is created under its ID at once, and
//! each file appears atomically by a rename of its own.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use ulid::Ulid;

use super::{Launch, Prepared};
use crate::store::files;
use crate::store::record::{self, ExecutorName, SessionRecord};
use crate::store::session::{self, SessionDir, StateRoot};

pub use crate::store::session::STAGING_PREFIX;

/// The space reserved for `stop.toml` (bytes), several times a request's length.
const STOP_TOML_BYTES: u64 = 512;

/// Creates a new, empty session directory (mode 0700) under a fresh ULID: staged (returned
/// as the second value) or in place.
pub(super) fn create_session_dir(
    root: &StateRoot,
    staged: bool,
) -> Result<(SessionDir, Option<PathBuf>)> {
    let sessions = root.create_sessions_dir()?;
    for _ in 0..16 {
        let id = Ulid::generate();
        let session = root.session(id);
        let staging = staged.then(|| sessions.join(format!("{STAGING_PREFIX}{id}")));
        let dir = staging.as_ref().unwrap_or(&session.path);
        let created = SessionDir {
            id,
            path: dir.clone(),
        }
        .create();
        match created {
            Ok(()) => return Ok((session, staging)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(crate::exit::io_failure(
                    "cannot create the session directory",
                    &err,
                    dir.display(),
                ));
            }
        }
    }
    Err(anyhow::anyhow!(
        "cannot create a session directory: every new ID was taken ({})",
        sessions.display()
    ))
}

/// Makes a staged session visible under its ID: renames its directory, never over an
/// existing one.
pub(super) fn publish(launch: &Launch<'_>) -> Result<()> {
    let Some(staging) = &launch.staging else {
        return Ok(());
    };
    let failed = |err: &io::Error| {
        files::failure(
            "cannot create the session directory",
            err,
            &launch.session.path,
        )
    };
    match files::rename_noreplace(staging, &launch.session.path) {
        Ok(true) => Ok(()),
        Ok(false) => Err(failed(&io::Error::from(io::ErrorKind::AlreadyExists))),
        Err(err) => Err(failed(&err)),
    }
}

/// Creates `lock`, locked, before anything else; reserves the space of `result.toml` and
/// `stop.toml` (so that a job filling the file system cannot keep them from being written,
/// nor itself from being stopped); takes its place under its parent, if any
/// ([`crate::tree::birth::adopt`]: refused under a session being stopped, none when the
/// parent has ended); writes `session.toml` and `prompt.txt`; and creates the spool files.
/// All files are mode 0600.
pub(super) fn prepare(launch: &Launch<'_>) -> Result<Prepared> {
    let Launch {
        args,
        job,
        cwd,
        fleet,
        executor,
        ..
    } = launch;
    let dir = launch.files();
    let staged = launch.staging.is_some();
    // `lock` first, so that no one ever sees the session without one (a session without
    // `lock` counts as being set up only briefly: src/ends/check.rs).
    let lock = if staged {
        create_locked_in_staging(&dir)?
    } else {
        create_locked(&dir)?
    };
    record::reserve_result(&dir)?;
    record::reserve(
        &dir.path,
        crate::store::stop_request::STOP_TOML,
        STOP_TOML_BYTES,
    )?;
    // Listed under the parent once `lock` is held: a stop of the parent's tree that finds
    // the listing waits for this session while the lock is held (see `crate::tree`).
    let parent = match &fleet.parent {
        Some(parent) => crate::tree::birth::adopt(parent, dir.id)?,
        None => None,
    };
    let record = SessionRecord {
        id: dir.id_string(),
        argv: job
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        tool: job.tool.clone(),
        cwd: cwd.to_string_lossy().into_owned(),
        name: args.name.clone(),
        timeout_ms: job.timeout.map(crate::executor::millis),
        idle_timeout_ms: job.idle_timeout.map(crate::executor::millis),
        created_at: record::timestamp(SystemTime::now()),
        csa_version: env!("CARGO_PKG_VERSION").to_owned(),
        stdin: job.stdin,
        tags: args.tag.clone(),
        parent: parent.as_ref().map(SessionDir::id_string),
        queue: fleet.admission.queue.clone(),
        after: fleet.admission.after.clone(),
        executor: ExecutorName::new(executor.name())?,
        env: args.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    };
    let text = toml::to_string(&record)
        .map_err(|err| anyhow::anyhow!("cannot serialize a record: {err}"))?;
    too_large(text.len())?;
    write_file(&dir, session::SESSION_TOML, text.as_bytes(), staged)?;
    if let Some(name) = &args.name {
        StateRoot::from_env()?.index_name(&dir, name)?;
    }
    if let Some(prompt) = &job.prompt_file {
        write_file(&dir, session::PROMPT_TXT, prompt, staged)?;
    }
    let create = |name: &str| {
        let path = dir.file(name);
        files::Options::append()
            .create_new()
            .blocking()
            .open(&path)
            .map_err(|err| files::failure("cannot create", &err, &path))
    };
    Ok(Prepared {
        lock,
        stdout: create(session::STDOUT_LOG)?,
        stderr: create(session::STDERR_LOG)?,
    })
}

/// Refuses a `session.toml` of `len` bytes over [`record::MAX_RECORD_BYTES`], the most any
/// reader of the store reads: a session no one could read (its name, tags and state
/// unseen) is never created. Exit code 2: the command line is too large.
fn too_large(len: usize) -> Result<()> {
    if len as u64 <= record::MAX_RECORD_BYTES {
        return Ok(());
    }
    Err(crate::exit::Failure::new(
        crate::exit::USAGE,
        format!(
            "command line too large: its session record would be {len} bytes, over the 1 MiB \
             every reader of the state root accepts; pass large arguments, --env values or \
             prompts in a file (a prompt on standard input is kept apart and may be up to 10 MiB)"
        ),
    )
    .into())
}

/// Writes `bytes` as the file `name` of the session's directory: directly when it is
/// staged (no one reads it yet), else atomically through a temporary file and a rename.
pub(super) fn write_file(dir: &SessionDir, name: &str, bytes: &[u8], staged: bool) -> Result<()> {
    if !staged {
        return record::write_bytes_atomic(&dir.path, name, bytes, false).map(drop);
    }
    let path = dir.file(name);
    files::Options::write()
        .create_new()
        .open(&path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|err| files::failure("cannot write", &err, &path))
}

/// Creates `lock` in a staged directory, exclusively locked (no reader sees it before the
/// directory is published).
fn create_locked_in_staging(dir: &SessionDir) -> Result<File> {
    let path = dir.file(session::LOCK);
    let file = files::Options::read_write()
        .create_new()
        .open(&path)
        .map_err(|err| files::failure("cannot create", &err, &path))?;
    file.try_lock()
        .map_err(|err| anyhow::anyhow!("cannot lock {}: {err}", path.display()))?;
    Ok(file)
}

/// Creates `lock` already locked: a temporary file in the session directory (mode 0600),
/// exclusively locked, then renamed to `lock` without replacing one. A `lock` that exists
/// was locked from its first moment, so a free one always means its holder is gone: a
/// waiter never mistakes a session being set up for a dead one.
fn create_locked(session: &SessionDir) -> Result<File> {
    let path = session.file(session::LOCK);
    let failed = |err: io::Error| files::failure("cannot create", &err, &path);
    let temp = files::Temp::new_in(&session.path, ".tmp-lock-").map_err(failed)?;
    temp.file()
        .try_lock()
        .map_err(|err| anyhow::anyhow!("cannot lock {}: {err}", path.display()))?;
    temp.persist(std::ffi::OsStr::new(session::LOCK), files::Replace::No)
        .map_err(failed)?
        .ok_or_else(|| failed(io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Removes what was made of a session that failed to start: its queue entry, its listing
/// under its parent, its staged directory, and the published one (a path only this session
/// can have). When a directory cannot be walked (no descriptor is free: `ulimit -n`), the
/// files `run` makes are removed by name, which needs none; what still cannot be removed is
/// reported on stderr.
pub(super) fn remove(launch: &Launch<'_>) {
    // Its queue entry too: a session that was never started waits for nothing.
    if let Some(ticket) = &launch.fleet.admission.ticket {
        ticket.leave();
    }
    if let Some(parent) = &launch.fleet.parent {
        crate::tree::birth::unregister(parent, launch.session.id);
    }
    let dirs = launch
        .staging
        .iter()
        .chain(std::iter::once(&launch.session.path));
    for dir in dirs {
        match files::remove_dir_all(dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                for name in RUN_MAKES {
                    let _ = files::remove_file(&dir.join(name));
                }
                let _ =
                    files::remove_file(&dir.join(record::reservation_name(session::RESULT_TOML)));
                let _ = files::remove_file(&dir.join(record::reservation_name(
                    crate::store::stop_request::STOP_TOML,
                )));
                match files::remove_dir(dir) {
                    Ok(()) => {}
                    Err(again) if again.kind() == io::ErrorKind::NotFound => {}
                    Err(_) => crate::note!(
                        "cannot remove the unfinished session directory {}: {}; `csa session clean` removes it",
                        dir.display(),
                        crate::exit::io_why(&err)
                    ),
                }
            }
        }
    }
}

/// The files `run` makes in a session directory before the supervisor starts.
const RUN_MAKES: [&str; 6] = [
    session::LOCK,
    session::SESSION_TOML,
    session::PROMPT_TXT,
    session::STDOUT_LOG,
    session::STDERR_LOG,
    session::DAEMON_PID,
];
