//! Counters and histograms of the server, written in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the commit-latency histogram, in seconds.
const LATENCY_BOUNDS: [f64; 10] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0];
/// Upper bounds of the batch-size histogram, in requests.
const BATCH_BOUNDS: [f64; 8] = [1.0, 2.0, 8.0, 32.0, 128.0, 512.0, 2048.0, 10_000.0];

#[derive(Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (bucket, bound) in self.buckets.iter_mut().zip(bounds) {
            if value <= *bound {
                *bucket += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, help: &str, bounds: &[f64]) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (index, bound) in bounds.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", self.buckets.get(index).copied().unwrap_or(0));
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}", self.count, self.sum, self.count);
    }
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    commit_seconds: Histogram,
    batch_requests: Histogram,
    reopens: u64,
    refused_connections: u64,
}

/// The server's metrics. Paths are counted by route (never by raw path, so a client cannot
/// grow the table).
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Metrics")
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts an answered request.
    pub fn request(&self, route: &'static str, status: u16) {
        *self.lock().requests.entry((route, status)).or_default() += 1;
    }

    /// Records one batch run by the ledger thread.
    pub fn batch(&self, took: Duration, requests: usize) {
        let mut inner = self.lock();
        inner.commit_seconds.observe(&LATENCY_BOUNDS, took.as_secs_f64());
        #[allow(clippy::cast_precision_loss)]
        inner.batch_requests.observe(&BATCH_BOUNDS, requests as f64);
    }

    /// Counts a reopening of the ledger after a storage failure.
    pub fn reopen(&self) {
        self.lock().reopens += 1;
    }

    /// Counts a connection refused because the server was at its connection cap.
    pub fn refused_connection(&self) {
        self.lock().refused_connections += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str("# HELP partner_ledger_http_requests_total Requests answered, by route and HTTP status.\n");
        out.push_str("# TYPE partner_ledger_http_requests_total counter\n");
        for ((route, status), count) in &inner.requests {
            let _ = writeln!(out, "partner_ledger_http_requests_total{{path=\"{route}\",status=\"{status}\"}} {count}");
        }
        inner.commit_seconds.write(
            &mut out,
            "partner_ledger_commit_seconds",
            "Time the ledger thread took per batch (decide and durable commit).",
            &LATENCY_BOUNDS,
        );
        inner.batch_requests.write(&mut out, "partner_ledger_batch_requests", "Requests per batch of the ledger thread.", &BATCH_BOUNDS);
        let _ = writeln!(
            out,
            "# HELP partner_ledger_reopens_total Reopenings of the ledger after a storage failure.\n# TYPE partner_ledger_reopens_total counter\npartner_ledger_reopens_total {}",
            inner.reopens
        );
        let _ = writeln!(
            out,
            "# HELP partner_ledger_refused_connections_total Connections refused at the connection cap.\n# TYPE partner_ledger_refused_connections_total counter\npartner_ledger_refused_connections_total {}",
            inner.refused_connections
        );
        out
    }
}
