//! Directive lines (contract §5): one line on stderr, `CSA:<NAME>` followed by `key=value`
//! pairs, for programs and AI agents that drive csa.

use std::fmt::Write as _;

/// Formats a directive: `CSA:<name> key=value …`.
///
/// Values that are empty or contain spaces, quotes, backslashes, `=` or `/` are written in
/// double quotes with `\"` and `\\` escaped; control characters are replaced by spaces so a
/// directive is always exactly one line. Paths are therefore always quoted, as in the
/// contract's `dir="<DIR>"` (§2).
pub fn format(name: &str, pairs: &[(&str, &str)]) -> String {
    let mut line = format!("CSA:{name}");
    for (key, value) in pairs {
        let clean: String = value
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let needs_quotes = clean.is_empty()
            || clean
                .chars()
                .any(|c| matches!(c, ' ' | '"' | '\\' | '=' | '\'' | '/'));
        if needs_quotes {
            let escaped = clean.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = write!(line, " {key}=\"{escaped}\"");
        } else {
            let _ = write!(line, " {key}={clean}");
        }
    }
    line
}

/// Prints a directive on stderr (see [`format`]). Errors writing stderr are ignored: a
/// directive is advice, never a reason to fail.
pub fn emit(name: &str, pairs: &[(&str, &str)]) {
    crate::report::write_line(&format(name, pairs));
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            format(
                "X",
                &[("id", "01AB"), ("cmd", "csa session wait"), ("e", "")]
            ),
            r#"CSA:X id=01AB cmd="csa session wait" e="""#
        );
        assert_eq!(
            format("X", &[("dir", r#"/a "b"\c"#)]),
            r#"CSA:X dir="/a \"b\"\\c""#
        );
        assert_eq!(format("X", &[("r", "a\nb")]), r#"CSA:X r="a b""#);
        assert_eq!(format("X", &[("dir", "/tmp/s")]), r#"CSA:X dir="/tmp/s""#);
    }
}
