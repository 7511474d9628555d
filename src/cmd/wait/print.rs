//! What `wait` prints for a session that ended: its `stdout.log` on stdout (whole, or its
//! last N lines), then on stderr — when the job did not succeed — why (`reason`) and the
//! last [`FAILURE_LINES`] lines of `stderr.log` (or, with `--stderr`, all of it whatever the
//! ending), then the `CSA:SESSION_WAIT_COMPLETED` line. One session at a time: outputs are
//! never interleaved. The job's escape sequences are removed on the way to a stream that is
//! not a terminal (`--color` decides, [`crate::term::escapes_allowed`]); the logs keep them.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use anyhow::Result;

use crate::cmd::logs;
use crate::directive;
use crate::exit;
use crate::store::record::{ResultRecord, Status};
use crate::store::session::{self, SessionDir};
use crate::term::{self, Stream};

/// How many lines of `stderr.log` are shown for a session that did not succeed.
pub const FAILURE_LINES: usize = 20;

/// What to print of the logs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Only the last N lines of `stdout.log` (and of `stderr.log` with `stderr`).
    pub tail: Option<usize>,
    /// All of `stderr.log`, whatever the ending.
    pub stderr: bool,
}

/// Prints `stdout.log` alone, ignoring every error: all that is left of a session whose
/// result cannot be recorded.
pub fn stdout_only(session: &SessionDir) {
    if let Ok(Some(file)) = open_log(&session.file(session::STDOUT_LOG)) {
        let _ = copy_log(file, &mut io::stdout().lock(), None, Stream::Stdout);
    }
}

/// Prints the logs of a session that ended (see the module documentation), in constant
/// memory whatever their size; `--tail` reads only the end of the file. A reader of stdout
/// or stderr that went away is not an error.
///
/// Errors (125): `stdout.log` cannot be read, or stdout fails otherwise; then nothing more
/// is printed.
pub fn logs(session: &SessionDir, result: &ResultRecord, options: &Options) -> Result<()> {
    let path = session.file(session::STDOUT_LOG);
    match open_log(&path) {
        Ok(None) => Ok(()),
        Ok(Some(file)) => {
            match copy_log(file, &mut io::stdout().lock(), options.tail, Stream::Stdout) {
                Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(exit::io_failure(
                    "cannot copy to stdout",
                    &err,
                    path.display(),
                )),
                _ => Ok(()),
            }
        }
        Err(err) => Err(exit::io_failure("cannot read", &err, path.display())),
    }?;
    let failed = result.status != Status::Success;
    if failed && let Some(reason) = &result.reason {
        crate::note!(
            "session {} ended with {}: {reason}",
            result.id,
            result.status.as_str()
        );
    }
    if options.stderr {
        log_to_stderr(session, session::STDERR_LOG, options.tail, None);
    } else if failed {
        log_to_stderr(
            session,
            session::STDERR_LOG,
            Some(FAILURE_LINES),
            Some(&result.id),
        );
    }
    // What the executor said about the job (Slurm's `slurm.log`), beside it.
    let executor = crate::executor::of(session).ok();
    if failed && let Some(name) = executor.and_then(crate::executor::Executor::messages_file) {
        log_to_stderr(session, name, Some(FAILURE_LINES), Some(&result.id));
    }
    Ok(())
}

/// Prints `CSA:SESSION_WAIT_COMPLETED` for `result` on stderr.
pub fn completed(result: &ResultRecord) {
    directive::emit(
        "SESSION_WAIT_COMPLETED",
        &[
            ("id", &result.id),
            ("status", result.status.as_str()),
            ("exit", &result.exit_code.to_string()),
            ("synthetic", if result.synthetic { "true" } else { "false" }),
            ("duration_ms", &result.duration_ms.to_string()),
        ],
    );
}

/// Copies the session's log `name` (`stderr.log`, or the executor's messages), or its
/// last `tail` lines, to stderr, ending with a newline so that the directive after it
/// starts a line. With `header`, the session ID of a failure: nothing is printed for an
/// empty log, else a `csa:` line first says what follows. Every error is ignored: stderr
/// is advice, and its reader may be gone.
fn log_to_stderr(session: &SessionDir, name: &str, tail: Option<usize>, header: Option<&str>) {
    let path = session.file(name);
    if let Some(id) = header {
        let empty = crate::store::files::metadata(&path).map_or(true, |meta| meta.len() == 0);
        if empty {
            return;
        }
        let lines = tail.unwrap_or(FAILURE_LINES);
        let lines = crate::term::count(lines as u64, "line", "lines");
        crate::note!("the last {lines} of {name} of session {id}:");
    }
    let Ok(Some(file)) = open_log(&path) else {
        return;
    };
    let mut stderr = io::stderr().lock();
    if let Ok(Some(last)) = copy_log(file, &mut stderr, tail, Stream::Stderr)
        && last != b'\n'
    {
        let _ = stderr.write_all(b"\n");
    }
    let _ = stderr.flush();
}

/// Opens a log without following a symbolic link; `None` when it does not exist.
fn open_log(path: &Path) -> io::Result<Option<File>> {
    match crate::store::files::Options::read().open(path) {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Copies `file` (from the start of its last `tail` lines) to `sink`, the standard stream
/// `to`, up to its end as it is now, in constant memory, and returns the last byte copied
/// (`None` when nothing was). Output that processes left behind write meanwhile does not
/// hold the copy up. Escape sequences are removed unless `to` may carry them
/// ([`term::escapes_allowed`]: a terminal, or `--color=always`).
///
/// Generic over the sink so that `io::copy` can let the kernel move the bytes into a pipe
/// or a file (its specialisation for `StdoutLock`/`StderrLock`) when nothing is removed.
fn copy_log<W: Write>(
    mut file: File,
    sink: &mut W,
    tail: Option<usize>,
    to: Stream,
) -> io::Result<Option<u8>> {
    let len = file.metadata()?.len();
    let start = match tail {
        Some(lines) => logs::tail_start(&file, len, lines)?,
        None => 0,
    };
    if start > 0 {
        file.seek(io::SeekFrom::Start(start))?;
    }
    if !term::escapes_allowed(to) {
        return term::strip::copy(&mut (&file).take(len - start), sink);
    }
    let copied = io::copy(&mut (&file).take(len - start), sink)?;
    sink.flush()?;
    if copied == 0 {
        return Ok(None);
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, start + copied - 1)?;
    Ok(Some(last[0]))
}

/// Prints a note when a session's job left processes running (`leftover_processes` in its
/// result): `csa: note: 2 processes of session <ID> were still running when its job ended
/// …`, with how to stop them. Prints nothing when there were none, or the count is unknown.
pub fn leftovers(result: &ResultRecord) {
    let Some(count) = result.leftover_processes.filter(|&n| n > 0) else {
        return;
    };
    let (processes, were, subject, object) = if count == 1 {
        ("process", "was", "it", "it")
    } else {
        ("processes", "were", "they", "them")
    };
    let id = &result.id;
    crate::note!(
        "note: {count} {processes} of session {id} {were} still running when its job ended (in its process group; {subject} may still write to its output); stop {object}: csa session kill --session {id}"
    );
}
