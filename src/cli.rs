//! The command line's top: the grammar of `csa` (clap's derive API) put together from each
//! subcommand's arguments ([`crate::cmd::args`]), parsing with csa's usage errors and
//! hints, shell completion, and [`dispatch()`] to the command the user asked for.

use clap::{Parser, Subcommand};

use crate::exit::table as codes;

use crate::cmd::args::{
    self, AttachArgs, CompletionsArgs, KillArgs, ListArgs, LogsArgs, ManArgs, NodeArgs,
    QueueCommand, RerunArgs, ResultArgs, RmArgs, RunArgs, SessionCommand, ShowArgs, StatusArgs,
    SuperviseArgs, ToolsArgs, TopArgs, WaitArgs,
};

mod complete;
mod dispatch;
mod hints;
mod usage;

pub use complete::visible_command;
pub use dispatch::dispatch;
pub use usage::parse_or_exit;

/// Run long jobs in the background; wait for, follow and stop them.
#[derive(Debug, Parser)]
#[command(
    name = "csa",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = ROOT_EXAMPLES
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// When to colour: auto (on a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces
    /// it), always, never. Also whether `wait` keeps the job's own escape sequences (else
    /// removed)
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

/// csa's subcommands (the hidden ones are `csa run`'s and Slurm's internal entries).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a job in the background and print its session ID
    #[command(after_help = codes::help(codes::RUN, args::run::RUN_EXAMPLES))]
    Run(RunArgs),
    /// List sessions, newest first (`csa session list`)
    #[command(after_help = shortcut("list", codes::LIST, args::session::LIST_EXAMPLES))]
    Ls(ListArgs),
    /// Everything about one session (`csa session show`)
    #[command(after_help = shortcut("show", codes::SHOW, args::session::SHOW_EXAMPLES))]
    Show(ShowArgs),
    /// Wait for sessions to end and print their output (`csa session wait`)
    #[command(after_help = shortcut("wait", codes::WAIT, args::session::WAIT_EXAMPLES))]
    Wait(WaitArgs),
    /// Follow a session's output live until it ends (`csa session attach`)
    #[command(after_help = shortcut("attach", codes::ATTACH, args::session::ATTACH_EXAMPLES))]
    Attach(AttachArgs),
    /// Print (or with -f follow) what sessions have written (`csa session logs`)
    #[command(after_help = shortcut("logs", codes::LOGS, args::session::LOGS_EXAMPLES))]
    Logs(LogsArgs),
    /// Stop a session or every session with a tag (`csa session kill`)
    #[command(after_help = shortcut("kill", codes::KILL, args::session::KILL_EXAMPLES))]
    Kill(KillArgs),
    /// Print a session's result (`csa session result`)
    #[command(after_help = shortcut("result", codes::RESULT, args::session::RESULT_EXAMPLES))]
    Result(ResultArgs),
    /// Remove finished sessions (`csa session rm`)
    #[command(after_help = shortcut("rm", codes::RM, args::session::RM_EXAMPLES))]
    Rm(RmArgs),
    /// Run a session's command again, as a new session (`csa session rerun`)
    #[command(after_help = shortcut("rerun", codes::RERUN, args::session::RERUN_EXAMPLES))]
    Rerun(RerunArgs),
    /// Wait for, follow, inspect and stop sessions (the stable forms, for scripts)
    #[command(subcommand, after_help = args::session::SESSION_EXAMPLES)]
    Session(SessionCommand),
    /// Queues: how many of their sessions run at once, and who waits
    #[command(subcommand, after_help = codes::help(codes::QUEUE, args::fleet::QUEUE_EXAMPLES))]
    Queue(QueueCommand),
    /// The fleet at a glance: counts, queues and the running sessions (once, or --watch)
    #[command(after_help = codes::help(codes::STATUS, args::view::STATUS_EXAMPLES))]
    Status(StatusArgs),
    /// The fleet live, full screen: follow, filter and stop sessions, set queues' slots
    #[command(after_help = codes::help(codes::TOP, args::view::TOP_EXAMPLES))]
    Top(TopArgs),
    /// List the tools `--tool` accepts, where each is defined and whether it is installed
    #[command(after_help = codes::help(codes::TOOLS, TOOLS_EXAMPLES))]
    Tools(ToolsArgs),
    /// Print a shell completion script
    #[command(after_help = codes::help(codes::COMPLETIONS, COMPLETIONS_EXAMPLES))]
    Completions(CompletionsArgs),
    /// Print csa's manual page (roff), or write one page per command into a directory
    #[command(after_help = codes::help(codes::MAN, MAN_EXAMPLES))]
    Man(ManArgs),
    /// Internal: the supervisor that `csa run` re-executes. Refused when typed by a user.
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
    /// Internal: runs a Slurm session's job on its compute node. Refused outside one.
    #[command(name = "__node", hide = true)]
    Node(NodeArgs),
}

const ROOT_EXAMPLES: &str = "\
`csa ls`, `show`, `wait`, `attach`, `logs`, `kill`, `result`, `rm` and `rerun` are short for
`csa session …`; scripts should use the long forms, which are the stable ones.

Examples:
  SID=$(csa run 'make test') && csa session wait --session \"$SID\"
  csa run --tool claude 'find why tests/list.rs is flaky'
  csa ls
  csa logs -f last";

/// The text under a shortcut's options: the `csa session` command it is short for (`long`,
/// e.g. `list` for `csa ls`), which form scripts should use, then that command's exit codes
/// and examples.
fn shortcut(long: &str, codes: &[codes::Code], examples: &str) -> String {
    codes::help(
        codes,
        &format!(
            "A shortcut for `csa session {long}`: the same options and output. Scripts should use \
             the long form, which is the stable one.\n\n{examples}"
        ),
    )
}

const TOOLS_EXAMPLES: &str = "\
Tools come from csa itself, $XDG_CONFIG_HOME/csa/config.toml (else ~/.config/csa/config.toml)
and the nearest .csa/config.toml upwards from the current directory, later ones overriding:
  [tools.review]
  argv = [\"claude\", \"-p\", \"--model\", \"opus\", \"--\", \"{prompt}\"]
  timeout = \"30m\"    # default --timeout (false: none)
  idle_timeout = \"10m\"  # default --idle-timeout: stop after 10m without output
  queue = \"agents\"   # wait for a slot in this queue (false: none)
  [queues.agents]
  slots = 2

Examples:
  csa tools
  csa run --tool codex 'add a --verbose flag to the CLI'";
const COMPLETIONS_EXAMPLES: &str = "\
The script asks csa itself at each Tab (CSA_COMPLETE=<shell> csa -- <words>), so session
arguments complete to the sessions in the store: IDs, `last` and names.

Examples:
  mkdir -p ~/.local/share/bash-completion/completions && csa completions bash > ~/.local/share/bash-completion/completions/csa
  mkdir -p ~/.zfunc && csa completions zsh > ~/.zfunc/_csa   # and fpath=(~/.zfunc $fpath) before compinit
  mkdir -p ~/.config/fish/completions && csa completions fish > ~/.config/fish/completions/csa.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  csa man | man -l -                              # read it now
  csa man --dir ~/.local/share/man/man1           # install: then `man csa`, `man csa-session-wait`";

/// The supervisor's command line alone (`csa __supervise …`), parsed without building the
/// whole CLI: the supervisor lives as long as its job, and the memory it dirties while
/// parsing stays counted against every running session (BENCHMARKS.md, "Memory").
#[derive(Debug, Parser)]
#[command(name = "__supervise")]
struct SuperviseCli {
    #[command(flatten)]
    args: SuperviseArgs,
}

/// Parses csa's command line; on a usage error prints one line and exits with code 2
/// ([`parse_or_exit`]). When the first argument is `__supervise`, only the supervisor's
/// arguments are parsed.
pub fn parse() -> Command {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "__supervise")
    {
        return Command::Supervise(SuperviseCli::parse_from(std::env::args_os().skip(1)).args);
    }
    complete::answer_from_env();
    if cannot_show_help(std::env::args_os().skip(1)) {
        codes::skip_tables();
    }
    let cli = parse_or_exit();
    crate::term::set_colour_choice(match cli.color.as_str() {
        "always" => crate::term::ColourChoice::Always,
        "never" => crate::term::ColourChoice::Never,
        _ => crate::term::ColourChoice::Auto,
    });
    cli.command
}

/// True for a command line of `run`, `session …`, `queue …` or a shortcut with arguments and without
/// `-h`, `--help` or `help` anywhere: clap will not show a help text, so the exit-code
/// tables need not be built ([`codes::skip_tables`]). Anything else — help asked for, a
/// bare command group, `man`, `completions` — builds them.
fn cannot_show_help(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.collect();
    let hot = matches!(
        args.first().and_then(|a| a.to_str()),
        Some(
            "run"
                | "session"
                | "queue"
                | "ls"
                | "show"
                | "wait"
                | "attach"
                | "logs"
                | "kill"
                | "result"
                | "rm"
                | "rerun"
        )
    );
    hot && args.len() >= 2
        && !args
            .iter()
            .any(|a| a == "-h" || a == "--help" || a == "help")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// `list --status` takes every status a session can show, observed or recorded.
    #[test]
    fn list_status_takes_every_state() {
        use crate::store::record::{State, Status};
        let all = "running,queued,success,failure,signal,timeout,lost,skipped";
        let cli = Cli::try_parse_from(["csa", "session", "list", "--status", all]).unwrap();
        let Command::Session(SessionCommand::List(args)) = cli.command else {
            panic!("not list: {cli:?}");
        };
        let names: Vec<&str> = args.status.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.join(","), all);
        assert!(args.status.contains(&State::Ended(Status::Skipped)));
        assert!(Cli::try_parse_from(["csa", "session", "list", "--status", "weird"]).is_err());
    }

    /// Another selector can join the `target` group of [`SessionArg`] (as `kill --tag`).
    #[test]
    fn another_selector_can_join_the_session_target() {
        #[derive(Debug, Parser)]
        struct Probe {
            #[command(flatten)]
            target: args::session::SessionArg,
            #[arg(long, group = "target")]
            tag: Option<String>,
        }
        Probe::command().debug_assert();
        let probe = Probe::try_parse_from(["p", "--tag", "x"]).unwrap();
        assert_eq!(
            (probe.target.given(), probe.tag.as_deref()),
            (None, Some("x"))
        );
        let probe = Probe::try_parse_from(["p", "01JD"]).unwrap();
        assert_eq!(probe.target.handle(), "01JD");
        assert!(Probe::try_parse_from(["p", "01JD", "--tag", "x"]).is_err());
        assert!(Probe::try_parse_from(["p"]).is_err());
    }
}
