//! `csa session wait`: block until the job ends (at most 250 s unless `--until-done`),
//! stream its `stdout.log` to stdout and exit with its exit code.

use std::io::{self, Write as _};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::WaitArgs;
use crate::directive;
use crate::exit;
use crate::liveness::{self, Settled};
use crate::record::{self, ResultRecord};
use crate::session::{self, SessionDir, StateRoot};

/// The longest `wait` blocks without `--until-done` (docs/exit-codes.md: hard-coded 250 s).
pub const WAIT_CAP: Duration = Duration::from_secs(250);

/// Test hook: `CSA_TEST_WAIT_CAP_MS` shortens the cap so the suite can exercise the
/// still-running path without waiting 250 s. Not part of the user-facing interface.
fn wait_cap() -> Duration {
    std::env::var("CSA_TEST_WAIT_CAP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(WAIT_CAP, Duration::from_millis)
}

/// Runs `csa session wait`. Returns the job's exit code; 0 when still running at the cap;
/// 1 for a lost session; 124 when the session is dead and no result can be recorded.
pub fn exec(args: &WaitArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(&args.session)?;
    let id = session.id_string();
    let started = Instant::now();
    let cap = if args.until_done {
        None
    } else {
        Some(wait_cap())
    };
    let result = loop {
        let left = cap.map(|cap| cap.saturating_sub(started.elapsed()));
        if !liveness::wait_for_supervisor(&session, left)? {
            still_running(&id, started);
            return Ok(exit::SUCCESS);
        }
        let settled = liveness::settle(&session).map_err(|err| {
            if record::is_unrecorded(&err) {
                // What the job wrote is all that is left of it: print it anyway.
                let _ = print_stdout_log(&session);
                directive::emit(
                    "SESSION_WAIT_TIMEOUT",
                    &[
                        ("id", &id),
                        ("status", "dead"),
                        ("elapsed", &format!("{}s", started.elapsed().as_secs())),
                    ],
                );
            }
            exit::recode_unrecorded(err, exit::TIMEOUT)
        })?;
        match settled {
            Settled::Finished(result) => break result,
            Settled::Resumed => {}
        }
    };
    print_stdout_log(&session)?;
    crate::report::leftovers(&result);
    report_completed(&result);
    Ok(result.exit_code)
}

/// Prints `CSA:SESSION_WAIT_KV_WARM` and `CSA:CALLER_HINT`: still running at the cap.
fn still_running(id: &str, started: Instant) {
    let cmd = directive::csa_command(&["session", "wait", "--session", id]);
    directive::emit(
        "SESSION_WAIT_KV_WARM",
        &[
            ("id", id),
            ("status", "alive"),
            ("elapsed", &format!("{}s", started.elapsed().as_secs())),
            ("cmd", &cmd),
        ],
    );
    directive::emit(
        "CALLER_HINT",
        &[
            ("action", "retry_wait"),
            (
                "rule",
                "the session is healthy and still running; run cmd again to keep waiting",
            ),
        ],
    );
}

/// Streams the session's `stdout.log` to stdout with constant memory. A reader that went
/// away (`BrokenPipe`) is not an error.
fn print_stdout_log(session: &SessionDir) -> Result<()> {
    let path = session.file(session::STDOUT_LOG);
    let mut log = match crate::sys::open_no_follow(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(exit::io_failure("cannot read", &err, path.display())),
    };
    let mut stdout = io::stdout().lock();
    match io::copy(&mut log, &mut stdout).and_then(|_| stdout.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(exit::io_failure(
            "cannot copy to stdout",
            &err,
            path.display(),
        )),
        _ => Ok(()),
    }
}

/// Prints `CSA:SESSION_WAIT_COMPLETED` for `result` on stderr.
pub fn report_completed(result: &ResultRecord) {
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
