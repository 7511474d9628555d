//! What a running job last wrote: the time of its last output (how long it has been quiet)
//! and its last line, from the spool files `stdout.log` and `stderr.log`.
//!
//! Only the end of a spool file is read ([`TAIL_BYTES`]), never through a symbolic link,
//! and only when its size or modification time changed since the last look.

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::time::SystemTime;

use ulid::Ulid;

use crate::store::session::{self, SessionDir};

/// How much of the end of a spool file is read for its last line (bytes).
pub const TAIL_BYTES: u64 = 4096;

/// What a job last wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// When it last wrote to `stdout.log` or `stderr.log` (their latest modification).
    pub last_output: Option<SystemTime>,
    /// The last non-blank line of the spool file written last, escape sequences and
    /// control characters removed; empty when it wrote nothing.
    pub last_line: String,
}

/// One spool file as last seen.
type Seen = session::SpoolStamp;

/// The last look at each session's spool files, so that a file that did not change is not
/// read again.
#[derive(Debug, Default)]
pub struct Spools {
    seen: HashMap<Ulid, ([Seen; 2], Activity)>,
}

impl Spools {
    /// What the job of `session` last wrote: the spool files are looked at (two `statx`)
    /// and the end of the one written last is read when it changed.
    pub fn activity(&mut self, session: &SessionDir) -> &Activity {
        let now = session::spool_stamps(session);
        let entry = self.seen.entry(session.id).or_default();
        if entry.0 != now || (entry.1.last_output.is_none() && now.iter().any(Option::is_some)) {
            entry.0 = now;
            entry.1 = activity(session, now);
        }
        &entry.1
    }

    /// Forgets the sessions not in `keep` (those that ended or are no longer shown).
    pub fn retain(&mut self, keep: impl Fn(Ulid) -> bool) {
        self.seen.retain(|id, _| keep(*id));
    }
}

fn activity(session: &SessionDir, seen: [Seen; 2]) -> Activity {
    let last_output = seen.iter().flatten().map(|stamp| stamp.modified).max();
    // The file written last first; the other when it has no line.
    let mut names = [session::STDOUT_LOG, session::STDERR_LOG];
    if seen[1].map(|s| s.modified) > seen[0].map(|s| s.modified) {
        names.swap(0, 1);
    }
    let last_line = names
        .iter()
        .find_map(|name| last_line(&tail(&session.file(name))).filter(|l| !l.is_empty()))
        .unwrap_or_default();
    Activity {
        last_output,
        last_line,
    }
}

/// The last [`TAIL_BYTES`] of the file at `path` (empty when it cannot be read).
fn tail(path: &std::path::Path) -> Vec<u8> {
    let Ok((mut file, len)) = crate::store::files::Options::read().open_sized(path) else {
        return Vec::new();
    };
    let from = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() {
        return bytes;
    }
    let _ = file.take(TAIL_BYTES).read_to_end(&mut bytes);
    bytes
}

/// The last line of `bytes` that has something to show, cleaned with [`clean_line`].
pub fn last_line(bytes: &[u8]) -> Option<String> {
    bytes
        .split(|&b| b == b'\n' || b == b'\r')
        .rev()
        .map(clean_line)
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_owned())
}

/// `bytes` as one line of text for a terminal: invalid UTF-8 replaced, escape sequences
/// (CSI `ESC [ … final`, OSC `ESC ] … BEL or ESC \`, and two-byte `ESC x`) removed, other
/// control characters (tabs included) turned into spaces.
pub fn clean_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(if c.is_control() { ' ' } else { c });
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        assert_eq!(clean_line(b"\x1b[1;31merror\x1b[0m: x\ty"), "error: x y");
        assert_eq!(clean_line(b"\x1b]0;title\x07text"), "text");
        assert_eq!(clean_line(b"\x1b]8;;http://x\x1b\\link"), "link");
        assert_eq!(clean_line(b"a\x1b(Bb"), "aBb");
    }

    #[test]
    fn the_last_line_with_something_to_show() {
        assert_eq!(last_line(b"one\ntwo\n\n  \n").as_deref(), Some("two"));
        assert_eq!(last_line(b"10%\r20%\r30%").as_deref(), Some("30%"));
        assert_eq!(last_line(b"\x1b[2K\n"), None);
        assert_eq!(last_line(b""), None);
    }
}
