//! `csa man`: manual pages generated from the command-line definition by `clap_mangen`,
//! so they say what `--help` says (exit codes included).

use std::io::{self, Write as _};

use anyhow::Result;

use crate::cmd::args::ManArgs;

/// Runs `csa man`: prints `csa.1` (roff) on stdout, or with `--dir` writes `csa.1` and a
/// page per subcommand (`csa-run.1`, `csa-session-wait.1`, …) into the directory and
/// prints their paths. `command` is csa's command line as users see it (without the
/// hidden subcommands, [`crate::cli::visible_command`]). Exit 0; 125 when a page cannot be written.
pub fn exec(args: &ManArgs, command: clap::Command) -> Result<u8> {
    let command = command.bin_name("csa");
    let Some(dir) = &args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|err| {
                crate::exit::io_failure("cannot render the manual page", &err, "csa.1")
            })?;
        crate::exit::write_stdout(&page, "the manual page")?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir)
        .map_err(|err| crate::exit::io_failure("cannot create", &err, dir.display()))?;
    clap_mangen::generate_to(command, dir).map_err(|err| {
        crate::exit::io_failure("cannot write the manual pages", &err, dir.display())
    })?;
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .map_err(|err| crate::exit::io_failure("cannot read", &err, dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("csa") && name.ends_with(".1"))
        })
        .collect();
    pages.sort();
    let mut stdout = io::stdout().lock();
    for page in pages {
        crate::exit::stdout_written(writeln!(stdout, "{}", page.display()), "a path")?;
    }
    Ok(0)
}
