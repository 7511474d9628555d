//! `csa run`: the arguments become a [`Request`]; [`crate::run::start`] plans, creates
//! and hands over the session; this prints its ID (or the JSON object) on stdout and, on
//! stderr, `CSA:SESSION_STARTED` — or a line for people when stderr is a terminal, or
//! nothing with `--quiet` ([`Announce`]) — or, with `--no-daemon`, exits with the job's
//! code.

use std::io::{self, Write as _};

use anyhow::{Context as _, Result};

use crate::cmd::args::RunArgs;
use crate::directive::Announce;
use crate::run::{FleetRequest, Request, Started};
use crate::store::session::SessionDir;

/// Runs `csa run`. Returns 0 once the job is started (daemon mode), or the job's exit code
/// with `--no-daemon`. Errors: as [`crate::run::start`].
pub fn exec(args: &RunArgs) -> Result<u8> {
    started(&request(args), args.json)
}

/// Starts the session `request` asks for and announces it: its ID (or, with `json`, the
/// JSON object) on stdout and, on stderr, as `request.announce` says. Returns 0, or with
/// `--no-daemon` the job's exit code. For `run` and `rerun`.
pub fn started(request: &Request, json: bool) -> Result<u8> {
    match crate::run::start(request)? {
        Started::Detached { session, pid } => {
            announce(json, &session, pid, request.announce)?;
            Ok(crate::exit::SUCCESS)
        }
        Started::Foreground(code) => Ok(code),
    }
}

/// The domain's request for `args`.
fn request(args: &RunArgs) -> Request {
    let fleet = &args.fleet;
    Request {
        stdin: args.stdin,
        tool: args
            .tool
            .clone()
            .unwrap_or_else(|| crate::tool::DEFAULT_TOOL.to_owned()),
        cd: args.cd.clone(),
        env: args.env.clone(),
        timeout: args.timeout,
        idle_timeout: args.idle_timeout,
        name: args.name.clone(),
        tag: args.tag.clone(),
        no_daemon: args.no_daemon,
        fleet: FleetRequest {
            queue: fleet.queue.clone(),
            no_queue: fleet.no_queue,
            slots: fleet.slots,
            after: fleet.after.clone(),
            detach_from_parent: fleet.detach_from_parent,
        },
        executor: args.executor.clone(),
        executor_args: args.slurm_args.clone(),
        prompt: args.prompt.clone(),
        program: args.program.clone(),
        replay: None,
        announce: Announce::for_stderr(args.quiet),
    }
}

/// Prints the ID (or the JSON object) on stdout and tells the start on stderr as `how` says.
fn announce(json: bool, session: &SessionDir, pid: crate::sys::Pid, how: Announce) -> Result<()> {
    let id = session.id_string();
    let line = if json {
        // Fields in the documented order (docs/format.md, "JSON output"), which `json!` (a sorted map) would not keep.
        #[derive(serde::Serialize)]
        struct Started<'a> {
            id: &'a str,
            pid: i32,
            dir: &'a str,
        }
        serde_json::to_string(&Started {
            id: &id,
            pid: pid.as_raw(),
            dir: &session.path.to_string_lossy(),
        })
        .context("cannot format the session as JSON")?
    } else {
        id.clone()
    };
    let mut stdout = io::stdout().lock();
    let printed = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    // The directive carries the ID too, so a caller whose stdout is gone still learns it.
    how.started(session, pid);
    printed.map_err(|err| {
        crate::exit::io_failure(
            "cannot print the session ID on stdout (the job runs anyway)",
            &err,
            &id,
        )
    })?;
    Ok(())
}
