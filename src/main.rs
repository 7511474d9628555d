//! `csa`: run long jobs in the background and wait for, follow and stop them.
//!
//! `main` only parses the command line, dispatches, and turns the outcome into an exit
//! code. It is the one place where errors are printed. Everything else is the library
//! (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    // A write past `ulimit -f` fails with EFBIG, an error, instead of killing csa.
    csa::sys::ignore_file_size_signal();
    match csa::cli::dispatch(csa::cli::parse()) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            csa::report::write_line(&format!("csa: {message}"));
            std::process::ExitCode::from(csa::exit::code_of(&err))
        }
    }
}
