//! `csa tools`: the tools `--tool` accepts here, their command lines, where each is defined
//! and whether its program is found on `PATH`.

use std::ffi::OsStr;
use std::io::{self, BufWriter, Write as _};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cli::ToolsArgs;
use crate::term::{self, Colour};
use crate::tool::{self, ToolDef};

/// A row of `csa tools --json`.
#[derive(Debug, Serialize)]
struct ToolRow<'a> {
    /// The name given to `--tool`.
    name: &'a str,
    /// The command line; `{prompt}` marks where the prompt goes (dropped when `stdin`).
    argv: &'a [String],
    /// True when the prompt goes on standard input.
    stdin: bool,
    /// `built-in`, or the configuration file that defines it.
    source: String,
    /// Where `argv[0]` was found, or null when it is not found or not executable.
    path: Option<String>,
}

/// Runs `csa tools`. Exit 0; 125 for a malformed configuration file.
pub fn exec(args: &ToolsArgs) -> Result<u8> {
    let cwd = std::env::current_dir().context("cannot find the current directory")?;
    let tools = tool::config::load(&cwd)?;
    let path_var = std::env::var_os("PATH");
    let rows: Vec<ToolRow<'_>> = tools
        .iter()
        .map(|def: &ToolDef| ToolRow {
            name: &def.name,
            argv: &def.argv,
            stdin: def.stdin,
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

fn print_json(rows: &[ToolRow<'_>]) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, rows)?;
    writeln!(out)?;
    out.flush()
}

fn print_table(rows: &[ToolRow<'_>]) -> io::Result<()> {
    let colour = term::stdout_colour();
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            // With the prompt on standard input, `{prompt}` elements are dropped.
            let mut argv = row
                .argv
                .iter()
                .filter(|a| !(row.stdin && *a == tool::PROMPT_PLACEHOLDER))
                .map(|a| {
                    if a == tool::PROMPT_PLACEHOLDER {
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
            [
                row.name.to_owned(),
                row.path.clone().unwrap_or_else(|| "not found".to_owned()),
                row.source.clone(),
                argv,
            ]
        })
        .collect();
    let headers = ["NAME", "FOUND", "SOURCE", "ARGV"];
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {}",
        headers[0],
        headers[1],
        headers[2],
        headers[3],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2]
    )?;
    for (row, cell) in rows.iter().zip(&cells) {
        let found = format!("{:<w$}", cell[1], w = widths[1]);
        let found = if row.path.is_some() {
            found
        } else {
            term::paint(&found, Colour::Dim, colour)
        };
        writeln!(
            out,
            "{:<w0$}  {found}  {:<w2$}  {}",
            cell[0],
            cell[2],
            cell[3],
            w0 = widths[0],
            w2 = widths[2]
        )?;
    }
    out.flush()
}
