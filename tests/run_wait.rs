//! `csa run` + `csa session wait`: the core round trip on real processes.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    Csa, Gated, HANG, assert_contains, assert_exit, assert_output, assert_record, assert_success,
    code, directive, is_ulid, output_with_input, output_within, started_id, wait_for,
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
fn prompt_from_standard_input() {
    let csa = Csa::new();
    let id = started_id(&output_with_input(
        csa.cmd().arg("run"),
        b"echo from-pipe; exit 5\n",
    ));
    let waited = csa.wait(&id);
    assert_exit(&waited, 5);
    assert_eq!(waited.stdout, b"from-pipe\n");
    assert_eq!(csa.file(&id, "prompt.txt"), "echo from-pipe; exit 5\n");
}

#[test]
fn empty_prompt_on_stdin_is_a_usage_error() {
    let csa = Csa::new();
    let out = csa.output(&["run"]);
    assert_exit(&out, 2);
    csa.assert_no_session("an empty prompt");
}

#[test]
fn program_runs_without_a_shell() {
    let csa = Csa::new();
    let id = csa.run_args(&["--", "printf", "%s|", "a b", "$HOME", "c"]);
    let out = csa.wait(&id);
    assert_eq!(out.stdout, b"a b|$HOME|c|");
    let session = csa.file(&id, "session.toml");
    assert!(
        session.contains(r#"argv = ["printf", "%s|", "a b", "$HOME", "c"]"#),
        "{session}"
    );
}

#[test]
fn cd_env_and_session_variables_reach_the_job() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let id = csa.run_args(&[
        "--cd",
        dir.path().to_str().unwrap(),
        "--env",
        "GREETING=hello world",
        "--name",
        "vars",
        r#"pwd; echo "$GREETING"; echo "$CSA_SESSION_ID"; echo "$CSA_SESSION_DIR""#,
    ]);
    let out = csa.wait(&id);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let real_dir = dir.path().canonicalize().unwrap();
    assert_eq!(
        std::path::Path::new(lines[0]).canonicalize().unwrap(),
        real_dir
    );
    assert_eq!(lines[1], "hello world");
    assert_eq!(lines[2], id);
    assert_eq!(lines[3], csa.session_dir(&id).to_str().unwrap());
}

#[test]
fn job_stdin_is_dev_null_unless_asked() {
    let csa = Csa::new();
    // `cat` would block forever on an inherited pipe that never closes.
    let mut command = csa.cmd();
    command
        .args(["run", "cat; echo done"])
        .stdin(Stdio::piped());
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let keep_open = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    let id = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    assert_eq!(csa.wait(&id).stdout, b"done\n");
    drop(keep_open);
}

#[test]
fn stdin_flag_passes_input_through() {
    let csa = Csa::new();
    let id = started_id(&output_with_input(
        csa.cmd().args(["run", "--stdin", "tr a-z A-Z"]),
        b"shout\n",
    ));
    assert_eq!(csa.wait(&id).stdout, b"SHOUT\n");
}

#[test]
fn missing_or_non_executable_program_fails_before_a_session_exists() {
    let csa = Csa::new();
    let out = csa.output_with("run --", "csa-no-such-program");
    assert_exit(&out, 127);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("csa: ") && stderr.contains("csa-no-such-program"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = csa.output_with("run --", script.to_str().unwrap());
    assert_exit(&out, 126);
    let out = csa.output_with("run --", dir.path().to_str().unwrap());
    assert_exit(&out, 126);
    csa.assert_no_session("a program that cannot run");
}

#[test]
fn ids_resolve_by_prefix_and_in_any_case() {
    let csa = Csa::new();
    let id = csa.run("exit 7");
    assert_eq!(code(&csa.wait(&id.to_lowercase())), 7);
    assert_eq!(code(&csa.wait(&id[..8])), 7);
    assert_eq!(code(&csa.wait(&id[..8].to_lowercase())), 7);
}

#[test]
fn unknown_and_ambiguous_ids_are_errors_naming_them() {
    let csa = Csa::new();
    let first = csa.run("true");
    let second = csa.run("true");
    let out = csa.output_with("session wait --session", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_exit(&out, 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    // Both IDs were made in the same second or so: find their common prefix.
    let common = first
        .bytes()
        .zip(second.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    if common >= 4 {
        let prefix = &first[..common];
        let out = csa.output_with("session wait --session", prefix);
        assert_exit(&out, 125);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_contains(&stderr, &["ambiguous", &first, &second]);
    }
}

#[test]
fn hostile_ids_are_rejected_before_any_path_is_built() {
    let csa = Csa::new();
    let long = "0".repeat(10_000);
    for bad in [
        "../x",
        "a/b",
        "",
        "..",
        "/",
        "01J",
        "ILOU0000",
        "01JD 4K",
        long.as_str(),
    ] {
        let out = csa.output_with("session wait --session", bad);
        let status = code(&out);
        assert!(status == 125 || status == 2, "{bad:.20?} gave {status}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.lines().count(),
            1,
            "one-line error for {bad:.20?}: {stderr}"
        );
        assert!(
            stderr.len() < 400,
            "error echoes too much: {}",
            stderr.len()
        );
    }
}

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
