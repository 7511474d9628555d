//! `csa session kill`: verify the supervisor's identity, then SIGTERM (or `--signal`) to the
//! job's process group, a grace period, SIGKILL to whatever is left, and make sure
//! `result.toml` exists — for one session, or for every running or queued session with a
//! tag (`--tag`), and for their descendant sessions first, deepest first.
//!
//! **Identity before any signal** ([`crate::stop::target`]): a running session whose
//! supervisor cannot be verified is refused (exit 125) and nothing is signalled.
//!
//! **SIGKILL reaches the supervisor too.** After the grace period SIGKILL goes to the whole
//! process group with one `kill(-pgid)`, which the kernel applies to every member at once,
//! so a job forking in a loop cannot slip a child past it. The supervisor dies with the
//! job; `kill` then records the synthetic `signal` result (9, exit 137) with the reason.
//! A job that exits during the grace period is reaped by the supervisor, which survives
//! the signal and records the result — as stopped by `session kill` (`stop.toml`).
//!
//! **Heals, then stops**: a Slurm session whose watcher died is re-adopted first
//! ([`crate::heal::is_live`]); a finished session without a result gets one.

use anyhow::Result;

use crate::cmd::args::KillArgs;
use crate::exit;
use crate::stop::sequence::StopSequence;
use crate::store::session::{SessionDir, StateRoot};
use crate::tree;

/// Who asked, as a result's reason names it.
const BY_KILL: &str = "csa session kill";

/// Runs `csa session kill`. Returns 0 when the sessions were stopped or had already
/// finished. Errors (125): unknown session, identity not verified (nothing signalled),
/// processes that survive SIGKILL, a lock still held after them.
pub fn exec(args: &KillArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let how = StopSequence {
        signal: args.signal,
        grace: args.grace,
    };
    let sessions = if args.tag.is_empty() {
        vec![root.resolve(args.target.handle())?]
    } else {
        let tagged = tagged_live_sessions(&root, &args.tag)?;
        if tagged.is_empty() {
            crate::note!(
                "no running or queued session has the tag {}; nothing signalled",
                args.tag.join(" and ")
            );
            return Ok(exit::SUCCESS);
        }
        tagged
    };
    stop(&sessions, how)?;
    Ok(exit::SUCCESS)
}

/// Stops `sessions` as `csa session kill` does (`csa top` stops sessions through it too):
/// each with its tree, as one ([`tree::stop_tree`]) — every live session of the trees
/// proven and given its stop request before the first signal; then the descendants, deepest
/// first, and the named sessions — identity verified, `how.signal`, the grace period,
/// SIGKILL — and what ended sessions left behind. Each ends with its result recorded.
/// Errors (125): identity not verified (nothing signalled), processes that survive SIGKILL,
/// a lock still held after them.
pub fn stop(sessions: &[SessionDir], how: StopSequence) -> Result<()> {
    tree::stop_tree(
        sessions,
        &tree::TreeStop {
            sequence: how,
            by: BY_KILL,
            by_ancestor: &|ancestor| format!("csa session kill of ancestor session {ancestor}"),
            notes: true,
        },
    )
}

/// The running or queued sessions that have every tag in `tags` (see [`crate::store::tags`]).
pub fn tagged_live_sessions(root: &StateRoot, tags: &[String]) -> Result<Vec<SessionDir>> {
    Ok(crate::store::tags::select(root, tags)?
        .into_iter()
        .filter(|session| crate::heal::is_live(session).unwrap_or(false))
        .collect())
}
