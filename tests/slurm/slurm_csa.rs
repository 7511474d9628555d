//! [`SlurmCsa`]: a private csa state root for the Slurm tests, holding the test cluster
//! shared (or alone), with the commands and looks the tests use; its Slurm jobs are cancelled
//! and its processes killed when it is dropped.

use std::process::{Command, Output, Stdio};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{SLURM_DEADLINE, require_cluster};
use crate::support::{Csa, assert_success, output_within, started_id, wait_for};

/// Every Slurm test holds this shared, except one that disturbs the whole cluster (takes
/// a node down), which holds it alone.
static CLUSTER: RwLock<()> = RwLock::new(());

/// How a test holds [`CLUSTER`].
#[allow(dead_code)]
enum Hold {
    Shared(RwLockReadGuard<'static, ()>),
    Alone(RwLockWriteGuard<'static, ()>),
}

/// A private csa state root whose Slurm jobs are cancelled when it is dropped.
pub struct SlurmCsa {
    pub csa: Csa,
    /// The `SLURM_CONF` of the cluster (`None`: the caller's, the default test cluster).
    conf: Option<String>,
    hold: Hold,
}

impl SlurmCsa {
    /// A new state root for the default test cluster; fails the test when there is no
    /// cluster ([`require_cluster`]).
    #[track_caller]
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A new state root ([`SlurmCsa::new`]) and its first session, started with
    /// [`SlurmCsa::run_with`].
    #[track_caller]
    pub fn with_session(options: &str, script: &str) -> (Self, String) {
        let slurm = Self::new();
        let id = slurm.run_with(options, script);
        (slurm, id)
    }

    /// A new state root and its first session, `SCRIPT`, once its job runs on its node and
    /// has printed `ready` ([`SlurmCsa::run_ready`]).
    #[track_caller]
    pub fn with_ready_session(script: &str) -> (Self, String) {
        let slurm = Self::new();
        let id = slurm.run_ready(script);
        (slurm, id)
    }

    /// [`SlurmCsa::new`] with the state root in `parent`.
    #[track_caller]
    pub fn new_in(parent: &std::path::Path) -> Self {
        require_cluster();
        Self {
            csa: Csa::new_in(parent),
            conf: None,
            hold: Hold::Shared(CLUSTER.read().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// As [`SlurmCsa::new`], for a test that no other Slurm test may run beside (it takes
    /// a node down).
    #[track_caller]
    pub fn exclusive() -> Self {
        require_cluster();
        Self {
            csa: Csa::new(),
            conf: None,
            hold: Hold::Alone(CLUSTER.write().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// A new state root whose sessions go to the cluster with cgroup process tracking
    /// (`CSA_SLURM_CGROUP_CONF`, started by `CSA_SLURM_PROCTRACK=cgroup .ci/slurm start`);
    /// fails the test when it is not there.
    #[track_caller]
    pub fn cgroup() -> Self {
        require_cluster();
        let conf = std::env::var("CSA_SLURM_CGROUP_CONF").unwrap_or_default();
        assert!(
            !conf.is_empty(),
            "needs the Slurm cluster with cgroup tracking: eval \"$(CSA_SLURM_PROCTRACK=cgroup .ci/slurm start)\" (.ci/run starts it)"
        );
        Self {
            csa: Csa::new().with_env("SLURM_CONF", &conf),
            conf: Some(conf),
            hold: Hold::Shared(CLUSTER.read().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// One of Slurm's commands (`sbatch`, `squeue`, `scontrol`, `scancel`) for this
    /// state root's cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        if let Some(conf) = &self.conf {
            command.env("SLURM_CONF", conf);
        }
        command.stdin(Stdio::null());
        command
    }

    /// `csa run --executor slurm ARGS…`, whatever it returns.
    pub fn try_run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--executor", "slurm"];
        all.extend_from_slice(args);
        self.output(&all)
    }

    /// `csa run --executor slurm ARGS…`: asserts success, returns the session ID.
    pub fn run(&self, args: &[&str]) -> String {
        started_id(&self.try_run(args))
    }

    /// `csa run --executor slurm OPTIONS SCRIPT`, the options written as on a command line
    /// (split at spaces; none may contain one), whatever it returns.
    pub fn try_run_with(&self, options: &str, script: &str) -> Output {
        let mut args: Vec<&str> = options.split_whitespace().collect();
        args.push(script);
        self.try_run(&args)
    }

    /// [`SlurmCsa::try_run_with`]: asserts success, returns the session ID.
    pub fn run_with(&self, options: &str, script: &str) -> String {
        started_id(&self.try_run_with(options, script))
    }

    /// `csa run --executor slurm SCRIPT`, returning once the job runs on its node and has
    /// printed `ready`.
    pub fn run_ready(&self, script: &str) -> String {
        let id = self.run(&[script]);
        self.wait_started(&id, "ready");
        id
    }

    /// `csa ARGS…`, allowing for Slurm's pace.
    pub fn output(&self, args: &[&str]) -> Output {
        output_within(self.csa.cmd().args(args), SLURM_DEADLINE)
    }

    /// `csa session wait --session ID --until-done`.
    pub fn wait(&self, id: &str) -> Output {
        self.output(&["session", "wait", "--session", id, "--until-done"])
    }

    /// A file of the session directory, as text (empty when missing).
    pub fn file(&self, id: &str, name: &str) -> String {
        self.csa.file(id, name)
    }

    /// Waits until the job has started on the node (`node.toml`), its watcher has seen it
    /// start (the `queued` mark is gone: a look reads `running`), and it printed `text`.
    pub fn wait_started(&self, id: &str, text: &str) {
        let dir = self.csa.session_dir(id);
        wait_for(SLURM_DEADLINE, "the Slurm job to start", || {
            dir.join("node.toml").exists()
                && !dir.join("queued").exists()
                && self.file(id, "stdout.log").contains(text)
        });
    }

    /// The Slurm job ID of a session.
    pub fn job_id(&self, id: &str) -> String {
        let record: toml::Table = self.file(id, "slurm.toml").parse().expect("slurm.toml");
        record["job_id"].as_str().expect("job_id").to_owned()
    }

    /// The PID of `csa __node` (every node of the test cluster runs on this machine).
    pub fn node_pid(&self, id: &str) -> i32 {
        let record: toml::Table = self.file(id, "node.toml").parse().expect("node.toml");
        i32::try_from(record["pid"].as_integer().expect("pid")).unwrap()
    }

    /// The result, once recorded.
    pub fn result(&self, id: &str) -> toml::Table {
        self.csa.result(id).expect("result.toml")
    }

    /// Runs `PROGRAM ARGS…`, one of Slurm's commands, on this cluster and asserts it
    /// succeeded.
    pub fn succeed(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().expect(program);
        assert_success(&out, program);
    }

    /// Runs `scontrol ARGS…` on this cluster and asserts it succeeded.
    pub fn scontrol(&self, args: &[&str]) {
        self.succeed("scontrol", args);
    }

    /// SIGKILLs the session's watcher (its job lives on) and waits until it is gone;
    /// returns its PID.
    pub fn kill_watcher(&self, id: &str) -> i32 {
        let pid = self.csa.supervisor_pid(id);
        crate::procs::send("KILL", u32::try_from(pid).unwrap());
        wait_for(SLURM_DEADLINE, "the watcher to die", || {
            !crate::support::process_alive(pid)
        });
        pid
    }

    /// Runs `scancel ARGS…` on this cluster and asserts it succeeded.
    pub fn scancel(&self, args: &[&str]) {
        self.succeed("scancel", args);
    }

    /// The node job `job_id` runs on (empty while pending).
    pub fn job_node(&self, job_id: &str) -> String {
        let out = self
            .command("squeue")
            .args(["-h", "-j", job_id, "-o", "%N"])
            .output()
            .expect("squeue");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// True when this state root holds the cluster alone ([`SlurmCsa::exclusive`]).
    pub(super) fn holds_alone(&self) -> bool {
        matches!(self.hold, Hold::Alone(_))
    }
}

impl Drop for SlurmCsa {
    fn drop(&mut self) {
        // Leave no job of this test in the cluster, and no process of it on this machine:
        // with proctrack/linuxproc, the processes of a job whose `csa __node` was killed
        // are orphans Slurm no longer tracks.
        for id in self.csa.session_ids() {
            // By its recorded ID (a named session's job is not `csa-<ID>`), else by name.
            let job = self
                .file(&id, "slurm.toml")
                .parse::<toml::Table>()
                .ok()
                .and_then(|record| record.get("job_id")?.as_str().map(str::to_owned));
            let target = job.unwrap_or_else(|| format!("--name=csa-{id}"));
            let _ = self
                .command("scancel")
                .arg(target)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            for pid in crate::support::carrying(&id) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}
