//! PID reuse: `daemon.pid` names a process that is not the session's supervisor. Liveness
//! is the lock; `kill` verifies identity and never signals a stranger.

use std::process::{Child, Command};
use std::time::Duration;

use super::code;
use crate::support::{
    Csa, Gated, HANG, assert_exit, directive, output_within, process_alive, wait_for,
};
use crate::support_faults::{signal, signal_group, start_time};

/// An unrelated live process of the same user, in a process group of its own.
struct Stranger {
    child: Child,
    pid: i32,
    start: u64,
}

impl Stranger {
    fn start() -> Self {
        let mut command = Command::new("sleep");
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.arg("300").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let start = start_time(pid).unwrap();
        Self { child, pid, start }
    }

    fn assert_untouched(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the unrelated process was signalled"
        );
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session whose supervisor (and job) were killed with SIGKILL, leaving no result.
fn dead_session(csa: &Csa) -> String {
    let id = csa.run("sleep 30");
    let supervisor = csa.supervisor_pid(&id);
    signal(supervisor, 9);
    signal_group(supervisor, 9);
    wait_for(Duration::from_secs(30), "the supervisor to die", || {
        !process_alive(supervisor)
    });
    id
}

fn kill(csa: &Csa, id: &str) -> std::process::Output {
    csa.output(&["session", "kill", "--session", id, "--grace", "0"])
}

#[test]
fn reused_pid_in_daemon_pid_is_not_believed() {
    let csa = Csa::new();
    let mut stranger = Stranger::start();
    let recorded = [
        format!("{} {}\n", stranger.pid, stranger.start),
        format!("{} {}\n", stranger.pid, stranger.start + 1),
        format!("{}\n", stranger.pid),
    ];
    // A dead supervisor whose PID now belongs to the stranger: `wait` and `kill` both
    // see a finished session (lost) and signal nothing.
    for text in &recorded {
        for look in ["wait", "kill"] {
            let id = dead_session(&csa);
            std::fs::write(csa.session_dir(&id).join("daemon.pid"), text).unwrap();
            let out = if look == "wait" {
                csa.wait(&id)
            } else {
                kill(&csa, &id)
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            match (look, code(&out)) {
                ("wait", 1) | ("kill", 0) => {}
                // A stranger that matches the recorded identity: refused outright.
                ("kill", 125) => assert!(stderr.contains("nothing was signalled"), "{stderr}"),
                (_, other) => panic!("{look} {text:?}: exit {other}: {stderr}"),
            }
            assert_eq!(code(&csa.wait(&id)), 1, "{look} {text:?}");
            assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("lost"));
            stranger.assert_untouched();
        }
    }
    // A live supervisor whose daemon.pid names the stranger: `kill` refuses, and the
    // session keeps running (the lock says so).
    let Gated { mut gate, id, .. } = Gated::run(&csa, "{gate}; exit 7");
    for text in &recorded {
        std::fs::write(csa.session_dir(&id).join("daemon.pid"), text).unwrap();
        let out = kill(&csa, &id);
        assert_eq!(code(&out), 125, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was signalled"));
        stranger.assert_untouched();
    }
    let mut capped = csa.cmd();
    capped
        .args(["session", "wait", "--session", &id])
        .env("CSA_TEST_WAIT_CAP_MS", "300");
    let out = output_within(&mut capped, HANG);
    assert_exit(&out, 0);
    assert!(
        directive(
            &String::from_utf8_lossy(&out.stderr),
            "SESSION_WAIT_KV_WARM"
        )
        .is_some()
    );
    gate.open();
    assert_exit(&csa.wait(&id), 7);
    stranger.assert_untouched();
}

/// `daemon.pid` naming PID 1, this test process, or nonsense: never signalled.
#[test]
fn daemon_pid_naming_init_or_the_caller_is_refused() {
    let csa = Csa::new();
    let me = std::process::id();
    let mine = start_time(i32::try_from(me).unwrap()).unwrap();
    let Gated { mut gate, id, .. } = Gated::run(&csa, "{gate}; exit 0");
    for text in [
        "1 1\n".to_owned(),
        format!("{me} {mine}\n"),
        "0 0\n".to_owned(),
        "-1 5\n".to_owned(),
        String::new(),
    ] {
        std::fs::write(csa.session_dir(&id).join("daemon.pid"), &text).unwrap();
        let out = kill(&csa, &id);
        assert_eq!(code(&out), 125, "{text:?}");
    }
    gate.open();
    assert_exit(&csa.wait(&id), 0);
}
