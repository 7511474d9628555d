//! Running jobs through Slurm: exit codes, signals, timeouts, refused submissions,
//! configuration, many sessions at once, attach, list.

use super::{SlurmCsa, assert_ended, stderr, stdout};
use crate::support::{
    assert_contains, assert_error, assert_exit, assert_output, assert_reason, assert_record,
    assert_success, started_id,
};

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn exit_codes_and_output_are_the_jobs_own() {
    let slurm = SlurmCsa::new();
    let ok = slurm.run(&["echo out; echo err >&2; exit 0"]);
    let three = slurm.run(&["echo three; exit 3"]);
    let killed = slurm.run(&["echo before; kill -USR1 $$; echo after"]);

    let out = assert_ended(&slurm, &ok, 0, "success");
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(slurm.file(&ok, "stderr.log"), "err\n");
    assert!(stderr(&out).contains("status=success exit=0 synthetic=false"));

    let out = assert_ended(&slurm, &three, 3, "failure");
    assert_eq!(stdout(&out), "three\n");

    let out = assert_ended(&slurm, &killed, 138, "signal");
    assert_eq!(stdout(&out), "before\n");
    let result = slurm.result(&killed);
    assert_record(&result, "signal = 10, synthetic = false");

    // Slurm's own messages never reach the job's output.
    for id in [&ok, &three, &killed] {
        assert!(!slurm.file(id, "stdout.log").contains("slurmstepd"));
        let record: toml::Table = slurm.file(id, "session.toml").parse().unwrap();
        assert_eq!(record["executor"].as_str(), Some("slurm"));
    }
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn timeout_is_csas_own() {
    let (slurm, id) = SlurmCsa::with_session("--timeout 1s", "echo started; sleep 300");
    let out = assert_ended(&slurm, &id, 124, "timeout");
    assert_eq!(stdout(&out), "started\n");
    let result = slurm.result(&id);
    assert_record(&result, "reason = 'timed out after 1s', synthetic = false");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn idle_timeout_is_enforced_on_the_node() {
    let slurm = SlurmCsa::new();
    let id = slurm.run(&["--idle-timeout", "1s", "echo started; sleep 300"]);
    let out = assert_ended(&slurm, &id, 124, "timeout");
    assert_eq!(stdout(&out), "started\n");
    let result = slurm.result(&id);
    assert_record(
        &result,
        "reason = 'idle timeout: no output on stdout or stderr for 1s', synthetic = false",
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_refused_submission_fails_run_with_slurms_message() {
    let slurm = SlurmCsa::new();
    let out = slurm.try_run_with("--slurm-arg=--partition=no-such-partition", "echo never");
    assert_exit(&out, 1);
    assert_eq!(
        stdout(&out),
        "",
        "no ID on stdout for a job that did not start"
    );
    let err = stderr(&out);
    assert_contains(&err, &["Invalid partition"]);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // The session records the failure, with Slurm's message.
    let ids = slurm.csa.session_ids();
    assert_eq!(ids.len(), 1);
    assert!(err.contains(&ids[0]), "the error names the session: {err}");
    let result = slurm.result(&ids[0]);
    assert_eq!(result["status"].as_str(), Some("failure"));
    assert_reason(&result, &["Invalid partition"]);
    let out = slurm.wait(&ids[0]);
    assert_exit(&out, 1);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn configured_executor_and_arguments_apply() {
    let slurm = SlurmCsa::new();
    let project = crate::support::project(
        "executor = \"slurm\"\n[executors.slurm]\nargs = [\"--partition=configured-nowhere\"]\n",
    );
    let cd = project.path().to_str().unwrap();
    // The configured arguments reach sbatch…
    let out = slurm.output(&["run", "--cd", cd, "true"]);
    assert_error(&out, 1, "Invalid partition");
    // …and a --slurm-arg given later wins; the executor came from the file.
    let out = slurm.output(&["run", "--cd", cd, "--slurm-arg=--partition=debug", "pwd"]);
    assert_success(&out, "run with the configured executor");
    let id = stdout(&out).trim().to_owned();
    let out = assert_ended(&slurm, &id, 0, "success");
    assert_eq!(
        stdout(&out).trim(),
        project.path().canonicalize().unwrap().to_str().unwrap()
    );
    // Local runs may not carry Slurm options.
    let out = slurm.output(&["run", "--executor", "local", "--slurm-arg=-p", "true"]);
    assert_exit(&out, 2);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn twenty_sessions_at_once() {
    let slurm = SlurmCsa::new();
    let ids: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|n| {
                let slurm = &slurm;
                scope.spawn(move || {
                    let script = format!("echo job {n}; sleep 1; exit {}", n % 4);
                    (n, slurm.run(&[&script]))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut jobs: Vec<String> = Vec::new();
    for (n, id) in &ids {
        let code = i32::try_from(n % 4).unwrap();
        let status = if code == 0 { "success" } else { "failure" };
        let out = assert_ended(&slurm, id, code, status);
        assert_eq!(stdout(&out), format!("job {n}\n"));
        jobs.push(slurm.job_id(id));
    }
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), 20, "one Slurm job per session");
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn attach_follows_the_nodes_spool_files_and_list_shows_it() {
    let (slurm, id) =
        SlurmCsa::with_session("--name slurm-attach", "echo one; sleep 2; echo two; exit 5");
    let list = slurm.output(&["session", "list"]);
    let row = stdout(&list);
    // `queued` until Slurm starts the job, then `running`.
    assert!(
        (row.contains("running") || row.contains("queued")) && row.contains("slurm-attach"),
        "{row}"
    );
    let out = slurm.output(&["session", "attach", "--session", &id]);
    assert_output(&out, 5, "one\ntwo\n");
    let list = slurm.output(&["session", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["status"], "failure");
    assert_eq!(rows[0]["exit_code"], 5);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_job_that_never_reaches_csa_on_the_node_says_why() {
    let slurm = SlurmCsa::new();
    let project = crate::support::project("[executors.slurm]\ncsa = \"/nonexistent/csa\"\n");
    let cd = project.path().to_str().unwrap();
    let id = slurm.run(&["--cd", cd, "echo never"]);
    assert_ended(&slurm, &id, 127, "failure");
    let result = slurm.result(&id);
    assert_eq!(result["synthetic"].as_bool(), Some(true));
    assert_reason(&result, &["never reached csa", "/nonexistent/csa"]);
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn the_job_gets_its_environment_and_directory() {
    let slurm = SlurmCsa::new();
    let dir = tempfile::tempdir().unwrap();
    let id = slurm.run(&[
        "--cd",
        dir.path().to_str().unwrap(),
        "--env",
        "CSA_SLURM_TEST_VALUE=forty two",
        "echo \"$CSA_SLURM_TEST_VALUE|$(pwd)|$CSA_SESSION_ID|$SLURM_JOB_ID\"",
    ]);
    let out = assert_ended(&slurm, &id, 0, "success");
    let job = slurm.job_id(&id);
    assert_eq!(
        stdout(&out),
        format!("forty two|{}|{id}|{job}\n", dir.path().display())
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn a_tmpfs_state_root_on_a_multi_node_cluster_is_warned_about() {
    // /dev/shm: a tmpfs on every Linux machine.
    let slurm = SlurmCsa::new_in(std::path::Path::new("/dev/shm"));
    let out = slurm.try_run(&["true"]);
    let err = assert_error(&out, 0, "warning: the state root is on a tmpfs");
    assert_contains(&err, &["CSA_STATE_DIR"]);
    // The job runs in the default partition, whose nodes all see this machine's /dev/shm.
    assert_exit(&slurm.wait(&started_id(&out)), 0);
}
