//! The command line, declared with clap's derive API.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Run long jobs in the background; wait for, follow and stop them.
#[derive(Debug, Parser)]
#[command(name = "csa", version, propagate_version = true, max_term_width = 100)]
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
    #[command(subcommand)]
    Session(SessionCommand),
    /// Internal: the supervisor that `csa run` re-executes. Refused when typed by a user.
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),
}

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
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Stop the job after this long (`30s`, `10m`, `2h`): SIGTERM, 5 s grace, SIGKILL
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// A label for the session
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
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
}

const WAIT_EXAMPLES: &str = "\
Exit codes: the job's exit code; 0 if still running after 250 s (re-run the same command);
1 for a lost session; 124 dead without a result; 125 csa error.

Examples:
  csa session wait --session 01JD4K
  csa session wait --session \"$SID\" --until-done   # CI: no 250 s cap";

/// Arguments of `csa session wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The session ID, or a unique prefix of at least 4 characters (any case)
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Wait without the 250 s cap
    #[arg(long)]
    pub until_done: bool,
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

/// Parses `KEY=VALUE` for `--env`; the key must be non-empty and free of `=` and NUL.
fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains('\0') && !value.contains('\0') => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

/// Parses a positive duration such as `30s`, `10m`, `2h` or `1h30m` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| format!("invalid duration `{text}`: {err} (examples: 30s, 10m, 2h)"))?;
    if duration.is_zero() {
        return Err(format!("duration `{text}` must be greater than zero"));
    }
    // Durations travel as whole milliseconds in a u64 (`timeout_ms`, `--timeout-ms`).
    if u64::try_from(duration.as_millis()).is_err() {
        return Err(format!("duration `{text}` is too long"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn env_pairs() {
        assert_eq!(
            parse_env_pair("A=b=c"),
            Ok(("A".to_owned(), "b=c".to_owned()))
        );
        assert!(parse_env_pair("A").is_err());
        assert!(parse_env_pair("=x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("500000000000y").is_err());
    }
}
