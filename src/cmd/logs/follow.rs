//! `csa session logs --follow`: print what the sessions have written (or their last N
//! lines), then what they write, until every one of them has ended — `attach` for one or
//! many sessions, without the job's exit code and without healing.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd::args::LogsArgs;
use crate::liveness::{self, Observed};
use crate::store::session::{self, SessionDir};
use crate::tail::{self, Check, Follow, Outcome, Prefixed};

/// Follows `sessions` (each line after its label when `labels` are given). Exit 0 once each
/// has ended, or when the reader of stdout went away. Errors (125): a spool file that cannot
/// be read, a session that cannot be looked at.
pub(super) fn exec(
    args: &LogsArgs,
    sessions: &[SessionDir],
    labels: Option<&(Vec<String>, usize)>,
) -> Result<u8> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for session in sessions {
        files.push((session.file(session::STDOUT_LOG), true));
        if args.stderr {
            files.push((session.file(session::STDERR_LOG), false));
        }
    }
    let starts = files
        .iter()
        .map(|(path, _)| start(path, args.tail))
        .collect::<Result<Vec<u64>>>()?;
    let mut sinks: Vec<Sink> = files
        .iter()
        .enumerate()
        .map(|(n, (_, to_stdout))| {
            let out: Box<dyn Write> = if *to_stdout {
                Box::new(io::stdout())
            } else {
                Box::new(io::stderr())
            };
            match labels {
                Some((labels, width)) => {
                    let per_session = if args.stderr { 2 } else { 1 };
                    Sink::Labelled(Prefixed::new(&labels[n / per_session], *width, out))
                }
                None => Sink::Plain(out),
            }
        })
        .collect();
    let mut ended = vec![false; sessions.len()];
    let mut check = || {
        for (session, ended) in sessions.iter().zip(ended.iter_mut()) {
            if *ended {
                continue;
            }
            // A session still being set up by `csa run` counts as running.
            *ended = match liveness::observe(session) {
                Ok(Observed::Running | Observed::Queued) => false,
                Ok(Observed::Finished(_) | Observed::Gone) => true,
                Err(err) => return Err(io::Error::other(format!("{err:#}"))),
            };
        }
        Ok(if ended.iter().all(|ended| *ended) {
            Check::Finished
        } else {
            Check::Running
        })
    };
    let dirs: Vec<&Path> = sessions
        .iter()
        .map(|session| session.path.as_path())
        .collect();
    let outcome = {
        let mut sources: Vec<Follow<'_>> = files
            .iter()
            .zip(sinks.iter_mut())
            .zip(&starts)
            .map(|(((path, to_stdout), sink), start)| {
                let follow = Follow::new(path.clone(), sink).starting_at(*start);
                // stderr is best effort: a closed stderr leaves stdout followed.
                if *to_stdout {
                    follow
                } else {
                    follow.best_effort()
                }
            })
            .collect();
        tail::follow_in(&dirs, &mut sources, None, &mut check)
    };
    let outcome = outcome.and_then(|outcome| {
        for (sink, (_, to_stdout)) in sinks.iter_mut().zip(&files) {
            let finished = sink.finish();
            // stderr stays best effort.
            if *to_stdout {
                finished?;
            }
        }
        Ok(outcome)
    });
    match outcome {
        Ok(Outcome::Drained | Outcome::Stopped) => Ok(0),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(err) => Err(crate::exit::io_failure(
            "cannot follow the output of",
            &err,
            sessions
                .iter()
                .map(SessionDir::id_string)
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Where following `path` starts: its first byte, or where its last `tail` lines begin.
fn start(path: &Path, tail: Option<usize>) -> Result<u64> {
    let Some(lines) = tail else {
        return Ok(0);
    };
    let file: File = match crate::store::files::Options::read().open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(crate::exit::io_failure("cannot read", &err, path.display())),
    };
    let len = file
        .metadata()
        .map_err(|err| crate::exit::io_failure("cannot read", &err, path.display()))?
        .len();
    super::tail_start(&file, len, lines)
        .map_err(|err| crate::exit::io_failure("cannot read", &err, path.display()))
}

/// Where one followed file's bytes go: as they are, or line by line after a label.
enum Sink {
    Plain(Box<dyn Write>),
    Labelled(Prefixed<Box<dyn Write>>),
}

impl Sink {
    /// Writes what is held of a last line without its newline ([`Prefixed::finish`]).
    fn finish(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(out) => out.flush(),
            Self::Labelled(out) => out.finish(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(out) => out.write(buf),
            Self::Labelled(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(out) => out.flush(),
            Self::Labelled(out) => out.flush(),
        }
    }
}
