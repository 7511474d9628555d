//! What a tool's configuration gives its sessions besides a command line: a default
//! timeout and idle timeout (`[tools.NAME] timeout`, `idle_timeout`), a queue (`[tools.NAME] queue`) and the queues' default
//! slot counts (`[queues.NAME] slots`); and the job's `PWD`.

use crate::support::{
    HANG, assert_error, assert_exit, assert_reason, assert_success, code, output_within, stdout,
};
use crate::tools::Bench;

/// `session.toml` of session `id`.
fn session_toml(bench: &Bench, id: &str) -> toml::Table {
    let text = std::fs::read_to_string(bench.csa.session_dir(id).join("session.toml")).unwrap();
    text.parse().unwrap()
}

/// `csa run ARGS…` from directory `dir`: the session ID.
fn start(bench: &Bench, dir: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let mut command = bench.cmd(&all);
    command.current_dir(dir);
    let out = output_within(&mut command, HANG);
    assert_success(&out, &all.join(" "));
    stdout(&out).trim().to_owned()
}

/// Starts `csa run --tool TOOL PROMPT` from `dir`, checks that `session.toml` records `key`
/// (`timeout_ms` or `idle_timeout_ms`) as one second (the tool's default), and that the session
/// ends as a `timeout` with exit code 124; returns its result.
fn times_out_by_default(
    bench: &Bench,
    dir: &std::path::Path,
    tool: &str,
    prompt: &str,
    key: &str,
) -> toml::Table {
    let id = start(bench, dir, &["--tool", tool, prompt]);
    assert_eq!(session_toml(bench, &id)[key].as_integer(), Some(1000));
    assert_exit(&bench.csa.wait(&id), 124);
    let result = bench.csa.result(&id).unwrap();
    assert_eq!(result["status"].as_str(), Some("timeout"));
    result
}

#[test]
fn a_tool_default_timeout_applies_when_run_has_none() {
    let bench = Bench::new();
    let proj = bench.project(
        "[tools.slow]\nargv = [\"/bin/sh\", \"-c\", \"{prompt}\"]\ntimeout = \"1s\"\n\n[tools.claude]\ntimeout = \"45m\"\n\n[tools.codex]\ntimeout = false\n",
    );
    times_out_by_default(&bench, &proj, "slow", "sleep 30", "timeout_ms");

    // `--timeout` wins over the tool's default.
    let id = start(
        &bench,
        &proj,
        &["--tool", "slow", "--timeout", "1h", "echo ok"],
    );
    assert_eq!(
        session_toml(&bench, &id)["timeout_ms"].as_integer(),
        Some(3_600_000)
    );
    assert_exit(&bench.csa.wait(&id), 0);

    // The foreground runs under the same default.
    let mut command = bench.cmd(&["run", "--no-daemon", "--tool", "slow", "sleep 30"]);
    command.current_dir(&proj);
    assert_eq!(code(&output_within(&mut command, HANG)), 124);

    // Presets: every agent preset carries one hour unless configured; codex, gemini and
    // opencode an idle timeout of 15 minutes too (claude -p prints nothing until it answers).
    let elsewhere = bench.path("config");
    for (tool, idle) in [
        ("codex", Some(900_000)),
        ("claude", None),
        ("gemini", Some(900_000)),
        ("opencode", Some(900_000)),
    ] {
        let id = start(&bench, &elsewhere, &["--tool", tool, "hi"]);
        let record = session_toml(&bench, &id);
        assert_eq!(record["timeout_ms"].as_integer(), Some(3_600_000), "{tool}");
        assert_eq!(
            record
                .get("idle_timeout_ms")
                .and_then(toml::Value::as_integer),
            idle,
            "{tool}"
        );
    }
    let id = start(&bench, &proj, &["--tool", "codex", "hi"]);
    assert!(!session_toml(&bench, &id).contains_key("timeout_ms"));
    let id = start(&bench, &proj, &["--tool", "claude", "hi"]);
    assert_eq!(
        session_toml(&bench, &id)["timeout_ms"].as_integer(),
        Some(2_700_000)
    );
    // `--timeout none` lifts the tool's default.
    let id = start(
        &bench,
        &elsewhere,
        &["--tool", "gemini", "--timeout", "none", "hi"],
    );
    assert!(!session_toml(&bench, &id).contains_key("timeout_ms"));
}

#[test]
fn a_tool_default_idle_timeout_applies_unless_run_says_otherwise() {
    let bench = Bench::new();
    let proj = bench.project(
        "[tools.quiet]\nargv = [\"/bin/sh\", \"-c\", \"{prompt}\"]\nidle_timeout = \"1s\"\n",
    );
    let result = times_out_by_default(
        &bench,
        &proj,
        "quiet",
        "echo hi; sleep 30",
        "idle_timeout_ms",
    );
    assert_reason(&result, &["no output on stdout or stderr for 1s"]);
    // `--idle-timeout none` lifts it: the job outlives its quiet second.
    let id = start(
        &bench,
        &proj,
        &[
            "--tool",
            "quiet",
            "--idle-timeout",
            "none",
            "sleep 2; echo ok",
        ],
    );
    assert!(!session_toml(&bench, &id).contains_key("idle_timeout_ms"));
    let waited = bench.csa.wait(&id);
    assert_exit(&waited, 0);
    assert_eq!(stdout(&waited), "ok\n");
}

#[test]
fn presets_run_in_their_own_queue_unless_configured_otherwise() {
    let bench = Bench::new();
    let plain = bench.path("config");
    let id = start(&bench, &plain, &["--tool", "claude", "hi"]);
    assert_eq!(session_toml(&bench, &id)["queue"].as_str(), Some("claude"));
    assert_exit(&bench.csa.wait(&id), 0);
    let id = start(&bench, &plain, &["--tool", "sh", "true"]);
    assert!(!session_toml(&bench, &id).contains_key("queue"));

    bench.write(
        "proj/.csa/config.toml",
        "[tools.claude]\nqueue = \"agents\"\n\n[tools.gemini]\nqueue = false\n\n[queues.agents]\nslots = 2\n\n[queues.build]\nslots = 4\n\n[queues.codex]\nslots = 1\n",
    );
    let proj = bench.path("proj");
    let id = start(&bench, &proj, &["--tool", "claude", "hi"]);
    assert_eq!(session_toml(&bench, &id)["queue"].as_str(), Some("agents"));
    let id = start(&bench, &proj, &["--tool", "gemini", "hi"]);
    assert!(!session_toml(&bench, &id).contains_key("queue"));
    let id = start(&bench, &proj, &["--queue", "build", "--", "true"]);
    assert_exit(&bench.csa.wait(&id), 0);

    // The default slot counts: configured, else 3 for the presets' queues, else 1.
    let slots = |dir: &std::path::Path, queue: &str| {
        let mut command = bench.cmd(&["queue", "slots", queue]);
        command.current_dir(dir);
        let out = output_within(&mut command, HANG);
        assert_success(&out, "csa queue slots");
        stdout(&out).trim().to_owned()
    };
    assert_eq!(slots(&proj, "agents"), "2");
    assert_eq!(slots(&proj, "build"), "4");
    assert_eq!(slots(&proj, "codex"), "1");
    assert_eq!(slots(&proj, "claude"), "3");
    assert_eq!(slots(&plain, "codex"), "3");
    assert_eq!(slots(&plain, "build"), "1");
    let mut command = bench.cmd(&["queue", "list", "--json"]);
    command.current_dir(&proj);
    let out = output_within(&mut command, HANG);
    assert_success(&out, "csa queue list");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let build = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "build")
        .unwrap();
    assert_eq!(
        (build["slots"].as_i64(), build["slots_set"].as_bool()),
        (Some(4), Some(false))
    );

    bench.write("proj/.csa/config.toml", "[queues.build]\nslots = 0\n");
    let mut command = bench.cmd(&["run", "--queue", "build", "--", "true"]);
    command.current_dir(&proj);
    let out = output_within(&mut command, HANG);
    assert_error(&out, 125, "queues.build.slots: invalid slot count 0");
}

#[test]
fn the_job_sees_its_own_directory_as_pwd() {
    let bench = Bench::new();
    let dir = bench.path("proj");
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = bench.cmd(&[
        "run",
        "--cd",
        dir.to_str().unwrap(),
        "--",
        "printenv",
        "PWD",
    ]);
    command.env("PWD", "/");
    let out = output_within(&mut command, HANG);
    assert_success(&out, "csa run -- printenv PWD");
    let waited = bench.csa.wait(stdout(&out).trim());
    assert_eq!(stdout(&waited).trim(), dir.to_str().unwrap());
}
