//! `synthmark completions`, `synthmark man` and `synthmark schema`: what other programs read
//! about synthmark — shell completions and man pages generated from the clap definitions, and
//! the JSON Schemas of the reports generated from the Rust types, so none of them can drift
//! from the code.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;
use synthmark::{Report, StampRecord};

use super::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write one page per command (synthmark.1, synthmark-stamp.1, …) into DIR instead of
    /// printing synthmark.1 on standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which report.
    #[arg(value_enum)]
    report: SchemaKind,
}

/// The machine-readable reports that have a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    /// One report of `check --format json|ndjson` and `/v1/check`.
    Check,
    /// One record of `stamp --format json|ndjson`.
    Stamp,
}

/// Prints the completion script, e.g. `synthmark completions bash > /etc/bash_completion.d/synthmark`.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    // Generated into memory first: clap_complete panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "synthmark", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    Ok(Outcome::Done)
}

/// Prints the man page, or writes every command's page into a directory.
pub fn man(args: ManArgs) -> anyhow::Result<Outcome> {
    let command = Cli::command();
    match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush().context("cannot write to standard output")?;
        }
    }
    Ok(Outcome::Done)
}

/// Prints the JSON Schema (draft 2020-12) of one report.
pub fn schema(args: SchemaArgs) -> anyhow::Result<Outcome> {
    let schema = match args.report {
        SchemaKind::Check => Report::json_schema(),
        SchemaKind::Stamp => StampRecord::json_schema(),
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &schema)?;
    writeln!(out)?;
    out.flush().context("cannot write to standard output")?;
    Ok(Outcome::Done)
}
