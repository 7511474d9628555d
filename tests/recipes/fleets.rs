//! The fleet recipes: a CI fan-out of eight jobs, and an agent's tasks through a queue.

use super::{Sandbox, recipe};
use crate::support::{assert_contains, assert_exit, directive, stderr, stdout};

#[test]
fn fleets_ci_recipe_waits_for_eight_jobs_and_exits_with_the_first_failure() {
    let sandbox = Sandbox::new();
    let script = recipe("docs/fleets.md", "fleet-ci");
    let out = sandbox.run(&["sh"], &script, true, &[]);
    assert_all_ran(&out, " ran\n", 8);

    let sandbox = Sandbox::new();
    let env = [("MAKE_FAIL", "integration"), ("MAKE_EXIT", "7")];
    let out = sandbox.run(&["sh"], &script, true, &env);
    assert_exit(&out, 7);
}

#[test]
fn fleets_agent_recipe_runs_every_task_through_the_queue() {
    let sandbox = Sandbox::new();
    let tasks = sandbox.work.path().join("tasks");
    std::fs::create_dir(&tasks).unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        std::fs::write(tasks.join(format!("{name}.md")), format!("review {name}\n")).unwrap();
    }
    let out = sandbox.run(
        &["sh"],
        &recipe("docs/fleets.md", "fleet-agents"),
        true,
        &[],
    );
    assert_all_ran(&out, "codex ran\n", 5);
}

/// The recipe exited 0, printed `line` once per job, and its wait's summary counts `jobs`
/// sessions, all successful.
#[track_caller]
fn assert_all_ran(out: &std::process::Output, line: &str, jobs: usize) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    assert_eq!(stdout(out).matches(line).count(), jobs, "{}", stdout(out));
    let err = stderr(out);
    let summary = directive(&err, "SESSION_WAIT_SUMMARY").expect("summary");
    assert_contains(summary, &[&format!("total={jobs} success={jobs}")]);
}
