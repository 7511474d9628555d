//! Stopping a job's processes in steps: a first signal (SIGTERM), a grace period during
//! which the group may exit on its own, then SIGKILL — the sequence `--timeout` and
//! `session kill` share (as nextest and watchexec stop their jobs).
//!
//! Members are found by scanning `/proc` ([`sys::group_members`]); a zombie is not a live
//! member. Processes that moved to another process group or session on purpose (`setsid`,
//! `setpgid`, daemons that double-fork into a new session) are out of reach.
//!
//! **A signal needs proof** that the process is the session's, never a PID or a group
//! number alone: the group of a verified live supervisor (the kernel reuses no PID that
//! still names a process group, so while its leader lives the group is the session's); a
//! descendant of a verified live supervisor; or, once the supervisor is gone, a process
//! whose environment carries the session's `CSA_SESSION_ID` ([`Scope::Marked`]).

pub mod drain;
pub mod sequence;
pub mod target;

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use ulid::Ulid;

use crate::backoff::{self, Backoff};
use crate::sys::{self, Pid, ProcStat};

/// The pauses between two scans while waiting for processes to exit: 1 ms, doubling up to
/// 50 ms.
pub const SCANS: Backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(50));

/// A process of the caller's own in the job's process group that is not part of the job:
/// `csa __node`'s signal witness ([`crate::sys::witness`]). 0: none.
static SPARED: AtomicI32 = AtomicI32::new(0);

/// Makes every [`Scope`] of this process leave out `pid`, a helper of the caller's own
/// that lives in the job's process group: it is not waited for, counted or signalled
/// member by member (a signal to the whole group still reaches it).
pub fn spare(pid: Pid) {
    SPARED.store(pid.as_raw(), Ordering::SeqCst);
}

/// True for the process [`spare`] named.
fn spared(pid: Pid) -> bool {
    pid.as_raw() == SPARED.load(Ordering::SeqCst)
}

/// The processes a stop sequence reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every member of a process group (the job's group, led by its supervisor).
    Group(Pid),
    /// The descendants of `ancestor` inside process group `pgid`: for a supervisor that
    /// shares a group it does not lead (`run --no-daemon` inside a shell's pipeline), so
    /// that the rest of the pipeline is never signalled. Each is signalled by its PID,
    /// never the group.
    Descendants {
        /// The shared process group; `None` when its leader is outside this PID namespace.
        pgid: Option<Pid>,
        /// The supervisor.
        ancestor: Pid,
    },
    /// The members of process group `pgid` (`None`: as in `Descendants`) that carry
    /// `CSA_SESSION_ID=<id>` in their environment and started no earlier than `since`
    /// (the supervisor's start time, clock ticks since boot): what is provably left of a
    /// session whose supervisor is gone. The supervisor itself — the group's leader with
    /// that start time, still on its way out after recording the result — is never one of
    /// them. Each is signalled by its PID, the proof checked again on the process pinned
    /// for the signal ([`sys::signal_proven`]).
    Marked {
        /// The session's process group.
        pgid: Option<Pid>,
        /// The session.
        id: Ulid,
        /// The supervisor's start time.
        since: u64,
    },
}

impl Scope {
    /// The scope of the calling process's job: its own group when it leads one, else its
    /// descendants in the group it shares.
    pub fn of_current_process() -> Self {
        let me = Pid::current();
        let pgid = Pid::current_group();
        if pgid == Some(me) {
            Self::Group(me)
        } else {
            Self::Descendants { pgid, ancestor: me }
        }
    }

    /// The live members of the scope other than `except`. Errors: `/proc` cannot be read
    /// ([`sys::group_members`]).
    pub fn members(self, except: Option<Pid>) -> io::Result<Vec<Pid>> {
        let (pgid, ancestor) = match self {
            Self::Group(pgid) => (Some(pgid), None),
            Self::Descendants { pgid, ancestor } => (pgid, Some(ancestor)),
            Self::Marked { pgid, .. } => (pgid, None),
        };
        let members = sys::group_members(pgid)?;
        let mut chosen: Vec<Pid> = match ancestor {
            None => members
                .iter()
                .filter(|(pid, stat)| self.proves(*pid, stat))
                .map(|(pid, _)| *pid)
                .collect(),
            Some(ancestor) => {
                // Grow the set of descendants until no member's parent is in it.
                let mut family = HashSet::from([ancestor]);
                loop {
                    let before = family.len();
                    for (pid, stat) in &members {
                        if stat.ppid.is_some_and(|ppid| family.contains(&ppid)) {
                            family.insert(*pid);
                        }
                    }
                    if family.len() == before {
                        break;
                    }
                }
                family.remove(&ancestor);
                family.into_iter().collect()
            }
        };
        chosen.retain(|&pid| Some(pid) != except && !spared(pid));
        chosen.sort_unstable();
        Ok(chosen)
    }

    /// Sends `signal` to the scope: one `kill(-pgid)` for a group (atomic: a member forking
    /// meanwhile cannot escape), one signal per member otherwise, each only after checking
    /// again on the pinned process that it is still what the scan found
    /// ([`sys::signal_proven`]). Members listed in `except` are spared only in the
    /// per-member case. Returns false when there was no one to signal.
    pub fn signal(self, signal: Signal, except: Option<Pid>) -> io::Result<bool> {
        if let (Self::Group(pgid), None) = (self, except) {
            return match sys::signal_group(pgid, signal) {
                Ok(()) => Ok(true),
                Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(false),
                Err(err) => Err(err),
            };
        }
        let members = self.members(except)?;
        let mut any = false;
        for &pid in &members {
            // Still what the scan found: a descendant (its parent in the scope, or the
            // supervisor) or a marked process. A PID reused since the scan fails the proof.
            let proof = || {
                ProcStat::read(pid).is_ok_and(|stat| {
                    !stat.is_exited()
                        && match self {
                            Self::Group(pgid) => stat.pgrp == Some(pgid),
                            Self::Descendants { ancestor, .. } => stat
                                .ppid
                                .is_some_and(|ppid| ppid == ancestor || members.contains(&ppid)),
                            Self::Marked { .. } => self.proves(pid, &stat),
                        }
                })
            };
            any |= sys::signal_proven(pid, signal, proof).unwrap_or(false);
        }
        Ok(any)
    }

    /// True when `pid` (with `stat`) may be signalled as a member of this scope found in
    /// its process group: always for `Group` and `Descendants` (whose members are proven
    /// by their group or their ancestry); for `Marked`, when it carries the session's ID
    /// and started no earlier than its supervisor — and is not the supervisor (the group's
    /// leader with its start time: it leaves on its own once its result is recorded).
    fn proves(self, pid: Pid, stat: &ProcStat) -> bool {
        match self {
            Self::Group(_) | Self::Descendants { .. } => true,
            Self::Marked { pgid, id, since } => {
                let supervisor = Some(pid) == pgid && stat.start_time == since;
                !supervisor
                    && stat.start_time >= since
                    && sys::has_env(pid, "CSA_SESSION_ID", &id.to_string())
            }
        }
    }

    /// Waits until the scope has no live member other than `except`, or `limit` passes
    /// ([`drain::until_empty`]: woken by a member's exit, not a scan every few ms). Returns
    /// true when it is empty (a scan that fails is not an empty one).
    pub fn wait_until_empty(self, except: Option<Pid>, limit: Duration) -> bool {
        drain::until_empty(limit, || self.members(except).ok())
    }

    /// SIGKILLs every member but `except`, again and again (members may fork meanwhile),
    /// until none is left or `limit` passes. Returns true when the scope is empty.
    pub fn kill_all(self, except: Option<Pid>, limit: Duration) -> bool {
        let deadline = backoff::deadline(limit);
        loop {
            let _ = self.signal(Signal::KILL, except);
            let left = deadline.saturating_duration_since(Instant::now());
            if self.wait_until_empty(except, left.min(Duration::from_millis(100))) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }
}

/// How long processes of an ended job that are already on their way out (the group signal
/// that ended the job reached them too) get before [`leftover_processes`] counts them.
const LEFTOVER_SETTLE: Duration = Duration::from_millis(50);

/// How many processes of the calling process's job ([`Scope::of_current_process`]) are
/// still running, the caller aside: background children that outlived the job, such as
/// `nohup cmd &`. Whoever supervises a job calls it once the job is reaped, for
/// `leftover_processes` in `result.toml`. Looks once when there are none; processes that
/// are exiting get [`LEFTOVER_SETTLE`] first.
///
/// A supervisor that is a child subreaper (the local executor makes itself one before it
/// starts the job) finds its group's processes among its own descendants, a few reads of
/// `/proc/<pid>/task/*/children`; any other caller scans every process in `/proc`, which on
/// a busy machine takes milliseconds (BENCHMARKS.md, "Completion lateness"). `None` when
/// `/proc` cannot be read: the count is unknown.
pub fn leftover_processes() -> Option<u32> {
    let scope = Scope::of_current_process();
    let me = Pid::current();
    let subreaper = rustix::process::child_subreaper().is_ok_and(|pid| pid.is_some());
    let left = || -> io::Result<Vec<Pid>> {
        let pgid = match scope {
            Scope::Group(pgid) => Some(pgid),
            Scope::Descendants { pgid, .. } | Scope::Marked { pgid, .. } => pgid,
        };
        if subreaper && let Some(found) = sys::descendants_in_group(me, pgid) {
            return Ok(found
                .into_iter()
                .map(|(pid, _)| pid)
                .filter(|&pid| !spared(pid))
                .collect());
        }
        scope.members(Some(me))
    };
    let mut count = Some(0);
    backoff::poll(LEFTOVER_SETTLE, SCANS, || {
        count = left().ok().map(|left| left.len());
        (count == Some(0)).then_some(())
    });
    count.map(|count| u32::try_from(count).unwrap_or(u32::MAX))
}

/// The conventional name of `signal`, e.g. `SIGTERM`, or `signal N`.
pub fn signal_name(signal: Signal) -> String {
    signal_hook::low_level::signal_name(signal.as_raw())
        .map_or_else(|| format!("signal {}", signal.as_raw()), str::to_owned)
}
