//! The built-in tools: `sh`, and presets for the agent CLIs people delegate to, each checked
//! against the real CLI's argument parser (docs/tools.md lists the versions and the final
//! command lines; `just agents` checks them again).
//!
//! What every agent preset has to get right:
//! - **Non-interactive mode.** csa gives the job no terminal, so each preset selects the
//!   CLI's headless mode (`codex exec`, `claude -p`, `gemini --prompt=`, `opencode run`).
//! - **A prompt is one argument, whatever it says.** A prompt that starts with `-` (a
//!   Markdown list item, `--help`) or that equals a subcommand name (`review`, `doctor`)
//!   must not be read as an option or a command: codex and claude get `--` before the
//!   prompt; gemini gets `--prompt=PROMPT` as one argument, because its parser (yargs) reads a
//!   separate value that starts with `-` as another option.
//! - **Both prompt paths.** Prompts over 100 KiB go on standard input (`stdin_argv`); every
//!   CLI here reads its prompt from a standard input that is not a terminal.
//! - **Any directory.** A job runs where `--cd` says, often a directory the CLI has never
//!   seen: codex refuses to run outside a Git repository, and gemini exits 55 in a
//!   directory it was not told to trust, unless told otherwise (claude skips its trust
//!   dialog by itself in `-p` mode).
//! - **Verbatim prompts.** `opencode run` wraps each argument that contains a space in
//!   double quotes and escapes the quotes inside, so the preset feeds every prompt on
//!   standard input, which opencode takes as it is.

use std::time::Duration;

use super::{PROMPT_PLACEHOLDER, Source, ToolDef};

/// The slot count of the queues the agent presets run in (one queue per preset, named after
/// it), unless configured (`[queues.NAME] slots = N`).
pub const PRESET_QUEUE_SLOTS: u32 = 3;

/// The default timeout of every agent preset. Against an API that accepts connections but
/// never answers, claude, gemini and opencode wait forever, and `codex exec` retries forever
/// when it cannot reach its API ("Reconnecting... waiting for network"): a hung job would
/// hold one of its queue's slots for good.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The default idle timeout of the agent presets that show their progress as they work
/// (codex, gemini, opencode): a job that has written nothing to stdout or stderr for this
/// long is stopped. Long enough for a slow model turn or a long command the agent runs
/// (a test suite), during which these CLIs print nothing.
pub const AGENT_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The names of the agent presets, each also the name of its queue.
pub const AGENT_PRESETS: [&str; 4] = ["codex", "claude", "gemini", "opencode"];

/// The built-in tools: `sh`, then the agent presets (codex, claude, gemini, opencode).
pub fn builtin() -> Vec<ToolDef> {
    let strings = |argv: &[&str]| argv.iter().map(|&a| a.to_owned()).collect::<Vec<_>>();
    let tool = |name: &str, argv: &[&str], stdin_argv: Option<&[&str]>| ToolDef {
        name: name.to_owned(),
        argv: strings(argv),
        stdin: false,
        stdin_argv: stdin_argv.map(strings),
        timeout: None,
        idle_timeout: None,
        queue: None,
        source: Source::BuiltIn,
    };
    // Every agent preset takes its prompt on standard input (the session's private
    // `prompt.txt`), never in the agent's argv, which every local user can read.
    let agent = |name: &str, argv: &[&str], stdin_argv: Option<&[&str]>| ToolDef {
        stdin: true,
        queue: Some(name.to_owned()),
        timeout: Some(AGENT_TIMEOUT),
        idle_timeout: Some(AGENT_IDLE_TIMEOUT),
        ..tool(name, argv, stdin_argv)
    };
    let prompt = PROMPT_PLACEHOLDER;
    let gemini_prompt = format!("--prompt={PROMPT_PLACEHOLDER}");
    vec![
        tool("sh", &["/bin/sh", "-c", prompt], Some(&["/bin/sh", "-s"])),
        agent(
            "codex",
            &["codex", "exec", "--skip-git-repo-check", "--", prompt],
            Some(&["codex", "exec", "--skip-git-repo-check", "-"]),
        ),
        // `claude -p` prints nothing until its final answer: a quiet job is a working
        // one, so only its timeout bounds it.
        ToolDef {
            idle_timeout: None,
            ..agent(
                "claude",
                &["claude", "-p", "--", prompt],
                Some(&["claude", "-p"]),
            )
        },
        agent(
            "gemini",
            &["gemini", "--skip-trust", &gemini_prompt],
            Some(&["gemini", "--skip-trust", "--prompt="]),
        ),
        agent("opencode", &["opencode", "run"], None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_preset_has_its_queue() {
        let tools = builtin();
        for name in AGENT_PRESETS {
            let def = tools.iter().find(|t| t.name == name).unwrap();
            assert_eq!(def.queue.as_deref(), Some(name));
            assert_eq!(def.timeout, Some(AGENT_TIMEOUT), "{name}");
            assert!(crate::values::parse_label(name).is_ok());
        }
        assert_eq!(tools[0].name, "sh");
        assert_eq!(tools[0].queue, None);
    }
}
