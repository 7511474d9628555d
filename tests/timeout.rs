//! `csa run --timeout`: the supervisor stops the job when the time is up, in daemon mode and
//! with `--no-daemon`.

use crate::support::{
    Csa, HANG, assert_contains, assert_reason, assert_record, group_members, output_within,
    wait_for,
};

/// Checks a `timeout` result: status, exit code 124, the reason naming the limit, and a
/// duration showing the job was stopped early (its `sleep` would have lasted 30 s or more).
fn assert_timed_out(result: &toml::Table, limit: &str) {
    assert_record(
        result,
        "status = 'timeout', exit_code = 124, synthetic = false",
    );
    assert_reason(result, &[limit]);
    let duration = result["duration_ms"].as_integer().unwrap();
    assert!(
        (1000..30_000).contains(&duration),
        "duration_ms = {duration}"
    );
}

#[test]
fn timeout_stops_a_daemon_job() {
    let csa = Csa::new();
    let id = csa.run_args(&["--timeout", "1s", "sleep 30"]);
    let out = csa.wait(&id);
    assert_eq!(out.status.code(), Some(124));
    assert_timed_out(&csa.result(&id).unwrap(), "1s");
    let session = csa.file(&id, "session.toml");
    assert_contains(&session, &["timeout_ms = 1000"]);
}

#[test]
fn timeout_works_without_a_daemon() {
    let csa = Csa::new();
    let out = output_within(
        csa.cmd().args([
            "run",
            "--no-daemon",
            "--timeout",
            "1s",
            "echo started; sleep 30",
        ]),
        HANG,
    );
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(out.stdout, b"started\n");
    let ids = csa.session_ids();
    assert_eq!(ids.len(), 1);
    assert_timed_out(&csa.result(&ids[0]).unwrap(), "1s");
}

#[test]
fn timeout_kills_what_ignores_sigterm_including_background_children() {
    let csa = Csa::new();
    // The shell dies on SIGTERM; its background child ignores it and must get SIGKILL.
    let id = csa.run_args(&[
        "--timeout",
        "1s",
        "(trap '' TERM; sleep 1000; sleep 1000) & sleep 30",
    ]);
    let pgid = csa.supervisor_pid(&id);
    let out = csa.wait(&id);
    assert_eq!(out.status.code(), Some(124));
    assert_timed_out(&csa.result(&id).unwrap(), "1s");
    // Nothing else kills the background child: only the supervisor can have done it.
    wait_for(HANG, "the process group to be empty", || {
        group_members(pgid).is_empty()
    });
}
