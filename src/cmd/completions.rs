//! `csa completions SHELL`: print a completion script generated from the command-line
//! definition by `clap_complete`.

use std::io::{self, Write as _};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};

/// Runs `csa completions`. Exit 0; a reader that went away is not an error.
pub fn exec(args: &CompletionsArgs) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "csa", &mut script);
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write the completion script to stdout")
        }
        _ => Ok(0),
    }
}
