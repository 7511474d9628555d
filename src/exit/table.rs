//! csa's exit codes, per command, in one place: rendered into each command's `--help` and
//! checked against docs/exit-codes.md and the README by a test (`cargo test`; the test is in
//! table/tests.rs), so the three cannot drift. Change a code here, then run
//! `CSA_UPDATE_DOCS=1 cargo test exit_code_tables` to rewrite the documents' tables.

/// One exit code (or a family, such as `128 + N`) and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Code {
    /// The code as documented: `0`, `125`, `128 + N`, `the job's exit code`.
    pub code: &'static str,
    /// What it means, one sentence (Markdown inline code allowed).
    pub meaning: &'static str,
}

const fn code(code: &'static str, meaning: &'static str) -> Code {
    Code { code, meaning }
}

/// Every command's table, in the order the documents show them: the command as typed
/// (without `csa`) and its codes.
#[cfg(test)]
pub const COMMANDS: [(&str, &[Code]); 17] = [
    ("run", RUN),
    ("session wait", WAIT),
    ("session attach", ATTACH),
    ("session kill", KILL),
    ("session list", LIST),
    ("session result", RESULT),
    ("session logs", LOGS),
    ("session clean", CLEAN),
    ("session show", SHOW),
    ("session rm", RM),
    ("session rerun", RERUN),
    ("queue", QUEUE),
    ("status", STATUS),
    ("top", TOP),
    ("tools", TOOLS),
    ("completions", COMPLETIONS),
    ("man", MAN),
];

/// `csa run`.
pub const RUN: &[Code] = &[
    code("0", "the job was started; its session ID is on stdout"),
    code(
        "1",
        "with `--executor slurm`: `sbatch` refused the job; Slurm's message is on stderr and the session records the `failure` result",
    ),
    code(
        "2",
        "usage error: unknown flag, bad `--env` or duration, empty prompt (as PROMPT or on standard input), unknown `--tool`, `--tool` with `-- PROGRAM`, an `--after` that names no session or several; no session is created",
    ),
    code(
        "125",
        "csa itself failed: the message says what and where (state root not writable, malformed configuration file, the supervisor cannot be created under a process limit, …); no session is left behind",
    ),
    code(
        "126",
        "the program (or the tool's program) exists but is not executable, or the `--cd` directory is not a directory or cannot be entered; no session is created",
    ),
    code(
        "127",
        "the program (or the tool's program) is not found, or the `--cd` directory does not exist; no session is created",
    ),
    code(
        "128 + N",
        "inside a session's job (`CSA_SESSION_ID`) whose tree is being stopped with signal N (143 for SIGTERM): the line on stderr names the session being stopped; no session is created",
    ),
    code(
        "the job's exit code",
        "with `--no-daemon`: the job ran in the foreground",
    ),
];

/// `csa session wait`.
pub const WAIT: &[Code] = &[
    code(
        "the job's exit code",
        "the job ended; its `stdout.log` was printed (0 for success)",
    ),
    code(
        "128 + N",
        "the job was ended by signal N (143 = SIGTERM, 137 = SIGKILL), including by `csa session kill`",
    ),
    code(
        "124",
        "the job's `--timeout` or `--idle-timeout` expired; or the session is dead and its result cannot be recorded (`CSA:SESSION_WAIT_TIMEOUT`; what the job wrote to `stdout.log` is printed all the same)",
    ),
    code(
        "1",
        "`lost`: the supervisor vanished without writing a result",
    ),
    code(
        "0 + `CSA:SESSION_WAIT_KV_WARM`",
        "still running after the 250 s cap: nothing failed, run the same command again; never with `--until-done`",
    ),
    code(
        "several sessions",
        "0 when all succeeded; else the code of the first to end without success (also at the cap, with `KV_WARM`); with `--any`, the code of the session that ended",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, unreadable or malformed state",
    ),
];

/// `csa session attach`.
pub const ATTACH: &[Code] = &[
    code(
        "the job's exit code",
        "the job ended while attached (128 + N for signal N, 124 for `--timeout` and `--idle-timeout`)",
    ),
    code("130", "detached with Ctrl-C; the job keeps running"),
    code(
        "0",
        "the reader of stdout went away (`csa session attach … | head -1`); the job keeps running",
    ),
    code(
        "1",
        "`lost`: the supervisor vanished without writing a result",
    ),
    code(
        "124",
        "the session is dead and its result cannot be recorded (as for `wait`)",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, unreadable spool file",
    ),
];

/// `csa session kill`.
pub const KILL: &[Code] = &[
    code("0", "the session was stopped, or had already finished"),
    code(
        "125",
        "refused (the supervisor's identity could not be verified, or processes in a finished session's process group cannot be proven to be the session's: those were not signalled) or failed",
    ),
];

/// `csa session list`.
pub const LIST: &[Code] = &[
    code(
        "0",
        "listed (a session that cannot be read is skipped with a warning on stderr)",
    ),
    code("125", "the session store cannot be read"),
];

/// `csa session result`.
pub const RESULT: &[Code] = &[
    code(
        "0",
        "printed, whatever the job's status (a dead session whose `lost` result cannot be recorded is shown as lost, with a warning on stderr)",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, unreadable state",
    ),
];

/// `csa session logs`.
pub const LOGS: &[Code] = &[
    code(
        "0",
        "printed what the job has written so far (with `--follow`, once every session followed has ended, whatever its status)",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, a `--tag` no session has, unreadable spool file",
    ),
];

/// `csa session show`.
pub const SHOW: &[Code] = &[
    code(
        "0",
        "printed, whatever the session's status (a dead session without a result is recorded as `lost` first, as `result` does)",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, unreadable state",
    ),
];

/// `csa session rm`.
pub const RM: &[Code] = &[
    code("0", "every session named was removed, with its descendants"),
    code(
        "1",
        "a session (or one of its descendants) still runs or waits: that tree was left in place, the others were removed",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, a directory that cannot be removed",
    ),
];

/// `csa session rerun`.
pub const RERUN: &[Code] = &[
    code("0", "the new session was started; its ID is on stdout"),
    code(
        "the codes of `run`",
        "when the command cannot be started again (126, 127: the program or the working directory is gone; 1: Slurm refused it)",
    ),
    code(
        "125",
        "csa error: unknown or ambiguous session, its `session.toml` or `prompt.txt` cannot be read",
    ),
];

/// `csa session clean`.
pub const CLEAN: &[Code] = &[
    code(
        "0",
        "done (a session that cannot be judged or removed is skipped with a warning on stderr)",
    ),
    code(
        "125",
        "the state root cannot be used: it cannot be read, or it is not yours alone (nothing is removed)",
    ),
];

/// `csa queue slots`, `csa queue list`.
pub const QUEUE: &[Code] = &[
    code(
        "0",
        "done (the slot count was set or printed; the queues were listed; the queue was paused, resumed or removed)",
    ),
    code(
        "1",
        "`queue rm`: the queue was left in place, since a session runs in it or waits for it",
    ),
    code("125", "the state root cannot be read or written"),
];

/// `csa status`.
pub const STATUS: &[Code] = &[
    code(
        "0",
        "printed (a session that cannot be read is shown with the reason; with `--watch`, until interrupted)",
    ),
    code("125", "the session store cannot be read"),
];

/// `csa top`.
pub const TOP: &[Code] = &[
    code(
        "0",
        "quit with `q` (or Ctrl-C); the terminal is restored on every exit",
    ),
    code(
        "128 + N",
        "ended by signal N (SIGHUP, SIGINT, SIGTERM): 129, 130, 143",
    ),
    code(
        "125",
        "the session store cannot be read, or standard input and output are not a terminal",
    ),
];

/// `csa tools`.
pub const TOOLS: &[Code] = &[
    code("0", "listed"),
    code("125", "a configuration file is malformed"),
];

/// `csa completions`.
pub const COMPLETIONS: &[Code] = &[
    code("0", "printed the completion script"),
    code("2", "unknown shell"),
];

/// `csa man`.
pub const MAN: &[Code] = &[
    code("0", "printed or wrote the manual pages"),
    code("125", "a manual page cannot be written"),
];

/// Whether [`help`] builds its tables; see [`skip_tables`].
static TABLES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Makes [`help`] return its `after` text without the exit-code table, for a command line
/// that cannot show help: clap builds every subcommand's help text whether it is shown or
/// not, and the tables were a third of the instructions of a `csa run` (BENCHMARKS.md,
/// "Start latency").
pub fn skip_tables() {
    TABLES.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// A command's text after its options: `after`, with an `Exit codes:` section inserted
/// before its `Examples:` (or at its end): one line per code, meanings wrapped at 100
/// columns under each other, without Markdown's backticks. Just `after` after
/// [`skip_tables`].
pub fn help(codes: &[Code], after: &str) -> String {
    const WIDTH: usize = 100;
    if !TABLES.load(std::sync::atomic::Ordering::Relaxed) {
        return after.to_owned();
    }
    let (intro, examples) = match after.find("Examples:") {
        Some(at) => after.split_at(at),
        None => (after, ""),
    };
    let column = codes.iter().map(|c| plain(c.code).len()).max().unwrap_or(0) + 4;
    let mut text = intro.to_owned();
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    }
    text.push_str("Exit codes:\n");
    for entry in codes {
        let mut line = format!("  {:<width$}", plain(entry.code), width = column - 2);
        let mut len = line.chars().count();
        for word in plain(entry.meaning).split(' ') {
            if len + word.chars().count() + 1 > WIDTH && len > column {
                text.push_str(line.trim_end());
                text.push('\n');
                line = " ".repeat(column);
                len = column;
            } else if len > column {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += word.chars().count();
        }
        text.push_str(&line);
        text.push('\n');
    }
    if !examples.is_empty() {
        text.push('\n');
        text.push_str(examples);
    }
    text
}

/// `text` without Markdown's backticks around inline code.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

#[cfg(test)]
mod tests;
