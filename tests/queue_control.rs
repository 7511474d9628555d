//! `csa queue pause|resume|rm`, and queues that are empty and unused left out of
//! `queue list`.

use crate::support::{
    Csa, Gate, HANG, assert_error, code, directive, output_within, stderr, stdout, wait_for,
};

fn queue_json(csa: &Csa, all: bool) -> serde_json::Value {
    let mut args = vec!["queue", "list", "--json"];
    if all {
        args.push("--all");
    }
    let out = csa.output(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status(csa: &Csa, id: &str) -> String {
    csa.result(id).map_or_else(
        || {
            let out = csa.output(&["session", "result", "--json", id]);
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            json["status"].as_str().unwrap().to_owned()
        },
        |result| result["status"].as_str().unwrap().to_owned(),
    )
}

/// Queue `builds` with `slots` slots and a session in it whose job waits at the gate
/// returned (it holds a slot once its supervisor has taken one).
fn holding_a_slot(csa: &Csa, slots: u32) -> (Gate, String) {
    let gate = Gate::new();
    let slots = slots.to_string();
    assert_eq!(code(&csa.output(&["queue", "slots", "builds", &slots])), 0);
    let id = csa.run_args(&["--queue", "builds", &gate.pass()]);
    (gate, id)
}

#[test]
fn a_paused_queue_keeps_its_waiters_in_order_and_its_running_jobs_go_on() {
    let csa = Csa::new();
    let (mut gate, running) = holding_a_slot(&csa, 1);
    wait_for(HANG, "the first job to run", || {
        status(&csa, &running) == "running"
    });
    let out = csa.output(&["queue", "pause", "builds"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("paused"), "{}", stderr(&out));
    let log = csa.state.path().join("order.log");
    let second = csa.run_args(&[
        "--queue",
        "builds",
        &format!("echo 2 >> '{}'", log.display()),
    ]);
    let third = csa.run_args(&[
        "--queue",
        "builds",
        &format!("echo 3 >> '{}'", log.display()),
    ]);
    let queues = queue_json(&csa, false);
    assert_eq!(queues[0]["paused"], true);
    assert_eq!(queues[0]["waiting"], serde_json::json!([second, third]));
    let out = csa.output(&["queue", "list"]);
    assert!(stdout(&out).contains("paused"), "{}", stdout(&out));
    let out = csa.output(&["session", "result", "--json", &second]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["waiting_for"].as_str().unwrap().contains("paused"),
        "{json}"
    );

    // The running job goes on and ends; the freed slot is not taken while paused.
    gate.open();
    assert_eq!(code(&csa.wait(&running)), 0);
    let out = csa.output(&["queue", "list", "--json"]);
    let queues: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(queues[0]["running"], 0);
    assert_eq!(status(&csa, &second), "queued");
    assert_eq!(status(&csa, &third), "queued");

    let out = csa.output(&["queue", "resume", "builds"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&csa.wait(&second)), 0);
    assert_eq!(code(&csa.wait(&third)), 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "2\n3\n");
    assert_eq!(queue_json(&csa, false)[0]["paused"], false);
}

#[test]
fn queue_rm_is_refused_while_sessions_run_or_wait_in_it() {
    let csa = Csa::new();
    let (mut gate, running) = holding_a_slot(&csa, 3);
    assert_error(
        &csa.output(&["queue", "rm", "builds"]),
        1,
        "not removing queue builds",
    );
    assert_eq!(queue_json(&csa, false)[0]["name"], "builds");
    gate.open();
    assert_eq!(code(&csa.wait(&running)), 0);
    let out = csa.output(&["queue", "rm", "builds"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(queue_json(&csa, true), serde_json::json!([]));
    let out = csa.output(&["queue", "rm", "builds"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    // The queue can be used again, anew (the default slot count).
    let again = csa.run_args(&["--queue", "builds", "true"]);
    assert_eq!(code(&csa.wait(&again)), 0);
    assert_eq!(queue_json(&csa, false)[0]["slots_set"], false);
}

/// `queue rm` right after `run --queue`, again and again: the session is waiting for its
/// slot or has just taken it, and `rm` refuses every time. (A look read the slots before
/// the waiting entries: a session that took its slot between the two reads was in
/// neither, and `rm` removed the queue its job had just started in — about 1 run in 300
/// on a loaded machine.)
#[test]
fn queue_rm_never_misses_a_session_that_just_took_a_slot() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let mut ids = Vec::new();
    for n in 0..20 {
        let queue = format!("q{n}");
        assert_eq!(code(&csa.output(&["queue", "slots", &queue, "3"])), 0);
        ids.push(csa.run_args(&["--queue", &queue, &gate.pass()]));
        assert_error(
            &csa.output(&["queue", "rm", &queue]),
            1,
            &format!("not removing queue {queue}"),
        );
    }
    gate.open();
    for id in &ids {
        assert_eq!(code(&csa.wait(id)), 0);
    }
}

#[test]
fn empty_queues_unused_for_a_week_are_not_listed() {
    let csa = Csa::new();
    assert_eq!(code(&csa.output(&["queue", "slots", "old", "2"])), 0);
    assert_eq!(code(&csa.output(&["queue", "slots", "new", "2"])), 0);
    let old = csa.state.path().join("queues").join("old");
    let week_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 24 * 3600);
    std::fs::File::open(&old)
        .unwrap()
        .set_modified(week_ago)
        .unwrap();
    let names = |json: serde_json::Value| -> Vec<String> {
        json.as_array()
            .unwrap()
            .iter()
            .map(|queue| queue["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(queue_json(&csa, false)), ["new"]);
    assert_eq!(names(queue_json(&csa, true)), ["new", "old"]);
}

/// `queue list --help` names the columns `queue list` prints, and the one that says a queue
/// is paused.
#[test]
fn queue_list_help_names_the_columns_it_prints() {
    let csa = Csa::new();
    assert_eq!(code(&csa.output(&["queue", "pause", "q"])), 0);
    let out = csa.output(&["queue", "list"]);
    let list = stdout(&out);
    let header = list.lines().next().expect("a header");
    assert!(list.contains("paused"), "{list}");
    let help = stdout(&csa.output(&["queue", "list", "--help"]));
    let said = help.lines().next().unwrap();
    let named: Vec<&str> = said
        .trim_start_matches("List the queues: ")
        .split([',', ' '])
        .filter(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase()))
        .collect();
    assert_eq!(
        named,
        header.split_whitespace().collect::<Vec<_>>(),
        "{said}"
    );
}

/// At `wait`'s cap, a session waiting in a paused queue reads `queued`, `waiting_for` says the
/// queue is paused and how to resume it, and the hint does not call it running.
#[test]
fn a_wait_at_the_cap_on_a_paused_queue_says_queued_not_running() {
    let csa = Csa::new();
    assert_eq!(code(&csa.output(&["queue", "pause", "builds"])), 0);
    let id = csa.run_args(&["--queue", "builds", "true"]);
    let out = output_within(
        csa.cmd()
            .env("CSA_TEST_WAIT_CAP_MS", "300")
            .args(["session", "wait", "--session", &id]),
        HANG,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let warm = directive(&err, "SESSION_WAIT_KV_WARM").expect("KV_WARM at the cap");
    assert!(warm.contains(" status=queued "), "{warm}");
    assert!(warm.contains("csa queue resume builds"), "{warm}");
    let hint = directive(&err, "CALLER_HINT").expect("CALLER_HINT");
    assert!(hint.contains("action=retry_wait"), "{hint}");
    assert!(!hint.contains("running"), "{hint}");
    assert!(hint.contains("has not started"), "{hint}");
}

/// Pausing a queue that does not exist makes it, paused (a way to fill a queue before it
/// starts anything), and says so: a mistyped name does not pass unseen. Pausing a queue
/// that exists says nothing of the kind.
#[test]
fn pausing_a_queue_that_does_not_exist_says_it_was_made() {
    let csa = Csa::new();
    let out = csa.output(&["queue", "pause", "biulds"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("there was no queue biulds"), "{err}");
    assert!(err.contains("csa queue rm biulds"), "{err}");
    assert_eq!(queue_json(&csa, false)[0]["paused"], true);
    assert_eq!(code(&csa.output(&["queue", "slots", "builds", "2"])), 0);
    let err = stderr(&csa.output(&["queue", "pause", "builds"]));
    assert!(!err.contains("there was no queue"), "{err}");
    // A queue a tool's configuration names exists before its first session.
    let err = stderr(&csa.output(&["queue", "pause", "claude"]));
    assert!(!err.contains("there was no queue"), "{err}");
}
