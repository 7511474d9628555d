//! Session handles: what a user may type wherever a session is named (docs/shell.md,
//! "Session handles").
//!
//! In order of precedence:
//! 1. `last`: the newest session (the greatest ID; one directory read, no file read).
//! 2. A full session ID, 26 characters, any case: that session.
//! 3. Otherwise every session the text matches counts: a session ID that starts with it
//!    (a prefix) or ends with it (a suffix: the random part of the ULID), at least 4
//!    Crockford base32 characters in any case; and the newest session whose `--name` is
//!    exactly the text. One session: that one. Several: an error naming each candidate
//!    (ID, how it matched, name, age), so a name that is also the prefix of another
//!    session's ID never silently picks the wrong session.
//!
//! A handle is checked before anything is looked up: empty text, control characters (NUL
//! included) and over [`MAX_HANDLE_LEN`] bytes are refused. Only IDs read from the store's
//! directory build paths; a name is compared through the name index (`names.rs`), so `/`
//! or `..` in a handle never reaches the file system.

use std::fmt::Write as _;
use std::time::SystemTime;

use anyhow::Result;
use ulid::Ulid;

use super::{ID_LEN, MIN_PREFIX_LEN, SessionDir, StateRoot};
use crate::exit::{CSA_ERROR, Failure};

/// The handle forms, in one line, for `--help` texts and error messages.
pub const HANDLE_FORMS: &str = "a session ID, a unique prefix or suffix of it (at least 4 characters, any case), `last` (the newest session), or a session name (the newest session with that --name)";

/// The longest handle accepted, in bytes (names are refused over this length too).
pub const MAX_HANDLE_LEN: usize = 1024;

/// The handle that means the newest session.
pub const LAST: &str = "last";

/// How many candidates an ambiguity error names.
const SHOWN: usize = 5;

/// How a candidate matched a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matched {
    Prefix,
    Suffix,
    Name,
}

impl Matched {
    fn as_str(self) -> &'static str {
        match self {
            Self::Prefix => "ID prefix",
            Self::Suffix => "ID suffix",
            Self::Name => "name",
        }
    }
}

impl StateRoot {
    /// Resolves a session handle (see the module documentation for the forms and their
    /// precedence) to the session's directory. Reads the store's directory, the name index
    /// (unless the handle is `last` or a full ID) and the `session.toml` of sessions whose
    /// name hash matches; never every `session.toml`.
    ///
    /// Errors (exit 125): an invalid handle, no match (naming what was tried), several
    /// matches (naming the candidates), an empty store for `last`, a full ID whose entry is
    /// not a plain directory.
    pub fn resolve(&self, handle: &str) -> Result<SessionDir> {
        check_text(handle)?;
        if handle == LAST {
            let ids = self.session_ids()?;
            return match ids.first() {
                Some(id) => Ok(self.session(*id)),
                None => Err(mistake(format!(
                    "no such session: `last` names the newest session, and there is none in {} (last)",
                    self.sessions_dir().display()
                ))),
            };
        }
        let upper = handle.to_ascii_uppercase();
        let id_like = is_base32(&upper) && (MIN_PREFIX_LEN..=ID_LEN).contains(&upper.len());
        if let Some(id) = Ulid::from_string(&upper).ok().filter(|_| id_like)
            && let Some(session) = self.existing(id)?
        {
            return Ok(session);
        }
        // The directory before the index: a session is indexed before it appears under its
        // ID (names.rs), so every session listed here has its entry read below.
        let ids = self.session_ids()?;
        let entries = self.name_entries();
        let mut found: Vec<(Ulid, Matched)> = Vec::new();
        if id_like {
            let mut text = [0; ID_LEN];
            for id in &ids {
                let text = id.array_to_str(&mut text);
                if text.starts_with(&upper) {
                    found.push((*id, Matched::Prefix));
                } else if text.ends_with(&upper) {
                    found.push((*id, Matched::Suffix));
                }
            }
        }
        if let Some(id) = self.newest_named(handle, &entries, &ids)
            && !found.iter().any(|(other, _)| *other == id)
        {
            found.push((id, Matched::Name));
        }
        match found.as_slice() {
            [] => Err(self.no_match(handle, id_like)),
            [(id, _)] => Ok(self.session(*id)),
            many => Err(self.ambiguous(handle, many)),
        }
    }

    /// Session `id`, if its directory exists; an error when the entry is not a plain
    /// directory (a symbolic link planted there would make csa read and write files
    /// outside the store).
    fn existing(&self, id: Ulid) -> Result<Option<SessionDir>> {
        let session = self.session(id);
        match crate::store::files::metadata(&session.path) {
            Ok(meta) if meta.is_dir() => Ok(Some(session)),
            Ok(_) => Err(failure(format!(
                "not a session directory: it is not a plain directory ({})",
                session.path.display()
            ))),
            Err(_) => Ok(None),
        }
    }

    /// The error for a handle nothing matches: what was tried, and where.
    fn no_match(&self, handle: &str, id_like: bool) -> anyhow::Error {
        let shown = excerpt(handle);
        let tried = if id_like {
            "as a session ID, ID prefix, ID suffix or session name"
        } else {
            "as a session name (it cannot be part of a session ID: those are Crockford base32, 0-9 and A-Z without I, L, O, U, at least 4 characters)"
        };
        mistake(format!(
            "no such session: nothing matches {shown:?} {tried} in {}; `csa session list` shows them ({shown})",
            self.sessions_dir().display()
        ))
    }

    /// The error for a handle several sessions match, naming each (up to [`SHOWN`]).
    fn ambiguous(&self, handle: &str, many: &[(Ulid, Matched)]) -> anyhow::Error {
        let mut sorted = many.to_vec();
        sorted.sort_unstable_by_key(|(id, _)| std::cmp::Reverse(*id));
        let now = SystemTime::now();
        let mut list = String::new();
        for (n, (id, how)) in sorted.iter().take(SHOWN).enumerate() {
            let sep = if n == 0 { "" } else { "; " };
            let name = self.name_of(*id).map_or_else(
                || "no name".to_owned(),
                |name| format!("name {:?}", excerpt(&name)),
            );
            let age = crate::term::age(now.duration_since(id.datetime()).unwrap_or_default());
            let _ = write!(list, "{sep}{id} ({}, {name}, started {age})", how.as_str());
        }
        if sorted.len() > SHOWN {
            let _ = write!(list, "; and {} more", sorted.len() - SHOWN);
        }
        let shown = excerpt(handle);
        mistake(format!(
            "ambiguous session handle: {} sessions match {shown:?}: {list}; give more characters or the full ID ({shown})",
            sorted.len()
        ))
    }
}

/// Checks a handle's text before anything is looked up. Errors (exit 125) for empty text,
/// control characters, or more than [`MAX_HANDLE_LEN`] bytes, without echoing more than a
/// short, printable excerpt.
fn check_text(handle: &str) -> Result<()> {
    let why = if handle.is_empty() {
        "it is empty"
    } else if handle.len() > MAX_HANDLE_LEN {
        "it is longer than 1024 bytes"
    } else if handle.chars().any(char::is_control) {
        "it contains control characters"
    } else {
        return Ok(());
    };
    Err(mistake(format!(
        "invalid session handle: {why}; give {HANDLE_FORMS} ({})",
        excerpt(handle)
    )))
}

/// True when `upper` is Crockford base32 in upper case (`0-9`, `A-Z` without `I L O U`).
fn is_base32(upper: &str) -> bool {
    upper
        .bytes()
        .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// At most 32 characters of `text`, control characters shown as `?`, `…` when cut.
fn excerpt(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(32)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > 32 {
        shown.push('…');
    }
    shown
}

fn failure(message: String) -> anyhow::Error {
    Failure::new(CSA_ERROR, message).into()
}

/// A handle that names no session, several sessions, or cannot name one: the caller's
/// mistake rather than csa's. The session commands end with exit 125 for it, as for any
/// csa error (the contract's "unknown or ambiguous ID"); `csa run --after` makes it a
/// usage error ([`is_handle_mistake`]).
#[derive(Debug)]
pub struct HandleMistake(String);

impl std::fmt::Display for HandleMistake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HandleMistake {}

/// True when `err` says a handle names no session or several ([`HandleMistake`]).
pub fn is_handle_mistake(err: &anyhow::Error) -> bool {
    err.chain()
        .any(<dyn std::error::Error + 'static>::is::<HandleMistake>)
}

fn mistake(message: String) -> anyhow::Error {
    HandleMistake(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_text_is_checked_first() {
        for bad in ["", "01JD\0", "a\nb", "\x1b[31m"] {
            assert!(check_text(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_text(&"0".repeat(MAX_HANDLE_LEN + 1)).is_err());
        for good in ["01jd4k", "last", "api tests", "a/b", "ÄÖÜ"] {
            assert!(check_text(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn base32_excludes_i_l_o_u() {
        assert!(is_base32("01JD4K"));
        for bad in ["ILOU", "01J-", "01j"] {
            assert!(!is_base32(bad), "{bad:?}");
        }
    }

    #[test]
    fn resolution_by_prefix_suffix_last_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot {
            path: dir.path().to_owned(),
        };
        root.create_sessions_dir().unwrap();
        let old = Ulid::from_string("01JD0000000000000000ABCDEF").unwrap();
        let new = Ulid::from_string("01JE0000000000000000GHJKMN").unwrap();
        for id in [old, new] {
            root.session(id).create().unwrap();
        }
        let named = |id: Ulid, name: &str| {
            let text = format!(
                "id = \"{id}\"\nargv = [\"true\"]\ntool = \"sh\"\ncwd = \"/\"\nname = {name:?}\ncreated_at = \"2024-01-01T00:00:00Z\"\ncsa_version = \"0\"\n"
            );
            std::fs::write(root.session(id).file(super::super::SESSION_TOML), text).unwrap();
            root.index_name(&root.session(id), name).unwrap();
        };
        named(old, "build");
        named(new, "ABCDEF");
        assert_eq!(root.resolve("last").unwrap().id, new);
        assert_eq!(root.resolve("01jd").unwrap().id, old);
        assert_eq!(root.resolve("GHJKMN").unwrap().id, new);
        assert_eq!(root.resolve("build").unwrap().id, old);
        assert_eq!(root.resolve(&old.to_string()).unwrap().id, old);
        // "ABCDEF" is the suffix of one session and the name of another: ambiguous.
        let err = root.resolve("ABCDEF").unwrap_err().to_string();
        assert!(
            err.contains(&old.to_string()) && err.contains(&new.to_string()),
            "{err}"
        );
        let err = root.resolve("nothing").unwrap_err().to_string();
        assert!(err.starts_with("no such session"), "{err}");
        assert!(root.resolve("01J").is_err());
    }
}
