//! Supervisors and jobs killed at random moments, `kill` racing a job's end; late reaping.

use std::time::{Duration, SystemTime};

use super::{background, code, wait_cmd};
use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_success, directive, output_within, wait_for,
};
use crate::support_faults::{kill_trials, parse_time, rng, signal, signal_group, state, trials};

/// The contract's bound between a supervisor's death and the synthetic `lost` result.
const LOST_WITHIN: Duration = Duration::from_millis(100);

/// What one supervisor-kill trial observed.
#[derive(Debug, Default)]
struct KillStats {
    trials: usize,
    /// Real results: the supervisor recorded the job's status before it died.
    real: usize,
    /// `lost` before the job printed anything (killed before or just after spawning it).
    lost_before_job: usize,
    /// `lost` after the job had started.
    lost_during_job: usize,
    /// A temporary file left behind: killed in the middle of writing `result.toml`.
    mid_write: usize,
    /// Milliseconds from SIGKILL to the `finished_at` of each `lost` result.
    lost_latency_ms: Vec<u64>,
}

/// SIGKILLs the supervisor of one short job at a random moment and checks every promise:
/// `wait` returns, `result.toml` is complete, the true status if it was recorded or else
/// `lost` + synthetic promptly, and nothing is overwritten afterwards.
fn kill_trial(csa: &Csa, rng: &mut fastrand::Rng, stats: &mut KillStats) {
    let exit = rng.u8(0..=9);
    let script = match rng.u8(0..3) {
        0 => format!("exit {exit}"),
        1 => format!("echo started; exit {exit}"),
        _ => format!("echo started; sleep 0.0{}; exit {exit}", rng.u8(1..=5)),
    };
    let id = csa.run(&script);
    let dir = csa.session_dir(&id);
    let supervisor = csa.supervisor_pid(&id);
    let waiter = background(wait_cmd(csa, &id));
    let mut attach = csa.cmd();
    attach.args(["session", "attach", "--session", &id]);
    let attacher = background(attach);
    // A third of the kills land at once (before the job is spawned), the rest spread over
    // the job's life, the result write and after.
    if rng.u8(0..3) != 0 {
        std::thread::sleep(Duration::from_micros(rng.u64(0..40_000)));
    }
    let killed_at = SystemTime::now();
    signal(supervisor, 9);
    let out = waiter.join();
    let followed = attacher.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        code(&followed),
        code(&out),
        "attach and wait disagree: {}",
        String::from_utf8_lossy(&followed.stderr)
    );
    let result = csa.result(&id).expect("result.toml after wait");
    let bytes = std::fs::read(dir.join("result.toml")).unwrap();
    assert_eq!(result["id"].as_str(), Some(id.as_str()));
    for key in [
        "started_at",
        "finished_at",
        "duration_ms",
        "exit_code",
        "status",
    ] {
        assert!(result.contains_key(key), "{key} missing: {result:?}");
    }
    let recorded_status = result["status"].as_str().unwrap();
    let recorded = result["exit_code"].as_integer().unwrap();
    assert_eq!(i64::from(code(&out)), recorded, "wait exit code: {stderr}");
    let line = directive(&stderr, "SESSION_WAIT_COMPLETED").expect("completed directive");
    assert_contains(line, &[&format!("status={recorded_status} ")]);
    if recorded_status == "lost" {
        assert_eq!(recorded, 1);
        assert_eq!(result["synthetic"].as_bool(), Some(true));
        let finished = parse_time(result["finished_at"].as_str().unwrap());
        let latency = finished.duration_since(killed_at).unwrap_or_default();
        stats
            .lost_latency_ms
            .push(u64::try_from(latency.as_millis()).unwrap());
        let started = std::fs::read(dir.join("stdout.log")).unwrap_or_default();
        if started.is_empty() {
            stats.lost_before_job += 1;
        } else {
            stats.lost_during_job += 1;
        }
    } else {
        assert_eq!(recorded, i64::from(exit), "true exit code: {result:?}");
        let expected = if exit == 0 { "success" } else { "failure" };
        assert_eq!(recorded_status, expected);
        assert_eq!(result["synthetic"].as_bool(), Some(false));
        stats.real += 1;
    }
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .count();
    if leftovers > 0 {
        stats.mid_write += 1;
    }
    // A second look changes nothing: no synthetic result over a real one, nor the reverse.
    let again = output_within(&mut wait_cmd(csa, &id), HANG);
    assert_eq!(code(&again), code(&out));
    assert_eq!(std::fs::read(dir.join("result.toml")).unwrap(), bytes);
    // The job may outlive its supervisor; end it.
    signal_group(supervisor, 9);
    stats.trials += 1;
}

fn report(name: &str, stats: &KillStats) {
    let mut latencies = stats.lost_latency_ms.clone();
    latencies.sort_unstable();
    let pick = |q: usize| {
        latencies.get((latencies.len() * q / 100).min(latencies.len().saturating_sub(1)))
    };
    eprintln!(
        "{name}: {} trials: {} real results, {} lost before the job, {} lost during the job, \
         {} killed mid-write; lost latency ms p50={:?} p95={:?} max={:?}",
        stats.trials,
        stats.real,
        stats.lost_before_job,
        stats.lost_during_job,
        stats.mid_write,
        pick(50),
        pick(95),
        latencies.last()
    );
}

/// Lost results must follow the supervisor's death within [`LOST_WITHIN`]. A loaded
/// machine can deschedule the waiter, so single outliers are tolerated: the median must
/// meet the bound and nine in ten trials too.
fn assert_lost_promptly(stats: &KillStats) {
    let slow = stats
        .lost_latency_ms
        .iter()
        .filter(|&&ms| ms > u64::try_from(LOST_WITHIN.as_millis()).unwrap())
        .count();
    assert!(
        slow * 10 <= stats.lost_latency_ms.len(),
        "{slow} of {} lost results came later than {LOST_WITHIN:?} after the supervisor died",
        stats.lost_latency_ms.len()
    );
}

#[test]
fn supervisor_killed_at_random_moments() {
    let csa = Csa::new();
    let mut rng = rng("supervisor_killed_at_random_moments");
    let mut stats = KillStats::default();
    for _ in 0..kill_trials(40) {
        kill_trial(&csa, &mut rng, &mut stats);
    }
    report("supervisor_killed_at_random_moments", &stats);
    assert!(stats.real > 0 && stats.lost_before_job + stats.lost_during_job > 0);
    assert_lost_promptly(&stats);
}

#[test]
fn job_killed_by_each_signal() {
    let csa = Csa::new();
    let cwd = tempfile::tempdir().unwrap();
    let cwd = cwd.path().to_str().unwrap();
    for (name, number) in [("KILL", 9), ("TERM", 15), ("SEGV", 11), ("ABRT", 6)] {
        // The job signals itself (no core file: `ulimit -c 0`).
        let id = csa.run_args(&["--cd", cwd, &format!("ulimit -c 0; kill -{name} $$")]);
        assert_signalled(&csa, &id, number);
        // Someone else signals the job's main process.
        let id = csa.run_args(&["--cd", cwd, "--", "sleep", "30"]);
        let supervisor = csa.supervisor_pid(&id);
        let job = job_pid(supervisor);
        signal(job, number);
        assert_signalled(&csa, &id, number);
    }
    // SIGTERM to the whole process group: the supervisor survives it and records the truth.
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    job_pid(supervisor);
    signal_group(supervisor, 15);
    assert_signalled(&csa, &id, 15);
}

/// The PID of the job: the member of the supervisor's process group other than itself.
/// Only once it runs the job's program: between `fork` and `exec` the new process is still
/// a copy of csa, whose Rust runtime ignores a SIGSEGV sent by another process.
fn job_pid(supervisor: i32) -> i32 {
    let mut job = None;
    wait_for(Duration::from_secs(30), "the job to start", || {
        job = crate::support::group_members(supervisor)
            .into_iter()
            .find(|&pid| {
                pid != supervisor
                    && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|comm| comm.trim() == "sleep")
            });
        job.is_some()
    });
    job.unwrap()
}

fn assert_signalled(csa: &Csa, id: &str, number: i32) {
    let out = csa.wait(id);
    assert_eq!(code(&out), 128 + number, "signal {number}");
    let result = csa.result(id).unwrap();
    assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    assert_eq!(result["signal"].as_integer(), Some(i64::from(number)));
    assert_eq!(
        result["exit_code"].as_integer(),
        Some(i64::from(128 + number))
    );
    assert_eq!(result["synthetic"].as_bool(), Some(false));
}

/// `session kill` racing a short job's end: whichever result lands first stands, the
/// other is never written over it, and every look agrees with it.
#[test]
fn kill_races_the_end_of_the_job() {
    let csa = Csa::new();
    let mut rng = rng("kill_races_the_end_of_the_job");
    let (mut real, mut killed) = (0, 0);
    for _ in 0..trials(20, 100) {
        let id = csa.run(&format!("echo started; sleep 0.0{}; exit 3", rng.u8(0..=3)));
        if rng.bool() {
            std::thread::sleep(Duration::from_micros(rng.u64(0..30_000)));
        }
        let grace = if rng.bool() { "0" } else { "1s" };
        let out = csa.output(&["session", "kill", "--session", &id, "--grace", grace]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(csa.session_dir(&id).join("result.toml")).unwrap();
        let result = csa.result(&id).unwrap();
        let exit = result["exit_code"].as_integer().unwrap();
        match result["status"].as_str().unwrap() {
            "failure" => {
                assert_eq!(exit, 3);
                real += 1;
            }
            "signal" => {
                assert!(exit == 137 || exit == 143, "{result:?}");
                killed += 1;
            }
            other => panic!("status {other}: {result:?}"),
        }
        assert_eq!(i64::from(code(&csa.wait(&id))), exit);
        let again = csa.output(&["session", "kill", "--session", &id]);
        assert_exit(&again, 0);
        assert_eq!(
            std::fs::read(csa.session_dir(&id).join("result.toml")).unwrap(),
            bytes
        );
    }
    eprintln!("kill_races_the_end_of_the_job: {real} real results, {killed} killed");
}

/// SIGTERM, SIGHUP, SIGINT (or another signal the supervisor survives) to the session's
/// process group at random moments, from the supervisor's first instant on: it survives
/// them and records the job's true result (docs/exit-codes.md, "Statuses") — never `lost`.
#[test]
fn group_signalled_at_random_moments() {
    let csa = Csa::new();
    let mut rng = rng("group_signalled_at_random_moments");
    let (mut exited, mut signalled, mut not_started) = (0, 0, 0);
    let cwd = tempfile::tempdir().unwrap();
    let cwd = cwd.path().to_str().unwrap();
    for _ in 0..trials(30, 200) {
        let id = csa.run_args(&["--cd", cwd, "ulimit -c 0; exit 3"]);
        let supervisor = csa.supervisor_pid(&id);
        if rng.u8(0..3) != 0 {
            std::thread::sleep(Duration::from_micros(rng.u64(0..10_000)));
        }
        // TERM, HUP, INT, and what `session kill --signal` may send: QUIT, USR1, USR2, ALRM.
        let number = [15, 1, 2, 3, 10, 12, 14][rng.usize(0..7)];
        signal_group(supervisor, number);
        let out = csa.wait(&id);
        let result = csa.result(&id).unwrap();
        assert_eq!(result["synthetic"].as_bool(), Some(false), "{result:?}");
        match result["status"].as_str().unwrap() {
            "failure" => exited += 1,
            "signal" => {
                assert_eq!(result["signal"].as_integer(), Some(i64::from(number)));
                signalled += 1;
                let reason = result.get("reason").and_then(|r| r.as_str());
                if reason.is_some_and(|r| r.contains("before the job started")) {
                    not_started += 1;
                }
            }
            other => panic!("status {other} after signal {number}: {result:?}"),
        }
        assert_eq!(
            i64::from(code(&out)),
            result["exit_code"].as_integer().unwrap()
        );
    }
    eprintln!(
        "group_signalled_at_random_moments: {exited} exited, {signalled} signalled \
         ({not_started} before the job started)"
    );
    // The supervisor starts with those signals blocked; the job must not inherit that.
    let id = csa.run_with("-- grep ^SigBlk", "/proc/self/status");
    let out = csa.wait(&id);
    assert_eq!(out.stdout, b"SigBlk:\t0000000000000000\n");
}

/// `csa run --no-daemon` is its own supervisor; killed with SIGKILL, the session is lost.
#[test]
fn foreground_supervisor_killed() {
    let csa = Csa::new();
    let mut command = csa.cmd();
    command.args(["run", "--no-daemon", "sleep 30"]);
    let foreground = background(command);
    let mut id = String::new();
    wait_for(Duration::from_secs(30), "the foreground session", || {
        let ids = csa.session_ids();
        ids.first().is_some_and(|found| {
            id.clone_from(found);
            csa.session_dir(found).join("daemon.pid").exists()
        })
    });
    let pid = csa.supervisor_pid(&id);
    assert_eq!(u32::try_from(pid).unwrap(), foreground.pid);
    signal(pid, 9);
    let out = csa.wait(&id);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("lost"));
    assert_eq!(foreground.join().status.code(), None);
    for member in crate::support::group_members(pid) {
        signal(member, 9);
    }
}

/// Orphans reaped late: this test process stays untouched; a helper process becomes a
/// child subreaper that never reaps, so every killed supervisor stays a zombie while
/// `wait` judges it. A zombie is not alive.
#[test]
fn zombie_supervisors_are_not_alive() {
    let out = output_within(&mut crate::support_faults::helper("zombie"), HANG);
    assert_success(&out, "zombie helper");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| l.starts_with("zombie_helper:")) {
        eprintln!("{line}");
    }
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("zombie helper: ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs in the helper process (see [`zombie_supervisors_are_not_alive`]).
pub fn zombie_helper() {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .expect("become a child subreaper");
    let csa = Csa::new();
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    signal(supervisor, 9);
    wait_for(
        Duration::from_secs(30),
        "the supervisor to be a zombie",
        || state(supervisor) == Some('Z'),
    );
    let out = csa.wait(&id);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("lost"));
    assert_eq!(state(supervisor), Some('Z'), "still unreaped while judged");
    signal_group(supervisor, 9);
    // `session kill` under late reaping: the supervisor it stops stays a zombie, and the
    // stop must still complete (not wait for a zombie to vanish) with a recorded result.
    for (grace, status) in [("0", "signal"), ("5s", "signal")] {
        let id = csa.run("sleep 30");
        let supervisor = csa.supervisor_pid(&id);
        job_pid(supervisor);
        let out = csa.output(&["session", "kill", "--session", &id, "--grace", grace]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(state(supervisor), Some('Z'), "reaped although nobody reaps");
        assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some(status));
        assert_eq!(
            code(&csa.wait(&id)),
            128 + if grace == "0" { 9 } else { 15 }
        );
    }
    // The random-kill trials with every dead supervisor left unreaped.
    let mut rng = rng("zombie_helper");
    let mut stats = KillStats::default();
    for _ in 0..kill_trials(40).div_ceil(4) {
        kill_trial(&csa, &mut rng, &mut stats);
    }
    report("zombie_helper", &stats);
    println!("zombie helper: ok");
}
