//! Issue 17, item 4: a session name resolves to the newest session that has it, always.
//! The name is indexed while `csa run` sets the session up in its hidden directory, and a
//! concurrent lookup used to remove that entry as stale: `wait build` then returned the
//! previous build (12 wrong out of 100 rounds), and the name was lost for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::support::{Csa, stderr, stdout};
use crate::support_faults::trials;

/// Rounds of two `csa run --name build` back to back while two other processes resolve
/// names in a loop: after each `run`, `build` names the session it printed, and every
/// session keeps its index entry. Prints the counts (`--nocapture`).
#[test]
fn a_name_resolves_to_the_newest_session_while_others_look_it_up() {
    let csa = Csa::new();
    let rounds = trials(40, 1000);
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = Arc::new(AtomicUsize::new(0));
    let lookers: Vec<_> = ["build", "other"]
        .into_iter()
        .map(|name| {
            let (root, stop, lookups) = (
                csa.state.path().to_path_buf(),
                Arc::clone(&stop),
                Arc::clone(&lookups),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_csa"));
                    command.env("CSA_STATE_DIR", &root).args([
                        "session",
                        "result",
                        "--session",
                        name,
                    ]);
                    let out = crate::support::output_within(&mut command, crate::support::HANG);
                    crate::support::assert_no_panic(&out);
                    lookups.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let (mut wrong, mut ids) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for job in ["exit 1", "true"] {
            let id = csa.run_args(&["--name", "build", job]);
            let out = csa.output(&["session", "result", "--session", "build", "--json"]);
            let found: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("round {round}: {}", stderr(&out)));
            if found["id"].as_str() != Some(id.as_str()) {
                wrong.push(format!("round {round}: {} for {id}", found["id"]));
            }
            ids.push(id);
        }
    }
    stop.store(true, Ordering::SeqCst);
    for looker in lookers {
        looker.join().unwrap();
    }
    let index: Vec<String> = crate::support::names_in(&csa.state.path().join("names"));
    let lost: Vec<&String> = ids
        .iter()
        .filter(|id| !index.iter().any(|entry| entry.ends_with(id.as_str())))
        .collect();
    println!(
        "name race: {rounds} rounds ({} sessions), {} lookups beside: {} wrong sessions, {} lost names",
        ids.len(),
        lookups.load(Ordering::SeqCst),
        wrong.len(),
        lost.len()
    );
    assert!(wrong.is_empty(), "wrong sessions: {wrong:?}");
    assert!(lost.is_empty(), "lost names: {lost:?}");
    // And the newest still wins over the whole store.
    let out = csa.output(&["session", "result", "--session", "build", "--json"]);
    assert!(stdout(&out).contains(ids.last().unwrap()));
}
