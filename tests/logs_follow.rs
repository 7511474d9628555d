//! `csa logs -f` (follow one session until it ends, exit 0 whatever its status) and
//! `csa logs --tag T [-f]` (many sessions, each line after the session's label).

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use crate::support::{
    Csa, Gate, Gated, HANG, code, exited_within, read_on_a_thread, stderr, stdout, wait_for,
};

/// Starts `csa ARGS` with stdout captured by a thread; returns the child and the text so far.
fn spawn(csa: &Csa, args: &[&str]) -> (std::process::Child, Arc<Mutex<String>>) {
    let mut command = csa.cmd();
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let into = Arc::clone(&text);
    read_on_a_thread(
        child.stdout.take().unwrap(),
        move |bytes| {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(bytes));
        },
        || {},
    );
    (child, text)
}

#[test]
fn logs_follow_prints_until_the_session_ends() {
    let csa = Csa::new();
    let Gated { mut gate, id, .. } = Gated::run(&csa, "echo before; {gate}; echo after; exit 3");
    let (mut child, text) = spawn(&csa, &["logs", "-f", &id]);
    wait_for(HANG, "the line written before the gate", || {
        text.lock().unwrap().contains("before\n")
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "logs -f ended while the job runs"
    );
    gate.open();
    let status = exited_within(&mut child, HANG).expect("logs -f to end with the job");
    assert_eq!(status.code(), Some(0));
    wait_for(HANG, "the reader thread", || {
        text.lock().unwrap().ends_with("after\n")
    });
    assert_eq!(*text.lock().unwrap(), "before\nafter\n");

    // An ended session: its output, at once; --tail counts from the end.
    let out = csa.output(&["logs", "--follow", "--tail", "1", &id]);
    assert_eq!((code(&out), stdout(&out)), (0, "after\n".to_owned()));
}

#[test]
fn logs_of_a_tag_put_each_sessions_name_before_its_lines() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let pass = gate.pass();
    csa.run_args(&[
        "--tag",
        "ci",
        "--name",
        "build",
        &format!("echo compiling; {pass}; echo built"),
    ]);
    csa.run_args(&[
        "--tag",
        "ci",
        "--name",
        "lint",
        &format!("{pass}; echo clean >&2; printf 'no newline'"),
    ]);
    let other = csa.run_args(&["--tag", "other", "echo elsewhere"]);
    let (mut child, text) = spawn(&csa, &["logs", "--tag", "ci", "-f"]);
    wait_for(HANG, "build's first line", || {
        text.lock().unwrap().contains("build | compiling\n")
    });
    gate.open();
    let status = exited_within(&mut child, HANG).expect("logs --tag -f to end with the sessions");
    assert_eq!(status.code(), Some(0));
    wait_for(HANG, "the last line", || {
        text.lock().unwrap().contains("no newline\n")
    });
    let mut lines: Vec<String> = text.lock().unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["build | built", "build | compiling", "lint  | no newline"]
    );

    // Without --follow; --stderr prints stderr lines with the label too.
    let out = csa.output(&["logs", "--tag", "ci", "--stderr"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "build | compiling\nbuild | built\nlint  | no newline\n"
    );
    assert_eq!(stderr(&out), "lint  | clean\n");

    let out = csa.output(&["logs", "--tag", "nosuch"]);
    assert_eq!(code(&out), 125);
    assert!(
        stderr(&out).contains("no session has the tag nosuch"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&csa.wait(&other)), 0);
}
