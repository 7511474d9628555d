//! Running a command to its end with a hang limit, feeding and reading it on threads, and
//! polling for a condition with a deadline (never a fixed sleep).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{HANG, assert_no_panic};

/// Reads `reader` on a new thread until its end or an error (a terminal's master reads EIO
/// once the last process holding the terminal is gone), handing each chunk read to `chunk`;
/// then calls `at_end`.
pub fn read_on_a_thread(
    mut reader: impl std::io::Read + Send + 'static,
    mut chunk: impl FnMut(&[u8]) + Send + 'static,
    at_end: impl FnOnce() + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            chunk(&buffer[..n]);
        }
        at_end();
    });
}

/// Runs `command` to completion with piped stdout/stderr; panics if it takes longer than
/// `limit` (a hang), killing it first.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    output_fed(command, None, limit)
}

/// Runs `command` to completion with `input` on its standard input (written from a thread
/// and then closed; a command that stops reading early is fine) and piped stdout/stderr;
/// panics if it takes longer than [`HANG`], killing it first.
pub fn output_with_input(command: &mut Command, input: &[u8]) -> Output {
    output_fed(command, Some(input.to_vec()), HANG)
}

fn output_fed(command: &mut Command, input: Option<Vec<u8>>, limit: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("spawn csa");
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &input);
        })
    });
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(limit).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("wait for csa");
    let _ = tx.send(());
    let hung = watchdog.join().unwrap();
    assert!(!hung, "command hung for {limit:?}: {command:?}");
    if let Some(writer) = writer {
        writer.join().expect("the writer of standard input");
    }
    assert_no_panic(&out);
    out
}

/// Polls `child` until it exits; `None` once `limit` has passed (the caller says what
/// hung).
pub fn exited_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `condition` until it holds, failing the test after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
