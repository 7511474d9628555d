//! `csa session logs`: what a job has written so far — `stdout.log` to stdout and, with
//! `--stderr`, `stderr.log` to stderr — optionally only the last N lines; with `--follow`,
//! then what it writes until it ends ([`follow`]). With `--tag`, the same for every session
//! with the tags, each line after its session's label ([`crate::tail::Prefixed`]).
//!
//! **Only reads**: nothing is healed (a session whose supervisor died without a result
//! counts as ended).

mod follow;

use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use anyhow::Result;

use crate::cmd::args::LogsArgs;
use crate::exit::{CSA_ERROR, Failure};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::store::tags;
use crate::tail::Prefixed;

/// How many bytes are read at a time while looking for line starts from the end.
const TAIL_CHUNK: usize = 64 * 1024;

/// Runs `csa session logs`. Exit 0 (with `--follow`, once every session followed has
/// ended, whatever its status); 125 for an unknown or ambiguous ID, a `--tag` no session
/// has, or a spool file that cannot be read. A reader that went away (`BrokenPipe`) is not
/// an error.
pub fn exec(args: &LogsArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let sessions = if args.tag.is_empty() {
        vec![root.resolve(args.target.handle())?]
    } else {
        tagged(&root, &args.tag)?
    };
    let labels = (!args.tag.is_empty()).then(|| labels(&root, &sessions));
    if args.follow {
        return follow::exec(args, &sessions, labels.as_ref());
    }
    for (n, session) in sessions.iter().enumerate() {
        let label = labels.as_ref().map(|(labels, width)| (&labels[n], *width));
        print(session, args, label)?;
    }
    Ok(0)
}

/// Prints what `session` has written so far, every line after `label` (with its width)
/// when given.
fn print(session: &SessionDir, args: &LogsArgs, label: Option<(&String, usize)>) -> Result<()> {
    let files = [
        Some((session::STDOUT_LOG, true)),
        args.stderr.then_some((session::STDERR_LOG, false)),
    ];
    for (name, to_stdout) in files.into_iter().flatten() {
        let path = session.file(name);
        let sink: Box<dyn Write> = if to_stdout {
            Box::new(io::stdout().lock())
        } else {
            Box::new(io::stderr().lock())
        };
        match label {
            Some((label, width)) => {
                let mut sink = Prefixed::new(label, width, sink);
                copy_log(&path, &mut sink, args.tail)?;
                ended(sink.finish(), &path)?;
            }
            None => copy_log(&path, &mut { sink }, args.tail)?,
        }
    }
    Ok(())
}

/// The sessions with every tag of `wanted`, oldest first. Errors (125): none has them.
fn tagged(root: &StateRoot, wanted: &[String]) -> Result<Vec<SessionDir>> {
    let sessions = tags::select(root, wanted)?;
    if sessions.is_empty() {
        return Err(Failure::new(
            CSA_ERROR,
            format!(
                "no session has the tag{} {}: check the spelling with `csa session list --json` ({})",
                if wanted.len() == 1 { "" } else { "s" },
                tags::describe(wanted),
                root.sessions_dir().display()
            ),
        )
        .into());
    }
    Ok(sessions)
}

/// Each session's label — its `--name` when no other of `sessions` has it, else its short
/// handle — and the width of the longest.
fn labels(root: &StateRoot, sessions: &[SessionDir]) -> (Vec<String>, usize) {
    let ids = root.session_ids().unwrap_or_default();
    let names: Vec<Option<String>> = sessions
        .iter()
        .map(|session| {
            crate::store::record::read::<crate::store::record::SessionRecord>(
                &session.file(session::SESSION_TOML),
            )
            .ok()
            .flatten()
            .and_then(|record| record.name)
        })
        .collect();
    let labels: Vec<String> = sessions
        .iter()
        .zip(&names)
        .map(|(session, name)| match name {
            Some(name) if names.iter().flatten().filter(|n| *n == name).count() == 1 => {
                name.clone()
            }
            _ => session::short_handle(session.id, &ids),
        })
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    (labels, width)
}

/// The end of a copy to a sink: a reader that went away is not an error.
fn ended(result: io::Result<()>, path: &Path) -> Result<()> {
    match result {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(crate::exit::io_failure("cannot copy", &err, path.display()))
        }
        _ => Ok(()),
    }
}

/// Copies the bytes `path` holds now (or its last `tail` lines) to `sink`, in constant
/// memory. A missing file copies nothing.
fn copy_log(path: &Path, sink: &mut dyn Write, tail: Option<usize>) -> Result<()> {
    let file = match crate::store::files::Options::read().open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(crate::exit::io_failure("cannot read", &err, path.display())),
    };
    let copied = (|| {
        let len = file.metadata()?.len();
        let start = match tail {
            Some(lines) => tail_start(&file, len, lines)?,
            None => 0,
        };
        let mut reader = &file;
        reader.seek(io::SeekFrom::Start(start))?;
        io::copy(&mut reader.take(len - start), sink)?;
        sink.flush()
    })();
    ended(copied, path)
}

/// The offset where the last `lines` lines of the first `len` bytes of `file` begin. A
/// final line without a newline counts as a line; the newline ending the last line does
/// not start another.
pub fn tail_start(file: &File, len: u64, lines: usize) -> io::Result<u64> {
    if lines == 0 {
        return Ok(len);
    }
    // Ignore the newline that ends the last line.
    let mut end = len;
    if end > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, end - 1)?;
        if last[0] == b'\n' {
            end -= 1;
        }
    }
    let mut seen = 0;
    let mut buf = vec![0u8; TAIL_CHUNK];
    while end > 0 {
        let size = usize::try_from(end.min(TAIL_CHUNK as u64)).unwrap_or(TAIL_CHUNK);
        let from = end - size as u64;
        file.read_exact_at(&mut buf[..size], from)?;
        for (i, byte) in buf[..size].iter().enumerate().rev() {
            if *byte == b'\n' {
                seen += 1;
                if seen == lines {
                    return Ok(from + i as u64 + 1);
                }
            }
        }
        end = from;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(text: &[u8], lines: usize) -> Vec<u8> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        let start = tail_start(&file, text.len() as u64, lines).unwrap();
        text[usize::try_from(start).unwrap()..].to_vec()
    }

    #[test]
    fn last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(tail(b"a\nb\n", 0), b"");
        assert_eq!(tail(b"", 3), b"");
        assert_eq!(tail(b"\n\n", 1), b"\n");
        let mut big = vec![b'x'; 3 * TAIL_CHUNK];
        big.extend_from_slice(b"\nlast\n");
        assert_eq!(tail(&big, 1), b"last\n");
        assert_eq!(tail(&big, 2).len(), big.len());
    }
}
