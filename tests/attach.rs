//! `csa session attach`: live output, `--stderr`, the end of a session, a closed reader,
//! Ctrl-C.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::procs::{Streaming, send, wait_for_output};
use crate::support::{
    Csa, HANG, assert_exit, assert_output, assert_record, assert_success, output_within,
};

/// A job that prints `first`, then waits for the test to create `go` in its session
/// directory, then prints `second` and exits 3.
const GATED: &str =
    r#"echo first; while [ ! -e "$CSA_SESSION_DIR/go" ]; do sleep 0.02; done; echo second; exit 3"#;

/// Starts [`GATED`] and attaches to it; returns once `attach` printed the first line.
fn attached_to_gated(csa: &Csa) -> (String, Streaming) {
    let id = csa.run(GATED);
    let attach = Streaming::start(csa, &["session", "attach", "--session", &id]);
    assert_eq!(attach.line(), "first");
    (id, attach)
}

#[test]
fn attach_streams_lines_while_the_job_runs() {
    let csa = Csa::new();
    let (id, attach) = attached_to_gated(&csa);
    // The job is blocked until `go` exists: the line arrived while it was running.
    assert!(csa.result(&id).is_none(), "the job must still be running");
    std::fs::write(csa.session_dir(&id).join("go"), "").unwrap();
    assert_eq!(attach.line(), "second");
    let (status, stderr) = attach.finish();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(csa.result(&id).unwrap()["exit_code"].as_integer(), Some(3));
}

#[test]
fn stderr_is_followed_separately_only_when_asked() {
    let csa = Csa::new();
    let id = csa.run("echo to-out; echo to-err >&2; exit 4");
    let out = csa.output(&["session", "attach", "--session", &id, "--stderr"]);
    assert_output(&out, 4, b"to-out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-err\n");

    let out = csa.output(&["session", "attach", "--session", &id]);
    assert_output(&out, 4, b"to-out\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn attach_after_the_end_prints_everything_and_exits_at_once() {
    let csa = Csa::new();
    let id = csa.finished("for i in 1 2 3; do echo line $i; done; exit 0", 0);
    let out = csa.output(&["session", "attach", "--session", &id]);
    assert_success(&out, "attach");
    assert_eq!(out.stdout, b"line 1\nline 2\nline 3\n");
}

#[test]
fn attach_drains_a_large_output_completely() {
    let csa = Csa::new();
    let id = csa.run("head -c 20000000 /dev/zero | tr '\\0' x; echo; echo end");
    let out = csa.output(&["session", "attach", "--session", &id]);
    assert_success(&out, "attach");
    assert_eq!(out.stdout.len(), 20_000_000 + 1 + 4);
    assert!(out.stdout.ends_with(b"x\nend\n"));
}

#[test]
fn a_closed_reader_ends_attach_quietly_and_the_job_runs_on() {
    let csa = Csa::new();
    let id = csa.run("echo a; echo b; sleep 1000");
    let mut child = csa
        .cmd()
        .args(["session", "attach", "--session", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "a\n");
    // As `attach | head -1` does: the reader goes away while the job is silent.
    drop(reader);
    let deadline = Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "attach did not notice the closed pipe"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_detached_quietly(&csa, &id, &out);
}

/// `attach` said nothing on stderr, and the job runs on.
#[track_caller]
fn assert_detached_quietly(csa: &Csa, id: &str, out: &std::process::Output) {
    assert_eq!(crate::support::stderr(out), "", "attach said something");
    assert!(csa.result(id).is_none(), "the job must keep running");
}

#[test]
fn head_in_a_shell_pipeline_ends_attach_with_exit_0() {
    let csa = Csa::new();
    let id = csa.run("seq 1 100000; sleep 1000");
    let script = format!(
        "set -o pipefail; \"$CSA\" session attach --session {id} | head -1; echo \"status=$?\""
    );
    let out = output_within(&mut csa.shell_command("bash", &script), HANG);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\nstatus=0\n");
    assert_detached_quietly(&csa, &id, &out);
}

#[test]
fn ctrl_c_detaches_and_leaves_the_job_running() {
    let csa = Csa::new();
    let (id, attach) = attached_to_gated(&csa);
    send("INT", attach.child.id());
    let (status, stderr) = attach.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let hint: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(hint.len(), 1, "one-line hint: {stderr}");
    assert!(hint[0].contains("detached"), "{stderr}");
    assert!(
        hint[0].contains(&format!("csa session attach --session {id}"))
            && hint[0].contains(&format!("csa session kill --session {id}")),
        "{stderr}"
    );
    // The job is unaffected: it finishes normally once released.
    assert!(csa.result(&id).is_none());
    std::fs::write(csa.session_dir(&id).join("go"), "").unwrap();
    assert_exit(&csa.wait(&id), 3);
    wait_for_output(&csa.session_dir(&id).join("stdout.log"), "second");
}

#[test]
fn a_vanished_supervisor_is_reported_lost() {
    let csa = Csa::new();
    let id = csa.run("echo before; sleep 1000");
    wait_for_output(&csa.session_dir(&id).join("stdout.log"), "before");
    let attach = Streaming::start(&csa, &["session", "attach", "--session", &id]);
    assert_eq!(attach.line(), "before");
    let pid = csa.supervisor_pid(&id);
    send("KILL", u32::try_from(pid).unwrap());
    let (status, _) = attach.finish();
    assert_eq!(status.code(), Some(1));
    let result = csa.result(&id).unwrap();
    assert_record(&result, "status = 'lost', synthetic = true");
    csa.kill_group(&id);
}
