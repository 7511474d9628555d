//! Queues with slots: `csa run --queue`, `csa queue slots`, `csa queue list`.

use std::time::Duration;

use crate::support::{
    Csa, Gate, assert_contains, assert_exit, assert_output, assert_reason, assert_record, code,
    stderr, wait_for,
};

const LONG: Duration = Duration::from_secs(60);

/// `csa queue list --json` as (running, queued) for queue `name`.
fn counts(csa: &Csa, name: &str) -> (i64, i64) {
    let out = csa.output(&["queue", "list", "--json"]);
    assert_exit(&out, 0);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == name)
        .map_or((0, 0), |row| {
            (
                row["running"].as_i64().unwrap(),
                row["queued"].as_i64().unwrap(),
            )
        })
}

/// The `status` that `csa session result` reports.
fn status(csa: &Csa, id: &str) -> String {
    let out = csa.output(&["session", "result", "--session", id, "--json"]);
    assert_exit(&out, 0);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    view["status"].as_str().unwrap().to_owned()
}

fn started_at(csa: &Csa, id: &str) -> String {
    csa.result(id).unwrap()["started_at"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_serial_queue_runs_sessions_one_at_a_time_in_submission_order() {
    let csa = Csa::new();
    let ids: Vec<String> = (0..20)
        .map(|i| csa.run_with("--queue serial", &format!("echo {i}")))
        .collect();
    for id in &ids {
        assert_exit(&csa.wait(id), 0);
    }
    let mut previous_end = String::new();
    for (i, id) in ids.iter().enumerate() {
        let result = csa.result(id).unwrap();
        let start = result["started_at"].as_str().unwrap();
        assert!(start >= previous_end.as_str(), "session {i} started early");
        previous_end = result["finished_at"].as_str().unwrap().to_owned();
        assert_eq!(
            std::fs::read_to_string(csa.session_dir(id).join("stdout.log")).unwrap(),
            format!("{i}\n")
        );
    }
    let starts: Vec<String> = ids.iter().map(|id| started_at(&csa, id)).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "started out of submission order");
    assert_eq!(counts(&csa, "serial"), (0, 0));
}

#[test]
fn queued_sessions_are_listed_with_their_place_and_start_when_a_slot_frees() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let first = csa.run_args(&["--queue", "q", &format!("{}; echo first", gate.pass())]);
    let second = csa.run_with("--queue q", "echo second");
    wait_for(LONG, "the first job to run", || {
        status(&csa, &first) == "running"
    });
    assert_eq!(status(&csa, &second), "queued");
    let out = csa.output(&["session", "result", "--session", &second, "--json"]);
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["queue"], "q");
    assert_eq!(view["position"], 1);
    let list = crate::support::stdout(&csa.output(&["session", "list"]));
    assert_contains(&list, &["queued", "[queue q #1]"]);
    assert_eq!(counts(&csa, "q"), (1, 1));
    gate.open();
    let out = csa.wait(&second);
    assert_output(&out, 0, "second\n");
}

#[test]
fn a_new_slot_count_takes_effect_at_once_for_waiting_sessions() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let ids: Vec<String> = (0..4)
        .map(|_| csa.run_with("--queue wide", &gate.pass()))
        .collect();
    wait_for(LONG, "one running, three queued", || {
        counts(&csa, "wide") == (1, 3)
    });
    let out = csa.output(&["queue", "slots", "wide", "3"]);
    assert_exit(&out, 0);
    wait_for(LONG, "three running", || counts(&csa, "wide") == (3, 1));
    let shown = csa.output(&["queue", "slots", "wide"]);
    assert_eq!(crate::support::stdout(&shown), "3\n");
    gate.open();
    for id in &ids {
        assert_exit(&csa.wait(id), 0);
    }
}

#[test]
fn slots_given_with_run_are_kept_and_bound_concurrency_under_a_race() {
    let csa = std::sync::Arc::new(Csa::new());
    let log = csa.state.path().join("events.log");
    let script = format!(
        "echo \"+ $(date +%s%N)\" >> '{0}'; sleep 0.05; echo \"- $(date +%s%N)\" >> '{0}'",
        log.display()
    );
    csa.run_with("--queue pair --slots 2", "true");
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let csa = std::sync::Arc::clone(&csa);
            let script = script.clone();
            std::thread::spawn(move || csa.run_with("--queue pair", &script))
        })
        .collect();
    let ids: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for id in &ids {
        assert_exit(&csa.wait(id), 0);
    }
    let mut events: Vec<(u128, i32)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| {
            let (sign, time) = line.split_once(' ').unwrap();
            (time.parse().unwrap(), if sign == "+" { 1 } else { -1 })
        })
        .collect();
    assert_eq!(events.len(), 100);
    // Ends before starts at the same instant.
    events.sort_unstable();
    let (mut running, mut most) = (0, 0);
    for (_, change) in events {
        running += change;
        most = most.max(running);
    }
    assert!(most <= 2, "{most} jobs ran at once in a 2-slot queue");
    assert!(most == 2, "the second slot was never used");
}

#[test]
fn killing_a_queued_session_ends_it_without_starting_its_job() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let marker = csa.state.path().join("ran");
    let first = csa.run_with("--queue q", &gate.pass());
    let second = csa.run_args(&["--queue", "q", &format!("touch '{}'", marker.display())]);
    let third = csa.run_with("--queue q", "echo third");
    wait_for(LONG, "the first job to run", || {
        status(&csa, &first) == "running"
    });
    let out = csa.output(&["session", "kill", "--session", &second]);
    assert_exit(&out, 0);
    let result = csa.result(&second).unwrap();
    assert_record(&result, "status = 'signal', exit_code = 143");
    assert_reason(&result, &["csa session kill", "never started"]);
    gate.open();
    assert_eq!(crate::support::stdout(&csa.wait(&third)), "third\n");
    assert!(!marker.exists(), "the killed session's job ran");
}

#[test]
fn a_timeout_counts_from_the_start_of_the_job_not_from_the_queue() {
    let csa = Csa::new();
    let first = csa.run_with("--queue q", "sleep 1.5");
    let second = csa.run_with("--queue q --timeout 1s", "sleep 0.2; echo done");
    let out = csa.wait(&second);
    assert_output(&out, 0, "done\n");
    assert_exit(&csa.wait(&first), 0);
}

#[test]
fn dead_supervisors_never_block_the_queue() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let running = csa.run_with("--queue q", &gate.pass());
    let doomed = csa.run_with("--queue q", "echo doomed");
    let last = csa.run_with("--queue q", "echo last");
    wait_for(LONG, "two queued", || counts(&csa, "q") == (1, 2));
    // SIGKILL a queued session's supervisor: its entry is left behind, and it is lost.
    crate::support_faults::signal(csa.supervisor_pid(&doomed), 9);
    wait_for(LONG, "the dead waiter to leave the queue", || {
        counts(&csa, "q") == (1, 1)
    });
    // Its lock is released as its process finishes exiting, just after its queue entry.
    wait_for(LONG, "the dead waiter to read lost", || {
        status(&csa, &doomed) == "lost"
    });
    // SIGKILL the running session's supervisor: its slot is freed at once.
    crate::support_faults::signal(csa.supervisor_pid(&running), 9);
    let out = csa.wait(&last);
    assert_output(&out, 0, "last\n");
    gate.open();
    csa.kill_group(&running);
}

#[test]
fn queue_names_are_checked() {
    let csa = Csa::new();
    for bad in ["", "a/b", "..", "x y"] {
        let out = csa.output(&["run", "--queue", bad, "true"]);
        assert_eq!(code(&out), 2, "{bad:?}: {}", stderr(&out));
    }
    assert_exit(&csa.output(&["run", "--slots", "2", "true"]), 2);
    assert_exit(&csa.output(&["queue", "slots", "q", "0"]), 2);
    csa.assert_no_session("a bad queue name");
}

/// A `seq` left empty — as a crash or a full disk left it when csa rewrote it in place —
/// never restarts the numbering: a new session still queues behind those waiting (the order
/// seen before was Q1 Q2 NEW Q3).
#[test]
fn an_emptied_seq_never_lets_a_new_session_jump_the_queue() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let log = csa.state.path().join("order.log");
    let job = |name: &str| format!("echo {name} >> '{}'", log.display());
    let mut ids = vec![csa.run_args(&["--queue", "q", &format!("{}; {}", gate.pass(), job("Q1"))])];
    ids.push(csa.run_args(&["--queue", "q", &job("Q2")]));
    ids.push(csa.run_args(&["--queue", "q", &job("Q3")]));
    wait_for(LONG, "one running, two queued", || {
        counts(&csa, "q") == (1, 2)
    });
    let seq = csa.state.path().join("queues/q/seq");
    std::fs::write(&seq, "").unwrap();
    ids.push(csa.run_args(&["--queue", "q", &job("NEW")]));
    assert_eq!(std::fs::read_to_string(&seq).unwrap(), "4\n");
    gate.open();
    for id in &ids {
        assert_eq!(code(&csa.wait(id)), 0);
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "Q1\nQ2\nQ3\nNEW\n");
}

/// `csa queue slots` may be the first command run: it makes the state root (mode 0700),
/// as `csa run` does.
#[test]
fn queue_slots_as_the_first_command_makes_the_state_root() {
    use std::os::unix::fs::PermissionsExt as _;
    let csa = Csa::new();
    let root = csa.state.path().join("fresh").join("root");
    let out = csa
        .cmd()
        .env("CSA_STATE_DIR", &root)
        .args(["queue", "slots", "q", "2"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let out = csa
        .cmd()
        .env("CSA_STATE_DIR", &root)
        .args(["queue", "slots", "q"])
        .output()
        .unwrap();
    assert_eq!(crate::support::stdout(&out), "2\n", "{}", stderr(&out));
}
