//! The Slurm executor against a real cluster (`csa run --executor slurm`).
//!
//! Every test here is `#[ignore]`d: a plain `cargo test` lists them as ignored. CI runs them
//! (`.ci/run`: `cargo test -- --include-ignored` with `CSA_TEST_SLURM=1` and `SLURM_CONF`
//! pointing at the private cluster of `.ci/slurm start`). Run explicitly without that
//! switch, or with a cluster that does not answer, each fails saying why — never passes
//! without having run.
//!
//! The cluster's nodes all run on this machine (one PID namespace: a test may look at a
//! node's processes), n1 under this machine's host name and n2, n3 under their own; the
//! partitions and what each is for are listed in `.ci/slurm`.

mod basics;
mod cluster;
mod endings;
mod faults;
mod fleet;
mod identity;
mod pending;
mod requests;
mod signals;
mod stop;

use std::process::{Command, Output, Stdio};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use crate::support::{Csa, assert_success, output_within, started_id, wait_for};

/// How long a Slurm job may take to start and end in these tests (the scheduler starts
/// pending jobs once a second; a loaded machine is slower).
pub const SLURM_DEADLINE: Duration = Duration::from_secs(120);

/// Fails the test unless the Slurm tests are switched on (`CSA_TEST_SLURM=1`) and the
/// cluster of `SLURM_CONF` answers. The switch keeps an explicit `--include-ignored` run
/// from sending test jobs to whatever cluster the caller's environment names.
#[track_caller]
pub fn require_cluster() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        if std::env::var_os("CSA_TEST_SLURM").is_none_or(|v| v.is_empty() || v == "0") {
            return Err(
                "needs a Slurm cluster: set CSA_TEST_SLURM=1 after eval \"$(.ci/slurm start)\" (.ci/run does both)"
                    .to_owned(),
            );
        }
        let out = Command::new("sinfo")
            .args(["-h", "-o", "%a"])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("CSA_TEST_SLURM=1 but sinfo cannot run: {err}"))?;
        if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("up") {
            Ok(())
        } else {
            Err(format!(
                "CSA_TEST_SLURM=1 but the Slurm cluster does not answer (sinfo: {}); start it with .ci/slurm start",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    });
    if let Err(why) = checked {
        panic!("{why}");
    }
}

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

    /// Takes `node` down (`scontrol update state=down`) until the guard is dropped. Only
    /// with [`SlurmCsa::exclusive`]: it ends every job on the node.
    pub fn node_down(&self, node: &str) -> NodeDown<'_> {
        assert!(
            matches!(self.hold, Hold::Alone(_)),
            "taking a node down needs SlurmCsa::exclusive"
        );
        let out = self
            .command("scontrol")
            .args([
                "update",
                &format!("nodename={node}"),
                "state=down",
                "reason=csa-test",
            ])
            .output()
            .expect("scontrol");
        assert_success(&out, "scontrol update state=down");
        NodeDown {
            slurm: self,
            node: node.to_owned(),
        }
    }
}

/// A node taken down ([`SlurmCsa::node_down`]), brought back when dropped.
pub struct NodeDown<'a> {
    slurm: &'a SlurmCsa,
    node: String,
}

impl Drop for NodeDown<'_> {
    fn drop(&mut self) {
        let state = || {
            self.slurm
                .command("sinfo")
                .args(["-h", "-n", &self.node, "-o", "%T"])
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let back = |now: &str| ["idle", "mixed", "allocated"].contains(&now);
        let deadline = std::time::Instant::now() + SLURM_DEADLINE;
        while std::time::Instant::now() < deadline {
            if back(&state()) {
                return;
            }
            // Resumed by hand, or by `ReturnToService` once the node registers again.
            let _ = self
                .slurm
                .command("scontrol")
                .args(["update", &format!("nodename={}", self.node), "state=resume"])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(
            std::thread::panicking(),
            "node {} did not come back: {}",
            self.node,
            state()
        );
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

/// `squeue` state of job `job_id` (empty when Slurm no longer lists it).
pub fn squeue_state(job_id: &str) -> String {
    let out = Command::new("squeue")
        .args(["-h", "-j", job_id, "-o", "%T"])
        .stdin(Stdio::null())
        .output()
        .expect("squeue");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub use crate::support::{stderr, stdout};

/// Asserts a finished session's exit code and result status.
#[track_caller]
pub fn assert_ended(slurm: &SlurmCsa, id: &str, code: i32, status: &str) -> Output {
    let out = slurm.wait(id);
    assert_eq!(
        out.status.code(),
        Some(code),
        "wait: {}\nresult: {:?}\nwatch.log: {}",
        stderr(&out),
        slurm.csa.result(id),
        slurm.file(id, "watch.log")
    );
    let result = slurm.result(id);
    assert_eq!(result["status"].as_str(), Some(status), "{result:?}");
    out
}

/// Runs `sbatch --parsable` directly (a job that is not csa's).
pub fn sbatch(args: &[&str]) -> String {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sbatch");
    assert_success(&out, "sbatch");
    stdout(&out).trim().to_owned()
}
