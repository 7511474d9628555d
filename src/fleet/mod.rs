//! The fleet at a glance: every session of the store with its state and true times, the
//! counts by state, per-queue figures and session trees — what `csa top` and `csa status`
//! show.
//!
//! **A look is a look.** Everything here only reads: a session whose supervisor is gone
//! without a result shows as `lost` but is not recorded (the next `csa session list` or
//! `wait` records it), a Slurm session whose watcher is gone is not resumed, and the
//! entries of dead queue waiters are counted out, not removed.
//!
//! **Read incrementally.** [`Fleet::open`] reads every session once (on several threads
//! for many sessions); [`Fleet::refresh`] then reads again only the sessions it is told
//! changed — by [`watch`], or all live ones on a re-scan. A finished session never
//! changes, so its files are never read again: with 10,000 sessions in the store a
//! refresh reads a handful of files.

pub mod output;
pub mod queues;
mod read;
pub mod tree;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use ulid::Ulid;

use crate::store::record::{SessionRecord, State, Status};
use crate::store::session::{SessionDir, StateRoot};
use crate::tool::config::Config;

pub use queues::QueueFigures;
pub use tree::Rollup;

/// One session as the fleet view shows it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its directory (and ID).
    pub dir: SessionDir,
    /// Its short handle ([`crate::store::session::short_handles`]).
    pub handle: String,
    /// Its `session.toml`; `None` while `csa run` is still writing it, or when it cannot be
    /// read ([`Session::problem`] then says why).
    pub record: Option<SessionRecord>,
    /// `running`, `queued`, or how it ended.
    pub state: State,
    /// Its supervisor (or Slurm watcher) is gone without a result, and no result is
    /// recorded yet: shown as `lost` (a Slurm session as `running`, its job may still run),
    /// recorded by the next `csa session list`, `wait` or `result`.
    pub unrecorded: bool,
    /// When the session was created (`created_at`, else the time in its ID).
    pub created: SystemTime,
    /// When its job started; `None` while it waits, and for a job that never started.
    pub started: Option<SystemTime>,
    /// When its job ended (or the session ended without starting it).
    pub finished: Option<SystemTime>,
    /// The job's exit code, once it ended.
    pub exit_code: Option<u8>,
    /// The result's `reason`, if any.
    pub reason: Option<String>,
    /// Why the session could not be read, if it could not (shown instead of a reason).
    pub problem: Option<String>,
    /// A look could not tell whether it runs or has ended (its result, or its lock, cannot
    /// be read: [`Session::problem`] says why). Its `state` is then `Running` only as a
    /// placeholder: it is counted and shown as `unknown`, never as running.
    pub unknown: bool,
}

impl Session {
    /// The session ID.
    pub fn id(&self) -> Ulid {
        self.dir.id
    }

    /// True while it runs or waits, or its end is not recorded yet: a refresh reads it
    /// again.
    pub fn is_live(&self) -> bool {
        self.unrecorded || matches!(self.state, State::Running | State::Queued)
    }

    /// The queue it runs in, if any.
    pub fn queue(&self) -> Option<&str> {
        self.record.as_ref()?.queue.as_deref()
    }

    /// Its tags (`--tag`).
    pub fn tags(&self) -> &[String] {
        self.record.as_ref().map_or(&[], |record| &record.tags)
    }

    /// Its `--name`, if any.
    pub fn name(&self) -> Option<&str> {
        self.record.as_ref()?.name.as_deref()
    }

    /// The session whose job started it, if it has one (and the ID is valid).
    pub fn parent(&self) -> Option<Ulid> {
        Ulid::from_string(self.record.as_ref()?.parent.as_deref()?).ok()
    }

    /// True when its job waits (or waited) for something before it starts: a queue slot,
    /// dependencies, or its executor ([`SessionRecord::waits`]).
    pub fn is_gated(&self) -> bool {
        self.record.as_ref().is_some_and(SessionRecord::waits)
    }

    /// How long it waited before its job started: until the start, the end (a job that
    /// never started), or `now` while it waits.
    pub fn waited(&self, now: SystemTime) -> Duration {
        let until = self.started.or(self.finished).unwrap_or(now);
        until.duration_since(self.created).unwrap_or_default()
    }

    /// How long its job ran (or runs, up to `now`); `None` when it has not started.
    pub fn ran(&self, now: SystemTime) -> Option<Duration> {
        let started = self.started?;
        let until = self.finished.unwrap_or(now);
        Some(until.duration_since(started).unwrap_or_default())
    }
}

/// How many sessions are in each state. `failed` counts `failure`, `signal` and `timeout`;
/// `lost` counts the lost sessions whose loss is not recorded yet too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Every session.
    pub total: usize,
    /// Jobs running.
    pub running: usize,
    /// Jobs waiting for a queue slot or their dependencies.
    pub queued: usize,
    /// Ended with `success`.
    pub succeeded: usize,
    /// Ended with `failure`, `signal` or `timeout`.
    pub failed: usize,
    /// Ended `skipped`: a dependency did not succeed.
    pub skipped: usize,
    /// Ended `lost`: the supervisor vanished.
    pub lost: usize,
    /// Whether it runs or has ended cannot be told ([`Session::unknown`]); left out of
    /// the JSON when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown: usize,
}

/// For serde: a count of zero is left out (serde passes a reference).
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Counts {
    fn add(&mut self, session: &Session) {
        self.total += 1;
        if session.unknown {
            self.unknown += 1;
            return;
        }
        match session.state {
            State::Running => self.running += 1,
            State::Queued => self.queued += 1,
            State::Ended(Status::Success) => self.succeeded += 1,
            State::Ended(Status::Failure | Status::Signal | Status::Timeout) => self.failed += 1,
            State::Ended(Status::Skipped) => self.skipped += 1,
            State::Ended(Status::Lost) => self.lost += 1,
        }
    }
}

/// What changed since the last look, as far as the caller knows.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// List the store again, and read every live session again.
    pub rescan: bool,
    /// Sessions to read again (new ones, ended ones, removed ones).
    pub sessions: HashSet<Ulid>,
    /// Read the queues again (slot counts, waiters).
    pub queues: bool,
}

impl Changes {
    /// True when there is nothing to read again.
    pub fn is_empty(&self) -> bool {
        !self.rescan && !self.queues && self.sessions.is_empty()
    }
}

/// Every session of the store, read incrementally. See the module documentation.
#[derive(Debug)]
pub struct Fleet {
    root: StateRoot,
    config: Config,
    /// In display order: running (longest running first), queued (next to start first),
    /// then ended (last ended first).
    sessions: Vec<Session>,
    index: HashMap<Ulid, usize>,
    counts: Counts,
    census: queues::Censuses,
    tree: tree::Tree,
}

impl Fleet {
    /// Reads every session of the store under `root` and its queues; `config` gives the
    /// slot counts of queues that have none set. Errors (exit 125) only when the store's
    /// directory cannot be read; a session that cannot be read is kept with its
    /// [`Session::problem`].
    pub fn open(root: StateRoot, config: Config) -> Result<Self> {
        let ids = root.session_ids()?;
        let read = crate::store::session::parallel::read_all(&ids, |id| {
            read::session(&root, id, None, true)
        });
        let mut fleet = Self {
            census: queues::Censuses::default(),
            root,
            config,
            sessions: read.into_iter().flatten().collect(),
            index: HashMap::new(),
            counts: Counts::default(),
            tree: tree::Tree::default(),
        };
        fleet.rebuild(true);
        fleet.census.refresh(&fleet.root);
        Ok(fleet)
    }

    /// Reads again what `changes` names: the sessions listed (new ones are added, removed
    /// ones dropped), every live session and the list of sessions on a re-scan, and the
    /// queues. Returns the IDs of the sessions that were read. Errors as [`Fleet::open`].
    pub fn refresh(&mut self, changes: &Changes) -> Result<Vec<Ulid>> {
        let mut wanted: Vec<Ulid> = changes.sessions.iter().copied().collect();
        let mut ids_changed = false;
        if changes.rescan {
            let ids = self.root.session_ids()?;
            let present: HashSet<Ulid> = ids.iter().copied().collect();
            let before = self.sessions.len();
            self.sessions
                .retain(|session| present.contains(&session.id()));
            ids_changed |= self.sessions.len() != before;
            wanted.extend(ids.into_iter().filter(|id| !self.index.contains_key(id)));
            wanted.extend(
                self.sessions
                    .iter()
                    .filter(|s| s.is_live())
                    .map(Session::id),
            );
            self.index = index_of(&self.sessions);
        }
        wanted.sort_unstable();
        wanted.dedup();
        // Finished sessions never change: only live and new ones are read; of a finished
        // one, only whether it is still there (`clean` removes them).
        let mut gone = HashSet::new();
        wanted.retain(|id| match self.index.get(id) {
            Some(&at) if !self.sessions[at].is_live() => {
                if !crate::store::files::is_dir(&self.sessions[at].dir.path) {
                    gone.insert(*id);
                }
                false
            }
            _ => true,
        });
        let previous: Vec<Option<Session>> = wanted
            .iter()
            .map(|id| self.index.get(id).map(|&at| self.sessions[at].clone()))
            .collect();
        let pairs: Vec<(Ulid, Option<Session>)> = wanted.iter().copied().zip(previous).collect();
        let read = crate::store::session::parallel::read_all(&wanted, |id| {
            let previous = pairs
                .binary_search_by_key(&id, |(id, _)| *id)
                .ok()
                .and_then(|at| pairs[at].1.clone());
            read::session(&self.root, id, previous, false)
        });
        ids_changed |= !gone.is_empty();
        for (id, session) in wanted.iter().zip(read) {
            match (self.index.get(id), session) {
                (Some(&at), Some(session)) => self.sessions[at] = session,
                (None, Some(session)) => {
                    self.sessions.push(session);
                    ids_changed = true;
                }
                (Some(_), None) => {
                    gone.insert(*id);
                    ids_changed = true;
                }
                (None, None) => {}
            }
        }
        if !gone.is_empty() {
            self.sessions
                .retain(|session| !gone.contains(&session.id()));
        }
        self.rebuild(ids_changed);
        if changes.queues || changes.rescan || !wanted.is_empty() {
            self.census.refresh(&self.root);
        }
        Ok(wanted)
    }

    /// The sessions, in display order: running (longest running first), queued (next to
    /// start first), ended (last ended first).
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The position of session `id` in [`Fleet::sessions`].
    pub fn find(&self, id: Ulid) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// How many sessions are in each state.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The figures of each queue (sorted by name), at `now`.
    pub fn queues(&self, now: SystemTime) -> Vec<QueueFigures> {
        queues::figures(&self.census, &self.config, &self.sessions, now)
    }

    /// The 1-based place of session `at` among the waiters of its queue, if it waits for
    /// a slot.
    pub fn queue_position(&self, at: usize) -> Option<usize> {
        let session = self.sessions.get(at)?;
        self.census
            .position(session.queue()?, &session.dir.id_string())
    }

    /// The sessions started by the job of session `at` (positions in
    /// [`Fleet::sessions`]), oldest first.
    pub fn children(&self, at: usize) -> &[usize] {
        self.tree.children(at)
    }

    /// True when session `at` has no parent among the sessions.
    pub fn is_root(&self, at: usize) -> bool {
        self.tree.is_root(at)
    }

    /// How the tree under session `at` fares; `None` when it has no children.
    pub fn rollup(&self, at: usize) -> Option<Rollup> {
        self.tree.rollup(at)
    }

    /// Sorts, indexes and counts the sessions again; with `ids_changed`, computes the
    /// short handles again.
    fn rebuild(&mut self, ids_changed: bool) {
        if ids_changed {
            let ids: Vec<Ulid> = self.sessions.iter().map(Session::id).collect();
            for (session, handle) in self
                .sessions
                .iter_mut()
                .zip(crate::store::session::short_handles(&ids))
            {
                session.handle = handle;
            }
        }
        self.sessions.sort_by_cached_key(display_key);
        self.index = index_of(&self.sessions);
        let mut counts = Counts::default();
        for session in &self.sessions {
            counts.add(session);
        }
        self.counts = counts;
        self.tree = tree::Tree::build(&self.sessions, &self.index);
    }
}

/// The sort key of the display order (see [`Fleet::sessions`]); the ID breaks ties.
fn display_key(session: &Session) -> (u8, i128, Ulid) {
    let millis = |time: Option<SystemTime>| {
        time.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_millis()).unwrap_or(i128::MAX))
    };
    match session.state {
        State::Running => (
            0,
            millis(session.started.or(Some(session.created))),
            session.id(),
        ),
        State::Queued => (1, millis(Some(session.created)), session.id()),
        State::Ended(_) => (2, -millis(session.finished), session.id()),
    }
}

fn index_of(sessions: &[Session]) -> HashMap<Ulid, usize> {
    sessions
        .iter()
        .enumerate()
        .map(|(at, session)| (session.id(), at))
        .collect()
}
