//! `csa session list`'s columns: the short handle (full IDs with `--long` and in
//! `--json`), QUEUE and TAGS, the tree drawn with `├─`/`└─`, and what `--json` carries;
//! `csa queue list --json`'s running and waiting IDs.

use std::time::Duration;

use crate::support::{Csa, Gate, assert_contains, code, stderr, stdout, wait_for};

const LONG: Duration = Duration::from_secs(60);

fn list(csa: &Csa, args: &[&str]) -> String {
    let mut all = vec!["session", "list"];
    all.extend_from_slice(args);
    let out = csa.output(&all);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

fn json(csa: &Csa, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str::<serde_json::Value>(&list(csa, &all))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// `csa run ARGS…` as a child of session `parent`.
fn run_child(csa: &Csa, parent: &str, args: &[&str]) -> String {
    let mut command = csa.cmd();
    command.env("CSA_SESSION_ID", parent).arg("run").args(args);
    let out = crate::support::output_within(&mut command, crate::support::HANG);
    crate::support::started_id(&out)
}

#[test]
fn the_table_shows_short_handles_queues_and_tags() {
    let csa = Csa::new();
    let tagged = csa.run_args(&[
        "--tag", "ci-7", "--tag", "unit", "--queue", "builds", "true",
    ]);
    let plain = csa.run("true");
    csa.wait(&tagged);
    csa.wait(&plain);
    let table = list(&csa, &[]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(columns, crate::list::COLUMNS);
    assert!(
        !table.contains(&tagged) && !table.contains(&plain),
        "full IDs:\n{table}"
    );
    let rows: Vec<_> = lines
        .map(|line| crate::times::columns(&table, line))
        .collect();
    // Newest first; each handle is the end of its ID and names it alone.
    let (first, second) = (&rows[0], &rows[1]);
    assert!(
        plain.ends_with(&first["ID"]) && first["ID"].len() >= 4,
        "{table}"
    );
    assert!(
        tagged.ends_with(&second["ID"]) && second["ID"].len() >= 4,
        "{table}"
    );
    assert_eq!(
        (first["QUEUE"].as_str(), first["TAGS"].as_str()),
        ("-", "-"),
        "{table}"
    );
    assert_eq!(
        (second["QUEUE"].as_str(), second["TAGS"].as_str()),
        ("builds", "ci-7,unit"),
        "{table}"
    );
    for (handle, id) in [(&first["ID"], &plain), (&second["ID"], &tagged)] {
        let out = csa.output(&["session", "result", handle, "--json"]);
        let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(view["id"], id.as_str(), "{handle}");
    }
    // `--long`: the full IDs.
    let long = list(&csa, &["--long"]);
    let ids: Vec<&str> = long
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, [plain.as_str(), tagged.as_str()]);
    // `--json`: full IDs, the handle, and the session's fleet.
    let entries = json(&csa, &[]);
    assert_eq!(entries[0]["id"], plain.as_str());
    assert_eq!(entries[0]["handle"], first["ID"].as_str());
    assert_eq!(entries[1]["queue"], "builds");
    assert_eq!(entries[1]["tags"], serde_json::json!(["ci-7", "unit"]));
    assert_eq!(entries[1]["after"], serde_json::json!([]));
    assert!(entries[0].get("queue").is_none());
}

#[test]
fn list_json_carries_parent_dependencies_and_times() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let parent = csa.run(&gate.pass());
    let dependency = csa.run("true");
    csa.wait(&dependency);
    let child = run_child(
        &csa,
        &parent,
        &["--after", &dependency, "--tag", "t", "--queue", "q", "true"],
    );
    csa.wait(&child);
    let entries = json(&csa, &[]);
    let entry = entries.iter().find(|e| e["id"] == child.as_str()).unwrap();
    assert_eq!(entry["parent"], parent.as_str(), "{entry}");
    assert_eq!(entry["after"], serde_json::json!([dependency]), "{entry}");
    assert_eq!(entry["queue"], "q");
    assert_eq!(entry["tags"], serde_json::json!(["t"]));
    for key in [
        "started_at",
        "queued_at",
        "created_at",
        "finished_at",
        "handle",
    ] {
        assert!(entry.get(key).is_some(), "{key}: {entry}");
    }
    assert_eq!(entry["queued_at"], entry["created_at"]);
    gate.open();
    csa.wait(&parent);
}

#[test]
fn the_tree_draws_siblings_and_where_a_waiting_child_stands() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let root = csa.run_named("root", &gate.pass());
    let first = run_child(&csa, &root, &["--name", "first", &gate.pass()]);
    let _grandchild = run_child(&csa, &first, &["--name", "grandchild", "true"]);
    let _second = run_child(
        &csa,
        &root,
        &["--name", "second", "--queue", "q", &gate.pass()],
    );
    let third = run_child(&csa, &root, &["--name", "third", "--queue", "q", "true"]);
    wait_for(LONG, "the third child to queue", || {
        list(&csa, &["--tree"]).contains("[queue q #1] third")
    });
    let tree = list(&csa, &["--tree"]);
    // The last column starts where its header does (every column before it is ASCII).
    let at = tree.lines().next().unwrap().find("NAME/COMMAND").unwrap();
    let names: Vec<&str> = tree.lines().skip(1).map(|line| &line[at..]).collect();
    assert_eq!(
        names,
        [
            "root",
            "├─ first",
            "│  └─ grandchild",
            "├─ second",
            "└─ [queue q #1] third",
        ],
        "{tree}"
    );
    gate.open();
    csa.wait(&third);
    csa.wait(&root);
}

#[test]
fn queue_list_json_names_the_running_and_waiting_sessions() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let running: Vec<String> = (0..2)
        .map(|_| csa.run_args(&["--queue", "pair", "--slots", "2", &gate.pass()]))
        .collect();
    let waiting = csa.run_args(&["--queue", "pair", "true"]);
    let rows = || {
        let out = csa.output(&["queue", "list", "--json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows[0].clone()
    };
    wait_for(LONG, "two running and one waiting", || {
        let row = rows();
        row["running_ids"]
            .as_array()
            .is_some_and(|ids| ids.len() == 2)
            && row["waiting"].as_array().is_some_and(|ids| ids.len() == 1)
    });
    let row = rows();
    let mut ids: Vec<String> = row["running_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = running.clone();
    expected.sort();
    assert_eq!(ids, expected, "{row}");
    assert_eq!(row["waiting"], serde_json::json!([waiting]));
    assert_eq!(
        (row["running"].as_i64(), row["queued"].as_i64()),
        (Some(2), Some(1))
    );
    gate.open();
    // The waiting session can end before the second of the running ones does.
    for id in running.iter().chain([&waiting]) {
        csa.wait(id);
    }
    let row = rows();
    assert_contains(&row.to_string(), &["\"running_ids\":[]"]);
}

/// A session waiting for its dependency names it by the handle the ID column shows (the
/// full ID with `--long`, and in `--json`'s `waiting_for`).
#[test]
fn a_waiting_session_names_its_dependency_by_its_handle() {
    let csa = Csa::new();
    let gate = Gate::new();
    let first = csa.run(&gate.pass());
    let second = csa.run_args(&["--after", &first, "true"]);
    let table = list(&csa, &[]);
    let handle = table
        .lines()
        .map(|line| line.split_whitespace().next().unwrap())
        .find(|cell| first.ends_with(cell) && cell.len() < first.len())
        .unwrap_or_else(|| panic!("no handle of {first}:\n{table}"))
        .to_owned();
    assert_contains(&table, &[&format!("[waiting for {handle} to succeed]")]);
    assert!(!table.contains(&first), "{table}");
    let long = list(&csa, &["--long"]);
    assert_contains(&long, &[&format!("[waiting for {first} to succeed]")]);
    let entry = json(&csa, &[])
        .into_iter()
        .find(|e| e["id"] == second.as_str())
        .unwrap();
    assert_eq!(entry["waiting_for"], format!("{first} to succeed"));
}
