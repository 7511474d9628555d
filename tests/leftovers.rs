//! Processes a job leaves behind: `result.toml` records how many of the job's process
//! group were still running when it ended (`leftover_processes`), `wait` says so in one
//! note on stderr, and `list --json` and `result` show it.

use crate::support::{
    Csa, assert_error, assert_exit, assert_output, assert_record, stderr, wait_group_empty,
};

/// The lines of `text` that are csa's notes about leftovers.
fn leftover_notes(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("csa: note: ") && line.contains("still running"))
        .collect()
}

/// `wait` exits with `code`; the result counts no leftover and `wait` notes none.
#[track_caller]
fn assert_nothing_left(csa: &Csa, id: &str, code: i32) {
    let out = csa.wait(id);
    assert_eq!(crate::support::code(&out), code, "{}", stderr(&out));
    assert_record(&csa.result(id).unwrap(), "leftover_processes = 0");
    assert!(leftover_notes(&stderr(&out)).is_empty(), "{}", stderr(&out));
}

#[test]
fn background_children_that_outlive_the_job_are_counted_and_reported() {
    let csa = Csa::new();
    let id = csa.run("sleep 1000 & nohup sleep 1000 >/dev/null 2>&1 & echo done");
    let out = csa.wait(&id);
    assert_output(&out, 0, "done\n");
    let result = csa.result(&id).unwrap();
    assert_record(&result, "status = 'success', leftover_processes = 2");
    let text = stderr(&out);
    let notes = leftover_notes(&text);
    assert_eq!(notes.len(), 1, "{text}");
    assert!(
        notes[0].starts_with(&format!(
            "csa: note: 2 processes of session {id} were still running when its job ended"
        )) && notes[0].contains(&format!("csa session kill --session {id}")),
        "{text}"
    );
    // The note comes before the completion directive, the last line.
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("CSA:SESSION_WAIT_COMPLETED"),
        "{text}"
    );

    let list = csa.output(&["session", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["id"].as_str(), Some(id.as_str()));
    assert_eq!(rows[0]["leftover_processes"].as_u64(), Some(2));
    let shown = csa.output(&["session", "result", &id, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["leftover_processes"].as_u64(), Some(2));

    // `kill` stops them; the result stays as recorded.
    let pgid = csa.supervisor_pid(&id);
    let kill = csa.output(&["session", "kill", &id]);
    assert_exit(&kill, 0);
    wait_group_empty(pgid, "stopping the leftovers");
    assert_eq!(
        csa.result(&id).unwrap()["leftover_processes"].as_integer(),
        Some(2)
    );
}

#[test]
fn a_job_that_leaves_nothing_behind_records_zero_and_no_note() {
    let csa = Csa::new();
    // A child that ends before the job does is not left behind.
    let id = csa.run("sleep 0.01 & wait; echo done");
    assert_nothing_left(&csa, &id, 0);
}

#[test]
fn run_no_daemon_counts_leftovers_too() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--no-daemon", "sleep 1000 & exit 3"]);
    assert_exit(&out, 3);
    let id = csa.session_ids().pop().unwrap();
    assert_eq!(
        csa.result(&id).unwrap()["leftover_processes"].as_integer(),
        Some(1)
    );
    // `kill` finds it although the supervisor led a process group but not a session.
    let pgid = csa.supervisor_pid(&id);
    let kill = csa.output(&["session", "kill", &id]);
    assert_error(&kill, 0, "still running");
    wait_group_empty(pgid, "stopping the leftover");
}

#[test]
fn a_timeout_stops_the_leftovers_so_none_are_counted() {
    let csa = Csa::new();
    let id = csa.run_with("--timeout 1s", "sleep 1000 & sleep 1000");
    assert_nothing_left(&csa, &id, 124);
}
