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
mod node_down;
mod pending;
mod requests;
mod signals;
mod slurm_csa;
mod stop;

pub use slurm_csa::SlurmCsa;

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::assert_success;

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
