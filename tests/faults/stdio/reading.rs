//! The commands that only read (`list`, `show`, `result`, `logs`, `wait`, `attach`, …) with a
//! broken stream: they exit as they do with working streams, and print the same on the stream
//! that works.

use super::{ALL, Broken, Stream, run_broken};
use crate::procs::wait_for_output;
use crate::support::{Csa, Gate, HANG, code, has_open, stdout, wait_for};

/// A finished session for the read-only commands: `out` on stdout, `err` on stderr, exit 3.
fn finished_session(csa: &Csa) -> String {
    csa.finished("echo out; echo err >&2; exit 3", 3)
}

/// The commands that only read: with stderr broken, or stdout closed, each exits as it does
/// with working streams and prints the same on the stream that works.
#[test]
fn reading_commands_exit_as_usual_with_a_broken_stream() {
    let csa = Csa::new();
    let id = finished_session(&csa);
    let commands: Vec<Vec<&str>> = vec![
        vec!["session", "wait", &id],
        vec!["session", "wait", "--session", &id, "--until-done"],
        vec!["session", "attach", &id],
        vec!["session", "attach", &id, "--stderr"],
        vec!["session", "list"],
        vec!["session", "list", "--json"],
        vec!["session", "result", &id],
        vec!["session", "result", &id, "--json"],
        vec!["session", "logs", &id, "--stderr"],
        vec!["session", "kill", &id],
        vec!["session", "clean", "--dry-run"],
        vec!["tools"],
        vec!["tools", "--json"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["queue", "list"],
        vec!["queue", "slots", "builds", "2"],
        vec!["--help"],
        vec!["session", "wait", "ZZZZZZZZ"],
        vec!["session", "no-such-command"],
    ];
    for args in &commands {
        let normal = csa.output(args);
        let expected = code(&normal);
        for (stream, broken) in ALL {
            let ended = run_broken(&csa, args, stream, broken);
            let got = ended.code();
            match (stream, broken) {
                // `logs --stderr` prints data on stderr: a full device fails it, after
                // stdout was printed.
                (Stream::Stderr, Broken::Full) if args.get(1) == Some(&"logs") => {
                    assert_eq!(got, 125, "{}", ended.what);
                    assert_eq!(
                        without_ages(&ended.other),
                        without_ages(&stdout(&normal)),
                        "{}",
                        ended.what
                    );
                }
                (Stream::Stderr, _) => {
                    assert_eq!(got, expected, "{}", ended.what);
                    assert_eq!(
                        without_ages(&ended.other),
                        without_ages(&stdout(&normal)),
                        "{}",
                        ended.what
                    );
                }
                (Stream::Stdout, Broken::Closed) => {
                    assert_eq!(got, expected, "{}: {}", ended.what, ended.other);
                }
                // A reader that went away is not an error (as for other Unix filters);
                // `attach` then ends with 0.
                (Stream::Stdout, Broken::Gone) => {
                    let attach = args.get(1) == Some(&"attach");
                    let want = if attach { 0 } else { expected };
                    assert_eq!(got, want, "{}: {}", ended.what, ended.other);
                }
                // Output that cannot be written is an error of the command that prints
                // it, in one line; commands that print nothing are unaffected.
                (Stream::Stdout, Broken::Full) => {
                    if normal.stdout.is_empty() || args[0] == "--help" {
                        assert_eq!(got, expected, "{}: {}", ended.what, ended.other);
                    } else {
                        assert_eq!(got, 125, "{}: {}", ended.what, ended.other);
                        let errors: Vec<&str> = ended
                            .other
                            .lines()
                            .filter(|line| !line.starts_with("CSA:"))
                            .collect();
                        assert_eq!(errors.len(), 1, "{}: {}", ended.what, ended.other);
                        assert!(
                            errors[0].starts_with("csa: ")
                                && errors[0].contains("No space left on device"),
                            "{}: {}",
                            ended.what,
                            ended.other
                        );
                    }
                }
            }
        }
    }
}

/// `text` with every age or duration in whole units (`0s`, `12m`, `3h`, `9d`) as `?`: a
/// listing made a moment later may show a second more.
fn without_ages(text: &str) -> String {
    let masked = |word: &str| {
        let digits = word.trim_end_matches(['s', 'm', 'h', 'd']);
        word.len() == digits.len() + 1
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
    };
    text.split(' ')
        .map(|word| if masked(word) { "?" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `attach --stderr` whose stderr breaks still follows stdout to the end and exits with
/// the job's code; one whose stdout reader goes away ends at once with 0.
#[test]
fn attach_follows_stdout_when_stderr_breaks() {
    let csa = Csa::new();
    for broken in [Broken::Closed, Broken::Gone, Broken::Full] {
        let mut gate = Gate::new();
        let id = csa.run(&format!(
            "echo first; echo oops >&2; {}; echo second; exit 5",
            gate.pass()
        ));
        wait_for_output(&csa.session_dir(&id).join("stderr.log"), "oops");
        // The rest of the output comes once `attach` follows the spool file, live.
        let opener = {
            let spool = csa.session_dir(&id).join("stdout.log");
            let id = id.clone();
            std::thread::spawn(move || {
                wait_for(HANG, "attach to open the spool file", || {
                    attaching(&id).is_some_and(|pid| has_open(pid, &spool))
                });
                gate.open();
            })
        };
        let ended = run_broken(
            &csa,
            &["session", "attach", &id, "--stderr"],
            Stream::Stderr,
            broken,
        );
        opener.join().unwrap();
        assert_eq!(ended.code(), 5, "{}", ended.what);
        assert_eq!(ended.other, "first\nsecond\n", "{}", ended.what);
    }
}

/// The PID of a `csa session attach` of session `id`.
fn attaching(id: &str) -> Option<i32> {
    crate::support::pids().into_iter().find(|pid| {
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
        argv.contains(&b"attach".as_slice()) && argv.contains(&id.as_bytes())
    })
}
