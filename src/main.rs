//! The `synthmark` command: a thin shell over the library. Argument parsing and printing live in
//! `cli/`; everything that touches an image lives in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    synthmark::tune_for_images();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("synthmark: error: {err:#}");
            ExitCode::from(cli::EXIT_FATAL)
        }
    }
}

/// A reader that stopped reading (`synthmark check … | head`) is not an error. The write that
/// found the pipe closed may have failed inside `serde_json`, which wraps the I/O error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = match cause.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => cause.downcast_ref::<std::io::Error>().map(|io| io.kind()),
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
