//! The processes a test's sessions started: finding them through `/proc` (by process group
//! and by the `CSA_SESSION_ID` they carry), waiting for them to go, and killing what is
//! left when a test ends.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Csa, HANG, wait_for};

impl Csa {
    /// SIGKILLs what is left of the session's process group (test clean-up): every live
    /// process whose process group is the one `daemon.pid` names *and* whose environment
    /// carries this session's `CSA_SESSION_ID`, so a tampered `daemon.pid` can never aim it
    /// at anything else. Scans again until none is left (at most [`HANG`]): a shell may fork
    /// a child between a scan and the signal that kills the shell.
    pub fn kill_group(&self, id: &str) {
        self.kill_groups(&[id.to_owned()]);
    }

    /// [`Csa::kill_group`] for each of `ids`, with one scan of `/proc` per round.
    pub fn kill_groups(&self, ids: &[String]) {
        let marked: Vec<(i32, &str)> = ids
            .iter()
            .filter_map(|id| {
                // Only a regular file, and only its start: a test may plant a FIFO there,
                // which would block, or a 3 GB file.
                let path = self.session_dir(id).join("daemon.pid");
                if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file()) {
                    return None;
                }
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(std::fs::File::open(path).ok()?, 64),
                    &mut text,
                )
                .ok()?;
                let pgid = text.split_whitespace().next()?.parse::<i32>().ok()?;
                (pgid > 1).then_some((pgid, id.as_str()))
            })
            .collect();
        if marked.is_empty() {
            return;
        }
        let deadline = Instant::now() + HANG;
        let mut pause = Duration::from_millis(1);
        loop {
            let left: Vec<i32> = processes()
                .into_iter()
                .filter(|(pid, pgid)| {
                    marked
                        .iter()
                        .any(|(group, id)| group == pgid && carries(*pid, id))
                })
                .map(|(pid, _)| pid)
                .collect();
            if left.is_empty() || Instant::now() >= deadline {
                return;
            }
            for pid in left {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// The PIDs in `/proc` now.
pub fn pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// True when process `pid` carries session `id`: its environment has
/// `CSA_SESSION_ID=<id>` (the session's supervisor or watcher, its job and what the job
/// started).
pub fn carries(pid: i32, id: &str) -> bool {
    let marker = format!("CSA_SESSION_ID={id}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .any(|var| var == marker.as_bytes())
}

/// True when process `pid` has `path` open.
pub fn has_open(pid: i32, path: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
    })
}

/// The live processes (not zombies) that carry session `id` ([`carries`]).
pub fn carrying(id: &str) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|pid| carries(*pid, id) && process_alive(*pid))
        .collect()
}

/// Every live (not zombie) process with its process group.
fn processes() -> Vec<(i32, i32)> {
    pids()
        .into_iter()
        .filter_map(|pid| {
            let (state, pgid, _, _) = crate::procs::stat(pid)?;
            (!matches!(state, 'Z' | 'X')).then_some((pid, pgid))
        })
        .collect()
}

/// The PIDs of live processes in process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|(_, group)| *group == pgid)
        .map(|(pid, _)| pid)
        .collect()
}

/// Asserts that process group `pgid` has no live member now; the panic names `what` and
/// the members left.
#[track_caller]
pub fn assert_group_empty(pgid: i32, what: &str) {
    let members = group_members(pgid);
    assert!(
        members.is_empty(),
        "{what}: process group {pgid} still has {members:?}"
    );
}

/// Waits (up to [`HANG`]) until process group `pgid` has no live member; panics naming
/// `what` (what should have stopped it) if one is left.
#[track_caller]
pub fn wait_group_empty(pgid: i32, what: &str) {
    wait_for(
        HANG,
        &format!("{what} to leave process group {pgid} empty"),
        || group_members(pgid).is_empty(),
    );
}

/// True while process `pid` exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}
