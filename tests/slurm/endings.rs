//! Endings Slurm causes — its time limit, a cancellation from outside csa, a node going
//! down — read as such, never as what the job made of the signal (issue 19, item 1).

use super::{SLURM_DEADLINE, SlurmCsa, assert_ended, stdout};
use crate::support::wait_for;

/// A job that exits 0 when it gets SIGTERM: on its own it would read `success`. (It waits
/// again when `wait` returns for the SIGCONT Slurm sends first.)
const TRAPS_TERM: &str =
    "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 300 & while :; do wait; done";

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn slurms_time_limit_reads_as_timeout_even_when_the_job_traps_sigterm() {
    time_limit(&SlurmCsa::new());
}

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_SLURM_CGROUP_CONF; .ci/run starts it)"]
fn under_cgroup_tracking_slurms_time_limit_reaches_the_job_and_reads_as_timeout() {
    // There Slurm sends the time limit's SIGTERM to the batch shell alone.
    time_limit(&SlurmCsa::cgroup());
}

/// A job that traps SIGTERM and exits 0 at Slurm's time limit reads `timeout`, and got the
/// SIGTERM once.
fn time_limit(slurm: &SlurmCsa) {
    // One minute: Slurm's shortest limit (it ends the job within about 30 s after).
    let id = slurm.run_with("--slurm-arg=--time=1", TRAPS_TERM);
    let out = assert_ended(slurm, &id, 124, "timeout");
    assert_eq!(
        stdout(&out),
        "ready\ngot TERM\n",
        "SIGTERM reached the job once"
    );
    let result = slurm.result(&id);
    let reason = result["reason"].as_str().unwrap();
    let job = slurm.job_id(&id);
    assert!(
        reason.contains("time limit")
            && reason.contains(&format!("Slurm job {job} TIMEOUT"))
            && reason.contains("exited 0"),
        "{reason}"
    );
    assert_eq!(result["synthetic"].as_bool(), Some(false));
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_cancel_from_outside_csa_reads_as_a_signal_with_slurms_reason() {
    let (slurm, id) = SlurmCsa::with_ready_session(TRAPS_TERM);
    let job = slurm.job_id(&id);
    slurm.scancel(&[&job]);
    assert_ended(&slurm, &id, 143, "signal");
    let result = slurm.result(&id);
    assert_eq!(result["signal"].as_integer(), Some(15));
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("cancelled in Slurm") && reason.contains(&format!("job {job} CANCELLED")),
        "{reason}"
    );
    // The watcher asked Slurm about this ending, and says so.
    let log = slurm.file(&id, "watch.log");
    assert!(log.contains("Slurm says CANCELLED"), "{log}");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_cancel_while_pending_from_outside_csa_says_the_job_never_started() {
    let (slurm, id) = SlurmCsa::with_session("--slurm-arg=--begin=now+1hour", "echo must-not-run");
    slurm.scancel(&[&slurm.job_id(&id)]);
    assert_ended(&slurm, &id, 143, "signal");
    let reason = slurm.result(&id)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("cancelled in Slurm while pending") && reason.contains("never started"),
        "{reason}"
    );
    assert_eq!(slurm.file(&id, "stdout.log"), "");
    assert!(
        !slurm.csa.session_dir(&id).join("queued").exists(),
        "no stray queued mark"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_node_that_goes_down_reads_as_failure() {
    // Taking a node down ends every job on it: no other Slurm test runs meanwhile.
    let slurm = SlurmCsa::exclusive();
    let id = slurm.run_ready(TRAPS_TERM);
    let job = slurm.job_id(&id);
    let node = slurm.job_node(&job);
    assert!(!node.is_empty(), "job {job} runs on a node");
    let _up = slurm.node_down(&node);
    assert_ended(&slurm, &id, 1, "failure");
    let reason = slurm.result(&id)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("the node failed") && reason.contains("NODE_FAIL"),
        "{reason}"
    );
    wait_for(SLURM_DEADLINE, "the session's result", || {
        slurm.csa.result(&id).is_some()
    });
}

/// Takes 300 MB, beyond the job's `--mem=64M`.
const HOG: &str = "python3 -c 'x = bytearray(300 * 1024 * 1024); print(len(x))'";

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_SLURM_CGROUP_CONF; .ci/run starts it)"]
fn an_out_of_memory_kill_says_so_even_when_the_script_exits_0() {
    let slurm = SlurmCsa::cgroup();
    // The job itself killed: the signal stays, the reason says why.
    let killed = slurm.run_with("--slurm-arg=--mem=64M", &format!("exec {HOG}"));
    // A child killed, the script going on to exit 0: not a success.
    let hid = slurm.run_with(
        "--slurm-arg=--mem=64M",
        &format!("{HOG}; echo went on; exit 0"),
    );

    let out = assert_ended(&slurm, &killed, 137, "signal");
    let result = slurm.result(&killed);
    assert_eq!(result["signal"].as_integer(), Some(9));
    crate::support::assert_reason(&result, &["out of memory", "OUT_OF_MEMORY"]);
    // `wait` shows what Slurm said beside the job's stderr.
    let err = super::stderr(&out);
    assert!(
        err.contains("slurm.log of session") && err.contains("oom-kill"),
        "{err}"
    );

    let out = assert_ended(&slurm, &hid, 1, "failure");
    assert_eq!(stdout(&out), "went on\n");
    crate::support::assert_reason(
        &slurm.result(&hid),
        &[
            "out of memory: the kernel killed 1 process",
            "the job exited 0",
        ],
    );
    let ending = slurm.file(&hid, "ending.toml");
    assert!(ending.contains("oom_kills = 1"), "{ending}");
}
