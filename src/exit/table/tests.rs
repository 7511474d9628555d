//! The exit-code tables checked against the documents that show them, and `help`'s
//! wrapping.

use super::*;

/// A Markdown table of `codes`: `| code | meaning |`, one row per code.
fn markdown(codes: &[Code]) -> String {
    let mut table = String::from("| code | meaning |\n|---|---|\n");
    for entry in codes {
        for part in ["| ", entry.code, " | ", entry.meaning, " |\n"] {
            table.push_str(part);
        }
    }
    table
}

/// The marker before a generated table in a document: `<!-- exit-codes: wait -->`.
fn marker(command: &str) -> String {
    let key = command.trim_start_matches("session ");
    format!("<!-- exit-codes: {key} -->\n")
}

/// Replaces the table after each marker in `text` with the one rendered from the
/// source; returns the new text and the commands found.
fn render_into(text: &str) -> (String, Vec<&'static str>) {
    let mut out = text.to_owned();
    let mut found = Vec::new();
    for (command, codes) in COMMANDS {
        let marker = marker(command);
        let Some(at) = out.find(&marker) else {
            continue;
        };
        found.push(command);
        let start = at + marker.len();
        let len = out[start..]
            .split_inclusive('\n')
            .take_while(|line| line.starts_with('|'))
            .map(str::len)
            .sum::<usize>();
        out.replace_range(start..start + len, &markdown(codes));
    }
    (out, found)
}

/// docs/exit-codes.md has every command's table; the README has `wait`'s; each is the
/// one rendered from this module.
#[test]
fn exit_code_tables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (doc, wanted) in [
        (
            "docs/exit-codes.md",
            COMMANDS.map(|(command, _)| command).to_vec(),
        ),
        ("README.md", vec!["session wait"]),
    ] {
        let path = root.join(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        let (rendered, found) = render_into(&text);
        if std::env::var_os("CSA_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        for command in wanted {
            assert!(found.contains(&command), "{doc}: no {:?}", marker(command));
        }
        assert!(
            rendered == text,
            "{doc}: an exit-code table differs from src/exit/table.rs; run `CSA_UPDATE_DOCS=1 cargo test exit_code_tables`"
        );
    }
}

#[test]
fn help_wraps_under_the_meaning_column() {
    let text = help(WAIT, "Examples:\n  x");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    assert!(text.contains("\n  124 "), "{text}");
    assert!(text.ends_with("Examples:\n  x"));
}
