//! Stopping a session tree as one (see [`super`]): first **decide** — the stop request
//! (`stop.toml`) goes into every live session of the tree, top down, each before its
//! children are listed, and sessions still being created are waited for — then **signal**,
//! deepest first, each level together, with the same signal and grace; the named sessions
//! last. Then the tree is looked at once more, for a session that appeared late.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Result;
use ulid::Ulid;

use super::{child_ids, recorded_parent};
use crate::backoff::Backoff;
use crate::executor::{self, StopMode, StopOrder};
use crate::stop::sequence::StopSequence;
use crate::store::session::{STAGING_PREFIX, SessionDir, StateRoot};
use crate::store::stop_request::StopRequest;

/// How long a stop waits for a descendant that `csa run` is still creating (or whose new
/// supervisor cannot be verified yet) before it leaves it alone, saying so.
const STARTING_LIMIT: Duration = Duration::from_secs(10);

/// The pauses between two looks at descendants still being created: 1 ms, doubling up to
/// 50 ms.
const STARTING_PAUSES: Backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(50));

/// How many times the tree is walked again for sessions that appeared late, at most.
const MAX_ROUNDS: usize = 4;

/// How to stop a tree, and who asks.
pub struct TreeStop<'a> {
    /// The first signal and the grace period before SIGKILL.
    pub sequence: StopSequence,
    /// Who asks, as a named session's result's reason names it (`csa session kill`).
    pub by: &'a str,
    /// Who asks, as a descendant's result's reason names it, from the ID of the named
    /// session it descends from (`csa session kill of ancestor session <ID>`).
    pub by_ancestor: &'a dyn Fn(&str) -> String,
    /// Report each step, and each descendant left alone, on stderr.
    pub notes: bool,
}

/// Stops `named` sessions and every session below them as one: proves that each live named
/// session may be stopped (nothing is written or signalled when one cannot be), records the
/// stop request in each of them and in every live descendant, top down, then signals the
/// descendants deepest first and the named sessions last, each with its result recorded.
/// When it returns, no process of the tree runs: the processes that ended sessions left in
/// their groups (provably theirs) are stopped too.
///
/// Errors (exit 125): a named session whose identity cannot be proven (nothing signalled),
/// a stop request that cannot be recorded, a named session's stop that fails. A descendant
/// that cannot be proven or stopped is left alone (with a note when `how.notes`).
pub fn stop_tree(named: &[SessionDir], how: &TreeStop<'_>) -> Result<()> {
    let mut live = Vec::new();
    for session in named {
        if executor::of(session)?.may_stop(session)? {
            live.push(session.clone());
        }
    }
    for session in &live {
        record(session, how.sequence, how.by.to_owned())?;
    }
    stop_below(named, how);
    let requested: HashSet<Ulid> = live.iter().map(|session| session.id).collect();
    let order = StopOrder {
        sequence: how.sequence,
        by: &|_| how.by.to_owned(),
        mode: StopMode::Named,
        requested: &|session| requested.contains(&session.id),
    };
    for (executor, group) in executor::group(named)? {
        executor.stop(&group, &order)?;
    }
    // Sessions that appeared while the named ones were stopped (none in the usual case).
    stop_below(named, how);
    Ok(())
}

/// Stops the descendants of a session whose `--timeout` struck, from its own supervisor:
/// records the session's own stop request (no session may start under it from now on; its
/// result still reads `timeout`), then stops its tree as [`stop_tree`] stops a named
/// session's, with SIGTERM and the timeout's grace
/// ([`crate::stop::sequence::TIMEOUT_GRACE`]), quietly. The session's own job is the
/// caller's to stop. Handed to the local executor, which sits below trees
/// ([`crate::executor::Start::stop_descendants`]).
pub fn stop_for_timeout(session: &SessionDir) {
    let sequence = StopSequence {
        signal: rustix::process::Signal::TERM,
        grace: crate::stop::sequence::TIMEOUT_GRACE,
    };
    let by = format!("the timeout of session {}", session.id_string());
    let _ = record(session, sequence, by);
    stop_below(
        std::slice::from_ref(session),
        &TreeStop {
            sequence,
            by: "",
            by_ancestor: &|ancestor| format!("the timeout of ancestor session {ancestor}"),
            notes: false,
        },
    );
}

/// Records a stop request in `session`. Errors name the session: nothing was signalled.
fn record(session: &SessionDir, sequence: StopSequence, by: String) -> Result<()> {
    StopRequest::new(sequence.first().as_raw(), sequence.grace, by)
        .write(session)
        .map_err(|err| {
            err.context(format!(
                "cannot record the stop request; nothing was signalled ({})",
                session.id_string()
            ))
        })
}

/// Decides and stops, round after round, the descendants of `roots` (whose own stop
/// requests, if live, are recorded): each round walks the tree, records a stop request in
/// each live descendant not seen before, then stops them deepest first. A round that finds
/// nothing new ends it.
fn stop_below(roots: &[SessionDir], how: &TreeStop<'_>) {
    let mut seen: HashSet<Ulid> = roots.iter().map(|session| session.id).collect();
    for _ in 0..MAX_ROUNDS {
        let found = decide(roots, how, &mut seen);
        if found.levels.iter().all(Vec::is_empty) {
            return;
        }
        found.signal(how);
    }
}

/// The descendants a round found: by depth (`levels[0]` are children of the roots), each
/// with the ID of the root it descends from; those whose stop request this round recorded.
#[derive(Default)]
struct Found {
    levels: Vec<Vec<SessionDir>>,
    ancestor: HashMap<Ulid, String>,
    requested: HashSet<Ulid>,
}

impl Found {
    /// Stops what was found, deepest first, each level together (through each one's
    /// executor); ended sessions have what they left behind stopped.
    fn signal(&self, how: &TreeStop<'_>) {
        let by = |session: &SessionDir| {
            (how.by_ancestor)(self.ancestor.get(&session.id).map_or("?", String::as_str))
        };
        let order = StopOrder {
            sequence: how.sequence,
            by: &by,
            mode: StopMode::Descendants { notes: how.notes },
            requested: &|session| self.requested.contains(&session.id),
        };
        for level in self.levels.iter().rev() {
            // (Sessions of an executor this csa does not have are left alone by `look`.)
            for (executor, group) in executor::group(level).unwrap_or_default() {
                // Errors are noted (with `notes`) by the executor, never returned.
                let _ = executor.stop(&group, &order);
            }
        }
    }
}

/// One walk of the trees of `roots`, top down: every child not in `seen` is looked at
/// ([`look`]) — waited for while it is being created — and, when live, gets its stop
/// request before its own children are listed. Sessions already seen are walked through.
fn decide(roots: &[SessionDir], how: &TreeStop<'_>, seen: &mut HashSet<Ulid>) -> Found {
    let mut found = Found::default();
    // What this walk has been through (a `children/` listing that loops ends there).
    let mut walked: HashSet<Ulid> = roots.iter().map(|session| session.id).collect();
    let mut frontier: Vec<(SessionDir, String)> = roots
        .iter()
        .map(|session| (session.clone(), session.id_string()))
        .collect();
    let mut depth = 0;
    while !frontier.is_empty() {
        let mut next = Vec::new();
        let mut waiting = Vec::new();
        for (parent, ancestor) in &frontier {
            let root = StateRoot::of_session(parent);
            for id in child_ids(parent) {
                if !walked.insert(id) {
                    continue;
                }
                let child = root.session(id);
                if seen.insert(id) {
                    waiting.push(Candidate {
                        session: child,
                        parent: parent.id,
                        ancestor: ancestor.clone(),
                        why: String::new(),
                    });
                } else {
                    next.push((child, ancestor.clone()));
                }
            }
        }
        let mut level = Vec::new();
        let mut pauses = STARTING_PAUSES;
        let deadline = crate::backoff::deadline(STARTING_LIMIT);
        loop {
            waiting.retain_mut(|candidate| match look(candidate, how) {
                Look::Waiting(why) => {
                    candidate.why = why;
                    true
                }
                Look::Skip => false,
                Look::LeftAlone => {
                    next.push((candidate.session.clone(), candidate.ancestor.clone()));
                    false
                }
                Look::Member { requested } => {
                    if requested {
                        found.requested.insert(candidate.session.id);
                    }
                    found
                        .ancestor
                        .insert(candidate.session.id, candidate.ancestor.clone());
                    level.push(candidate.session.clone());
                    next.push((candidate.session.clone(), candidate.ancestor.clone()));
                    false
                }
            });
            if waiting.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            pauses.sleep_until(deadline);
        }
        for candidate in waiting {
            if how.notes {
                crate::note!(
                    "not stopping descendant session {} after {} s: {}",
                    candidate.session.id_string(),
                    STARTING_LIMIT.as_secs(),
                    candidate.why
                );
            }
            // Its own children are still walked.
            next.push((candidate.session, candidate.ancestor));
        }
        if !level.is_empty() {
            if found.levels.len() <= depth {
                found.levels.resize(depth + 1, Vec::new());
            }
            found.levels[depth].extend(level);
        }
        frontier = next;
        depth += 1;
    }
    found
}

/// A child found in a `children/` directory, not looked at yet.
struct Candidate {
    session: SessionDir,
    /// The parent whose `children/` listed it.
    parent: Ulid,
    /// The ID of the root it descends from.
    ancestor: String,
    /// Why it is still waited for.
    why: String,
}

/// What [`look`] made of a child.
enum Look {
    /// Being created (its `csa run` holds its staged directory's lock), or live but not yet
    /// verifiable: look again.
    Waiting(String),
    /// Not a session of this tree (any more): never published, or its record names another
    /// parent.
    Skip,
    /// A session of the tree that this csa cannot stop (its executor is another csa's):
    /// left alone, its own children walked.
    LeftAlone,
    /// A session of the tree, to stop (live: its stop request recorded now) or whose leftover
    /// processes to stop (ended).
    Member {
        /// Its stop request was recorded now.
        requested: bool,
    },
}

/// Looks at a listed child: still being created, not of the tree, or a member — a live one
/// gets its stop request now (before its own children are listed).
fn look(candidate: &Candidate, how: &TreeStop<'_>) -> Look {
    let session = &candidate.session;
    let root = StateRoot::of_session(session);
    // Before the published directory: a rename between the two looks is seen as published.
    let staged = SessionDir {
        id: session.id,
        path: root
            .sessions_dir()
            .join(format!("{STAGING_PREFIX}{}", session.id)),
    };
    if crate::liveness::supervisor_alive(&staged).unwrap_or(false) {
        return Look::Waiting("csa run is still creating it".into());
    }
    if !crate::store::files::is_dir(&session.path) {
        return Look::Skip;
    }
    match recorded_parent(session) {
        Ok(Some(parent)) if parent == candidate.parent => {}
        Ok(_) => return Look::Skip,
        // Created in place (`--no-daemon`, Slurm): its record may not be written yet.
        Err(why) => {
            return if crate::liveness::supervisor_alive(session).unwrap_or(false) {
                Look::Waiting(format!("{why:#}"))
            } else {
                Look::Skip
            };
        }
    }
    let executor = match executor::of(session) {
        Ok(executor) => executor,
        // Another csa's executor: not this csa's to stop.
        Err(why) => {
            if how.notes {
                crate::note!("{why:#}; left alone");
            }
            return Look::LeftAlone;
        }
    };
    match executor.may_stop(session) {
        Ok(true) => {
            let by = (how.by_ancestor)(&candidate.ancestor);
            if let Err(err) = record(session, how.sequence, by)
                && how.notes
            {
                crate::note!("{err:#}");
            }
            Look::Member { requested: true }
        }
        Err(why) if crate::liveness::supervisor_alive(session).unwrap_or(false) => {
            Look::Waiting(format!("{why:#}"))
        }
        // Ended (its leftovers are stopped all the same).
        Ok(false) | Err(_) => Look::Member { requested: false },
    }
}
