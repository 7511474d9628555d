//! Exit codes of csa, as listed in docs/exit-codes.md, and the error type that carries one.

use std::fmt;

pub mod table;

/// The job or command succeeded.
pub const SUCCESS: u8 = 0;
/// `session wait` on a session whose supervisor vanished without a result (`status = "lost"`).
pub const LOST: u8 = 1;
/// A session whose dependency (`--after`) did not end with `success`, so its job never
/// started (`status = "skipped"`).
pub const SKIPPED: u8 = 1;
/// `csa run --executor slurm` whose job `sbatch` refused (the session records the
/// `failure` result).
pub const SLURM_REFUSED: u8 = 1;
/// `queue rm` left the queue in place: a session runs in it or waits for it.
pub const QUEUE_BUSY: u8 = 1;
/// `session rm` left a session in place: it (or one of its descendants) still runs or
/// waits.
pub const RM_REFUSED: u8 = 1;
/// `session attach` left with Ctrl-C: the job keeps running (128 + SIGINT, as POSIX
/// shells report an interrupt).
pub const DETACHED: u8 = 130;
/// Usage error (bad flags or arguments), as clap reports it.
pub const USAGE: u8 = 2;
/// The job was stopped by `--timeout`, or a dead session's result could not be
/// reconstructed — the same code as timeout(1).
pub const TIMEOUT: u8 = 124;
/// csa itself failed: unknown or ambiguous session ID, I/O error, malformed state file.
pub const CSA_ERROR: u8 = 125;
/// The program exists but is not executable, as POSIX shells report.
pub const NOT_EXECUTABLE: u8 = 126;
/// The program was not found, as POSIX shells report.
pub const NOT_FOUND: u8 = 127;

/// The exit code of a job ended by signal `signal`: 128 + signal number, as POSIX shells
/// report it. Signal numbers above 127 are clamped to 255.
pub fn from_signal(signal: i32) -> u8 {
    u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX)
}

/// An error that must end csa with a specific exit code (see the constants above).
///
/// Errors without a `Failure` in their chain end csa with [`CSA_ERROR`].
#[derive(Debug)]
pub struct Failure {
    /// The exit code csa ends with.
    pub code: u8,
    /// One line, without the leading `csa: `.
    pub message: String,
}

impl Failure {
    /// A failure with exit code `code` and a one-line message.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An I/O failure in csa's one-line error form (docs/agents.md, "Directives"): `<what>: <why> (<place>)`, exit
/// [`CSA_ERROR`], where `place` is a path or a session ID. `why` is the system's
/// description of `err` without its `(os error N)` suffix, e.g.
/// `cannot read: Permission denied (/s/01JD…/result.toml)`.
pub fn io_failure(what: &str, err: &std::io::Error, place: impl fmt::Display) -> anyhow::Error {
    let why = io_why(err);
    Failure::new(CSA_ERROR, format!("{what}: {why} ({place})")).into()
}

/// The system's description of `err` without the `(os error N)` Rust adds, and without
/// anything a wrapper appended after it (tempfile's `at path "…"`), e.g.
/// `No such file or directory`.
pub fn io_why(err: &std::io::Error) -> String {
    let mut text = err.to_string();
    if let Some(at) = text.find(" (os error ") {
        text.truncate(at);
    }
    if err.raw_os_error() == Some(libc::EFBIG) {
        text.push_str(" (the file size limit, ulimit -f)");
    }
    text
}

/// Checks a write to stdout: a reader that went away (`BrokenPipe`, as with `csa … | head`)
/// is not an error, as for other Unix filters; any other write error fails with
/// `cannot write <what> to stdout`.
pub fn stdout_written(written: std::io::Result<()>, what: &str) -> anyhow::Result<()> {
    match written {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(io_failure(
            &format!("cannot write {what} to stdout"),
            &err,
            "stdout",
        )),
        _ => Ok(()),
    }
}

/// Writes `bytes` to stdout and flushes it: a command's whole output at once. A reader
/// that went away is not an error ([`stdout_written`]).
///
/// Errors: stdout cannot be written (exit 125), naming `what` ("the result").
pub fn write_stdout(bytes: &[u8], what: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout_written(stdout.write_all(bytes).and_then(|()| stdout.flush()), what)
}

/// The exit code for `err`: the code of the first [`Failure`] in its chain, else
/// [`CSA_ERROR`].
pub fn code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .map_or(CSA_ERROR, |failure| failure.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_codes_follow_posix_shells() {
        assert_eq!(from_signal(9), 137);
        assert_eq!(from_signal(15), 143);
        assert_eq!(from_signal(200), 255);
    }

    #[test]
    fn failure_code_survives_context() {
        let err = anyhow::Error::new(Failure::new(NOT_FOUND, "nope")).context("running");
        assert_eq!(code_of(&err), NOT_FOUND);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), CSA_ERROR);
    }

    #[test]
    fn io_failures_read_what_why_path() {
        let err = std::io::Error::from_raw_os_error(20);
        let failure = io_failure("cannot read", &err, std::path::Path::new("/a/b").display());
        assert_eq!(failure.to_string(), "cannot read: Not a directory (/a/b)");
        assert_eq!(code_of(&failure), CSA_ERROR);
        let wrapped = std::io::Error::other(format!("{err} at path \"/a/.tmp-x\""));
        assert_eq!(io_why(&wrapped), "Not a directory");
    }
}
