//! The test cluster is what the other Slurm tests rely on: jobs run on n1 (this machine's
//! host name) and n2 (a host name of its own), the `isolated` partition's node cannot see
//! the state root, the `short` partition has a 10-minute limit, and the cgroup cluster
//! tracks jobs in cgroups.

use super::{SlurmCsa, assert_ended, stdout};
use crate::support::{HANG, assert_contains, wait_for};

/// This machine's host name, as csa records it.
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn sessions_run_on_this_host_and_on_another() {
    let slurm = SlurmCsa::new();
    for (node, host) in [("n1", this_host()), ("n2", "n2".to_owned())] {
        let id = slurm.run(&[
            &format!("--slurm-arg=--nodelist={node}"),
            "echo \"$(cat /proc/sys/kernel/hostname) $SLURMD_NODENAME\"",
        ]);
        let out = assert_ended(&slurm, &id, 0, "success");
        assert_eq!(stdout(&out), format!("{host} {node}\n"));
        let record: toml::Table = slurm.file(&id, "node.toml").parse().unwrap();
        assert_eq!(record["host"].as_str(), Some(host.as_str()), "{record:?}");
    }
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn the_isolated_partitions_node_cannot_see_the_state_root() {
    let slurm = SlurmCsa::new();
    let hidden = std::env::var("CSA_SLURM_HIDDEN_DIR")
        .expect("CSA_SLURM_HIDDEN_DIR (printed by .ci/slurm start)");
    let state = slurm.csa.state.path().canonicalize().unwrap();
    assert!(
        state.starts_with(&hidden),
        "the test's state root {} is under the directory n3 hides ({hidden}): run the tests with the TMPDIR the cluster was started with",
        state.display()
    );
    // Written where n3 can write: the checkout's target directory stays visible there.
    let out_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let output = out_dir.path().join("out");
    let script = format!(
        "test -e {state} && echo sees-state || echo no-state; test -x {csa} && echo sees-csa; cat /proc/sys/kernel/hostname",
        state = state.display(),
        csa = env!("CARGO_BIN_EXE_csa"),
    );
    let out = slurm
        .command("sbatch")
        .args(["--parsable", "--partition=isolated"])
        .arg(format!("--output={}", output.display()))
        .args(["--wrap", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "sbatch: {out:?}");
    wait_for(HANG, "the job on n3 to write its output", || {
        std::fs::read_to_string(&output).is_ok_and(|text| text.ends_with("n3\n"))
    });
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "no-state\nsees-csa\nn3\n"
    );
}

#[test]
#[ignore = "needs a Slurm cluster (CSA_TEST_SLURM=1; .ci/run starts one)"]
fn partitions_are_as_documented() {
    let slurm = SlurmCsa::new();
    let show = |partition: &str| {
        let out = slurm
            .command("scontrol")
            .args(["show", "partition", partition])
            .output()
            .unwrap();
        stdout(&out)
    };
    let debug = show("debug");
    assert_contains(&debug, &["Default=YES", "Nodes=n[1-2]"]);
    let short = show("short");
    assert_contains(&short, &["Default=NO", "MaxTime=00:10:00"]);
    let isolated = show("isolated");
    assert_contains(&isolated, &["Default=NO", "Nodes=n3"]);
}

#[test]
#[ignore = "needs the Slurm cluster with cgroup tracking (CSA_TEST_SLURM=1; .ci/run starts it)"]
fn the_cgroup_cluster_tracks_jobs_in_cgroups() {
    let slurm = SlurmCsa::cgroup();
    let id = slurm.run(&["cat /proc/self/cgroup"]);
    let out = assert_ended(&slurm, &id, 0, "success");
    let job = slurm.job_id(&id);
    let cgroups = stdout(&out);
    for controller in ["freezer", "memory"] {
        assert!(
            cgroups
                .lines()
                .any(|line| line.contains(&format!(":{controller}:/slurm_"))
                    && line.contains(&format!("/job_{job}/"))),
            "{controller}: {cgroups}"
        );
    }
}
