//! `csa completions SHELL`: print a completion script generated from the command-line
//! definition by `clap_complete`.

use std::io::{self, Write as _};

use anyhow::Result;
use clap::{Command, CommandFactory as _};

use crate::cli::{Cli, CompletionsArgs};

/// Runs `csa completions`. Exit 0; a reader that went away is not an error.
pub fn exec(args: &CompletionsArgs) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut visible_command(), "csa", &mut script);
    let mut stdout = io::stdout().lock();
    crate::exit::stdout_written(
        stdout.write_all(&script).and_then(|()| stdout.flush()),
        "the completion script",
    )?;
    Ok(0)
}

/// The command line without its hidden subcommands (the supervisor entry point), which
/// `clap_complete` would otherwise offer (clap issue #1335). `clap::Command` cannot remove a
/// subcommand, so the root is rebuilt from the visible parts of [`Cli`].
fn visible_command() -> Command {
    let full = Cli::command();
    let mut root = Command::new("csa")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true);
    for arg in full.get_arguments().filter(|a| !a.is_hide_set()) {
        root = root.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        root = root.subcommand(sub.clone());
    }
    root
}
