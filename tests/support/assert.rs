//! Assertions on a command's output and on a session's result: one line at the call site,
//! the whole text in the failure message.

use std::process::Output;

use super::{code, stderr};

/// Asserts that `text` contains each of `needles`; the message shows all of `text`.
#[track_caller]
pub fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

/// Asserts that `out` exited with `expected`; the message shows its stderr.
#[track_caller]
pub fn assert_exit(out: &Output, expected: i32) {
    assert_eq!(code(out), expected, "stderr: {}", stderr(out));
}

/// Asserts that `out` exited with `expected` and that its stderr contains `needle` (for
/// an error: its exit code and the words of its one line); returns the stderr.
#[track_caller]
pub fn assert_error(out: &Output, expected: i32, needle: &str) -> String {
    assert_exit(out, expected);
    let text = stderr(out);
    assert_contains(&text, &[needle]);
    text
}

/// A result's `reason` (failing the test when it has none).
#[track_caller]
pub fn reason(result: &toml::Table) -> &str {
    match result.get("reason").and_then(toml::Value::as_str) {
        Some(reason) => reason,
        None => panic!("the result has no reason: {result:?}"),
    }
}

/// Asserts that a result's `reason` contains each of `needles`.
#[track_caller]
pub fn assert_reason(result: &toml::Table, needles: &[&str]) {
    assert_contains(reason(result), needles);
}

/// Asserts that a record (`result.toml`, `session.toml`, …) holds each key of `expected`
/// with the same value; `expected` is written as the record's TOML keys, separated by
/// commas: `"status = 'signal', signal = 9, synthetic = true"`.
#[track_caller]
pub fn assert_record(record: &toml::Table, expected: &str) {
    let inline: toml::Table = format!("expected = {{ {expected} }}")
        .parse()
        .expect("the expected keys, as TOML");
    let Some(toml::Value::Table(expected)) = inline.get("expected") else {
        unreachable!("an inline table parses as a table");
    };
    for (key, value) in expected {
        assert_eq!(record.get(key), Some(value), "{key} in {record:?}");
    }
}

/// Asserts a result's `status` and `exit_code`.
#[track_caller]
pub fn assert_result(result: &toml::Table, status: &str, exit_code: i64) {
    assert_eq!(
        (
            result.get("status").and_then(toml::Value::as_str),
            result.get("exit_code").and_then(toml::Value::as_integer)
        ),
        (Some(status), Some(exit_code)),
        "{result:?}"
    );
}

/// Asserts that `out` exited with `expected` and wrote exactly `stdout` (bytes, or text)
/// to standard output; the message shows both outputs.
#[track_caller]
pub fn assert_output(out: &Output, expected: i32, stdout: impl AsRef<[u8]>) {
    assert_exit(out, expected);
    let wanted = stdout.as_ref();
    assert!(
        out.stdout == wanted,
        "stdout: {:?}\nwanted: {:?}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(wanted)
    );
}

/// Fails the test if csa panicked.
pub fn assert_no_panic(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked at"), "csa panicked: {stderr}");
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
