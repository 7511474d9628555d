//! The Slurm executor against a real cluster (`csa run --executor slurm`).
//!
//! They run when `CSA_TEST_SLURM=1` (CI sets it after `.ci/slurm start`, with `SLURM_CONF`
//! pointing at its private cluster) and then fail — never skip — when the cluster does not
//! answer. Without the switch each prints one line saying why it skipped.

mod basics;
mod endings;
mod faults;
mod fleet;
mod signals;
mod stop;

use std::process::{Command, Output, Stdio};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use crate::support::{Csa, assert_success, output_within, wait_for};

/// How long a Slurm job may take to start and end in these tests (the scheduler of a
/// one-node cluster starts pending jobs once a second; a loaded machine is slower).
pub const SLURM_DEADLINE: Duration = Duration::from_secs(120);

/// `Some` when the Slurm tests are switched on; panics when they are but Slurm does not
/// answer; `None` (after one line on stderr) when they are off.
pub fn enabled(test: &str) -> Option<()> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    if std::env::var_os("CSA_TEST_SLURM").is_none_or(|v| v.is_empty() || v == "0") {
        eprintln!(
            "skipping {test}: the Slurm tests need CSA_TEST_SLURM=1 and a cluster (eval \"$(.ci/slurm start)\")"
        );
        return None;
    }
    let checked = CHECKED.get_or_init(|| {
        let out = Command::new("sinfo")
            .args(["-h", "-o", "%a"])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run sinfo: {err}"))?;
        if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("up") {
            Ok(())
        } else {
            Err(format!(
                "sinfo failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    });
    if let Err(why) = checked {
        panic!(
            "CSA_TEST_SLURM=1 but the Slurm cluster does not answer ({why}); start it with .ci/slurm start"
        );
    }
    Some(())
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
    _hold: Hold,
}

impl SlurmCsa {
    pub fn new() -> Self {
        Self {
            csa: Csa::new(),
            _hold: Hold::Shared(CLUSTER.read().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// As [`SlurmCsa::new`], for a test that no other Slurm test may run beside.
    pub fn exclusive() -> Self {
        Self {
            csa: Csa::new(),
            _hold: Hold::Alone(CLUSTER.write().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// `csa run --executor slurm ARGS…`: asserts success, returns the session ID.
    pub fn run(&self, args: &[&str]) -> String {
        let mut all = vec!["--executor", "slurm"];
        all.extend_from_slice(args);
        self.csa.run_args(&all)
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
        std::fs::read_to_string(self.csa.session_dir(id).join(name)).unwrap_or_default()
    }

    /// Waits until the job has started on the node (`node.toml`) and printed `text`.
    pub fn wait_started(&self, id: &str, text: &str) {
        wait_for(SLURM_DEADLINE, "the Slurm job to start", || {
            self.csa.session_dir(id).join("node.toml").exists()
                && self.file(id, "stdout.log").contains(text)
        });
    }

    /// The Slurm job ID of a session.
    pub fn job_id(&self, id: &str) -> String {
        let record: toml::Table = self.file(id, "slurm.toml").parse().expect("slurm.toml");
        record["job_id"].as_str().expect("job_id").to_owned()
    }

    /// The PID of `csa __node` on this (one-node) cluster.
    pub fn node_pid(&self, id: &str) -> i32 {
        let record: toml::Table = self.file(id, "node.toml").parse().expect("node.toml");
        i32::try_from(record["pid"].as_integer().expect("pid")).unwrap()
    }

    /// The result, once recorded.
    pub fn result(&self, id: &str) -> toml::Table {
        self.csa.result(id).expect("result.toml")
    }
}

impl Drop for SlurmCsa {
    fn drop(&mut self) {
        // Leave no job of this test in the cluster, and no process of it on this machine:
        // with proctrack/linuxproc, the processes of a job whose `csa __node` was killed
        // are orphans Slurm no longer tracks.
        for id in self.csa.session_ids() {
            let _ = Command::new("scancel")
                .arg(format!("--name=csa-{id}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            for pid in session_processes(&id) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// The processes whose environment carries `CSA_SESSION_ID=<id>`: the session's watcher,
/// `csa __node` and the job's processes.
pub fn session_processes(id: &str) -> Vec<u32> {
    let marker = format!("CSA_SESSION_ID={id}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ.split(|b| *b == 0).any(|v| v == marker.as_bytes())
        })
        .collect()
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

/// Runs `scancel ARGS…` and asserts it succeeded.
pub fn scancel(args: &[&str]) {
    let out = Command::new("scancel")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("scancel");
    assert_success(&out, "scancel");
}

/// The node job `job_id` runs on (empty while pending).
pub fn job_node(job_id: &str) -> String {
    let out = Command::new("squeue")
        .args(["-h", "-j", job_id, "-o", "%N"])
        .stdin(Stdio::null())
        .output()
        .expect("squeue");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A node taken down (`scontrol update state=down`), brought back when dropped.
pub struct NodeDown {
    node: String,
}

impl NodeDown {
    pub fn new(node: &str) -> Self {
        let out = Command::new("scontrol")
            .args([
                "update",
                &format!("nodename={node}"),
                "state=down",
                "reason=csa-test",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("scontrol");
        assert_success(&out, "scontrol update state=down");
        Self {
            node: node.to_owned(),
        }
    }
}

impl Drop for NodeDown {
    fn drop(&mut self) {
        let state = || {
            Command::new("sinfo")
                .args(["-h", "-n", &self.node, "-o", "%T"])
                .stdin(Stdio::null())
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let deadline = std::time::Instant::now() + SLURM_DEADLINE;
        while std::time::Instant::now() < deadline {
            let now = state();
            if ["idle", "mixed", "allocated"].contains(&now.as_str()) {
                return;
            }
            // Resumed by hand, or by `ReturnToService` once the node registers again.
            let _ = Command::new("scontrol")
                .args(["update", &format!("nodename={}", self.node), "state=resume"])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("node {} did not come back: {}", self.node, state());
    }
}
