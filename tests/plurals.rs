//! Counts read as English: one slot, one session, one byte, one process.

use crate::support::{Csa, assert_success, stderr, stdout};

#[test]
fn one_is_singular_and_more_are_plural() {
    let csa = Csa::new();
    for (slots, said) in [
        ("1", "queue q now has 1 slot\n"),
        ("2", "queue q now has 2 slots\n"),
    ] {
        let out = csa.output(&["queue", "slots", "q", slots]);
        assert_success(&out, "queue slots");
        assert!(stderr(&out).ends_with(said), "{}", stderr(&out));
    }
    let id = csa.run("true");
    csa.wait(&id);
    let out = csa.output(&["session", "clean", "--older-than", "0s", "--dry-run"]);
    assert_success(&out, "clean");
    let text = stdout(&out);
    assert!(text.contains(" 1 session, "), "{text}");
    assert!(!text.contains("1 sessions"), "{text}");
}
