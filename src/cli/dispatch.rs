//! Running the command the user asked for.

use anyhow::Result;

use super::{Command, visible_command};
use crate::cmd::args::{QueueCommand, SessionCommand};
use crate::cmd::{
    attach, clean, completions, kill, list, logs, man, node, queue, rerun, result, rm, run, show,
    status, supervise, tools, top, wait,
};

/// Runs `command` and returns csa's exit code.
pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::exec(&args),
        Command::Session(SessionCommand::Wait(args)) | Command::Wait(args) => wait::exec(&args),
        Command::Session(SessionCommand::Attach(args)) | Command::Attach(args) => {
            attach::exec(&args)
        }
        Command::Session(SessionCommand::Kill(args)) | Command::Kill(args) => kill::exec(&args),
        Command::Session(SessionCommand::List(args)) | Command::Ls(args) => list::exec(&args),
        Command::Session(SessionCommand::Result(args)) | Command::Result(args) => {
            result::exec(&args)
        }
        Command::Session(SessionCommand::Logs(args)) | Command::Logs(args) => logs::exec(&args),
        Command::Session(SessionCommand::Clean(args)) => clean::exec(&args),
        Command::Session(SessionCommand::Show(args)) | Command::Show(args) => show::exec(&args),
        Command::Session(SessionCommand::Rm(args)) | Command::Rm(args) => rm::exec(&args),
        Command::Session(SessionCommand::Rerun(args)) | Command::Rerun(args) => rerun::exec(&args),
        Command::Queue(QueueCommand::Slots(args)) => queue::slots(&args),
        Command::Queue(QueueCommand::List(args)) => queue::list(&args),
        Command::Queue(QueueCommand::Pause(args)) => queue::pause(&args),
        Command::Queue(QueueCommand::Resume(args)) => queue::resume(&args),
        Command::Queue(QueueCommand::Rm(args)) => queue::remove(&args),
        Command::Status(args) => status::exec(&args),
        Command::Top(args) => top::exec(&args),
        Command::Tools(args) => tools::exec(&args),
        Command::Completions(args) => completions::exec(&args),
        Command::Man(args) => man::exec(&args, visible_command()),
        Command::Supervise(args) => supervise::exec(args),
        Command::Node(args) => node::exec(&args),
    }
}
