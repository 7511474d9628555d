//! Slurm's own commands, run as child processes — the only way csa talks to Slurm:
//! `sbatch` submits, `scontrol show job` and `squeue` ask about a job, `sacct` asks the
//! accounting database (only when `scontrol` no longer knows the job, and only where
//! accounting is enabled), `scancel` signals and cancels.
//!
//! Each command runs with the `SLURM_CONF` the session was submitted with, so that a later
//! look from another shell talks to the same cluster.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

mod parse;
mod query;

pub use parse::{field, parse_exit, parse_show_job};
pub use query::{JobInfo, Query};

/// Where Slurm's commands find their cluster: the `SLURM_CONF` the job was submitted with
/// (none: the commands' default) and the cluster `sbatch` named (federations, `-M`).
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    conf: Option<OsString>,
    cluster: Option<String>,
}

/// An `sbatch` under way.
#[derive(Debug)]
pub struct Submission {
    child: Child,
}

/// Why `sbatch` gave no job ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Slurm's own message (`sbatch: error: …`), one line.
    pub message: String,
    /// The connection to the controller broke (killed by a signal such as SIGPIPE, a socket
    /// error): the job may or may not have been taken, and trying again may work.
    pub transient: bool,
}

/// Messages of `sbatch` that say the connection broke, not that the job was refused.
const TRANSIENT: [&str; 6] = [
    "Socket timed out",
    "Unexpected missing socket",
    "Zero Bytes were transmitted",
    "Connection reset",
    "Resource temporarily unavailable",
    "Transport endpoint",
];

impl Submission {
    /// Waits for `sbatch`'s answer: the job ID and, for a federation, the cluster it went
    /// to. Errors: why it gave none ([`Refusal`]).
    pub fn answer(self) -> Result<(String, Option<String>), Refusal> {
        let refused = |message: String, transient: bool| Refusal { message, transient };
        let output = self
            .child
            .wait_with_output()
            .map_err(|err| refused(format!("cannot run sbatch: {err}"), false))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(refusal(&output));
        }
        // `--parsable`: "ID" or "ID;CLUSTER".
        let line = stdout.lines().next().unwrap_or("").trim();
        let (id, cluster) = match line.split_once(';') {
            Some((id, cluster)) => (id, Some(cluster.to_owned())),
            None => (line, None),
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refused(
                format!("sbatch printed no job ID (stdout: {line:?})"),
                false,
            ));
        }
        Ok((id.to_owned(), cluster))
    }
}

/// Slurm could not be asked: the command is missing, or the controller did not answer.
/// Never a reason to declare a job gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub String);

/// How [`Slurm::cancel`] stops a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// `scancel --state=PENDING`: removes the job only while it still waits.
    Pending,
    /// `scancel --signal=N --full`: signal N to every process of the running job, batch
    /// script included.
    Signal(i32),
    /// Plain `scancel`: Slurm's own escalation (SIGTERM, `KillWait`, SIGKILL).
    Plain,
}

impl Slurm {
    /// The cluster of the current environment (for a new submission).
    pub fn from_env() -> Self {
        Self {
            conf: std::env::var_os("SLURM_CONF").filter(|v| !v.is_empty()),
            cluster: None,
        }
    }

    /// The cluster a job was submitted to.
    pub fn recorded(conf: Option<&str>, cluster: Option<&str>) -> Self {
        Self {
            conf: conf.map(OsString::from),
            cluster: cluster.map(str::to_owned),
        }
    }

    /// The `SLURM_CONF` in use, if any, for the record.
    pub fn conf(&self) -> Option<String> {
        self.conf
            .as_ref()
            .map(|conf| conf.to_string_lossy().into_owned())
    }

    pub(super) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        if let Some(conf) = &self.conf {
            command.env("SLURM_CONF", conf);
        }
        command.stdin(Stdio::null());
        crate::sys::default_signals_on_exec(&mut command);
        command
    }

    pub(super) fn run(mut command: Command, program: &str) -> Result<Output, Unreachable> {
        command
            .output()
            .map_err(|err| Unreachable(format!("cannot run {program}: {err}")))
    }

    /// Starts `sbatch` with `args` and `script` (the batch script) on its standard input,
    /// `env` added to its environment and in `cwd` (else the current directory), without
    /// waiting for its answer ([`Submission::answer`]). Errors: `sbatch` cannot be run.
    pub fn start_submission(
        &self,
        args: &[OsString],
        script: &str,
        env: &[(String, String)],
        cwd: Option<&Path>,
    ) -> anyhow::Result<Submission> {
        let mut command = self.command("sbatch");
        // `sbatch` hands its environment and working directory to the job (`--export=ALL`
        // and `--chdir` by default).
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|err| {
            anyhow::anyhow!("cannot run sbatch: {err} (is Slurm installed and on PATH?)")
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            // The script is far below a pipe's capacity; a failed write shows in sbatch's
            // own error.
            let _ = stdin.write_all(script.as_bytes());
        }
        Ok(Submission { child })
    }
    /// Cancels or signals job `id` (see [`Cancel`]). Errors: `scancel`'s message.
    /// A connection to the controller that broke is tried again (at most [`CANCEL_ATTEMPTS`]
    /// times; cancelling is idempotent).
    pub fn cancel(&self, id: &str, how: Cancel) -> anyhow::Result<()> {
        let mut attempt = 1;
        loop {
            match self.cancel_once(id, how) {
                Err(refusal) if refusal.transient && attempt < CANCEL_ATTEMPTS => {
                    std::thread::sleep(std::time::Duration::from_millis(250) * attempt);
                    attempt += 1;
                }
                other => return other.map_err(|refusal| anyhow::anyhow!(refusal.message)),
            }
        }
    }

    fn cancel_once(&self, id: &str, how: Cancel) -> Result<(), Refusal> {
        let mut command = self.command("scancel");
        if let Some(cluster) = &self.cluster {
            command.args(["-M", cluster]);
        }
        match how {
            Cancel::Pending => {
                command.arg("--state=PENDING");
            }
            Cancel::Signal(signal) => {
                command.arg(format!("--signal={signal}")).arg("--full");
            }
            Cancel::Plain => {}
        }
        command.arg(id);
        let output = Self::run(command, "scancel").map_err(|Unreachable(why)| Refusal {
            message: why,
            transient: false,
        })?;
        if output.status.success() {
            return Ok(());
        }
        Err(refusal(&output))
    }
}

/// How many times `scancel` is run when the connection to the controller breaks.
const CANCEL_ATTEMPTS: u32 = 3;

/// Why a command failed, and whether the connection to the controller broke.
fn refusal(output: &Output) -> Refusal {
    let said = one_line(&output.stderr);
    let transient = std::os::unix::process::ExitStatusExt::signal(&output.status).is_some()
        || said
            .as_deref()
            .is_some_and(|said| TRANSIENT.iter().any(|t| said.contains(t)));
    Refusal {
        message: said.unwrap_or_else(|| format!("failed ({}) and said nothing", output.status)),
        transient,
    }
}

/// The last non-empty line of a command's error output, trimmed.
pub(super) fn one_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(str::to_owned)
}
