//! The arguments of `csa run`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use crate::values;

/// The examples under `csa run --help`.
pub const RUN_EXAMPLES: &str = "\
On stdout, the session ID alone. On stderr, for programs and agents, the line
CSA:SESSION_STARTED (docs/agents.md); when stderr is a terminal, a short line for people
instead, with the commands to follow, wait for and stop the session; nothing with --quiet.

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
    /// The tool that receives PROMPT (default: `sh`, which runs it as a shell script;
    /// `csa tools` lists the others). Not with `-- PROGRAM`, which runs without a tool
    #[arg(long, value_name = "NAME", conflicts_with = "program", add = super::session::tool_completer())]
    pub tool: Option<String>,
    /// The job's working directory (default: the current one)
    #[arg(long, value_name = "DIR")]
    pub cd: Option<PathBuf>,
    /// Set an environment variable for the job (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = values::parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Stop the job after this long (`30s`, `10m`, `2h`): SIGTERM, 5 s grace, SIGKILL;
    /// status `timeout`, exit code 124. `none`: no limit, not even the tool's
    #[arg(long, value_name = "DURATION", value_parser = values::parse_limit)]
    pub timeout: Option<values::Limit>,
    /// Stop the job, as --timeout does, once it has written nothing to stdout or stderr for
    /// this long. `none`: no limit, not even the tool's (`csa tools` shows each
    /// tool's default)
    #[arg(long, value_name = "DURATION", value_parser = values::parse_limit)]
    pub idle_timeout: Option<values::Limit>,
    /// A name for the session, shown by `session list` and usable as its handle
    /// (`csa session attach NAME` picks the newest session with that name)
    #[arg(long, value_name = "TEXT", value_parser = values::parse_name)]
    pub name: Option<String>,
    /// Tag the session (repeatable; `A-Z a-z 0-9 _ . -`, at most 64): `session list`,
    /// `wait`, `kill` and `clean` take `--tag` to act on the sessions that carry it
    #[arg(long, value_name = "TAG", value_parser = values::parse_label, add = super::session::tag_completer())]
    pub tag: Vec<String>,
    /// Run in the foreground: output to the terminal and the spool files, exit with the
    /// job's exit code
    #[arg(long)]
    pub no_daemon: bool,
    /// Run detached (the default; accepted for compatibility)
    #[arg(long, hide = true)]
    pub daemon: bool,
    /// Queues, dependencies and the parent session
    #[command(flatten)]
    pub fleet: super::FleetArgs,
    /// What runs the job: `local` (default) or `slurm` (a Slurm batch job; docs/slurm.md)
    #[arg(long, value_parser = super::choices::executors(), value_name = "NAME")]
    pub executor: Option<crate::store::record::ExecutorName>,
    /// An `sbatch` option for this job, e.g. `--slurm-arg=--partition=gpu` (repeatable)
    #[arg(long = "slurm-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub slurm_args: Vec<String>,
    /// Print `{"id":…,"pid":…,"dir":…}` instead of the bare session ID (not with
    /// --no-daemon, whose stdout is the job's output)
    #[arg(long, conflicts_with = "no_daemon")]
    pub json: bool,
    /// Print only the session ID (or --json's object): nothing on stderr — neither the
    /// `CSA:SESSION_STARTED` line nor, on a terminal, the line for people
    #[arg(short, long)]
    pub quiet: bool,
    /// The prompt for the tool; with the default tool `sh`, a shell script. Read from
    /// standard input when neither PROMPT nor `-- PROGRAM` is given
    #[arg(
        value_name = "PROMPT",
        conflicts_with = "program",
        value_parser = clap::builder::TypedValueParser::try_map(
            clap::builder::OsStringValueParser::new(),
            values::non_empty_prompt
        )
    )]
    pub prompt: Option<OsString>,
    /// Run PROGRAM with ARGS directly, without a shell
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub program: Vec<OsString>,
}
