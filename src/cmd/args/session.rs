//! The arguments of `csa session …`.

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::exit::table as codes;
use crate::values;

/// The session a single-session command acts on (`attach`, `kill`, `result`, `logs`): a
/// handle given as the positional argument or with `--session`, exactly one of the two.
/// The forms and their precedence are [`crate::store::session::StateRoot::resolve`]'s.
///
/// The two arguments form the group `target` (required, one at most). A command that can
/// select sessions another way adds that argument to the group (`#[arg(long, group =
/// "target")]`): then any one of them satisfies it, and [`SessionArg::given`] is `None`
/// when the other was used.
#[derive(Debug, Args)]
#[group(id = "target", required = true, multiple = false)]
pub struct SessionArg {
    #[arg(
        value_name = "SESSION",
        help = SESSION_HELP,
        long_help = SESSION_LONG_HELP,
        add = session_completer()
    )]
    handle: Option<String>,
    /// The same as SESSION, as an option
    #[arg(long = "session", value_name = "SESSION", add = session_completer())]
    session: Option<String>,
}

const SESSION_HELP: &str =
    "The session: its ID, a unique prefix or suffix of it (4+ characters), `last`, or its name";
const SESSION_LONG_HELP: &str = "\
The session: its ID, a unique prefix or suffix of it (at least 4 characters, any case), `last`
(the newest session), or its name (the newest session started with that --name). A handle that
matches several sessions (say, a name that is also the start of another session's ID) is an
error naming each of them; `last` and a full ID always win.";

/// Completes a session argument with the sessions in the store (for `--session` and the
/// positional handle of every command that takes one).
pub fn session_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::cmd::completions::session_candidates)
}

/// Completes a queue name with the queues that exist and those configured.
pub fn queue_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::cmd::completions::queue_candidates)
}

/// Completes a tag with the tags of the newest sessions.
pub fn tag_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::cmd::completions::tag_candidates)
}

/// Completes a tool name with the tools `--tool` accepts.
pub fn tool_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(crate::cmd::completions::tool_candidates)
}

impl SessionArg {
    /// The handle the user gave (positional or `--session`), if any.
    pub fn given(&self) -> Option<&str> {
        self.handle.as_deref().or(self.session.as_deref())
    }

    /// The handle the user gave; empty (which resolves to an error) when neither was given,
    /// which clap prevents unless another argument joined the `target` group.
    pub fn handle(&self) -> &str {
        self.given().unwrap_or_default()
    }
}

/// `csa session …`: the commands that act on sessions.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Wait for a session to end (at most 250 s), print its stdout and exit with its code
    #[command(after_help = codes::help(codes::WAIT, WAIT_EXAMPLES))]
    Wait(WaitArgs),
    /// Follow a session's output live until it ends; Ctrl-C detaches
    #[command(after_help = codes::help(codes::ATTACH, ATTACH_EXAMPLES))]
    Attach(AttachArgs),
    /// Stop a session: SIGTERM to its process group, then SIGKILL after a grace period
    #[command(after_help = codes::help(codes::KILL, KILL_EXAMPLES))]
    Kill(KillArgs),
    /// List sessions, newest first
    #[command(after_help = codes::help(codes::LIST, LIST_EXAMPLES))]
    List(ListArgs),
    /// Print a session's result (TOML, or JSON with --json); `running` while it runs
    #[command(after_help = codes::help(codes::RESULT, RESULT_EXAMPLES))]
    Result(ResultArgs),
    /// Print what a session's job has written so far, without waiting
    #[command(after_help = codes::help(codes::LOGS, LOGS_EXAMPLES))]
    Logs(LogsArgs),
    /// Remove finished sessions older than an age (default 7d); never a running one
    #[command(after_help = codes::help(codes::CLEAN, CLEAN_EXAMPLES))]
    Clean(CleanArgs),
    /// Everything about one session: command, place in its fleet, times, status, files
    #[command(after_help = codes::help(codes::SHOW, SHOW_EXAMPLES))]
    Show(ShowArgs),
    /// Remove finished sessions (with their descendants); refuses running ones
    #[command(after_help = codes::help(codes::RM, RM_EXAMPLES))]
    Rm(RmArgs),
    /// Start a new session with the same command, cwd, environment, tool, queue and tags
    #[command(after_help = codes::help(codes::RERUN, RERUN_EXAMPLES))]
    Rerun(RerunArgs),
}

/// The examples under `csa session --help`.
pub const SESSION_EXAMPLES: &str = "\
Examples:
  csa session list --status running
  csa session wait --session 01JD4K
  csa session logs last --tail 20 --stderr
  csa session attach build          # the newest session started with --name build";
/// The examples under `csa session list --help`.
pub const LIST_EXAMPLES: &str = "\
Examples:
  csa session list --limit 10
  csa session list --status failure,lost,timeout
  csa session list --json | jq -r '.[] | select(.status == \"running\") | .id'";
/// The examples under `csa session result --help`.
pub const RESULT_EXAMPLES: &str = "\
Fields as in result.toml: id, status (running | queued | success | failure | signal | timeout |
lost | skipped), exit_code, signal, started_at, finished_at, duration_ms, synthetic, reason,
leftover_processes.

Examples:
  csa session result 01JD4K
  csa session result \"$SID\" --json | jq .exit_code";
/// The examples under `csa session logs --help`.
pub const LOGS_EXAMPLES: &str = "\
With --follow, the output is printed as it is written until the session ends (exit 0, whatever
the job's status; `attach` exits with the job's code). With --tag, every session with the tags
is printed, each line after the session's name or short handle (`build | …`), and --follow
goes on until every one of them has ended.

Examples:
  csa session logs 01JD4K
  csa session logs last --stderr --tail 50
  csa logs -f build                   # follow it until it ends
  csa logs --tag ci-812 -f            # every session tagged ci-812, one prefix per line";
/// The examples under `csa session show --help`.
pub const SHOW_EXAMPLES: &str = "\
Examples:
  csa session show 01JD4K
  csa show last --json | jq .started_at";
/// The examples under `csa session rm --help`.
pub const RM_EXAMPLES: &str = "\
A session is removed with its descendants (the sessions its job started), so that no session
is left naming a parent that is gone; if any of them still runs or waits, none of that tree
is removed.

Examples:
  csa session rm 01JD4K 4R6Y
  csa rm last";
/// The examples under `csa session rerun --help`.
pub const RERUN_EXAMPLES: &str = "\
The new session gets the same argv, working directory, --env additions, tool, queue, tags,
name, timeout and executor, and the same prompt (prompt.txt) when it went on standard input;
not the --after dependencies (they have ended) nor the parent (that is whoever runs rerun).

Examples:
  csa session rerun 01JD4K
  csa rerun last && csa wait last";
const CLEAN_EXAMPLES: &str = "\
Examples:
  csa session clean --dry-run
  csa session clean --older-than 1d";

/// Arguments of `csa session list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array: the fields of result.toml plus those of session.toml
    #[arg(long)]
    pub json: bool,
    /// Only sessions with this status (repeatable, or comma-separated)
    #[arg(
        long,
        value_name = "STATUS",
        value_delimiter = ',',
        value_parser = super::choices::parser(super::choices::STATES)
    )]
    pub status: Vec<crate::store::record::State>,
    /// At most N sessions (the newest)
    #[arg(long, value_name = "N", value_parser = values::parse_count)]
    pub limit: Option<usize>,
    /// Only sessions with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label, add = tag_completer())]
    pub tag: Vec<String>,
    /// Show each session under the session whose job started it (its parent)
    #[arg(long)]
    pub tree: bool,
    /// Full session IDs in the ID column (default: the short handle, the shortest end of
    /// the ID that names the session alone)
    #[arg(long)]
    pub long: bool,
}

/// Arguments of `csa session result`.
#[derive(Debug, Args)]
pub struct ResultArgs {
    /// The session (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Print JSON instead of TOML
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `csa session logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The session (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Instead of one session, every session that has this tag (repeat for sessions that
    /// have all of them), each line after the session's name or handle
    #[arg(long, value_name = "TAG", group = "target", value_parser = values::parse_label, add = tag_completer())]
    pub tag: Vec<String>,
    /// Also print stderr.log, to stderr
    #[arg(long)]
    pub stderr: bool,
    /// Only the last N lines (of each log)
    #[arg(long, value_name = "N", value_parser = values::parse_count)]
    pub tail: Option<usize>,
    /// Keep printing what is written until the session (with --tag: every session) ends
    #[arg(short = 'f', long)]
    pub follow: bool,
}

/// Arguments of `csa session show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The session (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `csa session rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The sessions: IDs, unique prefixes or suffixes (4+ characters), `last`, or names
    #[arg(value_name = "SESSION", required = true, add = session_completer())]
    pub handles: Vec<String>,
}

/// Arguments of `csa session rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The session to run again (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Print `{"id":…,"pid":…,"dir":…}` instead of the bare ID
    #[arg(long)]
    pub json: bool,
    /// Print only the ID: no line on stderr
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arguments of `csa session clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Remove sessions that ended longer ago than this (`12h`, `7d`, `0s` for all; default
    /// 7d, or 0s with --tag)
    #[arg(long, value_name = "DURATION", value_parser = values::parse_period)]
    pub older_than: Option<Duration>,
    /// Only sessions with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label, add = tag_completer())]
    pub tag: Vec<String>,
    /// Print what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// The examples under `csa session wait --help`.
pub const WAIT_EXAMPLES: &str = "\
Several sessions (IDs, --session repeated, --tag): each one's stdout is printed whole when it
ends, then its CSA:SESSION_WAIT_COMPLETED line; CSA:SESSION_WAIT_SUMMARY comes last. A
session that did not succeed also gets the last 20 lines of its stderr.log on stderr. On a
terminal a progress line (sessions ended, failed) is drawn on stderr meanwhile; never through
a pipe. Off a terminal the job's escape sequences (colours, titles) are removed; --color=always
keeps them, and stdout.log and `csa session logs` have the exact bytes.

Examples:
  csa session wait 01JD4K
  csa session wait --session \"$SID\" --until-done   # CI: no 250 s cap
  csa session wait --tag build-42 --until-done       # every session tagged build-42
  csa session wait --any \"$A\" \"$B\" --tail 50";

/// Arguments of `csa session wait`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("sessions")
        .args(["handles", "session", "tag"])
        .required(true)
        .multiple(true)
))]
pub struct WaitArgs {
    /// The sessions: IDs, unique prefixes or suffixes (4+ characters), `last`, or names
    #[arg(value_name = "SESSION", add = session_completer())]
    pub handles: Vec<String>,
    /// A session to wait for (repeatable), the same as SESSION
    #[arg(long, value_name = "SESSION", add = session_completer())]
    pub session: Vec<String>,
    /// Also wait for every session with this tag (repeatable: sessions with every tag given)
    #[arg(long, value_name = "TAG", value_parser = values::parse_label, add = tag_completer())]
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
    #[arg(long, value_name = "N", value_parser = values::parse_count)]
    pub tail: Option<usize>,
}

/// The examples under `csa session attach --help`.
pub const ATTACH_EXAMPLES: &str = "\
Examples:
  csa session attach 01JD4K
  csa session attach \"$SID\" --stderr 2>job-errors.log";

/// Arguments of `csa session attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Also follow the job's stderr.log, on stderr
    #[arg(long)]
    pub stderr: bool,
}

/// The examples under `csa session kill --help`.
pub const KILL_EXAMPLES: &str = "\
Reaches every process of the job's process group, including background children; processes
that moved to another session or process group on purpose are out of reach.

Examples:
  csa session kill 01JD4K
  csa session kill last --signal INT --grace 30s
  csa session kill \"$SID\" --grace 0      # SIGKILL at once";

/// Arguments of `csa session kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The session (a handle: ID, prefix, suffix, `last` or name).
    #[command(flatten)]
    pub target: SessionArg,
    /// Instead of one session, every running or queued session that has this tag (repeat
    /// for sessions that have all of them)
    #[arg(long, value_name = "TAG", group = "target", value_parser = values::parse_label, add = tag_completer())]
    pub tag: Vec<String>,
    /// The first signal sent to the process group: a name (`TERM`, `SIGINT`) or a number
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = values::parse_signal)]
    pub signal: rustix::process::Signal,
    /// How long the group has to exit before SIGKILL (`5s`, `1m`; `0` = SIGKILL at once)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = values::parse_period)]
    pub grace: Duration,
}
