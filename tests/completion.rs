//! Shell completion completes session arguments with the sessions in the store (not file
//! names), in bash, zsh and fish, through the script `csa completions SHELL` prints.

use std::path::Path;
use std::process::Command;

use crate::support::{Csa, HANG, assert_success, output_within, require, stdout};

/// Asks csa for completions the way the fish script does: `CSA_COMPLETE=fish csa -- WORDS`
/// (the last word being completed). Returns the candidate values.
fn candidates(csa: &Csa, words: &[&str]) -> Vec<String> {
    let out = output_within(
        csa.cmd().env("CSA_COMPLETE", "fish").arg("--").args(words),
        HANG,
    );
    assert_success(&out, &format!("complete {words:?}"));
    stdout(&out)
        .lines()
        .map(|line| line.split('\t').next().unwrap().to_owned())
        .collect()
}

/// Two sessions, one named `build`; returns their IDs (newest last).
fn two_sessions(csa: &Csa) -> (String, String) {
    let named = csa.run_args(&["--name", "build", "true"]);
    let other = csa.run("true");
    csa.wait(&named);
    csa.wait(&other);
    (named, other)
}

#[test]
fn every_session_argument_completes_to_sessions() {
    let csa = Csa::new();
    let (named, other) = two_sessions(&csa);
    let common: String = named
        .chars()
        .zip(other.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    for command in ["attach", "kill", "result", "logs", "wait"] {
        let mut forms = vec![vec!["csa", "session", command, "--session", ""]];
        if command != "wait" {
            forms.push(vec!["csa", "session", command, ""]);
        }
        for mut words in forms {
            let found = candidates(&csa, &words);
            for wanted in [&named, &other, "last", "build"] {
                assert!(found.iter().any(|c| c == wanted), "{words:?}: {found:?}");
            }
            *words.last_mut().unwrap() = &common;
            let found = candidates(&csa, &words);
            assert!(
                found.contains(&named) && found.contains(&other),
                "{found:?}"
            );
            assert!(!found.contains(&"last".to_owned()), "{found:?}");
        }
    }
    // Lower case completes too; names complete by their start.
    let lower = named[..6].to_lowercase();
    assert!(candidates(&csa, &["csa", "session", "logs", &lower]).contains(&named));
    assert_eq!(
        candidates(&csa, &["csa", "session", "logs", "bui"]),
        vec!["build".to_owned()]
    );
}

/// `csa completions SHELL`, written to a file in `dir`.
fn script(csa: &Csa, shell: &str, dir: &Path) -> String {
    let out = csa.output(&["completions", shell]);
    assert_success(&out, "completions");
    let path = dir.join(format!("csa.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path.display().to_string()
}

/// Runs `program -c code` with the test's state root, returns stdout.
fn run_shell(csa: &Csa, program: &str, code: &str) -> String {
    let mut command = Command::new(program);
    command
        .arg("-c")
        .arg(code)
        .env("CSA_STATE_DIR", csa.state.path())
        .env("HOME", csa.state.path());
    let out = output_within(&mut command, HANG);
    assert_success(&out, program);
    stdout(&out)
}

#[test]
fn bash_completes_session_ids() {
    let bash = require::program("bash").display().to_string();
    let csa = Csa::new();
    let (named, other) = two_sessions(&csa);
    let dir = tempfile::tempdir().unwrap();
    let script = script(&csa, "bash", dir.path());
    let prefix = &other[..4];
    let code = format!(
        "source {script}
COMP_WORDS=(csa session attach {prefix}); COMP_CWORD=3; COMP_TYPE=9
COMP_LINE='csa session attach {prefix}'; COMP_POINT=${{#COMP_LINE}}
_clap_complete_csa csa {prefix} attach
printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let replies = run_shell(&csa, &bash, &code);
    assert!(replies.lines().any(|l| l.trim() == other), "{replies}");
    assert!(replies.lines().any(|l| l.trim() == named), "{replies}");
}

#[test]
#[ignore = "needs fish (.ci/run installs it)"]
fn fish_completes_session_ids() {
    let fish = require::program("fish").display().to_string();
    let csa = Csa::new();
    let (named, _) = two_sessions(&csa);
    let dir = tempfile::tempdir().unwrap();
    let script = script(&csa, "fish", dir.path());
    let code = format!(
        "source {script}; complete -C 'csa session kill --session {}'",
        &named[..4]
    );
    let replies = run_shell(&csa, &fish, &code);
    assert!(replies.lines().any(|l| l.starts_with(&named)), "{replies}");
    let replies = run_shell(
        &csa,
        &fish,
        &format!("source {script}; complete -C 'csa session logs bu'"),
    );
    assert!(replies.lines().any(|l| l.starts_with("build")), "{replies}");
}

#[test]
#[ignore = "needs zsh (.ci/run installs it)"]
fn zsh_completes_session_ids() {
    let zsh = require::program("zsh").display().to_string();
    let csa = Csa::new();
    let (named, other) = two_sessions(&csa);
    let dir = tempfile::tempdir().unwrap();
    let script = script(&csa, "zsh", dir.path());
    // Without an interactive line editor: `compdef` and `_describe` (zsh's completion
    // system) stand in, printing the candidates the function hands them.
    let code = format!(
        "compdef() {{ : }}
_describe() {{ print -rl -- ${{(P)3}} }}
source {script}
words=(csa session result {}); CURRENT=4
_clap_dynamic_completer_csa",
        &other[..4]
    );
    let replies = run_shell(&csa, &zsh, &code);
    for id in [&named, &other] {
        assert!(
            replies.lines().any(|l| l.starts_with(id.as_str())),
            "{replies}"
        );
    }
}
