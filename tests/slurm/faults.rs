//! The job outlives its watcher; the node dies without recording the ending.

use super::{SLURM_DEADLINE, SlurmCsa, assert_ended, stderr, stdout};
use crate::procs::send;
use crate::support::{
    assert_contains, assert_error, assert_exit, assert_reason, assert_record, wait_for,
};

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_killed_watcher_is_replaced_and_the_result_stays_exact() {
    let (slurm, id) = SlurmCsa::with_ready_session("echo ready; sleep 3; echo done; exit 3");
    let old = slurm.kill_watcher(&id);
    // Several looks at once: none may call it lost, exactly one new watcher takes over.
    let looks: Vec<std::process::Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let slurm = &slurm;
                let id = &id;
                scope.spawn(move || {
                    if n % 2 == 0 {
                        slurm.output(&["session", "result", "--session", id])
                    } else {
                        slurm.output(&["session", "list"])
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for look in &looks {
        assert!(look.status.success(), "{}", stderr(look));
        assert!(!stdout(look).contains("lost"), "{}", stdout(look));
    }
    let new = slurm.csa.supervisor_pid(&id);
    assert_ne!(new, old, "daemon.pid names the new watcher");
    let out = assert_ended(&slurm, &id, 3, "failure");
    assert_eq!(stdout(&out), "ready\ndone\n");
    let result = slurm.result(&id);
    assert_eq!(
        result["synthetic"].as_bool(),
        Some(false),
        "the node's exact record"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_watcher_killed_before_the_end_is_settled_by_wait() {
    let (slurm, id) = SlurmCsa::with_ready_session("echo ready; sleep 1; exit 7");
    slurm.kill_watcher(&id);
    // The job ends while nobody watches; `wait` records the node's ending without Slurm.
    wait_for(SLURM_DEADLINE, "the node's ending", || {
        slurm.csa.session_dir(&id).join("ending.toml").exists()
    });
    assert!(slurm.csa.result(&id).is_none());
    let out = assert_ended(&slurm, &id, 7, "failure");
    assert_eq!(stdout(&out), "ready\n");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_node_that_dies_without_an_ending_leaves_slurms_record() {
    let (slurm, id) = SlurmCsa::with_ready_session("echo ready; sleep 300");
    send("KILL", u32::try_from(slurm.node_pid(&id)).unwrap());
    let out = assert_ended(&slurm, &id, 137, "signal");
    assert_eq!(stdout(&out), "ready\n");
    let result = slurm.result(&id);
    // Slurm's record, not the node's.
    assert_record(&result, "signal = 9, synthetic = true");
    assert_reason(&result, &["Slurm", "no ending"]);
    assert!(!slurm.csa.session_dir(&id).join("ending.toml").exists());
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_node_on_another_host_without_shared_locks_is_still_watched_exactly() {
    let (slurm, id) = SlurmCsa::with_session(
        "--env CSA_TEST_NODE_ELSEWHERE=1",
        "echo ready; sleep 8; echo done; exit 6",
    );
    let out = assert_ended(&slurm, &id, 6, "failure");
    assert_eq!(stdout(&out), "ready\ndone\n");
    assert_eq!(slurm.result(&id)["synthetic"].as_bool(), Some(false));
    let log = slurm.file(&id, "watch.log");
    assert_contains(&log, &["locks do not reach across hosts"]);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn an_unreachable_controller_never_makes_a_session_lost() {
    let (slurm, id) = SlurmCsa::with_ready_session("echo ready; sleep 4; echo done; exit 4");
    // From now on the session's Slurm commands reach a port nobody listens on.
    let conf = std::env::var("SLURM_CONF").expect("SLURM_CONF");
    let text = std::fs::read_to_string(&conf).unwrap();
    let dead: String = text
        .lines()
        .map(|line| {
            if line.starts_with("SlurmctldPort=") {
                "SlurmctldPort=9".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dead_conf = slurm.csa.state.path().join("unreachable.conf");
    // Fail at once rather than after Slurm's default timeouts.
    std::fs::write(&dead_conf, dead + "\nMessageTimeout=1\n").unwrap();
    let job_file = slurm.csa.session_dir(&id).join("slurm.toml");
    let record = std::fs::read_to_string(&job_file).unwrap();
    let record = record.replace(&conf, dead_conf.to_str().unwrap());
    std::fs::write(&job_file, record).unwrap();
    slurm.kill_watcher(&id);
    // The new watcher cannot ask Slurm: the session is running, not lost.
    let list = slurm.output(&["session", "list"]);
    assert_contains(&stdout(&list), &["running"]);
    // kill refuses: it cannot check the job's name, so it signals nothing.
    let out = slurm.output(&["session", "kill", "--session", &id]);
    assert_error(&out, 125, "cannot reach Slurm");
    // The node still records the ending.
    let out = assert_ended(&slurm, &id, 4, "failure");
    assert_eq!(stdout(&out), "ready\ndone\n");
    let log = slurm.file(&id, "watch.log");
    assert_contains(&log, &["cannot ask Slurm"]);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_node_that_cannot_see_the_state_root_fails_the_job_with_a_reason_and_is_warned_about() {
    let slurm = SlurmCsa::new();
    // n3, the `isolated` partition's node, has the tests' state roots hidden.
    let id = slurm.run(&["--slurm-arg=--partition=isolated", "echo never"]);
    let out = super::assert_ended(&slurm, &id, 1, "failure");
    assert_eq!(stdout(&out), "");
    let result = slurm.result(&id);
    crate::support::assert_reason(
        &result,
        &[
            "JobLaunchFailure",
            "on n3",
            "does not see the state root",
            "never started",
        ],
    );
    let reason = result["reason"].as_str().unwrap();
    assert!(
        !reason.contains("signal 53") && !reason.contains("see /"),
        "{reason}"
    );
    assert!(result.get("signal").is_none(), "not a signal: {result:?}");
    // The next run warns about that node, before it submits.
    let out = slurm.output(&["run", "--executor", "slurm", "echo elsewhere"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warning: Slurm node n3 could not see this state root")
            && err.contains("--exclude=n3"),
        "{err}"
    );
    let other = stdout(&out).trim().to_owned();
    super::assert_ended(&slurm, &other, 0, "success");
}
