//! `csa session wait` for several sessions: IDs, `--session` repeated, `--tag`, `--any`;
//! exit codes, whole outputs in completion order, the cap with sessions still pending, lost
//! sessions among many, and one wait for 1,000 sessions.

//!
//! This file holds what the tests share: a wait started in the background ([`Waiter`]) and
//! readers of its directive lines.

mod choosing;
mod order;
mod output;
mod pending;
mod scale;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::support::{Csa, HANG, directive, wait_for};

/// `csa session wait ARGS…` started in the background: stdout collected whole, stderr line
/// by line as it comes.
struct Waiter {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    out: Option<JoinHandle<Vec<u8>>>,
}

impl Waiter {
    fn start(csa: &Csa, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = csa.cmd();
        command
            .args(["session", "wait"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let collected = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push(line);
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
            bytes
        });
        Self {
            child,
            lines,
            reader: Some(reader),
            out: Some(out),
        }
    }

    fn stderr_has(&self, wanted: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(wanted))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the end (failing after [`HANG`]); returns the exit code, stdout, stderr.
    fn finish(mut self) -> (i32, Vec<u8>, String) {
        let mut status = None;
        wait_for(HANG, "csa session wait to return", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        self.reader.take().unwrap().join().unwrap();
        let out = self.out.take().unwrap().join().unwrap();
        let err = self.lines.lock().unwrap().join("\n");
        assert!(!err.contains("panicked at"), "csa panicked: {err}");
        (status.unwrap().code().expect("exit code"), out, err)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The IDs of the `SESSION_WAIT_COMPLETED` lines of `stderr`, in order.
fn completed(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("CSA:SESSION_WAIT_COMPLETED "))
        .map(|l| value(l, "id"))
        .collect()
}

/// The value of `key` in a directive line (unquoted values only).
fn value(line: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    line.split(' ')
        .find_map(|word| word.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .trim_matches('"')
        .to_owned()
}

fn summary(stderr: &str) -> &str {
    directive(stderr, "SESSION_WAIT_SUMMARY").expect("SESSION_WAIT_SUMMARY")
}

fn wait_result(csa: &Csa, id: &str) {
    wait_for(HANG, "the session's result", || csa.result(id).is_some());
}
