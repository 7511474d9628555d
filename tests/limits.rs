//! `csa run` under resource limits: when the supervisor cannot be created (`ulimit -u`, a
//! pids control group), `run` fails with one line and exit 125, leaves no session behind,
//! and signals nothing. A `clone` that fails returns -1; taken for a PID, the clean-up's
//! SIGKILL would be `kill(-1)`: every process of the user, or of the machine as root. So
//! these run in a private PID namespace ([`isolation`]).

use crate::support::isolation::{self, Namespace, PidsLimit, Throwaway};
use crate::support::{Csa, assert_contains, assert_exit, code, stderr, stdout};

/// The start of a script: a decoy process (`sleep`), once it is asleep: `$decoy` is its
/// PID.
const DECOY: &str = r#"
sleep 300 & decoy=$!
asleep "$decoy"
"#;

/// The lines a script prints after `csa run` returned: `exit=N`, then `decoy=alive` when the
/// decoy ([`DECOY`]) was not signalled ([`isolation::PROCESS_FUNCTIONS`]).
const REPORT: &str = r#"
echo "exit=$status"
report decoy "$decoy"
kill "$decoy"
"#;

/// Checks what `run` reported and left: exit 125, one line saying the supervisor could not
/// be started, no session (not even a staged `.new-` one), the decoy untouched.
#[track_caller]
fn assert_refused_cleanly(report: &str, run_stderr: &str, sessions: &[String]) {
    assert!(
        report.contains("decoy=alive"),
        "{report}\nrun: {run_stderr}"
    );
    assert!(report.contains("exit=125"), "{report}\nrun: {run_stderr}");
    assert_eq!(run_stderr.lines().count(), 1, "{run_stderr}");
    assert!(
        run_stderr.starts_with("csa: cannot start the supervisor:")
            && run_stderr.contains("no session was created"),
        "{run_stderr}"
    );
    assert!(sessions.is_empty(), "left behind: {sessions:?}");
}

#[test]
#[ignore = "needs root: a private PID namespace and the throwaway user csatest (CI runs it)"]
fn run_under_ulimit_u_fails_cleanly_and_signals_nothing() {
    let user = Throwaway::new(isolation::USER);
    let out = Namespace::new(&format!(
        r#"cd "$HOME"
{DECOY}
( ulimit -u 1; exec "$CSA" run true ) >run.out 2>run.err
status=$?
{REPORT}"#
    ))
    .user(&user)
    .run();
    let report = crate::support::stdout(&out);
    let run_stderr = std::fs::read_to_string(user.home().join("run.err")).unwrap_or_default();
    assert_refused_cleanly(&report, &run_stderr, &user.session_entries());
    assert_contains(&run_stderr, &["process limit"]);
    let run_stdout = std::fs::read_to_string(user.home().join("run.out")).unwrap_or_default();
    assert_eq!(run_stdout, "", "no session ID may be printed");
}

#[test]
#[ignore = "needs root: a private PID namespace and a pids control group (CI runs it)"]
fn run_under_a_pids_cgroup_limit_fails_cleanly_and_signals_nothing() {
    let csa = Csa::new();
    let limit = PidsLimit::new(1);
    let out = Namespace::new(&format!(
        r#"{DECOY}
bash -c 'echo $$ > "$CSA_TEST_CGROUP/cgroup.procs" && exec "$CSA" run true' >"$CSA_TEST_DIR/run.out" 2>"$CSA_TEST_DIR/run.err"
status=$?
{REPORT}"#
    ))
    .env("CSA", env!("CARGO_BIN_EXE_csa"))
    .env("CSA_STATE_DIR", csa.state.path())
    .env("CSA_TEST_DIR", csa.state.path())
    .env("CSA_TEST_CGROUP", limit.path())
    .run();
    let report = crate::support::stdout(&out);
    let run_stderr = std::fs::read_to_string(csa.state.path().join("run.err")).unwrap_or_default();
    assert_refused_cleanly(&report, &run_stderr, &csa.session_entries());
    assert_exit(&out, 0);
}

/// `csa run` under `ulimit -n` from 3 to 20 descriptors: either it starts the job and
/// prints its ID and `CSA:SESSION_STARTED`, or it fails with one line (exit 125), leaves no
/// session behind and the job never runs. (An EMFILE while saving its standard descriptors
/// across the fork was taken for "not open": `run` then closed its own stdout and stderr,
/// exited 0 and printed nothing, while the job ran.)
#[test]
fn run_under_ulimit_n_prints_the_id_or_fails_cleanly() {
    let csa = Csa::new();
    let marks = tempfile::tempdir().unwrap();
    for limit in 3..=20 {
        let mark = marks.path().join(format!("ran-{limit}"));
        let before = csa.session_entries();
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" run \"$1\""))
            .arg(env!("CARGO_BIN_EXE_csa"))
            .arg(format!("echo ran > '{}'", mark.display()))
            .env("CSA_STATE_DIR", csa.state.path())
            .stdin(std::process::Stdio::null());
        let out = crate::support::output_within(&mut command, crate::support::HANG);
        let (out_text, err_text) = (stdout(&out), stderr(&out));
        let new: Vec<String> = csa
            .session_entries()
            .into_iter()
            .filter(|entry| !before.contains(entry))
            .collect();
        match code(&out) {
            0 => {
                let id = out_text.trim_end();
                assert!(crate::support::is_ulid(id), "{limit}: stdout {out_text:?}");
                assert!(
                    crate::support::directive(&err_text, "SESSION_STARTED")
                        .is_some_and(|line| line.contains(id)),
                    "{limit}: stderr {err_text:?}"
                );
                assert_eq!(new, [id.to_owned()], "{limit}");
                assert_eq!(code(&csa.wait(id)), 0, "{limit}");
                assert!(mark.exists(), "{limit}: the job ran");
            }
            125 => {
                assert_eq!(out_text, "", "{limit}");
                assert_eq!(err_text.lines().count(), 1, "{limit}: {err_text}");
                assert!(err_text.starts_with("csa: "), "{limit}: {err_text}");
                assert!(new.is_empty(), "{limit}: left behind {new:?}");
                assert!(
                    !mark.exists(),
                    "{limit}: the job ran without its ID printed"
                );
            }
            other => panic!("{limit}: exit {other}\nstdout: {out_text}\nstderr: {err_text}"),
        }
    }
}

/// `bash -c SCRIPT` with `$0` the csa binary, csa's state root, standard input from
/// /dev/null; its output (a pipe: `ulimit -f` does not bind pipes).
fn bash(csa: &Csa, script: &str) -> std::process::Output {
    let mut command = std::process::Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_csa"))
        .env("CSA_STATE_DIR", csa.state.path())
        .stdin(std::process::Stdio::null());
    crate::support::output_within(&mut command, crate::support::HANG)
}

/// Under `ulimit -f` of 0 to 3 KiB `csa run` cannot reserve the room a result needs: it
/// fails with one line naming the limit (exit 125) and leaves nothing behind. (SIGXFSZ
/// killed it: exit 153, no message, a `.new-` directory left.) At 4 KiB it starts.
#[test]
fn run_under_ulimit_f_fails_with_one_line_and_leaves_nothing() {
    let csa = Csa::new();
    for kib in 0..=3 {
        let out = bash(&csa, &format!("ulimit -f {kib} && exec \"$0\" run true"));
        let text = stderr(&out);
        assert_eq!(code(&out), 125, "{kib} KiB: {text}");
        assert_eq!(text.lines().count(), 1, "{kib} KiB: {text}");
        assert!(text.contains("ulimit -f"), "{kib} KiB: {text}");
        assert_eq!(stdout(&out), "", "{kib} KiB");
        assert_eq!(csa.session_entries(), Vec::<String>::new(), "{kib} KiB");
    }
    let out = bash(&csa, "ulimit -f 4 && exec \"$0\" run true");
    assert_exit(&out, 0);
    assert_eq!(code(&csa.wait(stdout(&out).trim_end())), 0);
}

/// `run --no-daemon` supervises its job and copies its output to its own standard output
/// and error: a copy that meets `ulimit -f` is cut short, and the supervisor still records
/// the job's true result. (SIGXFSZ killed the supervisor: exit 153, the session lost.)
#[test]
fn a_supervisor_that_meets_ulimit_f_still_records_the_result() {
    let csa = Csa::new();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    let out = bash(
        &csa,
        &format!(
            "ulimit -f 8 && exec \"$0\" run --no-daemon 'head -c 6000 /dev/zero; head -c 6000 /dev/zero >&2; exit 3' >'{}' 2>&1",
            copy.display()
        ),
    );
    assert_exit(&out, 3);
    let id = csa.session_ids().pop().expect("the session");
    let result = csa.result(&id).expect("result.toml");
    assert_eq!(result["status"].as_str(), Some("failure"), "{result:?}");
    assert_eq!(result["exit_code"].as_integer(), Some(3));
    assert_eq!(
        std::fs::metadata(&copy).unwrap().len(),
        8192,
        "the copy stops at the limit"
    );
}

/// csa ignores SIGXFSZ for itself; the job gets the default action back, even from a caller
/// that ignored it (an ignored signal stays ignored across `exec`).
#[test]
fn the_job_gets_the_default_action_for_sigxfsz() {
    let csa = Csa::new();
    let out = bash(
        &csa,
        "trap '' XFSZ && exec \"$0\" run -- grep SigIgn /proc/self/status",
    );
    assert_exit(&out, 0);
    let id = stdout(&out).trim_end().to_owned();
    let waited = csa.wait(&id);
    assert_exit(&waited, 0);
    let line = stdout(&waited);
    let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16)
        .unwrap_or_else(|_| panic!("{line:?}"));
    assert_eq!(
        mask & (1 << (25 - 1)),
        0,
        "SIGXFSZ (25) is ignored in the job: {line}"
    );
}
