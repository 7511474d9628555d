//! The command line, declared with clap's derive API.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod usage;
pub mod values;
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a job in the background and print its session ID
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Wait for, follow, inspect and stop sessions
    #[command(subcommand, after_help = SESSION_EXAMPLES)]
    Session(SessionCommand),
    /// List the tools `--tool` accepts, where each is defined and whether it is installed
    #[command(after_help = TOOLS_EXAMPLES)]
    Tools(ToolsArgs),
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Internal: the supervisor that `csa run` re-executes. Refused when typed by a user.
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

const ROOT_EXAMPLES: &str = "\
Examples:
  SID=$(csa run 'make test') && csa session wait --session \"$SID\"
  csa run --tool claude 'find why tests/list.rs is flaky'
  csa session list";

const RUN_EXAMPLES: &str = "\
Examples:
  SID=$(csa run 'make test') && csa session wait --session \"$SID\"
  csa run --name build --timeout 30m -- cargo build --release
  echo 'pytest -x' | csa run";

/// Arguments of `csa run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pass csa's standard input through to the job (default: /dev/null)
    #[arg(long)]
    pub stdin: bool,
    /// The tool that receives PROMPT (`sh` runs it as a shell script)
    #[arg(long, value_name = "NAME", default_value = "sh")]
    pub tool: String,
    /// The job's working directory (default: the current one)
    #[arg(long, value_name = "DIR")]
    pub cd: Option<PathBuf>,
    /// Set an environment variable for the job (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = values::parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Stop the job after this long (`30s`, `10m`, `2h`): SIGTERM, 5 s grace, SIGKILL
    #[arg(long, value_name = "DURATION", value_parser = values::parse_duration)]
    pub timeout: Option<Duration>,
    /// A label for the session
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Tag the session (repeatable; `A-Z a-z 0-9 _ . -`, at most 64): `session list`,
    /// `wait`, `kill` and `clean` take `--tag` to act on the sessions that carry it
    #[arg(long, value_name = "TAG", value_parser = values::parse_label)]
    pub tag: Vec<String>,
    /// Run in the foreground: output to the terminal and the spool files, exit with the
    /// job's exit code
    #[arg(long)]
    pub no_daemon: bool,
    /// Run detached (the default; accepted for compatibility)
    #[arg(long, hide = true)]
    pub daemon: bool,
    /// Print `{"id":…,"pid":…,"dir":…}` instead of the bare session ID
    #[arg(long)]
    pub json: bool,
    /// The prompt for the tool; with the default tool `sh`, a shell script. Read from
    /// standard input when neither PROMPT nor `-- PROGRAM` is given
    #[arg(value_name = "PROMPT", conflicts_with = "program")]
    pub prompt: Option<OsString>,
    /// Run PROGRAM with ARGS directly, without a shell
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub program: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Wait for a session to end (at most 250 s), print its stdout and exit with its code
    #[command(after_help = WAIT_EXAMPLES)]
    Wait(WaitArgs),
    /// Follow a session's output live until it ends; Ctrl-C detaches
    #[command(after_help = ATTACH_EXAMPLES)]
    Attach(AttachArgs),
    /// Stop a session: SIGTERM to its process group, then SIGKILL after a grace period
    #[command(after_help = KILL_EXAMPLES)]
    Kill(KillArgs),
    /// List sessions, newest first
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Print a session's result (TOML, or JSON with --json); `running` while it runs
    #[command(after_help = RESULT_EXAMPLES)]
    Result(ResultArgs),
    /// Print what a session's job has written so far, without waiting
    #[command(after_help = LOGS_EXAMPLES)]
    Logs(LogsArgs),
    /// Remove finished sessions older than an age (default 7d); never a running one
    #[command(after_help = CLEAN_EXAMPLES)]
    Clean(CleanArgs),
}

const SESSION_EXAMPLES: &str = "\
Examples:
  csa session list --status running
  csa session wait --session 01JD4K
  csa session logs --session 01JD4K --tail 20 --stderr";
const TOOLS_EXAMPLES: &str = "\
Tools come from csa itself, $XDG_CONFIG_HOME/csa/config.toml (else ~/.config/csa/config.toml)
and the nearest .csa/config.toml upwards from the current directory, later ones overriding:
  [tools.review]
  argv = [\"claude\", \"-p\", \"--model\", \"opus\", \"{prompt}\"]

Examples:
  csa tools
  csa run --tool codex 'add a --verbose flag to the CLI'";
const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  csa completions bash > ~/.local/share/bash-completion/completions/csa
  csa completions zsh > \"${fpath[1]}/_csa\"
  csa completions fish > ~/.config/fish/completions/csa.fish";
const LIST_EXAMPLES: &str = "\
Examples:
  csa session list --limit 10
  csa session list --status failure,lost,timeout
  csa session list --json | jq -r '.[] | select(.status == \"running\") | .id'";
const RESULT_EXAMPLES: &str = "\
Fields as in result.toml: id, status (running | success | failure | signal | timeout | lost),
exit_code, signal, started_at, finished_at, duration_ms, synthetic, reason.

Examples:
  csa session result --session 01JD4K
  csa session result --session \"$SID\" --json | jq .exit_code";
const LOGS_EXAMPLES: &str = "\
Examples:
  csa session logs --session 01JD4K
  csa session logs --session 01JD4K --stderr --tail 50";
const CLEAN_EXAMPLES: &str = "\
Examples:
  csa session clean --dry-run
  csa session clean --older-than 1d";

/// The statuses `list --status` accepts.
const STATUSES: [&str; 6] = ["running", "success", "failure", "signal", "timeout", "lost"];

/// Arguments of `csa session list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array: the fields of result.toml plus those of session.toml
    #[arg(long)]
    pub json: bool,
    /// Only sessions with this status (repeatable, or comma-separated)
    #[arg(long, value_name = "STATUS", value_delimiter = ',', value_parser = STATUSES)]
    pub status: Vec<String>,
    /// At most N sessions (the newest)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only sessions with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label)]
    pub tag: Vec<String>,
}

/// Arguments of `csa session result`.
#[derive(Debug, Args)]
pub struct ResultArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Print JSON instead of TOML
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `csa session logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Also print stderr.log, to stderr
    #[arg(long)]
    pub stderr: bool,
    /// Only the last N lines (of each log)
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

/// Arguments of `csa session clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Remove sessions that ended longer ago than this (`12h`, `7d`, `0s` for all; default
    /// 7d, or 0s with --tag)
    #[arg(long, value_name = "DURATION", value_parser = values::parse_period)]
    pub older_than: Option<Duration>,
    /// Only sessions with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label)]
    pub tag: Vec<String>,
    /// Print what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `csa tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Print a JSON array of {name, argv, stdin, source, path}
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `csa completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const WAIT_EXAMPLES: &str = "\
Several sessions (IDs, --session, --tag): each one's stdout is printed whole when it ends,
then its CSA:SESSION_WAIT_COMPLETED line; CSA:SESSION_WAIT_SUMMARY comes last. A session
that did not succeed also gets the last 20 lines of its stderr.log on stderr.

Exit codes: the job's exit code; with several sessions, 0 when all succeeded, else the code
of the first to end without success (--any: the code of the one that ended); 0 if still
running after 250 s (run the `cmd` of CSA:SESSION_WAIT_KV_WARM); 1 for a lost session;
124 dead without a result; 125 csa error.

Examples:
  csa session wait 01JD4K
  csa session wait --session \"$SID\" --until-done   # CI: no 250 s cap
  csa session wait --tag build-42 --until-done       # every session tagged build-42
  csa session wait --any \"$A\" \"$B\" --tail 50";

/// Arguments of `csa session wait`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("sessions")
        .args(["ids", "session", "tag"])
        .required(true)
        .multiple(true)
))]
pub struct WaitArgs {
    /// The sessions to wait for: IDs, or unique prefixes of at least 4 characters (any case)
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// A session to wait for (repeatable), as an ID argument
    #[arg(long, value_name = "ID")]
    pub session: Vec<String>,
    /// Also wait for every session with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label)]
    pub tag: Vec<String>,
    /// Return as soon as one of the sessions ends, with its exit code
    #[arg(long)]
    pub any: bool,
    /// Wait without the 250 s cap
    #[arg(long)]
    pub until_done: bool,
    /// Print all of stderr.log on stderr (default: its last 20 lines, when the job did not
    /// succeed)
    #[arg(long)]
    pub stderr: bool,
    /// Print only the last N lines of stdout.log (and of stderr.log with --stderr)
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

const ATTACH_EXAMPLES: &str = "\
Exit codes: the job's exit code; 130 when detached with Ctrl-C (the job keeps running);
1 for a lost session; 125 csa error.

Examples:
  csa session attach --session 01JD4K
  csa session attach --session \"$SID\" --stderr 2>job-errors.log";

/// Arguments of `csa session attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Also follow the job's stderr.log, on stderr
    #[arg(long)]
    pub stderr: bool,
}

const KILL_EXAMPLES: &str = "\
Reaches every process of the job's process group, including background children; processes
that moved to another session or process group on purpose are out of reach.
Exit codes: 0 killed or already finished; 125 refused (identity not verified) or failed.

Examples:
  csa session kill --session 01JD4K
  csa session kill --session \"$SID\" --signal INT --grace 30s
  csa session kill --session \"$SID\" --grace 0      # SIGKILL at once";

/// Arguments of `csa session kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// The first signal sent to the process group: a name (`TERM`, `SIGINT`) or a number
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = values::parse_signal)]
    pub signal: rustix::process::Signal,
    /// How long the group has to exit before SIGKILL (`5s`, `1m`; `0` = SIGKILL at once)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = values::parse_period)]
    pub grace: Duration,
}

/// Arguments of the hidden supervisor entry point (`csa __supervise`).
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The session ID
    #[arg(long)]
    pub session_id: String,
    /// The absolute path of the session directory
    #[arg(long)]
    pub session_dir: PathBuf,
    /// The inherited descriptor that holds the exclusive lock on `lock`
    #[arg(long)]
    pub lock_fd: i32,
    /// The job's time limit in milliseconds
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Where the job's standard input comes from
    #[arg(long, value_enum, default_value = "null")]
    pub stdin_from: crate::record::StdinSource,
    /// The job's argv
    #[arg(last = true, required = true)]
    pub argv: Vec<OsString>,
}

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
    parse_or_exit().command
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
