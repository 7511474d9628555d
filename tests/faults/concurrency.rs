//! Many callers at once: concurrent waiters, and sessions started back to back.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{background, code, wait_cmd};
use crate::support::{Csa, Gated, assert_contains, assert_output, directive, is_ulid, wait_for};
use crate::support_faults::{signal, trials};

/// Every `SESSION_WAIT_COMPLETED` line of `outputs`, which must all be equal.
fn same_completion(outputs: &[std::process::Output]) -> String {
    let lines: HashSet<String> = outputs
        .iter()
        .map(|out| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            directive(&stderr, "SESSION_WAIT_COMPLETED")
                .unwrap_or_else(|| panic!("no completion directive: {stderr}"))
                .to_owned()
        })
        .collect();
    assert_eq!(lines.len(), 1, "waiters disagree: {lines:?}");
    lines.into_iter().next().unwrap()
}

#[test]
fn hundred_concurrent_waiters_get_the_same_exit_code() {
    let csa = Csa::new();
    let Gated { mut gate, id, .. } = Gated::run(&csa, "echo out; {gate}; exit 42");
    let waiters: Vec<_> = (0..100).map(|_| background(wait_cmd(&csa, &id))).collect();
    // `list` and `result` in a loop while the waiters block and the job ends.
    let stop = Arc::new(AtomicBool::new(false));
    let lookers: Vec<_> = (0..2)
        .map(|_| {
            let (root, id, stop) = (
                csa.state.path().to_path_buf(),
                id.clone(),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || look_until(&root, &id, &stop))
        })
        .collect();
    gate.open();
    let outputs: Vec<_> = waiters.into_iter().map(super::Background::join).collect();
    stop.store(true, Ordering::SeqCst);
    for looker in lookers {
        let statuses = looker.join().unwrap();
        assert!(!statuses.is_empty());
    }
    for out in &outputs {
        assert_eq!(code(out), 42);
        assert_eq!(out.stdout, b"out\n");
    }
    let line = same_completion(&outputs);
    assert_contains(&line, &["synthetic=false"]);
}

/// Runs `list --json` and `result --session ID --json` until `stop`; each must succeed,
/// show the session, and say `running` or the final status. Returns the statuses seen.
fn look_until(root: &Path, id: &str, stop: &AtomicBool) -> Vec<String> {
    let mut seen = Vec::new();
    let csa_at = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_csa"));
        command
            .env("CSA_STATE_DIR", root)
            .env("RUST_BACKTRACE", "1")
            .args(args);
        crate::support::output_within(&mut command, crate::support::HANG)
    };
    while !stop.load(Ordering::SeqCst) || seen.is_empty() {
        let out = csa_at(&["session", "list", "--json"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list[0]["id"].as_str(), Some(id));
        let out = csa_at(&["session", "result", "--session", id, "--json"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let status = result["status"].as_str().unwrap().to_owned();
        assert!(status == "running" || status == "failure", "{result}");
        if status == "failure" {
            assert_eq!(result["exit_code"].as_i64(), Some(42));
        }
        seen.push(status);
    }
    seen
}

/// Waiters racing to reconstruct a lost session: one synthetic result, written once, and
/// every waiter reports that same one.
#[test]
fn concurrent_waiters_on_a_killed_supervisor_agree() {
    let csa = Csa::new();
    for _ in 0..trials(3, 10) {
        let id = csa.run("sleep 30");
        let supervisor = csa.supervisor_pid(&id);
        let waiters: Vec<_> = (0..30).map(|_| background(wait_cmd(&csa, &id))).collect();
        signal(supervisor, 9);
        let outputs: Vec<_> = waiters.into_iter().map(super::Background::join).collect();
        assert!(outputs.iter().all(|out| code(out) == 1));
        let line = same_completion(&outputs);
        assert_contains(&line, &["status=lost", "synthetic=true"]);
        crate::support_faults::signal_group(supervisor, 9);
    }
}

/// Sessions started back to back as fast as possible: unique IDs, all complete, and no
/// process of any of them left behind, not even a zombie.
#[test]
fn sessions_started_back_to_back() {
    let csa = Csa::new();
    let count = trials(100, 500);
    let mut ids = Vec::with_capacity(count);
    let mut supervisors = Vec::with_capacity(count);
    for n in 0..count {
        let id = csa.run_with("-- sh -c", &format!("echo {n}"));
        assert!(is_ulid(&id), "{id:?}");
        supervisors.push(csa.supervisor_pid(&id));
        ids.push(id);
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), count, "two sessions share an ID");
    let out = csa.output(&["session", "list", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let listed: HashSet<&str> = listed.iter().filter_map(|s| s["id"].as_str()).collect();
    assert!(
        ids.iter().all(|id| listed.contains(id.as_str())),
        "not all listed"
    );
    assert_eq!(csa.session_ids().len(), count);
    for (n, id) in ids.iter().enumerate() {
        let out = csa.wait(id);
        assert_output(&out, 0, format!("{n}\n").as_bytes());
        assert_eq!(csa.result(id).unwrap()["status"].as_str(), Some("success"));
    }
    let groups: HashSet<String> = supervisors.iter().map(i32::to_string).collect();
    wait_for(
        Duration::from_secs(30),
        "every process of the sessions to be gone and reaped",
        || leftovers(&groups).is_empty(),
    );
}

/// Processes (zombies included) whose process group is one of `groups`.
fn leftovers(groups: &HashSet<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
            groups.contains(*fields.get(2)?).then_some(stat)
        })
        .collect()
}
