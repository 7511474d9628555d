//! `csa session kill` of Slurm sessions: pending, running (with a SIGTERM trap, and
//! ignoring SIGTERM), and a job ID that Slurm reused.

use super::{SLURM_DEADLINE, SlurmCsa, sbatch, squeue_state, stderr, stdout};
use crate::support::{
    assert_contains, assert_error, assert_exit, assert_reason, assert_record, wait_for,
};

fn kill(slurm: &SlurmCsa, id: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["session", "kill", "--session", id];
    args.extend_from_slice(extra);
    slurm.output(&args)
}

/// True while a process of the session's job is left (the watcher, `csa __supervise`, carries
/// the session's ID too; only the job's side counts).
fn job_processes_left(id: &str) -> bool {
    crate::support::carrying(id).into_iter().any(|pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        !String::from_utf8_lossy(&cmdline).contains("__supervise")
    })
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn kill_of_a_pending_job_cancels_it_without_starting_it() {
    let (slurm, id) = SlurmCsa::with_session("--slurm-arg=--begin=now+1hour", "echo must-not-run");
    let job = slurm.job_id(&id);
    assert_eq!(squeue_state(&job), "PENDING");
    // Pending in Slurm reads as queued, saying for what.
    let list = slurm.output(&["session", "list"]);
    let text = stdout(&list);
    assert_contains(&text, &["queued", &format!("Slurm to start job {job}")]);
    let out = kill(&slurm, &id, &[]);
    assert_error(&out, 0, "cancelled pending Slurm job");
    let result = slurm.result(&id);
    assert_record(&result, "status = 'signal', exit_code = 143");
    assert_reason(&result, &["csa session kill", "never started"]);
    assert_eq!(slurm.file(&id, "stdout.log"), "");
    assert_eq!(squeue_state(&job), "", "Slurm no longer has the job");
    let out = slurm.wait(&id);
    assert_exit(&out, 143);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn kill_of_a_running_job_reads_as_stopped_whatever_it_returns() {
    let (slurm, id) = SlurmCsa::with_ready_session(
        "trap 'echo trapped; exit 0' TERM; echo ready; sleep 300 & wait",
    );
    let out = kill(&slurm, &id, &[]);
    assert_error(&out, 0, "sent SIGTERM to Slurm job");
    let result = slurm.result(&id);
    // The node's record.
    assert_record(
        &result,
        "status = 'signal', signal = 15, exit_code = 143, synthetic = false",
    );
    assert_reason(&result, &["csa session kill", "exited 0"]);
    assert_eq!(slurm.file(&id, "stdout.log"), "ready\ntrapped\n");
    let out = slurm.wait(&id);
    assert_exit(&out, 143);
    wait_for(SLURM_DEADLINE, "the job's processes to exit", || {
        !job_processes_left(&id)
    });
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn kill_of_a_job_ignoring_sigterm_uses_csas_grace_then_sigkill() {
    let (slurm, id) = SlurmCsa::with_ready_session("trap '' TERM; echo ready; sleep 300");
    let out = kill(&slurm, &id, &["--grace", "3s"]);
    assert_error(&out, 0, "csa on the node sent SIGKILL");
    // The grace period is not waited through in silence: said once.
    let text = stderr(&out);
    assert_eq!(
        text.matches("waiting up to 3s (the grace period) for Slurm job ")
            .count(),
        1,
        "{text}"
    );
    let result = slurm.result(&id);
    assert_record(&result, "status = 'signal', signal = 9, exit_code = 137");
    // Killed by csa on the node (not by Slurm after KillWait): the node recorded it.
    assert_eq!(result["synthetic"].as_bool(), Some(false), "{result:?}");
    wait_for(SLURM_DEADLINE, "the job's processes to exit", || {
        !job_processes_left(&id)
    });
    // A second kill finds it finished.
    let out = kill(&slurm, &id, &[]);
    assert_error(&out, 0, "already finished");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_reused_job_id_is_never_signalled() {
    let (slurm, id) = SlurmCsa::with_ready_session("echo ready; sleep 300");
    let own = slurm.job_id(&id);
    // Another job, as if the controller had lost its state and handed our ID out again.
    let other = sbatch(&[
        "--job-name=someone-else",
        "--output=/dev/null",
        "--wrap",
        "sleep 300",
    ]);
    let path = slurm.csa.session_dir(&id).join("slurm.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(&format!("\"{own}\""), &format!("\"{other}\"")),
    )
    .unwrap();
    let out = kill(&slurm, &id, &[]);
    let _ = std::process::Command::new("scancel").arg(&other).status();
    assert_exit(&out, 125);
    let err = stderr(&out);
    assert_contains(&err, &["refusing", "someone-else", "nothing was signalled"]);
    assert!(!slurm.csa.session_dir(&id).join("stop.toml").exists());
    // Our own job was not touched either.
    assert_eq!(squeue_state(&own), "RUNNING");
    assert!(stdout(&out).is_empty());
}
