//! A tree stops as one (docs/fleets.md, "Session trees"): the stop is decided for the whole
//! tree before the first signal, so every session reads `signal` whatever its job did once
//! its children died; no session starts under a session being stopped; a finished session
//! never gains children; and a nested `csa run` lands in its parent's store.

use crate::support::{Csa, HANG, assert_reason, code, stderr, stdout};
use crate::tree::{named, record, script};

/// The result's status and reason.
fn ending(csa: &Csa, id: &str) -> (String, String) {
    let result = csa
        .result(id)
        .unwrap_or_else(|| panic!("no result for {id}"));
    (
        result["status"].as_str().unwrap_or("").to_owned(),
        result
            .get("reason")
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_owned(),
    )
}

/// An orchestrator that waits on its children (`session wait --tag`) and is killed: its
/// children are stopped first, its wait returns and it exits 143 before its own signal —
/// and it reads `signal`, with a reason naming the kill; `kill` never says it had already
/// finished.
#[test]
fn a_killed_orchestrator_reads_as_killed_though_its_job_ended_first() {
    let csa = Csa::new();
    let bin = env!("CARGO_BIN_EXE_csa");
    let orchestrator = csa.run_args(&[
        "--name",
        "orch",
        &format!(
            "'{bin}' run --tag kids --name a 'sleep 300' >/dev/null 2>&1; '{bin}' run --tag kids --name b 'sleep 300' >/dev/null 2>&1; '{bin}' session wait --tag kids --until-done"
        ),
    ]);
    let kids = [named(&csa, "a"), named(&csa, "b")];
    let out = csa.output(&["session", "kill", "--session", &orchestrator]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        !said.contains("already finished") && !said.contains("nothing signalled"),
        "{said}"
    );
    let (status, reason) = ending(&csa, &orchestrator);
    assert_eq!(status, "signal", "{reason}");
    assert!(reason.starts_with("killed by csa session kill"), "{reason}");
    for kid in &kids {
        let (status, reason) = ending(&csa, kid);
        assert_eq!(status, "signal", "{reason}");
        assert!(
            reason.contains(&format!("kill of ancestor session {orchestrator}")),
            "{reason}"
        );
    }
}

/// Writes top → middle → bottom, where the middle node starts the bottom one and waits for
/// it (`session wait`), so that it ends on its own once the bottom one is stopped.
fn waiting_middle(csa: &Csa, top_args: &[&str]) -> [String; 3] {
    let bin = env!("CARGO_BIN_EXE_csa");
    let middle = script(
        csa,
        "middle.sh",
        &format!(
            "id=$('{bin}' run --name bottom 'sleep 300' 2>/dev/null)\n'{bin}' session wait --until-done --session \"$id\"\n"
        ),
    );
    let top = script(
        csa,
        "top.sh",
        &format!("'{bin}' run --name middle \"{middle}\" >/dev/null 2>&1; sleep 300 & wait\n"),
    );
    let mut args = vec!["--name", "top"];
    args.extend_from_slice(top_args);
    args.push(&top);
    let top = csa.run_args(&args);
    [top, named(csa, "middle"), named(csa, "bottom")]
}

/// A middle node whose job waits on its child reads `signal` with the kill's reason when the
/// root is killed, not the `failure` its job returned once its child died.
#[test]
fn a_middle_node_that_waits_on_its_child_reads_as_killed() {
    let csa = Csa::new();
    let [top, middle, bottom] = waiting_middle(&csa, &[]);
    let out = csa.output(&["session", "kill", "--session", &top]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for id in [&middle, &bottom] {
        let (status, reason) = ending(&csa, id);
        assert_eq!(status, "signal", "session {id}: {reason}");
        assert!(
            reason.contains(&format!("csa session kill of ancestor session {top}")),
            "{reason}"
        );
    }
    let (status, _) = ending(&csa, &top);
    assert_eq!(status, "signal");
}

/// The same under the root's `--timeout`: the root reads `timeout`, the middle node and the
/// bottom one read `signal` with a reason naming the root's timeout.
#[test]
fn under_a_timeout_a_middle_node_that_waits_on_its_child_reads_as_stopped() {
    let csa = Csa::new();
    let [top, middle, bottom] = waiting_middle(&csa, &["--timeout", "3s"]);
    let out = csa.wait(&top);
    assert_eq!(code(&out), 124, "{}", stderr(&out));
    for id in [&middle, &bottom] {
        let out = csa.wait(id);
        assert_eq!(code(&out), 143, "{}", stderr(&out));
        let result = csa.result(id).unwrap();
        assert_eq!(result["status"].as_str(), Some("signal"), "{result:?}");
        assert_reason(
            &result,
            &[&format!("the timeout of ancestor session {top}")],
        );
    }
}

/// A `csa run` inside a session that is being stopped starts nothing: it is refused with
/// one line naming the session being stopped, exit 128 + N (143 for SIGTERM), and no
/// session is created — here a job that traps SIGTERM retries its child again and again
/// during the grace period.
#[test]
fn no_session_starts_under_a_session_being_stopped() {
    let csa = Csa::new();
    let bin = env!("CARGO_BIN_EXE_csa");
    let log = csa.state.path().join("tries.log");
    let top = csa.run_args(&[
        "--name",
        "top",
        &format!(
            "trap '' TERM; while :; do id=$('{bin}' run --name attempt 'sleep 300' 2>>'{log}'); echo \"exit $?\" >> '{log}'; '{bin}' session wait --until-done --session \"$id\" >/dev/null 2>&1; done",
            log = log.display()
        ),
    ]);
    let first = named(&csa, "attempt");
    let out = csa.output(&["session", "kill", "--session", &top, "--grace", "2s"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let tries = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        tries.contains(&format!(
            "csa: not starting a session: its parent session {top} is being stopped (csa session kill)"
        )) && tries.contains("exit 143"),
        "{tries}"
    );
    assert_eq!(csa.session_ids().len(), 2, "{tries}");
    for id in [&top, &first] {
        let (status, reason) = ending(&csa, id);
        assert_eq!(status, "signal", "session {id}: {reason}");
    }
    for id in csa.session_ids() {
        assert!(
            crate::support::carrying(&id).is_empty(),
            "processes of session {id} survive"
        );
    }
}

/// A `CSA_SESSION_ID` of a session that has ended adopts nothing: `run` says so on stderr
/// (one line) and starts the session without a parent; killing the old session leaves the
/// new one running.
#[test]
fn a_finished_session_never_gains_children() {
    let csa = Csa::new();
    let old = csa.run("true");
    assert_eq!(code(&csa.wait(&old)), 0);
    let out = crate::support::output_within(
        csa.cmd()
            .env("CSA_SESSION_ID", &old)
            .args(["run", "sleep 300"]),
        HANG,
    );
    let new = crate::support::started_id(&out);
    let said = stderr(&out);
    let notes: Vec<&str> = said.lines().filter(|l| l.starts_with("csa:")).collect();
    assert_eq!(notes.len(), 1, "{said}");
    assert!(
        notes[0].contains(&old)
            && notes[0].contains("has ended")
            && notes[0].contains("without a parent"),
        "{said}"
    );
    assert!(record(&csa, &new).get("parent").is_none());
    assert!(!csa.session_dir(&old).join("children").join(&new).exists());
    let out = csa.output(&["session", "kill", "--session", &old]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = csa.output(&["session", "result", "--session", &new]);
    assert!(
        stdout(&out).contains("status = \"running\""),
        "{}",
        stdout(&out)
    );
    csa.kill_group(&new);
}

/// A relative `CSA_STATE_DIR` reaches the job made absolute: a `csa run` inside it, after
/// `--cd` elsewhere, lands in the same store as the job's child, and a kill of the parent
/// stops it.
#[test]
fn a_relative_state_root_keeps_a_tree_in_one_store() {
    let csa = Csa::new();
    let bin = env!("CARGO_BIN_EXE_csa");
    let state = csa.state.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = crate::support::output_within(
        csa.cmd()
            .current_dir(state.parent().unwrap())
            .env("CSA_STATE_DIR", state.file_name().unwrap())
            .args([
                "run",
                "--cd",
                elsewhere.path().to_str().unwrap(),
                "--name",
                "top",
                &format!(
                    "echo \"$CSA_STATE_DIR\" > root.txt; '{bin}' run --name child 'sleep 300' >/dev/null 2>&1; sleep 300"
                ),
            ]),
        HANG,
    );
    let top = crate::support::started_id(&out);
    let child = named(&csa, "child");
    assert_eq!(record(&csa, &child)["parent"].as_str(), Some(top.as_str()));
    let seen = std::fs::read_to_string(elsewhere.path().join("root.txt")).unwrap();
    assert_eq!(
        std::path::Path::new(seen.trim()),
        state,
        "the job's CSA_STATE_DIR"
    );
    let out = csa.output(&["session", "kill", "--session", &top]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (status, _) = ending(&csa, &child);
    assert_eq!(status, "signal");
    assert!(!elsewhere.path().join(state.file_name().unwrap()).exists());
}
