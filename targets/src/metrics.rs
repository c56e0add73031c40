//! Counters a node keeps about itself, and their Prometheus text exposition.
//!
//! Everything is a relaxed atomic, so counting costs a few nanoseconds on the hot path.
//! [`NodeMetrics`] holds what every node has — data-plane bytes, requests by route and
//! status, connections, chunks served — and renders it with the `versus_` prefix. A node
//! adds its own series by implementing [`RenderMetrics`] (the admin plane serves any
//! implementation) and using the small writers [`write_counter`] / [`write_gauge`].
//! [`sample`] reads a value back from exposition text (for tests and the harness).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::shaping::ByteCounters;

/// Something that can write Prometheus text exposition lines.
pub trait RenderMetrics: Send + Sync {
    /// Appends `# HELP`, `# TYPE` and sample lines to `out`.
    fn render(&self, out: &mut String);
}

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds `n` (may be negative).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Lowest and highest HTTP status code counted exactly; others count as 0 ("unknown").
const STATUS_MIN: u16 = 100;
const STATUS_SLOTS: usize = 500;

/// Requests counted by route (from a fixed list of names) and exact status code.
#[derive(Debug)]
pub struct RequestCounters {
    routes: &'static [&'static str],
    counts: Box<[AtomicU64]>,
}

impl RequestCounters {
    /// Counters for the given route names; routes are then referred to by index.
    pub fn new(routes: &'static [&'static str]) -> Self {
        let counts = (0..routes.len() * (STATUS_SLOTS + 1))
            .map(|_| AtomicU64::new(0))
            .collect();
        RequestCounters { routes, counts }
    }

    fn slot(&self, route: usize, status: u16) -> Option<usize> {
        if route >= self.routes.len() {
            return None;
        }
        let code = status.wrapping_sub(STATUS_MIN) as usize;
        let code = if code < STATUS_SLOTS { code + 1 } else { 0 };
        Some(route * (STATUS_SLOTS + 1) + code)
    }

    /// Counts one request on route index `route` that was answered with `status`.
    /// Unknown route indexes are ignored.
    pub fn record(&self, route: usize, status: u16) {
        if let Some(slot) = self.slot(route, status) {
            self.counts[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many requests on `route` got `status`.
    pub fn get(&self, route: usize, status: u16) -> u64 {
        self.slot(route, status)
            .map_or(0, |slot| self.counts[slot].load(Ordering::Relaxed))
    }

    /// Writes one `name{route=..,status=..}` line per non-zero pair.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "counter");
        for (route_index, route) in self.routes.iter().enumerate() {
            let row = &self.counts[route_index * (STATUS_SLOTS + 1)..][..STATUS_SLOTS + 1];
            for (code, count) in row.iter().enumerate() {
                let count = count.load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let status = if code == 0 {
                    0
                } else {
                    code as u16 - 1 + STATUS_MIN
                };
                let _ = writeln!(
                    out,
                    "{name}{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
    }
}

/// What every node counts about its data plane.
#[derive(Debug)]
pub struct NodeMetrics {
    /// Bytes through the data plane's shaped streams (`versus_bytes_{sent,received}_total`).
    pub bytes: Arc<ByteCounters>,
    /// Requests by route and status (`versus_requests_total`).
    pub requests: RequestCounters,
    /// Data-plane connections accepted (`versus_connections_total`).
    pub connections_total: Counter,
    /// Data-plane connections open now (`versus_connections_open`).
    pub connections_open: Gauge,
    /// Verified chunks served, whole or in part (`versus_chunks_served_total`).
    pub chunks_served: Counter,
    /// Object body bytes served (`versus_object_bytes_served_total`), excluding headers.
    pub object_bytes_served: Counter,
    /// Chunks that failed verification and were not served (`versus_verification_failures_total`).
    pub verification_failures: Counter,
}

impl NodeMetrics {
    /// Metrics over the given byte counters, with request routes named `routes`.
    pub fn new(bytes: Arc<ByteCounters>, routes: &'static [&'static str]) -> Self {
        NodeMetrics {
            bytes,
            requests: RequestCounters::new(routes),
            connections_total: Counter::default(),
            connections_open: Gauge::default(),
            chunks_served: Counter::default(),
            object_bytes_served: Counter::default(),
            verification_failures: Counter::default(),
        }
    }
}

impl RenderMetrics for NodeMetrics {
    fn render(&self, out: &mut String) {
        write_counter(
            out,
            crate::metric_names::BYTES_SENT,
            "Bytes sent on the data plane, headers included.",
            self.bytes.written(),
        );
        write_counter(
            out,
            crate::metric_names::BYTES_RECEIVED,
            "Bytes received on the data plane, headers included.",
            self.bytes.read(),
        );
        self.requests.render(
            out,
            crate::metric_names::REQUESTS,
            "Data-plane requests by route and response status.",
        );
        write_counter(
            out,
            "versus_connections_total",
            "Data-plane connections accepted.",
            self.connections_total.get(),
        );
        write_gauge(
            out,
            "versus_connections_open",
            "Data-plane connections open now.",
            self.connections_open.get(),
        );
        write_counter(
            out,
            "versus_chunks_served_total",
            "Verified chunks served, whole or in part.",
            self.chunks_served.get(),
        );
        write_counter(
            out,
            "versus_object_bytes_served_total",
            "Object bytes served in response bodies.",
            self.object_bytes_served.get(),
        );
        write_counter(
            out,
            "versus_verification_failures_total",
            "Chunks that failed BLAKE3 verification and were not served.",
            self.verification_failures.get(),
        );
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes a counter with its `HELP` and `TYPE` lines.
pub fn write_counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {value}");
}

/// Writes a counter with one `name{label="…"}` line per value, all of them (zeros too).
pub fn write_labelled_counters<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) {
    header(out, name, help, "counter");
    for (value_label, value) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{value_label}\"}} {value}");
    }
}

/// Writes a gauge with its `HELP` and `TYPE` lines.
pub fn write_gauge(out: &mut String, name: &str, help: &str, value: i64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {value}");
}

/// Finds the value of `series` (a metric name, with labels exactly as exposed, e.g.
/// `versus_requests_total{route="get",status="200"}`) in exposition text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let rest = line.strip_prefix(series)?;
            rest.strip_prefix(' ')?.trim().parse().ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reads_back() {
        let bytes = Arc::new(ByteCounters::default());
        let m = NodeMetrics::new(bytes, &["get", "put"]);
        m.requests.record(0, 200);
        m.requests.record(0, 200);
        m.requests.record(1, 413);
        m.requests.record(1, 42); // out of range: counted as status 0
        m.requests.record(7, 200); // unknown route: ignored
        m.connections_open.add(3);
        m.connections_open.add(-1);
        let mut text = String::new();
        m.render(&mut text);
        assert_eq!(
            sample(&text, "versus_requests_total{route=\"get\",status=\"200\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, "versus_requests_total{route=\"put\",status=\"413\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "versus_requests_total{route=\"put\",status=\"0\"}"),
            Some(1.0)
        );
        assert_eq!(sample(&text, "versus_connections_open"), Some(2.0));
        assert_eq!(sample(&text, "versus_bytes_sent_total"), Some(0.0));
        assert_eq!(sample(&text, "versus_bytes_sent"), None);
        assert_eq!(m.requests.get(0, 200), 2);
        assert_eq!(m.requests.get(0, 599), 0);
        assert!(text.contains("# TYPE versus_requests_total counter"));
    }
}
