//! Running a batch: a worker pool over all cores, a progress bar on a terminal, and messages that
//! do not tear the bar.

use std::io::IsTerminal;

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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .thread_name(|i| format!("synthmark-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    let results = pool.install(|| {
        items
            .into_par_iter()
            .map(|item| {
                let result = work(item);
                progress.bar.inc(1);
                result
            })
            .collect()
    });
    progress.finish();
    Ok(results)
}
