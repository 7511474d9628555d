//! Keys of `csa top` on rows where they have nothing to act on: they say so, and never act
//! on something else.

use crate::status::wait_for_counts;
use crate::support::pty::Pty;
use crate::support::{Csa, Gate, assert_exit};

const HOME: &str = "\x1b[H";

/// `s` on a session in no queue says it is in none; it does not offer another queue's
/// slots (it offered the first queue's).
#[test]
fn slots_on_a_session_in_no_queue_says_so() {
    let csa = Csa::new();
    let gate = Gate::new();
    assert_exit(&csa.output(&["queue", "slots", "builds", "2"]), 0);
    csa.run_named("loner", &gate.pass());
    wait_for_counts(&csa, 1, 0);
    let mut command = csa.cmd();
    command.arg("top");
    let mut pty = Pty::spawn(&command, 24, 120);
    pty.wait_for_frame("loner");
    pty.send(HOME);
    pty.send("s");
    pty.wait_for_text("is in no queue");
    assert!(!pty.screen().contains("slots of queue"), "{}", pty.screen());
    pty.send("q");
    assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
    assert_eq!(
        crate::support::stdout(&csa.output(&["queue", "slots", "builds"])).trim(),
        "2"
    );
}
