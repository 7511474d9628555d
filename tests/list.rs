//! `csa session list`, `result` and `logs` on real and hand-made sessions.

use std::process::Command;
use std::time::Duration;

use crate::support::{
    Csa, HANG, assert_contains, assert_error, assert_exit, assert_record, assert_success,
    output_within, stderr, stdout, wait_for,
};
use crate::support_everyday::{fake_session, finish};

/// The columns of `csa session list`'s table, in order.
pub const COLUMNS: [&str; 9] = [
    "ID",
    "STATUS",
    "EXIT",
    "STARTED",
    "WAITED",
    "RAN",
    "QUEUE",
    "TAGS",
    "NAME/COMMAND",
];

/// The data rows of a `list` table: (ID, STATUS, EXIT, the rest of the line).
fn rows(table: &str) -> Vec<(String, String, String, String)> {
    let mut lines = table.lines();
    let header = lines.next().expect("header line");
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(columns, COLUMNS, "header: {header}");
    lines
        .map(|line| {
            let mut words = line.split_whitespace();
            let mut next = || words.next().expect("column").to_owned();
            let (id, status, exit) = (next(), next(), next());
            (id, status, exit, line.to_owned())
        })
        .collect()
}

/// `csa session list ARGS…` (with `--long`: full IDs in the table).
fn list(csa: &Csa, args: &[&str]) -> String {
    let mut all = vec!["session", "list", "--long"];
    all.extend_from_slice(args);
    let out = csa.output(&all);
    assert_success(&out, "csa session list");
    stdout(&out)
}

fn signal_group(csa: &Csa, id: &str, signal: &str) {
    let pid = csa.supervisor_pid(id);
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn list_shows_running_failed_killed_and_lost_sessions_newest_first() {
    let csa = Csa::new();
    let ok = csa.run("echo fine");
    let failed = csa.run("exit 3");
    let killed = csa.run("sleep 300");
    let lost = csa.run("sleep 301");
    let running = csa.run_args(&["--name", "the sleeper", "sleep 302"]);
    assert_exit(&csa.wait(&ok), 0);
    assert_exit(&csa.wait(&failed), 3);
    // SIGTERM to the group: the supervisor survives it and records the signal.
    signal_group(&csa, &killed, "-TERM");
    assert_exit(&csa.wait(&killed), 143);
    // SIGKILL to the group: the supervisor dies without a result.
    let lost_pid = csa.supervisor_pid(&lost);
    signal_group(&csa, &lost, "-KILL");
    wait_for(HANG, "the supervisor to vanish", || {
        !crate::support::process_alive(lost_pid)
    });
    assert!(csa.result(&lost).is_none());

    let table = list(&csa, &[]);
    let got: Vec<(String, String, String)> = rows(&table)
        .into_iter()
        .map(|(id, status, exit, _)| (id, status, exit))
        .collect();
    let want = [
        (&running, "running", "-"),
        (&lost, "lost", "1"),
        (&killed, "signal", "143"),
        (&failed, "failure", "3"),
        (&ok, "success", "0"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(id, s, e)| ((*id).clone(), (*s).to_owned(), (*e).to_owned()))
        .collect();
    assert_eq!(got, want, "{table}");
    assert_contains(&table, &["the sleeper", "exit 3", " ago "]);
    assert!(!table.contains('\x1b'), "colour on a pipe: {table:?}");
    // The look reconstructed the lost session on disk.
    let result = csa.result(&lost).expect("lost result written by list");
    assert_record(&result, "status = 'lost', synthetic = true");
    // The running session was left alone.
    assert!(csa.result(&running).is_none());

    let filtered = rows(&list(&csa, &["--status", "running,lost"]));
    let ids: Vec<&str> = filtered.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, [running.as_str(), lost.as_str()]);
    let limited = rows(&list(&csa, &["--limit", "2"]));
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].0, running);

    let json: serde_json::Value = serde_json::from_str(&list(&csa, &["--json"])).unwrap();
    let entries = json.as_array().expect("a JSON array");
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["id"], running.as_str());
    assert_eq!(entries[0]["status"], "running");
    assert_eq!(entries[0]["name"], "the sleeper");
    assert!(entries[0].get("exit_code").is_none());
    assert_eq!(entries[0]["argv"][2], "sleep 302");
    assert_eq!(entries[1]["status"], "lost");
    assert_eq!(entries[1]["synthetic"], true);
    assert_eq!(entries[2]["signal"], 15);
    assert_eq!(entries[2]["exit_code"], 143);
    assert_eq!(entries[4]["tool"], "sh");
    for key in [
        "started_at",
        "finished_at",
        "duration_ms",
        "cwd",
        "created_at",
    ] {
        assert!(
            entries[4].get(key).is_some(),
            "{key} missing: {}",
            entries[4]
        );
    }
}

#[test]
fn list_on_an_empty_store_prints_the_header_only() {
    let csa = Csa::new();
    assert!(rows(&list(&csa, &[])).is_empty());
    assert_eq!(list(&csa, &["--json"]).trim(), "[]");
}

#[test]
fn limit_is_applied_before_older_sessions_are_read() {
    let csa = Csa::new();
    // An old session with a corrupt result: reading it would print a warning.
    let broken = fake_session(&csa, Duration::from_secs(3600), "old", true);
    std::fs::write(broken.dir.join("result.toml"), "status = \"succ").unwrap();
    for i in 0..5 {
        let fake = fake_session(&csa, Duration::from_secs(60 - i), "new", true);
        finish(&fake, "success", 0, Duration::from_secs(1));
    }
    let out = csa.output(&["session", "list", "--long", "--limit", "3"]);
    assert_success(&out, "list --limit 3");
    assert_eq!(rows(&stdout(&out)).len(), 3);
    assert_eq!(stderr(&out), "", "an old session was read");
    // Without the limit the broken session is reached, reported, and skipped.
    let out = csa.output(&["session", "list", "--long"]);
    assert_success(&out, "list");
    assert_eq!(rows(&stdout(&out)).len(), 5);
    let err = stderr(&out);
    assert!(
        err.contains("malformed state file") && err.contains(&broken.id),
        "{err}"
    );
    std::fs::remove_dir_all(&broken.dir).unwrap();
}

#[test]
fn a_session_still_being_set_up_is_never_reconstructed_as_lost() {
    let csa = Csa::new();
    // No lock held and no daemon.pid yet, created just now: `csa run` is mid-way.
    let starting = fake_session(&csa, Duration::ZERO, "starting", false);
    // The same, but an hour old: its `csa run` died before starting the supervisor.
    let abandoned = fake_session(&csa, Duration::from_secs(3600), "abandoned", false);
    let table = list(&csa, &[]);
    let got: Vec<(String, String)> = rows(&table).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        got,
        [
            (starting.id.clone(), "running".to_owned()),
            (abandoned.id.clone(), "lost".to_owned())
        ],
        "{table}"
    );
    assert!(!starting.dir.join("result.toml").exists());
    assert!(abandoned.dir.join("result.toml").exists());
}

#[test]
fn long_commands_are_cut_to_the_terminal_width() {
    let csa = Csa::new();
    let long = format!("echo {}", "x".repeat(300));
    let id = csa.run(&long);
    csa.wait(&id);
    let out = output_within(
        csa.cmd().args(["session", "list"]).env("COLUMNS", "80"),
        HANG,
    );
    let table = stdout(&out);
    let row = table.lines().nth(1).unwrap();
    assert_eq!(row.chars().count(), 80, "{row}");
    assert!(row.ends_with('…'), "{row}");
    // Without a terminal or COLUMNS nothing is cut.
    let out = output_within(
        csa.cmd().args(["session", "list"]).env_remove("COLUMNS"),
        HANG,
    );
    assert!(stdout(&out).contains(&long));
}

/// Runs `csa session list` on a pseudo-terminal (via script(1)) and returns what it printed.
fn list_on_a_terminal(csa: &Csa, no_color: Option<&str>) -> String {
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} session list", env!("CARGO_BIN_EXE_csa")),
        ])
        .arg("/dev/null")
        .env("CSA_STATE_DIR", csa.state.path());
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let out = output_within(&mut command, HANG);
    assert_success(&out, "script csa session list");
    stdout(&out)
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // script(1) (util-linux) gives `list` a terminal.
    crate::support::require::program("script");
    let csa = Csa::new();
    let id = csa.run("exit 4");
    csa.wait(&id);
    let coloured = list_on_a_terminal(&csa, None);
    assert!(coloured.contains("\x1b[31mfailure"), "{coloured:?}");
    let plain = list_on_a_terminal(&csa, Some("1"));
    assert!(
        plain.contains("failure") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn result_prints_toml_or_json_and_running_while_it_runs() {
    let csa = Csa::new();
    let id = csa.run("sleep 300");
    let out = csa.output(&["session", "result", "--session", &id[..8]]);
    assert_success(&out, "result of a running session");
    let running: toml::Table = stdout(&out).parse().unwrap();
    assert_eq!(running["status"].as_str(), Some("running"));
    assert_eq!(running["id"].as_str(), Some(id.as_str()));
    assert!(!running.contains_key("exit_code"));
    csa.kill_group(&id);

    let done = csa.run("exit 7");
    csa.wait(&done);
    let out = csa.output(&["session", "result", "--session", &done]);
    assert_success(&out, "result");
    let shown: toml::Table = stdout(&out).parse().unwrap();
    assert_eq!(Some(shown), csa.result(&done), "result prints result.toml");
    let out = csa.output(&["session", "result", "--session", &done, "--json"]);
    assert_success(&out, "result --json");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["status"], "failure");
    assert_eq!(json["exit_code"], 7);
    assert_eq!(json["synthetic"], false);

    let out = csa.output(&["session", "result", "--session", "0000000000"]);
    assert_error(&out, 125, "csa: no such session");
}

#[test]
fn logs_print_what_was_written_so_far_without_waiting() {
    let csa = Csa::new();
    let id = csa.run("printf 'one\\ntwo\\nthree\\n'; echo err1 >&2; echo err2 >&2; sleep 300");
    let logs = |args: &[&str]| {
        let mut all = vec!["session", "logs", "--session", id.as_str()];
        all.extend_from_slice(args);
        let out = csa.output(&all);
        assert_success(&out, "logs");
        (stdout(&out), stderr(&out))
    };
    wait_for(HANG, "the job's output", || {
        logs(&["--stderr"]) == ("one\ntwo\nthree\n".into(), "err1\nerr2\n".into())
    });
    assert_eq!(logs(&[]), ("one\ntwo\nthree\n".into(), String::new()));
    assert_eq!(
        logs(&["--tail", "2", "--stderr"]),
        ("two\nthree\n".into(), "err1\nerr2\n".into())
    );
    assert_eq!(
        logs(&["--tail", "1", "--stderr"]),
        ("three\n".into(), "err2\n".into())
    );
    assert_eq!(logs(&["--tail", "0"]).0, "");
    csa.kill_group(&id);
}

#[test]
fn a_large_store_is_listed_in_order_with_every_warning() {
    // Above the count from which `list` reads sessions on several threads.
    let csa = Csa::new();
    let mut expected = Vec::new();
    let mut broken = Vec::new();
    for i in 0..1200u64 {
        let fake = fake_session(
            &csa,
            Duration::from_secs(10_000 - i),
            &format!("job {i}"),
            true,
        );
        if i % 100 == 7 {
            std::fs::write(fake.dir.join("result.toml"), "status = \"succ").unwrap();
            broken.push(fake.id);
        } else {
            let (status, code) = if i % 3 == 0 {
                ("failure", 2)
            } else {
                ("success", 0)
            };
            finish(&fake, status, code, Duration::from_secs(1));
            expected.push((fake.id, status, format!("job {i}")));
        }
    }
    expected.reverse();
    broken.reverse();
    let out = csa.output(&["session", "list", "--long"]);
    assert_success(&out, "list");
    let listed = rows(&stdout(&out));
    assert_eq!(listed.len(), expected.len());
    for ((id, status, _, line), (want_id, want_status, command)) in listed.iter().zip(&expected) {
        assert_eq!((id, status.as_str()), (want_id, *want_status), "{line}");
        assert!(line.ends_with(command.as_str()), "{line}");
    }
    // One warning per broken session, newest first, as a one-by-one walk prints them.
    let err = stderr(&out);
    let warned: Vec<&str> = err.lines().collect();
    assert_eq!(warned.len(), broken.len(), "{err}");
    for (line, id) in warned.iter().zip(&broken) {
        assert_contains(line, &["malformed state file", id]);
    }
    let failures = rows(&list(&csa, &["--status", "failure"]));
    assert!(failures.iter().all(|row| row.1 == "failure"));
    assert_eq!(
        failures.len(),
        expected.iter().filter(|row| row.1 == "failure").count()
    );
}
