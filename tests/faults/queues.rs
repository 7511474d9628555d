//! A busy queue under random crashes: sessions whose supervisor (with its job) is killed
//! with SIGKILL while they run or while they wait. No wait hangs, no session is stuck queued behind a
//! dead one, and never do more jobs run at once than the queue has slots.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{background, code, wait_cmd};
use crate::support::{Csa, assert_exit, group_members, wait_for};
use crate::support_faults::{rng, signal_group, trials};

const SLOTS: usize = 3;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn random_crashes_in_a_busy_queue() {
    let csa = Csa::new();
    let mut rng = rng("random_crashes_in_a_busy_queue");
    let sessions = trials(30, 200);
    let kills = trials(8, 60);
    let log = csa.state.path().join("events.log");
    let out = csa.output(&["queue", "slots", "busy", &SLOTS.to_string()]);
    assert_exit(&out, 0);
    let ids: Vec<String> = (0..sessions)
        .map(|_| {
            let pause = rng.u32(5..60);
            let script = format!(
                "echo \"+ $(date +%s%N) $CSA_SESSION_ID\" >> '{0}'; sleep 0.0{pause:02}; echo \"- $(date +%s%N) $CSA_SESSION_ID\" >> '{0}'",
                log.display()
            );
            csa.run_with("--queue busy", &script)
        })
        .collect();
    // Everyone waits from the start, as an orchestrator would.
    let waiters: Vec<_> = ids
        .iter()
        .map(|id| background(wait_cmd(&csa, id)))
        .collect();

    let mut killed_at: HashMap<String, u128> = HashMap::new();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.u64(0..40)));
        let alive: Vec<&String> = ids
            .iter()
            .filter(|id| !killed_at.contains_key(*id))
            .filter(|id| !csa.session_dir(id).join("result.toml").exists())
            .filter(|id| csa.session_dir(id).join("daemon.pid").exists())
            .collect();
        if alive.is_empty() {
            break;
        }
        let victim = alive[rng.usize(..alive.len())].clone();
        let pgid = csa.supervisor_pid(&victim);
        // The job ends (it can write nothing more) the moment SIGKILL is sent; the slot is
        // freed later, when the supervisor is gone. Taking the time after the processes
        // are seen gone would count the next job as overlapping the killed one.
        let sent = now_ns();
        signal_group(pgid, 9);
        wait_for(
            Duration::from_secs(30),
            "the victim's processes to die",
            || group_members(pgid).is_empty(),
        );
        killed_at.insert(victim, sent);
    }

    // No wait hangs (each has a watchdog), and every session ends.
    for (id, waiter) in ids.iter().zip(waiters) {
        let out = waiter.join();
        let status = csa.result(id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if killed_at.contains_key(id) {
            assert!(
                matches!(status.as_str(), "lost" | "success"),
                "{id}: {status}"
            );
        } else {
            assert_eq!(status, "success", "{id}");
            assert_eq!(code(&out), 0, "{id}");
        }
    }

    // Never more jobs running at once than slots: job intervals from the log, a killed
    // job's ending at the moment its processes were gone.
    let (starts, most) = most_at_once(
        &std::fs::read_to_string(&log).unwrap_or_default(),
        &killed_at,
    );
    assert!(
        most <= i32::try_from(SLOTS).unwrap(),
        "{most} jobs ran at once in a {SLOTS}-slot queue"
    );
    let started: HashSet<&String> = starts.keys().collect();
    for id in &ids {
        if !killed_at.contains_key(id) {
            assert!(started.contains(id), "{id} never started");
        }
    }
    let out = csa.output(&["queue", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["running"], 0);
    assert_eq!(rows[0]["queued"], 0);
}

/// The job start times in `log` ("+ NS ID" / "- NS ID" lines), and the most jobs that ran
/// at once; a killed job without an end line ends at its `killed_at` time.
fn most_at_once(log: &str, killed_at: &HashMap<String, u128>) -> (HashMap<String, u128>, i32) {
    let mut starts: HashMap<String, u128> = HashMap::new();
    let mut ends: HashMap<String, u128> = HashMap::new();
    for line in log.lines() {
        let mut parts = line.split(' ');
        let (Some(sign), Some(time), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            continue; // a line cut short by a kill
        };
        let Ok(time) = time.parse::<u128>() else {
            continue;
        };
        if sign == "+" {
            starts.insert(id.to_owned(), time);
        } else {
            ends.insert(id.to_owned(), time);
        }
    }
    let mut events = Vec::new();
    for (id, start) in &starts {
        let end = ends
            .get(id)
            .or_else(|| killed_at.get(id))
            .unwrap_or_else(|| panic!("{id} started, never ended and was not killed"));
        events.push((*start, 1));
        events.push((*end, -1));
    }
    events.sort_unstable();
    let (mut running, mut most) = (0i32, 0i32);
    for (_, change) in events {
        running += change;
        most = most.max(running);
    }
    (starts, most)
}
