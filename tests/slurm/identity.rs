//! Which job is the session's: names people recognize in `squeue` (`NAME-<end of the ID>`),
//! the job ID in `list --json` and `result --json`, an identity that survives what users do
//! with `scontrol update`, no stray `queued` mark, and a watcher's takeover noted
//! (issue 19, items 8 and 10).

use super::{SLURM_DEADLINE, SlurmCsa, assert_ended, stdout};
use crate::support::wait_for;

fn squeue(slurm: &SlurmCsa, job: &str, format: &str) -> String {
    let out = slurm
        .command("squeue")
        .args(["-h", "-j", job, "-o", format])
        .output()
        .expect("squeue");
    stdout(&out).trim().to_owned()
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_named_session_shows_its_name_and_job_id_and_leaves_no_queued_mark() {
    let slurm = SlurmCsa::new();
    let id = slurm.run(&[
        "--name",
        "train resnet",
        "--slurm-arg=--hold",
        "echo trained",
    ]);
    let job = slurm.job_id(&id);
    assert_eq!(
        squeue(&slurm, &job, "%j"),
        format!("train_resnet-{}", &id[18..]),
        "squeue shows the name and the end of the ID"
    );
    let json = |args: &[&str]| -> serde_json::Value {
        serde_json::from_slice(&slurm.output(args).stdout).expect("JSON")
    };
    let shown = json(&["session", "result", "--json", &id]);
    assert_eq!(shown["job_id"], job.as_str(), "{shown}");
    assert_eq!(shown["status"], "queued", "{shown}");
    slurm.scontrol(&["release", &job]);
    assert_eq!(
        stdout(&assert_ended(&slurm, &id, 0, "success")),
        "trained\n"
    );
    let rows = json(&["session", "list", "--json"]);
    assert_eq!(rows[0]["job_id"], job.as_str(), "{rows}");
    assert_eq!(
        json(&["session", "result", "--json", &id])["job_id"],
        job.as_str()
    );
    assert!(
        !slurm.csa.session_dir(&id).join("queued").exists(),
        "a finished session has no queued mark"
    );
    // A local session has no job ID.
    let local = slurm.csa.run_args(&["true"]);
    slurm.csa.wait(&local);
    assert!(
        json(&["session", "result", "--json", &local])
            .get("job_id")
            .is_none()
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_renamed_pending_job_stays_the_sessions_and_runs() {
    let (slurm, id) = SlurmCsa::with_session("--slurm-arg=--hold", "echo ran");
    let job = slurm.job_id(&id);
    // Renamed, and its output moved: only its batch script still says whose it is.
    let elsewhere = tempfile::tempdir().unwrap();
    let log = elsewhere.path().join("moved.log");
    slurm.scontrol(&[
        "update",
        &format!("jobid={job}"),
        "name=renamed-by-hand",
        &format!("StdOut={}", log.display()),
    ]);
    // A new watcher asks Slurm at once: the job is still the session's, not lost.
    slurm.kill_watcher(&id);
    let out = slurm.output(&["session", "result", "--session", &id]);
    assert!(stdout(&out).contains("queued"), "{}", stdout(&out));
    wait_for(
        SLURM_DEADLINE,
        "the new watcher to see the new name",
        || slurm.file(&id, "watch.log").contains("renamed-by-hand"),
    );
    let log_text = slurm.file(&id, "watch.log");
    assert!(log_text.contains("still this session's job"), "{log_text}");
    assert!(
        log_text.contains("takes over"),
        "the takeover is noted: {log_text}"
    );
    assert!(slurm.csa.result(&id).is_none(), "not lost");
    slurm.scontrol(&["release", &job]);
    assert_eq!(stdout(&assert_ended(&slurm, &id, 0, "success")), "ran\n");

    // `session kill` finds a renamed job its own too.
    let doomed = slurm.run_with("--slurm-arg=--hold", "echo never");
    let job = slurm.job_id(&doomed);
    slurm.scontrol(&["update", &format!("jobid={job}"), "name=other-name"]);
    let out = slurm.output(&["session", "kill", "--session", &doomed]);
    assert_eq!(out.status.code(), Some(0), "{}", super::stderr(&out));
    assert_eq!(slurm.result(&doomed)["status"].as_str(), Some("signal"));
}
