//! Questions to Slurm about jobs and the cluster: `scontrol show job` (and `write
//! batch_script`), `squeue --name`, `sacct`, `sbatch --help`, `sinfo`.

use super::{Slurm, Unreachable, field, one_line, parse_exit, parse_show_job};

/// What `scontrol show job` (or `sacct`) says about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// `JobName`.
    pub name: String,
    /// `JobState`, e.g. `PENDING`, `RUNNING`, `FAILED` (without `sacct`'s ` by UID`).
    pub state: String,
    /// `Reason` (why pending, or why it ended), `None` in Slurm's terms when empty.
    pub reason: String,
    /// `ExitCode=X:S`: the batch script's exit code and the signal that ended it.
    pub exit_code: i32,
    /// See [`JobInfo::exit_code`].
    pub exit_signal: i32,
    /// `NodeList` (or `BatchHost`) where it ran, empty while pending.
    pub nodes: String,
    /// `StdOut`: where Slurm writes the batch script's output (csa's `slurm.log`); empty
    /// from `sacct`.
    pub stdout: String,
}

impl JobInfo {
    /// True for the states of a job that has ended (Slurm's "completed" states).
    pub fn has_ended(&self) -> bool {
        matches!(
            self.state.as_str(),
            "COMPLETED"
                | "FAILED"
                | "CANCELLED"
                | "TIMEOUT"
                | "NODE_FAIL"
                | "PREEMPTED"
                | "OUT_OF_MEMORY"
                | "BOOT_FAIL"
                | "DEADLINE"
                | "REVOKED"
                | "SPECIAL_EXIT"
        )
    }

    /// True while the job waits for resources (or is held): plain `scancel` removes it.
    pub fn is_pending(&self) -> bool {
        self.state == "PENDING" || self.state == "REQUEUE_HOLD" || self.state == "RESV_DEL_HOLD"
    }
}

/// The answer to a question about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Slurm knows a job with this ID (check its name before trusting it).
    Known(JobInfo),
    /// Slurm does not know the ID (the job ended more than `MinJobAge` ago, or the
    /// controller lost its state).
    Unknown,
}

impl Slurm {
    /// `scontrol show job ID`: what the controller knows about the job.
    pub fn show_job(&self, id: &str) -> Result<Query, Unreachable> {
        let mut command = self.command("scontrol");
        if let Some(cluster) = &self.cluster {
            command.args(["-M", cluster]);
        }
        command.args(["-o", "show", "job", id]);
        let output = Self::run(command, "scontrol")?;
        if !output.status.success() {
            let why = one_line(&output.stderr).unwrap_or_default();
            if why.contains("Invalid job id") {
                return Ok(Query::Unknown);
            }
            return Err(Unreachable(if why.is_empty() {
                format!("scontrol failed ({})", output.status)
            } else {
                why
            }));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .find(|line| field(line, "JobId").as_deref() == Some(id));
        Ok(line.map_or(Query::Unknown, |line| Query::Known(parse_show_job(line))))
    }

    /// `squeue --name=NAME`: the IDs of the jobs still queued or running under that name.
    pub fn jobs_named(&self, name: &str) -> Result<Vec<String>, Unreachable> {
        let mut command = self.command("squeue");
        if let Some(cluster) = &self.cluster {
            command.args(["-M", cluster]);
        }
        command.args(["-h", "-o", "%i", "--name", name]);
        let output = Self::run(command, "squeue")?;
        if !output.status.success() {
            return Err(Unreachable(
                one_line(&output.stderr)
                    .unwrap_or_else(|| format!("squeue failed ({})", output.status)),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// `sacct`: the accounting record of a job the controller no longer knows. `None` when
    /// `sacct` is missing, accounting is disabled, or it has no record.
    pub fn accounting(&self, id: &str) -> Option<JobInfo> {
        let mut command = self.command("sacct");
        if let Some(cluster) = &self.cluster {
            command.args(["-M", cluster]);
        }
        command.args([
            "-n",
            "-P",
            "-X",
            "-j",
            id,
            "-o",
            "JobName,State,ExitCode,NodeList,Reason",
        ]);
        let output = Self::run(command, "sacct").ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().next()?;
        let fields: Vec<&str> = line.split('|').collect();
        let [name, state, exit, nodes, reason] = fields.as_slice() else {
            return None;
        };
        let (exit_code, exit_signal) = parse_exit(exit);
        Some(JobInfo {
            name: (*name).to_owned(),
            // "CANCELLED by 0"
            state: state.split_whitespace().next().unwrap_or("").to_owned(),
            reason: (*reason).to_owned(),
            exit_code,
            exit_signal,
            nodes: (*nodes).to_owned(),
            stdout: String::new(),
        })
    }

    /// The batch script of job `id` (`scontrol write batch_script ID -`), which no one can
    /// change after submission; `None` when Slurm has none or cannot say.
    pub fn batch_script(&self, id: &str) -> Option<String> {
        let mut command = self.command("scontrol");
        if let Some(cluster) = &self.cluster {
            command.args(["-M", cluster]);
        }
        command.args(["write", "batch_script", id, "-"]);
        let output = Self::run(command, "scontrol").ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// What `sbatch --help` prints (the options this `sbatch` has; it asks no controller),
    /// `None` when it cannot be run.
    pub fn help(&self) -> Option<String> {
        let mut command = self.command("sbatch");
        command.arg("--help");
        let output = Self::run(command, "sbatch").ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Every partition (`sinfo -h -o "%P %l"`): its name, whether it is the default, and
    /// its time limit in minutes (`None`: infinite); `None` when Slurm cannot say.
    pub fn partition_limits(&self) -> Option<Vec<(String, bool, Option<u64>)>> {
        let mut command = self.command("sinfo");
        command.args(["-h", "-o", "%P %l"]);
        let output = Self::run(command, "sinfo").ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut partitions: Vec<(String, bool, Option<u64>)> = Vec::new();
        for line in text.lines() {
            let Some((name, limit)) = line.trim().split_once(' ') else {
                continue;
            };
            let (name, default) = match name.strip_suffix('*') {
                Some(name) => (name, true),
                None => (name, false),
            };
            if !partitions.iter().any(|(seen, _, _)| seen == name) {
                partitions.push((
                    name.to_owned(),
                    default,
                    super::super::limit::parse_limit(limit),
                ));
            }
        }
        Some(partitions)
    }

    /// The number of nodes of the cluster (`sinfo -N`), `None` when Slurm cannot say.
    pub fn node_count(&self) -> Option<usize> {
        let mut command = self.command("sinfo");
        command.args(["-h", "-N", "-o", "%N"]);
        let output = Self::run(command, "sinfo").ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut nodes: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        Some(nodes.len())
    }
}
