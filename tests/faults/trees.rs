//! Session trees killed at random moments of their lives (docs/fleets.md, "Session trees"):
//! while their nodes keep starting children, while a child's `csa run` is half done, while a
//! retrying parent starts its next attempt. Each trial checks, the moment `kill` returns,
//! that no process of the tree runs and that every session of the tree reads `signal`.
//!
//! The trees are bounded (each node starts a few children, then sleeps): a regression that
//! leaks a subtree leaks a few sleeping processes, which the trial then kills.

use std::path::Path;
use std::time::Duration;

use super::code;
use crate::support::{Csa, HANG, output_within, pids, process_alive, stderr};
use crate::support_faults::{rng, trials};

/// Live processes (not zombies) whose environment carries `CSA_STATE_DIR=<state>`: the
/// jobs, supervisors and `csa` commands of that store's sessions.
fn processes_of(state: &Path) -> Vec<i32> {
    let marker = format!("CSA_STATE_DIR={}", state.display());
    pids()
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|b| *b == 0)
                    .any(|var| var == marker.as_bytes())
            }) && process_alive(pid)
        })
        .collect()
}

/// What one trial left: processes of the tree still running, and sessions whose status is
/// not `signal` (with their ID, status and reason).
#[derive(Default)]
struct Left {
    processes: Vec<i32>,
    false_statuses: Vec<String>,
}

/// Kills the session `root` of `csa` after `delay`, then looks at what is left: every
/// session of the store belongs to the tree.
fn kill_and_look(csa: &Csa, root: &str, delay: Duration) -> Left {
    std::thread::sleep(delay);
    let out = output_within(csa.cmd().args(["session", "kill", "--session", root]), HANG);
    // Looked at the moment `kill` returns, before anything else.
    let processes = processes_of(csa.state.path());
    assert_eq!(code(&out), 0, "kill: {}", stderr(&out));
    let mut false_statuses = Vec::new();
    for id in csa.session_ids() {
        let result = csa.result(&id);
        let status = result
            .as_ref()
            .and_then(|r| r["status"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "no result".to_owned());
        let reason = result
            .as_ref()
            .and_then(|r| r.get("reason").and_then(|v| v.as_str()).map(str::to_owned))
            .unwrap_or_default();
        if status != "signal" || !reason.contains("csa session kill") {
            false_statuses.push(format!("{id}: {status} ({reason})"));
        }
    }
    Left {
        processes,
        false_statuses,
    }
}

/// Runs `trials` trials of `script` as a root session killed 0–500 ms after it started, and
/// fails with the figures when any left a process or a false status.
fn stress(test: &str, trials: usize, root_script: impl Fn(&Csa) -> String) {
    let mut rng = rng(test);
    let (mut processes, mut false_statuses, mut sessions) = (0, 0, 0);
    let mut failures = Vec::new();
    for trial in 0..trials {
        let csa = Csa::new();
        let root = csa.run_args(&["--name", "root", &root_script(&csa)]);
        let delay = Duration::from_millis(rng.u64(0..=500));
        let left = kill_and_look(&csa, &root, delay);
        sessions += csa.session_ids().len();
        processes += left.processes.len();
        false_statuses += left.false_statuses.len();
        if !left.processes.is_empty() || !left.false_statuses.is_empty() {
            failures.push(format!(
                "trial {trial} (kill after {delay:?}): processes left {:?}; false statuses {:?}",
                left.processes, left.false_statuses
            ));
        }
        // A regression must not leave the next trials a busier machine.
        csa.kill_groups(&csa.session_ids());
    }
    eprintln!(
        "{test}: {trials} trials, {sessions} sessions, {processes} processes left, {false_statuses} false statuses"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A three-level tree whose nodes keep starting children (the root four middle nodes, each
/// middle node three leaves, a few tens of ms apart), killed at a random moment 0–500 ms
/// after the root started — often while a child's `csa run` is half done: when `kill`
/// returns, nothing of the tree runs, and every session reads `signal` with the kill's
/// reason.
#[test]
fn a_tree_killed_at_random_moments_stops_as_one() {
    let bin = env!("CARGO_BIN_EXE_csa");
    stress(
        "a_tree_killed_at_random_moments_stops_as_one",
        trials(8, 200),
        |csa| {
            let middle = crate::tree::script(
                csa,
                "middle.sh",
                &format!(
                    "for i in 1 2 3; do '{bin}' run --name leaf 'sleep 300' >/dev/null 2>&1; sleep 0.03; done\nsleep 300 & wait\n"
                ),
            );
            crate::tree::script(
                csa,
                "root.sh",
                &format!(
                    "for i in 1 2 3 4; do '{bin}' run --name middle \"{middle}\" >/dev/null 2>&1; sleep 0.05; done\nsleep 300 & wait\n"
                ),
            )
        },
    );
}

/// A parent that retries its child until it succeeds — `while :; do csa session wait
/// --until-done "$(csa run 'sleep 60')" && break; done` — killed at a random moment: its
/// next attempt never runs (refused while the parent is being stopped), and nothing of the
/// tree is left.
#[test]
fn a_retrying_parent_killed_at_random_moments_leaks_no_attempt() {
    let bin = env!("CARGO_BIN_EXE_csa");
    stress(
        "a_retrying_parent_killed_at_random_moments_leaks_no_attempt",
        trials(8, 200),
        |_| {
            format!(
                "while :; do '{bin}' session wait --until-done \"$('{bin}' run 'sleep 60')\" && break; done"
            )
        },
    );
}
