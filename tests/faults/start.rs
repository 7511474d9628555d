//! The start of a session: `csa run` forks the supervisor and does not wait for its `exec`
//! (only for it to lead its own session), so the ID may be printed while the supervisor is
//! still a copy of `run`. SIGKILLs of `run` and of that child at random moments, and a
//! `session kill` at once after the ID, check that every promise holds from the moment the
//! ID is printed.

use std::io::Read as _;
use std::time::Duration;

use super::{code, wait_cmd};
use crate::support::{Csa, HANG, assert_exit, assert_group_empty, output_within, stderr};
use crate::support_faults::{rng, signal, trials};

/// The first child of process `pid` (`/proc/<pid>/task/<pid>/children`), if any.
fn first_child(pid: u32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// `csa run 'exit 2'` with its child (the supervisor, before or after its `exec`) `SIGKILL`ed
/// at a random moment after the fork, and in some trials `run` too: when the ID was
/// printed, `wait` returns (never hangs) with the job's true result or `lost`; when it was
/// not, no session is left in sight. Every session on disk gets an answer.
#[test]
fn run_and_its_child_killed_in_the_start_window() {
    let csa = Csa::new();
    let mut rng = rng("run_and_its_child_killed_in_the_start_window");
    let (mut printed_ids, mut real, mut lost, mut unprinted) = (0, 0, 0, 0);
    for _ in 0..trials(30, 200) {
        let mut run = super::spawn_run(&csa);
        let run_pid = run.id();
        // Catch the fork: poll for the child while `run` lives.
        let mut supervisor = None;
        for _ in 0..20_000 {
            supervisor = first_child(run_pid);
            if supervisor.is_some() || run.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_micros(rng.u64(0..2_000)));
        if let Some(pid) = supervisor {
            signal(pid, 9);
        }
        if rng.bool() {
            signal(i32::try_from(run_pid).unwrap(), 9);
        }
        let mut stdout = String::new();
        run.stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        run.wait().unwrap();
        let Some(id) = stdout.lines().next().map(str::to_owned) else {
            unprinted += 1;
            continue;
        };
        printed_ids += 1;
        let out = output_within(&mut wait_cmd(&csa, &id), HANG);
        let result = csa.result(&id).expect("a result after wait");
        match (code(&out), result["status"].as_str()) {
            (2, Some("failure")) => real += 1,
            (1, Some("lost")) => lost += 1,
            other => panic!("{id}: {other:?}: {}", stderr(&out)),
        }
    }
    // Sessions whose ID was never printed (`run` killed after publishing): still answered.
    for id in csa.session_ids() {
        let out = output_within(&mut wait_cmd(&csa, &id), HANG);
        assert!(
            matches!(code(&out), 1 | 2),
            "{id}: exit {}: {}",
            code(&out),
            stderr(&out)
        );
    }
    eprintln!(
        "run_and_its_child_killed_in_the_start_window: {printed_ids} IDs printed ({real} real, {lost} lost), {unprinted} runs killed before printing"
    );
}

/// `csa session kill --grace 5s` of session `id` succeeds, records a `signal` result and
/// leaves no process in the supervisor's process group.
#[track_caller]
fn kill_stops_the_session(csa: &Csa, id: &str, supervisor: i32) {
    let kill = output_within(
        csa.cmd()
            .args(["session", "kill", "--session", id, "--grace", "5s"]),
        HANG,
    );
    assert_exit(&kill, 0);
    let result = csa.result(id).expect("a result after kill");
    assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
    assert_group_empty(supervisor, &format!("session {id} after its kill"));
}

/// `session kill` the moment `csa run` has printed the ID — often before the forked
/// supervisor has even run — stops the session: `kill` exits 0, the result is `signal`,
/// and no process of the session is left. The job never outlives the kill.
#[test]
fn kill_at_once_after_the_id_stops_the_session() {
    let csa = Csa::new();
    let marker = csa.state.path().join("job-ran");
    for _ in 0..trials(20, 100) {
        let id = csa.run(&format!("touch '{}'; exec sleep 60", marker.display()));
        kill_stops_the_session(&csa, &id, csa.supervisor_pid(&id));
        let wait = output_within(&mut wait_cmd(&csa, &id), HANG);
        assert_exit(&wait, 143);
    }
}

/// A supervisor that `csa run` forked but that does not yet lead its own session (held
/// stopped there with `SIGSTOP`) holds `run` back: no ID is printed before the PID it names
/// is the job's process group and session. Once it runs on, the ID comes and
/// `session kill` stops the session. Trials where the child had already led its session
/// when caught count as not caught.
#[test]
fn run_prints_no_id_before_the_supervisor_leads_its_session() {
    let csa = Csa::new();
    let (mut caught, mut attempts) = (0, 0);
    while caught < trials(3, 10) && attempts < 300 {
        attempts += 1;
        // The ID goes to a file: a child stopped right after the fork still holds what
        // `run` had open at that moment (its own first step lets go of it).
        let printed = csa.state.path().join("printed");
        let mut command = csa.cmd();
        command.args(["run", "exec sleep 60"]);
        command
            .stdout(std::fs::File::create(&printed).unwrap())
            .stderr(std::process::Stdio::null());
        let mut run = command.spawn().unwrap();
        let mut child = None;
        for _ in 0..20_000 {
            child = first_child(run.id());
            if child.is_some() || run.try_wait().unwrap().is_some() {
                break;
            }
        }
        let Some(child) = child else {
            let _ = run.wait();
            continue;
        };
        signal(child, 19); // SIGSTOP
        let early = crate::support_faults::state(child).is_some()
            && crate::procs::stat(child)
                .is_some_and(|(_, pgrp, sid, _)| pgrp != child || sid != child);
        if early {
            caught += 1;
            // `run` waits for its child to lead its session: it is asleep in `read`, and
            // has printed nothing.
            crate::support::wait_for(HANG, "run to wait for its child", || {
                in_syscall(run.id(), READ)
            });
            assert!(
                run.try_wait().unwrap().is_none(),
                "run returned while its child did not lead its own session"
            );
            assert_eq!(std::fs::read_to_string(&printed).unwrap(), "");
        }
        signal(child, 18); // SIGCONT
        assert!(
            crate::support::exited_within(&mut run, HANG).is_some(),
            "run hung"
        );
        let id = std::fs::read_to_string(&printed).unwrap().trim().to_owned();
        let supervisor = csa.supervisor_pid(&id);
        let (_, pgrp, sid, _) = crate::procs::stat(supervisor).expect("the supervisor");
        assert_eq!((pgrp, sid), (supervisor, supervisor), "session {id}");
        kill_stops_the_session(&csa, &id, supervisor);
    }
    eprintln!(
        "run_prints_no_id_before_the_supervisor_leads_its_session: {caught} supervisors caught before leading their session in {attempts} attempts"
    );
}

/// From the moment `csa run` has printed the ID, the PID of `daemon.pid` is the process
/// group ID and the session ID of the job (docs/format.md), even when the forked
/// supervisor is slow to get a CPU: `run`, its child and this test's thread share one CPU
/// with two busy loops, and the supervisor is looked at as soon as `run` returns.
#[test]
fn the_supervisor_leads_its_session_when_run_returns() {
    let cpu = first_allowed_cpu();
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu.parse().unwrap());
    // This test's own thread (the harness runs each test on a thread of its own).
    rustix::thread::sched_setaffinity(None, &set).expect("sched_setaffinity");
    let _spinners = Spinners::start(&cpu, 2);
    let csa = Csa::new();
    for _ in 0..trials(40, 200) {
        let mut command = csa.cmd();
        command.args(["run", "exec sleep 60"]);
        let out = output_within(
            std::process::Command::new("taskset")
                .args(["-c", &cpu])
                .arg(command.get_program())
                .args(command.get_args())
                .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
                .stdin(std::process::Stdio::null()),
            HANG,
        );
        let id = crate::support::started_id(&out);
        let supervisor = csa.supervisor_pid(&id);
        let stat = crate::procs::stat(supervisor);
        csa.kill_group(&id);
        let (_, pgrp, sid, _) = stat.expect("the supervisor");
        assert_eq!(
            (pgrp, sid),
            (supervisor, supervisor),
            "session {id}: the supervisor does not lead its own process group and session yet"
        );
    }
}

/// The first CPU this process may run on (`Cpus_allowed_list` of `/proc/self/status`).
fn first_allowed_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list");
    list.trim().split([',', '-']).next().unwrap().to_owned()
}

/// Busy loops pinned to one CPU, killed when dropped.
struct Spinners(Vec<std::process::Child>);

impl Spinners {
    fn start(cpu: &str, count: usize) -> Self {
        Self(
            (0..count)
                .map(|_| {
                    std::process::Command::new("taskset")
                        .args(["-c", cpu, "sh", "-c", "while :; do :; done"])
                        .stdin(std::process::Stdio::null())
                        .spawn()
                        .expect("taskset (util-linux)")
                })
                .collect(),
        )
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The number of the `read` system call, as `/proc/<pid>/syscall` shows it.
#[cfg(target_arch = "x86_64")]
const READ: &str = "0";
#[cfg(target_arch = "aarch64")]
const READ: &str = "63";

/// True when process `pid` is in system call `number` (`/proc/<pid>/syscall`).
fn in_syscall(pid: u32, number: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|text| text.split_whitespace().next() == Some(number))
}

/// A signal to the caller's process group right after `csa run` returns (`kill -HUP 0`, as a
/// terminal hanging up or a CI runner stopping a step does) never reaches the session, even
/// when its supervisor has not yet left that group: the job runs to its end.
#[test]
fn signals_to_the_callers_group_after_run_do_not_reach_the_session() {
    let csa = Csa::new();
    let exe = env!("CARGO_BIN_EXE_csa");
    let printed = csa.state.path().join("printed");
    for (i, signal) in ["HUP", "TERM", "INT"]
        .iter()
        .cycle()
        .take(trials(15, 60))
        .enumerate()
    {
        // `setsid -w`: the caller's group is a new one, so the test itself is not hit.
        let script = format!(
            "'{exe}' run 'echo ran {i}' > '{}'; kill -{signal} 0",
            printed.display()
        );
        let _ = output_within(
            std::process::Command::new("setsid")
                .args(["-w", "sh", "-c", &script])
                .env("CSA_STATE_DIR", csa.state.path()),
            HANG,
        );
        let id = std::fs::read_to_string(&printed).unwrap().trim().to_owned();
        let out = output_within(&mut wait_cmd(&csa, &id), HANG);
        assert_eq!(code(&out), 0, "SIG{signal}: {}", stderr(&out));
        assert_eq!(out.stdout, format!("ran {i}\n").into_bytes());
    }
}
