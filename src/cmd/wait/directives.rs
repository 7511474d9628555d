//! The directives `wait` prints besides `SESSION_WAIT_COMPLETED` (docs/wait.md):
//! `SESSION_WAIT_KV_WARM` + `CALLER_HINT` at the cap, `SESSION_WAIT_TIMEOUT` for a dead
//! session without a result, and `SESSION_WAIT_SUMMARY` at the end of a multi wait.

use std::time::{Duration, Instant};

use crate::cmd::args::WaitArgs;
use crate::directive;
use crate::liveness::Observed;
use crate::store::record::SessionRecord;
use crate::store::session::{SESSION_TOML, SessionDir, StateRoot};

/// `status` of a pending session in `KV_WARM`: `alive` while its job runs (or `csa run` is
/// still setting it up).
pub const ALIVE: &str = "alive";
/// `status` of a pending session in `KV_WARM` whose job waits for a queue slot or for its
/// dependencies.
pub const QUEUED: &str = "queued";

/// Prints `CSA:SESSION_WAIT_TIMEOUT id status=dead elapsed`: the session is dead and its
/// result cannot be recorded.
pub fn dead(session: &SessionDir, started: Instant) {
    directive::emit(
        "SESSION_WAIT_TIMEOUT",
        &[
            ("id", &session.id_string()),
            ("status", "dead"),
            ("elapsed", &seconds(started.elapsed())),
        ],
    );
}

/// Prints `CSA:SESSION_WAIT_KV_WARM` and `CSA:CALLER_HINT`: `pending` still run at the cap.
///
/// `id` and `status` list the pending sessions and their states, comma-separated and in the
/// same order (one of each for a single wait, as docs/agents.md has it); a multi wait adds
/// `pending` (how many). `cmd` waits for exactly the pending sessions, with the same
/// options.
pub fn still_running(pending: &[&SessionDir], started: Instant, args: &WaitArgs, multi: bool) {
    let ids: Vec<String> = pending.iter().map(|s| s.id_string()).collect();
    let states: Vec<&str> = pending.iter().map(|s| state(s)).collect();
    let count = pending.len().to_string();
    let elapsed = seconds(started.elapsed());
    let cmd = rerun_command(&ids, args, multi, args.any);
    let (ids, states) = (ids.join(","), states.join(","));
    let mut pairs = vec![("id", ids.as_str()), ("status", states.as_str())];
    if multi {
        pairs.push(("pending", &count));
    }
    // What a single queued session waits for (a queue slot, its dependencies, Slurm and
    // Slurm's reason): a job that can never start says so here.
    let waiting = match pending {
        [session] if states == QUEUED => waiting_for(session),
        _ => None,
    };
    if let Some(waiting) = &waiting {
        pairs.push(("waiting_for", waiting));
    }
    pairs.extend([("elapsed", elapsed.as_str()), ("cmd", cmd.as_str())]);
    directive::emit("SESSION_WAIT_KV_WARM", &pairs);
    let rule = if multi {
        "the sessions still running are healthy; run cmd to keep waiting for exactly them"
    } else if states == QUEUED {
        // Queued: its job has not started, so "still running" would be untrue.
        "the session is healthy and its job has not started yet (waiting_for says why); run cmd again to keep waiting"
    } else {
        "the session is healthy and still running; run cmd again to keep waiting"
    };
    directive::emit("CALLER_HINT", &[("action", "retry_wait"), ("rule", rule)]);
}

/// Says which sessions `wait --any` left pending once one ended, and the command that keeps
/// waiting for exactly them (with the same options): `csa: 2 sessions still pending: 01J…,
/// 01K…; keep waiting for them: csa session wait --any 01J… 01K…` (for one session, "keep
/// waiting for it").
pub fn left_pending(pending: &[&SessionDir], args: &WaitArgs) {
    let ids: Vec<String> = pending.iter().map(|s| s.id_string()).collect();
    let cmd = rerun_command(&ids, args, true, args.any);
    crate::note!(
        "{} still pending: {}; keep waiting for {}: {cmd}",
        crate::term::count(ids.len() as u64, "session", "sessions"),
        ids.join(", "),
        if ids.len() == 1 { "it" } else { "them" }
    );
}

/// Says which sessions had ended too when `wait --any` printed the first one to end, and
/// the command that prints them: `csa: 1 other session has ended too (not printed): 01J…;
/// print it: csa session wait --session 01J…`.
pub fn ended_too(ended: &[&SessionDir], args: &WaitArgs) {
    let ids: Vec<String> = ended.iter().map(|s| s.id_string()).collect();
    let cmd = rerun_command(&ids, args, ids.len() > 1, false);
    crate::note!(
        "{} ended too (not printed): {}; print {}: {cmd}",
        if ids.len() == 1 {
            "1 other session has".to_owned()
        } else {
            format!("{} other sessions have", ids.len())
        },
        ids.join(", "),
        if ids.len() == 1 { "it" } else { "them" }
    );
}

/// What a queued session waits for, in words ([`crate::admission::waiting_for`]).
fn waiting_for(session: &SessionDir) -> Option<String> {
    let record: SessionRecord = crate::store::record::read(&session.file(SESSION_TOML))
        .ok()
        .flatten()?;
    let found = crate::admission::waiting_for::find(
        &StateRoot::of_session(session),
        &session.id_string(),
        &record,
        &mut crate::queue::snapshot::Snapshots::default(),
    );
    Some(found.waiting_for)
}

/// What a session that has not ended is doing, for `KV_WARM`'s `status`.
fn state(session: &SessionDir) -> &'static str {
    match crate::heal::observe(session) {
        Ok(Observed::Running) => ALIVE,
        Ok(Observed::Queued) => QUEUED,
        // It ended as the cap was reached: the next wait reports it at once.
        Ok(Observed::Finished(_) | Observed::Gone) => "ended",
        Err(_) => "unknown",
    }
}

/// The command that waits for exactly `ids` with the same options (`--any` when `any`): `csa session wait
/// --session ID` for a single wait (as docs/agents.md prints it), `csa session wait [OPTIONS]
/// ID…` for a multi wait; pasteable as [`directive::csa_command`] makes it.
fn rerun_command(ids: &[String], args: &WaitArgs, multi: bool, any: bool) -> String {
    let mut words = vec!["session".to_owned(), "wait".to_owned()];
    if !multi {
        words.push("--session".to_owned());
        words.extend(ids.iter().cloned());
    }
    if any {
        words.push("--any".to_owned());
    }
    if args.stderr {
        words.push("--stderr".to_owned());
    }
    if let Some(lines) = args.tail {
        words.extend(["--tail".to_owned(), lines.to_string()]);
    }
    if multi {
        words.extend(ids.iter().cloned());
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    directive::csa_command(&words)
}

/// The counts of `SESSION_WAIT_SUMMARY`.
#[derive(Debug)]
pub struct Summary {
    /// Sessions waited for.
    pub total: usize,
    /// Sessions that ended with `success`.
    pub success: usize,
    /// Sessions that ended otherwise, or whose result cannot be known.
    pub failed: usize,
    /// Sessions that had not ended when `wait` returned (the cap, or `--any`).
    pub pending: usize,
    /// `wait`'s exit code.
    pub exit: u8,
    /// How long `wait` waited.
    pub elapsed: Duration,
}

/// Prints `CSA:SESSION_WAIT_SUMMARY total success failed pending exit elapsed_ms`.
pub fn summary(summary: &Summary) {
    directive::emit(
        "SESSION_WAIT_SUMMARY",
        &[
            ("total", &summary.total.to_string()),
            ("success", &summary.success.to_string()),
            ("failed", &summary.failed.to_string()),
            ("pending", &summary.pending.to_string()),
            ("exit", &summary.exit.to_string()),
            ("elapsed_ms", &summary.elapsed.as_millis().to_string()),
        ],
    );
}

/// `250s`: whole seconds, as docs/agents.md writes `elapsed`.
fn seconds(elapsed: Duration) -> String {
    format!("{}s", elapsed.as_secs())
}
