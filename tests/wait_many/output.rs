//! What a wait prints of a job's logs: the end of stderr on a failure, `--tail`, and no
//! summary line for a single session.

use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_output, directive, stderr, stdout, wait_for,
};
use crate::support_faults::signal;

#[test]
fn a_failure_shows_the_end_of_stderr() {
    let csa = Csa::new();
    let failing = csa.run(
        "for i in $(seq 30); do echo err-$i >&2; done; echo out; printf no-newline >&2; exit 2",
    );
    let out = csa.wait(&failing);
    let err = stderr(&out);
    assert_output(&out, 2, "out\n");
    let lines: Vec<&str> = err.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("csa: the last 20 lines of stderr.log of session"))
        .expect(&err);
    assert_eq!(lines[header + 1], "err-12", "{err}");
    assert_eq!(lines[header + 19], "err-30", "{err}");
    assert_eq!(lines[header + 20], "no-newline", "{err}");
    assert!(
        lines[header + 21].starts_with("CSA:SESSION_WAIT_COMPLETED "),
        "{err}"
    );
    assert!(!err.contains("err-11\n"), "{err}");

    // Success: stderr stays out of it, unless asked with --stderr (all of it).
    let fine = csa.run("for i in $(seq 30); do echo err-$i >&2; done");
    let out = csa.wait(&fine);
    assert!(!stderr(&out).contains("err-"), "{}", stderr(&out));
    let out = csa.output(&["session", "wait", &fine, "--stderr"]);
    let err = stderr(&out);
    assert!(
        err.starts_with("err-1\nerr-2\n") && err.contains("err-30\nCSA:"),
        "{err}"
    );
    // A lost session says why.
    let lost = csa.run("echo dying >&2; sleep 30");
    wait_for(HANG, "the job's stderr", || {
        std::fs::metadata(csa.session_dir(&lost).join("stderr.log")).is_ok_and(|m| m.len() > 0)
    });
    signal(csa.supervisor_pid(&lost), 9);
    let out = csa.wait(&lost);
    let err = stderr(&out);
    assert_exit(&out, 1);
    assert_contains(
        &err,
        &[
            "ended with lost: supervisor vanished",
            "\ndying\nCSA:SESSION_WAIT_COMPLETED",
        ],
    );
    csa.kill_group(&lost);
}

#[test]
fn tail_limits_stdout_to_its_last_lines() {
    let csa = Csa::new();
    let id = csa.run("seq 100000; seq 3 >&2; exit 1");
    let out = csa.output(&["session", "wait", "--session", &id, "--tail", "2"]);
    assert_output(&out, 1, "99999\n100000\n");
    // With --stderr, both logs are cut.
    let out = csa.output(&["session", "wait", &id, "--tail", "1", "--stderr"]);
    assert_eq!(stdout(&out), "100000\n");
    assert!(
        stderr(&out).starts_with("3\nCSA:SESSION_WAIT_COMPLETED"),
        "{}",
        stderr(&out)
    );
    // The same for several sessions, each cut on its own.
    let other = csa.run("seq 5");
    let out = csa.output(&["session", "wait", &id, &other, "--tail", "1"]);
    let text = stdout(&out);
    assert!(text == "100000\n5\n" || text == "5\n100000\n", "{text}");
    let out = csa.output(&["session", "wait", &other, "--tail", "0"]);
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_single_wait_prints_no_summary() {
    let csa = Csa::new();
    let id = csa.run("echo one");
    for args in [vec![id.as_str()], vec!["--session", &id]] {
        let mut all = vec!["session", "wait"];
        all.extend(args);
        let out = csa.output(&all);
        assert_exit(&out, 0);
        assert!(directive(&stderr(&out), "SESSION_WAIT_SUMMARY").is_none());
    }
}
