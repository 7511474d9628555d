//! The values of options that name one of the domain's choices (`--executor`, `--status`,
//! the supervisor's `--stdin-from`), as clap shows and checks them: each value's name is
//! the one the domain writes in its records, with a line of help for `--help`.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::store::record::{ExecutorName, State, Status, StdinSource};

/// One choice: its value, its name on the command line (and in records), its help.
type Choice<T> = (T, &'static str, &'static str);

/// `session list --status STATUS`.
pub const STATES: &[Choice<State>] = &[
    (
        State::Running,
        "running",
        "The supervisor is alive and the job runs (or is being started)",
    ),
    (
        State::Queued,
        "queued",
        "The job waits for a queue slot or for its dependencies; it has not started",
    ),
    (State::Ended(Status::Success), "success", "The job exited 0"),
    (
        State::Ended(Status::Failure),
        "failure",
        "The job exited non-zero, or could not be started (126/127)",
    ),
    (
        State::Ended(Status::Signal),
        "signal",
        "The job ended by a signal (including `session kill`)",
    ),
    (
        State::Ended(Status::Timeout),
        "timeout",
        "`--timeout` or `--idle-timeout` expired (exit code 124)",
    ),
    (
        State::Ended(Status::Lost),
        "lost",
        "The supervisor disappeared without writing a result (exit code 1)",
    ),
    (
        State::Ended(Status::Skipped),
        "skipped",
        "A dependency (`--after`) did not end with `success`; the job never started",
    ),
];

/// The supervisor's `--stdin-from SOURCE`.
pub const STDIN_SOURCES: &[Choice<StdinSource>] = &[
    (StdinSource::Null, "null", "`/dev/null` (the default)"),
    (
        StdinSource::Inherit,
        "inherit",
        "csa's own standard input, passed through (`--stdin`)",
    ),
    (
        StdinSource::Prompt,
        "prompt",
        "The session's `prompt.txt` (prompts over 100 KiB, or tools with `stdin = true`)",
    ),
];

/// A value parser that accepts the names of `choices` (listing them, with their help, in
/// `--help`) and yields the value named.
pub fn parser<T: Copy + Send + Sync + 'static>(
    choices: &'static [Choice<T>],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        choices
            .iter()
            .map(|&(_, name, help)| PossibleValue::new(name).help(help)),
    )
    .map(move |name: String| {
        // clap has checked that the name is one of the choices.
        choices
            .iter()
            .find(|(_, known, _)| *known == name)
            .map_or(choices[0].0, |&(value, _, _)| value)
    })
}

/// `--executor NAME`: the names of the executors, each with its line of help, as
/// [`crate::executor::ALL`] lists them.
pub fn executors() -> impl TypedValueParser<Value = ExecutorName> {
    PossibleValuesParser::new(
        crate::executor::ALL
            .iter()
            .map(|executor| PossibleValue::new(executor.name()).help(executor.help())),
    )
    // clap has checked that the name is an executor's, which is a valid name.
    .try_map(|name: String| ExecutorName::new(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name is the one the domain writes (`as_str`, serde), so a value read back
    /// from a record and one typed on the command line agree.
    #[test]
    fn names_are_the_records_names() {
        for &(state, name, _) in STATES {
            assert_eq!(state.as_str(), name);
        }
        for &(source, name, _) in STDIN_SOURCES {
            let text = toml::Value::try_from(source).unwrap();
            assert_eq!(text.as_str(), Some(name));
        }
    }
}
