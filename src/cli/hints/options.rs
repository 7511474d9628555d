//! Options people expect from other tools, and a prompt that starts with `-`: what to type
//! instead. (clap's own tip, "to pass '-x' as a value, use '-- -x'", is wrong for csa: after
//! `--`, `csa run` takes a program, and the other commands take no such value.)

use clap::error::ContextKind;

use super::{context_string, quote, shown_command};

/// An option csa does not have where people look for it: (the subcommand, the options, its
/// value is the next word, what to do instead). The subcommand is the last word of its
/// path; `HANDLE` in the text is replaced by the session the user gave.
pub(super) const EXPECTED: &[(&str, &[&str], bool, &str)] = &[
    (
        "attach",
        &["-f", "--follow"],
        false,
        "`csa session attach` always follows the output live: run `csa session attach HANDLE`",
    ),
    (
        "wait",
        &["--timeout", "-t"],
        true,
        "`csa session wait` has no --timeout: it returns after at most 250 s (exit 0 with CSA:SESSION_WAIT_KV_WARM while the job still runs; run it again), or waits for the end without a limit with --until-done: `csa session wait HANDLE` or `csa session wait --until-done HANDLE`; to limit the job itself, give `csa run --timeout`",
    ),
    (
        "kill",
        &[
            "-9", "-15", "-2", "-1", "-KILL", "-TERM", "-INT", "-HUP", "-s",
        ],
        false,
        "`csa session kill` takes the signal as --signal NAME: `csa session kill --signal KILL HANDLE` (the default is TERM, then KILL after the --grace period)",
    ),
];

/// The hint for an option of [`EXPECTED`], with the session handle the user gave.
pub(super) fn expected_option(err: &clap::Error, args: &[String]) -> Option<String> {
    let unexpected = context_string(err, ContextKind::InvalidArg)?;
    let command = subcommand(args)?;
    let (_, _, takes_value, text) = EXPECTED
        .iter()
        .find(|(name, options, _, _)| *name == command && options.contains(&unexpected.as_str()))?;
    let handle = handle(args, &unexpected, *takes_value).unwrap_or_else(|| "ID".to_owned());
    Some(format!(
        "unexpected argument '{unexpected}': {}",
        text.replace("HANDLE", &quote(&handle))
    ))
}

/// `csa run --tool claude -x`: a prompt that starts with `-` reads as an option; piped, it
/// reaches the tool as it is. Only when the word is the last one and clap knows no similar
/// option (`--tol` is a typo of `--tool`, and clap says so).
pub(super) fn prompt_with_a_dash(err: &clap::Error, args: &[String]) -> Option<String> {
    let unexpected = context_string(err, ContextKind::InvalidArg)?;
    if err.get(ContextKind::SuggestedArg).is_some()
        || args.last() != Some(&unexpected)
        || args.iter().any(|arg| arg == "--")
    {
        return None;
    }
    let rest = &args[..args.len() - 1];
    Some(format!(
        "unexpected argument '{unexpected}': `csa run` has no such option. If it is the prompt: a PROMPT that starts with `-` cannot follow `csa run` (it reads as an option, and after `--` as a program), so pipe it: `printf '%s\\n' {} | {}`",
        quote(&unexpected),
        shown_command("csa", rest)
    ))
}

/// `csa kill last --grace -1`, `csa logs last --tail -5`: a negative number right after an
/// option that takes a value reads as an option of its own. No value csa takes is negative,
/// so say that, rather than clap's bare "unexpected argument" (or, for `kill`, a hint about
/// signals that does not fit).
pub(super) fn negative_value(err: &clap::Error, args: &[String]) -> Option<String> {
    let unexpected = context_string(err, ContextKind::InvalidArg)?;
    if !unexpected
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    {
        return None;
    }
    let at = args.iter().position(|arg| *arg == unexpected)?;
    let option = args.get(at.checked_sub(1)?)?.strip_prefix("--")?;
    let command = subcommand_of(args)?;
    let arg = value_option(&command, option)?;
    // Counts, durations and signals are never negative; any other value (a name, a path)
    // may start with `-` when joined to its option.
    let numeric = arg.get_value_names().is_some_and(|names| {
        names
            .iter()
            .any(|name| ["N", "DURATION", "SIG"].contains(&name.as_str()))
    });
    Some(if numeric {
        format!("unexpected argument '{unexpected}': --{option} takes no negative value")
    } else {
        format!(
            "unexpected argument '{unexpected}': it reads as an option, not as the value of --{option}; join them to pass it: `--{option}={unexpected}`"
        )
    })
}

/// The option `--LONG` of `command` when it takes a value (the next word).
pub(super) fn value_option<'a>(command: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long) && arg.get_action().takes_values())
}

/// The name of the subcommand the words of `args` lead to (`logs` for `csa session logs`
/// and for a top-level `csa logs`), following visible subcommands and their aliases.
fn subcommand(args: &[String]) -> Option<String> {
    subcommand_of(args).map(|sub| sub.get_name().to_owned())
}

/// The subcommand the words of `args` lead to, following visible subcommands and their
/// aliases.
fn subcommand_of(args: &[String]) -> Option<clap::Command> {
    let mut level = super::super::visible_command();
    let mut found = None;
    for word in args {
        let Some(sub) = level.find_subcommand(word).cloned() else {
            break;
        };
        found = Some(sub.clone());
        level = sub;
    }
    found
}

/// The session the user named: `--session X`, else the last word that is neither an option,
/// a subcommand's name, nor the unexpected option's value.
fn handle(args: &[String], unexpected: &str, takes_value: bool) -> Option<String> {
    if let Some(at) = args.iter().position(|arg| arg == "--session") {
        return args.get(at + 1).cloned();
    }
    let skip = args
        .iter()
        .position(|arg| arg == unexpected)
        .map(|at| if takes_value { at + 1 } else { at });
    let words = ["session", "logs", "attach", "wait", "kill"];
    // The value of an option (`--grace 2`) is not the session.
    let command = subcommand_of(args);
    let is_value = |at: usize| {
        at.checked_sub(1)
            .and_then(|before| args[before].strip_prefix("--"))
            .is_some_and(|option| {
                command
                    .as_ref()
                    .is_some_and(|command| value_option(command, option).is_some())
            })
    };
    args.iter()
        .enumerate()
        .rev()
        .find(|(at, arg)| {
            !arg.starts_with('-')
                && Some(*at) != skip
                && !words.contains(&arg.as_str())
                && !is_value(*at)
        })
        .map(|(_, arg)| arg.clone())
}
