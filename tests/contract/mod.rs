//! Black-box conformance with the behavioural contract: output formats, error lines and
//! exit codes exactly as written there.

mod errors;
mod layout;
mod output;
mod prompt;
mod results;

use crate::support::stderr;

/// Asserts that stderr is exactly one error line of csa's form (docs/agents.md):
/// `csa: <what failed>: <why> (<path or ID>)`.
fn assert_error_line(out: &std::process::Output, what: &str) {
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: not one line: {text:?}");
    let line = lines[0];
    let body = line
        .strip_prefix("csa: ")
        .unwrap_or_else(|| panic!("{what}: no `csa: ` prefix: {line:?}"));
    let (failed, rest) = body
        .split_once(": ")
        .unwrap_or_else(|| panic!("{what}: no `<what failed>: <why>`: {line:?}"));
    assert!(!failed.is_empty() && !rest.is_empty(), "{what}: {line:?}");
    assert!(
        rest.ends_with(')') && rest.contains(" ("),
        "{what}: no trailing `(<path or ID>)`: {line:?}"
    );
}
