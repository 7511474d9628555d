//! The prompt on standard input: refused when empty or over 10 MiB, accepted at exactly 10 MiB.

use super::assert_error_line;
use crate::support::{Csa, assert_exit, output_with_input, started_id};

/// Runs `csa run` with `input` on standard input (csa stops reading after 10 MiB + 1 byte;
/// the rest meets a closed pipe).
fn run_with_stdin(csa: &Csa, input: &[u8]) -> std::process::Output {
    output_with_input(csa.cmd().arg("run"), input)
}

#[test]
fn prompt_errors_say_what_failed() {
    let csa = Csa::new();
    let out = run_with_stdin(&csa, b"");
    assert_exit(&out, 2);
    assert_error_line(&out, "empty prompt");
    let out = run_with_stdin(&csa, &vec![b'#'; 10 * 1024 * 1024 + 1]);
    assert_exit(&out, 2);
    assert_error_line(&out, "prompt over 10 MiB");
    let out = csa.output(&["run", "--stdin"]);
    assert_exit(&out, 2);
    assert_error_line(&out, "--stdin without a prompt");
    csa.assert_no_session("a refused prompt");
}

#[test]
fn a_prompt_of_exactly_10_mib_is_accepted() {
    let csa = Csa::new();
    let mut prompt = vec![b'#'; 10 * 1024 * 1024 - 12];
    prompt.extend_from_slice(b"\necho 10MiB\n");
    assert_eq!(prompt.len(), 10 * 1024 * 1024);
    let id = started_id(&run_with_stdin(&csa, &prompt));
    let waited = csa.wait(&id);
    assert_exit(&waited, 0);
    assert_eq!(waited.stdout, b"10MiB\n");
    let kept = std::fs::read(csa.session_dir(&id).join("prompt.txt")).unwrap();
    assert_eq!(kept, prompt);
}
