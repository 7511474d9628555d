//! Usage errors that point to the fix: the mistakes people make most with csa's command
//! line, recognised from clap's error and the arguments, each explained in one line.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::term::quote;

mod commands;
mod options;

/// The subcommands of `csa session` that have no top-level shortcut, which people type
/// without `session` (`wait`, `kill`, `logs`, … are shortcuts of their own).
const SESSION_COMMANDS: [&str; 2] = ["list", "clean"];

/// A one-line explanation for `err`, better than clap's, or `None` to keep clap's. `args`
/// are csa's arguments without the program name.
pub fn hint(err: &clap::Error, args: &[String]) -> Option<String> {
    match err.kind() {
        ErrorKind::InvalidSubcommand => {
            session_subcommand_at_top(err, args).or_else(|| commands::did_you_mean(err, args))
        }
        ErrorKind::UnknownArgument if is_run(args) => options::negative_value(err, args)
            .or_else(|| run_with_several_words(err, args))
            .or_else(|| options::prompt_with_a_dash(err, args)),
        ErrorKind::UnknownArgument => {
            options::negative_value(err, args).or_else(|| options::expected_option(err, args))
        }
        ErrorKind::ArgumentConflict if is_run(args) => run_conflict(err, args),
        _ => None,
    }
}

/// `csa wait …` → `csa session wait …`.
fn session_subcommand_at_top(err: &clap::Error, args: &[String]) -> Option<String> {
    let typed = context_string(err, ContextKind::InvalidSubcommand)?;
    let first = args.iter().position(|arg| *arg == typed)?;
    if first != 0 || !SESSION_COMMANDS.contains(&typed.as_str()) {
        return None;
    }
    Some(format!(
        "`{typed}` is a subcommand of `csa session`: did you mean `{}`?",
        shown_command("csa session", args)
    ))
}

/// `csa run make test` → quote the script, or `-- make test`.
fn run_with_several_words(err: &clap::Error, args: &[String]) -> Option<String> {
    let unexpected = context_string(err, ContextKind::InvalidArg)?;
    if args.iter().any(|arg| arg == "--") {
        return None;
    }
    // From the first word that is not an option on (`make -j8 test`), when the unexpected
    // argument comes after it (`--bogus x` is a mistyped option).
    let first = first_positional(args)?;
    let at = args
        .iter()
        .position(|arg| arg.starts_with(unexpected.as_str()))?;
    if at <= first {
        return None;
    }
    let script = args[first..].join(" ");
    Some(format!(
        "`csa run` takes the whole script as ONE argument, PROMPT, but got several words: quote it (`csa run {}`) or run the program without a shell (`csa run -- {script}`)",
        quote(&script)
    ))
}

/// `csa run ls -- -la`: PROMPT and `-- PROGRAM` together; `--tool` with `-- PROGRAM`;
/// `--json` with `--no-daemon`.
fn run_conflict(err: &clap::Error, args: &[String]) -> Option<String> {
    let one = context_string(err, ContextKind::InvalidArg)?;
    let other = context_string(err, ContextKind::PriorArg)?;
    let both = |a: &str, b: &str| {
        (one.contains(a) && other.contains(b)) || (one.contains(b) && other.contains(a))
    };
    if both("--tool", "PROGRAM") {
        return Some(tool_with_program(args));
    }
    if both("PROMPT", "PROGRAM") {
        return Some(
            "give either PROMPT, a shell script in one argument (`csa run 'ls -la'`), or `-- PROGRAM ARGS…` with nothing between `run`'s options and `--` (`csa run -- ls -la`), not both".to_owned(),
        );
    }
    if both("--json", "--no-daemon") {
        return Some(
            "--json cannot be used with --no-daemon: in the foreground, stdout carries the job's own output; the session ID is in the CSA:SESSION_STARTED line on stderr".to_owned(),
        );
    }
    None
}

/// `csa run --tool claude -- echo hi`: a tool takes a PROMPT; `-- PROGRAM` runs without one.
fn tool_with_program(args: &[String]) -> String {
    let tool = args
        .iter()
        .position(|arg| arg == "--tool")
        .and_then(|at| args.get(at + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|arg| arg.strip_prefix("--tool=").map(str::to_owned))
        })
        .unwrap_or_else(|| "NAME".to_owned());
    let program = args
        .iter()
        .position(|arg| arg == "--")
        .map(|at| args[at + 1..].join(" "))
        .unwrap_or_default();
    format!(
        "--tool {tool} cannot be used with `-- PROGRAM`: a tool turns a PROMPT into its command line, while `-- {program}` runs {program:?} as it is, without a tool, so --tool would be ignored. Give {tool} a prompt in one argument (`csa run --tool {} {}`), or leave out --tool to run the program (`csa run -- {program}`)",
        quote(&tool),
        quote(&program),
    )
}

/// The index in `args` (`run` first) of the first word that is neither an option of
/// `csa run` nor an option's value.
fn first_positional(args: &[String]) -> Option<usize> {
    let command = <super::Cli as clap::CommandFactory>::command();
    let run = command.find_subcommand("run")?;
    let takes_value = |name: &str| options::value_option(run, name).is_some();
    let mut index = 1;
    while let Some(arg) = args.get(index) {
        match arg.strip_prefix("--") {
            Some(long) if !long.contains('=') && takes_value(long) => index += 2,
            Some(_) => index += 1,
            None if arg.starts_with('-') => index += 1,
            None => return Some(index),
        }
    }
    None
}

/// True when the command line is `csa run …`.
fn is_run(args: &[String]) -> bool {
    args.first().is_some_and(|arg| arg == "run")
}

/// `prefix` and `args`, shell-quoted, cut to a readable length.
fn shown_command(prefix: &str, args: &[String]) -> String {
    let mut line = prefix.to_owned();
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    if line.chars().count() > 100 {
        line = line.chars().take(100).collect::<String>() + " …";
    }
    line
}

/// A string in clap's error context (e.g. the unexpected argument).
fn context_string(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(text) => Some(text.clone()),
        ContextValue::Strings(texts) => texts.first().cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when `sub` has `option` (`--long` or `-s`).
    fn has_option(sub: &clap::Command, option: &str) -> bool {
        let short: Vec<char> = option.chars().skip(1).collect();
        sub.get_arguments().any(|arg| {
            if let Some(long) = option.strip_prefix("--") {
                arg.get_long() == Some(long)
            } else {
                short.len() == 1 && arg.get_short() == Some(short[0])
            }
        })
    }

    /// An entry for a word csa has as a command, or an option it has, never applies: the
    /// command or the option runs. (The shortcuts made `ls`, `show`, `rm`, `wait`, `logs
    /// -f`, … real; their hints had stayed behind.)
    #[test]
    fn no_hint_is_for_a_word_csa_has() {
        let root = super::super::visible_command();
        let session = root.find_subcommand("session").unwrap();
        let words = commands::HABITS.iter().map(|(word, _)| *word);
        for word in words.chain(SESSION_COMMANDS) {
            assert!(root.find_subcommand(word).is_none(), "`csa {word}` exists");
        }
        for command in SESSION_COMMANDS {
            assert!(session.find_subcommand(command).is_some(), "{command}");
        }
        for (name, options, _, _) in options::EXPECTED {
            let subcommands = [root.find_subcommand(name), session.find_subcommand(name)];
            for sub in subcommands.into_iter().flatten() {
                for option in *options {
                    assert!(!has_option(sub, option), "`csa {name} {option}` exists");
                }
            }
            assert!(session.find_subcommand(name).is_some(), "{name}");
        }
    }
}
