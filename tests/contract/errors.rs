//! Errors as the contract writes them: one line naming the thing, the right exit code, for
//! usage errors, a state root that is a file, a closed stdout, a planted link and an unreadable
//! configuration.

use std::process::Stdio;

use super::assert_error_line;
use crate::support::{Csa, HANG, assert_exit, code, directive, output_within, stderr};

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let csa = Csa::new();
    for args in [
        &["run", "--bogus", "x"][..],
        &["run", "--env", "NOEQUALS", "x"],
        &["run", "--timeout", "soon", "x"],
        &["run", "x", "--", "y"],
        &["session", "wait"],
        &["session", "wait", "--session"],
        &["session", "list", "--status", "weird"],
        &["session", "kill", "--session", "01M7", "--signal", "BOGUS"],
        &["completions", "nope"],
        &["frobnicate"],
    ] {
        let out = csa.output(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    csa.assert_no_session("a usage error");
}

#[test]
fn a_state_root_that_is_a_file_gives_one_error_line_naming_the_path() {
    let csa = Csa::new();
    let file = csa.state.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    for args in [
        &["run", "exit 0"][..],
        &["session", "list"],
        &["session", "clean"],
    ] {
        let out = output_within(csa.cmd().env("CSA_STATE_DIR", &file).args(args), HANG);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(stderr(&out).contains(file.to_str().unwrap()), "{args:?}");
        assert!(!stderr(&out).contains("os error"), "{args:?}");
    }
}

#[test]
fn run_with_a_closed_stdout_still_names_the_session_on_stderr() {
    let csa = Csa::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = csa.cmd();
    command.args(["run", "exit 7"]).stdout(writer);
    let child = command.stderr(Stdio::piped()).spawn().unwrap();
    let out = child.wait_with_output().unwrap();
    crate::support::assert_no_panic(&out);
    assert_exit(&out, 125);
    let text = stderr(&out);
    let started = directive(&text, "SESSION_STARTED").expect("SESSION_STARTED");
    let id = started
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("id="))
        .unwrap()
        .to_owned();
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("csa: ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].ends_with(&format!("({id})")), "{text}");
    assert!(!errors[0].contains("os error"), "{text}");
    // The job runs anyway.
    assert_exit(&csa.wait(&id), 7);
}

#[test]
fn a_planted_stdout_link_is_never_followed_and_the_error_is_one_line() {
    let csa = Csa::new();
    let id = csa.finished("echo mine", 0);
    let dir = csa.session_dir(&id);
    let secret = csa.state.path().join("secret");
    std::fs::write(&secret, "not yours\n").unwrap();
    std::fs::remove_file(dir.join("stdout.log")).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("stdout.log")).unwrap();
    for args in [
        &["session", "wait", "--session", &id][..],
        &["session", "logs", "--session", &id],
        &["session", "attach", "--session", &id],
    ] {
        let out = csa.output(args);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?} followed the link");
        let errors: Vec<&str> = std::str::from_utf8(&out.stderr)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("CSA:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {errors:?}");
        let line = errors[0];
        assert!(line.starts_with("csa: ") && line.ends_with(')'), "{line}");
        assert!(!line.contains("os error"), "{line}");
    }
}

#[test]
fn an_unreadable_config_is_one_error_line_naming_it() {
    let csa = Csa::new();
    let config_home = csa.state.path().join("config");
    let config = config_home.join("csa/config.toml");
    // A directory where the file should be: unreadable for every user, root included.
    std::fs::create_dir_all(&config).unwrap();
    for args in [&["tools"][..], &["run", "exit 0"]] {
        let out = output_within(
            crate::support_everyday::isolate_config(csa.cmd().args(args), &config_home),
            HANG,
        );
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(
            stderr(&out).ends_with(&format!("({})\n", config.display())),
            "{}",
            stderr(&out)
        );
    }
    csa.assert_no_session("an unreadable configuration");
}
