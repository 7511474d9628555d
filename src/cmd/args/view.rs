//! The arguments of the fleet views: `csa status` (once, or `--watch`) and `csa top` (live,
//! full screen).

use clap::Args;

/// What `csa status --help` says after the options.
pub const STATUS_EXAMPLES: &str = "\
Shows the counts of sessions by state, one line per queue (slots, running, waiting, done,
failed, the oldest wait, jobs ended per minute over the last 10 minutes, use of the slots),
then the running sessions: HANDLE (the shortest end of the ID that names the session; type it
wherever a session is taken), NAME/COMMAND, QUEUE, STATE, WAITED (before the job started),
RAN, QUIET (since the job last wrote output) and its last line of output. A session tree is
one row, its root's, with how the sessions under it fare. Only looks: nothing is recorded or
removed.

Examples:
  csa status
  csa status --all
  csa status --watch                 # redrawn in place every second; Ctrl-C ends it
  csa status --json | jq '.counts.running'";

/// What `csa top --help` says after the options.
pub const TOP_EXAMPLES: &str = "\
Keys: arrows, PgUp/PgDn, Home/End move; / filters (words, tag:T, queue:Q, status:S); Enter
follows the selected session's output (Tab: stdout/stderr); k kills the selected session and
K every running or queued session with a tag (both ask first); s sets a queue's slots; t shows
trees collapsed or flat; Right/Left (or + and -) open and close a tree; ? lists the keys; q
quits. Updated as the store changes (inotify), with a full look every 15 s.

Examples:
  csa top
  csa top --filter 'queue:agents status:running'";

/// Arguments of `csa status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print a JSON object: {counts, queues} (the counts by state and each queue's figures)
    #[arg(long, conflicts_with_all = ["watch", "all"])]
    pub json: bool,
    /// Redraw every second, in place on a terminal (one picture after another otherwise),
    /// until interrupted
    #[arg(long)]
    pub watch: bool,
    /// List every session (queued and ended ones too), not only the running ones
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `csa top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Start with this filter: words to find in the rows, and tag:T, queue:Q, status:S
    /// (every term must match)
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,
}
