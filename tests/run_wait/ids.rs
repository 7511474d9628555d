//! Session IDs on the command line: prefixes in any case, unknown and ambiguous IDs, hostile
//! input refused before a path is built.

use crate::support::{Csa, assert_contains, assert_exit, code};

#[test]
fn ids_resolve_by_prefix_and_in_any_case() {
    let csa = Csa::new();
    let id = csa.run("exit 7");
    assert_eq!(code(&csa.wait(&id.to_lowercase())), 7);
    assert_eq!(code(&csa.wait(&id[..8])), 7);
    assert_eq!(code(&csa.wait(&id[..8].to_lowercase())), 7);
}

#[test]
fn unknown_and_ambiguous_ids_are_errors_naming_them() {
    let csa = Csa::new();
    let first = csa.run("true");
    let second = csa.run("true");
    let out = csa.output_with("session wait --session", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_exit(&out, 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    // Both IDs were made in the same second or so: find their common prefix.
    let common = first
        .bytes()
        .zip(second.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    if common >= 4 {
        let prefix = &first[..common];
        let out = csa.output_with("session wait --session", prefix);
        assert_exit(&out, 125);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_contains(&stderr, &["ambiguous", &first, &second]);
    }
}

#[test]
fn hostile_ids_are_rejected_before_any_path_is_built() {
    let csa = Csa::new();
    let long = "0".repeat(10_000);
    for bad in [
        "../x",
        "a/b",
        "",
        "..",
        "/",
        "01J",
        "ILOU0000",
        "01JD 4K",
        long.as_str(),
    ] {
        let out = csa.output_with("session wait --session", bad);
        let status = code(&out);
        assert!(status == 125 || status == 2, "{bad:.20?} gave {status}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.lines().count(),
            1,
            "one-line error for {bad:.20?}: {stderr}"
        );
        assert!(
            stderr.len() < 400,
            "error echoes too much: {}",
            stderr.len()
        );
    }
}
