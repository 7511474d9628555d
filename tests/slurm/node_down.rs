//! Taking a node of the test cluster down for a test that holds the cluster alone, and
//! bringing it back.

use std::process::Stdio;
use std::time::Duration;

use super::{SLURM_DEADLINE, SlurmCsa};
use crate::support::assert_success;

impl SlurmCsa {
    /// Takes `node` down (`scontrol update state=down`) until the guard is dropped. Only
    /// with [`SlurmCsa::exclusive`]: it ends every job on the node.
    pub fn node_down(&self, node: &str) -> NodeDown<'_> {
        assert!(
            self.holds_alone(),
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
