//! The one path by which csa writes human messages to standard error.
//!
//! `eprintln!` panics when standard error is closed or its reader is gone (`EPIPE`), and
//! with `panic = "abort"` a panic in the middle of `session kill` would leave a job
//! half-stopped. Every message csa prints on stderr — notes, warnings, the final error
//! line, directives — goes through [`write_line`], which never fails: a message nobody can
//! read is dropped, and the command carries on (as ripgrep treats a gone reader).

use std::io::Write as _;

/// Writes `line` and a newline to standard error in one `write`, ignoring every error
/// (closed descriptor, `EPIPE`, `ENOSPC`). Never panics.
pub fn write_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&bytes);
}

/// Prints a note on standard error, `csa: ` followed by the formatted text, through
/// [`write_line`]: never panics, never fails the command.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::report::write_line(&format!("csa: {}", format_args!($($arg)*)))
    };
}

/// The environment variable that turns debug output on: set to anything but empty or `0`.
pub const DEBUG_VAR: &str = "CSA_DEBUG";

/// True when [`DEBUG_VAR`] asks for debug output: csa then writes `csa: debug: …` lines on
/// standard error ([`debug!`](crate::debug)) about what it does behind the scenes that a
/// user may want to know when something is slow — e.g. a queue's head that has no inotify
/// instance and looks at the slots on a timer instead. A supervisor's standard error is its
/// session's `stderr.log`, so its lines go there (before the job's output).
pub fn debugging() -> bool {
    std::env::var_os(DEBUG_VAR).is_some_and(|value| !value.is_empty() && value != "0")
}

/// Prints a debug line on standard error, `csa: debug: ` followed by the formatted text,
/// when [`debugging`] — through [`write_line`]: never panics, never fails the command.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::report::debugging() {
            $crate::report::write_line(&format!("csa: debug: {}", format_args!($($arg)*)))
        }
    };
}
