//! A run's latency per user (`runs[].per_user`): each user's own median, so a report can
//! say how response time differed between the users' nodes, not only over all of them.

use serde::{Deserialize, Serialize};

/// Each user's median latency of its successful requests, every kind together. A user
/// is a looping user (closed model) or, in the open model, the arrivals k with the same
/// k mod users (a peer-to-peer run's user asks its own peer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerUserLatency {
    /// In user order: the median in µs (2 significant figures), `null` for a user without
    /// a successful request.
    pub p50_us: Vec<Option<u64>>,
}

impl PerUserLatency {
    /// The medians of the users that had one, in user order.
    pub fn known(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.p50_us
            .iter()
            .enumerate()
            .filter_map(|(user, p50)| p50.map(|p| (user, p)))
    }
}
