//! Disk and permission faults, and hostile caller environments.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{background, code, wait_cmd, wait_until_open};
use crate::support::{
    Csa, Gate, Gated, HANG, assert_exit, assert_output, assert_reason, assert_record,
    assert_success, output_within, process_alive, wait_for,
};
use crate::support::{csa_as_nobody, group_members, set_mode};
use crate::support_faults::is_root;

/// Asserts a clean failure: exit `expected`, nothing on stdout, one `csa: ` line on stderr.
fn assert_one_line_error(out: &std::process::Output, expected: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(code(out), expected, "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("csa: "), "stderr: {stderr}");
    stderr
}

fn csa_at(root: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_csa"));
    command
        .env("CSA_STATE_DIR", root)
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null());
    command
}

#[test]
fn unwritable_state_root_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    // The state root under a regular file, and a regular file where `sessions/` belongs.
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = output_within(csa_at(&file.join("state")).args(["run", "true"]), HANG);
    assert_one_line_error(&out, 125);
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("sessions"), "").unwrap();
    let out = output_within(csa_at(&root).args(["run", "true"]), HANG);
    assert_one_line_error(&out, 125);

    // A state root the user may not write to: as an unprivileged user when running as
    // root (permission bits do not stop root).
    let locked = tmp.path().join("locked");
    std::fs::create_dir_all(locked.join("sessions")).unwrap();
    let mut command = if is_root() {
        csa_as_nobody()
    } else {
        set_mode(&locked.join("sessions"), 0o500);
        Command::new(env!("CARGO_BIN_EXE_csa"))
    };
    command
        .env("CSA_STATE_DIR", &locked)
        .env("RUST_BACKTRACE", "1")
        .args(["run", "true"]);
    let out = output_within(&mut command, HANG);
    let stderr = assert_one_line_error(&out, 125);
    assert!(stderr.contains(&*locked.to_string_lossy()), "{stderr}");
    set_mode(&locked.join("sessions"), 0o700);
    assert!(crate::support::names_in(&locked.join("sessions")).is_empty());
}

/// A write that fails half-way through creating a session (file size limit 0, SIGXFSZ
/// ignored so writes fail with EFBIG): exit 125 and no half-created session left.
#[test]
fn failed_session_creation_leaves_nothing_behind() {
    let csa = Csa::new();
    let out = csa.sh("trap '' XFSZ; ulimit -f 0; exec \"$CSA\" run 'true'");
    assert_one_line_error(&out, 125);
    csa.assert_no_session("a failed creation");
}

/// The session directory removed while its job runs: the supervisor ends cleanly, a
/// waiter already blocked on it reports a clear error, later looks say "no such session".
#[test]
fn session_directory_deleted_mid_run() {
    let csa = Csa::new();
    let mut job = Gated::run(&csa, "echo before; {gate}; exit 5");
    let waiter = background(wait_cmd(&csa, &job.id));
    wait_until_open(waiter.pid, &job.dir.join("lock"));
    std::fs::remove_dir_all(&job.dir).unwrap();
    job.gate.open();
    let out = waiter.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(code(&out), 0, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("csa: ") && l.contains(&job.id)),
        "{stderr}"
    );
    wait_for(Duration::from_secs(30), "the supervisor to end", || {
        !process_alive(job.supervisor) && group_members(job.supervisor).is_empty()
    });
    assert!(!job.dir.exists(), "the session directory came back");
    let out = csa.wait(&job.id);
    assert_one_line_error(&out, 125);
}

/// Spool files removed while the job writes to them: no crash, the true result.
#[test]
fn spool_files_deleted_mid_run() {
    let csa = Csa::new();
    let Gated {
        mut gate, id, dir, ..
    } = Gated::run(
        &csa,
        "echo a; echo e >&2; {gate}; echo b; echo f >&2; exit 0",
    );
    std::fs::remove_file(dir.join("stdout.log")).unwrap();
    std::fs::remove_file(dir.join("stderr.log")).unwrap();
    gate.open();
    let out = csa.wait(&id);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(csa.result(&id).unwrap()["status"].as_str(), Some("success"));
}

/// `csa run` from a terminal session that then hangs up (SIGHUP to the caller's process
/// group, the terminal closed), and from a caller without a controlling terminal.
#[test]
fn job_survives_the_callers_terminal_hanging_up() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let job = format!("{}; echo survived", gate.pass());
    let exe = env!("CARGO_BIN_EXE_csa");
    // `script` gives the caller a terminal; the caller hangs up its own process group.
    let inner = format!("sh -c \"'{exe}' run \\\"\\$JOB\\\"; kill -HUP 0\"");
    let mut command = Command::new("script");
    command
        .args(["-qec", &inner, "/dev/null"])
        .env("CSA_STATE_DIR", csa.state.path())
        .env("JOB", &job);
    let out = output_within(&mut command, HANG);
    let with_terminal = csa.session_ids();
    assert_eq!(
        with_terminal.len(),
        1,
        "script: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // No controlling terminal at all.
    let mut command = Command::new("setsid");
    command
        .args(["-w", exe, "run", &job])
        .env("CSA_STATE_DIR", csa.state.path());
    let out = output_within(&mut command, HANG);
    assert_success(&out, "setsid csa run");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    gate.open();
    for id in [&with_terminal[0], &id] {
        let out = csa.wait(id);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"survived\n");
    }
    // A prompt cannot come from a terminal.
    let out = output_within(
        Command::new("script")
            .args(["-qec", &format!("'{exe}' run"), "/dev/null"])
            .env("CSA_STATE_DIR", csa.state.path()),
        HANG,
    );
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
}

/// `csa run … <&- >&- 2>&-`: standard descriptors closed; the job still runs.
#[test]
fn closed_standard_descriptors() {
    let csa = Csa::new();
    let out = csa.sh("exec \"$CSA\" run 'echo ok; exit 3' <&- >&- 2>&-");
    assert_success(&out, "csa run with closed descriptors");
    let ids = csa.session_ids();
    assert_eq!(ids.len(), 1);
    let out = csa.wait(&ids[0]);
    assert_output(&out, 3, b"ok\n");
    let dir = csa.session_dir(&ids[0]);
    assert_eq!(std::fs::metadata(dir.join("lock")).unwrap().len(), 0);
}

/// A caller with a thousand inherited descriptors and a pipe: `run` returns, neither the
/// supervisor nor the job keeps any of them.
#[test]
fn caller_with_many_open_descriptors() {
    let out = output_within(&mut crate::support_faults::helper("many-fds"), HANG);
    assert_success(&out, "many-fds helper");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("many-fds helper: ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs in the helper process (see [`caller_with_many_open_descriptors`]).
pub fn many_fds_helper() {
    let inheritable = |fd: &dyn std::os::fd::AsFd| {
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).unwrap();
    };
    let files: Vec<std::fs::File> = (0..1000)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    for file in &files {
        inheritable(file);
    }
    let (mut reader, writer) = std::io::pipe().unwrap();
    inheritable(&writer);

    let csa = Csa::new();
    let Gated {
        mut gate,
        id,
        supervisor,
        ..
    } = Gated::run(
        &csa,
        "for f in /proc/$$/fd/*; do echo \"${f##*/}\"; done; {gate}",
    );
    drop(writer);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = tx.send(reader.read_to_end(&mut sink).map(|_| sink.len()));
    });
    assert!(
        matches!(rx.recv_timeout(Duration::from_secs(30)), Ok(Ok(0))),
        "the caller's pipe is held open by the session"
    );
    // The supervisor closes what it inherited at start-up: 0, 1, 2 and the lock remain,
    // and it opens the state root it checked (close-on-exec).
    wait_for(Duration::from_secs(30), "the supervisor to close", || {
        std::fs::read_dir(format!("/proc/{supervisor}/fd")).is_ok_and(|fds| fds.count() == 5)
    });
    gate.open();
    let out = csa.wait(&id);
    assert_exit(&out, 0);
    let listed = String::from_utf8(out.stdout).unwrap();
    let fds: Vec<i32> = listed.lines().map(|l| l.parse().unwrap()).collect();
    assert!(fds.iter().all(|&fd| fd < 10), "the job inherited {fds:?}");
    drop(files);
    println!("many-fds helper: ok");
}

/// `csa run` itself killed (SIGKILL) at random moments while it creates the session:
/// every session left on disk still gets an answer — the job's true result, or `lost` —
/// and a session whose ID was printed always ends with the job's true result.
#[test]
fn run_killed_while_creating_the_session() {
    let csa = Csa::new();
    let mut rng = crate::support_faults::rng("run_killed_while_creating_the_session");
    let mut printed = std::collections::HashSet::new();
    for _ in 0..crate::support_faults::trials(20, 100) {
        let mut child = super::spawn_run(&csa);
        std::thread::sleep(Duration::from_micros(rng.u64(0..6_000)));
        crate::support_faults::signal(i32::try_from(child.id()).unwrap(), 9);
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child.wait().unwrap();
        if let Some(id) = stdout.lines().next() {
            printed.insert(id.to_owned());
        }
    }
    let (mut real, mut lost) = (0, 0);
    for id in csa.session_ids() {
        let out = csa.wait(&id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let result = csa.result(&id).expect("a result after wait");
        match (code(&out), result["status"].as_str()) {
            (2, Some("failure")) => real += 1,
            (1, Some("lost")) if !printed.contains(&id) => lost += 1,
            other => panic!("{id}: {other:?}: {stderr}"),
        }
    }
    eprintln!(
        "run_killed_while_creating_the_session: {} sessions on disk ({} IDs printed): {real} real, {lost} lost",
        real + lost,
        printed.len()
    );
}

/// A job whose prompt goes on its standard input never starts without it: `prompt.txt`
/// removed while the session waits for its dependency gives `failure`, exit 125, and a
/// reason naming the prompt — with the supervisor and with `run --no-daemon` alike.
#[test]
fn a_job_never_starts_without_its_prompt() {
    let csa = Csa::new();
    for no_daemon in [false, true] {
        let mut gate = Gate::new();
        let blocker = csa.run(&gate.pass());
        let before = csa.session_ids();
        let mut args = vec!["run", "--after", &blocker];
        if no_daemon {
            args.push("--no-daemon");
        }
        let mut command = csa.cmd();
        command
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            // Over 100 KiB: the script goes to `sh` on its standard input.
            let mut script = b"echo started; exit 0\n".to_vec();
            script.resize(script.len() + 110 * 1024, b'#');
            stdin.write_all(&script).unwrap();
        }
        let mut id = String::new();
        wait_for(Duration::from_secs(30), "the dependent session", || {
            id = csa
                .session_ids()
                .into_iter()
                .find(|s| !before.contains(s))
                .unwrap_or_default();
            !id.is_empty() && csa.session_dir(&id).join("prompt.txt").exists()
        });
        std::fs::remove_file(csa.session_dir(&id).join("prompt.txt")).unwrap();
        gate.open();
        let out = child.wait_with_output().unwrap();
        let expected = if no_daemon { 125 } else { 0 };
        assert_eq!(
            code(&out),
            expected,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wait = csa.wait(&id);
        assert_eq!(
            code(&wait),
            125,
            "{}",
            String::from_utf8_lossy(&wait.stderr)
        );
        assert!(wait.stdout.is_empty(), "the job ran");
        let result = csa.result(&id).unwrap();
        assert_record(&result, "status = 'failure', synthetic = false");
        assert_reason(&result, &["prompt.txt", "not started"]);
    }
}

/// `run --no-daemon` passes its job standard input, output and error only: a descriptor the
/// caller left open (a CI runner's pipe, a lock) never reaches the job or what it leaves
/// behind.
#[test]
fn a_foreground_job_inherits_no_descriptor_of_its_caller() {
    let csa = Csa::new();
    let probe = "[ -e /proc/$$/fd/7 ] && echo leaked || echo closed";
    let out = csa.sh(&format!(
        "exec 7>/dev/null; exec \"$CSA\" run --no-daemon '{probe}'"
    ));
    assert_success(&out, "csa run --no-daemon");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "closed\n");
}
