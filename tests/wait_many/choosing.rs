//! Choosing what to wait for: `--any` returns at the first end, `--tag` selects the sessions
//! with every tag.

use super::{Waiter, completed, summary};
use crate::support::{Csa, Gate, assert_error, assert_exit, code, directive, stderr};

#[test]
fn any_returns_when_one_ends_with_its_exit_code() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new()];
    let a = csa.run(&format!("{}; echo a", gates[0].pass()));
    let b = csa.run(&format!("{}; echo b; exit 7", gates[1].pass()));
    let waiter = Waiter::start(&csa, &["--any", &a, &b], &[]);
    gates[1].open();
    let (status, out, err) = waiter.finish();
    assert_eq!(status, 7, "{err}");
    assert_eq!(out, b"b\n");
    assert_eq!(completed(&err), [b]);
    assert!(
        summary(&err).contains("total=2 success=0 failed=1 pending=1 exit=7"),
        "{err}"
    );
    assert!(directive(&err, "SESSION_WAIT_KV_WARM").is_none(), "{err}");
    // It names the session still pending and the command that keeps waiting for it.
    let line = err
        .lines()
        .find(|line| line.starts_with("csa: 1 session still pending: "))
        .unwrap_or_else(|| panic!("no pending line: {err}"));
    assert!(
        line.contains(&format!("pending: {a}; keep waiting for it: ")),
        "{line}"
    );
    assert!(line.ends_with(&format!("session wait --any {a}")), "{line}");
    assert!(csa.result(&a).is_none(), "the other session still runs");
    gates[0].open();
    // A success ends `--any` with 0.
    let out = csa.output(&["session", "wait", "--any", &a, "--until-done"]);
    assert_exit(&out, 0);
}

#[test]
fn tag_waits_for_the_sessions_with_every_tag() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let other = csa.run(&gate.pass());
    let ok = csa.run_with("--tag ci-1 --tag unit", "echo ok");
    let failing = csa.run_with("--tag ci-1", "echo failing; exit 4");
    let out = csa.output(&["session", "wait", "--tag", "ci-1", "--until-done"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 4, "{err}");
    let mut ids = completed(&err);
    ids.sort();
    let mut wanted = vec![ok.clone(), failing];
    wanted.sort();
    assert_eq!(ids, wanted, "only the tagged sessions");
    assert!(
        summary(&err).contains("total=2 success=1 failed=1"),
        "{err}"
    );
    // Several tags: the sessions with all of them.
    let out = csa.output(&["session", "wait", "--tag", "ci-1", "--tag", "unit"]);
    assert_exit(&out, 0);
    assert_eq!(completed(&stderr(&out)), [ok]);
    // No session with the tag: an error naming it, not a silent success.
    let out = csa.output(&["session", "wait", "--tag", "ci-2"]);
    assert_error(&out, 125, "ci-2");
    // Tags are labels: anything else is a usage error.
    for bad in ["a/b", "", "x y"] {
        let out = csa.output(&["session", "wait", "--tag", bad]);
        assert_eq!(code(&out), 2, "{bad:?}");
        let out = csa.output(&["run", "--tag", bad, "true"]);
        assert_eq!(code(&out), 2, "{bad:?}");
    }
    gate.open();
    csa.wait(&other);
}

/// `--any` on sessions that have all ended prints the first to end; the others are not
/// called pending (waiting for them again would return at once): csa says they ended too
/// and how to print them.
#[test]
fn any_says_the_others_ended_too_when_they_have() {
    let csa = Csa::new();
    let a = csa.run("echo a");
    crate::support::wait_for(crate::support::HANG, "a to end", || {
        csa.result(&a).is_some()
    });
    let b = csa.run("echo b; exit 2");
    crate::support::wait_for(crate::support::HANG, "b to end", || {
        csa.result(&b).is_some()
    });
    let out = csa.output(&["session", "wait", "--any", &a, &b]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert_eq!(out.stdout, b"a\n");
    assert!(!err.contains("still pending"), "{err}");
    let line = err
        .lines()
        .find(|line| line.starts_with("csa: 1 other session has ended too (not printed): "))
        .unwrap_or_else(|| panic!("no line for the other session: {err}"));
    assert!(line.contains(&format!(": {b}; print it: ")), "{line}");
    assert!(
        line.ends_with(&format!("session wait --session {b}")),
        "{line}"
    );
}
