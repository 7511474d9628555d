//! A full file system: the state root on a small tmpfs that the job (or a filler file)
//! fills. The result must still be recorded, `wait` must print what was spooled, and a
//! session that cannot be set up must fail cleanly without leaving anything behind.
//!
//! Mounting needs root: the tests are ignored by a plain `cargo test`, and CI runs them as
//! root; run without root they fail saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::wait_cmd;
use crate::support::{
    Csa, HANG, assert_exit, assert_record, code, directive, group_members, isolation,
    output_within, stderr, wait_for, wait_group_empty,
};

/// A page of tmpfs (bytes): the unit in which it hands out space.
const PAGE: u64 = 4096;

/// A csa whose state root is a freshly mounted tmpfs of a given size. Dropping it ends the
/// sessions' jobs, then unmounts the tmpfs.
struct SmallDisk {
    csa: Csa,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `256k`) over a new state root;
    /// fails the test when that is impossible (not root).
    #[track_caller]
    fn mount(size: &str) -> Self {
        isolation::require_root("mounts a small tmpfs");
        let csa = Csa::new();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "csa-test",
            ])
            .arg(csa.state.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs: {}",
            stderr(&out).trim()
        );
        Self { csa }
    }

    fn root(&self) -> &Path {
        self.csa.state.path()
    }

    /// Free bytes on the tmpfs.
    fn free(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.root()).expect("statvfs");
        stat.f_bavail * stat.f_frsize
    }

    /// Fills the tmpfs with a file until `pages` pages are left; returns the file.
    fn fill_leaving(&self, pages: u64) -> PathBuf {
        let path = self.root().join("filler");
        let _ = std::fs::remove_file(&path);
        let size = self.free().saturating_sub(pages * PAGE);
        let file = std::fs::File::create(&path).unwrap();
        if size > 0 {
            rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size).unwrap();
        }
        assert_eq!(
            self.free(),
            pages * PAGE,
            "the tmpfs has the space asked for"
        );
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        for id in self.csa.session_ids() {
            if !self.csa.session_dir(&id).join("result.toml").exists() {
                self.csa.kill_group(&id);
            }
        }
        // Lazily: a process that is still exiting may hold a file open on it.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.csa.state.path())
            .status();
    }
}

/// The job fills the file system with its output and exits 3: its exit code is recorded,
/// `wait` exits with it and prints every byte that was spooled.
#[test]
#[ignore = "needs root to mount a tmpfs (.ci/run runs it as root)"]
fn a_job_that_fills_the_disk_keeps_its_result_and_output() {
    let disk = SmallDisk::mount("256k");
    let csa = &disk.csa;
    let id = csa.run("head -c 400000 /dev/zero; exit 3");
    let out = csa.wait(&id);
    assert_exit(&out, 3);
    let spooled = std::fs::read(csa.session_dir(&id).join("stdout.log")).unwrap();
    assert!(
        spooled.len() > 100_000 && spooled.len() < 400_000,
        "the job fills the file system: {} bytes spooled",
        spooled.len()
    );
    assert_eq!(out.stdout, spooled, "wait prints what was spooled");
    let completed = directive(&stderr(&out), "SESSION_WAIT_COMPLETED").map(str::to_owned);
    assert!(
        completed.is_some_and(|line| line.contains("status=failure exit=3 synthetic=false")),
        "{}",
        stderr(&out)
    );
    let result = csa.result(&id).expect("result.toml on a full file system");
    assert_record(&result, "status = 'failure', exit_code = 3");
}

/// Starts a job that fills the file system, then sleeps; returns its ID and supervisor PID
/// once the file system is full.
fn fill_then_sleep(disk: &SmallDisk) -> (String, i32) {
    let id = disk.csa.run("head -c 400000 /dev/zero; exec sleep 600");
    let pid = disk.csa.supervisor_pid(&id);
    wait_for(HANG, "the job to fill the file system and sleep", || {
        disk.free() == 0 && job_sleeps(pid)
    });
    (id, pid)
}

/// True when the job of the supervisor `pid` has become `sleep`.
fn job_sleeps(pid: i32) -> bool {
    group_members(pid).iter().any(|member| {
        std::fs::read_to_string(format!("/proc/{member}/comm")).is_ok_and(|c| c == "sleep\n")
    })
}

/// The supervisor and its job are killed (SIGKILL) once the disk is full: the `lost` result is
/// still recorded by the next look.
#[test]
#[ignore = "needs root to mount a tmpfs (.ci/run runs it as root)"]
fn a_lost_session_on_a_full_disk_is_recorded() {
    let disk = SmallDisk::mount("256k");
    let csa = &disk.csa;
    let (id, pid) = fill_then_sleep(&disk);
    csa.kill_group(&id);
    wait_group_empty(pid, "the kill");
    let out = csa.wait(&id);
    assert_exit(&out, 1);
    assert!(!out.stdout.is_empty(), "wait prints what was spooled");
    let result = csa.result(&id).expect("result.toml on a full file system");
    assert_record(&result, "status = 'lost', synthetic = true");
}

/// `session kill` on a full disk: with SIGTERM the supervisor records the signal; with
/// `--grace 0` the supervisor dies with the job and `kill` records it.
#[test]
#[ignore = "needs root to mount a tmpfs (.ci/run runs it as root)"]
fn kill_on_a_full_disk_records_the_result() {
    let disk = SmallDisk::mount("256k");
    let csa = &disk.csa;
    for (grace, signal) in [("5s", 15), ("0", 9)] {
        let (id, _) = fill_then_sleep(&disk);
        let kill = csa.output(&["session", "kill", "--session", &id, "--grace", grace]);
        assert_exit(&kill, 0);
        let result = csa.result(&id).expect("result.toml on a full file system");
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        assert_eq!(result["signal"].as_integer(), Some(signal));
        // Make room for the next session.
        std::fs::remove_dir_all(csa.session_dir(&id)).unwrap();
    }
}

/// With `pages` pages free, `csa run OPTIONS… [--no-daemon] 'exit 7'`: either it fails
/// with exit 125 and one error line naming the full disk, leaving no session directory, or
/// the job starts and its result (exit 7) is recorded; that session is then removed. True
/// when the job started.
fn run_on_a_full_disk(disk: &SmallDisk, options: &[&str], pages: u64, no_daemon: bool) -> bool {
    let csa = &disk.csa;
    disk.fill_leaving(pages);
    let mut args = vec!["run"];
    args.extend_from_slice(options);
    if no_daemon {
        args.push("--no-daemon");
    }
    args.push("exit 7");
    let out = csa.output(&args);
    let what = format!("{pages} pages free, --no-daemon {no_daemon}");
    if code(&out) == 125 {
        let text = stderr(&out);
        assert_eq!(text.lines().count(), 1, "{what}: {text}");
        assert!(text.starts_with("csa: "), "{what}: {text}");
        assert!(text.contains("No space left on device"), "{what}: {text}");
        assert!(
            csa.session_ids().is_empty(),
            "{what}: a session left behind"
        );
        return false;
    }
    let expected = if no_daemon { 7 } else { 0 };
    assert_eq!(code(&out), expected, "{what}: {}", stderr(&out));
    let id = csa.session_ids().pop().expect("the session");
    let wait = output_within(&mut wait_cmd(csa, &id), HANG);
    assert_eq!(code(&wait), 7, "{what}: {}", stderr(&wait));
    std::fs::remove_dir_all(csa.session_dir(&id)).unwrap();
    true
}

/// Runs `options` on 0 to 6 free pages, daemon and `--no-daemon`, each with
/// [`run_on_a_full_disk`], calling `after` (with what was tried) after each; asserts that some
/// runs were refused and some started.
fn run_on_ever_fuller_disks(disk: &SmallDisk, options: &[&str], mut after: impl FnMut(&str)) {
    let (mut refused, mut started) = (0, 0);
    for (pages, no_daemon) in (0..=6).flat_map(|pages| [(pages, false), (pages, true)]) {
        if run_on_a_full_disk(disk, options, pages, no_daemon) {
            started += 1;
        } else {
            refused += 1;
        }
        after(&format!("{pages} pages free, --no-daemon {no_daemon}"));
    }
    assert!(
        refused > 0 && started > 0,
        "{refused} refused, {started} started"
    );
}

/// With 0 to 6 pages free, `csa run` (daemon and `--no-daemon`) either starts the job and
/// its result is recorded, or fails with exit 125 and one error line, leaving no session
/// directory behind.
#[test]
#[ignore = "needs root to mount a tmpfs (.ci/run runs it as root)"]
fn a_session_is_never_half_made_on_a_full_disk() {
    let disk = SmallDisk::mount("256k");
    run_on_ever_fuller_disks(&disk, &[], |_| {});
}

/// The ticket number in a queue's `seq` file: it must always hold one.
fn read_seq(queue: &Path) -> u64 {
    let text = std::fs::read_to_string(queue.join("seq")).expect("read seq");
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("seq holds no number: {text:?}"))
}

/// A queue on a full disk: `csa run --queue` (daemon and `--no-daemon`) with 0 to 6 pages
/// free either starts the job or fails with one error line, leaving no entry in `waiting/`; and the ticket numbering never
/// goes back (`seq` is never left empty or rewound), also once there is room again.
#[test]
#[ignore = "needs root to mount a tmpfs (.ci/run runs it as root)"]
fn a_queue_on_a_full_disk_keeps_its_numbering_and_no_failed_entry() {
    let disk = SmallDisk::mount("256k");
    let csa = &disk.csa;
    let queue = disk.root().join("queues").join("q");
    let first = csa.run_args(&["--queue", "q", "exit 7"]);
    assert_eq!(code(&csa.wait(&first)), 7);
    std::fs::remove_dir_all(csa.session_dir(&first)).unwrap();
    let mut last = read_seq(&queue);
    run_on_ever_fuller_disks(&disk, &["--queue", "q"], |what| {
        let entries = crate::support::names_in(&queue.join("waiting"));
        assert!(entries.is_empty(), "{what}: left in waiting/: {entries:?}");
        let seq = read_seq(&queue);
        assert!(
            seq >= last,
            "{what}: numbering went back from {last} to {seq}"
        );
        last = seq;
    });
    std::fs::remove_file(disk.root().join("filler")).unwrap();
    let id = csa.run_args(&["--queue", "q", "exit 7"]);
    assert_eq!(code(&csa.wait(&id)), 7);
    assert!(read_seq(&queue) > last, "numbering went on after {last}");
}
