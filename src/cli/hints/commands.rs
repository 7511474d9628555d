//! "Did you mean": a subcommand csa does not have, matched to the one that was meant — a
//! word people bring from other tools (`ls`, `ps`, `stop`) or a typo (`rn`, `sesion`).

use clap::Command;
use clap::error::ContextKind;

use super::{context_string, shown_command};

/// Words other tools use for what a csa command does, and that command, from the top. Only
/// words csa does not have as a command (`ls`, `show`, `rm` are csa's own): a test checks.
pub(super) const HABITS: &[(&str, &str)] = &[
    ("ps", "session list"),
    ("jobs", "session list"),
    ("stop", "session kill"),
    ("cancel", "session kill"),
    ("follow", "session attach"),
    ("tail", "session attach"),
    ("log", "session logs"),
    ("output", "session logs"),
    ("start", "run"),
    ("exec", "run"),
    ("submit", "run"),
    ("watch", "top"),
    ("stat", "status"),
];

/// `unrecognized subcommand 'rn': did you mean `csa run make`?`, when a command is near
/// enough to the word typed; `None` when nothing is.
pub(super) fn did_you_mean(err: &clap::Error, args: &[String]) -> Option<String> {
    let typed = context_string(err, ContextKind::InvalidSubcommand)?;
    let root = super::super::visible_command();
    // Follow the words that name subcommands up to the one typed.
    let mut level = &root;
    let mut at = 0;
    while let Some(word) = args.get(at).filter(|word| **word != typed) {
        level = level.find_subcommand(word)?;
        at += 1;
    }
    if at == 0 && typed == "version" {
        // `csa version`, as in `go version`, `docker version`: csa has the flag.
        return Some("unrecognized subcommand 'version': did you mean `csa --version`?".to_owned());
    }
    let meant = habit(&root, &typed).or_else(|| nearest(&root, level, at == 0, &typed))?;
    let mut words: Vec<String> = meant.split(' ').map(str::to_owned).collect();
    words.extend(args[at + 1..].iter().cloned());
    Some(format!(
        "unrecognized subcommand '{typed}': did you mean `{}`?",
        shown_command("csa", &words)
    ))
}

/// The command another tool's word stands for, if csa has it.
fn habit(root: &Command, typed: &str) -> Option<String> {
    let (_, meant) = HABITS.iter().find(|(word, _)| *word == typed)?;
    exists(root, meant).then(|| (*meant).to_owned())
}

/// True when the words of `path` name visible subcommands from `root` down.
fn exists(root: &Command, path: &str) -> bool {
    let mut level = root;
    for word in path.split(' ') {
        match level.find_subcommand(word) {
            Some(sub) => level = sub,
            None => return false,
        }
    }
    true
}

/// The subcommand of `level` (and, at the top, of `csa session`) nearest to `typed`: a
/// unique one that starts with it (3 characters at least), else the one within 1 edit for
/// words of up to 4 characters, 2 for longer ones (the nearest; the first on a tie).
fn nearest(root: &Command, level: &Command, top: bool, typed: &str) -> Option<String> {
    let path = |sub: &Command| -> String {
        let mut words: Vec<&str> = Vec::new();
        if !std::ptr::eq(level, root) {
            words.push(level.get_name());
        }
        words.push(sub.get_name());
        words.join(" ")
    };
    let mut candidates: Vec<(String, Vec<String>)> = level
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| (path(sub), names(sub)))
        .collect();
    if top && let Some(session) = root.find_subcommand("session") {
        candidates.extend(
            session
                .get_subcommands()
                .filter(|sub| !sub.is_hide_set())
                .map(|sub| (format!("session {}", sub.get_name()), names(sub))),
        );
    }
    let starting: Vec<&String> = candidates
        .iter()
        .filter(|(_, names)| typed.len() >= 3 && names.iter().any(|n| n.starts_with(typed)))
        .map(|(path, _)| path)
        .collect();
    if let [only] = starting.as_slice() {
        return Some((*only).clone());
    }
    let limit = if typed.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .filter_map(|(path, names)| {
            let distance = names
                .iter()
                .map(|name| strsim::damerau_levenshtein(name, typed))
                .min()?;
            (distance <= limit).then_some((distance, path))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, path)| path.clone())
}

/// A subcommand's name and its visible aliases.
fn names(sub: &Command) -> Vec<String> {
    std::iter::once(sub.get_name())
        .chain(sub.get_visible_aliases())
        .map(str::to_owned)
        .collect()
}
