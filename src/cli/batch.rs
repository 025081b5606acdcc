//! Running a batch: a worker pool over all cores, a progress bar on a terminal, and messages that
//! do not tear the bar.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
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
        self.bar.suspend(|| print_line(line))
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Writes one line to standard output, whole under its lock, and flushes it. Unlike
/// `println!`, a closed pipe is an error to handle, not a panic.
pub fn print_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
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
    run_streaming(
        items,
        jobs,
        progress,
        work,
        |_| None,
        OnClosedOutput::Finish,
    )
}

/// [`run`], printing the line `render` makes of each result (`None`: nothing for that one) on
/// standard output while the batch runs: what streams NDJSON. Lines come in input order, each
/// as soon as its item and every item before it are done, so the output is the same whatever
/// the scheduling, and a crash loses only the few results (about one per worker) waiting for a
/// slower one before them. A standard output that cannot be written stops the printing and is
/// an error at the end, except where a reader that went away (a closed pipe) is told apart by
/// `closed`: a check stops there (and returns the error), a stamp runs every item and returns
/// its results as if nothing happened.
pub fn run_streaming<T, R, F, D>(
    items: Vec<T>,
    jobs: Option<usize>,
    progress: &Progress,
    work: F,
    render: D,
    closed: OnClosedOutput,
) -> anyhow::Result<Vec<R>>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
    D: Fn(&R) -> Option<String> + Sync + Send,
{
    run_streaming_into(items, jobs, progress, work, render, closed, &|line| {
        progress.output(line)
    })
}

/// [`run_streaming`], writing the lines with `output` (standard output above the bar, or a
/// test's sink).
fn run_streaming_into<T, R, F, D>(
    items: Vec<T>,
    jobs: Option<usize>,
    progress: &Progress,
    work: F,
    render: D,
    closed: OnClosedOutput,
    output: &(dyn Fn(&str) -> std::io::Result<()> + Sync),
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
    // Set when the output is closed and the batch is to stop: items not started are skipped.
    let stopped = AtomicBool::new(false);
    // Workers take items one by one in input order (`par_bridge`), not in contiguous blocks
    // (an indexed parallel iterator), so the items done out of order are at most about one per
    // worker: that bounds what waits to be printed.
    let mut results: Vec<(usize, R)> = pool.install(|| {
        items
            .into_iter()
            .enumerate()
            .par_bridge()
            .filter_map(|(index, item)| {
                if stopped.load(Ordering::Relaxed) {
                    return None;
                }
                let result = work(item);
                let line = render(&result);
                let mut order = order.lock().unwrap_or_else(|e| e.into_inner());
                order.done(index, line, output);
                if order.broken.is_some() && closed == OnClosedOutput::Stop {
                    stopped.store(true, Ordering::Relaxed);
                }
                drop(order);
                progress.bar.inc(1);
                Some((index, result))
            })
            .collect()
    });
    progress.finish();
    results.sort_unstable_by_key(|(index, _)| *index);
    let results: Vec<R> = results.into_iter().map(|(_, result)| result).collect();
    match order.into_inner().unwrap_or_else(|e| e.into_inner()).broken {
        // The reader went away, and the work went on for its own sake: nothing failed.
        Some(err)
            if closed == OnClosedOutput::Finish && err.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(results)
        }
        Some(err) => Err(err).context("cannot write the results to standard output"),
        None => Ok(results),
    }
}

/// What a streaming batch does once its standard output is closed (`… | head`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClosedOutput {
    /// Runs every item anyway and returns the results: the work is the point, the output only
    /// reports it (stamping).
    Finish,
    /// Starts no further item: the output was the point, and no one reads it (checking).
    Stop,
}

/// The lines of finished items waiting for an earlier item, and the next index to print.
#[derive(Default)]
struct InOrder {
    next: usize,
    waiting: BTreeMap<usize, Option<String>>,
    broken: Option<std::io::Error>,
}

impl InOrder {
    fn done(
        &mut self,
        index: usize,
        line: Option<String>,
        output: &dyn Fn(&str) -> std::io::Result<()>,
    ) {
        self.waiting.insert(index, line);
        while let Some(line) = self.waiting.remove(&self.next) {
            self.next += 1;
            if let (Some(line), None) = (line, &self.broken) {
                if let Err(err) = output(&line) {
                    self.broken = Some(err);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Runs 200 items on two workers into an output that closes after its first line; returns
    /// the items worked on, the lines written and the batch's result.
    fn closing_after_one_line(
        closed: OnClosedOutput,
    ) -> (usize, Vec<String>, anyhow::Result<Vec<usize>>) {
        let worked = AtomicUsize::new(0);
        let written = Mutex::new(Vec::new());
        let output = |line: &str| {
            let mut written = written.lock().unwrap();
            if written.is_empty() {
                written.push(line.to_string());
                Ok(())
            } else {
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
        };
        let result = run_streaming_into(
            (0..200).collect(),
            Some(2),
            &Progress::new(200, true, "testing"),
            |item: usize| {
                worked.fetch_add(1, Ordering::Relaxed);
                item
            },
            |item| Some(item.to_string()),
            closed,
            &output,
        );
        (worked.into_inner(), written.into_inner().unwrap(), result)
    }

    #[test]
    fn a_check_stops_soon_after_its_output_closes() {
        let (worked, written, result) = closing_after_one_line(OnClosedOutput::Stop);
        assert_eq!(written, ["0"]);
        // The item whose line failed, and at most one in flight on each worker.
        assert!(
            worked <= 4,
            "{worked} items worked on after the output closed"
        );
        let err = result.expect_err("a closed output is reported");
        assert!(err.chain().any(|cause| cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)));
    }

    #[test]
    fn a_stamp_finishes_every_item_after_its_output_closes() {
        let (worked, written, result) = closing_after_one_line(OnClosedOutput::Finish);
        assert_eq!(written, ["0"]);
        assert_eq!(worked, 200);
        assert_eq!(result.expect("a closed pipe is not a failure").len(), 200);
    }

    #[test]
    fn lines_come_in_input_order() {
        let written = Mutex::new(Vec::new());
        let results = run_streaming_into(
            (0..100u64).collect(),
            Some(2),
            &Progress::new(100, true, "testing"),
            |item| {
                // Uneven work, so items finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((item * 37) % 300));
                item
            },
            |item| (item % 3 != 0).then(|| item.to_string()),
            OnClosedOutput::Stop,
            &|line| {
                written.lock().unwrap().push(line.to_string());
                Ok(())
            },
        )
        .expect("batch");
        assert_eq!(results, (0..100).collect::<Vec<_>>());
        let expected: Vec<String> = (0..100)
            .filter(|i| i % 3 != 0)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(written.into_inner().unwrap(), expected);
    }
}
