//! `csa status`: the counts, the queues, the running sessions first; `--all`, `--json`,
//! `--watch`; and that it only looks.

use std::io::Read as _;
use std::process::Stdio;

use crate::support::Gate;
use crate::support::{Csa, HANG, assert_exit, code, stderr, stdout, wait_for};
use crate::support_faults::signal;

/// `csa status --json`, parsed.
pub fn status_json(csa: &Csa) -> serde_json::Value {
    let out = csa.output(&["status", "--json"]);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until `csa status --json` counts `running` and `queued` sessions.
pub fn wait_for_counts(csa: &Csa, running: u64, queued: u64) {
    wait_for(HANG, &format!("{running} running, {queued} queued"), || {
        let counts = &status_json(csa)["counts"];
        counts["running"] == running && counts["queued"] == queued
    });
}

/// A shell command that runs `csa run ARGS` (this test's binary and state root), quietly.
pub fn nested_run(args: &str) -> String {
    format!("'{}' run {args} >/dev/null 2>&1", env!("CARGO_BIN_EXE_csa"))
}

/// The rows of the sessions table: the lines after the `HANDLE` header, up to the first
/// blank line or the footer.
fn rows(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|line| !line.starts_with("HANDLE"))
        .skip(1)
        .take_while(|line| !line.is_empty() && !line.contains("not shown"))
        .collect()
}

#[test]
fn status_shows_the_counts_the_queues_then_the_running_sessions() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    assert_eq!(code(&csa.output(&["queue", "slots", "builds", "1"])), 0);
    let first = csa.run_args(&["--queue", "builds", "--name", "build-1", &gate.pass()]);
    csa.run_args(&["--queue", "builds", "--name", "build-2", &gate.pass()]);
    csa.run_args(&["--queue", "builds", "--name", "build-3", &gate.pass()]);
    let broken = csa.run_named("broken", "echo oops; exit 3");
    assert_exit(&csa.wait(&broken), 3);
    let orch = format!(
        "{}; {}; {}",
        nested_run(&format!("--name child-1 \"{}\"", gate.pass())),
        nested_run("--name child-2 'exit 1'"),
        gate.pass()
    );
    csa.run_named("orch", &orch);
    wait_for(HANG, "child-2 to fail", || {
        status_json(&csa)["counts"]["failed"] == 2
    });
    wait_for_counts(&csa, 3, 2);

    let out = csa.output(&["status"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "escapes without a terminal:\n{text}"
    );
    assert_eq!(
        text.lines().next().unwrap(),
        "7 sessions: 3 running, 2 queued, 0 succeeded, 2 failed, 0 skipped, 0 lost"
    );
    let queue: Vec<&str> = text
        .lines()
        .find(|line| line.starts_with("builds"))
        .unwrap_or_else(|| panic!("no line for queue builds:\n{text}"))
        .split_whitespace()
        .collect();
    // NAME SLOTS RUNNING WAITING DONE FAILED OLDEST THROUGHPUT USE
    assert_eq!(&queue[..6], ["builds", "1", "1", "2", "0", "0"], "{text}");
    let running = rows(&text);
    assert_eq!(running.len(), 2, "only the running trees:\n{text}");
    assert!(
        running
            .iter()
            .any(|row| row.contains("build-1") && row.contains("running"))
    );
    let tree = running.iter().find(|row| row.contains("orch")).unwrap();
    assert!(
        tree.contains("orch ▸ 1/2 done, 1 failed, 1 running"),
        "{text}"
    );
    assert!(
        text.contains("3 queued or ended sessions not shown"),
        "{text}"
    );

    // The handle is the end of the ID, and names that session.
    let handle = running
        .iter()
        .find(|row| row.contains("build-1"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(first.ends_with(handle) && handle.len() >= 4, "{handle}");
    let out = csa.output(&["session", "result", handle, "--json"]);
    assert!(stdout(&out).contains(&first), "{}", stderr(&out));

    let all = stdout(&csa.output(&["status", "--all"]));
    let all_rows = rows(&all);
    assert_eq!(all_rows.len(), 5, "{all}");
    // Running first, then queued (next to start first), then ended.
    let order: Vec<&str> = all_rows
        .iter()
        .map(|row| row.split_whitespace().nth(1).unwrap())
        .collect();
    assert!(
        order[..2].contains(&"build-1") && order[..2].contains(&"orch"),
        "{all}"
    );
    assert_eq!(&order[2..], ["build-2", "build-3", "broken"], "{all}");
    assert!(all_rows[2].contains("#1 in builds"), "{all}");
    assert!(all_rows[3].contains("#2 in builds"), "{all}");
    assert!(
        all_rows[4].contains("failure") && all_rows[4].contains("exit 3"),
        "{all}"
    );

    gate.open();
    wait_for_counts(&csa, 0, 0);
    let text = stdout(&csa.output(&["status"]));
    assert!(
        text.starts_with("7 sessions: 0 running, 0 queued, 5 succeeded, 2 failed"),
        "{text}"
    );
    assert!(text.contains("No session is running."), "{text}");
}

#[test]
fn status_json_gives_the_counts_and_each_queues_figures() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    assert_eq!(code(&csa.output(&["queue", "slots", "q", "2"])), 0);
    for _ in 0..3 {
        csa.run_args(&["--queue", "q", &gate.pass()]);
    }
    wait_for_counts(&csa, 2, 1);
    let json = status_json(&csa);
    let counts = &json["counts"];
    for (key, value) in [
        ("total", 3),
        ("running", 2),
        ("queued", 1),
        ("succeeded", 0),
        ("failed", 0),
        ("skipped", 0),
        ("lost", 0),
    ] {
        assert_eq!(counts[key], value, "{key}: {json}");
    }
    let queue = &json["queues"][0];
    assert_eq!(queue["name"], "q");
    assert_eq!(queue["slots"], 2);
    assert_eq!(queue["slots_set"], true);
    assert_eq!(queue["running"], 2);
    assert_eq!(queue["waiting"], 1);
    assert_eq!(queue["utilisation"], 1.0);
    assert!(queue["oldest_wait_ms"].as_u64().is_some(), "{json}");
    gate.open();
    wait_for_counts(&csa, 0, 0);
    let json = status_json(&csa);
    assert_eq!(json["queues"][0]["done"], 3, "{json}");
    assert_eq!(json["queues"][0]["ended_recently"], 3, "{json}");
    assert!(
        json["queues"][0]["per_minute"].as_f64().unwrap() > 0.0,
        "{json}"
    );
    // Options that make no sense together are refused.
    assert_eq!(code(&csa.output(&["status", "--json", "--watch"])), 2);
}

/// A look is a look: a session whose supervisor was killed shows as lost, but its result is
/// not written; a dead waiter's queue entry is not counted, and not removed.
#[test]
fn status_only_looks() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let doomed = csa.run_named("doomed", &gate.pass());
    assert_eq!(code(&csa.output(&["queue", "slots", "q", "1"])), 0);
    csa.run_args(&["--queue", "q", &gate.pass()]);
    let waiter = csa.run_args(&["--queue", "q", &gate.pass()]);
    wait_for_counts(&csa, 2, 1);
    let entries = csa.state.path().join("queues/q/waiting");
    let entry_of = |id: &str| {
        std::fs::read_dir(&entries)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(id))
    };
    assert!(entry_of(&waiter));
    signal(csa.supervisor_pid(&doomed), libc::SIGKILL);
    signal(csa.supervisor_pid(&waiter), libc::SIGKILL);
    wait_for(HANG, "the lost session", || {
        status_json(&csa)["counts"]["lost"] == 2
    });
    let json = status_json(&csa);
    assert_eq!(json["queues"][0]["waiting"], 0, "{json}");
    let text = stdout(&csa.output(&["status", "--all"]));
    assert!(text.contains("lost"), "{text}");
    assert!(
        text.contains("recorded by the next `csa session list`"),
        "{text}"
    );
    // Nothing was written or removed.
    assert!(csa.result(&doomed).is_none());
    assert!(csa.result(&waiter).is_none());
    assert!(entry_of(&waiter), "status removed a queue entry");
    // What heals does: `session list` records the lost results, `queue list` removes the
    // dead entry.
    assert_eq!(code(&csa.output(&["session", "list"])), 0);
    assert_eq!(
        csa.result(&doomed).unwrap()["status"].as_str(),
        Some("lost")
    );
    assert_eq!(code(&csa.output(&["queue", "list"])), 0);
    assert!(!entry_of(&waiter));
    gate.open();
    csa.kill_group(&doomed);
}

/// `--watch` without a terminal prints one picture after another, plain.
#[test]
fn status_watch_prints_a_picture_every_second() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    csa.run_named("watched", &gate.pass());
    let mut child = csa
        .cmd()
        .args(["status", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut text = String::new();
    let mut buffer = [0u8; 4096];
    wait_for(HANG, "two pictures", || {
        let n = out.read(&mut buffer).unwrap();
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        text.matches("1 session: 1 running").count() >= 2
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(!text.contains('\x1b'), "{text}");
    assert!(text.contains("watched"), "{text}");
    gate.open();
}

/// A tree's roll-up counts its queued sessions too: every session under the root is done,
/// running or queued, and the row says which.
#[test]
fn a_trees_roll_up_counts_its_queued_sessions() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    assert_eq!(code(&csa.output(&["queue", "slots", "subs", "1"])), 0);
    let orch = format!(
        "{}; {}; {}; {}",
        nested_run(&format!("--queue subs --name sub-1 \"{}\"", gate.pass())),
        nested_run(&format!("--queue subs --name sub-2 \"{}\"", gate.pass())),
        nested_run(&format!("--queue subs --name sub-3 \"{}\"", gate.pass())),
        gate.pass()
    );
    csa.run_named("orch", &orch);
    wait_for_counts(&csa, 2, 2);
    let out = csa.output(&["status"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let tree = rows(&text)
        .into_iter()
        .find(|row| row.contains("orch"))
        .unwrap_or_else(|| panic!("no row for orch:\n{text}"));
    assert!(
        tree.contains("orch ▸ 0/3 done, 1 running, 2 queued"),
        "{text}"
    );
    gate.open();
}

/// A session whose result cannot be read (malformed, a FIFO in its place) has ended — its
/// supervisor is gone — but what became of it cannot be told: `status` counts it as
/// `unknown`, never as running (a script waiting for `"running": 0` would wait for good),
/// and its row says what cannot be read.
#[test]
fn a_session_whose_result_cannot_be_read_is_unknown_not_running() {
    let csa = Csa::new();
    let ok = csa.finished("exit 0", 0);
    let malformed = csa.finished("exit 0", 0);
    let fifo = csa.finished("exit 0", 0);
    std::fs::write(
        csa.session_dir(&malformed).join("result.toml"),
        "status = 5\n",
    )
    .unwrap();
    let result = csa.session_dir(&fifo).join("result.toml");
    std::fs::remove_file(&result).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&result)
        .status()
        .unwrap();
    assert!(made.success());

    let out = csa.output(&["status", "--all"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "3 sessions: 0 running, 0 queued, 1 succeeded, 0 failed, 0 skipped, 0 lost, 2 unknown\n"
        ),
        "{text}"
    );
    for id in [&malformed, &fifo] {
        // A row starts with the session's handle: a suffix of its ID, 4 characters or more
        // (the counts line starts with a number, which an ID may end with too).
        let row = text
            .lines()
            .find(|line| {
                let first = line.split(' ').next().unwrap_or("");
                first.len() >= 4 && id.ends_with(first)
            })
            .unwrap_or_else(|| panic!("no row for {id}: {text}"));
        assert!(
            row.contains(" unknown ") && row.contains("cannot be read"),
            "{row}"
        );
    }
    assert!(text.contains(&ok[ok.len() - 4..]), "{text}");

    let out = csa.output(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["counts"]["running"], 0, "{json}");
    assert_eq!(json["counts"]["unknown"], 2, "{json}");
}
