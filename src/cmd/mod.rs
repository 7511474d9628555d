//! One module per subcommand; [`dispatch`] runs the one the user asked for.

pub mod attach;
pub mod kill;
pub mod run;
pub mod wait;

use anyhow::Result;

use crate::cli::{Command, SessionCommand};

/// Runs `command` and returns csa's exit code.
pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::exec(&args),
        Command::Session(SessionCommand::Wait(args)) => wait::exec(&args),
        Command::Session(SessionCommand::Attach(args)) => attach::exec(&args),
        Command::Session(SessionCommand::Kill(args)) => kill::exec(&args),
        Command::Supervise(args) => crate::supervise::main(&args),
    }
}
