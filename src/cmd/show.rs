//! `csa session show` (`csa show`): everything about one session in one place — what it
//! runs (command, cwd, tool, name, environment additions), its place in its fleet (tags,
//! queue and position, parent and children, dependencies), its true times, its status and
//! reason, and the paths of its files. Text for people, `--json` for programs.
//!
//! **Looks and heals** as `result` does ([`view::look`]): a session whose supervisor is gone
//! without a result gets its `lost` result recorded. Its relatives are only looked at.

mod text;

use std::time::SystemTime;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::view::{self, ResultView, Seen};
use crate::admission::waiting_for as whereabouts;
use crate::cmd::args::ShowArgs;
use crate::liveness::{self, Observed};
use crate::store::record::{self, SessionRecord, Times};
use crate::store::session::{self, SessionDir, StateRoot};

/// Another session named by this one (its parent, a child, a dependency), as shown.
#[derive(Debug, Clone, Serialize)]
struct Relative {
    /// Its ID.
    id: String,
    /// Its status now (`running`, `queued`, or how it ended; `gone` once removed).
    status: String,
    /// Its `--name`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// One of the session's files and where it is.
#[derive(Debug, Clone, Serialize)]
struct File {
    /// Its name in the session directory (`stdout.log`).
    name: &'static str,
    /// Its absolute path.
    path: String,
    /// Its size in bytes.
    bytes: u64,
}

/// What `show` prints: the fields of `session list --json` (docs/format.md) and more.
#[derive(Debug, Serialize)]
struct Shown {
    #[serde(flatten)]
    result: ResultView,
    handle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    argv: Option<Vec<String>>,
    /// What `list` shows as NAME/COMMAND without the name: the script or command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<String>,
    env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waited_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<Relative>,
    children: Vec<Relative>,
    after: Vec<Relative>,
    executor: String,
    /// The supervisor's PID (the job's process group), from `daemon.pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<i32>,
    dir: String,
    files: Vec<File>,
}

/// The files listed, in this order, when they exist (then the executor's messages).
const FILES: [&str; 7] = [
    session::STDOUT_LOG,
    session::STDERR_LOG,
    session::SESSION_TOML,
    session::RESULT_TOML,
    record::STARTED_TOML,
    session::PROMPT_TXT,
    session::DAEMON_PID,
];

/// Runs `csa session show`. Exit 0 whatever the session's status; 125 for an unknown or
/// ambiguous session or unreadable state; 124 when the session is dead and its lost result
/// cannot be recorded.
pub fn exec(args: &ShowArgs) -> Result<u8> {
    let root = StateRoot::from_env()?;
    let session = root.resolve(args.target.handle())?;
    let seen = view::look(&session)?;
    let record = view::session_record(&session).ok();
    let shown = gather(&root, &session, &seen, record.as_ref())?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&shown).context("cannot format the session")?;
        text.push('\n');
        text
    } else {
        text::render(&shown, SystemTime::now())
    };
    crate::exit::write_stdout(text.as_bytes(), "the session")?;
    Ok(0)
}

fn gather(
    root: &StateRoot,
    session: &SessionDir,
    seen: &Seen,
    record: Option<&SessionRecord>,
) -> Result<Shown> {
    let (result, times) = match seen {
        Seen::Finished(result) => {
            let mut view = ResultView::finished(result);
            view.queue = record.and_then(|r| r.queue.clone());
            view.queued_at = record.filter(|r| r.waits()).map(|r| r.created_at.clone());
            (view, Times::of(session, record, Some(result), false))
        }
        Seen::Running => (
            ResultView::running(session, record),
            Times::of(session, record, None, true),
        ),
        Seen::Queued => {
            let found = record.map(|record| {
                whereabouts::find(
                    root,
                    &session.id_string(),
                    record,
                    &mut crate::queue::snapshot::Snapshots::default(),
                )
            });
            (
                ResultView::queued(session, record, found),
                Times::of(session, record, None, false),
            )
        }
    };
    let result = result.with_job_id(session, record);
    let ids = root.session_ids()?;
    let handle = session::short_handle(session.id, &ids);
    let relative = |id: &str| relative(root, id);
    let waited_ms = times
        .waited(SystemTime::now())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(Shown {
        result,
        handle,
        name: record.and_then(|r| r.name.clone()),
        tool: record.map(|r| r.tool.clone()),
        argv: record.map(|r| r.argv.clone()),
        command: record.map(|r| {
            let mut unnamed = r.clone();
            unnamed.name = None;
            super::list::describe(Some(&unnamed))
        }),
        cwd: record.map(|r| r.cwd.clone()),
        env: record.map(|r| r.env.clone()).unwrap_or_default(),
        created_at: record.map(|r| r.created_at.clone()),
        waited_ms,
        timeout_ms: record.and_then(|r| r.timeout_ms),
        tags: record.map(|r| r.tags.clone()).unwrap_or_default(),
        parent: record.and_then(|r| r.parent.as_deref()).map(&relative),
        children: crate::tree::children(session)
            .iter()
            .map(|child| relative(&child.id_string()))
            .collect(),
        after: record
            .map(|r| r.after.iter().map(|id| relative(id)).collect())
            .unwrap_or_default(),
        executor: record
            .map(|r| r.executor.clone())
            .unwrap_or_default()
            .to_string(),
        pid: liveness::read_identity(session)
            .ok()
            .map(|identity| identity.pid.as_raw()),
        dir: session.path.display().to_string(),
        files: FILES
            .iter()
            .copied()
            .chain(
                record
                    .and_then(|r| crate::executor::find(r.executor.as_str()))
                    .and_then(crate::executor::Executor::messages_file),
            )
            .filter_map(|name| {
                let path = session.file(name);
                let meta = crate::store::files::metadata(&path).ok()?;
                meta.is_file().then(|| File {
                    name,
                    path: path.display().to_string(),
                    bytes: meta.len(),
                })
            })
            .collect(),
    })
}

/// A look at session `id` (read only): its status and name.
fn relative(root: &StateRoot, id: &str) -> Relative {
    let Ok(ulid) = ulid::Ulid::from_string(id) else {
        return Relative {
            id: id.to_owned(),
            status: "gone".to_owned(),
            name: None,
        };
    };
    let other = root.session(ulid);
    let status = if other.path.is_dir() {
        match liveness::observe(&other) {
            Ok(Observed::Running) => "running".to_owned(),
            Ok(Observed::Queued) => "queued".to_owned(),
            Ok(Observed::Finished(result)) => result.status.as_str().to_owned(),
            Ok(Observed::Gone) => "lost".to_owned(),
            Err(_) => "unreadable".to_owned(),
        }
    } else {
        "gone".to_owned()
    };
    let name = record::read::<SessionRecord>(&other.file(session::SESSION_TOML))
        .ok()
        .flatten()
        .and_then(|record| record.name);
    Relative {
        id: other.id_string(),
        status,
        name,
    }
}
