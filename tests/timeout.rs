//! `csa run --timeout`: the supervisor stops the job when the time is up, in daemon mode and
//! with `--no-daemon`.

use crate::support::{
    Csa, assert_contains, assert_exit, assert_reason, assert_record, wait_group_empty,
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

/// `csa session wait` on session `id`: asserts exit code 124 and a `timeout` result whose
/// reason names `limit` (see [`assert_timed_out`]); returns what `wait` printed on stdout.
fn wait_timed_out(csa: &Csa, id: &str, limit: &str) -> Vec<u8> {
    let out = csa.wait(id);
    assert_exit(&out, 124);
    assert_timed_out(&csa.result(id).unwrap(), limit);
    out.stdout
}

#[test]
fn timeout_stops_a_daemon_job() {
    let csa = Csa::new();
    let id = csa.run_with("--timeout 1s", "sleep 30");
    wait_timed_out(&csa, &id, "1s");
    let session = csa.file(&id, "session.toml");
    assert_contains(&session, &["timeout_ms = 1000"]);
}

/// `csa run --no-daemon WORDS SCRIPT` (WORDS as on a command line): exits 124 and records
/// one session; returns the command's stdout and that session's result.
fn timed_out_without_a_daemon(words: &str, script: &str) -> (Vec<u8>, toml::Table) {
    let csa = Csa::new();
    let out = csa.output_with(&format!("run --no-daemon {words}"), script);
    assert_exit(&out, 124);
    let ids = csa.session_ids();
    assert_eq!(ids.len(), 1);
    (out.stdout, csa.result(&ids[0]).unwrap())
}

#[test]
fn timeout_works_without_a_daemon() {
    let (stdout, result) = timed_out_without_a_daemon("--timeout 1s", "echo started; sleep 30");
    assert_eq!(stdout, b"started\n");
    assert_timed_out(&result, "1s");
}

#[test]
fn timeout_kills_what_ignores_sigterm_including_background_children() {
    let csa = Csa::new();
    // The shell dies on SIGTERM; its background child ignores it and must get SIGKILL.
    let id = csa.run_with(
        "--timeout 1s",
        "(trap '' TERM; sleep 1000; sleep 1000) & sleep 30",
    );
    let pgid = csa.supervisor_pid(&id);
    wait_timed_out(&csa, &id, "1s");
    // Nothing else kills the background child: only the supervisor can have done it.
    wait_group_empty(pgid, "the supervisor");
}

/// `csa run --idle-timeout`: a job that writes nothing for the limit is stopped as
/// `--timeout` stops it, and the reason says how long it was quiet.
#[test]
fn idle_timeout_stops_a_quiet_job() {
    let csa = Csa::new();
    let id = csa.run_with("--idle-timeout 1s", "echo started; sleep 30; echo late");
    let stdout = wait_timed_out(
        &csa,
        &id,
        "idle timeout: no output on stdout or stderr for 1s",
    );
    assert_eq!(stdout, b"started\n");
    assert_contains(&csa.file(&id, "session.toml"), &["idle_timeout_ms = 1000"]);
    assert!(!csa.file(&id, "session.toml").contains("\ntimeout_ms"));
}

#[test]
fn idle_timeout_spares_a_job_that_keeps_writing_on_either_stream() {
    let csa = Csa::new();
    // Runs three times the idle limit, writing every 0.1 s: first on stdout only, then on
    // stderr only.
    let id = csa.run_with(
        "--idle-timeout 2s",
        "i=0; while [ $i -lt 30 ]; do echo $i; sleep 0.1; i=$((i+1)); done; \
         while [ $i -lt 60 ]; do echo $i >&2; sleep 0.1; i=$((i+1)); done; echo done",
    );
    let out = csa.wait(&id);
    assert_exit(&out, 0);
    let result = csa.result(&id).unwrap();
    assert_record(&result, "status = 'success', exit_code = 0");
    assert!(result["duration_ms"].as_integer().unwrap() >= 6000);
}

#[test]
fn idle_timeout_works_without_a_daemon() {
    let (stdout, result) =
        timed_out_without_a_daemon("--idle-timeout 1s -- sh -c", "echo started >&2; sleep 30");
    assert!(stdout.is_empty());
    assert_timed_out(&result, "no output on stdout or stderr for 1s");
}

#[test]
fn timeout_and_idle_timeout_take_none_and_refuse_nonsense() {
    let csa = Csa::new();
    let id = csa.run_args(&["--timeout", "none", "--idle-timeout", "none", "true"]);
    let session = csa.file(&id, "session.toml");
    assert!(!session.contains("timeout_ms"), "{session}");
    for flag in ["--timeout", "--idle-timeout"] {
        let out = csa.output(&["run", flag, "soon", "true"]);
        crate::support::assert_error(&out, 2, "invalid time limit `soon`");
    }
}
