//! `wait` removes the job's escape sequences from what it passes on to a stream that is not a
//! terminal (`--color=auto`), never with `--color=always`, always with `--color=never`; every
//! other byte passes exactly, and the logs on disk keep them all.

use std::path::PathBuf;

use crate::support::pty::Pty;
use crate::support::{Csa, HANG, code, output_within, stderr};

/// Colour codes, an OSC window title (ended by BEL, and by `ESC \`), a cursor move and a
/// charset switch: what the job wrote, and what is left once the sequences are removed.
const STYLED: &[u8] =
    b"\x1b[1;31mred\x1b[0m \x1b]0;a title\x07\x1b]2;t\xc3\xa9\x1b\\\x1b[2K\x1b(Bplain\n";
const PLAIN: &[u8] = b"red plain\n";

/// Bytes no stripping may touch: tabs, CR, a bell, a backspace, NUL, UTF-8, invalid UTF-8,
/// single-byte C1 controls and every byte from 0x80 up.
fn untouchable() -> Vec<u8> {
    let mut bytes = "tab\there\r\nbell\x07 back\x08 nul\0 é ✓ 🦀\n"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(b"\xff\xfe\xc3(\x9b31m\xc0\x80\n");
    bytes.extend((0x80..=0xffu8).chain(0x00..0x1b).chain(0x1c..0x20));
    bytes.push(b'\n');
    bytes
}

/// A job that writes `bytes` (from a file, so they are exact) to stdout, or with `to_stderr`
/// to stderr and then fails; waited for to its end. Returns its ID.
fn job_writing(csa: &Csa, name: &str, bytes: &[u8], to_stderr: bool) -> String {
    let path: PathBuf = csa.state.path().join(format!("{name}.bytes"));
    std::fs::write(&path, bytes).unwrap();
    let script = if to_stderr {
        format!("cat '{}' >&2; exit 1", path.display())
    } else {
        format!("cat '{}'", path.display())
    };
    let id = csa.run(&script);
    let out = csa.wait(&id);
    assert_eq!(code(&out), i32::from(to_stderr), "{}", stderr(&out));
    id
}

/// `csa session wait ARGS… ID` with stdout and stderr on pipes and no colour variables set
/// (plus `env`): its stdout and stderr, bytes.
fn wait_bytes(csa: &Csa, id: &str, args: &[&str], env: &[(&str, &str)]) -> (Vec<u8>, Vec<u8>) {
    let mut command = csa.wait_cmd(args, env);
    command.arg(id);
    let out = output_within(&mut command, HANG);
    (out.stdout, out.stderr)
}

#[test]
fn off_a_terminal_escapes_are_removed_and_every_other_byte_passes() {
    let csa = Csa::new();
    let mut written = STYLED.to_vec();
    written.extend(untouchable());
    let mut wanted = PLAIN.to_vec();
    wanted.extend(untouchable());
    let id = job_writing(&csa, "out", &written, false);
    let (out, _) = wait_bytes(&csa, &id, &[], &[]);
    assert_eq!(out, wanted);
    // `--color=never` too; the log keeps every byte, and `logs` prints it as it is.
    assert_eq!(wait_bytes(&csa, &id, &["--color=never"], &[]).0, wanted);
    assert_eq!(
        std::fs::read(csa.session_dir(&id).join("stdout.log")).unwrap(),
        written
    );
    let logs = output_within(csa.cmd().args(["session", "logs", &id]), HANG);
    assert_eq!(logs.stdout, written);
    // The stderr tail of a failure, on stderr.
    let id = job_writing(&csa, "err", &written, true);
    let (_, err) = wait_bytes(&csa, &id, &[], &[]);
    let err_text = String::from_utf8_lossy(&err);
    assert!(!err.contains(&0x1b), "{err_text}");
    let wanted_tail = &wanted[..];
    assert!(
        err.windows(wanted_tail.len()).any(|w| w == wanted_tail),
        "{err_text}"
    );
}

#[test]
fn color_always_and_clicolor_force_pass_the_bytes_unchanged() {
    let csa = Csa::new();
    let mut written = STYLED.to_vec();
    written.extend(untouchable());
    let id = job_writing(&csa, "out", &written, false);
    assert_eq!(wait_bytes(&csa, &id, &["--color=always"], &[]).0, written);
    assert_eq!(
        wait_bytes(&csa, &id, &[], &[("CLICOLOR_FORCE", "1")]).0,
        written
    );
    // `NO_COLOR` wins over `CLICOLOR_FORCE`, `--color=always` over both.
    let both = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    assert_eq!(
        wait_bytes(&csa, &id, &[], &both).0,
        PLAIN
            .iter()
            .chain(&untouchable())
            .copied()
            .collect::<Vec<_>>()
    );
    assert_eq!(wait_bytes(&csa, &id, &["--color=always"], &both).0, written);
    let id = job_writing(&csa, "err", STYLED, true);
    let (_, err) = wait_bytes(&csa, &id, &["--color=always"], &[]);
    assert!(
        err.windows(STYLED.len()).any(|w| w == STYLED),
        "{}",
        String::from_utf8_lossy(&err)
    );
}

/// `wait` copies 64 KiB at a time: sequences cut by that boundary at every place are still
/// removed whole, and the text around them kept.
#[test]
fn a_sequence_split_across_a_64_kib_boundary_is_removed_whole() {
    const BLOCK: usize = 64 * 1024;
    let sequences: [&[u8]; 3] = [b"\x1b[38;5;196m", b"\x1b]0;title\x07", b"\x1b]2;t\x1b\\"];
    let mut written = Vec::new();
    let mut wanted = Vec::new();
    let mut block = 1;
    for sequence in sequences {
        for cut in 1..sequence.len() {
            // The sequence starts `cut` bytes before the end of a block.
            let pad = block * BLOCK - cut - written.len();
            let filler: Vec<u8> = (0..pad).map(|i| b"abcdefgh\n"[i % 9]).collect();
            written.extend(&filler);
            wanted.extend(&filler);
            written.extend_from_slice(sequence);
            block += 1;
        }
    }
    written.extend_from_slice(b"end\n");
    wanted.extend_from_slice(b"end\n");
    let csa = Csa::new();
    let id = job_writing(&csa, "big", &written, false);
    let (out, _) = wait_bytes(&csa, &id, &[], &[]);
    assert!(
        out == wanted,
        "{} bytes, {} wanted",
        out.len(),
        wanted.len()
    );
}

/// A sequence left open — `ESC ]` (a window title), `ESC P`, `ESC _` with no terminator, a
/// cut-off `ESC [` before lines of digits — ends at the next newline: the lines after it
/// reach the pipe, on stdout and in the stderr shown for a failed job.
#[test]
fn a_sequence_left_open_loses_no_line_after_it() {
    let csa = Csa::new();
    for (name, open) in [
        ("osc", &b"\x1b]0;title"[..]),
        ("dcs", b"\x1bPq#0"),
        ("apc", b"\x1b_G"),
        ("csi", b"\x1b[1;2"),
    ] {
        let mut written = open.to_vec();
        written.push(b'\n');
        let mut wanted = b"\n".to_vec();
        for line in 1..=2000 {
            let line = format!("{line}\n");
            written.extend_from_slice(line.as_bytes());
            wanted.extend_from_slice(line.as_bytes());
        }
        let id = job_writing(&csa, name, &written, false);
        let (out, _) = wait_bytes(&csa, &id, &[], &[]);
        assert!(
            out == wanted,
            "{name}: {} bytes, {} wanted",
            out.len(),
            wanted.len()
        );
        let id = job_writing(&csa, &format!("{name}-err"), &written, true);
        let (_, err) = wait_bytes(&csa, &id, &[], &[]);
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains("\n1999\n2000\n"), "{name}: {err}");
    }
}

#[test]
fn tail_keeps_the_last_lines_without_their_escapes() {
    let csa = Csa::new();
    let written = b"\x1b[32mone\x1b[0m\n\x1b[33mtwo\x1b[0m\n\x1b[34mthree\x1b[0m\n";
    let id = job_writing(&csa, "lines", written, false);
    assert_eq!(
        wait_bytes(&csa, &id, &["--tail", "2"], &[]).0,
        b"two\nthree\n"
    );
    assert_eq!(
        wait_bytes(&csa, &id, &["--tail", "2", "--color=always"], &[]).0,
        b"\x1b[33mtwo\x1b[0m\n\x1b[34mthree\x1b[0m\n"
    );
}

/// On a terminal (`auto`) the job's escapes reach it as they are; `--color=never` removes
/// them there too.
#[test]
fn on_a_terminal_escapes_pass_unless_color_is_never() {
    let csa = Csa::new();
    let id = job_writing(&csa, "out", b"\x1b[31mred\x1b[0m\n", false);
    let on_terminal = |args: &[&str]| -> Vec<u8> {
        let mut command = csa.wait_cmd(args, &[]);
        command.arg(&id);
        let mut pty = Pty::spawn(&command, 24, 200);
        assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
        assert!(pty.screen().contains("red"), "{}", pty.screen());
        pty.raw()
    };
    let seen = |raw: &[u8], bytes: &[u8]| raw.windows(bytes.len()).any(|w| w == bytes);
    assert!(seen(&on_terminal(&[]), b"\x1b[31mred\x1b[0m"));
    assert!(!seen(&on_terminal(&["--color=never"]), b"\x1b[31m"));
}
