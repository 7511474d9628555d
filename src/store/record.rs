//! The TOML records of a session directory (docs/format.md) and how they are read; how
//! they are written is [`write`](mod@write)'s business.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::store::files;

mod adopt;
pub mod endings;
mod executor_name;
mod started;
pub mod times;
mod write;

pub use adopt::adopt_reserved_result;
pub use executor_name::{ExecutorName, MAX_EXECUTOR_NAME_LEN};
pub use started::{STARTED_TOML, job_started_at, mark_started, started_at};
pub use times::Times;

pub use write::{
    is_unrecorded, recode_unrecorded, remove_stop_reservation, reservation_name, reserve,
    reserve_result, write_atomic, write_bytes_atomic, write_reserved, write_result,
    write_result_only,
};

/// The largest state file csa reads (bytes); anything larger is malformed.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// Where a job's standard input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StdinSource {
    /// `/dev/null` (the default).
    Null,
    /// csa's own standard input, passed through (`--stdin`).
    Inherit,
    /// The session's `prompt.txt` (prompts over 100 KiB, or tools with `stdin = true`).
    Prompt,
}

impl StdinSource {
    /// The job's standard input: `/dev/null`, csa's own, or the session's `prompt.txt`
    /// (opened without following a symbolic link). The one place that decides it, for the
    /// supervisor and `run --no-daemon` alike.
    ///
    /// Errors when `prompt.txt` cannot be opened (missing, a symbolic link, not a regular
    /// file): a job must never start without its prompt.
    pub fn stdio(
        self,
        session: &crate::store::session::SessionDir,
    ) -> io::Result<std::process::Stdio> {
        use std::process::Stdio;
        Ok(match self {
            Self::Null => Stdio::null(),
            Self::Inherit => Stdio::inherit(),
            Self::Prompt => Stdio::from(
                files::Options::read()
                    .blocking()
                    .open(&session.file(crate::store::session::PROMPT_TXT))?,
            ),
        })
    }
}

/// `session.toml`: what a session runs. Written by `run` before the job starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session ID (26 upper-case characters).
    pub id: String,
    /// What is executed; arguments that are not UTF-8 are stored lossily.
    pub argv: Vec<String>,
    /// The tool name (`sh` by default).
    pub tool: String,
    /// The job's working directory.
    pub cwd: String,
    /// The user's label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The time limit in milliseconds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The idle timeout in milliseconds, if any: the job is stopped once neither
    /// `stdout.log` nor `stderr.log` has grown for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// When the session was created (RFC 3339, UTC, milliseconds).
    pub created_at: String,
    /// The csa version that created the session.
    pub csa_version: String,
    /// Where the job's standard input comes from.
    #[serde(default = "default_stdin")]
    pub stdin: StdinSource,
    /// Labels given with `--tag` (each `[A-Za-z0-9_.-]{1,64}`), in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The session whose job ran `csa run` to create this one (from `CSA_SESSION_ID`),
    /// unless `--detach-from-parent` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The queue the job waits in for a slot (`--queue`, or the tool's queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The sessions that must end with `success` before the job starts (`--after`), as
    /// full IDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// What runs the job, by name: `local` (the default, left out) or another executor's
    /// (`slurm`).
    #[serde(default, skip_serializing_if = "ExecutorName::is_local")]
    pub executor: ExecutorName,
    /// The variables `--env` added to the job's environment, as `KEY=VALUE`, in the order
    /// given (for `show` and `rerun`; csa's own environment is not recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

impl SessionRecord {
    /// True when the session's job waits for something before it starts: a queue slot
    /// (`queue`), dependencies (`after`), or an executor that starts the job itself, which
    /// is every executor but `local` (Slurm). Such a session is created `queued`, and its
    /// job's start is recorded in `started.toml`; any other job starts as its session is
    /// created.
    pub fn waits(&self) -> bool {
        self.queue.is_some() || !self.after.is_empty() || !self.executor.is_local()
    }
}

fn default_stdin() -> StdinSource {
    StdinSource::Null
}

/// How a job ended (`status` in `result.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Exited 0.
    Success,
    /// Exited non-zero, or could not be started (126/127).
    Failure,
    /// Ended by a signal (including `session kill`).
    Signal,
    /// `--timeout` expired (exit code 124).
    Timeout,
    /// The supervisor disappeared without writing a result (exit code 1, synthetic).
    Lost,
    /// A dependency (`--after`) did not end with `success`, so the job was never started
    /// (exit code 1).
    Skipped,
}

impl Status {
    /// The lower-case name used in files and directives, as `status` in `result.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Signal => "signal",
            Self::Timeout => "timeout",
            Self::Lost => "lost",
            Self::Skipped => "skipped",
        }
    }
}

/// The status a session shows (`list`, `result`, `list --status`): while it has no result,
/// what a look finds (`running`, `queued`); then its result's [`Status`]. Serialized as its
/// name ([`State::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The supervisor is alive and the job runs (or is being started).
    Running,
    /// The job waits for a queue slot or for its dependencies; it has not started.
    Queued,
    /// The job ended so (its result's `status`).
    Ended(Status),
}

impl State {
    /// The lower-case name, as printed and as `list --status` takes it: `running`,
    /// `queued`, or the [`Status`]'s name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Queued => "queued",
            Self::Ended(status) => status.as_str(),
        }
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<Status> for State {
    fn from(status: Status) -> Self {
        Self::Ended(status)
    }
}

/// `result.toml`: how the job ended. Written exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// The session ID.
    pub id: String,
    /// How the job ended.
    pub status: Status,
    /// 0..=255; 128 + N when ended by signal N (as POSIX shells report).
    pub exit_code: u8,
    /// The signal number, only when ended by a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// When the job started (RFC 3339, UTC, milliseconds): after the session's wait for a
    /// queue slot, its dependencies or Slurm, not when the session was created. Absent when
    /// the job never started (`skipped`, stopped while it waited, or csa could not prepare
    /// it; the reason then says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the job ended — or, for a job that never started, when the session did (RFC
    /// 3339, UTC, milliseconds).
    pub finished_at: String,
    /// How long the job ran: `finished_at - started_at` in milliseconds; 0 when it never
    /// started.
    pub duration_ms: u64,
    /// True when csa wrote the result on the supervisor's behalf.
    #[serde(default)]
    pub synthetic: bool,
    /// Human-readable detail, e.g. "timed out after 30 s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many processes of the job's process group were still running when the job
    /// ended and csa was done with it (background children such as `nohup cmd &`), not
    /// counting the supervisor. Absent when unknown (synthetic results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leftover_processes: Option<u32>,
}

impl ResultRecord {
    /// The result of session `id`'s job, started at `started` and ended at `finished`,
    /// written by the supervisor (not synthetic), with no reason and no leftover count.
    pub fn new(
        id: String,
        (status, exit_code, signal): (Status, u8, Option<i32>),
        started: SystemTime,
        finished: SystemTime,
    ) -> Self {
        Self {
            id,
            status,
            exit_code,
            signal,
            started_at: Some(timestamp(started)),
            finished_at: timestamp(finished),
            duration_ms: millis_between(started, finished),
            synthetic: false,
            reason: None,
            leftover_processes: None,
        }
    }

    /// The result of session `id` whose job never started: no `started_at`, `duration_ms`
    /// 0, finished at `finished`; not synthetic, no reason.
    pub fn never_started(
        id: String,
        outcome: (Status, u8, Option<i32>),
        finished: SystemTime,
    ) -> Self {
        let mut result = Self::new(id, outcome, finished, finished);
        result.started_at = None;
        result
    }

    /// The result of session `id` that ended at `finished`: [`Self::new`] when its job
    /// `started`, else [`Self::never_started`].
    pub fn ended(
        id: String,
        outcome: (Status, u8, Option<i32>),
        started: Option<SystemTime>,
        finished: SystemTime,
    ) -> Self {
        match started {
            Some(started) => Self::new(id, outcome, started, finished),
            None => Self::never_started(id, outcome, finished),
        }
    }

    /// When the job started, if it did.
    pub fn started(&self) -> Option<SystemTime> {
        self.started_at.as_deref().and_then(parse_timestamp)
    }
}

/// Formats a time as RFC 3339 in UTC with milliseconds, e.g. `2026-11-21T10:00:00.123Z`.
pub fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// Parses an RFC 3339 timestamp written by [`timestamp`].
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// Milliseconds from `start` to `end`, 0 if `end` is earlier.
pub fn millis_between(start: SystemTime, end: SystemTime) -> u64 {
    end.duration_since(start)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads and parses a TOML record of at most [`MAX_RECORD_BYTES`], through the safe-open
/// layer ([`crate::store::files`]: no symbolic link, a regular file of the user's).
///
/// Returns `Ok(None)` when the file does not exist. Errors (exit 125) when it cannot be
/// read, is refused, too large, or not a valid record: `malformed state file: <why>
/// (<path>)` — never its content.
pub fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match files::read(path, MAX_RECORD_BYTES) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(files::failure("cannot read", &err, path)),
    };
    let text = String::from_utf8(bytes).map_err(|_| files::malformed(path, "not UTF-8"))?;
    toml::from_str(&text)
        .map(Some)
        .map_err(|err| files::malformed(path, redacted(err.message())))
}

/// A parser's message without what it quotes from the file (serde's `invalid type: string
/// "…", expected u8` quotes the value): a record's content is never echoed. One line, at
/// most 200 characters.
fn redacted(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' | '`' => {
                if !quoted {
                    out.push_str("a value");
                }
                quoted = !quoted;
            }
            _ if quoted => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
        if out.len() > 200 {
            out.push('…');
            break;
        }
    }
    out
}

/// A fixed result for unit tests: session `01JD0000000000000000000000`, ended with
/// `status`, `exit_code` and `signal` after 1,333 ms.
#[cfg(test)]
pub(crate) fn sample_result(status: Status, exit_code: u8, signal: Option<i32>) -> ResultRecord {
    ResultRecord {
        id: "01JD0000000000000000000000".into(),
        status,
        exit_code,
        signal,
        started_at: Some("2026-11-21T10:00:00.123Z".into()),
        finished_at: "2026-11-21T10:00:01.456Z".into(),
        duration_ms: 1333,
        synthetic: false,
        reason: None,
        leftover_processes: None,
    }
}

#[cfg(test)]
mod tests;
