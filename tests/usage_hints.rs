//! Usage mistakes that point to the fix: one line on stderr, exit 2, and the command that
//! was meant.

use crate::support::{Csa, assert_contains, stderr};

/// Runs `csa ARGS…` and returns its one-line usage error (asserting exit 2, one line, and
/// that no session was created).
fn usage_error(csa: &Csa, args: &[&str]) -> String {
    let out = csa.output(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("csa: invalid arguments: "), "{err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    csa.assert_no_session(&format!("{args:?}"));
    err
}

#[test]
fn session_subcommands_typed_at_the_top_say_csa_session() {
    let csa = Csa::new();
    for (args, meant) in [
        (
            &["wait", "--session", "01JD"][..],
            "`csa session wait --session 01JD`",
        ),
        (&["list"][..], "`csa session list`"),
        (&["kill", "last"][..], "`csa session kill last`"),
        (&["logs", "my job"][..], "`csa session logs 'my job'`"),
    ] {
        let err = usage_error(&csa, args);
        assert_contains(&err, &[&format!("did you mean {meant}?")]);
    }
}

#[test]
fn several_words_after_run_say_to_quote_or_use_dashes() {
    let csa = Csa::new();
    for args in [
        &["run", "make", "test"][..],
        &["run", "--timeout", "10m", "make", "test"][..],
    ] {
        let err = usage_error(&csa, args);
        assert_contains(&err, &["`csa run 'make test'`", "`csa run -- make test`"]);
    }
    let err = usage_error(&csa, &["run", "make", "-j8", "test"]);
    assert_contains(&err, &["`csa run -- make -j8 test`"]);
    // A mistyped option before the script is reported as such.
    let err = usage_error(&csa, &["run", "--bogus", "make"]);
    assert_contains(&err, &["'--bogus'"]);
}

#[test]
fn prompt_and_program_together_explain_both_forms() {
    let csa = Csa::new();
    let err = usage_error(&csa, &["run", "ls", "--", "-la"]);
    assert_contains(&err, &["either PROMPT", "`csa run -- ls -la`"]);
}

#[test]
fn json_with_no_daemon_is_refused() {
    let csa = Csa::new();
    for args in [
        &["run", "--no-daemon", "--json", "true"][..],
        &["run", "--json", "--no-daemon", "true"][..],
    ] {
        let err = usage_error(&csa, args);
        assert_contains(&err, &["--json cannot be used with --no-daemon"]);
    }
}
