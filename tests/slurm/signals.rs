//! Signals Slurm sends to the batch shell reach the job once, as they would reach a batch
//! script run by `sbatch` itself, while `csa __node` survives to record the ending
//! (issue 19, item 2).

use super::{SlurmCsa, assert_ended, stdout};

/// A job that reports each USR1, USR2 and TERM it gets — and so does a child of it in the
/// same process group — then exits 0 on TERM.
const REPORTS: &str = "trap 'echo shell USR1' USR1; trap 'echo shell USR2' USR2; \
    trap 'echo shell TERM; exit 0' TERM; \
    sh -c \"trap 'echo child USR1' USR1; trap 'exit 0' TERM; echo ready; while :; do sleep 1; done\" & \
    while :; do wait; done";

fn count(text: &str, line: &str) -> usize {
    text.lines().filter(|l| *l == line).count()
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn slurms_warning_signal_reaches_the_job_before_the_time_limit() {
    // The checkpoint idiom: USR1 to the batch shell 50 s before the limit, a trap that
    // saves and exits.
    let (slurm, id) = SlurmCsa::with_session(
        "--slurm-arg=--time=1 --slurm-arg=--signal=B:USR1@50",
        "trap 'echo checkpointed; exit 0' USR1; echo ready; sleep 300 & wait",
    );
    let out = assert_ended(&slurm, &id, 0, "success");
    assert_eq!(stdout(&out), "ready\ncheckpointed\n");
    let result = slurm.result(&id);
    let reason = result["reason"].as_str().unwrap_or_default();
    let (signals, _) = reason
        .split_once(" came from outside csa")
        .unwrap_or_else(|| panic!("no outside signals in the reason: {reason}"));
    // Slurm may follow the warning signal with SIGCONT (to wake a stopped job): the reason
    // names what reached csa, in order.
    assert!(
        signals.ends_with("SIGUSR1") || signals.ends_with("SIGUSR1 and SIGCONT"),
        "{reason}"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn signals_to_the_batch_shell_reach_the_jobs_process_group_once() {
    each_signal_once(&SlurmCsa::new());
}

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_SLURM_CGROUP_CONF; .ci/run starts it)"]
fn under_cgroup_tracking_signals_to_the_batch_shell_reach_the_job_once() {
    each_signal_once(&SlurmCsa::cgroup());
}

/// USR1 to the batch shell, USR2 to its process group, then Slurm's end of the job: each
/// reaches the job's processes once, however Slurm delivered it.
fn each_signal_once(slurm: &SlurmCsa) {
    let id = slurm.run(&[REPORTS]);
    slurm.wait_started(&id, "ready");
    let job = slurm.job_id(&id);
    let log = || slurm.file(&id, "stdout.log");
    // To the batch shell only: csa relays it to the job's process group.
    slurm.scancel(&["--batch", "--signal=USR1", &job]);
    crate::support::wait_for(super::SLURM_DEADLINE, "USR1 to reach the job", || {
        count(&log(), "shell USR1") == 1 && count(&log(), "child USR1") == 1
    });
    // To the batch shell's process group: the job has it already; csa does not add one.
    slurm.scancel(&["--full", "--signal=USR2", &job]);
    crate::support::wait_for(super::SLURM_DEADLINE, "USR2 to reach the job", || {
        count(&log(), "shell USR2") == 1
    });
    // Slurm ends the job (SIGCONT, SIGTERM to every process, under linuxproc).
    slurm.scancel(&[&job]);
    assert_ended(slurm, &id, 143, "signal");
    let text = log();
    assert_eq!(count(&text, "shell USR1"), 1, "{text}");
    assert_eq!(count(&text, "child USR1"), 1, "{text}");
    assert_eq!(count(&text, "shell USR2"), 1, "{text}");
    assert!(count(&text, "shell TERM") <= 1, "{text}");
    let ending = slurm.file(&id, "ending.toml");
    assert!(ending.contains("outside_signals"), "{ending}");
}

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_SLURM_CGROUP_CONF; .ci/run starts it)"]
fn under_cgroup_tracking_session_kill_reaches_the_jobs_trap() {
    // `session kill` goes through `scancel --full --signal=TERM`: the job's trap runs (once)
    // under cgroup tracking too, and the result still reads as stopped.
    let slurm = SlurmCsa::cgroup();
    let id = slurm.run(&["trap 'echo trapped; exit 0' TERM; echo ready; sleep 300 & wait"]);
    slurm.wait_started(&id, "ready");
    let out = slurm.output(&["session", "kill", "--session", &id, "--grace", "30s"]);
    assert_eq!(out.status.code(), Some(0), "{}", super::stderr(&out));
    let result = slurm.result(&id);
    assert_eq!(result["signal"].as_integer(), Some(15), "{result:?}");
    let reason = result["reason"].as_str().unwrap();
    assert!(reason.contains("exited 0"), "{reason}");
    assert_eq!(slurm.file(&id, "stdout.log"), "ready\ntrapped\n");
}

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_SLURM_CGROUP_CONF; .ci/run starts it)"]
fn under_cgroup_tracking_a_cancel_reads_as_a_signal_with_slurms_reason() {
    let slurm = SlurmCsa::cgroup();
    let id = slurm.run(&[
        "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 300 & while :; do wait; done",
    ]);
    slurm.wait_started(&id, "ready");
    slurm.scancel(&[&slurm.job_id(&id)]);
    assert_ended(&slurm, &id, 143, "signal");
    // Slurm sends SIGTERM to the batch shell alone here: only the relay brings it to the job.
    assert_eq!(slurm.file(&id, "stdout.log"), "ready\ngot TERM\n");
    let reason = slurm.result(&id)["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("cancelled in Slurm"), "{reason}");
}
