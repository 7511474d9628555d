//! `csa session wait` for several sessions: IDs, `--session` repeated, `--tag`, `--any`;
//! exit codes, whole outputs in completion order, the cap with sessions still pending, lost
//! sessions among many, and one wait for 1,000 sessions.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::support::{
    Csa, Gate, HANG, assert_contains, assert_error, assert_exit, assert_output, code, directive,
    has_open, output_within, stderr, stdout, wait_for,
};
use crate::support_faults::signal;

/// `csa session wait ARGS…` started in the background: stdout collected whole, stderr line
/// by line as it comes.
struct Waiter {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    out: Option<JoinHandle<Vec<u8>>>,
}

impl Waiter {
    fn start(csa: &Csa, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = csa.cmd();
        command
            .args(["session", "wait"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let collected = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push(line);
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
            bytes
        });
        Self {
            child,
            lines,
            reader: Some(reader),
            out: Some(out),
        }
    }

    fn stderr_has(&self, wanted: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(wanted))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the end (failing after [`HANG`]); returns the exit code, stdout, stderr.
    fn finish(mut self) -> (i32, Vec<u8>, String) {
        let mut status = None;
        wait_for(HANG, "csa session wait to return", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        self.reader.take().unwrap().join().unwrap();
        let out = self.out.take().unwrap().join().unwrap();
        let err = self.lines.lock().unwrap().join("\n");
        assert!(!err.contains("panicked at"), "csa panicked: {err}");
        (status.unwrap().code().expect("exit code"), out, err)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The IDs of the `SESSION_WAIT_COMPLETED` lines of `stderr`, in order.
fn completed(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("CSA:SESSION_WAIT_COMPLETED "))
        .map(|l| value(l, "id"))
        .collect()
}

/// The value of `key` in a directive line (unquoted values only).
fn value(line: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    line.split(' ')
        .find_map(|word| word.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .trim_matches('"')
        .to_owned()
}

fn summary(stderr: &str) -> &str {
    directive(stderr, "SESSION_WAIT_SUMMARY").expect("SESSION_WAIT_SUMMARY")
}

fn wait_result(csa: &Csa, id: &str) {
    wait_for(HANG, "the session's result", || csa.result(id).is_some());
}

#[test]
fn all_exits_with_the_first_failure_in_completion_order() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new(), Gate::new()];
    let a = csa.run(&format!("{}; echo a; exit 3", gates[0].pass()));
    let b = csa.run(&format!("{}; echo b; exit 0", gates[1].pass()));
    let c = csa.run(&format!("{}; echo c; exit 5", gates[2].pass()));
    // Both forms: IDs as arguments and `--session` repeated.
    let waiter = Waiter::start(&csa, &[&a, "--session", &b, "--session", &c], &[]);
    gates[1].open();
    wait_result(&csa, &b);
    gates[2].open();
    wait_result(&csa, &c);
    gates[0].open();
    let (status, out, err) = waiter.finish();
    assert_eq!(status, 5, "{err}");
    assert_eq!(out, b"b\nc\na\n");
    assert_eq!(completed(&err), [b.clone(), c, a]);
    assert!(
        summary(&err).contains("total=3 success=1 failed=2 pending=0 exit=5"),
        "{err}"
    );
    // All succeeded: 0.
    let out = csa.output(&["session", "wait", &b, &b, "--until-done"]);
    assert_exit(&out, 0);
    assert!(summary(&stderr(&out)).contains("total=1 success=1"));
}

/// A session ends when its `result.toml` is renamed into place; its supervisor releases the
/// lock a moment later. Under load a session that ended first can release its lock after
/// one that ended later: `wait` still reports them in the order they ended. Here `y` is held
/// in that window (its result written, its lock held) while `x` ends after it.
#[test]
fn sessions_found_ended_together_come_in_the_order_they_ended() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let x = csa.run(&format!("{}; echo x", gate.pass()));
    let y = csa.finished("echo y", 0);
    let dir = std::fs::canonicalize(csa.session_dir(&y)).unwrap();
    let result = dir.join("result.toml");
    let aside = dir.join("result.toml.aside");
    std::fs::rename(&result, &aside).unwrap();
    let lock = std::fs::File::open(dir.join("lock")).unwrap();
    lock.lock().unwrap();
    let waiter = Waiter::start(&csa, &[&x, &y], &[("CSA_TEST_WAIT_MODE", "threads")]);
    let x_lock = std::fs::canonicalize(csa.session_dir(&x).join("lock")).unwrap();
    let y_lock = dir.join("lock");
    let pid = i32::try_from(waiter.pid()).unwrap();
    wait_for(HANG, "the waiter to block on both locks", || {
        has_open(pid, &x_lock) && has_open(pid, &y_lock)
    });
    // `y` ends first (its result is the older one), then `x`.
    std::fs::rename(&aside, &result).unwrap();
    gate.open();
    wait_for(HANG, "x to be reported", || {
        waiter.stderr_has(&format!("CSA:SESSION_WAIT_COMPLETED id={x} "))
    });
    drop(lock);
    let (status, out, err) = waiter.finish();
    assert_eq!(status, 0, "{err}");
    assert_eq!(completed(&err), [y, x], "{err}");
    assert_eq!(out, b"y\nx\n");
}

#[test]
fn any_returns_when_one_ends_with_its_exit_code() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new()];
    let a = csa.run(&format!("{}; echo a", gates[0].pass()));
    let b = csa.run(&format!("{}; echo b; exit 7", gates[1].pass()));
    let waiter = Waiter::start(&csa, &["--any", &a, &b], &[]);
    gates[1].open();
    let (status, out, err) = waiter.finish();
    assert_eq!(status, 7, "{err}");
    assert_eq!(out, b"b\n");
    assert_eq!(completed(&err), [b]);
    assert!(
        summary(&err).contains("total=2 success=0 failed=1 pending=1 exit=7"),
        "{err}"
    );
    assert!(directive(&err, "SESSION_WAIT_KV_WARM").is_none(), "{err}");
    // It names the session still pending and the command that keeps waiting for it.
    let line = err
        .lines()
        .find(|line| line.starts_with("csa: 1 session still pending: "))
        .unwrap_or_else(|| panic!("no pending line: {err}"));
    assert!(line.contains(&format!("pending: {a};")), "{line}");
    assert!(line.ends_with(&format!("session wait --any {a}")), "{line}");
    assert!(csa.result(&a).is_none(), "the other session still runs");
    gates[0].open();
    // A success ends `--any` with 0.
    let out = csa.output(&["session", "wait", "--any", &a, "--until-done"]);
    assert_exit(&out, 0);
}

#[test]
fn tag_waits_for_the_sessions_with_every_tag() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let other = csa.run(&gate.pass());
    let ok = csa.run_with("--tag ci-1 --tag unit", "echo ok");
    let failing = csa.run_with("--tag ci-1", "echo failing; exit 4");
    let out = csa.output(&["session", "wait", "--tag", "ci-1", "--until-done"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 4, "{err}");
    let mut ids = completed(&err);
    ids.sort();
    let mut wanted = vec![ok.clone(), failing];
    wanted.sort();
    assert_eq!(ids, wanted, "only the tagged sessions");
    assert!(
        summary(&err).contains("total=2 success=1 failed=1"),
        "{err}"
    );
    // Several tags: the sessions with all of them.
    let out = csa.output(&["session", "wait", "--tag", "ci-1", "--tag", "unit"]);
    assert_exit(&out, 0);
    assert_eq!(completed(&stderr(&out)), [ok]);
    // No session with the tag: an error naming it, not a silent success.
    let out = csa.output(&["session", "wait", "--tag", "ci-2"]);
    assert_error(&out, 125, "ci-2");
    // Tags are labels: anything else is a usage error.
    for bad in ["a/b", "", "x y"] {
        let out = csa.output(&["session", "wait", "--tag", bad]);
        assert_eq!(code(&out), 2, "{bad:?}");
        let out = csa.output(&["run", "--tag", bad, "true"]);
        assert_eq!(code(&out), 2, "{bad:?}");
    }
    gate.open();
    csa.wait(&other);
}

/// Jobs writing 2 MB each at the same time: each output comes out whole, in the order of
/// the `SESSION_WAIT_COMPLETED` lines.
#[test]
fn outputs_are_never_interleaved() {
    const SIZE: usize = 2_000_000;
    for mode in ["threads", "inotify"] {
        let csa = Csa::new();
        let mut gate = Gate::new();
        let letters = ["a", "b", "c", "d", "e"];
        let ids: Vec<String> = letters
            .iter()
            .map(|letter| {
                csa.run_args(&[
                    "--tag",
                    "big",
                    &format!(
                        "{}; head -c {SIZE} /dev/zero | tr '\\0' {letter}; echo",
                        gate.pass()
                    ),
                ])
            })
            .collect();
        let waiter = Waiter::start(&csa, &["--tag", "big"], &[("CSA_TEST_WAIT_MODE", mode)]);
        gate.open();
        let (status, out, err) = waiter.finish();
        assert_eq!(status, 0, "{mode}: {err}");
        let order = completed(&err);
        assert_eq!(order.len(), ids.len(), "{mode}: {err}");
        assert_eq!(out.len(), ids.len() * (SIZE + 1), "{mode}");
        for (block, id) in out.chunks(SIZE + 1).zip(&order) {
            let letter = letters[ids.iter().position(|i| i == id).unwrap()].as_bytes()[0];
            assert!(
                block[..SIZE].iter().all(|&b| b == letter) && block[SIZE] == b'\n',
                "{mode}: the output of {id} is not whole"
            );
        }
    }
}

#[test]
fn at_the_cap_kv_warm_names_exactly_the_sessions_still_pending() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new()];
    let quick = csa.run("echo quick; exit 6");
    wait_result(&csa, &quick);
    let b = csa.run(&format!("{}; echo b", gates[0].pass()));
    let c = csa.run(&format!("{}; echo c", gates[1].pass()));
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", &quick, &b, &c, "--tail", "5"])
            .env("CSA_TEST_WAIT_CAP_MS", "500"),
        HANG,
    );
    let err = stderr(&out);
    // The session that failed before the cap decides the exit code.
    assert_eq!(code(&out), 6, "{err}");
    assert_eq!(stdout(&out), "quick\n");
    assert_eq!(completed(&err), [quick]);
    let warm = directive(&err, "SESSION_WAIT_KV_WARM").expect("KV_WARM");
    assert_eq!(value(warm, "id"), format!("{b},{c}"), "{warm}");
    assert_eq!(value(warm, "status"), "alive,alive", "{warm}");
    assert_eq!(value(warm, "pending"), "2", "{warm}");
    let hint = directive(&err, "CALLER_HINT").expect("CALLER_HINT");
    assert_contains(hint, &["action=retry_wait"]);
    assert!(
        summary(&err).contains("total=3 success=0 failed=1 pending=2 exit=6"),
        "{err}"
    );
    // `cmd` as printed, pasted into a shell, waits for exactly the rest with the same
    // options.
    let cmd = warm.split_once(" cmd=\"").unwrap().1.trim_end_matches('"');
    let cmd = cmd.replace("\\\"", "\"").replace("\\\\", "\\");
    assert_contains(&cmd, &[" session wait --tail 5 "]);
    for gate in &mut gates {
        gate.open();
    }
    let again = output_within(
        Command::new("sh")
            .args(["-c", &cmd])
            .env_remove("CSA_STATE_DIR")
            .stdin(Stdio::null()),
        HANG,
    );
    let err = stderr(&again);
    assert_eq!(code(&again), 0, "{err}");
    let mut rest = completed(&err);
    rest.sort();
    let mut wanted = vec![b, c];
    wanted.sort();
    assert_eq!(rest, wanted, "{err}");
    assert!(summary(&err).contains("total=2 success=2"), "{err}");

    // Nothing ended before the cap: 0, as for one session.
    let mut gate = Gate::new();
    let d = csa.run(&gate.pass());
    let e = csa.run(&gate.pass());
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", "--any", &d, &e])
            .env("CSA_TEST_WAIT_CAP_MS", "300"),
        HANG,
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let warm = directive(&err, "SESSION_WAIT_KV_WARM").expect("KV_WARM");
    assert_contains(warm, &[&format!(" session wait --any {d} {e}\"")]);
    gate.open();
}

/// A supervisor killed with SIGKILL among many sessions is reported `lost` while the wait goes on
/// waiting for the others.
#[test]
fn a_lost_session_among_many_is_reported_at_once() {
    for mode in ["threads", "inotify", "poll"] {
        let csa = Csa::new();
        let mut gate = Gate::new();
        let ids: Vec<String> = (0..12)
            .map(|_| csa.run_with("--tag fleet", &gate.pass()))
            .collect();
        let waiter = Waiter::start(
            &csa,
            &["--tag", "fleet", "--until-done"],
            &[("CSA_TEST_WAIT_MODE", mode)],
        );
        let victim = &ids[5];
        signal(csa.supervisor_pid(victim), 9);
        wait_for(HANG, "the lost session's COMPLETED line", || {
            waiter.stderr_has(&format!("COMPLETED id={victim} status=lost"))
        });
        assert!(
            csa.result(&ids[0]).is_none(),
            "{mode}: the others still run"
        );
        gate.open();
        let (status, _, err) = waiter.finish();
        assert_eq!(status, 1, "{mode}: {err}");
        assert_eq!(completed(&err).len(), 12, "{mode}: {err}");
        assert_eq!(completed(&err)[0], *victim, "{mode}");
        assert!(
            summary(&err).contains("total=12 success=11 failed=1 pending=0 exit=1"),
            "{mode}: {err}"
        );
        csa.kill_group(victim);
    }
}

/// Resident memory of process `pid` (kB): the peak so far (`VmHWM`).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .ok()
}

/// One wait for 1,000 real sessions: each reported once, all succeeded. The wait's peak
/// resident memory is printed (a measurement, not an assertion; see BENCHMARKS.md).
#[test]
fn one_wait_for_a_thousand_sessions() {
    const COUNT: usize = 1000;
    let csa = Csa::new();
    let mut gate = Gate::new();
    let gate_path = gate.path().to_str().unwrap();
    for _ in 0..COUNT {
        csa.run_args(&["--tag", "k", "--", "flock", "-s", gate_path, "true"]);
    }
    let waiter = Waiter::start(&csa, &["--tag", "k", "--until-done"], &[]);
    let pid = waiter.pid();
    // Watching: the inotify instance is open.
    wait_for(HANG, "the wait to watch the sessions", || {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().contains("inotify"))
            })
        })
    });
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kb) = peak_rss_kb(pid) {
            peak = kb;
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    gate.open();
    let (status, _, err) = waiter.finish();
    let peak = sampler.join().unwrap();
    assert_eq!(status, 0, "{}", err.lines().last().unwrap_or(""));
    let mut ids = completed(&err);
    assert_eq!(ids.len(), COUNT);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), COUNT, "a session was reported twice");
    assert!(summary(&err).contains("total=1000 success=1000 failed=0 pending=0 exit=0"));
    println!("wait for {COUNT} sessions: peak RSS {peak} kB");
}

#[test]
fn a_failure_shows_the_end_of_stderr() {
    let csa = Csa::new();
    let failing = csa.run(
        "for i in $(seq 30); do echo err-$i >&2; done; echo out; printf no-newline >&2; exit 2",
    );
    let out = csa.wait(&failing);
    let err = stderr(&out);
    assert_output(&out, 2, "out\n");
    let lines: Vec<&str> = err.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("csa: the last 20 lines of stderr.log of session"))
        .expect(&err);
    assert_eq!(lines[header + 1], "err-12", "{err}");
    assert_eq!(lines[header + 19], "err-30", "{err}");
    assert_eq!(lines[header + 20], "no-newline", "{err}");
    assert!(
        lines[header + 21].starts_with("CSA:SESSION_WAIT_COMPLETED "),
        "{err}"
    );
    assert!(!err.contains("err-11\n"), "{err}");

    // Success: stderr stays out of it, unless asked with --stderr (all of it).
    let fine = csa.run("for i in $(seq 30); do echo err-$i >&2; done");
    let out = csa.wait(&fine);
    assert!(!stderr(&out).contains("err-"), "{}", stderr(&out));
    let out = csa.output(&["session", "wait", &fine, "--stderr"]);
    let err = stderr(&out);
    assert!(
        err.starts_with("err-1\nerr-2\n") && err.contains("err-30\nCSA:"),
        "{err}"
    );
    // A lost session says why.
    let lost = csa.run("echo dying >&2; sleep 30");
    wait_for(HANG, "the job's stderr", || {
        std::fs::metadata(csa.session_dir(&lost).join("stderr.log")).is_ok_and(|m| m.len() > 0)
    });
    signal(csa.supervisor_pid(&lost), 9);
    let out = csa.wait(&lost);
    let err = stderr(&out);
    assert_exit(&out, 1);
    assert_contains(
        &err,
        &[
            "ended with lost: supervisor vanished",
            "\ndying\nCSA:SESSION_WAIT_COMPLETED",
        ],
    );
    csa.kill_group(&lost);
}

#[test]
fn tail_limits_stdout_to_its_last_lines() {
    let csa = Csa::new();
    let id = csa.run("seq 100000; seq 3 >&2; exit 1");
    let out = csa.output(&["session", "wait", "--session", &id, "--tail", "2"]);
    assert_output(&out, 1, "99999\n100000\n");
    // With --stderr, both logs are cut.
    let out = csa.output(&["session", "wait", &id, "--tail", "1", "--stderr"]);
    assert_eq!(stdout(&out), "100000\n");
    assert!(
        stderr(&out).starts_with("3\nCSA:SESSION_WAIT_COMPLETED"),
        "{}",
        stderr(&out)
    );
    // The same for several sessions, each cut on its own.
    let other = csa.run("seq 5");
    let out = csa.output(&["session", "wait", &id, &other, "--tail", "1"]);
    let text = stdout(&out);
    assert!(text == "100000\n5\n" || text == "5\n100000\n", "{text}");
    let out = csa.output(&["session", "wait", &other, "--tail", "0"]);
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_single_wait_prints_no_summary() {
    let csa = Csa::new();
    let id = csa.run("echo one");
    for args in [vec![id.as_str()], vec!["--session", &id]] {
        let mut all = vec!["session", "wait"];
        all.extend(args);
        let out = csa.output(&all);
        assert_exit(&out, 0);
        assert!(directive(&stderr(&out), "SESSION_WAIT_SUMMARY").is_none());
    }
}
