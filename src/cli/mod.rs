//! The command-line interface: flag definitions, one module per subcommand, and the shared
//! batch machinery (input discovery, parallel runs, progress, summaries).

mod advice;
mod batch;
mod check;
mod config;
mod demo;
mod flags;
mod generated;
mod html_report;
mod inputs;
mod keygen;
mod registry;
mod serve;
mod signing;
mod stamp;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// How a subcommand that ran ended: the one place its exit code comes from. A command that
/// could not run at all returns an error instead, and exits with [`EXIT_FATAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every file was processed (for `check`: none tampered, none unreadable). Exit code 0.
    Done,
    /// At least one file failed to stamp, or `check` found a tampered or unreadable file.
    /// Exit code 1.
    FilesFailed,
}

impl Outcome {
    pub fn failed_if(failed: bool) -> Self {
        if failed {
            Outcome::FilesFailed
        } else {
            Outcome::Done
        }
    }

    /// The worse of two outcomes.
    pub fn and(self, other: Outcome) -> Self {
        Outcome::failed_if(self == Outcome::FilesFailed || other == Outcome::FilesFailed)
    }

    pub fn code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::FilesFailed => 1,
        }
    }
}

/// The command could not run at all: bad flags, unusable certificate or trust anchors.
pub const EXIT_FATAL: u8 = 2;

/// Label AI-generated images with signed C2PA credentials, and check images for such labels.
///
/// Exit codes: 0 all files processed (check: none tampered or unreadable); 1 some file failed to
/// stamp, or check found a tampered or unreadable file; 2 the command could not run.
#[derive(Debug, Parser)]
#[command(name = "synthmark", version, about, long_about)]
pub struct Cli {
    /// Configuration file (TOML). Default: $SYNTHMARK_CONFIG, else ~/.config/synthmark/config.toml
    /// when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Print nothing but errors and results: no progress bar, no summary.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Worker threads for a batch. Default: one per CPU core.
    #[arg(short = 'j', long, global = true, value_name = "N")]
    jobs: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a development signing identity (root CA + signing certificate). For testing only.
    Keygen(keygen::Args),
    /// Embed signed C2PA credentials declaring images AI-generated (or AI-edited).
    Stamp(stamp::Args),
    /// Check images for AI labels: intact, tampered, trusted or not.
    Check(check::Args),
    /// Stamp the bundled samples/ with a development identity and check the results.
    Demo(demo::Args),
    /// Manage the registry of stamped outputs: import, prune, delete, info.
    Registry(registry::Args),
    /// Run the HTTP service: check and stamp API, credential lookup, verification page.
    Serve(serve::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(generated::CompletionsArgs),
    /// Print the man page (or write every command's page with --out DIR).
    Man(generated::ManArgs),
    /// Print the JSON Schema of the check report or of the stamp record.
    Schema(generated::SchemaArgs),
}

/// How `check` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// An aligned table for people.
    #[default]
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values (RFC 4180), one row per file, for spreadsheets.
    Csv,
}

/// Options every subcommand shares.
pub struct Global {
    pub config: config::Config,
    pub quiet: bool,
    pub jobs: Option<usize>,
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = Global {
        config: config::Config::load(cli.config.as_deref())?,
        quiet: cli.quiet,
        jobs: cli.jobs,
    };
    let outcome = match cli.command {
        Command::Keygen(args) => keygen::run(args)?,
        Command::Stamp(args) => stamp::run(args, &global)?,
        Command::Check(args) => check::run(args, &global)?,
        Command::Demo(args) => demo::run(args, &global)?,
        Command::Registry(args) => registry::run(args, &global)?,
        Command::Serve(args) => serve::run(args, &global)?,
        Command::Completions(args) => generated::completions(args)?,
        Command::Man(args) => generated::man(args)?,
        Command::Schema(args) => generated::schema(args)?,
    };
    Ok(ExitCode::from(outcome.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_is_the_worst_outcome_of_a_run() {
        assert_eq!(Outcome::Done.code(), 0);
        assert_eq!(Outcome::FilesFailed.code(), 1);
        assert_eq!(EXIT_FATAL, 2);
        assert_eq!(Outcome::failed_if(false), Outcome::Done);
        assert_eq!(Outcome::Done.and(Outcome::Done), Outcome::Done);
        assert_eq!(
            Outcome::Done.and(Outcome::FilesFailed),
            Outcome::FilesFailed
        );
        assert_eq!(
            Outcome::FilesFailed.and(Outcome::Done),
            Outcome::FilesFailed
        );
    }
}
