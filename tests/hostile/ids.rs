//! Hostile session IDs, for every command that takes `--session`.

use super::{assert_rejected, os_args};
use crate::support::{Csa, HANG, assert_exit, output_within, process_alive, wait_for};
use crate::support_faults::snapshot;

/// Every command that takes `--session`.
const COMMANDS: [&[u8]; 5] = [b"wait", b"attach", b"kill", b"result", b"logs"];

#[test]
fn hostile_session_ids() {
    let csa = Csa::new();
    let first = csa.run("exit 0");
    let second = csa.run("exit 0");
    assert_exit(&csa.wait(&first), 0);
    assert_exit(&csa.wait(&second), 0);
    // `wait` returns at the result; the supervisor still tidies up after it (the stop
    // reservation goes): the store is still until the supervisors are gone.
    for id in [&first, &second] {
        let pid = csa.supervisor_pid(id);
        wait_for(HANG, "the supervisor's exit", || !process_alive(pid));
    }
    // Sessions started in the same millisecond range share their leading characters.
    let common = first
        .bytes()
        .zip(second.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(common >= 4, "{first} {second}");
    let ambiguous = &first[..common.min(8)];
    let long_a = "A".repeat(10_000);
    let long_0 = "0".repeat(10_000);
    let outside = tempfile::tempdir().unwrap();
    let before = (snapshot(csa.state.path()), snapshot(outside.path()));
    let texts: Vec<&[u8]> = vec![
        b"",
        b"../",
        b"/",
        b"..",
        b"../../../../etc/passwd",
        b"a/b",
        b"01JD\\..",
        "ÄÖÜ0123456".as_bytes(),
        "０１２３４５".as_bytes(),
        "01JD🦀".as_bytes(),
        b"\x01\x02\x1b[31mabc",
        b" 01JD ",
        b"-",
        b"01J",
        long_a.as_bytes(),
        long_0.as_bytes(),
        b"01JD0000000000000000000000",
        b"7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        b"8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        b"01jd0000000000000000000000",
        ambiguous.as_bytes(),
    ];
    for command_name in COMMANDS {
        for text in &texts {
            let mut command = csa.cmd();
            command.args(os_args([
                b"session".as_slice(),
                command_name,
                b"--session",
                text,
            ]));
            let out = output_within(&mut command, HANG);
            let shown = String::from_utf8_lossy(&text[..text.len().min(40)]).into_owned();
            let what = format!("{} {shown}", String::from_utf8_lossy(command_name));
            assert_rejected(&out, 125, &what);
        }
        // Not UTF-8 at all: a usage error.
        let mut command = csa.cmd();
        command.args(os_args([
            b"session".as_slice(),
            command_name,
            b"--session",
            b"01JD\xff\xfe",
        ]));
        assert_rejected(&output_within(&mut command, HANG), 2, "non-UTF-8 ID");
    }
    assert_eq!(
        before,
        (snapshot(csa.state.path()), snapshot(outside.path()))
    );
}
