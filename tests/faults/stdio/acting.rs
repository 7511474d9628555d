//! The commands that act with a broken stream: `kill` still kills and records the result,
//! `run` still starts the job (a prompt on stdin too), `clean` still cleans.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use super::{ALL, Broken, Stream, run_broken};
use crate::procs::run_ready;
use crate::support::{Csa, assert_exit, assert_group_empty, code, stderr, stdout};
use crate::support_everyday::{fake_session, finish};

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
