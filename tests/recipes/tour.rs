//! docs/tour.md, run literally: each step's shell block runs in a terminal (a pseudo-
//! terminal, as a person would type it) in one private installation, and what the terminal
//! shows must be the `text` block under it — up to what differs from run to run (session
//! IDs and handles, times, process IDs, column widths, the order of lines). `csa top` is
//! captured from its screen. `CSA_BLESS_DOCS=1` rewrites the `text` blocks with what this
//! run showed, so the captures in the tour are always ones the test produced.

use std::path::{Path, PathBuf};

use super::Sandbox;
use crate::support::pty::Pty;
use crate::support::{HANG, wait_for};

const DOC: &str = "docs/tour.md";

/// Where the sandbox's home is shown in the tour.
const SHOWN_HOME: &str = "/home/me";

/// Where the tour's working directory is shown.
const SHOWN_WORK: &str = "/home/me/src/app";

/// One step of the tour: its name, its shell block, and where its `text` block's body is
/// in the document (byte range).
struct Step {
    name: String,
    script: String,
    output: std::ops::Range<usize>,
}

/// The steps, in order: each `<!-- recipe: tour-N -->`, its ```sh block, then a ```text block.
fn steps(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = 0;
    while let Some((name, name_end)) = next_marker(text, at, "recipe:", "tour-") {
        let (script, after) = fenced(text, name_end, "```sh\n", &name);
        let (_, end) = fenced(text, after, "```text\n", &name);
        let body_start = after + text[after..].find("```text\n").unwrap() + "```text\n".len();
        steps.push(Step {
            name,
            script: text[script.clone()].to_owned(),
            output: body_start..end - "```".len(),
        });
        at = end;
    }
    steps
}

/// The next marker `<!-- KIND NAME -->` at or after `at` whose NAME starts with `prefix`:
/// NAME and where its ` -->` starts. `kind` is `recipe:` or `capture:`.
fn next_marker(text: &str, at: usize, kind: &str, prefix: &str) -> Option<(String, usize)> {
    let opening = format!("<!-- {kind} ");
    let start = at + text[at..].find(&format!("{opening}{prefix}"))?;
    let name_end = start + text[start..].find(" -->").unwrap();
    Some((text[start + opening.len()..name_end].to_owned(), name_end))
}

/// The body of the next fenced block opened by `open` after `from` (it must come before
/// any other text but blank lines and prose), and the index just after its closing fence.
fn fenced(text: &str, from: usize, open: &str, name: &str) -> (std::ops::Range<usize>, usize) {
    let start = from
        + text[from..]
            .find(open)
            .unwrap_or_else(|| panic!("{DOC}: {name} has no {open:?} block"));
    let body = start + open.len();
    let close = if text[body..].starts_with("```") {
        body
    } else {
        body + text[body..].find("\n```").unwrap() + 1
    };
    (body..close, close + "```".len())
}

/// What the terminal showed, with the sandbox's home and working directory shown as
/// [`SHOWN_HOME`] and [`SHOWN_WORK`].
fn shown(screen: &str, home: &Path, work: &Path) -> String {
    let mut text = String::new();
    let screen = screen
        .replace(work.to_str().unwrap(), SHOWN_WORK)
        .replace(home.to_str().unwrap(), SHOWN_HOME);
    for line in screen.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    while text.ends_with('\n') {
        text.pop();
    }
    text.push('\n');
    text
}

/// A capture reduced to what must not change between runs: session IDs and handles, times,
/// process IDs and other measurements are masked (a handle may be all digits, so numbers of
/// 3 digits or more are masked as handles are), runs of spaces are one, blank lines go,
/// and lines are sorted (sessions that end together are reported in either order). Exit
/// codes, statuses, counts and names stay. The line `kill` adds when the job outlasts a
/// moment of its grace period (only on a loaded machine) is left out.
fn essence(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with("csa: waiting up to "))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let mut masked = Vec::new();
            for (i, word) in words.iter().enumerate() {
                // A number before `ms` is a time; one of 3 digits or more a process ID or
                // a handle that happens to be all digits.
                let number = word.bytes().all(|b| b.is_ascii_digit());
                let bare = word.trim_start_matches('(');
                let size = !bare.is_empty()
                    && bare.bytes().all(|b| b.is_ascii_digit())
                    && words.get(i + 1).is_some_and(|next| next.starts_with('B'));
                masked.push(if size {
                    // A file's size (`daemon.pid`'s depends on the PID).
                    word.replace(bare, "S")
                } else if number && words.get(i + 1) == Some(&"ms") {
                    "T".to_owned()
                } else if number && word.len() >= 3 {
                    "<ID>".to_owned()
                } else {
                    mask_word(word)
                });
            }
            masked.join(" ")
        })
        .filter(|line| !line.is_empty())
        .collect();
    lines.sort();
    lines
}

/// Masks in one word: runs of 4 or more Crockford base32 capitals and digits (session IDs
/// and handles, which may be all digits) and numbers of 3 digits (sizes) become `<ID>`;
/// the value of `pid=`, `duration_ms=`, `elapsed_ms=` and a throughput become `N`; a time (`12ms`, `1.0s`,
/// `1m05s`, `3s ago`'s `3s`, `05:36:03.584`) and an empty cell (`-`) become `T`, and a date `D`.
fn mask_word(word: &str) -> String {
    // An empty cell: a session killed right after `run` may be stopped before its job
    // started (RAN `-`) or just after (RAN `0s`); both are true, so a `-` reads as a time.
    if word == "-" {
        return "T".to_owned();
    }
    // `run` says whether a queued session already has its slot when it prints: a race the
    // tour cannot fix (the first jobs of a queue may or may not be running yet).
    if word == "started" || word == "queued" {
        return "<STATE>".to_owned();
    }
    for key in ["pid=", "duration_ms=", "elapsed_ms="] {
        if let Some(value) = word.strip_prefix(key)
            && value.bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{key}N");
        }
    }
    if word.ends_with("/min") {
        return "N/min".to_owned();
    }
    let core = word.trim_matches(|c: char| "()[],;\"'".contains(c));
    let timelike = core.starts_with(|c: char| c.is_ascii_digit())
        && core
            .chars()
            .all(|c| c.is_ascii_digit() || ".:msdh".contains(c))
        && core.chars().any(|c| ".:msdh".contains(c));
    let date = core.len() == "2026-12-07".len()
        && core.bytes().filter(|&b| b == b'-').count() == 2
        && core.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if timelike || date {
        return word.replace(core, if date { "D" } else { "T" });
    }
    let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if crockford(chars[i]) {
            let mut j = i;
            while j < chars.len() && crockford(chars[j]) {
                j += 1;
            }
            let run: String = chars[i..j].iter().collect();
            let digits = run.bytes().all(|b| b.is_ascii_digit());
            if j - i >= 4 || (digits && j - i == 3) {
                out.push_str("<ID>");
            } else {
                out.push_str(&run);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The state root of the sandbox's home (no `CSA_STATE_DIR` in the tour).
fn state_root(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.path().join(".local/state/csa")
}

/// `csa status --json`'s counts in the sandbox.
fn counts(sandbox: &Sandbox) -> serde_json::Value {
    let out = sandbox.run(
        &["sh"],
        "csa status --json",
        true,
        &[("CSA_STATE_DIR", state_root(sandbox).to_str().unwrap())],
    );
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn the_tour_runs_as_written_and_shows_what_it_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let text = std::fs::read_to_string(&path).unwrap();
    let steps = steps(&text);
    assert_eq!(steps.len(), 10, "the tour has ten steps");
    let sandbox = Sandbox::new();
    let gate = sandbox.work.path().join(".make-gate");
    let env = [("MAKE_GATE", gate.to_str().unwrap())];
    let mut captures = Vec::new();
    for step in &steps {
        let mut command = sandbox.command(&["sh"], &step.script, true, &env);
        command.env_remove("CSA_STATE_DIR");
        let screen = if step.script.trim() == "csa top" {
            // The fleet is settled (the `--after` step waited for it): capture the view.
            let mut pty = Pty::spawn(&command, 18, 110);
            pty.wait_for_screen(HANG, "the fleet", |screen| {
                screen.contains("package")
                    && screen.contains("lint")
                    && screen.contains("#2 in builds")
            });
            let screen = pty.screen();
            pty.send("q");
            assert_eq!(pty.wait_exit(), 0, "{}", pty.screen());
            screen
        } else {
            if step.script.contains("--after") {
                // The fleet settles: two running in the queue's two slots, two waiting.
                wait_for(HANG, "2 running and 2 queued", || {
                    let counts = counts(&sandbox);
                    counts["counts"]["running"] == 2 && counts["counts"]["queued"] == 2
                });
            }
            if step.script.contains("wait --tag ci-1") {
                // The jobs may end now.
                std::fs::write(&gate, "").unwrap();
            }
            let mut pty = Pty::spawn(&command, 200, 400);
            let code = pty.wait_exit();
            assert_eq!(code, 0, "{}: {}", step.name, pty.screen());
            pty.screen()
        };
        let capture = shown(&screen, sandbox.home.path(), sandbox.work.path());
        // Nothing of this machine reaches the docs.
        for private in [env!("CARGO_MANIFEST_DIR"), "/tmp/"] {
            assert!(!capture.contains(private), "{}: {capture}", step.name);
        }
        captures.push(capture);
    }
    let bless = std::env::var_os("CSA_BLESS_DOCS").is_some();
    let mut blocks: Vec<(String, std::ops::Range<usize>)> = steps
        .iter()
        .map(|step| (step.name.clone(), step.output.clone()))
        .collect();
    check(DOC, &mut blocks, &captures, bless);
    // The README shows some of the same captures (`<!-- capture: tour-N -->`).
    let mut shown_again = captured(README);
    assert!(
        !shown_again.is_empty(),
        "{README} shows no capture of the tour"
    );
    check(README, &mut shown_again, &captures, bless);
}

const README: &str = "README.md";

/// The `text` blocks of `doc` marked `<!-- capture: tour-N -->`: step name, body range.
fn captured(doc: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some((name, name_end)) = next_marker(&text, at, "capture:", "") {
        let (body, end) = fenced(&text, name_end, "```text\n", &name);
        found.push((name, body));
        at = end;
    }
    found
}

/// Compares each block of `doc` (step name, body range) with that step's capture, or with
/// `bless` writes the captures into them.
fn check(
    doc: &str,
    blocks: &mut [(String, std::ops::Range<usize>)],
    captures: &[String],
    bless: bool,
) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap();
    let capture_of = |name: &str| -> &String {
        let n: usize = name.trim_start_matches("tour-").parse().unwrap();
        &captures[n - 1]
    };
    if bless {
        blocks.sort_by_key(|(_, range)| range.start);
        let mut blessed = text.clone();
        for (name, range) in blocks.iter().rev() {
            blessed.replace_range(range.clone(), capture_of(name));
        }
        std::fs::write(&path, blessed).unwrap();
        return;
    }
    for (name, range) in blocks.iter() {
        let capture = capture_of(name);
        assert_eq!(
            essence(&text[range.clone()]),
            essence(capture),
            "{doc}: {name} shows something else now; if that is right, regenerate the captures \
             with `CSA_BLESS_DOCS=1 cargo test --locked --test main -- recipes::tour` and \
             review the diff.\nThis run showed:\n{capture}"
        );
    }
}
