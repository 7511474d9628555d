//! True times (docs/format.md, "Times"): a job that waited counts its start and its run
//! from the end of its wait; a job that never started has no start; `created_at` and
//! `queued_at` say when the session came and queued.

use std::time::{Duration, SystemTime};

use crate::support::{Csa, Gate, assert_contains, assert_reason, code, stderr, stdout, wait_for};

const LONG: Duration = Duration::from_secs(60);

/// `csa session result ID --json`.
fn view(csa: &Csa, id: &str) -> serde_json::Value {
    let out = csa.output(&["session", "result", id, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The entry of session `id` in `csa session list --json`.
fn listed(csa: &Csa, id: &str) -> serde_json::Value {
    let out = csa.output(&["session", "list", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {rows}"))
}

/// The cells of session `id`'s row in `csa session list --long`, by header.
pub fn cells(csa: &Csa, id: &str) -> std::collections::HashMap<String, String> {
    let out = csa.output(&["session", "list", "--long"]);
    let table = stdout(&out);
    let line = table
        .lines()
        .find(|line| line.starts_with(id))
        .unwrap_or_else(|| panic!("{id} not in:\n{table}"));
    columns(&table, line)
}

/// The cells of `line`, a row of the list `table`, by header: each column spans from where
/// its header starts to where the next one does (every column before NAME/COMMAND is
/// ASCII).
pub fn columns(table: &str, line: &str) -> std::collections::HashMap<String, String> {
    let header = table.lines().next().unwrap();
    let starts: Vec<(usize, &str)> = header
        .match_indices(|c: char| c != ' ')
        .filter(|(at, _)| *at == 0 || header.as_bytes()[at - 1] == b' ')
        .map(|(at, _)| (at, header[at..].split(' ').next().unwrap()))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, (at, name))| {
            let end = starts.get(n + 1).map_or(line.len(), |next| next.0);
            ((*name).to_owned(), line[*at..end].trim().to_owned())
        })
        .collect()
}

fn time(text: &serde_json::Value) -> SystemTime {
    humantime::parse_rfc3339(
        text.as_str()
            .unwrap_or_else(|| panic!("not a time: {text}")),
    )
    .unwrap()
}

fn toml_time(result: &toml::Table, key: &str) -> SystemTime {
    humantime::parse_rfc3339(result[key].as_str().unwrap()).unwrap()
}

fn created_at(csa: &Csa, id: &str) -> SystemTime {
    let record: toml::Table = csa.file(id, "session.toml").parse().unwrap();
    toml_time(&record, "created_at")
}

#[test]
fn a_queued_job_starts_and_runs_from_the_end_of_its_wait() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let blocker = csa.run_args(&["--queue", "one", &gate.pass()]);
    let waiting = csa.run_args(&["--queue", "one", "echo done"]);
    // Both are `queued` as `run` returns; the first runs once its supervisor has taken the
    // slot (on a loaded machine, well after the second is shown queued behind it).
    wait_for(LONG, "the first session to take the slot", || {
        view(&csa, &blocker)["status"] == "running"
    });
    wait_for(LONG, "the second session to queue", || {
        view(&csa, &waiting)["status"] == "queued"
    });
    let created = created_at(&csa, &waiting);

    // While it waits: no start, since when it waits, where.
    let shown = view(&csa, &waiting);
    assert!(shown.get("started_at").is_none(), "{shown}");
    assert_eq!(time(&shown["queued_at"]), created, "{shown}");
    assert_eq!(
        (&shown["queue"], &shown["position"]),
        (&"one".into(), &1.into())
    );
    let entry = listed(&csa, &waiting);
    assert!(entry.get("started_at").is_none(), "{entry}");
    assert_eq!(time(&entry["queued_at"]), created, "{entry}");
    assert_eq!(entry["queue"], "one");
    let row = cells(&csa, &waiting);
    assert_eq!(
        (row["STARTED"].as_str(), row["RAN"].as_str()),
        ("-", "-"),
        "{row:?}"
    );
    assert_ne!(row["WAITED"], "-", "{row:?}");
    assert_eq!(row["QUEUE"], "one");
    // The running blocker started as it was created (a free slot), and runs.
    let running = view(&csa, &blocker);
    assert_eq!(running["status"], "running");
    assert!(time(&running["started_at"]) >= created_at(&csa, &blocker));

    // Wait at least a second (measured, not slept), then let it through.
    wait_for(LONG, "a second of waiting", || {
        SystemTime::now()
            .duration_since(created)
            .unwrap_or_default()
            >= Duration::from_secs(1)
    });
    gate.open();
    assert_eq!(code(&csa.wait(&waiting)), 0);
    // (The blocker frees its slot before it records its result.)
    assert_eq!(code(&csa.wait(&blocker)), 0);
    let result = csa.result(&waiting).unwrap();
    let blocker_result = csa.result(&blocker).unwrap();
    let (started, finished) = (
        toml_time(&result, "started_at"),
        toml_time(&result, "finished_at"),
    );
    assert!(
        started >= toml_time(&blocker_result, "finished_at"),
        "{result:?}"
    );
    assert!(started.duration_since(created).unwrap() >= Duration::from_secs(1));
    let duration = result["duration_ms"].as_integer().unwrap();
    let span = i64::try_from(finished.duration_since(started).unwrap().as_millis()).unwrap();
    assert!(
        (duration - span).abs() <= 1,
        "duration_ms {duration} != {span}"
    );
    // The list shows the wait and the run apart, and `--json` the queueing time.
    let entry = listed(&csa, &waiting);
    assert_eq!(time(&entry["queued_at"]), created);
    assert_eq!(time(&entry["started_at"]), started);
    let row = cells(&csa, &waiting);
    assert_ne!(row["STARTED"], "-", "{row:?}");
    assert_ne!(row["RAN"], "-", "{row:?}");
    assert!(
        row["WAITED"].ends_with('s') && !row["WAITED"].ends_with("ms"),
        "waited at least a second: {row:?}"
    );
    // A session that waited for nothing has no queueing time.
    let plain = csa.run("true");
    csa.wait(&plain);
    assert!(listed(&csa, &plain).get("queued_at").is_none());
    assert_eq!(cells(&csa, &plain)["WAITED"], "-");
}

#[test]
fn a_job_that_never_started_has_no_start_time() {
    let csa = Csa::new();
    let gate = Gate::new();
    let _blocker = csa.run_args(&["--queue", "one", &gate.pass()]);
    let stopped = csa.run_args(&["--queue", "one", "echo never"]);
    wait_for(LONG, "the session to queue", || {
        view(&csa, &stopped)["status"] == "queued"
    });
    let out = csa.output(&["session", "kill", &stopped]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let failed = csa.run("exit 3");
    let skipped = csa.run_args(&["--after", &failed, "echo never"]);
    csa.wait(&skipped);
    for id in [&stopped, &skipped] {
        let result = csa.result(id).unwrap();
        assert!(!result.contains_key("started_at"), "{result:?}");
        assert_eq!(result["duration_ms"].as_integer(), Some(0), "{result:?}");
        assert_reason(&result, &["never started"]);
        let row = cells(&csa, id);
        assert_eq!(
            (row["STARTED"].as_str(), row["RAN"].as_str()),
            ("-", "-"),
            "{row:?}"
        );
        assert_ne!(row["WAITED"], "-", "{row:?}");
        let entry = listed(&csa, id);
        assert!(entry.get("started_at").is_none(), "{entry}");
        assert!(entry.get("queued_at").is_some(), "{entry}");
    }
    // `wait` says the same: nothing ran.
    let out = csa.wait(&stopped);
    assert_contains(&stderr(&out), &["duration_ms=0"]);
}
