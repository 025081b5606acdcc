//! Running a batch: a worker pool over all cores, a progress bar on a terminal, and messages that
//! do not tear the bar.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};
use std::sync::Mutex;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// A progress bar on standard error, shown only on a terminal and never with `--quiet`.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(len: usize, quiet: bool, verb: &str) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() || len < 2 {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new(len as u64);
            let template =
                format!("{verb} {{bar:40}} {{pos}}/{{len}} [{{elapsed}} elapsed, {{eta}} left]");
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar
        };
        Progress { bar }
    }

    /// Prints one line to standard error above the bar.
    pub fn message(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Writes one result line to standard output (flushed, so a consumer sees it now and a
    /// crash loses nothing printed), above the bar. Lines from concurrent workers never
    /// interleave: each is written whole under the stdout lock.
    pub fn output(&self, line: &str) -> std::io::Result<()> {
        self.bar.suspend(|| {
            let mut out = std::io::stdout().lock();
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()
        })
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Applies `work` to every item on `jobs` threads (all cores when `None`), keeping input order.
pub fn run<T, R, F>(
    items: Vec<T>,
    jobs: Option<usize>,
    progress: &Progress,
    work: F,
) -> anyhow::Result<Vec<R>>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
{
    run_streaming(items, jobs, progress, work, |_| None)
}

/// [`run`], printing the line `render` makes of each result (`None`: nothing for that one) on
/// standard output while the batch runs: what streams NDJSON. Lines come in input order, each
/// as soon as its item and every item before it are done, so the output is the same whatever
/// the scheduling, and a crash loses only the few results (about one per worker) waiting for a
/// slower one before them. A standard output that cannot be written (a closed pipe) stops the
/// printing, and the batch, finished, then returns the error.
pub fn run_streaming<T, R, F, D>(
    items: Vec<T>,
    jobs: Option<usize>,
    progress: &Progress,
    work: F,
    render: D,
) -> anyhow::Result<Vec<R>>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
    D: Fn(&R) -> Option<String> + Sync + Send,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .thread_name(|i| format!("synthmark-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    let order = Mutex::new(InOrder::default());
    // Workers take items one by one in input order (`par_bridge`), not in contiguous blocks
    // (an indexed parallel iterator), so the items done out of order are at most about one per
    // worker: that bounds what waits to be printed.
    let mut results: Vec<(usize, R)> = pool.install(|| {
        items
            .into_iter()
            .enumerate()
            .par_bridge()
            .map(|(index, item)| {
                let result = work(item);
                let line = render(&result);
                order
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .done(index, line, progress);
                progress.bar.inc(1);
                (index, result)
            })
            .collect()
    });
    progress.finish();
    results.sort_unstable_by_key(|(index, _)| *index);
    let results: Vec<R> = results.into_iter().map(|(_, result)| result).collect();
    match order.into_inner().unwrap_or_else(|e| e.into_inner()).broken {
        Some(err) => Err(err).context("cannot write the results to standard output"),
        None => Ok(results),
    }
}

/// The lines of finished items waiting for an earlier item, and the next index to print.
#[derive(Default)]
struct InOrder {
    next: usize,
    waiting: BTreeMap<usize, Option<String>>,
    broken: Option<std::io::Error>,
}

impl InOrder {
    fn done(&mut self, index: usize, line: Option<String>, progress: &Progress) {
        self.waiting.insert(index, line);
        while let Some(line) = self.waiting.remove(&self.next) {
            self.next += 1;
            if let (Some(line), None) = (line, &self.broken) {
                if let Err(err) = progress.output(&line) {
                    self.broken = Some(err);
                }
            }
        }
    }
}
