//! `csa tools`: the tools `--tool` accepts here, their command lines, default queues,
//! timeouts and idle timeouts, where each is defined and whether its program is found on `PATH`.

use std::ffi::OsStr;
use std::io::{self, BufWriter, Write as _};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cmd::args::ToolsArgs;
use crate::term::{self, Colour};
use crate::tool::{self, ToolDef};

/// A row of `csa tools --json`.
#[derive(Debug, Serialize)]
struct ToolRow<'a> {
    /// The name given to `--tool`.
    name: &'a str,
    /// The command line; `{prompt}` marks where the prompt goes (dropped when `stdin`).
    argv: &'a [String],
    /// True when every prompt goes on standard input.
    stdin: bool,
    /// The command line when the prompt goes on standard input (over 100 KiB, or `stdin`).
    stdin_argv: Option<Vec<String>>,
    /// The default timeout of its sessions (ms), or null for none.
    timeout_ms: Option<u64>,
    /// The default idle timeout of its sessions (ms), or null for none.
    idle_timeout_ms: Option<u64>,
    /// The queue its sessions wait in by default, or null for none.
    queue: Option<&'a str>,
    /// `built-in`, or the configuration file that defines it.
    source: String,
    /// Where `argv[0]` was found, or null when it is not found or not executable.
    path: Option<String>,
}

/// Runs `csa tools`. Exit 0; 125 for a malformed configuration file.
pub fn exec(args: &ToolsArgs) -> Result<u8> {
    let cwd = std::env::current_dir().context("cannot find the current directory")?;
    let config = tool::config::load(&cwd)?;
    let path_var = std::env::var_os("PATH");
    let rows: Vec<ToolRow<'_>> = config
        .tools
        .iter()
        .map(|def: &ToolDef| ToolRow {
            name: &def.name,
            argv: &def.argv,
            stdin: def.stdin,
            stdin_argv: def.stdin_command(),
            timeout_ms: def.timeout.map(millis),
            idle_timeout_ms: def.idle_timeout.map(millis),
            queue: def.queue.as_deref(),
            source: def.source.to_string(),
            path: tool::check_executable(OsStr::new(&def.argv[0]), &cwd, path_var.as_deref())
                .ok()
                .map(|p| p.display().to_string()),
        })
        .collect();
    let written = if args.json {
        print_json(&rows)
    } else {
        print_table(&rows)
    };
    crate::exit::stdout_written(written, "the tools")?;
    Ok(0)
}

/// `duration` in whole milliseconds (saturating).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn print_json(rows: &[ToolRow<'_>]) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, rows)?;
    writeln!(out)?;
    out.flush()
}

fn print_table(rows: &[ToolRow<'_>]) -> io::Result<()> {
    const HEADERS: [&str; 7] = [
        "NAME", "FOUND", "QUEUE", "TIMEOUT", "IDLE", "SOURCE", "ARGV",
    ];
    let colour = term::stdout_colour();
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            // With every prompt on standard input, show the command that gets it.
            let shown = match (&row.stdin_argv, row.stdin) {
                (Some(stdin_argv), true) => stdin_argv.as_slice(),
                _ => row.argv,
            };
            let mut argv = shown
                .iter()
                .map(|a| {
                    // `{prompt}` is shown as it is, unquoted, wherever it stands.
                    let rest = a.replace(tool::PROMPT_PLACEHOLDER, "");
                    if rest.is_empty() || crate::term::quote(&rest) == rest {
                        a.clone()
                    } else {
                        term::quote(a)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            if row.stdin {
                argv.push_str(" < {prompt}");
            }
            let limit = |ms: Option<u64>| {
                ms.map_or_else(
                    || "-".to_owned(),
                    |ms| humantime::format_duration(Duration::from_millis(ms)).to_string(),
                )
            };
            [
                row.name.to_owned(),
                row.path.clone().unwrap_or_else(|| "not found".to_owned()),
                row.queue.unwrap_or("-").to_owned(),
                limit(row.timeout_ms),
                limit(row.idle_timeout_ms),
                row.source.clone(),
                argv,
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let last = HEADERS.len() - 1;
    let line = |out: &mut BufWriter<_>, cells: [&str; 7], dim_found: bool| -> io::Result<()> {
        for (index, cell) in cells.iter().enumerate() {
            if index == last {
                writeln!(out, "{cell}")?;
                break;
            }
            let padded = format!("{cell:<w$}  ", w = widths[index]);
            if index == 1 && dim_found {
                write!(out, "{}", term::paint(&padded, Colour::Dim, colour))?;
            } else {
                write!(out, "{padded}")?;
            }
        }
        Ok(())
    };
    line(&mut out, HEADERS, false)?;
    for (row, cell) in rows.iter().zip(&cells) {
        line(
            &mut out,
            cell.each_ref().map(String::as_str),
            row.path.is_none(),
        )?;
    }
    out.flush()
}
