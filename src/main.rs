//! `csa`: run long jobs in the background and wait for, follow and stop them.
//!
//! `main` only parses the command line, dispatches, and turns the outcome into an exit
//! code. It is the one place where errors are printed.

mod admission;
mod cli;
mod cmd;
mod directive;
mod executor;
mod exit;
mod interrupt;
mod liveness;
mod queue;
mod report;
mod stop;
mod store;
mod supervise;
mod sys;
mod tail;
mod term;
mod tool;
mod tree;
mod values;
mod wait;

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
