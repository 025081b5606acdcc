//! `synthmark check`: is each image labelled as AI, is the label intact, is its signer trusted.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use synthmark::{CheckOptions, Checker, Report, Verdict};

use super::batch::{self, OnClosedOutput, Progress};
use super::flags::TrustArgs;
use super::inputs::{self, FilesFrom};
use super::registry::{self, RegistryArgs};
use super::{Global, Outcome, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Images or directories (searched recursively); `-` reads one image from standard input.
    #[arg(required_unless_present = "files_from", value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    files_from: FilesFrom,
    #[command(flatten)]
    trust: TrustArgs,
    /// Output format. ndjson prints each file's report as soon as it and those before it are
    /// checked (and checking stops once the reader closes the pipe, as with `| head`); table,
    /// json and csv print when the batch ends. Always in input order. Schema:
    /// `synthmark schema check`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Also exit with code 1 when any file gets one of these verdicts (comma-separated), besides
    /// tampered and unreadable files, which always do: `--fail-on unlabelled-ai` for an upload
    /// gate that refuses AI images without a label.
    #[arg(long, value_name = "VERDICT", value_delimiter = ',', value_parser = parse_verdict)]
    fail_on: Vec<Verdict>,
    /// Also write a self-contained HTML report (counts, a thumbnail and the evidence per file).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Decode no pixels: metadata and credentials only (much faster, but a stripped label then
    /// goes unnoticed: no watermark, stealth-metadata or fingerprint layer runs).
    #[arg(long, visible_alias = "no-watermark")]
    no_pixels: bool,
    /// For images found in the registry, write the image (unchanged) and its recovered manifest
    /// store as a sidecar `.c2pa` file into the --out directory. Nothing is re-signed.
    #[arg(long, requires = "out")]
    recover: bool,
    /// Where --recover writes, mirroring the input directory structure.
    #[arg(short, long, value_name = "DIR", requires = "recover")]
    out: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

fn parse_verdict(name: &str) -> Result<Verdict, String> {
    Verdict::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        format!("`{name}` is not a verdict; use {}", names.join(", "))
    })
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let inputs = args.files_from.inputs(&args.inputs)?;
    let options = args.trust.check_options(
        &global.config.check,
        CheckOptions {
            pixels: !args.no_pixels,
            ..CheckOptions::default()
        },
    )?;
    let checker = registry::attach_for_checking(
        Checker::new(&options)?,
        &args.registry,
        &global.config.registry,
        global.quiet,
    )?;

    let stdin_mode = inputs.iter().any(|p| p.as_os_str() == "-");
    let mut recovery_failed = false;
    // NDJSON is printed as each file finishes; the other formats once the batch is done.
    let stream = args.format == OutputFormat::Ndjson;
    let reports = if stdin_mode {
        if inputs.len() > 1 {
            bail!("`-` (standard input) cannot be mixed with other inputs");
        }
        if args.recover {
            bail!("--recover writes files named after the inputs; pass files, not `-`");
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        let report = checker.check_named("-", &bytes);
        if stream {
            print_reports(std::slice::from_ref(&report), args.format)?;
        }
        vec![report]
    } else if let Some(out) = args.out.as_deref().filter(|_| args.recover) {
        let (reports, failed) = check_and_recover(&checker, &inputs, out, global, stream)?;
        recovery_failed = failed;
        reports
    } else {
        check_paths_streaming(&checker, &inputs, global, stream)?
    };
    if !stream {
        print_reports(&reports, args.format)?;
    }
    if let Some(path) = &args.report {
        let title = inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let html = super::html_report::render(&reports, &title, checker.limits());
        synthmark::write_atomically(path, html.as_bytes(), None, synthmark::Existing::Replace)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        if !global.quiet {
            eprintln!("report written to {}", path.display());
        }
    }
    summarise(&reports, global.quiet);
    let gated = Outcome::failed_if(reports.iter().any(|r| args.fail_on.contains(&r.verdict)));
    Ok(Outcome::failed_if(recovery_failed)
        .and(outcome(&reports))
        .and(gated))
}

/// A report as one NDJSON line.
fn ndjson_line(report: &Report) -> String {
    serde_json::to_string(report).expect("a report serialises")
}

/// Checks like [`check_paths`], and writes every image the registry recognised, with its
/// recovered manifest store as a sidecar, below `out`. Returns the reports and whether a
/// recovery could not be written.
fn check_and_recover(
    checker: &Checker,
    paths: &[PathBuf],
    out: &Path,
    global: &Global,
    stream: bool,
) -> anyhow::Result<(Vec<Report>, bool)> {
    let (found, unlisted) = inputs::discover(paths, Some(out));
    let progress = Progress::new(found.len(), global.quiet, "checking");
    let mut reports = unlisted_reports(unlisted, stream)?;
    let mut failed = false;
    let print = |(report, _): &(Report, _)| stream.then(|| ndjson_line(report));
    let results = batch::run_streaming(
        found,
        global.jobs,
        &progress,
        |input| {
            let bytes = match synthmark::read_image_file(&input.path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    let shown = input.path.display().to_string();
                    return (
                        Report::error(Some(shown), format!("cannot read the file: {err}")),
                        None,
                    );
                }
            };
            let report = checker.check_named(&input.path.display().to_string(), &bytes);
            let written = report.recovered.as_ref().map(|recovered| {
                write_recovered(out, &input.relative, &bytes, &recovered.manifest_store)
            });
            (report, written)
        },
        print,
        // Recovery writes files: every recognised image is recovered, read or not.
        OnClosedOutput::Finish,
    )?;
    for (report, written) in results {
        match written {
            Some(Ok(sidecar)) if !global.quiet => {
                eprintln!(
                    "recovered: {} (credentials in {})",
                    report.path.as_deref().unwrap_or("-"),
                    sidecar.display()
                );
            }
            Some(Err(reason)) => {
                failed = true;
                eprintln!(
                    "error: {}: credentials recovered but not written: {reason}",
                    report.path.as_deref().unwrap_or("-")
                );
            }
            None if !global.quiet => {
                // In the registry, but several entries fit: writing one of them could hand
                // back another image's credentials.
                if let Some(ambiguous) = report
                    .evidence
                    .iter()
                    .find(|e| e.code.as_deref() == Some(synthmark::REGISTRY_AMBIGUOUS))
                {
                    eprintln!(
                        "not recovered: {}: {}",
                        report.path.as_deref().unwrap_or("-"),
                        ambiguous.detail
                    );
                }
            }
            _ => {}
        }
        reports.push(report);
    }
    Ok((reports, failed))
}

/// Writes `out/relative` (the image, unchanged) and `out/relative` with the extension `.c2pa`
/// (the manifest store), refusing to replace existing files. Returns the sidecar's path.
fn write_recovered(
    out: &Path,
    relative: &Path,
    image: &[u8],
    manifest_store: &[u8],
) -> Result<PathBuf, String> {
    let image_path = out.join(relative);
    let sidecar = image_path.with_extension("c2pa");
    if let Some(dir) = image_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for (path, bytes) in [(&image_path, image), (&sidecar, manifest_store)] {
        synthmark::write_atomically(path, bytes, None, synthmark::Existing::Refuse).map_err(
            |e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    format!(
                        "{} already exists; remove it or choose another --out",
                        path.display()
                    )
                } else {
                    format!("cannot write {}: {e}", path.display())
                }
            },
        )?;
    }
    Ok(sidecar)
}

/// Checks every image found in `paths`, in parallel, in a stable order.
pub fn check_paths(
    checker: &Checker,
    paths: &[PathBuf],
    global: &Global,
) -> anyhow::Result<Vec<Report>> {
    check_paths_streaming(checker, paths, global, false)
}

/// [`check_paths`], printing each report as an NDJSON line as soon as it is done when `stream`.
fn check_paths_streaming(
    checker: &Checker,
    paths: &[PathBuf],
    global: &Global,
    stream: bool,
) -> anyhow::Result<Vec<Report>> {
    let (found, unlisted) = inputs::discover(paths, None);
    let progress = Progress::new(found.len(), global.quiet, "checking");
    let mut reports = unlisted_reports(unlisted, stream)?;
    reports.extend(batch::run_streaming(
        found,
        global.jobs,
        &progress,
        |input| checker.check_file(&input.path),
        |report| stream.then(|| ndjson_line(report)),
        OnClosedOutput::Stop,
    )?);
    Ok(reports)
}

/// Error reports for the inputs that could not be listed, printed now when streaming.
fn unlisted_reports(unlisted: Vec<inputs::Unlisted>, stream: bool) -> anyhow::Result<Vec<Report>> {
    let reports: Vec<Report> = unlisted
        .into_iter()
        .map(|u| Report::error(Some(u.path.display().to_string()), u.reason))
        .collect();
    if stream {
        print_reports(&reports, OutputFormat::Ndjson)?;
    }
    Ok(reports)
}

/// A check fails when any file is tampered or could not be read.
pub fn outcome(reports: &[Report]) -> Outcome {
    Outcome::failed_if(reports.iter().any(|r| r.verdict.is_failure()))
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
