//! The agent CLI presets: how each passes the prompt (on standard input past 100 KiB), a
//! missing program, and no process of a session carrying the prompt in its argv.

use std::os::unix::fs::PermissionsExt as _;

use super::Bench;
use crate::support::{
    HANG, assert_exit, assert_success, output_with_input, output_within, started_id, stderr,
    wait_for,
};

#[test]
fn presets_pass_the_prompt_as_their_cli_expects() {
    let bench = Bench::new();
    // Every agent preset takes its prompt on standard input (never in the agent's argv,
    // which every local user can read) — also one that starts like an option.
    let prompt = "- fix the bug in 'parser.rs' \"now\"";
    let on_stdin = format!("stdin:{prompt}");
    for (tool, expected) in [
        (
            "codex",
            vec![
                "prog:codex",
                "arg:exec",
                "arg:--skip-git-repo-check",
                "arg:-",
                &on_stdin,
            ],
        ),
        ("claude", vec!["prog:claude", "arg:-p", &on_stdin]),
        (
            "gemini",
            vec![
                "prog:gemini",
                "arg:--skip-trust",
                "arg:--prompt=",
                &on_stdin,
            ],
        ),
        ("opencode", vec!["prog:opencode", "arg:run", &on_stdin]),
    ] {
        let got = bench.run_with_stdin_and_wait(&["--tool", tool], prompt);
        assert_eq!(got.lines().collect::<Vec<_>>(), expected, "tool {tool}");
        let plain = bench.run_and_wait(&["--tool", tool, "review"]);
        assert!(plain.contains("review"), "{tool}: {plain}");
    }
}

#[test]
fn prompts_over_100_kib_go_on_standard_input() {
    let bench = Bench::new();
    let prompt = format!("{}\nend of prompt", "p".repeat(100 * 1024));
    for (tool, args) in [
        ("codex", "arg:exec\narg:--skip-git-repo-check\narg:-\n"),
        ("claude", "arg:-p\n"),
        ("gemini", "arg:--skip-trust\narg:--prompt=\n"),
        ("opencode", "arg:run\n"),
    ] {
        let got = bench.run_with_stdin_and_wait(&["--tool", tool], &prompt);
        assert_eq!(got, format!("prog:{tool}\n{args}stdin:{prompt}"), "{tool}");
    }
}

#[test]
fn a_missing_preset_program_exits_127_naming_it() {
    let bench = Bench::new();
    let empty = bench.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut command = bench.cmd(&["run", "--tool", "gemini", "hello"]);
    command.env("PATH", &empty);
    let out = output_within(&mut command, HANG);
    assert_exit(&out, 127);
    let err = stderr(&out);
    assert!(
        err.starts_with("csa: cannot run tool gemini: gemini "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    bench.csa.assert_no_session("a missing preset program");
}

/// A prompt is nobody else's: no process of the session — not the supervisor, not the
/// agent, not the shell of a script given on standard input — carries it in its argv,
/// which every local user can read (`ps`).
#[test]
fn no_process_of_a_session_carries_the_prompt_in_its_argv() {
    let bench = Bench::new();
    bench.write(
        "bin/claude",
        "#!/bin/sh\ncat >/dev/null\necho ready\nexec sleep 600\n",
    );
    std::fs::set_permissions(
        bench.path("bin/claude"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let secret = "the-secret-prompt-4Q7Z";
    // A shell script given on standard input runs as `/bin/sh -s`, off the argv too.
    let script = format!("echo ready; sleep 600 # {secret}");
    for (args, input) in [
        (vec!["run", "--tool", "claude", secret], None),
        (vec!["run", "--tool", "claude"], Some(secret)),
        (vec!["run"], Some(script.as_str())),
    ] {
        let out = match input {
            None => bench.output(&args),
            Some(input) => output_with_input(&mut bench.cmd(&args), input.as_bytes()),
        };
        let id = started_id(&out);
        let log = bench.csa.session_dir(&id).join("stdout.log");
        wait_for(HANG, "the agent to read its prompt", || {
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("ready"))
        });
        let mut carriers = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
                && cmdline
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes())
            {
                carriers.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        assert_success(
            &bench.csa.output(&["session", "kill", &id]),
            "csa session kill",
        );
        assert!(
            carriers.is_empty(),
            "the prompt is in the argv of {carriers:?}"
        );
    }
}
