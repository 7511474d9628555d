//! The start of a session: `csa run` forks the supervisor and does not wait for its `exec`,
//! so the ID may be printed while the supervisor is still a copy of `run` that has not yet
//! led its own process group. SIGKILLs of `run` and of that child at random moments, and a
//! `session kill` at once after the ID, check that every promise holds from the moment the
//! ID is printed.

use std::io::Read as _;
use std::time::Duration;

use super::{code, wait_cmd};
use crate::support::{Csa, HANG, group_members, output_within, stderr};
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

/// `session kill` the moment `csa run` has printed the ID — often before the forked
/// supervisor has even run — stops the session: `kill` exits 0, the result is `signal`,
/// and no process of the session is left. The job never outlives the kill.
#[test]
fn kill_at_once_after_the_id_stops_the_session() {
    let csa = Csa::new();
    let marker = csa.state.path().join("job-ran");
    for _ in 0..trials(20, 100) {
        let id = csa.run(&format!("touch '{}'; exec sleep 60", marker.display()));
        let kill = output_within(
            csa.cmd()
                .args(["session", "kill", "--session", &id, "--grace", "5s"]),
            HANG,
        );
        assert_eq!(code(&kill), 0, "{}", stderr(&kill));
        let result = csa.result(&id).expect("a result after kill");
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        let supervisor = csa.supervisor_pid(&id);
        assert!(
            group_members(supervisor).is_empty(),
            "processes of session {id} survive its kill"
        );
        let wait = output_within(&mut wait_cmd(&csa, &id), HANG);
        assert_eq!(code(&wait), 143, "{}", stderr(&wait));
    }
}

/// `session kill` of a session whose supervisor `csa run` forked but which does not yet lead
/// its own process group (held stopped there with `SIGSTOP`): `kill` waits for it — it
/// neither signals the group the child still shares with `run` nor gives up — and once it
/// runs on, stops the session. Trials where the child had already led its group when
/// caught are skipped.
#[test]
fn kill_waits_for_a_supervisor_still_starting() {
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
            && std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                let pgrp = stat.rsplit(')').next().unwrap().split_whitespace().nth(2);
                pgrp != Some(child.to_string().as_str())
            });
        run.wait().unwrap();
        let id = std::fs::read_to_string(&printed).unwrap().trim().to_owned();
        if !early {
            signal(child, 18); // SIGCONT
            let kill = output_within(
                csa.cmd()
                    .args(["session", "kill", "--session", &id, "--grace", "0"]),
                HANG,
            );
            assert_eq!(code(&kill), 0, "{}", stderr(&kill));
            continue;
        }
        caught += 1;
        let kill = super::background({
            let mut kill = csa.cmd();
            kill.args(["session", "kill", "--session", &id, "--grace", "5s"]);
            kill
        });
        // Let `kill` find the supervisor still starting (it polls, sleeping in between),
        // then let the supervisor go on.
        crate::support::wait_for(HANG, "kill to wait for the supervisor", || {
            sleeping(kill.pid) || !crate::support::process_alive(kill.pid.cast_signed())
        });
        assert!(
            crate::support::process_alive(child),
            "kill must not end a supervisor by signalling the group it shares with run"
        );
        signal(child, 18); // SIGCONT
        let kill = kill.join();
        assert_eq!(code(&kill), 0, "{}", stderr(&kill));
        let result = csa.result(&id).expect("a result after kill");
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        assert!(
            group_members(child).is_empty(),
            "processes of session {id} survive its kill"
        );
    }
    eprintln!(
        "kill_waits_for_a_supervisor_still_starting: {caught} supervisors caught before leading their group in {attempts} attempts"
    );
}

/// True when process `pid` is in `clock_nanosleep` or `nanosleep` (`/proc/<pid>/syscall`).
fn sleeping(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|text| matches!(text.split_whitespace().next(), Some("230" | "35")))
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
