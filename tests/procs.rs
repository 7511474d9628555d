//! Process helpers for the attach, kill and timeout tests: process identity from `/proc`, a
//! `csa` child read line by line with deadlines, and sending signals.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;

use crate::support::{Csa, HANG};

/// Fields 3 (state), 5 (process group), 6 (session) and 22 (start time) of
/// `/proc/<pid>/stat`.
pub fn stat(pid: i32) -> Option<(char, i32, i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some((
        fields[0].chars().next()?,
        fields[2].parse().ok()?,
        fields[3].parse().ok()?,
        fields[19].parse().ok()?,
    ))
}

/// Sends `signal` (a name such as `INT`) to process `pid` with kill(1).
pub fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits until `path` contains `text` (the job reached a point in its script).
pub fn wait_for_output(path: &std::path::Path, text: &str) {
    crate::support::wait_for(HANG, &format!("{text:?} in {}", path.display()), || {
        std::fs::read_to_string(path).is_ok_and(|s| s.contains(text))
    });
}

/// A running `csa` command whose stdout is read line by line on a thread.
pub struct Streaming {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Streaming {
    /// Starts `csa ARGS…` with stdout and stderr piped.
    pub fn start(csa: &Csa, args: &[&str]) -> Self {
        let mut child = csa
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line of stdout, failing the test after [`HANG`].
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(HANG)
            .expect("a line from csa within the deadline")
    }

    /// Waits for the command to exit (failing after [`HANG`]); returns its status and its
    /// stderr.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let status = crate::support::exited_within(&mut self.child, HANG)
            .unwrap_or_else(|| panic!("csa did not exit within {HANG:?}"));
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        crate::support::assert_no_panic(&std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: stderr.clone().into_bytes(),
        });
        (status, stderr)
    }
}

/// Starts `script` and waits until it printed `ready` on stdout (its traps are in place)
/// *and* runs every `sleep N` (N a whole number) it starts: a shell forks `sleep` after
/// printing `ready`, so a snapshot of the process group taken at `ready` alone may miss it.
/// Returns the session ID and the supervisor's PID (the process group ID).
pub fn run_ready(csa: &Csa, script: &str) -> (String, i32) {
    let id = csa.run(script);
    wait_for_output(&csa.session_dir(&id).join("stdout.log"), "ready");
    let pgid = csa.supervisor_pid(&id);
    let words: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&')
        .filter(|w| !w.is_empty())
        .collect();
    let sleeps = words
        .windows(2)
        .filter(|pair| pair[0] == "sleep" && pair[1].bytes().all(|b| b.is_ascii_digit()))
        .count();
    crate::support::wait_for(HANG, &format!("{sleeps} sleep processes"), || {
        sleeping(pgid) >= sleeps
    });
    (id, pgid)
}

/// How many members of process group `pgid` run `sleep`.
pub fn sleeping(pgid: i32) -> usize {
    crate::support::group_members(pgid)
        .iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm == "sleep\n")
        })
        .count()
}
