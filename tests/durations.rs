//! Durations users write are bounded where they are parsed (at most 100 years), and no
//! deadline computed from a duration can overflow: `session kill --grace
//! 300000000000years` used to panic ("overflow when adding duration to instant", exit 134)
//! after its SIGTERM, leaving the session half-stopped.

use crate::procs::run_ready;
use crate::support::{Csa, assert_exit, code, group_members, stderr};

/// Every place a user writes a duration refuses one beyond 100 years as a usage error, with
/// one line, before anything is started or signalled.
#[test]
fn durations_beyond_100_years_are_refused_before_anything_happens() {
    let csa = Csa::new();
    let (id, pgid) = run_ready(&csa, "echo ready; sleep 1000");
    let mut members = group_members(pgid);
    members.sort_unstable();
    for grace in ["300000000000years", "101y", "18446744073709551615s"] {
        let out = csa.output(&["session", "kill", "--session", &id, "--grace", grace]);
        assert_eq!(code(&out), 2, "--grace {grace}: {}", stderr(&out));
        assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
        let mut after = group_members(pgid);
        after.sort_unstable();
        assert_eq!(after, members, "--grace {grace}: nothing may be signalled");
        assert!(csa.result(&id).is_none(), "the session keeps running");
    }
    let before = csa.session_ids();
    let out = csa.output(&["run", "--timeout", "300000000000years", "true"]);
    assert_exit(&out, 2);
    assert_eq!(csa.session_ids(), before, "no session is created");
    let out = csa.output(&["session", "clean", "--older-than", "300000000000years"]);
    assert_exit(&out, 2);

    // The longest allowed grace works: the job ends at SIGTERM.
    let out = csa.output(&["session", "kill", "--session", &id, "--grace", "100y"]);
    assert_exit(&out, 0);
    assert!(group_members(pgid).is_empty());
    assert_eq!(csa.result(&id).unwrap()["signal"].as_integer(), Some(15));
}
