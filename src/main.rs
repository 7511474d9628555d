//! `csa`: run long jobs in the background and wait for, follow and stop them.
//!
//! `main` only parses the command line, dispatches, and turns the outcome into an exit
//! code. It is the one place where errors are printed.

mod cli;
mod cmd;
mod directive;
mod ends;
mod executor;
mod exit;
mod fleet;
mod liveness;
mod queue;
mod record;
mod report;
mod session;
mod stop;
mod supervise;
mod sys;
mod tags;
mod tail;
mod term;
mod tool;
mod waker;

fn main() -> std::process::ExitCode {
    match cmd::dispatch(cli::parse()) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            report::write_line(&format!("csa: {message}"));
            std::process::ExitCode::from(exit::code_of(&err))
        }
    }
}
