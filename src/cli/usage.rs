//! Usage errors as csa prints every error (docs/exit-codes.md): one line on stderr, exit 2.

use super::Cli;

/// Parses csa's command line. On a usage error, prints one line, ``csa: invalid arguments:
/// <why> (see `<command> --help`)``, and exits with code 2 (docs/exit-codes.md); `--help`,
/// `--version` and a missing subcommand print clap's help or version as usual.
pub fn parse_or_exit() -> Cli {
    use clap::error::ErrorKind;
    use clap::{CommandFactory as _, FromArgMatches as _};
    let mut command = Cli::command();
    let parsed = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(mut matches) => {
            Cli::from_arg_matches_mut(&mut matches).map_err(|err| err.format(&mut command))
        }
        Err(err) => Err(err),
    };
    // The command tree is left to the end of the process: dropping its hundreds of
    // allocations cost a tenth of a `csa run` (BENCHMARKS.md, "Start latency").
    std::mem::forget(command);
    let err = match parsed {
        Ok(cli) => return cli,
        Err(err) => err,
    };
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let why = super::hints::hint(&err, &args).unwrap_or_else(|| clap_why(&err));
    crate::note!("invalid arguments: {why} (see `{} --help`)", command_path());
    std::process::exit(i32::from(crate::exit::USAGE))
}

/// clap's own text in one line: its first paragraph says what is wrong (maybe over several
/// lines), then come tips, usage and a pointer to `--help`; keeps the first paragraph and
/// the tips that apply.
fn clap_why(err: &clap::Error) -> String {
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
        // "to pass '-x' as a value, use '-- -x'": wrong for csa, where what follows `--` is
        // `csa run`'s program and no other command takes such a value.
        if tip.starts_with("tip:") && !tip.contains("as a value, use '--") {
            why.push_str("; ");
            why.push_str(tip);
        }
    }
    why
}

/// The subcommand the user typed, e.g. `csa session wait`, found by following the
/// arguments through the command tree while they name subcommands.
fn command_path() -> String {
    let mut command = <Cli as clap::CommandFactory>::command();
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
