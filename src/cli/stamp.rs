//! `synthmark stamp`: label images as AI-generated, one file, a folder, or standard input.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use synthmark::{
    Corner, Existing, Involvement, LabelKind, Limits, Quality, Reencoding, StampOptions,
    StampRecord, StampStatus, Stamper, VisibleLabel, WatermarkOptions,
};

use super::advice;
use super::batch::{self, print_line, OnClosedOutput, Progress};
use super::flags::SigningArgs;
use super::inputs::{self, FilesFrom, Input};
use super::registry::{self, RegistryArgs};
use super::signing::{self, IdentityArgs};
use super::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Images or directories (searched recursively); `-` reads one image from standard input and
    /// writes the stamped image to standard output.
    #[arg(required_unless_present = "files_from", value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    files_from: FilesFrom,
    /// How each file's result is printed on standard output: a table, one JSON array at the end,
    /// or one JSON object per line as each file finishes, in input order (path, output, asset_id, sha256,
    /// format, timestamped, warnings; schema: `synthmark schema stamp`). With `-` the image goes
    /// to standard output, so json and ndjson go to standard error.
    #[arg(long, value_enum, default_value_t = StampFormat::Table)]
    format: StampFormat,
    /// Write stamped images into DIR, mirroring the input directory structure.
    #[arg(short, long, value_name = "DIR", conflicts_with = "in_place")]
    out: Option<PathBuf>,
    /// Replace each input with its stamped version (atomically).
    #[arg(long)]
    in_place: bool,
    /// Replace outputs that already exist in the --out directory; with --in-place, stamp again
    /// inputs that already carry this signer's intact credentials.
    #[arg(short, long)]
    force: bool,
    #[command(flatten)]
    signing: SigningArgs,
    /// The inputs are existing images edited by AI (inpainting, outpainting): keep each input as
    /// the parent ingredient and declare compositeWithTrainedAlgorithmicMedia.
    #[arg(long)]
    edited: bool,
    /// Embed a 512-pixel JPEG thumbnail in the manifest (slower, larger files).
    #[arg(long)]
    thumbnail: bool,
    /// Skip the imperceptible watermark: the pixels stay byte-identical and only metadata is
    /// added (the label is then lost when a platform strips metadata).
    #[arg(long)]
    no_watermark: bool,
    /// JPEG/WebP quality (1-100) for re-encoding images whose pixels change (watermark or
    /// visible label). Default: the input JPEG's own quality (estimated), 90 for lossy WebP; PNG
    /// and lossless WebP stay lossless (`[stamp] quality`).
    #[arg(long, value_name = "N", value_parser = parse_quality)]
    quality: Option<Quality>,
    /// Burn a visible "AI" badge into every image (EU AI Act Art. 50(4) for deepfakes), before
    /// the watermark and the signature; the manifest records it.
    #[arg(long, value_name = "ai-generated|ai-modified", value_parser = parse_label_kind)]
    visible_label: Option<LabelKind>,
    /// Where the visible label goes.
    #[arg(long, value_name = "top-right|top-left|bottom-right|bottom-left", value_parser = parse_corner, requires = "visible_label", default_value = "top-right")]
    corner: Corner,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// How `stamp` prints its per-file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StampFormat {
    /// One row per file for people: status, asset id, format, input and output.
    Table,
    /// One JSON array of records, printed when the batch ends.
    Json,
    /// One JSON record per line, printed as each file finishes.
    Ndjson,
}

fn parse_label_kind(text: &str) -> Result<LabelKind, String> {
    LabelKind::parse(text).ok_or_else(|| format!("`{text}`: use ai-generated or ai-modified"))
}

fn parse_quality(text: &str) -> Result<Quality, String> {
    let number: u8 = text
        .parse()
        .map_err(|_| format!("{text} is not a number from 1 to 100"))?;
    Quality::new(number).map_err(|e| e.to_string())
}

fn parse_corner(text: &str) -> Result<Corner, String> {
    Corner::parse(text)
        .ok_or_else(|| format!("`{text}`: use top-right, top-left, bottom-right or bottom-left"))
}

/// One file to stamp and where its output goes.
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

/// What a batch did.
#[derive(Default)]
pub struct Tally {
    pub stamped: usize,
    /// In-place inputs left alone: they already carry intact credentials from this signer.
    pub already_stamped: usize,
    /// Stamped without the timestamp that was asked for (`--tsa-optional` and a failing TSA).
    pub without_timestamp: usize,
    /// Stamped files whose XMP could not carry the source type (AVIF, HEIC).
    pub without_xmp: usize,
    /// Stamped files that did not get the watermark that was asked for (too small, GIF, …).
    pub without_watermark: usize,
    pub failures: Vec<(PathBuf, String)>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<Outcome> {
    let config = &global.config.stamp;
    let signing = args.signing.resolve(config, Limits::default())?;
    let options = StampOptions {
        involvement: if args.edited {
            Involvement::Edited
        } else {
            Involvement::Generated
        },
        generator: signing.generator,
        no_train: signing.no_train,
        thumbnail: args.thumbnail,
        watermark: (!args.no_watermark && config.watermark.unwrap_or(true))
            .then(WatermarkOptions::default),
        visible_label: args.visible_label.map(|kind| VisibleLabel {
            kind,
            corner: args.corner,
        }),
        reencoding: Reencoding {
            quality: args.quality.or(config.quality()?),
        },
    };
    let inputs = args.files_from.inputs(&args.inputs)?;
    let stdin_mode = inputs.iter().any(|p| p.as_os_str() == "-");
    if stdin_mode && inputs.len() > 1 {
        bail!("`-` (standard input) cannot be mixed with other inputs");
    }
    if !stdin_mode && args.out.is_none() && !args.in_place {
        bail!("say where the stamped images go\nhint: pass --out DIR to write copies, or --in-place to replace the inputs");
    }
    let identity = signing::resolve(&args.identity, config, |w| eprintln!("{w}"))?;
    let mut stamper = Stamper::with_config(&identity, signing.config, options)?;
    if let Some(registry) = registry::for_stamping(&args.registry, &global.config.registry)? {
        if !global.quiet {
            eprintln!(
                "logging every output in the registry {}",
                registry.location()
            );
        }
        stamper = stamper.with_registry(registry);
    }

    if stdin_mode {
        return stamp_stdin(&stamper, args.format);
    }
    let (found, unlisted) = inputs::discover(&inputs, args.out.as_deref());
    let mut failures: Vec<(PathBuf, String)> =
        unlisted.into_iter().map(|u| (u.path, u.reason)).collect();
    let (jobs, refused) = plan(found, args.out.as_deref());
    failures.extend(refused);
    remove_stale_files(&stamper, &jobs, global.quiet);
    let mode = match (args.in_place, args.force) {
        (true, false) => Mode::InPlaceSkippingOwn,
        (true, true) | (false, true) => Mode::Replace,
        (false, false) => Mode::Refuse,
    };
    let printer = RecordPrinter::new(args.format);
    // Inputs refused before the batch are records too, printed first.
    let early: Vec<StampRecord> = failures
        .iter()
        .map(|(path, reason)| StampRecord::failed(path.display().to_string(), reason))
        .collect();
    // A standard output closed by its reader (`| head`) must not stop the stamping: the batch
    // still runs, and the summary on standard error says what happened.
    let mut unprinted = printer.start(!early.is_empty() || !jobs.is_empty()).err();
    for line in early.iter().filter_map(|record| printer.line(record)) {
        if unprinted.is_none() {
            unprinted = print_line(&line).err();
        }
    }
    let (mut outcome, records) = stamp_batch(&stamper, jobs, mode, global, Some(&printer))?;
    printer.finish(early.iter().chain(&records))?;
    failures.append(&mut outcome.failures);
    outcome.failures = failures;
    summarise(&outcome, args.out.as_deref(), global.quiet);
    // A reader that went away changes nothing (the outcome still says whether files failed);
    // any other write error is one.
    if let Some(err) = unprinted.filter(|e| e.kind() != std::io::ErrorKind::BrokenPipe) {
        return Err(err).context("cannot write the results to standard output");
    }
    Ok(Outcome::failed_if(!outcome.failures.is_empty()))
}

/// Prints stamp records in the chosen format: table rows and NDJSON lines as each file
/// finishes (in input order), a JSON array at the end.
pub struct RecordPrinter {
    format: StampFormat,
}

impl RecordPrinter {
    pub fn new(format: StampFormat) -> Self {
        RecordPrinter { format }
    }

    /// The table's header, when there is anything to print.
    fn start(&self, any: bool) -> std::io::Result<()> {
        if any && self.format == StampFormat::Table {
            print_line(&format!(
                "{:<8}  {:<10}  {:<7}  INPUT -> OUTPUT (or why not)",
                "STATUS", "ASSET ID", "FORMAT"
            ))?;
        }
        Ok(())
    }

    /// The line printed for `record` as soon as it is done (table and NDJSON).
    fn line(&self, record: &StampRecord) -> Option<String> {
        match self.format {
            StampFormat::Json => None,
            StampFormat::Ndjson => {
                Some(serde_json::to_string(record).expect("a record serialises"))
            }
            StampFormat::Table => Some(table_row(record)),
        }
    }

    /// Prints the JSON array (json).
    fn finish<'a>(&self, records: impl Iterator<Item = &'a StampRecord>) -> anyhow::Result<()> {
        if self.format == StampFormat::Json {
            let records: Vec<&StampRecord> = records.collect();
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &records)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
                .and_then(|()| out.flush())
                .context("cannot write the results to standard output")?;
        }
        Ok(())
    }
}

/// One table row: status, asset id, format, then the input and where it went (or why not).
fn table_row(record: &StampRecord) -> String {
    let status = match record.status {
        StampStatus::Stamped => "stamped",
        StampStatus::Skipped => "skipped",
        StampStatus::Failed => "FAILED",
    };
    let what = match (&record.output, &record.reason) {
        (Some(output), _) => format!("{} -> {output}", record.path),
        (None, Some(reason)) => format!("{}: {reason}", record.path),
        (None, None) => record.path.clone(),
    };
    let format = record
        .format
        .map_or_else(|| "-".to_string(), |f| f.to_string());
    format!(
        "{:<8}  {:<10}  {:<7}  {what}",
        status,
        record.asset_id.as_deref().unwrap_or("-"),
        format,
    )
}

/// Pairs every input with its output; refuses pairs that would overwrite an input or collide.
pub fn plan(found: Vec<Input>, out: Option<&Path>) -> (Vec<Job>, Vec<(PathBuf, String)>) {
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    let mut claimed: HashMap<PathBuf, PathBuf> = HashMap::new();
    for input in found {
        let output = match out {
            Some(dir) => dir.join(&input.relative),
            None => input.path.clone(),
        };
        if out.is_some() && same_file(&input.path, &output) {
            refused.push((
                input.path,
                "the output would overwrite the input; use --in-place to replace inputs".into(),
            ));
            continue;
        }
        if let Some(first) = claimed.get(&output) {
            refused.push((
                input.path,
                format!(
                    "{} is already the output of {}; stamp them into different --out directories",
                    output.display(),
                    first.display()
                ),
            ));
            continue;
        }
        claimed.insert(output.clone(), input.path.clone());
        jobs.push(Job {
            input: input.path,
            output,
        });
    }
    (jobs, refused)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What to do with existing outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to replace an existing output.
    Refuse,
    /// Replace existing outputs.
    Replace,
    /// Replace each input, but leave alone inputs that already carry this signer's intact
    /// credentials (a batch re-run after a crash).
    InPlaceSkippingOwn,
}

/// Removes what a crashed or killed earlier run left in the output directories: staged
/// temporary files and the registry rows logged for them.
fn remove_stale_files(stamper: &Stamper, jobs: &[Job], quiet: bool) {
    let mut dirs: Vec<&Path> = jobs
        .iter()
        .map(|job| match job.output.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let removed = stamper.remove_stale_files(dir);
        if removed.is_empty() || quiet {
            continue;
        }
        let rows: u64 = removed.iter().map(|f| f.registry_rows).sum();
        eprintln!(
            "removed {} temporary files left in {} by an interrupted run{}",
            removed.len(),
            dir.display(),
            if rows > 0 {
                format!(" (and the {rows} registry entries logged for them)")
            } else {
                String::new()
            }
        );
    }
}

/// Stamps every job in parallel, reporting warnings and failures as they happen (and every
/// record through `printer`, when given). Returns the tally and the records in input order.
pub fn stamp_batch(
    stamper: &Stamper,
    jobs: Vec<Job>,
    mode: Mode,
    global: &Global,
    printer: Option<&RecordPrinter>,
) -> anyhow::Result<(Tally, Vec<StampRecord>)> {
    let existing = match mode {
        Mode::Refuse => Existing::Refuse,
        Mode::Replace | Mode::InPlaceSkippingOwn => Existing::Replace,
    };
    let progress = Progress::new(jobs.len(), global.quiet, "stamping");
    // A TSA round trip is waiting, not computing: more workers than cores keep the CPU busy.
    let threads = global.jobs.or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        stamper.config().tsa.as_ref().map(|_| cores * 4)
    });
    let work = |job: Job| {
        let path = job.input.display().to_string();
        let result = create_parent(&job.output).and_then(|()| {
            let bytes = synthmark::read_image_file(&job.input)
                .map_err(|e| format!("cannot read the file: {}", inputs::describe_io(&e)))?;
            if mode == Mode::InPlaceSkippingOwn && stamper.carries_own_credentials(&bytes) {
                return Ok(StampRecord::skipped(
                    path.clone(),
                    "already carries intact credentials from this signer (--force stamps it again)",
                ));
            }
            let title = job
                .input
                .file_name()
                .map_or_else(|| "image".into(), |n| n.to_string_lossy());
            let stamped = stamper
                .stamp_into(&bytes, &title, &job.output, existing)
                .map_err(|e| advice::stamp_error(&e))?;
            for warning in &stamped.warnings {
                progress.message(&format!("{}: warning: {warning}", job.input.display()));
            }
            Ok(StampRecord::stamped(
                path.clone(),
                Some(job.output.display().to_string()),
                &stamped,
            ))
        });
        result.unwrap_or_else(|reason| {
            progress.message(&format!("{path}: {reason}"));
            StampRecord::failed(path, reason)
        })
    };
    let print = |record: &StampRecord| printer.and_then(|p| p.line(record));
    let records = batch::run_streaming(
        jobs,
        threads,
        &progress,
        work,
        print,
        OnClosedOutput::Finish,
    )?;
    let asked_for_timestamps = stamper.config().tsa.is_some();
    let asked_for_watermarks = stamper.options().watermark.is_some();
    let mut outcome = Tally::default();
    for record in &records {
        match record.status {
            StampStatus::Skipped => outcome.already_stamped += 1,
            StampStatus::Stamped => {
                outcome.stamped += 1;
                outcome.without_xmp += usize::from(!record.xmp_written);
                outcome.without_timestamp +=
                    usize::from(asked_for_timestamps && !record.timestamped);
                outcome.without_watermark +=
                    usize::from(asked_for_watermarks && !record.watermarked);
            }
            StampStatus::Failed => outcome.failures.push((
                PathBuf::from(&record.path),
                record.reason.clone().unwrap_or_default(),
            )),
        }
    }
    Ok((outcome, records))
}

fn create_parent(output: &Path) -> Result<(), String> {
    match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create {}: {}",
                dir.display(),
                inputs::describe_io(&e)
            )
        }),
        _ => Ok(()),
    }
}

fn stamp_stdin(stamper: &Stamper, format: StampFormat) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        bail!("refusing to write image data to a terminal\nhint: redirect standard output to a file, e.g. `synthmark stamp - < in.png > out.png`");
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    // Standard output carries the image: the record goes to standard error.
    let record_to_stderr = |record: &StampRecord| -> anyhow::Result<()> {
        match format {
            StampFormat::Table => {}
            StampFormat::Json => eprintln!("{}", serde_json::to_string_pretty(&[record])?),
            StampFormat::Ndjson => eprintln!("{}", serde_json::to_string(record)?),
        }
        Ok(())
    };
    match stamper.stamp_bytes(&bytes, "image") {
        Ok(stamped) => {
            for warning in &stamped.warnings {
                eprintln!("-: warning: {warning}");
            }
            if !stamped.xmp_written {
                eprintln!("-: {}", xmp_note(1));
            }
            stdout.write_all(&stamped.bytes)?;
            stdout.flush()?;
            record_to_stderr(&StampRecord::stamped("-", Some("-".into()), &stamped))?;
            Ok(Outcome::Done)
        }
        Err(err) => {
            let reason = advice::stamp_error(&err);
            eprintln!("-: {reason}");
            record_to_stderr(&StampRecord::failed("-", reason))?;
            Ok(Outcome::FilesFailed)
        }
    }
}

fn summarise(outcome: &Tally, out: Option<&Path>, quiet: bool) {
    let failures = &outcome.failures;
    if quiet
        && failures.is_empty()
        && outcome.without_timestamp == 0
        && outcome.without_watermark == 0
    {
        return;
    }
    let place = out
        .map(|dir| format!(" into {}", dir.display()))
        .unwrap_or_else(|| " in place".to_string());
    let skipped = match outcome.already_stamped {
        0 => String::new(),
        n => format!(", {n} skipped (already stamped by this signer; --force stamps them again)"),
    };
    eprintln!(
        "{} stamped{place}{skipped}, {} failed",
        outcome.stamped,
        failures.len()
    );
    if outcome.without_xmp > 0 {
        eprintln!("{}", xmp_note(outcome.without_xmp));
    }
    if outcome.without_timestamp > 0 {
        eprintln!(
            "WARNING: {} images were signed WITHOUT a timestamp because the TSA failed (--tsa-optional); their credentials will read expired when the signing certificate expires",
            outcome.without_timestamp
        );
    }
    if outcome.without_watermark > 0 {
        eprintln!(
            "WARNING: {} images were stamped WITHOUT the watermark layer (the reason is given per file above); their label will not survive metadata stripping",
            outcome.without_watermark
        );
    }
    for (path, reason) in failures {
        eprintln!("  {}: {reason}", path.display());
    }
    if outcome.stamped == 0 && outcome.already_stamped == 0 && failures.is_empty() {
        eprintln!("no images found in the inputs (hidden files and non-image files are skipped)");
    }
}

/// The one line that explains why some files carry the source type only in the manifest.
pub fn xmp_note(count: usize) -> String {
    format!("note: {count} AVIF/HEIC/JPEG XL files carry the AI source type in the C2PA manifest only (synthmark writes no XMP into them)")
}
