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
        // (`wait`, `kill`, `logs`, … are shortcuts of their own: `csa ls` and tests/shortcuts.rs.)
        (&["list"][..], "`csa session list`"),
        (&["clean", "--dry-run"][..], "`csa session clean --dry-run`"),
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

#[test]
fn unknown_commands_say_what_was_meant() {
    let csa = Csa::new();
    for (args, meant) in [
        (&["rn", "make test"][..], "`csa run 'make test'`"),
        (&["sesion", "list"][..], "`csa session list`"),
        (&["session", "lst"][..], "`csa session list`"),
        (&["session", "kil", "last"][..], "`csa session kill last`"),
        (&["queue", "slot", "builds"][..], "`csa queue slots builds`"),
        (&["stauts"][..], "`csa status`"),
        (&["tool"][..], "`csa tools`"),
        // Words from other tools.
        (&["ps"][..], "`csa session list`"),
        (&["stop", "last"][..], "`csa session kill last`"),
        // `go version`, `docker version`: csa has the flag.
        (&["version"][..], "`csa --version`"),
    ] {
        let err = usage_error(&csa, args);
        let typed = args
            .iter()
            .find(|a| !["session", "queue"].contains(a))
            .unwrap();
        assert_contains(
            &err,
            &[&format!(
                "unrecognized subcommand '{typed}': did you mean {meant}?"
            )],
        );
    }
    // Nothing near: clap's message alone.
    let err = usage_error(&csa, &["xyzzy"]);
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn tool_with_a_program_is_refused_with_both_forms() {
    let csa = Csa::new();
    let err = usage_error(&csa, &["run", "--tool", "claude", "--", "echo", "hi"]);
    assert_contains(
        &err,
        &[
            "--tool claude cannot be used with `-- PROGRAM`",
            "`csa run --tool claude 'echo hi'`",
            "`csa run -- echo hi`",
        ],
    );
    // Even the default tool, named: `-- PROGRAM` runs without one.
    usage_error(&csa, &["run", "--tool=sh", "--", "true"]);
}

/// clap's tip "to pass '-x' as a value, use '-- -x'" is wrong for csa: after `--`, `run`
/// takes a program, and no other command takes such a value.
#[test]
fn options_that_are_not_there_get_a_hint_that_works() {
    let csa = Csa::new();
    let err = usage_error(&csa, &["run", "--tool", "claude", "-x"]);
    assert_contains(&err, &["`printf '%s\\n' -x | csa run --tool claude`"]);
    let err = usage_error(&csa, &["session", "wait", "--timeout", "5", "last"]);
    assert_contains(
        &err,
        &["has no --timeout", "`csa session wait --until-done last`"],
    );
    let err = usage_error(&csa, &["session", "kill", "-9", "last"]);
    assert_contains(&err, &["`csa session kill --signal KILL last`"]);
    // The session in the hint is the one given, not an option's value.
    let err = usage_error(&csa, &["session", "kill", "last", "--grace", "2", "-9"]);
    assert_contains(&err, &["`csa session kill --signal KILL last`"]);
    let err = usage_error(&csa, &["run", "--tol", "claude", "hi"]);
    assert_contains(&err, &["a similar argument exists: '--tool'"]);
    for args in [
        &["run", "--tool", "claude", "-x"][..],
        &["session", "wait", "--timeout", "5", "last"][..],
        &["session", "list", "-q"][..],
        &["run", "--tol", "claude", "hi"][..],
        &["session", "logs", "last", "--bogus"][..],
    ] {
        let err = usage_error(&csa, args);
        assert!(!err.contains("use '--"), "{args:?}: {err}");
    }
}

#[test]
fn after_naming_no_session_is_a_usage_error() {
    let csa = Csa::new();
    for handle in ["nosuch", "last", "ZZZZ"] {
        let out = csa.output(&["run", "--after", handle, "true"]);
        assert_eq!(out.status.code(), Some(2), "{handle}: {}", stderr(&out));
        assert_contains(&stderr(&out), &["cannot use --after: no such session"]);
        csa.assert_no_session(handle);
    }
}

/// A count that is not a number (`--tail x`, `--limit ten`) is refused with what to write,
/// not with Rust's "invalid digit found in string".
#[test]
fn a_count_that_is_not_a_number_says_to_give_a_whole_number() {
    let csa = Csa::new();
    for args in [
        &["session", "logs", "last", "--tail", "x"][..],
        &["wait", "last", "--tail", "1.5"][..],
        &["session", "list", "--limit", "ten"][..],
    ] {
        let err = usage_error(&csa, args);
        assert_contains(&err, &["give a whole number such as 20"]);
        assert!(!err.contains("invalid digit"), "{err}");
    }
}

/// A negative number after an option that takes a value reads as an option of its own: the
/// error says the option takes no negative value (not, for `kill --grace -1`, a hint about
/// signals), or, for a value that may start with `-`, how to pass it.
#[test]
fn a_negative_value_after_an_option_says_what_the_option_takes() {
    let csa = Csa::new();
    for (args, said) in [
        (
            &["session", "kill", "last", "--grace", "-1"][..],
            "unexpected argument '-1': --grace takes no negative value",
        ),
        (
            &["logs", "last", "--tail", "-5"][..],
            "unexpected argument '-5': --tail takes no negative value",
        ),
        (
            &["run", "--timeout", "-5", "true"][..],
            "unexpected argument '-5': --timeout takes no negative value",
        ),
        (
            &["run", "--name", "-3", "true"][..],
            "join them to pass it: `--name=-3`",
        ),
    ] {
        let err = usage_error(&csa, args);
        assert_contains(&err, &[said]);
        assert!(!err.contains("--signal NAME"), "{err}");
    }
}
