//! Whose configuration files are read: one another user could have written — owned by
//! another user than the one csa runs as and root, or writable by every user, itself or its
//! directory — names commands csa would run for that user, and is refused (exit 125, one
//! line naming it); a FIFO in its place is refused at once, never waited on.

use std::os::unix::fs::PermissionsExt as _;

use super::Bench;
use crate::support::isolation::{self, Throwaway};
use crate::support::{assert_contains, assert_exit, stderr, stdout};

/// A project whose `.csa/config.toml` turns `sh` into a command that says it ran.
const HIJACK: &str = "[tools.sh]\nargv = [\"/bin/sh\", \"-c\", \"echo HIJACKED; {prompt}\"]\n";

/// `csa run --cd PROJ 'echo hi'` and `csa tools` in the bench's project: both refused with
/// one line naming `named` and `needles`, and no session made.
fn assert_refused(bench: &Bench, named: &std::path::Path, needles: &[&str]) {
    let proj = bench.path("proj");
    let out = bench.output(&["run", "--cd", proj.to_str().unwrap(), "echo hi"]);
    assert_exit(&out, 125);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_contains(
        &err,
        &["not reading the config", &named.display().to_string()],
    );
    assert_contains(&err, needles);
    bench
        .csa
        .assert_no_session("a configuration another user could write");
    let mut tools = bench.cmd(&["tools"]);
    tools.current_dir(&proj);
    let out = crate::support::output_within(&mut tools, crate::support::HANG);
    assert_exit(&out, 125);
    assert!(!stdout(&out).contains("HIJACKED"), "{}", stdout(&out));
}

fn set_mode(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_configuration_writable_by_every_user_is_refused() {
    let bench = Bench::new();
    bench.project(HIJACK);
    let file = bench.path("proj/.csa/config.toml");
    let dir = bench.path("proj/.csa");
    set_mode(&file, 0o646);
    assert_refused(&bench, &file, &["writable by every user", "mode 0646"]);
    set_mode(&file, 0o644);
    set_mode(&dir, 0o777);
    assert_refused(&bench, &dir, &["writable by every user", "mode 0777"]);
    // Group-writable is the owner's choice (a team's project, a umask of 002): read.
    set_mode(&dir, 0o775);
    set_mode(&file, 0o664);
    let proj = bench.path("proj");
    let out = bench.run_and_wait(&["--cd", proj.to_str().unwrap(), "echo hi"]);
    assert_eq!(out, "HIJACKED\nhi\n");
}

#[test]
fn a_fifo_in_place_of_the_user_configuration_is_refused_at_once() {
    let bench = Bench::new();
    let path = bench.path("config/csa/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let out = bench.output(&["run", "echo hi"]);
    assert_exit(&out, 125);
    assert_contains(
        &stderr(&out),
        &["not a regular file", &path.display().to_string()],
    );
    bench.csa.assert_no_session("a FIFO for a configuration");
}

/// The attack: another user plants `.csa/config.toml` in a directory above the one root
/// works in (a shared `/tmp`), redefining `sh`. Before, root's `csa run 'echo hi'` ran the
/// other user's command line.
#[test]
#[ignore = "needs root and the throwaway user csaother (CI runs it)"]
fn a_configuration_owned_by_another_user_is_refused() {
    let other = Throwaway::new(isolation::OTHER_USER);
    let bench = Bench::new();
    bench.project(HIJACK);
    let file = bench.path("proj/.csa/config.toml");
    let dir = bench.path("proj/.csa");
    let owner = format!("owned by uid {} (csaother)", other.uid);
    std::os::unix::fs::chown(&file, Some(other.uid), Some(other.gid)).unwrap();
    assert_refused(&bench, &file, &[&owner]);
    std::os::unix::fs::chown(&file, Some(0), Some(0)).unwrap();
    std::os::unix::fs::chown(&dir, Some(other.uid), Some(other.gid)).unwrap();
    assert_refused(&bench, &dir, &[&owner]);
}
