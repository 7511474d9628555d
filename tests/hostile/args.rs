//! Hostile arguments: prompt sizes, bytes that are not UTF-8, bad options, and a closed
//! stderr.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::process::{Command, Output, Stdio};

use super::{assert_rejected, os_args};
use crate::support::{
    Csa, HANG, assert_exit, assert_success, output_with_input, output_within, started_id,
};

/// `csa run ARGS` with `stdin` as its standard input.
fn run_with_stdin(csa: &Csa, args: &[&OsStr], stdin: &[u8]) -> Output {
    output_with_input(csa.cmd().arg("run").args(args), stdin)
}

#[test]
fn prompt_sizes_on_standard_input() {
    const MIB: usize = 1024 * 1024;
    let csa = Csa::new();
    let script = |size: usize| {
        let tail = b"\necho big-ok\n";
        let mut bytes = b"#".repeat(size - tail.len());
        bytes.extend_from_slice(tail);
        bytes
    };
    let id = started_id(&run_with_stdin(&csa, &[], &script(10 * MIB)));
    let waited = csa.wait(&id);
    assert_exit(&waited, 0);
    assert_eq!(waited.stdout, b"big-ok\n");
    let kept = std::fs::metadata(csa.session_dir(&id).join("prompt.txt")).unwrap();
    assert_eq!(kept.len(), 10 * 1024 * 1024);
    for size in [10 * MIB + 1, 11 * MIB] {
        let out = run_with_stdin(&csa, &[], &script(size));
        assert_rejected(&out, 2, "oversized prompt");
    }
    assert_rejected(&run_with_stdin(&csa, &[], b""), 2, "empty prompt on stdin");
    assert_eq!(
        csa.session_ids().len(),
        1,
        "a rejected prompt left a session"
    );
    // An empty PROMPT argument is refused like an empty prompt on stdin (docs/exit-codes.md).
    assert_rejected(&csa.output(&["run", ""]), 2, "empty PROMPT");
    assert_eq!(csa.session_ids().len(), 1, "an empty PROMPT left a session");
}

#[test]
fn non_utf8_arguments_and_paths() {
    let csa = Csa::new();
    // Bytes pass through to the job unchanged, as an argument and inside a script.
    let out = csa
        .cmd()
        .args(os_args([
            b"run".as_slice(),
            b"--",
            b"printf",
            b"%s",
            b"\xff\xfe-arg",
        ]))
        .output()
        .unwrap();
    assert_success(&out, "non-UTF-8 argument");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(csa.wait(&id).stdout, b"\xff\xfe-arg");
    let out = csa
        .cmd()
        .args(os_args([b"run".as_slice(), b"printf '\xc3\x28-script'"]))
        .output()
        .unwrap();
    assert_success(&out, "non-UTF-8 prompt");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(csa.wait(&id).stdout, b"\xc3\x28-script");
    // A working directory and a state root whose names are not UTF-8.
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join(OsStr::from_bytes(b"dir-\xff"));
    std::fs::create_dir(&odd).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_csa"));
    command
        .env("CSA_STATE_DIR", odd.join(OsStr::from_bytes(b"state-\xfe")))
        .args([
            OsStr::new("run"),
            OsStr::new("--cd"),
            odd.as_os_str(),
            OsStr::new("pwd"),
        ]);
    let out = output_within(&mut command, HANG);
    assert_success(&out, "non-UTF-8 paths");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut command = Command::new(env!("CARGO_BIN_EXE_csa"));
    command
        .env("CSA_STATE_DIR", odd.join(OsStr::from_bytes(b"state-\xfe")))
        .args(["session", "wait", "--session", &id]);
    let out = output_within(&mut command, HANG);
    assert_exit(&out, 0);
    let mut expected = odd.as_os_str().as_bytes().to_vec();
    expected.push(b'\n');
    assert_eq!(out.stdout, expected);
}

#[test]
fn bad_options_are_usage_errors() {
    let csa = Csa::new();
    let bad_values: &[(&str, &[&str])] = &[
        ("--env", &["NOEQUALS", "=value", ""]),
        ("--timeout", &["soon", "0s", "-5s", "1e10s", ""]),
        ("--timeout", &["99999999999999999999h", "500000000000y"]),
        (
            "--idle-timeout",
            &["soon", "0s", "0", "-5s", "1e10s", "", "500000000000y"],
        ),
        ("--tool", &["no-such-tool", ""]),
        ("--session-id", &["01JD0000000000000000000000"]),
    ];
    for (option, values) in bad_values {
        for value in *values {
            let args = ["run", option, value, "true"];
            assert_rejected(&csa.output(&args), 2, &format!("{args:?}"));
        }
    }
    assert_rejected(
        &csa.output(&["run", "--daemon-child", "true"]),
        2,
        "--daemon-child",
    );
    let mut command = csa.cmd();
    command.args(os_args([b"run".as_slice(), b"--env", b"K=\xff", b"true"]));
    assert_rejected(&output_within(&mut command, HANG), 2, "non-UTF-8 --env");
    // As for a program: 127 not found, 126 not usable.
    for (cd, code) in [("/nonexistent/dir", 127), ("/etc/passwd", 126)] {
        assert_rejected(&csa.output(&["run", "--cd", cd, "true"]), code, cd);
    }
    csa.assert_no_session("a bad option");
}

/// csa's own error output going nowhere (a closed pipe) is no reason to panic.
#[test]
fn errors_with_a_closed_stderr_pipe() {
    let csa = Csa::new();
    let mut child = csa
        .cmd()
        .args(["session", "wait", "--session", "../../x"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(125));
}
