//! Issue 17, items 5 and 9: what `run` accepts every reader can read, and what it cannot
//! carry is refused with one clear line, before any session exists.

use std::ffi::OsStr;

use super::{assert_rejected, os_args};
use crate::support::{Csa, assert_exit, output_with_input};

/// A command line whose `session.toml` would be over the readers' 1 MiB cap is refused at
/// `run` (exit 2), naming the size; no session and no name are left behind. (Before, the
/// session ran unseen: its name could not be resolved and `kill --tag` found nothing.)
#[test]
fn a_command_line_too_large_for_the_record_is_refused_at_run() {
    let csa = Csa::new();
    let chunk = "x".repeat(100_000);
    let mut args = vec!["run", "--name", "big", "--tag", "big", "--", "true"];
    args.extend(std::iter::repeat_n(chunk.as_str(), 12));
    let err = assert_rejected(&csa.output(&args), 2, "a 1.2 MB command line");
    assert!(err.contains("command line too large"), "{err}");
    assert!(err.contains("1 MiB"), "{err}");
    assert!(err.lines().count() == 1 && err.len() < 400, "{err}");
    csa.assert_no_session("after a refused run");
    // Just under the cap, it runs and every reader finds it by name and tag.
    let mut args = vec!["run", "--name", "big", "--tag", "big", "--", "true"];
    args.extend(std::iter::repeat_n(chunk.as_str(), 10));
    assert_exit(&csa.output(&args), 0);
    assert_exit(&csa.output(&["session", "wait", "--session", "big"]), 0);
    assert_exit(&csa.output(&["session", "wait", "--tag", "big"]), 0);
}

/// A NUL byte in a prompt on standard input, for a tool that can take the prompt only as
/// part of an argument, is a usage error that says so, not "cannot start the supervisor".
/// (A tool that reads its prompt on standard input — `sh -s`, the agent presets — gets
/// the bytes as they are.)
#[test]
fn a_nul_byte_in_a_stdin_prompt_is_named() {
    let csa = Csa::new();
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("csa")).unwrap();
    std::fs::write(
        config.path().join("csa/config.toml"),
        "[tools.embeds]\nargv = [\"/bin/echo\", \"--say={prompt}\"]\n",
    )
    .unwrap();
    let mut run = csa.cmd();
    run.args(["run", "--tool", "embeds"])
        .env("XDG_CONFIG_HOME", config.path());
    let out = output_with_input(&mut run, b"echo a\0b");
    let err = assert_rejected(&out, 2, "a NUL in the prompt");
    assert!(err.contains("NUL byte (at byte 6)"), "{err}");
    assert!(!err.contains("supervisor"), "{err}");
    csa.assert_no_session("after a refused prompt");
}

/// Names with bidirectional overrides or zero-width characters are refused (they look
/// like other names); plain Unicode names are fine.
#[test]
fn invisible_format_characters_are_refused_in_names() {
    let csa = Csa::new();
    for name in [
        "bad\u{202E}name",
        "zero\u{200B}width",
        "\u{2066}iso",
        "bom\u{FEFF}",
    ] {
        let args: Vec<&OsStr> = os_args([b"run".as_slice(), b"--name", name.as_bytes(), b"true"]);
        let out = csa.cmd().args(&args).output().unwrap();
        let err = assert_rejected(&out, 2, name);
        assert!(
            err.contains("invisible format characters"),
            "{name:?}: {err}"
        );
    }
    csa.assert_no_session("after refused names");
    let id = csa.run_args(&["--name", "café-✓", "true"]);
    assert_eq!(csa.wait(&id).status.code(), Some(0));
}
