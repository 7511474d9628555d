//! Every command with a broken standard output or standard error: closed (`>&-`, `2>&-`),
//! a pipe whose reader is gone (`EPIPE`), or a full device (`/dev/full`, `ENOSPC`). A
//! command never crashes (no panic, no abort) and never skips work that matters: `kill`
//! still kills and records the result, `run` still starts the job, `clean` still cleans.

use std::io::Write as _;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use crate::procs::{run_ready, wait_for_output};
use crate::support::{
    Csa, Gate, HANG, assert_exit, assert_group_empty, code, has_open, stderr, stdout, wait_for,
};
use crate::support_everyday::{fake_session, finish};

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

/// The reproduction of the report: a job that ignores SIGTERM, `session kill --grace 1s`
/// with stderr on a pipe whose reader is gone (and every other broken stream). The job is
/// killed (SIGKILL) after the grace, and `result.toml` is written.
#[test]
fn kill_with_a_broken_stream_still_kills_and_records_the_result() {
    let csa = Csa::new();
    for (stream, broken) in ALL {
        let (id, pgid) = run_ready(&csa, "trap \"\" TERM; echo ready; sleep 30");
        let ended = run_broken(
            &csa,
            &["session", "kill", "--session", &id, "--grace", "1s"],
            stream,
            broken,
        );
        assert_eq!(ended.code(), 0, "{}: {}", ended.what, ended.other);
        assert_group_empty(pgid, &format!("{}: the job", ended.what));
        let result = csa.result(&id).expect("result.toml after kill");
        assert_eq!(result["status"].as_str(), Some("signal"), "{}", ended.what);
        assert_eq!(result["signal"].as_integer(), Some(9), "{}", ended.what);
    }
}

/// A finished session for the read-only commands: `out` on stdout, `err` on stderr, exit 3.
fn finished_session(csa: &Csa) -> String {
    csa.finished("echo out; echo err >&2; exit 3", 3)
}

/// The commands that only read: with stderr broken, or stdout closed, each exits as it does
/// with working streams and prints the same on the stream that works.
#[test]
fn reading_commands_exit_as_usual_with_a_broken_stream() {
    let csa = Csa::new();
    let id = finished_session(&csa);
    let commands: Vec<Vec<&str>> = vec![
        vec!["session", "wait", &id],
        vec!["session", "wait", "--session", &id, "--until-done"],
        vec!["session", "attach", &id],
        vec!["session", "attach", &id, "--stderr"],
        vec!["session", "list"],
        vec!["session", "list", "--json"],
        vec!["session", "result", &id],
        vec!["session", "result", &id, "--json"],
        vec!["session", "logs", &id, "--stderr"],
        vec!["session", "kill", &id],
        vec!["session", "clean", "--dry-run"],
        vec!["tools"],
        vec!["tools", "--json"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["queue", "list"],
        vec!["queue", "slots", "builds", "2"],
        vec!["--help"],
        vec!["session", "wait", "ZZZZZZZZ"],
        vec!["session", "no-such-command"],
    ];
    for args in &commands {
        let normal = csa.output(args);
        let expected = code(&normal);
        for (stream, broken) in ALL {
            let ended = run_broken(&csa, args, stream, broken);
            let got = ended.code();
            match (stream, broken) {
                // `logs --stderr` prints data on stderr: a full device fails it, after
                // stdout was printed.
                (Stream::Stderr, Broken::Full) if args.get(1) == Some(&"logs") => {
                    assert_eq!(got, 125, "{}", ended.what);
                    assert_eq!(
                        without_ages(&ended.other),
                        without_ages(&stdout(&normal)),
                        "{}",
                        ended.what
                    );
                }
                (Stream::Stderr, _) => {
                    assert_eq!(got, expected, "{}", ended.what);
                    assert_eq!(
                        without_ages(&ended.other),
                        without_ages(&stdout(&normal)),
                        "{}",
                        ended.what
                    );
                }
                (Stream::Stdout, Broken::Closed) => {
                    assert_eq!(got, expected, "{}: {}", ended.what, ended.other);
                }
                // A reader that went away is not an error (as for other Unix filters);
                // `attach` then ends with 0.
                (Stream::Stdout, Broken::Gone) => {
                    let attach = args.get(1) == Some(&"attach");
                    let want = if attach { 0 } else { expected };
                    assert_eq!(got, want, "{}: {}", ended.what, ended.other);
                }
                // Output that cannot be written is an error of the command that prints
                // it, in one line; commands that print nothing are unaffected.
                (Stream::Stdout, Broken::Full) => {
                    if normal.stdout.is_empty() || args[0] == "--help" {
                        assert_eq!(got, expected, "{}: {}", ended.what, ended.other);
                    } else {
                        assert_eq!(got, 125, "{}: {}", ended.what, ended.other);
                        let errors: Vec<&str> = ended
                            .other
                            .lines()
                            .filter(|line| !line.starts_with("CSA:"))
                            .collect();
                        assert_eq!(errors.len(), 1, "{}: {}", ended.what, ended.other);
                        assert!(
                            errors[0].starts_with("csa: ")
                                && errors[0].contains("No space left on device"),
                            "{}: {}",
                            ended.what,
                            ended.other
                        );
                    }
                }
            }
        }
    }
}

/// `attach --stderr` whose stderr breaks still follows stdout to the end and exits with
/// the job's code; one whose stdout reader goes away ends at once with 0.
#[test]
fn attach_follows_stdout_when_stderr_breaks() {
    let csa = Csa::new();
    for broken in [Broken::Closed, Broken::Gone, Broken::Full] {
        let mut gate = Gate::new();
        let id = csa.run(&format!(
            "echo first; echo oops >&2; {}; echo second; exit 5",
            gate.pass()
        ));
        wait_for_output(&csa.session_dir(&id).join("stderr.log"), "oops");
        // The rest of the output comes once `attach` follows the spool file, live.
        let opener = {
            let spool = csa.session_dir(&id).join("stdout.log");
            let id = id.clone();
            std::thread::spawn(move || {
                wait_for(HANG, "attach to open the spool file", || {
                    attaching(&id).is_some_and(|pid| has_open(pid, &spool))
                });
                gate.open();
            })
        };
        let ended = run_broken(
            &csa,
            &["session", "attach", &id, "--stderr"],
            Stream::Stderr,
            broken,
        );
        opener.join().unwrap();
        assert_eq!(ended.code(), 5, "{}", ended.what);
        assert_eq!(ended.other, "first\nsecond\n", "{}", ended.what);
    }
}

/// `text` with every age or duration in whole units (`0s`, `12m`, `3h`, `9d`) as `?`: a
/// listing made a moment later may show a second more.
fn without_ages(text: &str) -> String {
    let masked = |word: &str| {
        let digits = word.trim_end_matches(['s', 'm', 'h', 'd']);
        word.len() == digits.len() + 1
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
    };
    text.split(' ')
        .map(|word| if masked(word) { "?" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PID of a `csa session attach` of session `id`.
fn attaching(id: &str) -> Option<i32> {
    crate::support::pids().into_iter().find(|pid| {
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
        argv.contains(&b"attach".as_slice()) && argv.contains(&id.as_bytes())
    })
}

/// `run` and `run --no-daemon` with a broken stream: the job runs to its result, its
/// output reaches the spool files, and `--no-daemon` exits with the job's code.
#[test]
fn run_with_a_broken_stream_still_runs_the_job() {
    let csa = Csa::new();
    let script = "echo out; echo err >&2; exit 4";
    for (stream, broken) in ALL {
        let before = csa.session_ids();
        let ended = run_broken(&csa, &["run", "--no-daemon", script], stream, broken);
        assert_eq!(ended.code(), 4, "{}: {}", ended.what, ended.other);
        let id = new_session(&csa, &before);
        assert_eq!(csa.result(&id).unwrap()["exit_code"].as_integer(), Some(4));
        let dir = csa.session_dir(&id);
        assert_eq!(std::fs::read(dir.join("stdout.log")).unwrap(), b"out\n");
        assert_eq!(std::fs::read(dir.join("stderr.log")).unwrap(), b"err\n");

        let before = csa.session_ids();
        let ended = run_broken(&csa, &["run", script], stream, broken);
        let got = ended.code();
        // The ID cannot reach a stdout that is gone or full: an error (the job runs
        // anyway, and the directive on stderr names it).
        let expected = match (stream, broken) {
            (Stream::Stdout, Broken::Gone | Broken::Full) => 125,
            _ => 0,
        };
        assert_eq!(got, expected, "{}: {}", ended.what, ended.other);
        let id = new_session(&csa, &before);
        let wait = csa.wait(&id);
        assert_eq!(code(&wait), 4, "{}: {}", ended.what, stderr(&wait));
        assert_eq!(wait.stdout, b"out\n");
    }
}

/// The one session in the store that is not in `before`.
fn new_session(csa: &Csa, before: &[String]) -> String {
    let mut new: Vec<String> = csa
        .session_ids()
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(new.len(), 1, "one new session: {new:?}");
    new.pop().unwrap()
}

/// `clean` with a broken stream removes every session it should, even when it cannot
/// report them.
#[test]
fn clean_with_a_broken_stream_still_cleans() {
    let csa = Csa::new();
    for (stream, broken) in ALL {
        for _ in 0..3 {
            let fake = fake_session(&csa, Duration::from_secs(86_400 * 30), "true", true);
            finish(&fake, "success", 0, Duration::from_secs(86_400 * 30));
        }
        let ended = run_broken(&csa, &["session", "clean"], stream, broken);
        let expected = if (stream, broken) == (Stream::Stdout, Broken::Full) {
            125
        } else {
            0
        };
        assert_eq!(ended.code(), expected, "{}: {}", ended.what, ended.other);
        assert!(
            csa.session_ids().is_empty(),
            "{}: sessions left: {:?}",
            ended.what,
            csa.session_ids()
        );
    }
}

/// A prompt on standard input with broken output streams still starts the session.
#[test]
fn a_prompt_on_stdin_with_a_broken_stderr_starts_the_session() {
    let csa = Csa::new();
    let mut command = csa.cmd();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    command
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(writer));
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"exit 6\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let id = stdout(&out).trim_end().to_owned();
    assert_exit(&csa.wait(&id), 6);
}
