//! What the job gets: its prompt or program, working directory, environment and standard
//! input; a program that cannot run is refused before a session exists.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;

use crate::support::{Csa, assert_exit, output_with_input, started_id};

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
