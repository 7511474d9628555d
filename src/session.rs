//! The session store (contract §1): the state root, session IDs and their resolution, and
//! the layout of a session directory.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use ulid::Ulid;

use crate::exit::{CSA_ERROR, Failure};

/// `session.toml`: what the session runs (see [`crate::record::SessionRecord`]).
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
/// `result.toml`: the job's result (see [`crate::record::ResultRecord`]).
pub const RESULT_TOML: &str = "result.toml";

/// The shortest session ID prefix `--session` accepts.
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
        Ok(Self { path })
    }

    /// `<root>/sessions`, where session directories live.
    pub fn sessions_dir(&self) -> PathBuf {
        self.path.join("sessions")
    }

    /// Creates `<root>/sessions` (and the root) with mode 0700 if missing.
    pub fn create_sessions_dir(&self) -> Result<PathBuf> {
        let dir = self.sessions_dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|err| {
                crate::exit::io_failure(
                    "cannot create the session store (check CSA_STATE_DIR)",
                    &err,
                    dir.display(),
                )
            })?;
        Ok(dir)
    }

    /// The directory of session `id` (it may not exist).
    pub fn session(&self, id: Ulid) -> SessionDir {
        SessionDir {
            id,
            path: self.sessions_dir().join(id.to_string()),
        }
    }

    /// Resolves a user-given `--session` value: a full ULID in any case, or a unique prefix
    /// of at least [`MIN_PREFIX_LEN`] characters.
    ///
    /// The text is validated as Crockford base32 before any path is built. Errors (exit
    /// 125): invalid text, no match, or an ambiguous prefix (naming the candidates).
    pub fn resolve(&self, given: &str) -> Result<SessionDir> {
        let wanted = validate_id_text(given)?;
        if wanted.len() == ID_LEN {
            let id = Ulid::from_string(&wanted).map_err(|err| {
                Failure::new(CSA_ERROR, format!("invalid session ID: {err} ({wanted})"))
            })?;
            let session = self.session(id);
            // Not followed: a symbolic link planted as a session directory would make csa
            // read and write files outside the store.
            return match fs::symlink_metadata(&session.path) {
                Ok(meta) if meta.is_dir() => Ok(session),
                Ok(_) => Err(Failure::new(
                    CSA_ERROR,
                    format!(
                        "not a session directory: it is not a plain directory ({})",
                        session.path.display()
                    ),
                )
                .into()),
                Err(_) => Err(no_such_session(&wanted, &self.sessions_dir()).into()),
            };
        }
        let mut matches = Vec::new();
        if let Ok(entries) = fs::read_dir(self.sessions_dir()) {
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    continue;
                }
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if let (true, Ok(id)) = (name.starts_with(&wanted), Ulid::from_string(name)) {
                    matches.push(id);
                }
            }
        }
        matches.sort();
        match matches.as_slice() {
            [] => Err(no_such_session(&wanted, &self.sessions_dir()).into()),
            [id] => Ok(self.session(*id)),
            many => {
                let shown: Vec<String> = many.iter().take(10).map(Ulid::to_string).collect();
                let more = if many.len() > 10 { ", …" } else { "" };
                Err(Failure::new(
                    CSA_ERROR,
                    format!(
                        "ambiguous session ID prefix: {} sessions match: {}{more}; give more characters ({wanted})",
                        many.len(),
                        shown.join(", ")
                    ),
                )
                .into())
            }
        }
    }
}

fn no_such_session(wanted: &str, dir: &Path) -> Failure {
    Failure::new(
        CSA_ERROR,
        format!(
            "no such session: no session ID starts with {wanted} in {} ({wanted})",
            dir.display()
        ),
    )
}

/// Checks that `given` can be a session ID or prefix: 4 to 26 Crockford base32 characters
/// (`0-9`, `A-Z` without `I L O U`), any case. Returns it in upper case.
///
/// Errors (exit 125) on anything else, without echoing more than a short, printable excerpt.
pub fn validate_id_text(given: &str) -> Result<String> {
    let upper = given.to_ascii_uppercase();
    let valid_chars = upper
        .bytes()
        .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)));
    let problem = if given.is_empty() {
        Some("it is empty")
    } else if !valid_chars {
        Some("session IDs are Crockford base32 (0-9, A-Z without I, L, O, U)")
    } else if upper.len() > ID_LEN {
        Some("session IDs are 26 characters long")
    } else if upper.len() < MIN_PREFIX_LEN {
        Some("give at least 4 characters of the session ID")
    } else {
        None
    };
    match problem {
        None => Ok(upper),
        Some(why) => {
            let excerpt: String = given
                .chars()
                .take(32)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            let ellipsis = if given.chars().count() > 32 {
                "…"
            } else {
                ""
            };
            Err(Failure::new(
                CSA_ERROR,
                format!("invalid session ID: {why} ({excerpt}{ellipsis})"),
            )
            .into())
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
        fs::DirBuilder::new().mode(0o700).create(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_text_validation() {
        assert_eq!(validate_id_text("01jd4k").unwrap(), "01JD4K");
        for bad in [
            "",
            "../x",
            "a/b",
            "01J",
            "01JD\0",
            "ILOU",
            "0123456789ABCDEFGHJKMNPQRSTV",
        ] {
            assert!(validate_id_text(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_id_text(&"0".repeat(10_000)).is_err());
    }
}
