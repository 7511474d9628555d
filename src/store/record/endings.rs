//! The results a supervisor records for a job that did not end by itself: one that never
//! started (a stop signal came first, or its prompt could not be opened), and the plain
//! constructor for a job that ends now. Shared by the supervisor, admission, `run
//! --no-daemon` and the Slurm node.

use std::time::SystemTime;

use super::{ResultRecord, Status};
use crate::exit;
use crate::store::session::{self, SessionDir};

/// The result of a job that cannot start because its standard input, the session's
/// `prompt.txt`, cannot be opened: `failure` with exit code 125 (csa's own state is
/// broken) and the reason; the job is never started without its prompt.
pub fn without_stdin(session: &SessionDir, err: &std::io::Error) -> ResultRecord {
    let mut result = finished(
        session,
        SystemTime::now(),
        Status::Failure,
        exit::CSA_ERROR,
        None,
    );
    result.reason = Some(format!(
        "cannot open the prompt ({}): {}; the job was not started",
        session::PROMPT_TXT,
        exit::io_why(err)
    ));
    result
}

/// The result of a session stopped by `signal` before its job started, while it waited for
/// `waiting_for`: the job is never started.
pub fn not_started(session: &SessionDir, signal: i32, waiting_for: &str) -> ResultRecord {
    let now = SystemTime::now();
    let mut result = finished(
        session,
        now,
        Status::Signal,
        exit::from_signal(signal),
        Some(signal),
    );
    let name = signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned);
    result.reason = Some(if waiting_for.is_empty() {
        format!("{name} arrived before the job started; the job was never started")
    } else {
        format!(
            "{name} arrived while the session waited for {waiting_for}; the job was never started"
        )
    });
    result
}

/// A result of a job started at `started` that ends now.
pub fn finished(
    session: &SessionDir,
    started: SystemTime,
    status: Status,
    exit_code: u8,
    signal: Option<i32>,
) -> ResultRecord {
    ResultRecord::new(
        session.id_string(),
        (status, exit_code, signal),
        started,
        SystemTime::now(),
    )
}
