//! `csa rm` (removes ended sessions, refuses running ones) and `csa rerun` (a new session
//! with the same command, cwd, env additions, tool, queue and tags).

use crate::support::{BIN, Csa, Gate, code, output_with_input, stderr, stdout};

fn record(csa: &Csa, id: &str) -> toml::Table {
    csa.file(id, "session.toml").parse().unwrap()
}

#[test]
fn rm_removes_ended_sessions_and_refuses_running_ones() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let ended = csa.run("exit 2");
    assert_eq!(code(&csa.wait(&ended)), 2);
    let running = csa.run(&gate.pass());
    let out = csa.output(&["rm", &running, &ended]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("removed {ended}\n"));
    let said = stderr(&out);
    assert!(
        said.contains(&running) && said.contains("is running"),
        "{said}"
    );
    assert!(said.contains("session kill"), "{said}");
    assert!(csa.session_dir(&running).is_dir());
    assert!(!csa.session_dir(&ended).exists());

    // An unknown handle removes nothing.
    let out = csa.output(&["rm", &running, "NOSUCHSESSION"]);
    assert_eq!(code(&out), 125, "{}", stderr(&out));
    assert!(csa.session_dir(&running).is_dir());

    gate.open();
    assert_eq!(code(&csa.wait(&running)), 0);
    let out = csa.output(&["rm", "last"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(csa.session_ids().is_empty());
}

#[test]
fn rm_takes_a_session_with_its_children_or_not_at_all() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let pass = gate.pass();
    let parent = csa.run(&format!(
        "'{BIN}' run --name kid \"{pass}\" >/dev/null 2>&1"
    ));
    assert_eq!(code(&csa.wait(&parent)), 0);
    let out = csa.output(&["rm", &parent]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("its descendant"), "{}", stderr(&out));
    assert_eq!(csa.session_ids().len(), 2);
    gate.open();
    assert_eq!(code(&csa.wait("kid")), 0);
    let out = csa.output(&["rm", &parent]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    assert!(csa.session_ids().is_empty());
}

#[test]
fn rerun_starts_the_same_job_again() {
    let csa = Csa::new();
    let cwd = tempfile::tempdir().unwrap();
    let cwd_text = cwd.path().canonicalize().unwrap().display().to_string();
    assert_eq!(code(&csa.output(&["queue", "slots", "builds", "2"])), 0);
    let first = csa.run_args(&[
        "--queue",
        "builds",
        "--tag",
        "ci",
        "--name",
        "again",
        "--env",
        "MODE=fast",
        "--cd",
        &cwd_text,
        "echo \"$MODE in $(pwd)\"; exit 3",
    ]);
    assert_eq!(code(&csa.wait(&first)), 3);
    let out = csa.output(&["rerun", &first]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let second = stdout(&out).trim_end().to_owned();
    assert_ne!(second, first);
    let waited = csa.wait(&second);
    assert_eq!(code(&waited), 3);
    assert_eq!(stdout(&waited), format!("fast in {cwd_text}\n"));
    let (a, b) = (record(&csa, &first), record(&csa, &second));
    for key in ["argv", "cwd", "tool", "queue", "tags", "name", "env"] {
        assert_eq!(a.get(key), b.get(key), "{key}");
    }
    assert!(b.get("queue").is_some());

    // A prompt that went on standard input goes again.
    let out = output_with_input(csa.cmd().args(["run", "--quiet"]), b"echo from stdin\n");
    let piped = stdout(&out).trim_end().to_owned();
    assert_eq!(stdout(&csa.wait(&piped)), "from stdin\n");
    let out = csa.output(&["rerun", "--quiet", &piped]);
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
    let again = stdout(&out).trim_end().to_owned();
    assert_eq!(stdout(&csa.wait(&again)), "from stdin\n");

    let out = csa.output(&["rerun", "NOSUCHSESSION"]);
    assert_eq!(code(&out), 125);
}

/// A rerun whose working directory or program is gone fails as `run` would (127, no session
/// created), in one line that names the session rerun and what is gone.
#[test]
fn rerun_of_a_session_whose_directory_or_program_is_gone_names_both() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("job");
    std::fs::write(&program, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let in_dir = csa.run_with(&format!("--cd {}", dir.path().display()), "pwd");
    let by_program = csa.run_args(&["--", program.to_str().unwrap()]);
    csa.wait(&in_dir);
    csa.wait(&by_program);
    std::fs::remove_file(&program).unwrap();
    let out = csa.output(&["session", "rerun", &by_program]);
    let err = stderr(&out);
    assert_eq!(code(&out), 127, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("csa: cannot rerun session {by_program}: ")),
        "{err}"
    );
    assert!(err.contains(program.to_str().unwrap()), "{err}");
    let gone = dir.path().to_owned();
    drop(dir);
    let out = csa.output(&["session", "rerun", &in_dir]);
    let err = stderr(&out);
    assert_eq!(code(&out), 127, "{err}");
    assert!(
        err.starts_with(&format!("csa: cannot rerun session {in_dir}: ")),
        "{err}"
    );
    assert!(err.contains(gone.to_str().unwrap()), "{err}");
    assert_eq!(csa.session_ids().len(), 2, "no session was created");
}
