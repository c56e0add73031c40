//! A set of target nodes started together, sampled together and stopped together —
//! also on error and on Ctrl-C: dropping a cluster kills whatever still runs.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use hyper::Method;
use versus_targets::metrics::sample;

use super::http_client::request;
use super::process::{LaunchError, NodeProcess, NodeSpec};
use crate::record::resources::ResourceSampler;
use crate::report::model::Traffic;

/// How long a node gets to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a /metrics scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// Running nodes.
#[derive(Default)]
pub struct Cluster {
    nodes: Vec<NodeProcess>,
}

impl Cluster {
    /// Starts every spec at once; if any fails, stops the others and returns the error.
    pub async fn start(specs: Vec<NodeSpec>, ready_timeout: Duration) -> Result<Self, LaunchError> {
        let mut cluster = Cluster::default();
        cluster.add(specs, ready_timeout).await?;
        Ok(cluster)
    }

    /// Starts more nodes into this cluster (all at once).
    pub async fn add(
        &mut self,
        specs: Vec<NodeSpec>,
        ready_timeout: Duration,
    ) -> Result<(), LaunchError> {
        let started = join_all(
            specs
                .into_iter()
                .map(|s| NodeProcess::start(s, ready_timeout)),
        )
        .await;
        let mut first_error = None;
        for result in started {
            match result {
                Ok(node) => self.nodes.push(node),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The nodes, in start order.
    pub fn nodes(&self) -> &[NodeProcess] {
        &self.nodes
    }

    /// Registers every node with the resource sampler under its role.
    pub fn track(&self, sampler: &mut ResourceSampler) {
        for node in &self.nodes {
            sampler.track(node.spec.role, node.pid);
        }
    }

    /// Scrapes every node's /metrics: bytes on the wire, summed per role.
    pub async fn traffic(&self) -> BTreeMap<String, Traffic> {
        let scrapes = join_all(self.nodes.iter().map(|node| async move {
            let metrics = request(
                node.ready.admin,
                Method::GET,
                "/metrics",
                Default::default(),
                SCRAPE_TIMEOUT,
            )
            .await;
            (node.spec.role, metrics)
        }))
        .await;
        let mut traffic: BTreeMap<String, Traffic> = BTreeMap::new();
        for (role, scraped) in scrapes {
            let Ok((_, body)) = scraped else {
                tracing::warn!("could not scrape the metrics of a {role}; its traffic is missing from the report");
                continue;
            };
            let text = String::from_utf8_lossy(&body);
            let t = traffic.entry(role.to_string()).or_default();
            t.tx_bytes += sample(&text, "versus_bytes_sent_total").unwrap_or(0.0) as u64;
            t.rx_bytes += sample(&text, "versus_bytes_received_total").unwrap_or(0.0) as u64;
        }
        traffic
    }

    /// Stops every node (SIGTERM, then SIGKILL after a grace period).
    pub async fn stop(mut self) {
        join_all(self.nodes.drain(..).map(|n| n.stop(STOP_GRACE))).await;
    }
}

/// Traffic between two scrapes (after minus before), per role.
pub fn traffic_delta(
    before: &BTreeMap<String, Traffic>,
    after: &BTreeMap<String, Traffic>,
) -> BTreeMap<String, Traffic> {
    after
        .iter()
        .map(|(role, a)| {
            let b = before.get(role).cloned().unwrap_or_default();
            (
                role.clone(),
                Traffic {
                    tx_bytes: a.tx_bytes.saturating_sub(b.tx_bytes),
                    rx_bytes: a.rx_bytes.saturating_sub(b.rx_bytes),
                },
            )
        })
        .collect()
}
