//! One module per subcommand; [`dispatch`] runs the one the user asked for.

pub mod attach;
pub mod clean;
pub mod completions;
pub mod kill;
pub mod list;
pub mod logs;
pub mod man;
pub mod node;
pub mod queue;
pub mod result;
pub mod run;
pub mod status;
pub mod tools;
pub mod top;
pub mod view;
pub mod wait;

use anyhow::Result;

use crate::cli::{Command, QueueCommand, SessionCommand};

/// Runs `command` and returns csa's exit code.
pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::exec(&args),
        Command::Session(SessionCommand::Wait(args)) => wait::exec(&args),
        Command::Session(SessionCommand::Attach(args)) => attach::exec(&args),
        Command::Session(SessionCommand::Kill(args)) => kill::exec(&args),
        Command::Session(SessionCommand::List(args)) => list::exec(&args),
        Command::Session(SessionCommand::Result(args)) => result::exec(&args),
        Command::Session(SessionCommand::Logs(args)) => logs::exec(&args),
        Command::Session(SessionCommand::Clean(args)) => clean::exec(&args),
        Command::Queue(QueueCommand::Slots(args)) => queue::slots(&args),
        Command::Queue(QueueCommand::List(args)) => queue::list(&args),
        Command::Status(args) => status::exec(&args),
        Command::Top(args) => top::exec(&args),
        Command::Tools(args) => tools::exec(&args),
        Command::Completions(args) => completions::exec(&args),
        Command::Man(args) => man::exec(&args),
        Command::Supervise(args) => crate::supervise::main(&args),
        Command::Node(args) => node::exec(&args),
    }
}
