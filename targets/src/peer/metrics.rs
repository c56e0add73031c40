//! The peer's counters: everything a node counts ([`NodeMetrics`]: wire bytes through the
//! shaper, requests by route, connections, chunks served) plus the swarm's own (chunks
//! fetched and rejected, fetches, objects held, provider records refused, connections
//! refused by a limit), rendered for `GET /metrics`.
//!
//! Routes of `versus_requests_total`: the chunk protocol's `manifest`, `have` and `chunk`
//! (status 200 answered, 404 not held) and the admin plane's `publish`, `fetch`,
//! `object` and `status` (their HTTP status).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::holdings::Holdings;
use super::wire_bytes::{ProtocolBytes, LABELS as PROTOCOL_LABELS};
use crate::metric_names;
use crate::metrics::{
    write_counter, write_gauge, write_labelled_counters, Counter, Gauge, NodeMetrics, RenderMetrics,
};
use crate::shaping::ByteCounters;

/// Route names, as they appear in `versus_requests_total{route=…}`.
pub const ROUTES: &[&str] = &[
    "manifest", "have", "chunk", "publish", "fetch", "object", "status",
];
/// Chunk protocol: manifest requests.
pub const ROUTE_MANIFEST: usize = 0;
/// Chunk protocol: holdings requests.
pub const ROUTE_HAVE: usize = 1;
/// Chunk protocol: chunk requests.
pub const ROUTE_CHUNK: usize = 2;
/// Admin: `POST /objects`.
pub const ROUTE_PUBLISH: usize = 3;
/// Admin: `POST /fetch/{id}`.
pub const ROUTE_FETCH: usize = 4;
/// Admin: `GET /objects/{id}`.
pub const ROUTE_OBJECT: usize = 5;
/// Admin: `GET /status`.
pub const ROUTE_STATUS: usize = 6;

/// Everything a peer counts.
#[derive(Debug)]
pub struct PeerMetrics {
    /// What every node counts.
    pub node: NodeMetrics,
    /// Blocks received that failed verification and were thrown away (the metric keeps
    /// its historical name, `versus_chunks_rejected_total`).
    pub chunks_rejected: Counter,
    /// Verified blocks received and kept.
    pub chunks_fetched: Counter,
    /// Queued block requests dropped because the requester cancelled them.
    pub cancelled: Counter,
    /// Fetches that completed.
    pub fetches_ok: Counter,
    /// Bytes of blocks received that were already held (duplicates).
    pub duplicate_bytes: Counter,
    /// The phases of the fetches that moved data, summed.
    pub fetch_phases: FetchPhases,
    /// Fetches that failed.
    pub fetches_failed: Counter,
    /// Kademlia requests answered for other peers (routing, provider records).
    pub dht_requests_served: Counter,
    /// DHT queries started by this peer (provider lookups and announcements).
    pub dht_queries: Counter,
    /// Kademlia requests this peer's bootstraps sent (its own and libp2p-kad's automatic ones).
    pub dht_bootstrap_requests: Counter,
    /// Fellow downloaders this peer named in its answers (peer exchange).
    pub fellows_named: Counter,
    /// Providers this peer's downloads added because an answer named them (peer exchange).
    pub fellows_added: Counter,
    /// Inbound provider records refused (beyond the remote budget, see `records`).
    pub provider_records_refused: Counter,
    /// Distinct keys with provider records of other peers stored here.
    pub remote_provider_keys: Gauge,
    /// Incoming connections refused by a connection or memory limit.
    pub connections_refused: Counter,
    /// How long at least one block answer was being handed to libp2p (upload slots in
    /// use). With 16 KiB blocks that takes microseconds, so the busy time reported for a
    /// capped upload is [`PeerMetrics::upload_busy_micros`] instead.
    pub upload_busy: BusyTime,
    /// Stream bytes sent, by protocol (see [`super::wire_bytes`]).
    pub protocol_bytes: Arc<ProtocolBytes>,
    /// Bytes on the wire, to tell how busy a capped upload was.
    bytes: Arc<ByteCounters>,
    /// The upload cap in bytes per second, if any.
    upload_rate: Option<u64>,
    /// Where the last block queued ends, in the shaper's count of bytes let out.
    block_tail: AtomicU64,
    holdings: Arc<Holdings>,
}

impl PeerMetrics {
    /// Bytes the shaper has let out so far (every protocol).
    pub fn wire_bytes_sent(&self) -> u64 {
        self.bytes.written()
    }

    /// The upload cap in bytes per second, if any.
    pub fn upload_rate(&self) -> Option<u64> {
        self.upload_rate
    }

    /// Queues `len` bytes of a block behind those queued before it, in the shaper's count
    /// of bytes let out: returns the count at which the block has left (the previous
    /// block's end, or now if the uplink caught up, plus `len`).
    pub fn queue_on_the_wire(&self, len: u64) -> u64 {
        let now = self.bytes.written();
        let previous = self
            .block_tail
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tail| {
                Some(tail.max(now) + len)
            })
            .unwrap_or(now);
        previous.max(now) + len
    }

    /// Counters over the shaper's byte counters; object gauges read from `holdings`;
    /// `upload_rate` is the upload cap in bytes per second, if any.
    pub fn new(
        bytes: Arc<ByteCounters>,
        holdings: Arc<Holdings>,
        upload_rate: Option<u64>,
    ) -> Self {
        PeerMetrics {
            node: NodeMetrics::new(Arc::clone(&bytes), ROUTES),
            chunks_rejected: Counter::default(),
            chunks_fetched: Counter::default(),
            cancelled: Counter::default(),
            fetches_ok: Counter::default(),
            duplicate_bytes: Counter::default(),
            fetch_phases: FetchPhases::default(),
            fetches_failed: Counter::default(),
            dht_requests_served: Counter::default(),
            dht_queries: Counter::default(),
            dht_bootstrap_requests: Counter::default(),
            fellows_named: Counter::default(),
            fellows_added: Counter::default(),
            provider_records_refused: Counter::default(),
            remote_provider_keys: Gauge::default(),
            connections_refused: Counter::default(),
            upload_busy: BusyTime::default(),
            protocol_bytes: Arc::default(),
            bytes,
            upload_rate,
            block_tail: AtomicU64::new(0),
            holdings,
        }
    }
}

impl PeerMetrics {
    /// Microseconds the upload was busy: with a cap, the time the bytes sent so far take
    /// at the cap (the link's busy time, whatever queues sit above it); without one, the
    /// time upload slots were in use.
    pub fn upload_busy_micros(&self) -> u64 {
        match self.upload_rate {
            Some(rate) => {
                let micros = u128::from(self.bytes.written()) * 1_000_000 / u128::from(rate.max(1));
                u64::try_from(micros).unwrap_or(u64::MAX)
            }
            None => self.upload_busy.micros(),
        }
    }
}

/// Where the time of this peer's fetches went, summed over the fetches that moved data:
/// finding a provider, then the first verified block, then the rest.
#[derive(Debug, Default)]
pub struct FetchPhases {
    /// Fetches summed here.
    pub fetches: Counter,
    /// From the start to the first provider found, µs.
    pub lookup_us: Counter,
    /// From the start to the first verified block, µs.
    pub first_block_us: Counter,
    /// From the start to the end, µs.
    pub total_us: Counter,
}

impl FetchPhases {
    /// Adds one fetch's phases (each since its start).
    pub fn add(&self, lookup: Duration, first_block: Duration, total: Duration) {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.fetches.inc();
        self.lookup_us.add(us(lookup));
        self.first_block_us.add(us(first_block));
        self.total_us.add(us(total));
    }
}

/// Time spent in a state that starts and ends (such as "uploading"): the finished
/// periods, plus the one under way.
#[derive(Debug, Default)]
pub struct BusyTime {
    finished_us: Counter,
    since: Mutex<Option<Instant>>,
}

impl BusyTime {
    /// Marks the state as entered (`true`) or left (`false`); repeated marks change nothing.
    pub fn set(&self, busy: bool) {
        let Ok(mut since) = self.since.lock() else {
            return;
        };
        match (busy, *since) {
            (true, None) => *since = Some(Instant::now()),
            (false, Some(start)) => {
                let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.finished_us.add(micros);
                *since = None;
            }
            _ => {}
        }
    }

    /// Microseconds in the state so far, the period under way included.
    pub fn micros(&self) -> u64 {
        let ongoing = self
            .since
            .lock()
            .ok()
            .and_then(|since| *since)
            .map_or(0, |start| {
                u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
            });
        self.finished_us.get().saturating_add(ongoing)
    }
}

impl RenderMetrics for PeerMetrics {
    fn render(&self, out: &mut String) {
        self.node.render(out);
        write_counter(
            out,
            crate::metric_names::CHUNKS_REJECTED,
            "Blocks received from other peers that failed verification and were discarded.",
            self.chunks_rejected.get(),
        );
        write_counter(
            out,
            "versus_chunks_fetched_total",
            "Verified blocks received from other peers and kept.",
            self.chunks_fetched.get(),
        );
        write_counter(
            out,
            "versus_requests_cancelled_total",
            "Queued block requests dropped because the requester got the block elsewhere.",
            self.cancelled.get(),
        );
        write_counter(
            out,
            "versus_fetches_total",
            "Fetches that completed with a verified object.",
            self.fetches_ok.get(),
        );
        write_counter(
            out,
            metric_names::DUPLICATE_BYTES,
            "Bytes of blocks received that this peer already held (endgame duplicates).",
            self.duplicate_bytes.get(),
        );
        let sent = self.protocol_bytes.snapshot();
        write_labelled_counters(
            out,
            metric_names::STREAM_BYTES_SENT,
            "Bytes this peer wrote on its libp2p streams, by protocol; the rest of versus_bytes_sent_total is Yamux and Noise framing and handshakes.",
            "protocol",
            PROTOCOL_LABELS.iter().copied().zip(sent),
        );
        let phases = &self.fetch_phases;
        for (name, help, value) in [
            (
                metric_names::FETCHES_TIMED,
                "Fetches that moved data, whose phases the fetch_*_microseconds counters sum.",
                &phases.fetches,
            ),
            (
                metric_names::FETCH_LOOKUP_US,
                "Microseconds from each fetch's start to its first provider found, summed.",
                &phases.lookup_us,
            ),
            (
                metric_names::FETCH_FIRST_BLOCK_US,
                "Microseconds from each fetch's start to its first verified block, summed.",
                &phases.first_block_us,
            ),
            (
                metric_names::FETCH_US,
                "Microseconds from each fetch's start to its end, summed.",
                &phases.total_us,
            ),
        ] {
            write_counter(out, name, help, value.get());
        }
        write_counter(
            out,
            "versus_fetch_failures_total",
            "Fetches that failed (no provider, deadline, every provider failing).",
            self.fetches_failed.get(),
        );
        write_counter(
            out,
            "versus_dht_requests_served_total",
            "Kademlia requests answered for other peers (peer routing, provider records).",
            self.dht_requests_served.get(),
        );
        write_counter(
            out,
            "versus_dht_queries_total",
            "DHT queries this peer started (provider lookups and announcements).",
            self.dht_queries.get(),
        );
        write_counter(
            out,
            "versus_dht_bootstrap_requests_total",
            "Kademlia requests this peer's bootstraps sent (the lookup of its own id; the bucket refreshes after it are cut).",
            self.dht_bootstrap_requests.get(),
        );
        write_counter(
            out,
            "versus_fellows_named_total",
            "Fellow downloaders this peer named in its answers to manifest and holdings questions (peer exchange).",
            self.fellows_named.get(),
        );
        write_counter(
            out,
            "versus_fellows_added_total",
            "Providers this peer's downloads took on because an answer named them (peer exchange).",
            self.fellows_added.get(),
        );
        write_counter(
            out,
            metric_names::PROVIDER_RECORDS_REFUSED,
            "Provider records other peers announced that this peer refused to store (beyond its budget for remote records).",
            self.provider_records_refused.get(),
        );
        write_gauge(
            out,
            metric_names::REMOTE_PROVIDER_KEYS,
            "Distinct keys this peer keeps provider records of other peers for.",
            self.remote_provider_keys.get(),
        );
        write_counter(
            out,
            metric_names::CONNECTIONS_REFUSED,
            "Incoming data-plane connections refused by a connection-count or memory limit.",
            self.connections_refused.get(),
        );
        write_counter(
            out,
            crate::metric_names::UPLOAD_BUSY_US,
            "Time the upload link was busy: bytes sent divided by the upload cap (without a cap: time upload slots were in use).",
            self.upload_busy_micros(),
        );
        let store = self.holdings.store();
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        write_gauge(
            out,
            "versus_objects_stored",
            "Complete objects held by this peer.",
            gauge(store.len() as u64),
        );
        write_gauge(
            out,
            "versus_object_bytes_stored",
            "Total size of the complete objects held, in bytes.",
            gauge(store.stored_bytes()),
        );
        write_gauge(
            out,
            "versus_objects_partial",
            "Objects this peer is still assembling (and already serving chunks of).",
            gauge(self.holdings.partial_count() as u64),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{BusyTime, Duration};

    #[test]
    fn busy_time_counts_finished_and_ongoing_periods() {
        let busy = BusyTime::default();
        assert_eq!(busy.micros(), 0);
        busy.set(true);
        std::thread::sleep(Duration::from_millis(20));
        busy.set(true); // already busy: the period keeps its start
        assert!(busy.micros() >= 20_000, "the period under way counts");
        busy.set(false);
        let finished = busy.micros();
        assert!(finished >= 20_000);
        std::thread::sleep(Duration::from_millis(10));
        busy.set(false);
        assert_eq!(busy.micros(), finished, "idle time does not count");
    }
}
