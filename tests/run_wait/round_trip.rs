//! The round trip itself: `run` prints one ID and returns at once, `wait` gives back the exit
//! code and the output byte-exact, for one waiter or many.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{
    Csa, Gated, HANG, assert_contains, assert_exit, assert_output, assert_record, assert_success,
    code, directive, is_ulid, output_within, started_id, wait_for,
};

#[test]
fn run_prints_exactly_one_ulid_line_and_a_directive() {
    let csa = Csa::new();
    let out = csa.output(&["run", "exit 0"]);
    assert_success(&out, "csa run");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout:?}");
    assert!(stdout.ends_with('\n'));
    let id = stdout.trim_end();
    assert!(is_ulid(id), "not a ULID: {id:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = directive(&stderr, "SESSION_STARTED").expect("SESSION_STARTED directive");
    assert_contains(line, &[&format!("id={id} ")]);
    assert_contains(
        line,
        &[&format!(
            "wait_cmd=\"{} session wait --session {id}\"",
            csa.pasted_csa()
        )],
    );
    assert_contains(line, &[" pid=", " dir=", " kill_cmd="]);
    assert_exit(&csa.wait(id), 0);
}

#[test]
fn wait_returns_the_exit_code_and_stdout() {
    let csa = Csa::new();
    let id = csa.run("echo out; echo to-stderr >&2; exit 3");
    let out = csa.wait(&id);
    assert_output(&out, 3, b"out\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = directive(&stderr, "SESSION_WAIT_COMPLETED").expect("completed directive");
    assert_contains(line, &["status=failure", "exit=3", "synthetic=false"]);
    // stdout.log on stdout; on a failure, the end of stderr.log on stderr, before the
    // directive.
    assert_contains(&stderr, &["\nto-stderr\nCSA:SESSION_WAIT_COMPLETED "]);
    let result = csa.result(&id).unwrap();
    assert_record(
        &result,
        "status = 'failure', exit_code = 3, synthetic = false",
    );
    assert_eq!(csa.file(&id, "stderr.log"), "to-stderr\n");
}

#[test]
fn job_killed_by_a_signal_exits_128_plus_n() {
    let csa = Csa::new();
    for (signal, number) in [("TERM", 15), ("KILL", 9)] {
        let id = csa.run(&format!("kill -{signal} $$"));
        let out = csa.wait(&id);
        assert_eq!(code(&out), 128 + number);
        let result = csa.result(&id).unwrap();
        assert_eq!(result["status"].as_str(), Some("signal"));
        assert_eq!(result["signal"].as_integer(), Some(i64::from(number)));
    }
}

#[test]
fn run_returns_at_once_without_holding_the_callers_pipes() {
    let csa = Csa::new();
    // `$(csa run …)` and a caller with an extra pipe on fd 3: both read to EOF, which only
    // comes if the daemon closed every inherited copy of the pipe.
    let mut command = csa.sh_command("exec 3>&1; \"$CSA\" run 'sleep 30'");
    // A daemon holding the pipe would keep this open for 30 s.
    let id = started_id(&output_within(&mut command, Duration::from_secs(20)));
    assert!(csa.result(&id).is_none(), "job still running");
    csa.kill_group(&id);
}

#[test]
fn output_comes_back_byte_exact() {
    let csa = Csa::new();
    let id = csa.run(r"printf 'no newline\000\001\377end'");
    let out = csa.wait(&id);
    assert_output(&out, 0, b"no newline\x00\x01\xffend");
}

#[test]
fn wait_streams_a_100_mb_output() {
    let csa = Csa::new();
    let id = csa.run("head -c 100000000 /dev/zero | tr '\\0' x");
    let script = format!("\"$CSA\" session wait --until-done --session {id} | wc -c");
    let out = output_within(&mut csa.sh_command(&script), HANG * 2);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "100000000");
}

#[test]
fn concurrent_waiters_all_get_the_exit_code() {
    let csa = Csa::new();
    let Gated { mut gate, id, .. } = Gated::run(&csa, "{gate}; exit 42");
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let mut command = csa.cmd();
            command
                .args(["session", "wait", "--until-done", "--session", &id])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command.spawn().unwrap()
        })
        .collect();
    gate.open();
    for mut waiter in waiters {
        let status = waiter.wait().unwrap();
        assert_eq!(status.code(), Some(42));
    }
}

#[test]
fn wait_works_from_any_directory() {
    let csa = Csa::new();
    let id = csa.run("echo anywhere");
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", "--session", &id])
            .current_dir("/"),
        HANG,
    );
    assert_eq!(out.stdout, b"anywhere\n");
    wait_for(Duration::from_secs(5), "result", || {
        csa.result(&id).is_some()
    });
}

#[test]
fn json_output_names_id_pid_and_dir() {
    let csa = Csa::new();
    let out = csa.output_with("run --json", "exit 0");
    assert_success(&out, "csa run --json");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let id = value["id"].as_str().unwrap();
    assert!(is_ulid(id));
    assert!(value["pid"].as_u64().unwrap() > 1);
    assert_eq!(
        value["dir"].as_str().unwrap(),
        csa.session_dir(id).to_str().unwrap()
    );
    assert_exit(&csa.wait(id), 0);
}
