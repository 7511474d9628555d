//! The head of a queue never stalls, and running jobs hold no inotify instance: looks at
//! the queue that lock a free slot for a moment, a queue as wide as 300 slots, and no
//! inotify instance to be had at all.

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::code;
use crate::support::{
    Csa, Gate, HANG, assert_exit, assert_output, assert_success, has_open, stderr, wait_for,
};
use crate::support_faults::{parse_time, trials};

/// True when process `pid` is blocked in `poll`/`ppoll` (a queue's head waiting for a
/// change): from `/proc/<pid>/syscall` (x86-64 numbers 7 and 271), else its wait channel.
fn in_poll(pid: i32) -> bool {
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    if let Some(number) = syscall.split_whitespace().next()
        && number.parse::<u32>().is_ok()
    {
        return matches!(number, "7" | "271");
    }
    std::fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|wchan| wchan.contains("poll"))
}

/// The inotify instances process `pid` holds.
fn inotify_instances(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |fds| {
        fds.flatten()
            .filter(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.as_os_str() == "anon_inode:inotify")
            })
            .count()
    })
}

/// A look that holds a free slot's lock (shared, through a read-only descriptor, whose close
/// inotify does not report as a write) while the head tries the slot: the head looks again
/// on its own instead of waiting for an event that never comes.
#[test]
fn a_look_holding_a_free_slot_does_not_stall_the_head() {
    let csa = Csa::new();
    assert_success(&csa.output(&["queue", "slots", "q", "1"]), "queue slots");
    let slot = csa.state.path().join("queues/q/slot.0");
    File::create(&slot).unwrap();
    let look = File::open(&slot).unwrap();
    look.lock_shared().unwrap();
    let id = csa.run_args(&["--queue", "q", "echo ran"]);
    let pid = csa.supervisor_pid(&id);
    wait_for(HANG, "the head to try the slot and wait", || {
        has_open(pid, &slot) && in_poll(pid)
    });
    drop(look);
    let out = csa.wait(&id);
    assert_output(&out, 0, "ran\n");
}

/// Jobs through a one-slot queue while `csa queue list` and `csa session list` run in a loop
/// beside them: every job starts (a stalled head would leave a wait hanging until it fails
/// the test). `CSA_FAULT_TRIALS` runs 200 jobs.
#[test]
fn looks_in_a_loop_never_stall_a_one_slot_queue() {
    let csa = Csa::new();
    let jobs = trials(40, 200);
    assert_success(&csa.output(&["queue", "slots", "one", "1"]), "queue slots");
    let done = AtomicBool::new(false);
    let looks = AtomicUsize::new(0);
    let ids = std::thread::scope(|scope| {
        for args in [&["queue", "list"][..], &["session", "list"][..]] {
            let (csa, done, looks) = (&csa, &done, &looks);
            scope.spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    let out = csa.output(args);
                    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
                    looks.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        // All queued behind a first job held at a gate, so that they run back to back.
        let mut gate = Gate::new();
        let mut ids = vec![csa.run_args(&["--queue", "one", &gate.pass()])];
        ids.extend((1..jobs).map(|i| csa.run_args(&["--queue", "one", &format!("echo {i}")])));
        gate.open();
        for (i, id) in ids.iter().enumerate() {
            let out = csa.wait(id);
            assert_eq!(code(&out), 0, "job {i}: {}", stderr(&out));
        }
        done.store(true, Ordering::SeqCst);
        ids
    });
    let looks = looks.load(Ordering::SeqCst);
    assert!(looks > 0, "the looks ran");
    // The figure for a report, not a timed assertion (a stall that lasts is caught above,
    // as a wait that hangs): how long the slot stayed free between one job's end and the
    // next one's start.
    let times = |id: &String, key: &str| {
        let result = csa.result(id).expect("result.toml");
        parse_time(result[key].as_str().expect(key))
    };
    let gaps: Vec<Duration> = ids
        .windows(2)
        .map(|pair| {
            let ended = times(&pair[0], "finished_at");
            let started = times(&pair[1], "started_at");
            started.duration_since(ended).unwrap_or_default()
        })
        .collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    let over_a_second = gaps
        .iter()
        .filter(|gap| **gap > Duration::from_secs(1))
        .count();
    println!(
        "{jobs} jobs through one slot beside {looks} looks: longest gap from one job's end \
         to the next one's start {} ms; gaps over 1 s: {over_a_second}",
        longest.as_millis()
    );
}

/// A queue of 300 slots runs 300 jobs at once — each waits at a gate that opens only when
/// all of them have started — and no running job's supervisor holds an inotify instance
/// (the per-user limit is 128 by default).
#[test]
fn three_hundred_slots_run_three_hundred_jobs_at_once_without_inotify() {
    const JOBS: usize = 300;
    let csa = Csa::new();
    let mut gate = Gate::new();
    let ready = csa.state.path().join("ready");
    std::fs::create_dir(&ready).unwrap();
    let slots = JOBS.to_string();
    assert_success(
        &csa.output(&["queue", "slots", "wide", &slots]),
        "queue slots",
    );
    let script = format!(
        "touch '{}'/\"$CSA_SESSION_ID\"; {}",
        ready.display(),
        gate.pass()
    );
    let ids: Vec<String> = (0..JOBS)
        .map(|_| csa.run_args(&["--queue", "wide", &script]))
        .collect();
    wait_for(HANG, "every job to start", || {
        crate::support::names_in(&ready).len() == JOBS
    });
    let out = csa.output(&["queue", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["running"], JOBS, "{rows}");
    assert_eq!(rows[0]["queued"], 0, "{rows}");
    let held: Vec<(String, usize)> = ids
        .iter()
        .map(|id| (id.clone(), inotify_instances(csa.supervisor_pid(id))))
        .filter(|(_, count)| *count > 0)
        .collect();
    assert!(
        held.is_empty(),
        "{} running jobs' supervisors hold inotify instances, e.g. {:?}",
        held.len(),
        &held[..held.len().min(3)]
    );
    gate.open();
    for id in &ids {
        let out = csa.wait(id);
        assert_eq!(code(&out), 0, "{id}: {}", stderr(&out));
    }
}

/// `csa` run by `unshare --user --map-root-user` in a user namespace whose limit of inotify
/// instances is 0 (`/proc/sys/user/max_inotify_instances`, per user namespace), with
/// `CSA_DEBUG=1`.
pub fn without_inotify(csa: &Csa, args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_inotify_instances && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_csa"))
        .args(args)
        .env("CSA_STATE_DIR", csa.state.path())
        .env("CSA_DEBUG", "1")
        .stdin(std::process::Stdio::null());
    command
}

/// With no inotify instance to be had, the head of a queue falls back to looking at the
/// slots on a timer — and says so with `CSA_DEBUG` — and takes the slot freed meanwhile.
#[test]
#[ignore = "needs user namespaces (unshare --user) for an inotify limit of its own (CI runs it as root)"]
fn a_head_without_inotify_falls_back_and_says_so() {
    let csa = Csa::new();
    let probe = crate::support::output_within(&mut without_inotify(&csa, &["--version"]), HANG);
    assert!(
        probe.status.success(),
        "needs a user namespace with its own inotify limit (unshare --user --map-root-user): {}",
        stderr(&probe)
    );
    let mut gate = Gate::new();
    let first = csa.run_args(&["--queue", "q", &gate.pass()]);
    let out = crate::support::output_within(
        &mut without_inotify(&csa, &["run", "--queue", "q", "echo second"]),
        HANG,
    );
    assert_success(&out, "csa run without inotify");
    let second = crate::support::stdout(&out).trim().to_owned();
    let log: &Path = &csa.session_dir(&second).join("stderr.log");
    wait_for(HANG, "the head to say it has no inotify", || {
        std::fs::read_to_string(log).is_ok_and(|text| text.contains("no inotify instance"))
    });
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.starts_with("csa: debug: queue q: no inotify instance (")
            && text.contains("every 100 ms at most"),
        "{text}"
    );
    gate.open();
    assert_exit(&csa.wait(&first), 0);
    let out = csa.wait(&second);
    assert_output(&out, 0, "second\n");
}
