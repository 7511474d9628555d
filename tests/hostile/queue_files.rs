//! Hostile queue files: `seq`, `lock`, `slots`, `slot.<i>`, `waiting/` entries and the
//! queue's directories replaced with symbolic links, FIFOs, directories, huge or garbage
//! files. csa never follows, blocks on, reads past a cap or echoes any of them: each is a
//! one-line error naming the path, or is passed over with a warning.

use std::path::Path;
use std::process::Command;

use super::{Outside, assert_rejected, code};
use crate::support::{Csa, HANG, names_in, output_within, stderr};

/// What a planted file holds when it is a regular file: it must never appear in a message.
const SECRET: &str = "SECRET-CONTENT-0123";

/// Replaces `path` with `kind`: a symbolic link to `victim` or to `/dev/zero`, a FIFO, a
/// directory, a 3 GiB sparse file, or a small file of garbage holding [`SECRET`].
fn plant(path: &Path, kind: &str, victim: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    match kind {
        "symlink" => std::os::unix::fs::symlink(victim, path).unwrap(),
        "zero" => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
        "fifo" => assert!(Command::new("mkfifo").arg(path).status().unwrap().success()),
        "directory" => std::fs::create_dir(path).unwrap(),
        "huge" => std::fs::File::create(path)
            .unwrap()
            .set_len(3 << 30)
            .unwrap(),
        "garbage" => std::fs::write(path, format!("{SECRET}\n\u{1b}[2J")).unwrap(),
        _ => unreachable!(),
    }
}

/// Removes whatever is at `path`.
fn unplant(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
}

const KINDS: [&str; 6] = ["symlink", "zero", "fifo", "directory", "huge", "garbage"];

/// Asserts that `text` names `path` and echoes nothing of the victim or the planted file.
#[track_caller]
fn names_without_echo(text: &str, path: &Path, what: &str) {
    assert!(text.contains(&path.display().to_string()), "{what}: {text}");
    assert!(
        !text.contains(SECRET) && !text.contains("victim-line"),
        "{what}: {text}"
    );
}

/// `csa ARGS…` fails with exit 125 and one error line (see [`assert_rejected`]) that names
/// `path` without echoing the victim (see [`names_without_echo`]); returns the error text.
#[track_caller]
fn refused_naming(csa: &Csa, args: &[&str], path: &Path, what: &str) -> String {
    let text = assert_rejected(&csa.output(args), 125, what);
    names_without_echo(&text, path, what);
    text
}

/// A csa with queue `q` (two slots set) and a file outside the root to point links at.
fn setup() -> (Csa, Outside, std::path::PathBuf) {
    let csa = Csa::new();
    let out = csa.output(&["queue", "slots", "q", "2"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let outside = Outside::new("victim-line\n");
    let queue = csa.state.path().join("queues").join("q");
    (csa, outside, queue)
}

/// A planted `seq`: `run --queue` refuses with one line naming it — never truncating what
/// a link points at, never hanging on a FIFO while it holds the queue's lock — and leaves
/// no session and no entry behind; once it is removed, the queue works again.
#[test]
fn a_planted_seq_is_refused_and_never_followed() {
    let (csa, outside, queue) = setup();
    let seq = queue.join("seq");
    for kind in KINDS {
        plant(&seq, kind, &outside.victim);
        let text = refused_naming(&csa, &["run", "--queue", "q", "true"], &seq, kind);
        assert!(text.contains("malformed state file"), "{kind}: {text}");
        csa.assert_no_session(kind);
        assert!(
            names_in(&queue.join("waiting")).is_empty(),
            "{kind}: an entry left"
        );
        let list = csa.output(&["queue", "list"]);
        assert_eq!(code(&list), 0, "{kind}: {}", stderr(&list));
        unplant(&seq);
    }
    outside.assert_untouched();
    let id = csa.run_args(&["--queue", "q", "echo works"]);
    assert_eq!(crate::support::stdout(&csa.wait(&id)), "works\n");
}

/// A planted `lock`: `run --queue` refuses with one line naming it.
#[test]
fn a_planted_queue_lock_is_refused_and_never_followed() {
    let (csa, outside, queue) = setup();
    let lock = queue.join("lock");
    for kind in ["symlink", "fifo", "directory"] {
        plant(&lock, kind, &outside.victim);
        refused_naming(&csa, &["run", "--queue", "q", "true"], &lock, kind);
        csa.assert_no_session(kind);
        unplant(&lock);
    }
    outside.assert_untouched();
}

/// A planted `slots`: `queue slots q` refuses naming it; `queue list` skips the queue with
/// a warning; a queued session's supervisor records a failure naming it instead of hanging
/// or guessing; `queue slots q N` replaces it.
#[test]
fn a_planted_slot_count_is_refused_never_read_nor_followed() {
    let (csa, outside, queue) = setup();
    let slots = queue.join("slots");
    for kind in KINDS {
        plant(&slots, kind, &outside.victim);
        refused_naming(&csa, &["queue", "slots", "q"], &slots, kind);
        let list = csa.output(&["queue", "list", "--json"]);
        assert_eq!(code(&list), 0, "{kind}: {}", stderr(&list));
        assert!(
            stderr(&list).contains("skipping queue q"),
            "{kind}: {}",
            stderr(&list)
        );
        names_without_echo(&stderr(&list), &slots, kind);
        let id = csa.run_args(&["--queue", "q", "echo ran"]);
        let out = csa.wait(&id);
        assert_eq!(code(&out), 125, "{kind}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{kind}: the job ran");
        let result = csa.result(&id).unwrap();
        let reason = result["reason"].as_str().unwrap();
        assert!(reason.contains("never started"), "{kind}: {reason}");
        names_without_echo(reason, &slots, kind);
        if kind == "directory" {
            unplant(&slots);
        }
        let out = csa.output(&["queue", "slots", "q", "1"]);
        assert_eq!(code(&out), 0, "{kind}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&slots).unwrap(), "1\n");
        std::fs::remove_dir_all(csa.session_dir(&id)).unwrap();
    }
    outside.assert_untouched();
}

/// A queue directory, `queues/` or `waiting/` that is a symbolic link is never followed:
/// `run --queue` and `queue slots` refuse naming it, and nothing is written where it
/// points; `queue list` does not list it.
#[test]
fn planted_queue_directories_are_refused_and_never_followed() {
    let csa = Csa::new();
    let outside = Outside::new("victim-line\n");
    let queues = csa.state.path().join("queues");
    std::fs::create_dir(&queues).unwrap();
    let linked = queues.join("linked");
    std::os::unix::fs::symlink(outside.path(""), &linked).unwrap();
    for args in [
        &["run", "--queue", "linked", "true"][..],
        &["queue", "slots", "linked", "3"][..],
    ] {
        refused_naming(&csa, args, &linked, "a linked queue directory");
    }
    let list = csa.output(&["queue", "list", "--json"]);
    assert_eq!(crate::support::stdout(&list), "[]\n");
    let waiting = queues.join("w").join("waiting");
    std::fs::create_dir(queues.join("w")).unwrap();
    std::os::unix::fs::symlink(outside.path(""), &waiting).unwrap();
    refused_naming(
        &csa,
        &["run", "--queue", "w", "true"],
        &waiting,
        "a linked waiting/",
    );
    csa.assert_no_session("planted directories");
    outside.assert_untouched();
}

/// A slot file the head needs that is not csa's fails the session naming it; one above the
/// slot count and a planted entry in `waiting/` are passed over (no waiter holds them), and
/// `queue list` warns about them without hanging.
#[test]
fn planted_slot_files_and_entries_are_refused_or_passed_over() {
    let (csa, outside, queue) = setup();
    let slot = queue.join("slot.0");
    plant(&slot, "symlink", &outside.victim);
    let id = csa.run_args(&["--queue", "q", "echo ran"]);
    assert_eq!(code(&csa.wait(&id)), 125);
    let result = csa.result(&id).unwrap();
    names_without_echo(result["reason"].as_str().unwrap(), &slot, "slot.0");
    unplant(&slot);

    let above = queue.join("slot.7");
    plant(&above, "fifo", &outside.victim);
    let entry = queue
        .join("waiting")
        .join("00000000000000000000-01M00000000000000000000000");
    plant(&entry, "fifo", &outside.victim);
    let id = csa.run_args(&["--queue", "q", "echo ran"]);
    let out = output_within(
        csa.cmd()
            .args(["session", "wait", "--until-done", "--session", &id]),
        HANG,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(crate::support::stdout(&out), "ran\n");
    let list = csa.output(&["queue", "list"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    let warnings = stderr(&list);
    names_without_echo(&warnings, &above, "slot.7");
    names_without_echo(&warnings, &entry, "a planted entry");
    // The other looks at the queue never hang on them, nor echo them.
    for args in [&["session", "list"][..], &["status"][..]] {
        let out = output_within(csa.cmd().args(args), HANG);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let text = format!("{}{}", crate::support::stdout(&out), stderr(&out));
        assert!(
            !text.contains(SECRET) && !text.contains("victim-line"),
            "{args:?}: {text}"
        );
    }
    outside.assert_untouched();
}
