//! `csa`: run long jobs in the background and wait for, follow and stop them.
//!
//! `main` only parses the command line, dispatches, and turns the outcome into an exit
//! code. It is the one place where errors are printed.

mod cli;
mod cmd;
mod directive;
mod exit;
mod liveness;
mod record;
mod session;
mod stop;
mod supervise;
mod sys;
mod tail;
mod term;
mod tool;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match cmd::dispatch(cli.command) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("csa: {message}");
            std::process::ExitCode::from(exit::code_of(&err))
        }
    }
}

/// Reports a command-line error as one line, `csa: invalid arguments: <why> (<help
/// command>)`, and returns exit code 2 (contract §6). `--help`, `--version` and a missing
/// subcommand print clap's help or version as usual.
fn usage_error(err: &clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    // clap's text: a first paragraph saying what is wrong (maybe over several lines), then
    // tips, usage and a pointer to `--help`; keep the first paragraph and the tips.
    let rendered = err.render().to_string();
    let mut paragraphs = rendered.split("\n\n");
    let first: Vec<&str> = paragraphs
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let mut why = first.join(" ");
    why = why.trim_start_matches("error: ").to_owned();
    for tip in paragraphs.flat_map(str::lines).map(str::trim) {
        if tip.starts_with("tip:") {
            why.push_str("; ");
            why.push_str(tip);
        }
    }
    eprintln!(
        "csa: invalid arguments: {why} (see `{} --help`)",
        command_path()
    );
    std::process::ExitCode::from(exit::USAGE)
}

/// The subcommand the user typed, e.g. `csa session wait`, found by following the
/// arguments through the command tree while they name subcommands.
fn command_path() -> String {
    let mut command = <cli::Cli as clap::CommandFactory>::command();
    let mut path = vec!["csa".to_owned()];
    for arg in std::env::args_os().skip(1) {
        let Some(sub) = arg
            .to_str()
            .and_then(|name| command.find_subcommand(name))
            .filter(|sub| !sub.is_hide_set())
            .cloned()
        else {
            break;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path.join(" ")
}
