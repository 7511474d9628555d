//! Hostile state files: truncated, empty, garbage, oversized, of the wrong kind, planted
//! symbolic links, and directories without permissions.

use std::path::Path;
use std::process::Command;

use super::{Outside, assert_rejected, code, dead_session, finished_session};
use crate::support::{
    Csa, Gated, HANG, NOBODY, assert_contains, assert_exit, csa_as_nobody, output_within, set_mode,
};
use crate::support_faults::snapshot;

/// The hostile contents a state file is replaced with.
fn corruptions(real: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut oversized = b"# padding\n".repeat(220_000);
    oversized.extend_from_slice(real);
    let mut garbage: Vec<u8> = (0..4096u32).map(|n| (n * 7919 % 251) as u8).collect();
    garbage.extend_from_slice(b"\xff\xfe\x00");
    vec![
        ("truncated", real[..real.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("garbage", garbage),
        ("oversized", oversized),
        (
            "wrong types",
            b"id = 3\nstatus = []\nexit_code = \"x\"\n".to_vec(),
        ),
        (
            "out of range",
            String::from_utf8_lossy(real)
                .replace("exit_code = 3", "exit_code = 300")
                .into_bytes(),
        ),
    ]
}

/// Replaces `path` with something that is not a regular file.
fn plant(path: &Path, kind: &str, outside: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    match kind {
        "directory" => std::fs::create_dir(path).unwrap(),
        "symlink" => std::os::unix::fs::symlink(outside, path).unwrap(),
        "fifo" => {
            let status = Command::new("mkfifo").arg(path).status().unwrap();
            assert!(status.success());
        }
        _ => unreachable!(),
    }
}

#[test]
fn corrupt_result_files_are_clear_errors() {
    let csa = Csa::new();
    let outside = Outside::new("id = \"victim\"\n");
    let (id, dir) = finished_session(&csa);
    let path = dir.join("result.toml");
    let real = std::fs::read(&path).unwrap();
    for (what, bytes) in corruptions(&real) {
        std::fs::write(&path, &bytes).unwrap();
        let stderr = assert_rejected(&csa.wait(&id), 125, what);
        assert!(stderr.contains("result.toml"), "{what}: {stderr}");
        look_everywhere(&csa, &id, what);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: rewritten");
    }
    for kind in ["directory", "symlink", "fifo"] {
        plant(&path, kind, &outside.victim);
        assert_rejected(&csa.wait(&id), 125, kind);
        look_everywhere(&csa, &id, kind);
    }
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, &real).unwrap();
    outside.assert_untouched();
}

/// Every other command on a session with a damaged `result.toml`: `result` and `attach`
/// refuse it, `kill` refuses or finds it finished, `list`, `logs` and `clean` carry on.
fn look_everywhere(csa: &Csa, id: &str, what: &str) {
    for command in ["result", "attach"] {
        let out = csa.output(&["session", command, "--session", id]);
        assert_rejected(&out, 125, &format!("{command} {what}"));
    }
    let out = csa.output(&["session", "kill", "--session", id, "--grace", "0"]);
    assert!(matches!(code(&out), 0 | 125), "kill {what}: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).lines().count() <= 1);
    for args in [
        &["session", "list"][..],
        &["session", "list", "--json"],
        &["session", "logs", "--session", id],
        &["session", "clean", "--older-than", "1s", "--dry-run"],
    ] {
        let out = csa.output(args);
        assert_eq!(code(&out), 0, "{args:?} {what}: {out:?}");
    }
}

#[test]
fn corrupt_session_and_pid_files_of_a_dead_session() {
    let csa = Csa::new();
    let outside = Outside::new("x");
    for name in ["session.toml", "daemon.pid"] {
        let real = std::fs::read(dead_session(&csa).1.join(name)).unwrap();
        let mut cases: Vec<(String, Option<Vec<u8>>)> = corruptions(&real)
            .into_iter()
            .map(|(what, bytes)| (what.to_owned(), Some(bytes)))
            .collect();
        cases.extend(["directory", "symlink", "fifo", "missing"].map(|k| (k.to_owned(), None)));
        for (what, bytes) in cases {
            let (id, dir) = dead_session(&csa);
            let path = dir.join(name);
            match (bytes, what.as_str()) {
                (Some(bytes), _) => std::fs::write(&path, bytes).unwrap(),
                (None, "missing") => std::fs::remove_file(&path).unwrap(),
                (None, kind) => plant(&path, kind, &outside.victim),
            }
            // The supervisor is gone: `lost`, reconstructed despite the damage, by whichever
            // command looks first.
            for first in ["result", "kill", "list"] {
                let out = match first {
                    "list" => csa.output(&["session", "list"]),
                    "kill" => csa.output(&["session", "kill", "--session", &id]),
                    _ => csa.output(&["session", first, "--session", &id]),
                };
                let stderr = String::from_utf8_lossy(&out.stderr);
                // `kill` may refuse a lost session whose identity it cannot check (it
                // could not find the job's leftovers); it then signals nothing.
                let refused = first == "kill"
                    && code(&out) == 125
                    && stderr.contains("nothing was signalled");
                assert!(
                    code(&out) == 0 || refused,
                    "{first} {name} {what}: {stderr}"
                );
            }
            let out = csa.wait(&id);
            assert_eq!(
                code(&out),
                1,
                "{name} {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("lost"));
        }
    }
    outside.assert_untouched();
}

/// The job plants symbolic links as `result.toml` and `stdout.log`: csa never writes
/// through them.
#[test]
fn planted_symlinks_are_never_followed() {
    let csa = Csa::new();
    let outside = Outside::new("precious\n");
    let missing = outside.path("created-through-a-link");
    for (name, target) in [
        ("result.toml", &outside.victim),
        ("result.toml", &missing),
        ("stdout.log", &outside.victim),
        ("stderr.log", &missing),
    ] {
        let id = csa.run_args(&[
            "--env",
            &format!("TARGET={}", target.display()),
            &format!("rm -f \"$CSA_SESSION_DIR/{name}\"; ln -s \"$TARGET\" \"$CSA_SESSION_DIR/{name}\"; echo more; exit 4"),
        ]);
        let out = csa.wait(&id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            code(&out) == 4 || (code(&out) == 125 && stderr.lines().count() == 1),
            "{name} -> {}: {stderr}",
            target.display()
        );
        assert!(
            !missing.exists(),
            "{name}: a file was created through the link"
        );
        assert_eq!(std::fs::read(&outside.victim).unwrap(), b"precious\n");
    }
    outside.assert_untouched();
}

/// A session directory that is a symbolic link to a directory elsewhere is not a session:
/// nothing is read from or written into the target.
#[test]
fn symlinked_session_directory_is_refused() {
    let csa = Csa::new();
    let (_, dir) = dead_session(&csa);
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("fake");
    std::fs::rename(&dir, &target).unwrap();
    std::os::unix::fs::symlink(&target, &dir).unwrap();
    let before = snapshot(outside.path());
    let id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    assert_rejected(&csa.wait(&id), 125, "full ID");
    assert_rejected(&csa.wait(&id[..20]), 125, "prefix");
    assert_eq!(before, snapshot(outside.path()));
}

/// A session directory its owner cannot enter.
#[test]
fn session_directory_without_permissions() {
    let csa = Csa::new();
    let (id, dir) = finished_session(&csa);
    let out = if crate::support_faults::is_root() {
        // Permission bits do not stop root: look as an unprivileged user who owns the store.
        chown_tree(csa.state.path(), NOBODY);
        set_mode(&dir, 0o000);
        let mut command = csa_as_nobody();
        command
            .args(["session", "wait", "--session", &id])
            .env("CSA_STATE_DIR", csa.state.path());
        output_within(&mut command, HANG)
    } else {
        set_mode(&dir, 0o000);
        csa.wait(&id)
    };
    set_mode(&dir, 0o700);
    assert_rejected(&out, 125, "unreadable session directory");
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&entry.path(), uid);
        }
    }
}

/// `lock` deleted while the job runs: no look may declare the live session lost (that
/// would shut out its true result); they report the problem, and the true result lands.
#[test]
fn lock_deleted_while_the_job_runs() {
    let csa = Csa::new();
    let mut job = Gated::run(&csa, "{gate}; exit 6");
    // Once the job runs, the supervisor has checked its lock and holds it.
    crate::support::wait_for(std::time::Duration::from_secs(30), "the job", || {
        crate::support::group_members(job.supervisor).len() >= 2
    });
    std::fs::remove_file(job.dir.join("lock")).unwrap();
    for command in ["wait", "result", "kill"] {
        let out = csa.output(&["session", command, "--session", &job.id]);
        let stderr = assert_rejected(&out, 125, command);
        assert_contains(&stderr, &["lock file is missing"]);
        assert!(
            !job.dir.join("result.toml").exists(),
            "{command} wrote a result"
        );
    }
    assert_eq!(code(&csa.output(&["session", "list"])), 0);
    job.gate.open();
    crate::support::wait_for(std::time::Duration::from_secs(30), "the result", || {
        job.dir.join("result.toml").exists()
    });
    assert_exit(&csa.wait(&job.id), 6);
    assert_eq!(
        csa.result(&job.id).unwrap()["synthetic"].as_bool(),
        Some(false)
    );
}
