//! Dependencies: `csa run --after ID`.

use crate::support::{
    Csa, Gate, assert_contains, assert_error, assert_exit, assert_output, assert_record, stdout,
};

fn field(csa: &Csa, id: &str, key: &str) -> String {
    csa.result(id).unwrap()[key].as_str().unwrap().to_owned()
}

#[test]
fn a_job_starts_after_its_dependencies_succeed() {
    let csa = Csa::new();
    let first = csa.run("sleep 0.3; echo first");
    let second = csa.run("sleep 0.1; echo second");
    let last = csa.run_args(&[
        "--after",
        &first,
        "--after",
        &second[second.len() - 6..],
        "echo last",
    ]);
    let out = csa.wait(&last);
    assert_output(&out, 0, "last\n");
    for dependency in [&first, &second] {
        assert!(field(&csa, &last, "started_at") >= field(&csa, dependency, "finished_at"));
    }
    let record: toml::Table = std::fs::read_to_string(csa.session_dir(&last).join("session.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let after: Vec<&str> = record["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(after, [first.as_str(), second.as_str()]);
}

#[test]
fn a_failed_dependency_skips_a_chain_of_three() {
    let csa = Csa::new();
    let marker = csa.state.path().join("ran");
    let failing = csa.run("sleep 0.2; exit 3");
    let mut chain = vec![failing.clone()];
    for _ in 0..3 {
        let previous = chain.last().unwrap().clone();
        chain.push(csa.run_args(&[
            "--after",
            &previous,
            &format!("touch '{}'", marker.display()),
        ]));
    }
    let out = csa.wait(chain.last().unwrap());
    assert_error(&out, 1, "status=skipped");
    for (i, id) in chain.iter().enumerate().skip(1) {
        let result = csa.result(id).unwrap();
        assert_record(&result, "status = 'skipped', exit_code = 1");
        let reason = result["reason"].as_str().unwrap();
        let expected = if i == 1 {
            "status failure (exit 3)"
        } else {
            "status skipped (exit 1)"
        };
        assert!(
            reason.contains(&chain[i - 1]) && reason.contains(expected),
            "{reason}"
        );
    }
    assert!(!marker.exists(), "a skipped job ran");
}

#[test]
fn a_lost_dependency_skips_and_a_dependency_takes_a_slot_only_once_met() {
    let csa = Csa::new();
    let doomed = csa.run("sleep 60");
    let mut gate = Gate::new();
    let blocker = csa.run_with("--queue q", &gate.pass());
    // Waits for `doomed`, not in the queue yet: `free` gets the slot after `blocker`.
    let dependent = csa.run_args(&["--queue", "q", "--after", &doomed, "echo dependent"]);
    let free = csa.run_with("--queue q", "echo free");
    gate.open();
    assert_eq!(stdout(&csa.wait(&free)), "free\n");
    crate::support_faults::signal(csa.supervisor_pid(&doomed), 9);
    let out = csa.wait(&dependent);
    assert_exit(&out, 1);
    let reason = field(&csa, &dependent, "reason");
    assert_contains(&reason, &["status lost"]);
    assert_exit(&csa.wait(&blocker), 0);
    csa.kill_group(&doomed);
}

#[test]
fn killing_a_session_that_waits_for_a_dependency_never_starts_it() {
    let csa = Csa::new();
    let first = csa.run("sleep 60");
    let second = csa.run_args(&["--after", &first, "echo never"]);
    crate::support::wait_for(std::time::Duration::from_secs(30), "queued", || {
        stdout(&csa.output(&["session", "result", "--session", &second])).contains("queued")
    });
    let out = csa.output(&["session", "kill", "--session", &second]);
    assert_exit(&out, 0);
    let reason = field(&csa, &second, "reason");
    assert_contains(&reason, &["never started"]);
    assert_eq!(stdout(&csa.wait(&second)), "");
    let out = csa.output(&["session", "kill", "--session", &first, "--grace", "0"]);
    assert_exit(&out, 0);
}

#[test]
fn an_unknown_dependency_is_a_usage_error_before_any_session_is_created() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--after", "01JD4K9V0Q6Y3M8T2B5N7R1XWE", "true"]);
    assert_error(&out, 2, "--after");
    csa.assert_no_session("an unknown dependency");
}
