//! `csa session wait`: block until sessions end (at most 250 s unless `--until-done`), print
//! each one's `stdout.log` whole as it ends, and exit with one exit code for all of them.
//!
//! - [`targets`]: which sessions (IDs, `--session`, `--tag`);
//! - [`crate::wait`]: waiting for them, event-driven;
//! - [`print`](mod@print): a session's logs and its `CSA:SESSION_WAIT_COMPLETED` line, as it ends;
//! - [`directives`]: `KV_WARM` at the cap, `SESSION_WAIT_SUMMARY` at the end;
//! - [`progress`]: on a terminal, a line of how many sessions have ended so far.
//!
//! One session named once (`wait ID`, `wait --session ID`) is a *single* wait: what it
//! prints and its errors are those of the one-session `wait` of docs/exit-codes.md. Anything else
//! (several sessions, `--tag`, `--any`) is a *multi* wait (docs/wait.md): errors about one
//! session are reported and counted, and a `SESSION_WAIT_SUMMARY` line ends the output.
//!
//! **Looks and heals** ([`crate::wait`] settles each session found ended with
//! [`crate::heal::settle`]: a `lost` result written, or a Slurm job re-adopted).

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cmd::args::WaitArgs;
use crate::exit;
use crate::store::record::{self, ResultRecord, Status};
use crate::store::session::{SessionDir, StateRoot};
use crate::wait::WaitSet;

mod directives;
mod print;
mod progress;
mod targets;

use progress::Progress;

/// The longest `wait` blocks without `--until-done` (docs/exit-codes.md: hard-coded 250 s), for
/// all the sessions of one call together.
pub const WAIT_CAP: Duration = Duration::from_secs(250);

/// Test hook: `CSA_TEST_WAIT_CAP_MS` shortens the cap so the suite can exercise the
/// still-running path without waiting 250 s. Not part of the user-facing interface.
fn wait_cap() -> Duration {
    std::env::var("CSA_TEST_WAIT_CAP_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(WAIT_CAP, Duration::from_millis)
}

/// Runs `csa session wait`. Returns the exit code: the job's for one session; with several,
/// 0 when all succeeded, else the code of the first to end without success (with `--any`,
/// the code of the one that ended); 0 when nothing failed and sessions still run at the cap.
/// Errors (single wait only): 124 dead without a result, 125 csa error.
pub fn exec(args: &WaitArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let targets = targets::resolve(&root, args)?;
    let multi = targets.multi;
    let total = targets.sessions.len();
    let started = Instant::now();
    let deadline = (!args.until_done).then(|| crate::backoff::later(started, wait_cap()));
    let options = print::Options {
        tail: args.tail,
        stderr: args.stderr,
    };
    let mut ends = WaitSet::new(targets.sessions);
    let mut tally = Tally::default();
    let mut progress = Progress::new(total, multi);
    while let Some(ended) = ends.next(deadline) {
        let session = ends.session(ended.index);
        progress.report(|| report(session, ended.outcome, &options, multi, started, &mut tally))?;
        if args.any {
            break;
        }
    }
    progress.finish();
    let pending: Vec<_> = ends.pending().collect();
    let code = if args.any {
        tally.first_code
    } else {
        tally.first_failure
    }
    .unwrap_or(exit::SUCCESS);
    // With `--any`, sessions left pending after one ended are not "still running at the
    // cap": the call did what it was asked.
    let answered = args.any && tally.ended() > 0;
    if !pending.is_empty() && !answered {
        directives::still_running(&pending, started, args, multi);
    } else if !pending.is_empty() {
        // `--any` prints one session; of the others, those that ended too are not
        // "pending": say how to print them.
        let live: Vec<_> = ends.still_live().collect();
        if !live.is_empty() {
            directives::left_pending(&live, args);
        }
        let ended: Vec<_> = ends.ended_unreported().collect();
        if !ended.is_empty() {
            directives::ended_too(&ended, args);
        }
    }
    if multi {
        directives::summary(&directives::Summary {
            total,
            success: tally.success,
            failed: tally.failed,
            pending: pending.len(),
            exit: code,
            elapsed: started.elapsed(),
        });
    }
    Ok(code)
}

/// Prints what `wait` prints for a session that ended with `outcome` and counts it in
/// `tally`. Returns true when it did not succeed.
///
/// Errors (single wait only; a multi wait reports them and goes on): its logs cannot be
/// printed, or its result cannot be known.
fn report(
    session: &SessionDir,
    outcome: Result<ResultRecord>,
    options: &print::Options,
    multi: bool,
    started: Instant,
    tally: &mut Tally,
) -> Result<bool> {
    match outcome {
        Ok(result) => {
            if let Err(err) = print::logs(session, &result, options) {
                if !multi {
                    return Err(err);
                }
                crate::note!("{}", format!("{err:#}").replace('\n', " "));
            }
            print::leftovers(&result);
            print::completed(&result);
            tally.add(&result);
            Ok(result.status != Status::Success)
        }
        Err(err) => {
            if record::is_unrecorded(&err) {
                // What the job wrote is all that is left of it: print it anyway.
                print::stdout_only(session);
                directives::dead(session, started);
            }
            let err = record::recode_unrecorded(err, exit::TIMEOUT);
            if !multi {
                return Err(err);
            }
            crate::note!("{}", format!("{err:#}").replace('\n', " "));
            tally.add_error(exit::code_of(&err));
            Ok(true)
        }
    }
}

/// What the sessions that ended so far add up to.
#[derive(Debug, Default)]
struct Tally {
    success: usize,
    failed: usize,
    /// The exit code of the first session to end.
    first_code: Option<u8>,
    /// The exit code of the first session to end without success.
    first_failure: Option<u8>,
}

impl Tally {
    fn add(&mut self, result: &ResultRecord) {
        if result.status == Status::Success {
            self.success += 1;
            self.first_code.get_or_insert(result.exit_code);
        } else {
            self.add_failure(result.exit_code);
        }
    }

    /// A session whose result cannot be known (exit `code`: 124 or 125).
    fn add_error(&mut self, code: u8) {
        self.add_failure(code);
    }

    fn add_failure(&mut self, code: u8) {
        self.failed += 1;
        self.first_code.get_or_insert(code);
        self.first_failure.get_or_insert(code);
    }

    fn ended(&self) -> usize {
        self.success + self.failed
    }
}
