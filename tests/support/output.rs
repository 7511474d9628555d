//! What a finished command printed: its exit code, its streams as text, the session ID
//! `csa run` printed and the directive lines on stderr.

use std::process::Output;

use super::assert_success;

/// The session ID `csa run` printed: asserts that it succeeded and printed one.
#[track_caller]
pub fn started_id(out: &Output) -> String {
    assert_success(out, "csa run");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    assert!(is_ulid(&id), "not a session ID: {id:?}");
    id
}

/// A line of stderr that starts with `CSA:<name>`.
pub fn directive<'a>(stderr: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("CSA:{name} ");
    stderr.lines().find(|line| line.starts_with(&prefix))
}

/// True for 26 upper-case Crockford base32 characters.
pub fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// The exit code of `out`; fails the test (at the caller's line) when a signal ended it.
#[track_caller]
pub fn code(out: &Output) -> i32 {
    match out.status.code() {
        Some(code) => code,
        None => panic!(
            "no exit code (killed by a signal?): {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Standard error of `out` as text.
#[track_caller]
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output of `out` as text.
#[track_caller]
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
