//! What csa says about itself: completion scripts and answers, examples in every `--help`,
//! and `csa tools --help` naming every field of `--json`.

use crate::support::{Csa, HANG, assert_success, output_within, stderr, stdout};

#[test]
fn completions_for_bash_zsh_and_fish() {
    let csa = Csa::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = csa.output(&["completions", shell]);
        assert_success(&out, shell);
        // The script asks csa at each Tab (tests/completion.rs drives it in each shell).
        assert!(stdout(&out).contains("CSA_COMPLETE"), "{shell}");
    }
    let complete = |words: &[&str]| {
        let out = output_within(
            csa.cmd().env("CSA_COMPLETE", "fish").arg("--").args(words),
            HANG,
        );
        assert_success(&out, "complete");
        stdout(&out)
    };
    assert!(complete(&["csa", "session", "cl"]).contains("clean"));
    assert!(complete(&["csa", "session", "clean", "--ol"]).contains("--older-than"));
    assert!(
        !complete(&["csa", ""]).contains("__supervise"),
        "hidden command completed"
    );
    assert_eq!(csa.output(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn every_command_has_examples_in_its_help() {
    let csa = Csa::new();
    let commands: &[&[&str]] = &[
        &[],
        &["run"],
        &["session"],
        &["session", "wait"],
        &["session", "list"],
        &["session", "result"],
        &["session", "logs"],
        &["session", "clean"],
        &["session", "attach"],
        &["session", "kill"],
        &["tools"],
        &["completions"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = csa.output(&args);
        assert_success(&out, &args.join(" "));
        assert!(
            stdout(&out).contains("Examples:"),
            "no examples in `csa {}`",
            args.join(" ")
        );
    }
}

/// `csa tools --help` names every field `csa tools --json` prints.
#[test]
fn tools_help_names_every_json_field() {
    let csa = Csa::new();
    let out = csa.output(&["tools", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = stdout(&csa.output(&["tools", "--help"]));
    let mut fields = 0;
    for tool in tools.as_array().unwrap() {
        for key in tool.as_object().unwrap().keys() {
            assert!(
                help.contains(&format!("`{key}`")),
                "{key} is not in:\n{help}"
            );
            fields += 1;
        }
    }
    assert!(fields >= 9, "{tools}");
}
