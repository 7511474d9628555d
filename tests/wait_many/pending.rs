//! Sessions still pending when the wait stops: at the cap, `SESSION_WAIT_KV_WARM` names
//! exactly them; a lost session among many is reported at once while the rest are waited for.

use std::process::{Command, Stdio};

use super::{Waiter, completed, summary, value, wait_result};
use crate::support::{
    Csa, Gate, HANG, assert_contains, code, directive, output_within, stderr, stdout, wait_for,
};
use crate::support_faults::signal;

#[test]
fn at_the_cap_kv_warm_names_exactly_the_sessions_still_pending() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new()];
    let quick = csa.run("echo quick; exit 6");
    wait_result(&csa, &quick);
    let b = csa.run(&format!("{}; echo b", gates[0].pass()));
    let c = csa.run(&format!("{}; echo c", gates[1].pass()));
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", &quick, &b, &c, "--tail", "5"])
            .env("CSA_TEST_WAIT_CAP_MS", "500"),
        HANG,
    );
    let err = stderr(&out);
    // The session that failed before the cap decides the exit code.
    assert_eq!(code(&out), 6, "{err}");
    assert_eq!(stdout(&out), "quick\n");
    assert_eq!(completed(&err), [quick]);
    let warm = directive(&err, "SESSION_WAIT_KV_WARM").expect("KV_WARM");
    assert_eq!(value(warm, "id"), format!("{b},{c}"), "{warm}");
    assert_eq!(value(warm, "status"), "alive,alive", "{warm}");
    assert_eq!(value(warm, "pending"), "2", "{warm}");
    let hint = directive(&err, "CALLER_HINT").expect("CALLER_HINT");
    assert_contains(hint, &["action=retry_wait"]);
    assert!(
        summary(&err).contains("total=3 success=0 failed=1 pending=2 exit=6"),
        "{err}"
    );
    // `cmd` as printed, pasted into a shell, waits for exactly the rest with the same
    // options.
    let cmd = warm.split_once(" cmd=\"").unwrap().1.trim_end_matches('"');
    let cmd = cmd.replace("\\\"", "\"").replace("\\\\", "\\");
    assert_contains(&cmd, &[" session wait --tail 5 "]);
    for gate in &mut gates {
        gate.open();
    }
    let again = output_within(
        Command::new("sh")
            .args(["-c", &cmd])
            .env_remove("CSA_STATE_DIR")
            .stdin(Stdio::null()),
        HANG,
    );
    let err = stderr(&again);
    assert_eq!(code(&again), 0, "{err}");
    let mut rest = completed(&err);
    rest.sort();
    let mut wanted = vec![b, c];
    wanted.sort();
    assert_eq!(rest, wanted, "{err}");
    assert!(summary(&err).contains("total=2 success=2"), "{err}");

    // Nothing ended before the cap: 0, as for one session.
    let mut gate = Gate::new();
    let d = csa.run(&gate.pass());
    let e = csa.run(&gate.pass());
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", "--any", &d, &e])
            .env("CSA_TEST_WAIT_CAP_MS", "300"),
        HANG,
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let warm = directive(&err, "SESSION_WAIT_KV_WARM").expect("KV_WARM");
    assert_contains(warm, &[&format!(" session wait --any {d} {e}\"")]);
    gate.open();
}

/// A supervisor killed with SIGKILL among many sessions is reported `lost` while the wait goes on
/// waiting for the others.
#[test]
fn a_lost_session_among_many_is_reported_at_once() {
    for mode in ["threads", "inotify", "poll"] {
        let csa = Csa::new();
        let mut gate = Gate::new();
        let ids: Vec<String> = (0..12)
            .map(|_| csa.run_with("--tag fleet", &gate.pass()))
            .collect();
        let waiter = Waiter::start(
            &csa,
            &["--tag", "fleet", "--until-done"],
            &[("CSA_TEST_WAIT_MODE", mode)],
        );
        let victim = &ids[5];
        signal(csa.supervisor_pid(victim), 9);
        wait_for(HANG, "the lost session's COMPLETED line", || {
            waiter.stderr_has(&format!("COMPLETED id={victim} status=lost"))
        });
        assert!(
            csa.result(&ids[0]).is_none(),
            "{mode}: the others still run"
        );
        gate.open();
        let (status, _, err) = waiter.finish();
        assert_eq!(status, 1, "{mode}: {err}");
        assert_eq!(completed(&err).len(), 12, "{mode}: {err}");
        assert_eq!(completed(&err)[0], *victim, "{mode}");
        assert!(
            summary(&err).contains("total=12 success=11 failed=1 pending=0 exit=1"),
            "{mode}: {err}"
        );
        csa.kill_group(victim);
    }
}
