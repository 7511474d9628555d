//! One wait for 1,000 real sessions (its peak memory printed, not asserted).

use std::time::Duration;

use super::{Waiter, completed, summary};
use crate::support::{Csa, Gate, HANG, wait_for};

/// Resident memory of process `pid` (kB): the peak so far (`VmHWM`).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .ok()
}

/// One wait for 1,000 real sessions: each reported once, all succeeded. The wait's peak
/// resident memory is printed (a measurement, not an assertion; see BENCHMARKS.md).
#[test]
fn one_wait_for_a_thousand_sessions() {
    const COUNT: usize = 1000;
    let csa = Csa::new();
    let mut gate = Gate::new();
    let gate_path = gate.path().to_str().unwrap();
    for _ in 0..COUNT {
        csa.run_args(&["--tag", "k", "--", "flock", "-s", gate_path, "true"]);
    }
    let waiter = Waiter::start(&csa, &["--tag", "k", "--until-done"], &[]);
    let pid = waiter.pid();
    // Watching: the inotify instance is open.
    wait_for(HANG, "the wait to watch the sessions", || {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().contains("inotify"))
            })
        })
    });
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kb) = peak_rss_kb(pid) {
            peak = kb;
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    gate.open();
    let (status, _, err) = waiter.finish();
    let peak = sampler.join().unwrap();
    assert_eq!(status, 0, "{}", err.lines().last().unwrap_or(""));
    let mut ids = completed(&err);
    assert_eq!(ids.len(), COUNT);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), COUNT, "a session was reported twice");
    assert!(summary(&err).contains("total=1000 success=1000 failed=0 pending=0 exit=0"));
    println!("wait for {COUNT} sessions: peak RSS {peak} kB");
}
