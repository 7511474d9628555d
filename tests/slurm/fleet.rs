//! Slurm sessions in a fleet: queues with slots, dependencies and session trees work
//! across executors.

use super::{SLURM_DEADLINE, SlurmCsa, assert_ended, stderr, stdout};
use crate::support::{
    assert_contains, assert_error, assert_exit, assert_reason, assert_record, wait_for,
};

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_slurm_session_waits_for_its_queue_slot_before_it_is_submitted() {
    let slurm = SlurmCsa::new();
    let first = slurm.run_with("--queue serial --slots 1", "echo ready; sleep 2");
    // A local session and a Slurm session behind it in the same queue.
    let local = slurm.csa.run_with("--queue serial", "echo local");
    let second = slurm.run_with("--queue serial", "echo second");
    let doomed = slurm.run_with("--queue serial", "echo never");
    slurm.wait_started(&first, "ready");
    assert!(
        !slurm.csa.session_dir(&second).join("slurm.toml").exists(),
        "not submitted while the queue is full"
    );
    // Killing a queued Slurm session ends it without submitting it.
    let out = slurm.output(&["session", "kill", "--session", &doomed]);
    assert_exit(&out, 0);
    let result = slurm.result(&doomed);
    assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    assert_reason(&result, &["never started"]);
    assert!(!slurm.csa.session_dir(&doomed).join("slurm.toml").exists());

    assert_ended(&slurm, &first, 0, "success");
    assert_ended(&slurm, &local, 0, "success");
    let out = assert_ended(&slurm, &second, 0, "success");
    assert_eq!(stdout(&out), "second\n");
    // One at a time, in submission order.
    let started = |id: &str| slurm.result(id)["started_at"].as_str().unwrap().to_owned();
    let finished = |id: &str| slurm.result(id)["finished_at"].as_str().unwrap().to_owned();
    assert!(finished(&first) <= started(&local), "{first} then {local}");
    assert!(
        finished(&local) <= started(&second),
        "{local} then {second}"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_slurm_session_runs_after_its_dependency_and_is_skipped_after_a_failure() {
    let slurm = SlurmCsa::new();
    let good = slurm.run(&["echo good"]);
    let bad = slurm.run(&["exit 4"]);
    let after_good = slurm.run(&["--after", &good, "echo after"]);
    let after_bad = slurm.run(&["--after", &bad, "echo never"]);
    let out = assert_ended(&slurm, &after_good, 0, "success");
    assert_eq!(stdout(&out), "after\n");
    let out = slurm.wait(&after_bad);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(slurm.result(&after_bad)["status"].as_str(), Some("skipped"));
    assert!(
        !slurm
            .csa
            .session_dir(&after_bad)
            .join("slurm.toml")
            .exists()
    );
}

/// The ID of the child session a parent's job wrote to `child.id` in `work`, once it is
/// there.
fn child_id(work: &std::path::Path) -> String {
    let child_file = work.join("child.id");
    wait_for(SLURM_DEADLINE, "the child session", || {
        std::fs::read_to_string(&child_file).is_ok_and(|s| s.trim().len() == 26)
    });
    std::fs::read_to_string(&child_file)
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn killing_a_local_parent_stops_its_slurm_child() {
    let slurm = SlurmCsa::new();
    let csa = env!("CARGO_BIN_EXE_csa");
    // The parent's job starts a Slurm session, records its ID, and goes on running.
    let script = format!(
        "child=$({csa} run --executor slurm 'echo child-ready; sleep 300') && echo $child > child.id && sleep 300"
    );
    let work = tempfile::tempdir().unwrap();
    let parent = slurm
        .csa
        .run_args(&["--cd", work.path().to_str().unwrap(), &script]);
    let child = child_id(work.path());
    slurm.wait_started(&child, "child-ready");
    let out = slurm.output(&["session", "kill", "--session", &parent]);
    assert_exit(&out, 0);
    let result = slurm.result(&child);
    assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains(&parent),
        "the reason names the ancestor: {reason}"
    );
    assert_eq!(slurm.result(&parent)["status"].as_str(), Some("signal"));
}

/// The time limit of a local parent stops its Slurm child: the supervisor's timeout thread
/// runs `scontrol` and `scancel` and reaps them itself, so the supervisor's main thread,
/// which reaps the job's orphans, must never take their exit status (it did, with
/// `waitpid(-1)`: the stop then failed with "no child processes" and the child ran on).
#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_local_parents_timeout_stops_its_slurm_child() {
    let slurm = SlurmCsa::new();
    let csa = env!("CARGO_BIN_EXE_csa");
    // Output every second until the child runs, then silence: `--idle-timeout` strikes
    // only once the child is there.
    let script = format!(
        "child=$({csa} run --executor slurm 'echo child-ready; sleep 300') && echo $child > child.id && until grep -q child-ready \"$CSA_STATE_DIR/sessions/$child/stdout.log\" 2>/dev/null; do echo waiting; sleep 1; done; sleep 300"
    );
    let work = tempfile::tempdir().unwrap();
    let parent = slurm.csa.run_args(&[
        "--cd",
        work.path().to_str().unwrap(),
        "--idle-timeout",
        "4s",
        &script,
    ]);
    let child = child_id(work.path());
    let out = slurm.wait(&parent);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    slurm.wait(&child);
    let result = slurm.result(&child);
    assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("the timeout of ancestor session {parent}")),
        "the reason names the ancestor's timeout: {reason}"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn one_wait_for_local_and_slurm_sessions() {
    let slurm = SlurmCsa::new();
    let local_ok = slurm.csa.run_args(&["echo local-ok"]);
    let slurm_ok = slurm.run(&["echo slurm-ok; sleep 1"]);
    let slurm_bad = slurm.run(&["echo slurm-bad; sleep 2; exit 5"]);
    let local_late = slurm.csa.run_args(&["sleep 1; echo local-late"]);
    let out = slurm.output(&[
        "session",
        "wait",
        "--until-done",
        &local_ok,
        &slurm_ok,
        &slurm_bad,
        &local_late,
    ]);
    assert_exit(&out, 5);
    let text = stdout(&out);
    for line in ["local-ok\n", "slurm-ok\n", "slurm-bad\n", "local-late\n"] {
        assert_eq!(text.matches(line).count(), 1, "{line:?} once in {text:?}");
    }
    let err = stderr(&out);
    assert_eq!(
        err.matches("CSA:SESSION_WAIT_COMPLETED").count(),
        4,
        "{err}"
    );
    let summary = err
        .lines()
        .find(|line| line.starts_with("CSA:SESSION_WAIT_SUMMARY"))
        .unwrap_or_else(|| panic!("no summary: {err}"));
    assert_contains(summary, &["total=4", "success=3", "failed=1"]);
    // --any: the first of them to end (a Slurm job still waiting for its start is not).
    let fast = slurm.csa.run_args(&["exit 0"]);
    let slow = slurm.run(&["sleep 300"]);
    let out = slurm.output(&["session", "wait", "--any", &slow, &fast]);
    assert_error(&out, 0, &format!("id={fast}"));
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn tags_reach_local_and_slurm_sessions_alike() {
    let slurm = SlurmCsa::new();
    let local = slurm
        .csa
        .run_args(&["--tag", "mixed", "echo ready; sleep 300"]);
    let remote = slurm.run_with("--tag mixed", "echo ready; sleep 300");
    let other = slurm.run_with("--tag other", "echo ready; sleep 300");
    slurm.wait_started(&remote, "ready");
    let list = slurm.output(&["session", "list", "--long", "--tag", "mixed"]);
    let text = stdout(&list);
    assert!(
        text.contains(&local) && text.contains(&remote) && !text.contains(&other),
        "{text}"
    );
    let out = slurm.output(&["session", "kill", "--tag", "mixed"]);
    assert_exit(&out, 0);
    for id in [&local, &remote] {
        let result = slurm.result(id);
        assert_record(&result, "status = 'signal', exit_code = 143");
    }
    assert!(
        slurm.csa.result(&other).is_none(),
        "an untagged session keeps running"
    );
    let out = slurm.output(&["session", "wait", "--tag", "mixed", "--until-done"]);
    assert_exit(&out, 143);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_session_not_submitted_yet_survives_its_watcher() {
    let slurm = SlurmCsa::new();
    // The dependency pends (held) until the test lets it go.
    let first = slurm.run(&["--slurm-arg=--hold", "echo first"]);
    // Its follower's watcher waits for it, with the caller's environment to submit with.
    let out = crate::support::output_within(
        slurm.csa.cmd().env("CSA_SLURM_TEST_CALLERS", "kept").args([
            "run",
            "--executor",
            "slurm",
            "--after",
            &first,
            "echo \"second $CSA_SLURM_TEST_CALLERS\"",
        ]),
        SLURM_DEADLINE,
    );
    assert_exit(&out, 0);
    let second = stdout(&out).trim().to_owned();
    // And a queue: one slot, taken by a job that runs until the test ends it.
    let holder = slurm.run(&[
        "--queue",
        "resumed",
        "--slots",
        "1",
        "echo ready; sleep 300",
    ]);
    let behind = slurm.run(&["--queue", "resumed", "echo behind"]);
    slurm.wait_started(&holder, "ready");

    // The login node's csa dies: both watchers are gone before they submitted.
    slurm.kill_watcher(&second);
    slurm.kill_watcher(&behind);
    for id in [&second, &behind] {
        let out = slurm.output(&["session", "result", "--session", id]);
        assert!(
            stdout(&out).contains("status = \"queued\""),
            "{}",
            stdout(&out)
        );
        assert!(
            slurm.file(id, "watch.log").contains("takes over"),
            "{}",
            slurm.file(id, "watch.log")
        );
        assert!(!slurm.csa.session_dir(id).join("slurm.toml").exists());
    }

    // The dependency succeeds: the new watcher submits the follower, as the first would.
    let job = slurm.job_id(&first);
    slurm.scontrol(&["release", &job]);
    assert_ended(&slurm, &first, 0, "success");
    let out = assert_ended(&slurm, &second, 0, "success");
    assert_eq!(
        stdout(&out),
        "second kept\n",
        "the caller's environment, not the look's"
    );

    // The slot comes free: the one behind runs.
    let out = slurm.output(&["session", "kill", "--session", &holder]);
    assert_exit(&out, 0);
    let out = assert_ended(&slurm, &behind, 0, "success");
    assert_eq!(stdout(&out), "behind\n");
}
