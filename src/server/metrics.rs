//! Prometheus metrics in the text exposition format: requests by route and status, check
//! latency, verdicts, requests refused for overload, requests in flight, and at the connection
//! level: open connections, connections refused at the cap, and requests hyper rejected before
//! they reached a route (malformed, oversized headers, header timeouts).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    verdicts: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    overloaded: AtomicU64,
    in_flight: AtomicI64,
    connections: AtomicI64,
    connections_refused: AtomicU64,
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        *lock(&self.requests).entry((route, status)).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let histogram = latency.entry(route).or_default();
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Counts one request refused with 503 because workers or memory were all taken.
    pub fn overloaded(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an open connection until the returned guard is dropped.
    pub fn connection(&self) -> InFlight<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.connections)
    }

    /// Counts a connection refused because the server was at its connection cap.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request that hyper rejected before it reached a route, by kind (`400`, `414`,
    /// `431`, `header-timeout`).
    pub fn rejected(&self, kind: &'static str) {
        *lock(&self.rejected).entry(kind).or_default() += 1;
    }

    /// Counts one verdict given by `/v1/check`.
    pub fn verdict(&self, verdict: &'static str) {
        *lock(&self.verdicts).entry(verdict).or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP synthmark_http_requests_total Requests answered, by route and status.\n",
        );
        out.push_str("# TYPE synthmark_http_requests_total counter\n");
        for ((route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "synthmark_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP synthmark_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE synthmark_http_request_duration_seconds histogram\n");
        for (route, histogram) in lock(&self.latency).iter() {
            for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "synthmark_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "synthmark_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nsynthmark_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nsynthmark_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        out.push_str("# HELP synthmark_check_verdicts_total Verdicts given by /v1/check.\n");
        out.push_str("# TYPE synthmark_check_verdicts_total counter\n");
        for (verdict, count) in lock(&self.verdicts).iter() {
            let _ = writeln!(
                out,
                "synthmark_check_verdicts_total{{verdict=\"{verdict}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP synthmark_overloaded_total Requests refused with 503 because every worker, or the memory they need, was taken.\n# TYPE synthmark_overloaded_total counter\nsynthmark_overloaded_total {}",
            self.overloaded.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP synthmark_http_in_flight Requests being answered now.\n# TYPE synthmark_http_in_flight gauge\nsynthmark_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP synthmark_connections_open Connections open now.\n# TYPE synthmark_connections_open gauge\nsynthmark_connections_open {}",
            self.connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP synthmark_connections_refused_total Connections answered 503 and closed at the connection cap.\n# TYPE synthmark_connections_refused_total counter\nsynthmark_connections_refused_total {}",
            self.connections_refused.load(Ordering::Relaxed)
        );
        out.push_str("# HELP synthmark_http_rejected_total Requests rejected by the HTTP layer before routing, by kind.\n");
        out.push_str("# TYPE synthmark_http_rejected_total counter\n");
        for (kind, count) in lock(&self.rejected).iter() {
            let _ = writeln!(
                out,
                "synthmark_http_rejected_total{{kind=\"{kind}\"}} {count}"
            );
        }
        out
    }
}

/// A request or connection in flight; dropping it counts it out.
pub struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
