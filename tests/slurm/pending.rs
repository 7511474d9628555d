//! A job that cannot start yet says why (Slurm's pending reason in `list`, `result` and
//! `wait`'s `KV_WARM` line), and csa's own `--time` stays within the partition's limit
//! (issue 19, item 5). The `short` partition of the test cluster has a 10-minute limit.

use super::{SLURM_DEADLINE, SlurmCsa, assert_ended, stderr, stdout};
use crate::support::{assert_error, assert_exit, output_within, wait_for};

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_timeout_is_kept_within_the_partitions_time_limit() {
    // 9 min + 5 s grace + 1 min would be 11 min: kept at the partition's 10.
    let (slurm, id) = SlurmCsa::with_session(
        "--slurm-arg=--partition=short --slurm-arg=--hold --timeout 9m",
        "echo fits",
    );
    let job = slurm.job_id(&id);
    let out = slurm
        .command("squeue")
        .args(["-h", "-j", &job, "-o", "%l"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "10:00");
    slurm.scontrol(&["release", &job]);
    assert_eq!(stdout(&assert_ended(&slurm, &id, 0, "success")), "fits\n");

    // A timeout that cannot fit is refused before anything is created.
    let out = slurm.try_run_with("--slurm-arg=--partition=short --timeout 10m", "echo never");
    let err = assert_error(
        &out,
        2,
        "exceeds the time limit of Slurm partition short (10 min)",
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(slurm.csa.session_ids(), vec![id]);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_job_that_can_never_start_says_why_in_list_result_and_wait() {
    // The user's own --time, above the partition's limit: Slurm keeps it pending.
    let (slurm, id) = SlurmCsa::with_session(
        "--slurm-arg=--partition=short --slurm-arg=--time=20",
        "echo never",
    );
    let waiting_for = || -> String {
        let out = slurm.output(&["session", "result", "--json", &id]);
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        shown["waiting_for"].as_str().unwrap_or_default().to_owned()
    };
    // The watcher hears Slurm's reason on its first call, 10 s after submission.
    wait_for(SLURM_DEADLINE, "Slurm's pending reason", || {
        waiting_for().contains("PartitionTimeLimit")
    });
    assert!(waiting_for().contains("never starts"), "{}", waiting_for());
    let list = stdout(&slurm.output(&["session", "list"]));
    assert!(list.contains("PartitionTimeLimit"), "{list}");
    let out = output_within(
        slurm.csa.cmd().env("CSA_TEST_WAIT_CAP_MS", "300").args([
            "session",
            "wait",
            "--session",
            &id,
        ]),
        SLURM_DEADLINE,
    );
    assert_exit(&out, 0);
    let err = stderr(&out);
    let warm = err
        .lines()
        .find(|line| line.starts_with("CSA:SESSION_WAIT_KV_WARM"))
        .unwrap_or_else(|| panic!("no KV_WARM: {err}"));
    assert!(
        warm.contains("status=queued")
            && warm.contains("waiting_for=")
            && warm.contains("PartitionTimeLimit"),
        "{warm}"
    );
    // It stays what it is: csa does not cancel a job on its own.
    assert!(slurm.csa.result(&id).is_none());
}
