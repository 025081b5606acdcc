//! `synthmark check`: is each image labelled as AI, is the label intact, is its signer trusted.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use synthmark::{CheckOptions, Checker, Report, Verdict};

use super::batch::{self, Progress};
use super::inputs;
use super::{Global, OutputFormat, EXIT_FILES_FAILED, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Images or directories (searched recursively); `-` reads one image from standard input.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Trust anchors: PEM files of root certificates whose signers are trusted (repeatable).
    #[arg(
        long,
        env = "SYNTHMARK_TRUST",
        value_name = "PEM",
        value_delimiter = ','
    )]
    trust: Vec<PathBuf>,
    /// Trust anchors for RFC 3161 time-stamping authorities: PEM files of root certificates
    /// (repeatable).
    #[arg(
        long,
        env = "SYNTHMARK_TRUST_TSA",
        value_name = "PEM",
        value_delimiter = ','
    )]
    trust_tsa: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Also write a self-contained HTML report (counts, a thumbnail and the evidence per file).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Do not decode pixels to look for watermarks: metadata and credentials only (much
    /// faster, but a stripped label then goes unnoticed).
    #[arg(long)]
    no_watermark: bool,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let mut options = CheckOptions {
        watermark: !args.no_watermark,
        ..CheckOptions::default()
    };
    for path in args.trust.iter().chain(&global.config.check.trust) {
        options.add_trust_anchor_file(path)?;
    }
    for path in args.trust_tsa.iter().chain(&global.config.check.trust_tsa) {
        options.add_tsa_trust_anchor_file(path)?;
    }
    let checker = Checker::new(&options)?;

    let stdin_mode = args.inputs.iter().any(|p| p.as_os_str() == "-");
    let reports = if stdin_mode {
        if args.inputs.len() > 1 {
            bail!("`-` (standard input) cannot be mixed with other inputs");
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        vec![checker.check_named("-", &bytes)]
    } else {
        check_paths(&checker, &args.inputs, global)?
    };
    print_reports(&reports, args.format)?;
    if let Some(path) = &args.report {
        let title = args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let html = super::html_report::render(&reports, &title);
        synthmark::write_atomically(path, html.as_bytes(), None, synthmark::Existing::Replace)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        if !global.quiet {
            eprintln!("report written to {}", path.display());
        }
    }
    summarise(&reports, global.quiet);
    Ok(exit_code(&reports))
}

/// Checks every image found in `paths`, in parallel, in a stable order.
pub fn check_paths(
    checker: &Checker,
    paths: &[PathBuf],
    global: &Global,
) -> anyhow::Result<Vec<Report>> {
    let (found, unlisted) = inputs::discover(paths, None);
    let progress = Progress::new(found.len(), global.quiet, "checking");
    let mut reports: Vec<Report> = unlisted
        .into_iter()
        .map(|u| Report::error(Some(u.path.display().to_string()), u.reason))
        .collect();
    reports.extend(batch::run(found, global.jobs, &progress, |input| {
        checker.check_file(&input.path)
    })?);
    Ok(reports)
}

pub fn exit_code(reports: &[Report]) -> u8 {
    if reports.iter().any(|r| r.verdict.is_failure()) {
        EXIT_FILES_FAILED
    } else {
        EXIT_OK
    }
}

pub fn print_reports(reports: &[Report], format: OutputFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, reports)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for report in reports {
                serde_json::to_writer(&mut out, report)?;
                writeln!(out)?;
            }
        }
        OutputFormat::Table => write_table(&mut out, reports)?,
        OutputFormat::Csv => write_csv(&mut out, reports)?,
    }
    out.flush()?;
    Ok(())
}

fn write_table(out: &mut impl Write, reports: &[Report]) -> std::io::Result<()> {
    let path_width = reports
        .iter()
        .map(|r| r.path.as_deref().unwrap_or("-").chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    writeln!(
        out,
        "{:<13}  {:<9}  {:<path_width$}  WHY",
        "VERDICT", "TRUST", "PATH"
    )?;
    for report in reports {
        let trust = report.trust.map(|t| t.as_str()).unwrap_or("-");
        let path = report.path.as_deref().unwrap_or("-");
        writeln!(
            out,
            "{:<13}  {:<9}  {:<path_width$}  {}",
            report.verdict.as_str(),
            trust,
            path,
            report.explanation
        )?;
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, reports: &[Report]) -> std::io::Result<()> {
    writeln!(
        out,
        "path,verdict,trust,rests_on,format,sha256,signer,timestamp,explanation,evidence"
    )?;
    for report in reports {
        let text = |value: Option<String>| value.unwrap_or_default();
        let row = [
            text(report.path.clone()),
            report.verdict.to_string(),
            text(report.trust.map(|t| t.to_string())),
            report
                .rests_on
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            text(report.format.map(|f| f.to_string())),
            text(report.sha256.clone()),
            text(report.signer.as_ref().and_then(|s| s.common_name.clone())),
            text(report.timestamp.as_ref().and_then(|t| t.time.clone())),
            report.explanation.clone(),
            report
                .evidence
                .iter()
                .map(|e| format!("{}: {}", e.layer.as_str(), e.detail))
                .collect::<Vec<_>>()
                .join(" | "),
        ];
        let cells: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

/// A CSV cell, quoted when it holds a comma, a quote or a line break.
fn csv_cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn summarise(reports: &[Report], quiet: bool) {
    if quiet {
        return;
    }
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for report in reports {
        *counts.entry(report.verdict).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    if reports.is_empty() {
        eprintln!("no images found in the inputs (hidden files and non-image files are skipped)");
    } else {
        eprintln!("{} checked: {}", reports.len(), parts.join(", "));
    }
}
