//! Commands in directives (`wait_cmd`, `attach_cmd`, `kill_cmd`, `cmd`) work when pasted
//! into a shell: from another directory, without `CSA_STATE_DIR` in the environment, with
//! or without csa on `PATH`.

use std::os::unix::fs::symlink;
use std::process::Command;

use crate::support::{Csa, HANG, assert_exit, assert_success, directive, output_within, stderr};

/// The value of `key` in a directive line, unescaped (`\"`, `\\`, `\n`, `\t`, `\r`, `\xNN`).
fn value(line: &str, key: &str) -> String {
    let start = line
        .find(&format!(" {key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len()
        + 2;
    let rest = &line[start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        return rest.split(' ').next().unwrap().to_owned();
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next().unwrap() {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
                }
                other => out.push(other),
            },
            '"' => return out,
            c => out.push(c),
        }
    }
    panic!("unterminated value of {key} in {line}");
}

/// Runs `line` with `sh -c` in `/`, with a bare environment (no `CSA_STATE_DIR`, a `PATH`
/// of `path`).
fn paste(line: &str, path: &str) -> std::process::Output {
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(line)
        .current_dir("/")
        .env_clear()
        .env("PATH", path)
        .stdin(std::process::Stdio::null());
    output_within(&mut sh, HANG)
}

#[test]
fn pasted_commands_work_from_anywhere() {
    let csa = Csa::new();
    let out = csa.output(&["run", "echo pasted; exit 5"]);
    assert_success(&out, "run");
    let started = stderr(&out);
    let line = directive(&started, "SESSION_STARTED").unwrap();
    let wait = value(line, "wait_cmd");
    assert!(wait.starts_with(&csa.pasted_csa()), "{wait}");
    let waited = paste(&wait, "/usr/bin:/bin");
    assert_exit(&waited, 5);
    assert_eq!(String::from_utf8_lossy(&waited.stdout), "pasted\n");
    let attached = paste(&value(line, "attach_cmd"), "/usr/bin:/bin");
    assert_exit(&attached, 5);

    let out = csa.output(&["run", "sleep 300"]);
    let started = stderr(&out);
    let line = directive(&started, "SESSION_STARTED").unwrap();
    let killed = paste(&value(line, "kill_cmd"), "/usr/bin:/bin");
    assert_exit(&killed, 0);
}

/// A state root whose path has a newline is named exactly in the paste-able commands (the
/// directive writes it as `\n`; the command quotes it for the shell).
#[test]
fn a_state_root_with_a_newline_is_named_exactly() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ci\nstate");
    let mut run = csa.cmd();
    run.args(["run", "echo here"]).env("CSA_STATE_DIR", &root);
    let out = output_within(&mut run, HANG);
    assert_success(&out, "run");
    let started = stderr(&out);
    let line = directive(&started, "SESSION_STARTED").unwrap();
    assert!(!line.contains('\n'), "{line}");
    let wait = value(line, "wait_cmd");
    assert!(wait.contains("ci\nstate"), "{wait}");
    let waited = paste(&wait, "/usr/bin:/bin");
    assert_exit(&waited, 0);
    assert_eq!(String::from_utf8_lossy(&waited.stdout), "here\n");
}

#[test]
fn still_running_cmd_works_when_pasted() {
    // `wait` gives up after 100 ms instead of 250 s.
    let csa = Csa::new().with_env("CSA_TEST_WAIT_CAP_MS", "100");
    let id = csa.run("sleep 300");
    let out = csa.output(&["session", "wait", "--session", &id]);
    assert_exit(&out, 0);
    let text = stderr(&out);
    let line = directive(&text, "SESSION_WAIT_KV_WARM").expect("KV_WARM");
    let cmd = value(line, "cmd");
    assert!(cmd.starts_with(&csa.pasted_csa()), "{cmd}");
    csa.output(&["session", "kill", &id, "--grace", "0"]);
    let waited = paste(&cmd, "/usr/bin:/bin");
    assert!(
        directive(&stderr(&waited), "SESSION_WAIT_COMPLETED").is_some(),
        "{}",
        stderr(&waited)
    );
}

/// Started by name from `PATH`, with the state root in the default place: plain `csa …`.
#[test]
fn csa_found_on_path_is_named_csa() {
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    symlink(env!("CARGO_BIN_EXE_csa"), bin.path().join("csa")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let csa = |args: &[&str]| {
        let mut command = Command::new("csa");
        command
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .stdin(std::process::Stdio::null());
        output_within(&mut command, HANG)
    };
    let out = csa(&["run", "exit 3"]);
    assert_success(&out, "run");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    let started = stderr(&out);
    let line = directive(&started, "SESSION_STARTED").unwrap();
    let wait = value(line, "wait_cmd");
    assert_eq!(wait, format!("csa session wait --session {id}"));
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(&wait)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home.path());
    assert_eq!(output_within(&mut sh, HANG).status.code(), Some(3));
}
