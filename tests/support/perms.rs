//! Permission bits, and `csa` run as a user they stop (root passes every permission check).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

/// The unprivileged user (and group) [`csa_as_nobody`] runs as.
pub const NOBODY: u32 = 65534;

/// Sets the permission bits of `path` (not following a symbolic link's target's mode: as
/// `chmod`).
pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `csa` run as [`NOBODY`] with no supplementary groups (`setpriv`, util-linux), a home and
/// configuration directory that do not exist, in `/`: for a test running as root that
/// needs permission bits to count. The caller adds `CSA_STATE_DIR` and the arguments.
pub fn csa_as_nobody() -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
        ])
        .env("HOME", "/nonexistent")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .arg(env!("CARGO_BIN_EXE_csa"))
        .current_dir("/");
    command
}
