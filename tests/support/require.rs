//! What an `#[ignore]`d test needs from the machine, checked where the test starts.
//!
//! A test that needs more than a plain `cargo test` has (root, the throwaway users, a Slurm
//! cluster, a shell that may not be installed) is `#[ignore = "needs …"]`, so a laptop run
//! lists it as ignored; CI runs it with `--include-ignored`. Run that way without what it
//! needs, it fails with the reason — a test that did not run never reports `ok`. Root and
//! the throwaway users: [`super::isolation::require_root`] and
//! [`super::isolation::Throwaway`]; a Slurm cluster: `slurm::require_cluster`.

use std::path::PathBuf;

/// The path of `program` on the usual system directories; fails the test when it is not
/// installed.
#[track_caller]
pub fn program(name: &str) -> PathBuf {
    let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|path| path.exists());
    match found {
        Some(path) => path,
        None => panic!("needs {name}, which is not installed (.ci/run installs it)"),
    }
}
