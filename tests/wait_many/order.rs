//! Waiting for sessions in the order they end: the first failure decides, sessions found
//! ended together come in the order they ended, and whole outputs are never interleaved.

use super::{Waiter, completed, summary, wait_result};
use crate::support::{Csa, Gate, HANG, assert_exit, has_open, stderr, wait_for};

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
