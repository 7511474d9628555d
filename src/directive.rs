//! Directive lines (docs/agents.md, "Directives"): one line on stderr, `CSA:<NAME>` followed by `key=value`
//! pairs, for programs and AI agents that drive csa.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::OnceLock;

use crate::term::quote;

/// Formats a directive: `CSA:<name> key=value …`.
///
/// Values that are empty or contain spaces, quotes, backslashes, `=`, `/` or control
/// characters are written in double quotes with `\"` and `\\` escaped and control
/// characters written as C escapes (`\n`, `\t`, `\r`, `\xNN`), so that a directive is always
/// exactly one line and a value — a path with a newline in a paste-able command — reads
/// back exactly. Paths are therefore always quoted, as in
/// `dir="<DIR>"` of `CSA:SESSION_STARTED` (docs/agents.md).
pub fn format(name: &str, pairs: &[(&str, &str)]) -> String {
    let mut line = format!("CSA:{name}");
    for (key, value) in pairs {
        let needs_quotes = value.is_empty()
            || value
                .chars()
                .any(|c| c.is_control() || matches!(c, ' ' | '"' | '\\' | '=' | '\'' | '/'));
        if needs_quotes {
            let mut escaped = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '\\' => escaped.push_str("\\\\"),
                    '"' => escaped.push_str("\\\""),
                    '\n' => escaped.push_str("\\n"),
                    '\t' => escaped.push_str("\\t"),
                    '\r' => escaped.push_str("\\r"),
                    c if c.is_control() => {
                        let _ = write!(escaped, "\\x{:02x}", u32::from(c));
                    }
                    c => escaped.push(c),
                }
            }
            let _ = write!(line, " {key}=\"{escaped}\"");
        } else {
            let _ = write!(line, " {key}={value}");
        }
    }
    line
}

/// Prints a directive on stderr (see [`format()`]). Errors writing stderr are ignored: a
/// directive is advice, never a reason to fail.
pub fn emit(name: &str, pairs: &[(&str, &str)]) {
    crate::report::write_line(&format(name, pairs));
}

/// A csa command line that works when pasted into a POSIX shell, for directives such as
/// `wait_cmd` and `cmd`: `csa` and `args`, each word shell-quoted where needed.
///
/// - The program is `csa` when this binary was found on `PATH` under that name (or `csa` on
///   `PATH` is this very file); otherwise the absolute path of the running executable
///   (started as `./target/release/csa`, or another `csa` comes first on `PATH`).
/// - When the state root came from `CSA_STATE_DIR`, the line starts with
///   `CSA_STATE_DIR=<root> ` so the pasted command looks in the same store.
///
/// Computed once per process: reading the executable's path and, only when csa was started
/// by a path rather than by name, one `stat` per `PATH` directory up to the first `csa`.
pub fn csa_command(args: &[&str]) -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    let mut line = PREFIX.get_or_init(command_prefix).clone();
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line
}

/// `[CSA_STATE_DIR=<root> ]<program>`, quoted (see [`csa_command`]).
fn command_prefix() -> String {
    let mut prefix = String::new();
    if std::env::var_os("CSA_STATE_DIR").is_some_and(|dir| !dir.is_empty())
        && let Ok(root) = crate::store::session::StateRoot::from_env()
    {
        let _ = write!(
            prefix,
            "CSA_STATE_DIR={} ",
            quote(&root.path().to_string_lossy())
        );
    }
    prefix.push_str(&quote(&program_path().to_string_lossy()));
    prefix
}

/// How a pasted command line names csa, unquoted: `csa`, or the running executable's
/// absolute path (see [`csa_command`]). Computed once per process.
pub fn program_path() -> &'static OsStr {
    static PROGRAM: OnceLock<OsString> = OnceLock::new();
    PROGRAM.get_or_init(|| program(std::env::args_os().next().as_deref()))
}

/// The program word of a pasteable command line, given csa's `argv[0]`.
fn program(argv0: Option<&OsStr>) -> OsString {
    let by_name = argv0
        .as_ref()
        .filter(|arg| !arg.is_empty() && !arg.as_bytes().contains(&b'/'));
    if let Some(name) = by_name {
        // The caller's PATH lookup found this binary under that name.
        return name.to_os_string();
    }
    let Ok(exe) = std::env::current_exe() else {
        return OsString::from("csa");
    };
    // Linux names a replaced executable `<path> (deleted)`; the new file is at `<path>`.
    let exe = exe
        .to_str()
        .and_then(|text| text.strip_suffix(" (deleted)"))
        .map_or(exe.clone(), Into::into);
    if first_on_path("csa").is_some_and(|found| same_file(&found, &exe)) {
        OsString::from("csa")
    } else {
        exe.into_os_string()
    }
}

/// The first `PATH` entry holding `name`, as a shell would find it (absolute directories
/// only: a relative entry depends on the directory the command is pasted in).
fn first_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
        })
}

/// True when `a` and `b` are the same file (same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// How `csa run` tells that a session started, on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Announce {
    /// `CSA:SESSION_STARTED` ([`session_started`]): for programs and agents, and whenever
    /// stderr is not a terminal.
    #[default]
    Directive,
    /// One short line for people ([`started_for_people`]): stderr is a terminal.
    People,
    /// Nothing (`--quiet`).
    Quiet,
}

impl Announce {
    /// [`Announce::Quiet`] when `quiet`, else [`Announce::People`] when stderr is a
    /// terminal, else [`Announce::Directive`].
    pub fn for_stderr(quiet: bool) -> Self {
        use std::io::IsTerminal as _;
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() {
            Self::People
        } else {
            Self::Directive
        }
    }

    /// Says on stderr, as `self` asks, that `session` started with supervisor `pid`.
    pub fn started(self, session: &crate::store::session::SessionDir, pid: crate::sys::Pid) {
        match self {
            Self::Directive => session_started(session, pid),
            Self::People => started_for_people(session),
            Self::Quiet => {}
        }
    }
}

/// One line for a person at a terminal: `csa: session 1XWE started (01JD…); follow: csa
/// logs -f 1XWE, wait: csa wait 1XWE, stop: csa kill 1XWE` (`queued` instead of
/// `started` while it waits), naming the session by its short handle and csa as a pasted
/// command would ([`program_path`]).
pub fn started_for_people(session: &crate::store::session::SessionDir) {
    use crate::store::session::{self, StateRoot};
    let id = session.id_string();
    let handle = StateRoot::of_session(session).session_ids().map_or_else(
        |_| id.clone(),
        |ids| session::short_handle(session.id, &ids),
    );
    let csa = quote(&program_path().to_string_lossy());
    let state = if session.file(session::QUEUED).exists() {
        "queued"
    } else {
        "started"
    };
    crate::report::write_line(&format!(
        "csa: session {handle} {state} ({id}); follow: {csa} logs -f {handle}, wait: {csa} wait {handle}, stop: {csa} kill {handle}"
    ));
}

/// Prints `CSA:SESSION_STARTED id pid dir wait_cmd attach_cmd kill_cmd` on stderr: a new
/// session, its supervisor's PID and directory, and the commands to wait for, follow and
/// stop it.
pub fn session_started(session: &crate::store::session::SessionDir, pid: crate::sys::Pid) {
    let id = session.id_string();
    emit(
        "SESSION_STARTED",
        &[
            ("id", &id),
            ("pid", &pid.to_string()),
            ("dir", &session.path.to_string_lossy()),
            (
                "wait_cmd",
                &csa_command(&["session", "wait", "--session", &id]),
            ),
            (
                "attach_cmd",
                &csa_command(&["session", "attach", "--session", &id]),
            ),
            (
                "kill_cmd",
                &csa_command(&["session", "kill", "--session", &id]),
            ),
        ],
    );
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
        assert_eq!(
            format("X", &[("r", "a\nb\t\u{1b}")]),
            r#"CSA:X r="a\nb\t\x1b""#
        );
        assert_eq!(format("X", &[("dir", "/tmp/s")]), r#"CSA:X dir="/tmp/s""#);
    }
}

#[cfg(test)]
mod paste_tests {
    use super::program;
    use std::ffi::OsStr;

    #[test]
    fn a_program_found_by_name_keeps_its_name() {
        assert_eq!(program(Some(OsStr::new("csa"))), "csa");
        assert_eq!(program(Some(OsStr::new("csa-dev"))), "csa-dev");
    }

    #[test]
    fn a_program_started_by_path_is_named_absolutely_unless_on_path() {
        let named = program(Some(OsStr::new("./target/debug/csa")));
        // The test binary is not `csa` on PATH: its absolute path.
        assert!(std::path::Path::new(&named).is_absolute(), "{named:?}");
    }
}
