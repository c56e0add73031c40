//! Bytes on the wire per role, as the nodes' /metrics and the harness's own counters
//! count them.

use serde::{Deserialize, Serialize};

/// Bytes on the wire for one role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Traffic {
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Peers: chunks that failed verification and were thrown away (from misbehaving
    /// peers, or damaged on the way).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chunks_rejected: u64,
    /// Peers: seconds during which the role's nodes were sending chunks (at least one
    /// upload slot in use), summed over its nodes. Divided by nodes × run time, it is how
    /// busy the swarm kept its uploads: what the efficiency of a flash crowd hinges on.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub upload_busy_s: f64,
    /// Peers: bytes of blocks received that were already held (endgame duplicates), part
    /// of `rx_bytes` that delivered nothing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate_bytes: u64,
    /// Peers: fetches that moved data, whose phases the `fetch_*_s` sums add up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fetches_timed: u64,
    /// Peers: seconds from each fetch's start to its first provider found, summed.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub fetch_lookup_s: f64,
    /// Peers: seconds from each fetch's start to its first verified block, summed.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub fetch_first_block_s: f64,
    /// Peers: seconds from each fetch's start to its end, summed.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub fetch_s: f64,
    /// Servers: GET requests their data planes answered, whatever the status (their
    /// `versus_requests_total{route="get"}`), to check the users' `get` count against.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gets_answered: u64,
}

impl Traffic {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Traffic) {
        self.tx_bytes += other.tx_bytes;
        self.rx_bytes += other.rx_bytes;
        self.chunks_rejected += other.chunks_rejected;
        self.upload_busy_s += other.upload_busy_s;
        self.gets_answered += other.gets_answered;
        self.duplicate_bytes += other.duplicate_bytes;
        self.fetches_timed += other.fetches_timed;
        self.fetch_lookup_s += other.fetch_lookup_s;
        self.fetch_first_block_s += other.fetch_first_block_s;
        self.fetch_s += other.fetch_s;
    }

    /// Mean seconds per fetch of (provider lookup, first block, the rest), if any fetch
    /// moved data.
    pub fn fetch_phases(&self) -> Option<(f64, f64, f64)> {
        let n = self.fetches_timed as f64;
        (self.fetches_timed > 0).then(|| {
            (
                self.fetch_lookup_s / n,
                (self.fetch_first_block_s - self.fetch_lookup_s).max(0.0) / n,
                (self.fetch_s - self.fetch_first_block_s).max(0.0) / n,
            )
        })
    }

    /// What was counted since `before` (these counts minus those).
    pub fn since(&self, before: &Traffic) -> Traffic {
        Traffic {
            tx_bytes: self.tx_bytes.saturating_sub(before.tx_bytes),
            rx_bytes: self.rx_bytes.saturating_sub(before.rx_bytes),
            chunks_rejected: self.chunks_rejected.saturating_sub(before.chunks_rejected),
            upload_busy_s: (self.upload_busy_s - before.upload_busy_s).max(0.0),
            duplicate_bytes: self.duplicate_bytes.saturating_sub(before.duplicate_bytes),
            fetches_timed: self.fetches_timed.saturating_sub(before.fetches_timed),
            fetch_lookup_s: (self.fetch_lookup_s - before.fetch_lookup_s).max(0.0),
            fetch_first_block_s: (self.fetch_first_block_s - before.fetch_first_block_s).max(0.0),
            fetch_s: (self.fetch_s - before.fetch_s).max(0.0),
            gets_answered: self.gets_answered.saturating_sub(before.gets_answered),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f64(n: &f64) -> bool {
    *n == 0.0
}
