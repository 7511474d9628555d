//! Every command with a broken standard output or standard error: closed (`>&-`, `2>&-`),
//! a pipe whose reader is gone (`EPIPE`), or a full device (`/dev/full`, `ENOSPC`). A
//! command never crashes (no panic, no abort) and never skips work that matters: `kill`
//! still kills and records the result, `run` still starts the job, `clean` still cleans.

mod acting;
mod reading;

use std::process::{Command, ExitStatus, Output, Stdio};

use crate::support::{Csa, HANG, stderr, stdout};

/// What a broken stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    /// Closed by the shell (`>&-`, `2>&-`).
    Closed,
    /// A pipe whose reader has gone away: writes fail with `EPIPE`.
    Gone,
    /// `/dev/full`: writes fail with `ENOSPC`.
    Full,
}

/// Which stream is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

const ALL: [(Stream, Broken); 6] = [
    (Stream::Stderr, Broken::Closed),
    (Stream::Stderr, Broken::Gone),
    (Stream::Stderr, Broken::Full),
    (Stream::Stdout, Broken::Closed),
    (Stream::Stdout, Broken::Gone),
    (Stream::Stdout, Broken::Full),
];

/// How a command with a broken stream ended: its status and the stream that still works.
struct Ended {
    status: ExitStatus,
    /// What the other stream (the one not broken) received.
    other: String,
    what: String,
}

impl Ended {
    /// The exit code; fails the test when csa crashed (a signal such as SIGABRT, a panic's
    /// 101, or a panic message on a readable stderr).
    #[track_caller]
    fn code(&self) -> i32 {
        let Some(code) = self.status.code() else {
            panic!("{}: ended by a signal: {:?}", self.what, self.status);
        };
        assert_ne!(code, 101, "{}: panicked: {}", self.what, self.other);
        assert!(
            !self.other.contains("panicked"),
            "{}: panicked: {}",
            self.what,
            self.other
        );
        code
    }
}

/// Runs `csa ARGS…` with `stream` broken as `broken` and the other stream captured.
fn run_broken(csa: &Csa, args: &[&str], stream: Stream, broken: Broken) -> Ended {
    let base = csa.cmd();
    let mut command = if broken == Broken::Closed {
        let redirect = match stream {
            Stream::Stdout => ">&-",
            Stream::Stderr => "2>&-",
        };
        let mut shell = Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(format!("exec \"$0\" \"$@\" {redirect}"))
            .arg(base.get_program())
            .args(args);
        for (key, value) in base.get_envs() {
            if let Some(value) = value {
                shell.env(key, value);
            }
        }
        shell.stdin(Stdio::null());
        shell
    } else {
        let mut command = base;
        command.args(args);
        command
    };
    let broken_stdio = || match broken {
        Broken::Closed => Stdio::inherit(),
        Broken::Gone => {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            Stdio::from(writer)
        }
        Broken::Full => Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full"),
        ),
    };
    match stream {
        Stream::Stdout => command.stdout(broken_stdio()).stderr(Stdio::piped()),
        Stream::Stderr => command.stdout(Stdio::piped()).stderr(broken_stdio()),
    };
    let out = complete(command);
    let other = match stream {
        Stream::Stdout => stderr(&out),
        Stream::Stderr => stdout(&out),
    };
    Ended {
        status: out.status,
        other,
        what: format!("csa {} with {stream:?} {broken:?}", args.join(" ")),
    }
}

/// Waits for `command` (whose stdio is set) with a watchdog: a hang fails the test.
fn complete(mut command: Command) -> Output {
    let child = command.spawn().expect("spawn csa");
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let hung = finished.recv_timeout(HANG).is_err();
        if hung {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        hung
    });
    let out = child.wait_with_output().expect("wait for csa");
    let _ = done.send(());
    assert!(!watchdog.join().unwrap(), "hung: {command:?}");
    out
}
