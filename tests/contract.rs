//! Black-box conformance with the behavioural contract: output formats, error lines and
//! exit codes exactly as written there.

use std::process::Stdio;

use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_record, assert_success, code, directive,
    is_ulid, output_with_input, output_within, started_id, stderr,
};

/// Asserts that stderr is exactly one error line of csa's form (docs/agents.md):
/// `csa: <what failed>: <why> (<path or ID>)`.
fn assert_error_line(out: &std::process::Output, what: &str) {
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: not one line: {text:?}");
    let line = lines[0];
    let body = line
        .strip_prefix("csa: ")
        .unwrap_or_else(|| panic!("{what}: no `csa: ` prefix: {line:?}"));
    let (failed, rest) = body
        .split_once(": ")
        .unwrap_or_else(|| panic!("{what}: no `<what failed>: <why>`: {line:?}"));
    assert!(!failed.is_empty() && !rest.is_empty(), "{what}: {line:?}");
    assert!(
        rest.ends_with(')') && rest.contains(" ("),
        "{what}: no trailing `(<path or ID>)`: {line:?}"
    );
}

#[test]
fn run_json_prints_id_pid_dir_in_that_order() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--json", "exit 0"]);
    assert_success(&out, "csa run --json");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("}\n"), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = value["id"].as_str().unwrap();
    assert!(is_ulid(id), "{stdout}");
    let pid = value["pid"].as_u64().unwrap();
    let dir = csa.session_dir(id);
    let expected = serde_json::json!(dir.to_str().unwrap()).to_string();
    assert_eq!(
        stdout,
        format!("{{\"id\":\"{id}\",\"pid\":{pid},\"dir\":{expected}}}\n")
    );
    assert_exit(&csa.wait(id), 0);
}

#[test]
fn session_started_matches_the_contract_template() {
    let csa = Csa::new();
    let out = csa.output(&["run", "exit 0"]);
    assert_success(&out, "csa run");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    let text = stderr(&out);
    let line = directive(&text, "SESSION_STARTED").expect("SESSION_STARTED");
    let pid = csa.supervisor_pid(&id);
    let dir = csa.session_dir(&id);
    // A path without quotes or backslashes: the template's `dir="<DIR>"` verbatim.
    assert_eq!(
        line,
        format!(
            "CSA:SESSION_STARTED id={id} pid={pid} dir=\"{}\" wait_cmd=\"{csa_} session wait --session {id}\" attach_cmd=\"{csa_} session attach --session {id}\" kill_cmd=\"{csa_} session kill --session {id}\"",
            dir.display(),
            csa_ = csa.pasted_csa()
        )
    );
    assert_exit(&csa.wait(&id), 0);
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let csa = Csa::new();
    for args in [
        &["run", "--bogus", "x"][..],
        &["run", "--env", "NOEQUALS", "x"],
        &["run", "--timeout", "soon", "x"],
        &["run", "x", "--", "y"],
        &["session", "wait"],
        &["session", "wait", "--session"],
        &["session", "list", "--status", "weird"],
        &["session", "kill", "--session", "01M7", "--signal", "BOGUS"],
        &["completions", "nope"],
        &["frobnicate"],
    ] {
        let out = csa.output(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    csa.assert_no_session("a usage error");
}

#[test]
fn help_and_version_still_print_normally() {
    let csa = Csa::new();
    let out = csa.output(&["run", "--help"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: csa run"));
    let out = csa.output(&["--version"]);
    assert_exit(&out, 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("csa {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs `csa run` with `input` on standard input (csa stops reading after 10 MiB + 1 byte;
/// the rest meets a closed pipe).
fn run_with_stdin(csa: &Csa, input: &[u8]) -> std::process::Output {
    output_with_input(csa.cmd().arg("run"), input)
}

#[test]
fn prompt_errors_say_what_failed() {
    let csa = Csa::new();
    let out = run_with_stdin(&csa, b"");
    assert_exit(&out, 2);
    assert_error_line(&out, "empty prompt");
    let out = run_with_stdin(&csa, &vec![b'#'; 10 * 1024 * 1024 + 1]);
    assert_exit(&out, 2);
    assert_error_line(&out, "prompt over 10 MiB");
    let out = csa.output(&["run", "--stdin"]);
    assert_exit(&out, 2);
    assert_error_line(&out, "--stdin without a prompt");
    csa.assert_no_session("a refused prompt");
}

#[test]
fn a_prompt_of_exactly_10_mib_is_accepted() {
    let csa = Csa::new();
    let mut prompt = vec![b'#'; 10 * 1024 * 1024 - 12];
    prompt.extend_from_slice(b"\necho 10MiB\n");
    assert_eq!(prompt.len(), 10 * 1024 * 1024);
    let id = started_id(&run_with_stdin(&csa, &prompt));
    let waited = csa.wait(&id);
    assert_exit(&waited, 0);
    assert_eq!(waited.stdout, b"10MiB\n");
    let kept = std::fs::read(csa.session_dir(&id).join("prompt.txt")).unwrap();
    assert_eq!(kept, prompt);
}

#[test]
fn a_state_root_that_is_a_file_gives_one_error_line_naming_the_path() {
    let csa = Csa::new();
    let file = csa.state.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    for args in [
        &["run", "exit 0"][..],
        &["session", "list"],
        &["session", "clean"],
    ] {
        let out = output_within(csa.cmd().env("CSA_STATE_DIR", &file).args(args), HANG);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(stderr(&out).contains(file.to_str().unwrap()), "{args:?}");
        assert!(!stderr(&out).contains("os error"), "{args:?}");
    }
}

#[test]
fn run_with_a_closed_stdout_still_names_the_session_on_stderr() {
    let csa = Csa::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = csa.cmd();
    command.args(["run", "exit 7"]).stdout(writer);
    let child = command.stderr(Stdio::piped()).spawn().unwrap();
    let out = child.wait_with_output().unwrap();
    crate::support::assert_no_panic(&out);
    assert_exit(&out, 125);
    let text = stderr(&out);
    let started = directive(&text, "SESSION_STARTED").expect("SESSION_STARTED");
    let id = started
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("id="))
        .unwrap()
        .to_owned();
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("csa: ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].ends_with(&format!("({id})")), "{text}");
    assert!(!errors[0].contains("os error"), "{text}");
    // The job runs anyway.
    assert_exit(&csa.wait(&id), 7);
}

#[test]
fn a_planted_stdout_link_is_never_followed_and_the_error_is_one_line() {
    let csa = Csa::new();
    let id = csa.finished("echo mine", 0);
    let dir = csa.session_dir(&id);
    let secret = csa.state.path().join("secret");
    std::fs::write(&secret, "not yours\n").unwrap();
    std::fs::remove_file(dir.join("stdout.log")).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("stdout.log")).unwrap();
    for args in [
        &["session", "wait", "--session", &id][..],
        &["session", "logs", "--session", &id],
        &["session", "attach", "--session", &id],
    ] {
        let out = csa.output(args);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?} followed the link");
        let errors: Vec<&str> = std::str::from_utf8(&out.stderr)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("CSA:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {errors:?}");
        let line = errors[0];
        assert!(line.starts_with("csa: ") && line.ends_with(')'), "{line}");
        assert!(!line.contains("os error"), "{line}");
    }
}

#[test]
fn an_exec_failure_is_recorded_with_the_contract_reason() {
    let csa = Csa::new();
    // Executable, so `run` accepts it, but its interpreter does not exist: exec fails with
    // ENOENT in the supervisor.
    let script = csa.state.path().join("bad-interpreter");
    std::fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let id = csa.run_args(&["--", script.to_str().unwrap()]);
    assert_exit(&csa.wait(&id), 127);
    let result = csa.result(&id).unwrap();
    assert_record(
        &result,
        "status = 'failure', exit_code = 127, reason = 'exec failed: No such file or directory'",
    );
}

#[test]
fn a_dead_session_whose_result_cannot_be_written() {
    let csa = Csa::new();
    let id = csa.run("echo partial; sleep 600");
    let supervisor = csa.supervisor_pid(&id);
    crate::support::wait_for(std::time::Duration::from_secs(30), "the job", || {
        std::fs::read(csa.session_dir(&id).join("stdout.log")).unwrap() == b"partial\n"
    });
    // SIGKILL the supervisor and the job: no result, and nothing left to stop.
    csa.kill_group(&id);
    crate::support::wait_for(
        std::time::Duration::from_secs(30),
        "the group to die",
        || crate::support::group_members(supervisor).is_empty(),
    );
    // A file size limit of 0 makes every write fail (EFBIG), even for root.
    let limited = |args: &str| {
        output_within(
            std::process::Command::new("/bin/sh")
                .args([
                    "-c",
                    &format!("trap '' XFSZ; ulimit -f 0; exec \"$0\" {args}"),
                    env!("CARGO_BIN_EXE_csa"),
                ])
                .env("CSA_STATE_DIR", csa.state.path())
                .stdin(Stdio::null()),
            HANG,
        )
    };
    let wait = limited(&format!("session wait --session {id}"));
    assert_exit(&wait, 124);
    assert_eq!(
        wait.stdout, b"partial\n",
        "what was spooled is printed anyway"
    );
    let text = stderr(&wait);
    let directive_line = directive(&text, "SESSION_WAIT_TIMEOUT").expect("SESSION_WAIT_TIMEOUT");
    assert_contains(directive_line, &[&format!("id={id} status=dead elapsed=")]);
    let errors: Vec<&str> = text.lines().filter(|l| !l.starts_with("CSA:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].starts_with("csa: ") && errors[0].ends_with("result.toml)"),
        "{text}"
    );
    assert!(!errors[0].contains("os error"), "{text}");
    // `result` exits 0 or 125: it shows the session as lost, as `list` does.
    let result = limited(&format!("session result --session {id}"));
    assert_exit(&result, 0);
    assert!(String::from_utf8_lossy(&result.stdout).contains("status = \"lost\""));
    // `kill` exits 0 or 125.
    let kill = limited(&format!("session kill --session {id}"));
    assert_exit(&kill, 125);
    assert!(
        csa.result(&id).is_none(),
        "a result was written despite the limit"
    );
    // Without the limit the lost result is recorded.
    let wait = csa.wait(&id);
    assert_exit(&wait, 1);
    assert_eq!(wait.stdout, b"partial\n");
}

/// Fields 5, 6 and 22 of `/proc/<pid>/stat`: process group, session, start time.
fn proc_identity(pid: i32) -> (i32, i32, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // `fields[0]` is field 3.
    (
        fields[2].parse().unwrap(),
        fields[3].parse().unwrap(),
        fields[19].parse().unwrap(),
    )
}

#[test]
fn the_session_directory_is_laid_out_as_section_1_says() {
    let csa = Csa::new();
    // A root csa creates itself, so its modes are csa's.
    let root = csa.state.path().join("new-root");
    let out = output_with_input(
        csa.cmd()
            .env("CSA_STATE_DIR", &root)
            .args(["run", "--name", "layout", "--timeout", "10m"]),
        b"read line; echo \"[$line]\"; sleep 600\n",
    );
    let id = started_id(&out);
    let dir = root.join("sessions").join(&id);

    // daemon.pid: "<pid> <starttime>\n", the supervisor leading the job's group and session.
    let pid_file = std::fs::read_to_string(dir.join("daemon.pid")).unwrap();
    assert!(
        pid_file.ends_with('\n') && pid_file.matches(' ').count() == 1,
        "{pid_file:?}"
    );
    let (pid, start) = pid_file.trim_end().split_once(' ').unwrap();
    let (pid, start): (i32, u64) = (pid.parse().unwrap(), start.parse().unwrap());
    // `run` does not wait for the supervisor's first step (`setsid`): it may take a moment
    // to lead its group and session (docs/format.md, `daemon.pid`).
    crate::support::wait_for(
        std::time::Duration::from_secs(30),
        "the supervisor to lead its group",
        || proc_identity(pid) == (pid, pid, start),
    );
    crate::support::wait_for(std::time::Duration::from_secs(30), "the job", || {
        std::fs::read_to_string(dir.join("stdout.log")).is_ok_and(|s| s.contains("[]"))
    });

    // session.toml: the keys of docs/format.md with their types.
    let session: toml::Table = std::fs::read_to_string(dir.join("session.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(session["id"].as_str(), Some(id.as_str()));
    assert!(
        session["argv"]
            .as_array()
            .unwrap()
            .iter()
            .all(toml::Value::is_str)
    );
    assert_eq!(session["tool"].as_str(), Some("sh"));
    assert!(session["cwd"].as_str().unwrap().starts_with('/'));
    assert_eq!(session["name"].as_str(), Some("layout"));
    assert_eq!(session["timeout_ms"].as_integer(), Some(600_000));
    let created = session["created_at"].as_str().unwrap();
    assert!(
        humantime::parse_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(
        session["csa_version"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        std::fs::read(dir.join("prompt.txt")).unwrap(),
        b"read line; echo \"[$line]\"; sleep 600\n"
    );
    assert_eq!(std::fs::metadata(dir.join("lock")).unwrap().len(), 0);

    let kill = output_within(
        csa.cmd().env("CSA_STATE_DIR", &root).args([
            "session",
            "kill",
            "--session",
            &id,
            "--grace",
            "0",
        ]),
        HANG,
    );
    assert_success(&kill, "csa session kill");

    assert_killed_result(&dir, &id);
    assert_private_layout(&root, &dir);
}

/// `result.toml` of a session killed with SIGKILL by `session kill --grace 0`: the keys of docs/format.md with
/// their types.
fn assert_killed_result(dir: &std::path::Path, id: &str) {
    let result: toml::Table = std::fs::read_to_string(dir.join("result.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(result["id"].as_str(), Some(id));
    assert_record(&result, "status = 'signal', exit_code = 137, signal = 9");
    for key in ["started_at", "finished_at"] {
        assert!(
            humantime::parse_rfc3339(result[key].as_str().unwrap()).is_ok(),
            "{key}"
        );
    }
    assert!(result["duration_ms"].as_integer().unwrap() >= 0);
    assert!(result["synthetic"].is_bool());
    assert!(result["reason"].is_str());
}

/// Directories 0700, files 0600, nothing else left behind.
fn assert_private_layout(root: &std::path::Path, dir: &std::path::Path) {
    use std::os::unix::fs::MetadataExt as _;
    for path in [root, &root.join("sessions"), dir] {
        assert_eq!(
            std::fs::metadata(path).unwrap().mode() & 0o777,
            0o700,
            "{}",
            path.display()
        );
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.file_name().display());
        names.push(entry.file_name().into_string().unwrap());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "daemon.pid",
            "lock",
            "prompt.txt",
            "result.toml",
            "session.toml",
            "stderr.log",
            "stdout.log",
            "stop.toml"
        ]
    );
}

#[test]
fn an_unreadable_config_is_one_error_line_naming_it() {
    let csa = Csa::new();
    let config_home = csa.state.path().join("config");
    let config = config_home.join("csa/config.toml");
    // A directory where the file should be: unreadable for every user, root included.
    std::fs::create_dir_all(&config).unwrap();
    for args in [&["tools"][..], &["run", "exit 0"]] {
        let out = output_within(
            crate::support_everyday::isolate_config(csa.cmd().args(args), &config_home),
            HANG,
        );
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_error_line(&out, &format!("{args:?}"));
        assert!(
            stderr(&out).ends_with(&format!("({})\n", config.display())),
            "{}",
            stderr(&out)
        );
    }
    csa.assert_no_session("an unreadable configuration");
}
