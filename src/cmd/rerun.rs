//! `csa session rerun` (`csa rerun`): a new session that runs what an earlier one ran —
//! the same argv, working directory, `--env` additions, tool, queue, tags, name, timeouts
//! and executor, and the same prompt (`prompt.txt`) when it went to the job on standard
//! input. Not its `--after` dependencies (they have ended; the new job would be skipped if
//! one failed) nor its parent (the new session's parent is whoever runs `rerun`, as for
//! `run`). The job is replayed as recorded, not planned again from the tool's current
//! configuration. Printed as `run` prints (ID on stdout, the start on stderr).

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::cmd::args::RerunArgs;
use crate::cmd::view;
use crate::directive::Announce;
use crate::run::{FleetRequest, Request};
use crate::store::record::{SessionRecord, StdinSource};
use crate::store::session::{self, SessionDir, StateRoot};
use crate::tool::Job;
use crate::values::Limit;

/// Runs `csa session rerun`. Exit codes as `run`'s; 125 when the session's `session.toml`
/// or `prompt.txt` cannot be read.
pub fn exec(args: &RerunArgs) -> Result<u8> {
    let session = StateRoot::from_env()?.resolve(args.target.handle())?;
    let record = view::session_record(&session)?;
    let request = request(&session, &record, Announce::for_stderr(args.quiet))?;
    // Errors name the session rerun: its program or working directory may be gone.
    super::run::started(&request, args.json)
        .with_context(|| format!("cannot rerun session {}", session.id_string()))
}

/// The request that starts `record`'s job again.
fn request(session: &SessionDir, record: &SessionRecord, announce: Announce) -> Result<Request> {
    // An executor this csa has (else an error naming the session and the executor).
    crate::executor::recorded(session, record)?;
    let prompt_file = match record.stdin {
        StdinSource::Prompt => {
            let path = session.file(session::PROMPT_TXT);
            let prompt = crate::store::files::Options::read()
                .open(&path)
                .and_then(|file| {
                    use std::io::Read as _;
                    let mut bytes = Vec::new();
                    file.take(crate::run::MAX_STDIN_PROMPT + 1)
                        .read_to_end(&mut bytes)
                        .map(|_| bytes)
                })
                .map_err(|err| crate::exit::io_failure("cannot read", &err, path.display()))?;
            Some(prompt)
        }
        StdinSource::Null | StdinSource::Inherit => None,
    };
    let limit = |ms: Option<u64>| Some(Limit(ms.map(Duration::from_millis)));
    let env = record
        .env
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .with_context(|| format!("malformed env entry {pair:?} in session.toml"))
        })
        .collect::<Result<Vec<_>>>()?;
    let job = Job {
        tool: record.tool.clone(),
        argv: record.argv.iter().map(OsString::from).collect(),
        // A job that had csa's standard input gets `rerun`'s (`stdin` below).
        stdin: match record.stdin {
            StdinSource::Inherit => StdinSource::Null,
            other => other,
        },
        prompt_file,
        timeout: record.timeout_ms.map(Duration::from_millis),
        idle_timeout: record.idle_timeout_ms.map(Duration::from_millis),
        queue: None,
    };
    Ok(Request {
        stdin: record.stdin == StdinSource::Inherit,
        tool: record.tool.clone(),
        cd: Some(record.cwd.clone().into()),
        env,
        timeout: limit(record.timeout_ms),
        idle_timeout: limit(record.idle_timeout_ms),
        name: record.name.clone(),
        tag: record.tags.clone(),
        no_daemon: false,
        fleet: FleetRequest {
            queue: record.queue.clone(),
            no_queue: record.queue.is_none(),
            ..FleetRequest::default()
        },
        executor: Some(record.executor.clone()),
        executor_args: Vec::new(),
        prompt: None,
        program: Vec::new(),
        replay: Some(job),
        announce,
    })
}
