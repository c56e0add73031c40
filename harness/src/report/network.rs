//! The network profile a run had, as its report records it: the caps, who applied them
//! (app or kernel emulation), the loss, and with peer classes the capacities the
//! analytical bounds were computed from; and with regions, where each node was and the
//! latency matrix ([`RunRegions`]).

use serde::{Deserialize, Serialize};

use super::model::RunNetwork;
use crate::plan::links;
use crate::plan::regions::RegionPlan;
use crate::scenario::model::{Capacity, Network};

impl RunNetwork {
    /// The profile of `net` for a run of `users` users.
    pub fn of(net: &Network, users: usize) -> RunNetwork {
        let user_links = links::user_links(net, users);
        let heterogeneous = links::heterogeneous(net);
        RunNetwork {
            server_upload: net.server_upload.map(|r| r.0),
            peer_upload: net.peer_upload.map(|r| r.0),
            download: net.download.map(|r| r.0),
            emulation: net.emulation,
            loss: net.loss.map(|l| l.fraction()),
            peer_upload_sum: heterogeneous
                .then(|| links::upload_sum(&user_links))
                .flatten()
                .map(|s| s as u64),
            min_download: heterogeneous
                .then(|| links::min_download(&user_links))
                .flatten()
                .map(|d| d as u64),
            free_riders: user_links
                .iter()
                .filter(|l| l.upload == Some(Capacity::Zero))
                .count() as u32,
        }
    }
}

/// A run's regions: the latency matrix and where every node was. A connection's two
/// one-way latencies are the matrix's entries of the two ends' regions, applied in the
/// targets (P2P: by the peer that opened the connection, both ways) or, for
/// client-server users, by the harness on the user's connections (both ways; the
/// servers add none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRegions {
    /// The regions, in the scenario's order (the matrix's rows and columns).
    pub names: Vec<String>,
    /// One-way latency from a region (row) to a region (column), milliseconds.
    pub latency_ms: Vec<Vec<f64>>,
    /// ± on every one of those latencies (uniform), milliseconds.
    #[serde(default)]
    pub jitter_ms: f64,
    /// The region of the servers (client-server) or of the seed (peer-to-peer).
    pub server_region: String,
    /// Users per region, in the order of `names` (P2P: the users' peers).
    pub user_counts: Vec<u32>,
    /// Each user's region, by user index (P2P: user i's peer, `peer i`).
    pub users: Vec<String>,
}

impl RunRegions {
    /// What `plan` placed where.
    pub fn of(plan: &RegionPlan) -> RunRegions {
        let name = |r: usize| plan.names.get(r).cloned().unwrap_or_default();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        RunRegions {
            names: plan.names.clone(),
            latency_ms: plan
                .matrix
                .iter()
                .map(|row| row.iter().copied().map(ms).collect())
                .collect(),
            jitter_ms: ms(plan.jitter),
            server_region: name(plan.server),
            user_counts: plan.counts().into_iter().map(|c| c as u32).collect(),
            users: plan.users.iter().map(|&r| name(r)).collect(),
        }
    }

    /// `eu 2 users, us 2 users; servers in eu; one-way latency eu→eu 5 ms, eu→us 60 ms,
    /// …`: one line for report.md (`servers` names what sits in the server region).
    pub fn describe(&self, servers: &str) -> String {
        let users = self
            .names
            .iter()
            .zip(&self.user_counts)
            .map(|(n, c)| format!("{n} {c} users"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut latencies = Vec::new();
        for (from, row) in self.names.iter().zip(&self.latency_ms) {
            for (to, ms) in self.names.iter().zip(row) {
                latencies.push(format!("{from}→{to} {ms} ms"));
            }
        }
        let jitter = if self.jitter_ms > 0.0 {
            format!(" (± {} ms)", self.jitter_ms)
        } else {
            String::new()
        };
        format!(
            "{users}; {servers} in {}; one-way latency {}{jitter}",
            self.server_region,
            latencies.join(", ")
        )
    }
}
