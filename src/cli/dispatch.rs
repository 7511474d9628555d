//! Running the command the user asked for.

use anyhow::Result;

use super::{Command, visible_command};
use crate::cmd::args::{QueueCommand, SessionCommand};
use crate::cmd::{
    attach, clean, completions, kill, list, logs, man, node, queue, result, run, status, supervise,
    tools, top, wait,
};

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
        Command::Man(args) => man::exec(&args, visible_command()),
        Command::Supervise(args) => supervise::exec(args),
        Command::Node(args) => node::exec(&args),
    }
}
