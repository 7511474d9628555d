//! Answering the shell at each Tab: when `CSA_COMPLETE` is set, csa prints completion
//! candidates from its own command-line definition instead of running a command
//! (`clap_complete`'s dynamic completion; the registration script is `csa completions`,
//! [`crate::cmd::completions`]).

use clap::{Command, CommandFactory as _};

use super::Cli;
use crate::cmd::completions::VAR;

/// Answers a completion request when `CSA_COMPLETE` is set (then exits); returns at once
/// otherwise (one environment lookup).
pub fn answer_from_env() {
    clap_complete::CompleteEnv::with_factory(visible_command)
        .var(VAR)
        .bin("csa")
        .complete();
}

/// The command line without its hidden subcommands (the supervisor entry point), which
/// `clap_complete` would otherwise offer (clap issue #1335). `clap::Command` cannot remove a
/// subcommand, so the root is rebuilt from the visible parts of [`Cli`].
pub fn visible_command() -> Command {
    let full = Cli::command();
    let mut root = Command::new("csa")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .max_term_width(100);
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    if let Some(after) = full.get_after_help() {
        root = root.after_help(after.clone());
    }
    for arg in full.get_arguments().filter(|a| !a.is_hide_set()) {
        root = root.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        root = root.subcommand(sub.clone());
    }
    root
}
