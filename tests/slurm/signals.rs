//! Signals Slurm sends to the batch shell reach the job once, as they would reach a batch
//! script run by `sbatch` itself, while `csa __node` survives to record the ending
//! (issue 19, item 2).

use super::{SlurmCsa, assert_ended, enabled, stdout};

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
fn slurms_warning_signal_reaches_the_job_before_the_time_limit() {
    let Some(()) = enabled("slurms_warning_signal_reaches_the_job_before_the_time_limit") else {
        return;
    };
    let slurm = SlurmCsa::new();
    // The checkpoint idiom: USR1 to the batch shell 50 s before the limit, a trap that
    // saves and exits.
    let id = slurm.run(&[
        "--slurm-arg=--time=1",
        "--slurm-arg=--signal=B:USR1@50",
        "trap 'echo checkpointed; exit 0' USR1; echo ready; sleep 300 & wait",
    ]);
    let out = assert_ended(&slurm, &id, 0, "success");
    assert_eq!(stdout(&out), "ready\ncheckpointed\n");
    let result = slurm.result(&id);
    let reason = result["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("SIGUSR1 came from outside csa"), "{reason}");
}

#[test]
fn signals_to_the_batch_shell_reach_the_jobs_process_group_once() {
    let Some(()) = enabled("signals_to_the_batch_shell_reach_the_jobs_process_group_once") else {
        return;
    };
    let slurm = SlurmCsa::new();
    let id = slurm.run(&[REPORTS]);
    slurm.wait_started(&id, "ready");
    let job = slurm.job_id(&id);
    let log = || slurm.file(&id, "stdout.log");
    // To the batch shell only: csa relays it to the job's process group.
    super::scancel(&["--batch", "--signal=USR1", &job]);
    crate::support::wait_for(super::SLURM_DEADLINE, "USR1 to reach the job", || {
        count(&log(), "shell USR1") == 1 && count(&log(), "child USR1") == 1
    });
    // To the batch shell's process group: the job has it already; csa does not add one.
    super::scancel(&["--full", "--signal=USR2", &job]);
    crate::support::wait_for(super::SLURM_DEADLINE, "USR2 to reach the job", || {
        count(&log(), "shell USR2") == 1
    });
    // Slurm ends the job (SIGCONT, SIGTERM to every process, under linuxproc).
    super::scancel(&[&job]);
    assert_ended(&slurm, &id, 143, "signal");
    let text = log();
    assert_eq!(count(&text, "shell USR1"), 1, "{text}");
    assert_eq!(count(&text, "child USR1"), 1, "{text}");
    assert_eq!(count(&text, "shell USR2"), 1, "{text}");
    assert!(count(&text, "shell TERM") <= 1, "{text}");
    let ending = slurm.file(&id, "ending.toml");
    assert!(ending.contains("outside_signals"), "{ending}");
}
