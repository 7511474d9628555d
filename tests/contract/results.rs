//! Results the contract names: an exec failure's reason, and a dead session whose result
//! cannot be written (a file size limit of 0).

use std::process::Stdio;

use crate::support::{
    Csa, HANG, assert_contains, assert_exit, assert_record, directive, output_within, stderr,
};

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
