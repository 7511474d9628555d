//! Hostile input: session IDs, state files and arguments crafted to break csa. Every case
//! ends in a one-line error with the right exit code or in correct behaviour; never a
//! panic, a hang, or a file touched outside the session directory.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{Csa, HANG, assert_success, output_within, wait_for};
use crate::support_faults::{signal, signal_group, snapshot};

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// Asserts a clean failure: exit `expected`, nothing on stdout, and a short error on stderr
/// (one `csa: ` line for csa's own errors; clap's usage errors start with `error:`).
fn assert_rejected(out: &Output, expected: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(code(out), expected, "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
    assert!(stderr.len() < 1000, "{what}: stderr echoes too much");
    if expected == 125 {
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.starts_with("csa: "), "{what}: {stderr}");
    } else {
        assert!(
            stderr.starts_with("error: ") || stderr.starts_with("csa: "),
            "{what}: {stderr}"
        );
    }
    stderr
}

fn os_args<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Vec<&'a OsStr> {
    args.into_iter().map(OsStr::from_bytes).collect()
}

#[test]
fn hostile_session_ids() {
    let csa = Csa::new();
    let first = csa.run("exit 0");
    let second = csa.run("exit 0");
    assert_eq!(csa.wait(&first).status.code(), Some(0));
    assert_eq!(csa.wait(&second).status.code(), Some(0));
    // Sessions started in the same millisecond range share their leading characters.
    let common = first
        .bytes()
        .zip(second.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(common >= 4, "{first} {second}");
    let ambiguous = &first[..common.min(8)];
    let long_a = "A".repeat(10_000);
    let long_0 = "0".repeat(10_000);
    let outside = tempfile::tempdir().unwrap();
    let before = (snapshot(csa.state.path()), snapshot(outside.path()));
    let texts: Vec<&[u8]> = vec![
        b"",
        b"../",
        b"/",
        b"..",
        b"../../../../etc/passwd",
        b"a/b",
        b"01JD\\..",
        "ÄÖÜ0123456".as_bytes(),
        "０１２３４５".as_bytes(),
        "01JD🦀".as_bytes(),
        b"\x01\x02\x1b[31mabc",
        b" 01JD ",
        b"-",
        b"01J",
        long_a.as_bytes(),
        long_0.as_bytes(),
        b"01JD0000000000000000000000",
        b"7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        b"8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        b"01jd0000000000000000000000",
        ambiguous.as_bytes(),
    ];
    for text in texts {
        let mut command = csa.cmd();
        command.args(os_args([
            b"session".as_slice(),
            b"wait",
            b"--session",
            text,
        ]));
        let out = output_within(&mut command, HANG);
        assert_rejected(
            &out,
            125,
            &String::from_utf8_lossy(&text[..text.len().min(40)]),
        );
    }
    // Not UTF-8 at all: a usage error.
    let mut command = csa.cmd();
    command.args(os_args([
        b"session".as_slice(),
        b"wait",
        b"--session",
        b"01JD\xff\xfe",
    ]));
    assert_rejected(&output_within(&mut command, HANG), 2, "non-UTF-8 ID");
    assert_eq!(
        before,
        (snapshot(csa.state.path()), snapshot(outside.path()))
    );
}

/// A finished session whose job wrote `marker` to stdout.
fn finished_session(csa: &Csa) -> (String, PathBuf) {
    let id = csa.run("echo marker; exit 3");
    assert_eq!(csa.wait(&id).status.code(), Some(3));
    let dir = csa.session_dir(&id);
    (id, dir)
}

/// A session whose supervisor was killed (SIGKILL) before recording a result.
fn dead_session(csa: &Csa) -> (String, PathBuf) {
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    signal(supervisor, 9);
    signal_group(supervisor, 9);
    wait_for(Duration::from_secs(30), "the supervisor to die", || {
        !crate::support::process_alive(supervisor)
    });
    let dir = csa.session_dir(&id);
    (id, dir)
}

/// The hostile contents a state file is replaced with.
fn corruptions(real: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut oversized = b"# padding\n".repeat(220_000);
    oversized.extend_from_slice(real);
    let mut garbage: Vec<u8> = (0..4096u32).map(|n| (n * 7919 % 251) as u8).collect();
    garbage.extend_from_slice(b"\xff\xfe\x00");
    vec![
        ("truncated", real[..real.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("garbage", garbage),
        ("oversized", oversized),
        (
            "wrong types",
            b"id = 3\nstatus = []\nexit_code = \"x\"\n".to_vec(),
        ),
        (
            "out of range",
            String::from_utf8_lossy(real)
                .replace("exit_code = 3", "exit_code = 300")
                .into_bytes(),
        ),
    ]
}

/// Replaces `path` with something that is not a regular file.
fn plant(path: &Path, kind: &str, outside: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    match kind {
        "directory" => std::fs::create_dir(path).unwrap(),
        "symlink" => std::os::unix::fs::symlink(outside, path).unwrap(),
        "fifo" => {
            let status = Command::new("mkfifo").arg(path).status().unwrap();
            assert!(status.success());
        }
        _ => unreachable!(),
    }
}

#[test]
fn corrupt_result_files_are_clear_errors() {
    let csa = Csa::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "id = \"victim\"\n").unwrap();
    let before = snapshot(outside.path());
    let (id, dir) = finished_session(&csa);
    let path = dir.join("result.toml");
    let real = std::fs::read(&path).unwrap();
    for (what, bytes) in corruptions(&real) {
        std::fs::write(&path, &bytes).unwrap();
        let stderr = assert_rejected(&csa.wait(&id), 125, what);
        assert!(stderr.contains("result.toml"), "{what}: {stderr}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: rewritten");
    }
    for kind in ["directory", "symlink", "fifo"] {
        plant(&path, kind, &victim);
        assert_rejected(&csa.wait(&id), 125, kind);
    }
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, &real).unwrap();
    assert_eq!(before, snapshot(outside.path()));
}

#[test]
fn corrupt_session_and_pid_files_of_a_dead_session() {
    let csa = Csa::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "x").unwrap();
    let before = snapshot(outside.path());
    for name in ["session.toml", "daemon.pid"] {
        let real = std::fs::read(dead_session(&csa).1.join(name)).unwrap();
        let mut cases: Vec<(String, Option<Vec<u8>>)> = corruptions(&real)
            .into_iter()
            .map(|(what, bytes)| (what.to_owned(), Some(bytes)))
            .collect();
        cases.extend(["directory", "symlink", "fifo", "missing"].map(|k| (k.to_owned(), None)));
        for (what, bytes) in cases {
            let (id, dir) = dead_session(&csa);
            let path = dir.join(name);
            match (bytes, what.as_str()) {
                (Some(bytes), _) => std::fs::write(&path, bytes).unwrap(),
                (None, "missing") => std::fs::remove_file(&path).unwrap(),
                (None, kind) => plant(&path, kind, &victim),
            }
            // The supervisor is gone: `lost`, reconstructed despite the damage.
            let out = csa.wait(&id);
            assert_eq!(
                code(&out),
                1,
                "{name} {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("lost"));
        }
    }
    assert_eq!(before, snapshot(outside.path()));
}

/// The job plants symbolic links as `result.toml` and `stdout.log`: csa never writes
/// through them.
#[test]
fn planted_symlinks_are_never_followed() {
    let csa = Csa::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let missing = outside.path().join("created-through-a-link");
    let before = snapshot(outside.path());
    for (name, target) in [
        ("result.toml", &victim),
        ("result.toml", &missing),
        ("stdout.log", &victim),
        ("stderr.log", &missing),
    ] {
        let id = csa.run_args(&[
            "--env",
            &format!("TARGET={}", target.display()),
            &format!("rm -f \"$CSA_SESSION_DIR/{name}\"; ln -s \"$TARGET\" \"$CSA_SESSION_DIR/{name}\"; echo more; exit 4"),
        ]);
        let out = csa.wait(&id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            code(&out) == 4 || (code(&out) == 125 && stderr.lines().count() == 1),
            "{name} -> {}: {stderr}",
            target.display()
        );
        assert!(
            !missing.exists(),
            "{name}: a file was created through the link"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious\n");
    }
    assert_eq!(before, snapshot(outside.path()));
}

/// A session directory that is a symbolic link to a directory elsewhere is not a session:
/// nothing is read from or written into the target.
#[test]
fn symlinked_session_directory_is_refused() {
    let csa = Csa::new();
    let (_, dir) = dead_session(&csa);
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("fake");
    std::fs::rename(&dir, &target).unwrap();
    std::os::unix::fs::symlink(&target, &dir).unwrap();
    let before = snapshot(outside.path());
    let id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    assert_rejected(&csa.wait(&id), 125, "full ID");
    assert_rejected(&csa.wait(&id[..20]), 125, "prefix");
    assert_eq!(before, snapshot(outside.path()));
}

/// A session directory its owner cannot enter.
#[test]
fn session_directory_without_permissions() {
    let csa = Csa::new();
    let (id, dir) = finished_session(&csa);
    let out = if crate::support_faults::is_root() {
        // Permission bits do not stop root: look as an unprivileged user who owns the store.
        chown_tree(csa.state.path(), 65534);
        set_mode(&dir, 0o000);
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .env("HOME", "/nonexistent")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .arg(env!("CARGO_BIN_EXE_csa"))
            .args(["session", "wait", "--session", &id])
            .env("CSA_STATE_DIR", csa.state.path())
            .current_dir("/");
        output_within(&mut command, HANG)
    } else {
        set_mode(&dir, 0o000);
        csa.wait(&id)
    };
    set_mode(&dir, 0o700);
    assert_rejected(&out, 125, "unreadable session directory");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&entry.path(), uid);
        }
    }
}

/// `csa run ARGS` with `stdin` as its standard input.
fn run_with_stdin(csa: &Csa, args: &[&OsStr], stdin: &[u8]) -> Output {
    let mut child = csa
        .cmd()
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    crate::support::assert_no_panic(&out);
    out
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
    let out = run_with_stdin(&csa, &[], &script(10 * MIB));
    assert_success(&out, "10 MiB prompt");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let waited = csa.wait(&id);
    assert_eq!(code(&waited), 0);
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
    // An empty PROMPT argument is an empty shell script: it succeeds.
    let id = csa.run("");
    assert_eq!(code(&csa.wait(&id)), 0);
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
    assert_eq!(code(&out), 0);
    let mut expected = odd.as_os_str().as_bytes().to_vec();
    expected.push(b'\n');
    assert_eq!(out.stdout, expected);
}

#[test]
fn bad_options_are_usage_errors() {
    let csa = Csa::new();
    let cases: &[&[&str]] = &[
        &["--env", "NOEQUALS", "true"],
        &["--env", "=value", "true"],
        &["--env", "", "true"],
        &["--timeout", "soon", "true"],
        &["--timeout", "0s", "true"],
        &["--timeout", "-5s", "true"],
        &["--timeout", "1e10s", "true"],
        &["--timeout", "", "true"],
        &["--timeout", "99999999999999999999h", "true"],
        &["--timeout", "500000000000y", "true"],
        &["--tool", "no-such-tool", "true"],
        &["--tool", "", "true"],
        &["--daemon-child", "true"],
        &["--session-id", "01JD0000000000000000000000", "true"],
    ];
    for args in cases {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        assert_rejected(&csa.output(&all), 2, &format!("{args:?}"));
    }
    let mut command = csa.cmd();
    command.args(os_args([b"run".as_slice(), b"--env", b"K=\xff", b"true"]));
    assert_rejected(&output_within(&mut command, HANG), 2, "non-UTF-8 --env");
    for cd in ["/nonexistent/dir", "/etc/passwd"] {
        assert_rejected(&csa.output(&["run", "--cd", cd, "true"]), 125, cd);
    }
    assert!(csa.session_ids().is_empty(), "{:?}", csa.session_ids());
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
