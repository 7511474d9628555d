//! `wait` for several sessions shows a progress line on a terminal (ended/total, failures),
//! cleared while each session's output is printed and at the end; never on a pipe, nor with
//! `--color=never` or `NO_COLOR`.

use std::process::{Command, Stdio};

use crate::support::pty::Pty;
use crate::support::{Csa, Gate, HANG, exited_within};

/// `csa session wait IDS…` with no colour variables set (plus `env`) and `args` first.
fn wait_command(csa: &Csa, ids: &[&String], args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = csa.wait_cmd(args, env);
    command.args(ids);
    command
}

#[test]
fn on_a_terminal_a_progress_line_counts_the_ended_and_failed_and_is_cleared() {
    let csa = Csa::new();
    let mut gates = [Gate::new(), Gate::new(), Gate::new()];
    let a = csa.run(&format!("{}; echo out-a; exit 3", gates[0].pass()));
    let b = csa.run(&format!("{}; echo out-b", gates[1].pass()));
    let c = csa.run(&format!("{}; echo out-c", gates[2].pass()));
    let mut pty = Pty::spawn(&wait_command(&csa, &[&a, &b, &c], &[], &[]), 24, 200);
    pty.wait_for_text("0/3 sessions ended, 0 failed");
    gates[0].open();
    pty.wait_for_text("1/3 sessions ended, 1 failed");
    // The first line drawn after the session's output already counts it.
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    let after = &raw[raw
        .find(&format!("CSA:SESSION_WAIT_COMPLETED id={a}"))
        .unwrap()..];
    let next = after.find(" sessions ended").unwrap();
    assert!(after[..next].ends_with("1/3"), "{after:?}");
    gates[1].open();
    pty.wait_for_text("2/3 sessions ended, 1 failed");
    gates[2].open();
    assert_eq!(pty.wait_exit(), 3, "{}", pty.screen());
    let screen = pty.screen();
    assert!(!screen.contains("sessions ended"), "not cleared:\n{screen}");
    // What wait printed is whole, each line from its first column: the line never garbled it.
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    for (id, out, status) in [
        (&a, "out-a", "failure"),
        (&b, "out-b", "success"),
        (&c, "out-c", "success"),
    ] {
        assert!(lines.contains(&out), "{screen}");
        let completed = format!("CSA:SESSION_WAIT_COMPLETED id={id} status={status} ");
        assert!(lines.iter().any(|l| l.starts_with(&completed)), "{screen}");
    }
    assert!(
        lines.iter().any(|l| l
            .starts_with("CSA:SESSION_WAIT_SUMMARY total=3 success=2 failed=1 pending=0 exit=3 ")),
        "{screen}"
    );
}

#[test]
fn no_progress_line_with_color_never_or_no_color_on_a_terminal() {
    let csa = Csa::new();
    let a = csa.run("true");
    let b = csa.run("true");
    for (args, env) in [
        (&["--color=never"][..], &[][..]),
        (&[][..], &[("NO_COLOR", "1")][..]),
    ] {
        let mut pty = Pty::spawn(&wait_command(&csa, &[&a, &b], args, env), 24, 200);
        assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
        let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
        assert!(!raw.contains("sessions ended"), "{args:?} {env:?}: {raw:?}");
        assert!(raw.contains("CSA:SESSION_WAIT_SUMMARY total=2"), "{raw:?}");
    }
}

/// Through a pipe nothing but the directives and the jobs' output, even when colour is
/// forced: agents parse these lines.
#[test]
fn through_a_pipe_no_progress_bytes_even_with_colour_forced() {
    let csa = Csa::new();
    let mut gate = Gate::new();
    let a = csa.run(&format!("{}; echo out-a", gate.pass()));
    let b = csa.run(&format!("{}; echo out-b; exit 4", gate.pass()));
    for (args, env) in [
        (&[][..], &[][..]),
        (&["--color=always"][..], &[][..]),
        (&[][..], &[("CLICOLOR_FORCE", "1")][..]),
    ] {
        let mut child = wait_command(&csa, &[&a, &b], args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        gate.open();
        let stderr = std::thread::spawn({
            let mut pipe = child.stderr.take().unwrap();
            move || {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut pipe, &mut text).unwrap();
                text
            }
        });
        let status = exited_within(&mut child, HANG).expect("wait returned");
        assert_eq!(status.code(), Some(4));
        let err = stderr.join().unwrap();
        assert!(
            !err.contains('\x1b') && !err.contains("sessions ended"),
            "{err:?}"
        );
        for line in err.lines() {
            assert!(
                line.starts_with("CSA:") || line.starts_with("csa: "),
                "{line:?} in {err:?}"
            );
        }
    }
}

/// Ctrl-C during a wait for several sessions clears the progress line before csa ends, and
/// csa ends by SIGINT, as it would without the line (a shell running a script stops it).
#[test]
fn ctrl_c_clears_the_progress_line_and_ends_by_sigint() {
    use std::os::unix::process::ExitStatusExt as _;
    let csa = Csa::new();
    let gate = Gate::new();
    let a = csa.run(&gate.pass());
    let b = csa.run(&gate.pass());
    let mut pty = Pty::spawn(&wait_command(&csa, &[&a, &b], &[], &[]), 24, 200);
    pty.wait_for_text("0/2 sessions ended, 0 failed");
    pty.send("\x03");
    let status = pty.wait_status();
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    let screen = pty.screen();
    assert!(
        !screen.contains("sessions ended"),
        "not cleared:\n{screen}\n{:?}",
        String::from_utf8_lossy(&pty.raw())
    );
    // The sessions go on.
    assert!(csa.result(&a).is_none() && csa.result(&b).is_none());
}
