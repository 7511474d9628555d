//! The supervisor: a killed one is reported lost, a running one at the wait's cap is healthy,
//! `--no-daemon` runs in the foreground, its files are private and its hidden entry refuses
//! to be typed.

use std::process::Command;

use crate::support::{
    Csa, assert_contains, assert_exit, assert_output, assert_record, code, directive,
};

#[test]
fn killed_supervisor_is_reported_lost_quickly() {
    let csa = Csa::new();
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    Command::new("kill")
        .args(["-KILL", &supervisor.to_string()])
        .status()
        .unwrap();
    let out = csa.wait(&id);
    assert_exit(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = directive(&stderr, "SESSION_WAIT_COMPLETED").unwrap();
    assert_contains(line, &["status=lost", "synthetic=true"]);
    let result = csa.result(&id).unwrap();
    assert_record(&result, "status = 'lost', exit_code = 1, synthetic = true");
    csa.kill_group(&id);
}

#[test]
fn wait_at_the_cap_reports_a_healthy_running_session() {
    // `wait` gives up after 300 ms instead of 250 s.
    let csa = Csa::new().with_env("CSA_TEST_WAIT_CAP_MS", "300");
    let id = csa.run("sleep 30");
    let out = csa.output_with("session wait --session", &id);
    assert_exit(&out, 0);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warm = directive(&stderr, "SESSION_WAIT_KV_WARM").expect("KV_WARM directive");
    assert_contains(warm, &["status=alive", &format!("id={id}")]);
    let hint = directive(&stderr, "CALLER_HINT").expect("CALLER_HINT directive");
    assert_contains(hint, &["action=retry_wait"]);
    csa.kill_group(&id);
}

#[test]
fn no_daemon_runs_in_the_foreground_and_records_the_session() {
    let csa = Csa::new();
    let out = csa.output_with("run --no-daemon", "echo hi; echo err >&2; exit 4");
    assert_output(&out, 4, b"hi\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_contains(&stderr, &["err\n"]);
    let started = directive(&stderr, "SESSION_STARTED").expect("directive");
    let id = started
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("id="))
        .unwrap();
    let result = csa.result(id).unwrap();
    assert_eq!(result["exit_code"].as_integer(), Some(4));
    assert_exit(&csa.wait(id), 4);
}

#[test]
fn files_are_private() {
    use std::os::unix::fs::MetadataExt as _;
    let csa = Csa::new();
    let id = csa.run("echo x");
    csa.wait(&id);
    let dir = csa.session_dir(&id);
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", entry.file_name());
    }
    let pid_file = std::fs::read_to_string(dir.join("daemon.pid")).unwrap();
    let fields: Vec<&str> = pid_file.trim_end().split(' ').collect();
    assert_eq!(fields.len(), 2, "{pid_file:?}");
    assert!(
        fields.iter().all(|f| f.parse::<u64>().is_ok()),
        "{pid_file:?}"
    );
}

#[test]
fn the_hidden_supervisor_entry_is_refused_when_typed() {
    let csa = Csa::new();
    let id = csa.run("sleep 30");
    let dir = csa.session_dir(&id);
    for fd in ["0", "1", "3", "99"] {
        let out = csa.output(&[
            "__supervise",
            "--session-id",
            &id,
            "--session-dir",
            dir.to_str().unwrap(),
            "--lock-fd",
            fd,
            "--",
            "touch",
            "/tmp/csa-must-not-run",
        ]);
        assert_eq!(code(&out), 125, "fd {fd}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
    }
    assert!(csa.result(&id).is_none(), "the live session was disturbed");
    csa.kill_group(&id);
}
