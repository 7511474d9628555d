//! `csa session clean`: remove the directories of sessions that ended longer ago than
//! `--older-than` (default 7 days; with `--tag`, 0: every ended session that carries the
//! tags). Never a running session: the lock is checked right before each removal.
//!
//! A session's end is `finished_at` in its `result.toml`. For a `lost` session (or one whose
//! supervisor vanished without a result) the latest change to its spool files,
//! `session.toml` or `daemon.pid` stands in for it, since a reconstructed result records
//! when it was reconstructed, not when the job died.
//!
//! **Trees stay whole**: a session is removed only once none of its child sessions is left
//! (`children/<ID>`), so no session's `parent` ever names a session that is gone. Sessions
//! are judged newest first, so a tree whose sessions all qualify goes in one run; a parent
//! whose children stay (running, younger, without the tags) stays too, with a note.
//!
//! **Looks and heals** ([`crate::heal::observe`]): a Slurm session whose watcher died is
//! re-adopted rather than taken for ended; nothing else is written before a removal. The
//! name index loses the entries of the sessions removed ([`StateRoot::tidy_names`]).

use std::io::{self, BufWriter};
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::cmd::args::CleanArgs;
use crate::liveness::{self, Observed};
use crate::store::files;
use crate::store::record::{self, ResultRecord, SessionRecord, Status};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::store::tags;
use crate::term;

/// How long ago a session must have ended for `clean` without `--tag` and `--older-than`.
const DEFAULT_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Runs `csa session clean`. Prints one line per session removed (or, with `--dry-run`,
/// that would be removed) and a total of the bytes freed. Exit 0; a session that cannot be
/// judged or removed is skipped with a warning on stderr.
pub fn exec(args: &CleanArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let now = SystemTime::now();
    let older_than = args.older_than.unwrap_or(if args.tag.is_empty() {
        DEFAULT_AGE
    } else {
        Duration::ZERO
    });
    let cutoff = now
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = BufWriter::new(io::stdout().lock());
    // The first error writing the report; the cleaning goes on without a report.
    let mut unreported = None;
    let (mut count, mut freed) = (0u64, 0u64);
    // With --dry-run, the sessions that would be removed so far.
    let mut dry_removed = Vec::new();
    // A session created after the cutoff cannot have ended before it. Newest first: a
    // child before its parent.
    let ids = root.session_ids()?;
    for id in ids.into_iter().filter(|id| id.datetime() <= cutoff) {
        let session = root.session(id);
        if !args.tag.is_empty() && !carries(&session, &args.tag) {
            continue;
        }
        let (status, ended) = match crate::heal::observe(&session) {
            Ok(Observed::Running | Observed::Queued) => continue,
            Ok(Observed::Finished(result)) => {
                (result.status.as_str(), ended_at(&session, Some(&result)))
            }
            Ok(Observed::Gone) => (Status::Lost.as_str(), ended_at(&session, None)),
            Err(err) => {
                warn(&session, &err);
                continue;
            }
        };
        if ended > cutoff {
            continue;
        }
        if let Some(child) = remaining_child(&session, &dry_removed) {
            crate::note!(
                "keeping session {}: its child session {child} is still there (clean it first)",
                session.id_string()
            );
            continue;
        }
        let size = dir_size(&session.path);
        if args.dry_run {
            // As if removed: its parent may go in the same run.
            dry_removed.push(session.id);
        } else {
            match liveness::supervisor_alive(&session) {
                Ok(false) => {}
                Ok(true) => continue,
                Err(err) => {
                    warn(&session, &err);
                    continue;
                }
            }
            if let Err(err) = files::remove_dir_all(&session.path) {
                warn(
                    &session,
                    &files::failure("cannot remove", &err, &session.path),
                );
                continue;
            }
        }
        count += 1;
        freed += size;
        let age = term::age(now.duration_since(ended).unwrap_or_default());
        writeln_ok(
            &mut out,
            &format!(
                "{verb} {}  {status:<7}  ended {age}  {}",
                session.id_string(),
                term::bytes(size)
            ),
            &mut unreported,
        );
    }
    if !args.dry_run {
        remove_abandoned_setups(&root, now);
        root.tidy_names(now, liveness::START_GRACE);
    }
    writeln_ok(
        &mut out,
        &format!(
            "{verb} {}, {} ({})",
            term::count(count, "session", "sessions"),
            term::count(freed, "byte", "bytes"),
            term::bytes(freed)
        ),
        &mut unreported,
    );
    unreported.map_or(Ok(0), Err)
}

/// Removes the staged directories (`sessions/.new-<ID>`) that a `csa run` killed before it
/// printed the ID left behind: older than a minute and with their `lock` free. Nothing
/// ever read them, so nothing is reported.
fn remove_abandoned_setups(root: &StateRoot, now: SystemTime) {
    let dir = root.sessions_dir();
    let Ok(entries) = files::read_dir(&dir) else {
        return;
    };
    for entry in entries
        .iter()
        .filter(|entry| entry.kind == files::Kind::Dir)
    {
        let Some(id) = entry
            .name_str()
            .and_then(|name| name.strip_prefix(session::STAGING_PREFIX))
            .and_then(|id| ulid::Ulid::from_string(id).ok())
        else {
            continue;
        };
        let young = now
            .duration_since(id.datetime())
            .map_or(true, |age| age < liveness::START_GRACE);
        let path = dir.join(&entry.name);
        let free = files::Options::read()
            .open(&path.join(session::LOCK))
            .map_or(true, |lock| lock.try_lock().is_ok());
        if !young && free {
            let _ = files::remove_dir_all(&path);
        }
    }
}

/// A child session of `session` that is still in the store ([`crate::tree::children`]:
/// listed in its `children/`, with a directory, and naming it as its parent), and not
/// among `removed` (those a dry run would have removed), if any.
fn remaining_child(session: &SessionDir, removed: &[ulid::Ulid]) -> Option<String> {
    crate::tree::children(session)
        .into_iter()
        .find(|child| !removed.contains(&child.id))
        .map(|child| child.id_string())
}

/// True when the session's `session.toml` carries every tag of `wanted`; a missing or
/// malformed one carries none (with a warning when malformed).
fn carries(session: &SessionDir, wanted: &[String]) -> bool {
    match record::read::<SessionRecord>(&session.file(session::SESSION_TOML)) {
        Ok(Some(found)) => tags::has_all(&found, wanted),
        Ok(None) => false,
        Err(err) => {
            warn(session, &err);
            false
        }
    }
}

/// Writes a line of the report, unless an earlier one failed. A reader that went away is
/// not an error; another failure (a full device) is kept in `failed`, reported once the
/// cleaning is done: it never stops the cleaning.
fn writeln_ok(out: &mut impl io::Write, line: &str, failed: &mut Option<anyhow::Error>) {
    if failed.is_some() {
        return;
    }
    let written = writeln!(out, "{line}").and_then(|()| out.flush());
    if let Err(err) = crate::exit::stdout_written(written, "the report") {
        *failed = Some(err);
    }
}

fn warn(session: &SessionDir, err: &anyhow::Error) {
    if files::is_dir(&session.path) {
        crate::note!(
            "skipping a session: {} ({})",
            format!("{err:#}").replace('\n', " "),
            session.id_string()
        );
    }
}

/// When the session's job ended; see the module documentation.
fn ended_at(session: &SessionDir, result: Option<&ResultRecord>) -> SystemTime {
    if let Some(result) = result.filter(|r| r.status != Status::Lost)
        && let Some(finished) = record::parse_timestamp(&result.finished_at)
    {
        return finished;
    }
    [
        session::STDOUT_LOG,
        session::STDERR_LOG,
        session::SESSION_TOML,
        session::DAEMON_PID,
    ]
    .iter()
    .filter_map(|name| files::metadata(&session.file(name)).ok()?.modified().ok())
    .max()
    .unwrap_or_else(|| session.id.datetime())
}

/// The total length in bytes of the regular files under `dir` (symbolic links are not
/// followed).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = files::read_dir(dir) else {
        return 0;
    };
    entries
        .iter()
        .map(|entry| {
            let path = dir.join(&entry.name);
            match entry.kind {
                files::Kind::Dir => dir_size(&path),
                files::Kind::File => files::metadata(&path).map_or(0, |meta| meta.len()),
                _ => 0,
            }
        })
        .sum()
}
