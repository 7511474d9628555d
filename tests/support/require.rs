//! What an `#[ignore]`d test needs from the machine: root, a throwaway user, a program.
//!
//! A test that needs more than a plain `cargo test` has (root, the users `.ci/users`
//! creates, a shell that may not be installed) is `#[ignore = "needs …"]`, so a laptop run
//! lists it as ignored; CI runs it with `--include-ignored`. Run that way without what it
//! needs, it fails here with the reason — a test that did not run never reports `ok`.

use std::path::PathBuf;

/// The throwaway users `.ci/users` creates (no login shell, no home): the owner of a
/// session and another local user.
pub const USERS: [&str; 2] = ["csatest", "csaother"];

/// Fails the test unless it runs as root; `what` says what root is needed for.
#[track_caller]
pub fn root(what: &str) {
    assert!(
        rustix::process::geteuid().is_root(),
        "needs root to {what} (.ci/run runs the ignored tests as root)"
    );
}

/// A local user's user and group IDs; fails the test when the user does not exist.
#[track_caller]
pub fn user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let found = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 4 && fields[0] == name)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    });
    match found {
        Some(ids) => ids,
        None => panic!(
            "needs the user {name} (create the throwaway users with .ci/users create, as .ci/run does)"
        ),
    }
}

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
