//! Setting up: the README's set-up and quick start (a detached job to its result, a failing
//! job), and the shell completion install lines of docs/shell.md in a fresh home.

use super::{Sandbox, recipe};
use crate::support::{assert_contains, assert_output, directive, stderr, stdout};

#[test]
fn readme_set_up_installs_and_runs_a_detached_job_to_its_result() {
    let text = recipe("README.md", "setup");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "the set-up is two command lines: {text}");
    assert_eq!(
        lines[1], "cargo test --locked",
        "the second line runs the tests"
    );
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["sh"], lines[0], false, &[]);
    assert_output(&out, 0, "cargo 1.0.0 (stand-in)\nbuilt\n");
    assert!(
        directive(&stderr(&out), "SESSION_WAIT_COMPLETED")
            .is_some_and(|l| l.contains(" status=success "))
    );
    assert!(sandbox.home.path().join(".cargo/bin/csa").exists());
}

#[test]
fn readme_quick_start_reports_the_jobs_failure() {
    let sandbox = Sandbox::new();
    let script = recipe("README.md", "quick-start");
    let out = sandbox.run(&["sh"], &script, true, &[]);
    assert_output(&out, 0, "cargo 1.0.0 (stand-in)\nexit=3\n");
    let err = stderr(&out);
    let line = directive(&err, "SESSION_WAIT_COMPLETED").expect("completed");
    assert_contains(line, &[" status=failure exit=3 "]);
    // What the recipe's comments say a terminal shows, stderr's tail included, in order.
    let shown: Vec<&str> = script
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .collect();
    let terminal = format!("{}{err}", stdout(&out));
    for (said, prefix) in [
        (1, "csa: the last 20 lines of stderr.log of session "),
        (2, "to-stderr"),
        (3, "CSA:SESSION_WAIT_COMPLETED "),
        (4, "exit=3"),
    ] {
        assert!(shown[said].starts_with(prefix), "{script}");
        assert!(
            terminal.lines().any(|line| line.starts_with(prefix)),
            "{terminal}"
        );
    }
}

/// The completion install lines work in a fresh home (their directories do not exist yet).
#[test]
fn shell_completion_install_lines_work_in_a_fresh_home() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["sh"], &recipe("docs/shell.md", "completions"), true, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_completions_installed(&sandbox);
}

/// The install lines `csa completions --help` shows work as typed in a fresh home, in a
/// POSIX shell: they make their directories, and none depends on a zsh variable.
#[test]
fn completions_help_install_lines_work_in_a_fresh_home() {
    let sandbox = Sandbox::new();
    let help = stdout(&sandbox.run(&["sh"], "csa completions --help", true, &[]));
    let examples = &help[help.find("Examples:\n").expect("an Examples section")..];
    let lines: Vec<&str> = examples.lines().skip(1).map(str::trim).collect();
    assert_eq!(lines.len(), 3, "one line per shell: {help}");
    for line in lines {
        let out = sandbox.run(&["sh", "-e"], line, true, &[]);
        assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
    }
    assert_completions_installed(&sandbox);
}

/// Each shell's completion script is in place in the sandbox's home.
fn assert_completions_installed(sandbox: &Sandbox) {
    for file in [
        ".local/share/bash-completion/completions/csa",
        ".zfunc/_csa",
        ".config/fish/completions/csa.fish",
    ] {
        let text = std::fs::read_to_string(sandbox.home.path().join(file)).unwrap();
        assert!(text.contains("CSA_COMPLETE"), "{file}: {text}");
    }
}
