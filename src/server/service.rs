//! What a running service is built from: its [`Settings`] (limits, workers, timeouts) and the
//! [`Service`] state every request shares (the checker, the stamper, the admissions, metrics).

use std::sync::Arc;
use std::time::Duration;

use crate::limits::Limits;
use crate::registry::Registry;
use crate::{Checker, Stamper};

use super::{admission, metrics};

/// Everything about how the service takes requests. Built once; [`Settings::default`] suits a
/// public endpoint on a small machine.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body. Default: 50 MiB.
    pub max_body_bytes: usize,
    /// The largest image decoded and the most metadata text read per request. Default:
    /// [`Limits::default`].
    pub limits: Limits,
    /// Time a request may take from its first byte to its answer (upload, queue, work).
    /// Default: 30 s.
    pub timeout: Duration,
    /// Time a request may wait for a worker or for memory before it is answered 503.
    /// Default: 2 s.
    pub queue_wait: Duration,
    /// Requests checked at once. Default: twice the cores, and no more than the check memory
    /// budget holds at 64 MiB each.
    pub workers: usize,
    /// Requests stamped at once (authorised requests only). Default: the number of cores.
    pub stamp_workers: usize,
    /// Memory that anonymous checks may hold at once: their bodies and their decoding
    /// estimates. Default: a quarter of the machine's (or the container's) memory, between
    /// 256 MiB and 1 GiB (1 GiB admits a 40 MP image).
    pub check_memory_bytes: u64,
    /// Memory that stamping may hold at once. Default: an eighth of the memory, between
    /// 192 MiB and 768 MiB (768 MiB admits a 40 MP 8-bit image).
    pub stamp_memory_bytes: u64,
    /// Time a client has to send a request's headers, and that an idle keep-alive connection
    /// stays open. Default: 10 s.
    pub header_timeout: Duration,
    /// Connections open at once; further ones are answered 503 and closed. Default: 512
    /// (never more than the process may open files, less a margin).
    pub max_connections: usize,
    /// After [`Settings::upload_grace`], an upload must keep arriving at this many bytes per
    /// second on average, or it is answered 408. Default: 16 KiB/s.
    pub min_upload_rate: u64,
    /// Time before the minimum upload rate applies. Default: 5 s.
    pub upload_grace: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let memory = machine_memory();
        let check_memory_bytes = memory.map_or(1 << 30, |m| (m / 4).clamp(256 << 20, 1 << 30));
        let stamp_memory_bytes = memory.map_or(768 << 20, |m| (m / 8).clamp(192 << 20, 768 << 20));
        Settings {
            max_body_bytes: 50 << 20,
            limits: Limits::default(),
            timeout: Duration::from_secs(30),
            queue_wait: Duration::from_secs(2),
            workers: default_workers(cores, check_memory_bytes),
            stamp_workers: cores.max(1),
            check_memory_bytes,
            stamp_memory_bytes,
            header_timeout: Duration::from_secs(10),
            max_connections: 512,
            min_upload_rate: 16 << 10,
            upload_grace: Duration::from_secs(5),
        }
    }
}

/// The memory this process may use: the container's limit (cgroup v2, then v1) when there is
/// one, else the machine's total.
fn machine_memory() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|text| text.trim().parse::<u64>().ok());
    let total = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    match (cgroup, total) {
        (Some(limit), Some(total)) => Some(limit.min(total)),
        (limit, total) => limit.or(total),
    }
}

/// Twice the cores, but no more workers than the memory budget holds at 64 MiB each (a 12 MP
/// photo's decoding estimate): more would only wait for memory.
pub fn default_workers(cores: usize, check_memory_bytes: u64) -> usize {
    let by_memory = (check_memory_bytes / (64 << 20)).max(1) as usize;
    (2 * cores).min(by_memory).max(1)
}

/// Everything a request handler needs; built once, shared by all requests.
pub struct Service {
    /// Every layer, pixels included.
    pub(super) checker: Checker,
    /// Metadata, credentials and the registry's exact lookups only: no pixel layers.
    pub(super) metadata_checker: Checker,
    pub(super) stamper: Stamper,
    pub(super) registry: Option<Arc<Registry>>,
    pub(super) tokens: Vec<String>,
    pub(super) settings: Settings,
    pub(super) checking: admission::Admission,
    pub(super) stamping: admission::Admission,
    pub(super) metrics: metrics::Metrics,
}

impl Service {
    /// A service over `checker` (every layer) and `metadata_checker` (no pixel layers), with
    /// `stamper` for `/v1/stamp` (enabled only when `tokens` holds at least one API token) and
    /// the registry they share, if any.
    pub fn new(
        checker: Checker,
        metadata_checker: Checker,
        stamper: Stamper,
        registry: Option<Arc<Registry>>,
        tokens: Vec<String>,
        settings: Settings,
    ) -> Self {
        let tokens = tokens
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        Service {
            checker,
            metadata_checker,
            stamper,
            registry,
            tokens,
            checking: admission::Admission::new(
                settings.workers,
                settings.check_memory_bytes,
                settings.queue_wait,
            ),
            stamping: admission::Admission::new(
                settings.stamp_workers,
                settings.stamp_memory_bytes,
                settings.queue_wait,
            ),
            settings,
            metrics: metrics::Metrics::default(),
        }
    }

    /// The settings the service runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// True when `/v1/stamp` is enabled (at least one API token).
    pub fn stamping_enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The registry, if one is attached.
    pub fn registry(&self) -> Option<&Arc<Registry>> {
        self.registry.as_ref()
    }

    /// The stamper behind `/v1/stamp`.
    pub fn stamper(&self) -> &Stamper {
        &self.stamper
    }
}
