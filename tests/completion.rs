//! Shell completion completes session arguments with the sessions in the store (not file
//! names), in bash, zsh and fish, through the script `csa completions SHELL` prints.

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
    let named = csa.run_with("--name build", "true");
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

/// A store with two sessions (one named `build`) and the script `csa completions SHELL`
/// printed, for a shell to source.
struct Completing {
    csa: Csa,
    shell: String,
    /// The named session and the other one.
    named: String,
    other: String,
    /// The completion script's path.
    script: String,
    _dir: tempfile::TempDir,
}

impl Completing {
    /// `shell` must be installed (the test fails otherwise).
    fn new(shell: &str) -> Self {
        let program = require::program(shell).display().to_string();
        let csa = Csa::new();
        let (named, other) = two_sessions(&csa);
        let out = csa.output(&["completions", shell]);
        assert_success(&out, "completions");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("csa.{shell}"));
        std::fs::write(&path, &out.stdout).unwrap();
        Self {
            csa,
            shell: program,
            named,
            other,
            script: path.display().to_string(),
            _dir: dir,
        }
    }

    /// Runs `SHELL -c code` with the store as state root and home; returns stdout.
    fn replies(&self, code: &str) -> String {
        let mut command = Command::new(&self.shell);
        command
            .arg("-c")
            .arg(code)
            .env("CSA_STATE_DIR", self.csa.state.path())
            .env("HOME", self.csa.state.path());
        let out = output_within(&mut command, HANG);
        assert_success(&out, &self.shell);
        stdout(&out)
    }
}

#[test]
fn bash_completes_session_ids() {
    let bash = Completing::new("bash");
    let (named, other, script) = (&bash.named, &bash.other, &bash.script);
    let prefix = &other[..4];
    let code = format!(
        "source {script}
COMP_WORDS=(csa session attach {prefix}); COMP_CWORD=3; COMP_TYPE=9
COMP_LINE='csa session attach {prefix}'; COMP_POINT=${{#COMP_LINE}}
_clap_complete_csa csa {prefix} attach
printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let replies = bash.replies(&code);
    assert!(replies.lines().any(|l| l.trim() == other), "{replies}");
    assert!(replies.lines().any(|l| l.trim() == named), "{replies}");
}

#[test]
#[ignore = "needs fish (.ci/run installs it)"]
fn fish_completes_session_ids() {
    let fish = Completing::new("fish");
    let (named, script) = (&fish.named, &fish.script);
    let replies = fish.replies(&format!(
        "source {script}; complete -C 'csa session kill --session {}'",
        &named[..4]
    ));
    assert!(
        replies.lines().any(|l| l.starts_with(named.as_str())),
        "{replies}"
    );
    let replies = fish.replies(&format!(
        "source {script}; complete -C 'csa session logs bu'"
    ));
    assert!(replies.lines().any(|l| l.starts_with("build")), "{replies}");
}

#[test]
#[ignore = "needs zsh (.ci/run installs it)"]
fn zsh_completes_session_ids() {
    let zsh = Completing::new("zsh");
    let (named, other, script) = (&zsh.named, &zsh.other, &zsh.script);
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
    let replies = zsh.replies(&code);
    for id in [named, other] {
        assert!(
            replies.lines().any(|l| l.starts_with(id.as_str())),
            "{replies}"
        );
    }
}

/// `--queue`, `--tag`, `--tool` and `--after` complete to the queues, tags, tools and
/// sessions that exist, not to file names.
#[test]
fn queue_tag_tool_and_after_values_complete_to_what_exists() {
    let csa = Csa::new();
    assert_success(&csa.output(&["queue", "slots", "builds", "2"]), "slots");
    let id = csa.run_args(&[
        "--queue", "builds", "--tag", "ci-42", "--tag", "nightly", "true",
    ]);
    csa.wait(&id);
    // Queues: the one under the state root, and the agent presets' configured ones.
    for words in [
        &["csa", "run", "--queue", ""][..],
        &["csa", "queue", "slots", ""][..],
        &["csa", "queue", "pause", ""][..],
        &["csa", "queue", "resume", ""][..],
        &["csa", "queue", "rm", ""][..],
    ] {
        let found = candidates(&csa, words);
        for wanted in ["builds", "claude", "codex"] {
            assert!(found.iter().any(|c| c == wanted), "{words:?}: {found:?}");
        }
    }
    assert_eq!(
        candidates(&csa, &["csa", "run", "--queue", "bu"]),
        vec!["builds".to_owned()]
    );
    // Tags, for every command that takes --tag.
    for words in [
        &["csa", "run", "--tag", ""][..],
        &["csa", "session", "list", "--tag", ""][..],
        &["csa", "session", "wait", "--tag", ""][..],
        &["csa", "session", "kill", "--tag", ""][..],
        &["csa", "session", "clean", "--tag", ""][..],
        &["csa", "session", "logs", "--tag", ""][..],
        &["csa", "logs", "--tag", ""][..],
    ] {
        let mut found = candidates(&csa, words);
        found.sort();
        assert_eq!(found, vec!["ci-42", "nightly"], "{words:?}");
    }
    assert_eq!(
        candidates(&csa, &["csa", "session", "list", "--tag", "n"]),
        vec!["nightly".to_owned()]
    );
    // Tools: the built-in ones.
    let found = candidates(&csa, &["csa", "run", "--tool", ""]);
    for wanted in ["sh", "codex", "claude", "gemini", "opencode"] {
        assert!(found.iter().any(|c| c == wanted), "{found:?}");
    }
    assert_eq!(
        candidates(&csa, &["csa", "run", "--tool", "cl"]),
        vec!["claude".to_owned()]
    );
    // --after: sessions.
    let found = candidates(&csa, &["csa", "run", "--after", ""]);
    assert!(
        found.contains(&id) && found.contains(&"last".to_owned()),
        "{found:?}"
    );
}

/// `--executor` completes to the executors csa has, each with its line of help (fish shows
/// it beside the value), for `run` and the hidden supervisor alike.
#[test]
fn executor_values_complete_with_their_help() {
    let csa = Csa::new();
    let out = output_within(
        csa.cmd()
            .env("CSA_COMPLETE", "fish")
            .args(["--", "csa", "run", "--executor", ""]),
        HANG,
    );
    assert_success(&out, "complete --executor");
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "local\tA child of the supervisor on this machine (the default)",
            "slurm\tA Slurm batch job, submitted with `sbatch` and watched from this machine",
        ],
        "{lines:?}"
    );
    assert_eq!(
        candidates(&csa, &["csa", "run", "--executor", "sl"]),
        ["slurm"]
    );
}
