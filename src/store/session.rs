//! The session store (docs/format.md): the state root, session IDs and their resolution, and
//! the layout of a session directory.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use ulid::Ulid;

use crate::exit::{CSA_ERROR, Failure};
use crate::store::files;

mod handle;
mod names;
pub mod parallel;
mod short;
mod spool;

pub use handle::{HandleMistake, is_handle_mistake};
pub use short::{short_handle, short_handles};
pub use spool::{SpoolStamp, Stamp, spool_stamp, spool_stamps};

/// `session.toml`: what the session runs (see [`crate::store::record::SessionRecord`]).
pub const SESSION_TOML: &str = "session.toml";
/// `prompt.txt`: the prompt bytes, when the prompt came from standard input or went to the
/// job on standard input.
pub const PROMPT_TXT: &str = "prompt.txt";
/// `stdout.log`: the job's standard output, raw bytes (a spool file).
pub const STDOUT_LOG: &str = "stdout.log";
/// `stderr.log`: the job's standard error, raw bytes (a spool file).
pub const STDERR_LOG: &str = "stderr.log";
/// `daemon.pid`: `"<pid> <starttime>\n"` of the supervisor.
pub const DAEMON_PID: &str = "daemon.pid";
/// `lock`: empty; the supervisor holds an exclusive advisory lock on it for its whole life.
pub const LOCK: &str = "lock";
/// `queued`: exists while the job of a session with a queue or dependencies has not
/// started (empty; created by `run`, removed by the supervisor when it starts the job).
pub const QUEUED: &str = "queued";
/// `result.toml`: the job's result (see [`crate::store::record::ResultRecord`]).
pub const RESULT_TOML: &str = "result.toml";

/// The prefix of a session directory's name while `csa run` builds it: `sessions/.new-<ID>`,
/// renamed to `<ID>` once complete (docs/format.md). Never a session.
pub const STAGING_PREFIX: &str = ".new-";

/// The shortest session ID prefix or suffix a handle may be.
pub const MIN_PREFIX_LEN: usize = 4;
/// The length of a full ULID.
pub const ID_LEN: usize = 26;

/// The directory all state lives under: `$CSA_STATE_DIR`, else `$XDG_STATE_HOME/csa`, else
/// `$HOME/.local/state/csa`. Always absolute.
#[derive(Debug, Clone)]
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// Finds the state root from the environment.
    ///
    /// Errors when neither `CSA_STATE_DIR`, `XDG_STATE_HOME` nor `HOME` is set, or when a
    /// relative root cannot be made absolute.
    pub fn from_env() -> Result<Self> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let path = if let Some(dir) = non_empty("CSA_STATE_DIR") {
            PathBuf::from(dir)
        } else if let Some(dir) = non_empty("XDG_STATE_HOME").filter(|d| Path::new(d).is_absolute())
        {
            PathBuf::from(dir).join("csa")
        } else if let Some(home) = non_empty("HOME") {
            PathBuf::from(home).join(".local/state/csa")
        } else {
            return Err(Failure::new(
                CSA_ERROR,
                "cannot find the state root: none of CSA_STATE_DIR, XDG_STATE_HOME, HOME is set",
            )
            .into());
        };
        let path = std::path::absolute(&path)
            .with_context(|| format!("cannot make the state root absolute ({})", path.display()))?;
        let root = Self { path };
        root.check()?;
        Ok(root)
    }

    /// Checks that the state root, when it exists, is the user's alone (owned by the user,
    /// not writable by group or others), once per process; see [`files::root`]. Every
    /// command does, through [`StateRoot::from_env`] (the supervisor through this).
    ///
    /// Errors (exit 125): one line naming the path, its owner and mode, and the fix.
    pub fn check(&self) -> Result<()> {
        files::root::check(&self.path, files::root::Missing::Leave).map(drop)
    }

    /// True when the state root this process checked has been removed since (e.g. by
    /// `rm -rf` while a session runs).
    pub fn removed(&self) -> bool {
        files::root::removed(&self.path)
    }

    /// The state root that holds `session` (`<root>/sessions/<ID>/`).
    pub fn of_session(session: &SessionDir) -> Self {
        let path = session
            .path
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| session.path.clone(), Path::to_path_buf);
        Self { path }
    }

    /// The state root itself (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<root>/sessions`, where session directories live.
    pub fn sessions_dir(&self) -> PathBuf {
        self.path.join("sessions")
    }

    /// Creates `<root>/sessions` (and the root, and its missing parents) with mode 0700 if
    /// missing, and checks them (see [`StateRoot::check`]).
    ///
    /// Errors (exit 125): they cannot be created, or are refused.
    pub fn create_sessions_dir(&self) -> Result<PathBuf> {
        files::root::check(&self.path, files::root::Missing::Create)?;
        let dir = self.sessions_dir();
        files::ensure_dir(&dir).map_err(|err| {
            files::failure(
                "cannot create the session store (check CSA_STATE_DIR)",
                &err,
                &dir,
            )
        })?;
        Ok(dir)
    }

    /// The session IDs in the store, newest first. Entries that are not directories named
    /// by a canonical ULID (temporary files, symbolic links, anything else) are ignored; a
    /// missing store is empty. Reads one directory, no session file.
    ///
    /// Errors (exit 125) when the store exists but cannot be read.
    pub fn session_ids(&self) -> Result<Vec<Ulid>> {
        let dir = self.sessions_dir();
        let entries = match files::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(files::failure("cannot read the session store", &err, &dir)),
        };
        let mut ids: Vec<Ulid> = entries
            .into_iter()
            // Only real directories: a symbolic link in the store is not a session.
            .filter(|entry| entry.kind == files::Kind::Dir)
            .filter_map(|entry| {
                let name = entry.name_str()?;
                Ulid::from_string(name)
                    .ok()
                    .filter(|id| id.array_to_str(&mut [0; ID_LEN]) == name)
            })
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// The directory of session `id` (it may not exist).
    pub fn session(&self, id: Ulid) -> SessionDir {
        SessionDir {
            id,
            path: self.sessions_dir().join(id.to_string()),
        }
    }
}

/// One session's directory, `<root>/sessions/<ID>/`.
#[derive(Debug, Clone)]
pub struct SessionDir {
    /// The session ID.
    pub id: Ulid,
    /// The directory.
    pub path: PathBuf,
}

impl SessionDir {
    /// The path of `name` (one of the file-name constants of this module) in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The session ID as printed: 26 upper-case characters.
    pub fn id_string(&self) -> String {
        self.id.to_string()
    }

    /// Creates the directory with mode 0700. Fails if it already exists.
    pub fn create(&self) -> io::Result<()> {
        files::create_dir(&self.path)
    }

    /// THE unit-test fixture: a session with the nil ID whose directory is `path`.
    #[cfg(test)]
    pub fn sample(path: impl Into<PathBuf>) -> Self {
        Self {
            id: Ulid::nil(),
            path: path.into(),
        }
    }
}
