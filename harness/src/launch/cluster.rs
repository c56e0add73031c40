//! A set of target nodes started together, sampled together and stopped together —
//! also on error and on Ctrl-C: dropping a cluster kills whatever still runs. Faults act
//! on single nodes through it: kill, pause, resume, leave, and start again on the same
//! addresses; the bytes a node sent before it went down stay counted. Peers may share a
//! process (a peer host): the cluster still holds one node per peer, and samples each
//! process once.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use hyper::Method;
use versus_targets::metrics::sample;

use super::http_client::request;
use super::launcher::{Launcher, Node, Signal};
use super::process::LaunchError;
use crate::arch::Role;
use crate::plan::nodes::{NodeSpec, TargetArgs};
use crate::record::resources::{Probe, ResourceSampler};
use crate::record::traffic::Traffic;
use versus_targets::metric_names;

/// How long a node gets to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a /metrics scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeState {
    /// Running.
    Up,
    /// Stopped with SIGSTOP.
    Paused,
    /// Killed or departed.
    Down,
}

/// Running nodes, started by launcher `L`.
pub(crate) struct Cluster<L: Launcher> {
    launcher: L,
    nodes: Vec<L::Node>,
    states: Vec<NodeState>,
    /// Instances replaced by a restart, kept until the cluster stops (to be reaped).
    retired: Vec<L::Node>,
    /// Traffic counted by instances that went down, per role.
    retired_traffic: BTreeMap<Role, Traffic>,
}

impl<L: Launcher> Cluster<L> {
    /// An empty cluster whose nodes `launcher` will start.
    pub(crate) fn new(launcher: L) -> Self {
        Cluster {
            launcher,
            nodes: Vec::new(),
            states: Vec::new(),
            retired: Vec::new(),
            retired_traffic: BTreeMap::new(),
        }
    }

    /// Starts more nodes into this cluster (all at once).
    pub(crate) async fn add(
        &mut self,
        specs: Vec<NodeSpec>,
        ready_timeout: Duration,
    ) -> Result<(), LaunchError> {
        let started = join_all(
            specs
                .into_iter()
                .map(|s| self.launcher.launch(s, ready_timeout)),
        )
        .await;
        self.keep_started(started.into_iter().map(|r| r.map(|node| vec![node])))
    }

    /// Starts peers into this cluster, the peers of each group in one process (a peer
    /// host), all groups at once.
    pub(crate) async fn add_hosted(
        &mut self,
        groups: Vec<Vec<NodeSpec>>,
        ready_timeout: Duration,
    ) -> Result<(), LaunchError> {
        let started = join_all(
            groups
                .into_iter()
                .map(|g| self.launcher.launch_host(g, ready_timeout)),
        )
        .await;
        self.keep_started(started)
    }

    /// Keeps every node that started, in order; the first launch error, if any.
    fn keep_started(
        &mut self,
        started: impl IntoIterator<Item = Result<Vec<L::Node>, LaunchError>>,
    ) -> Result<(), LaunchError> {
        let mut first_error = None;
        for result in started {
            match result {
                Ok(nodes) => {
                    self.states.extend(nodes.iter().map(|_| NodeState::Up));
                    self.nodes.extend(nodes);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Every distinct process or container to sample, with the number of nodes it runs
    /// (more than one for a peer host), in start order.
    pub(crate) fn probes(&self) -> Vec<(Role, Probe, u32)> {
        let mut probes: Vec<(Role, Probe, u32)> = Vec::new();
        for node in &self.nodes {
            let Some(probe) = node.probe() else { continue };
            match probes.iter_mut().find(|(_, p, _)| *p == probe) {
                Some((_, _, nodes)) => *nodes += 1,
                None => probes.push((node.spec().role, probe, 1)),
            }
        }
        probes
    }

    /// The nodes, in start order.
    pub(crate) fn nodes(&self) -> &[L::Node] {
        &self.nodes
    }

    /// Where node `index` stands.
    pub(crate) fn state(&self, index: usize) -> NodeState {
        self.states.get(index).copied().unwrap_or(NodeState::Down)
    }

    /// Crashes node `index` (SIGKILL), after saving its traffic counters.
    pub(crate) async fn kill(&mut self, index: usize) {
        self.retire_traffic(index).await;
        self.nodes[index].signal(Signal::Kill).await;
        self.nodes[index].wait_exit(STOP_GRACE).await;
        self.states[index] = NodeState::Down;
    }

    /// Departs node `index` gracefully (SIGTERM, SIGKILL after the grace period).
    pub(crate) async fn leave(&mut self, index: usize) {
        self.retire_traffic(index).await;
        self.nodes[index].signal(Signal::Terminate).await;
        if !self.nodes[index].wait_exit(STOP_GRACE).await {
            self.nodes[index].signal(Signal::Kill).await;
        }
        self.states[index] = NodeState::Down;
    }

    /// Freezes node `index` (SIGSTOP); refused for a node that shares its process.
    pub(crate) async fn pause(&mut self, index: usize) -> Result<(), String> {
        self.nodes[index].pausable()?;
        self.nodes[index].signal(Signal::Pause).await;
        self.states[index] = NodeState::Paused;
        Ok(())
    }

    /// Thaws node `index` (SIGCONT).
    pub(crate) async fn resume(&mut self, index: usize) -> Result<(), String> {
        self.nodes[index].pausable()?;
        self.nodes[index].signal(Signal::Resume).await;
        self.states[index] = NodeState::Up;
        Ok(())
    }

    /// Splits the nodes `group` from the others (no packet crosses), replacing an
    /// earlier split; `None` heals. Nodes that are down are left alone (one started
    /// again later is not split). The first error, if any.
    pub(crate) async fn partition(&mut self, group: Option<&[usize]>) -> Result<(), String> {
        let addresses: Vec<Option<std::net::IpAddr>> =
            self.nodes.iter().map(Node::address).collect();
        let mut first = None;
        for i in 0..self.nodes.len() {
            if self.states[i] == NodeState::Down {
                continue;
            }
            let others: Vec<std::net::IpAddr> = match group {
                None => Vec::new(),
                Some(group) => {
                    let inside = group.contains(&i);
                    (0..addresses.len())
                        .filter(|j| group.contains(j) != inside)
                        .filter_map(|j| addresses[j])
                        .collect()
                }
            };
            let result = self.nodes[i].isolate(&others).await;
            if let Err(e) = result {
                first.get_or_insert(format!("{}: {e}", self.nodes[i].spec().name()));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Starts node `index` again with `args` (its own, adjusted by the caller); returns
    /// what to sample of the new instance, if the backend exposes it.
    pub(crate) async fn start_again(
        &mut self,
        index: usize,
        args: TargetArgs,
        ready_timeout: Duration,
    ) -> Result<Option<Probe>, LaunchError> {
        let spec = NodeSpec {
            args,
            ..self.nodes[index].spec().clone()
        };
        let node = self.launcher.launch(spec, ready_timeout).await?;
        let probe = node.probe();
        let old = std::mem::replace(&mut self.nodes[index], node);
        self.retired.push(old);
        self.states[index] = NodeState::Up;
        Ok(probe)
    }

    /// Adds node `index`'s counters to the retired traffic before it goes down.
    async fn retire_traffic(&mut self, index: usize) {
        let node = &self.nodes[index];
        if self.states[index] != NodeState::Up {
            return;
        }
        if let Some(t) = scrape(node, Duration::from_secs(1)).await {
            self.retired_traffic
                .entry(node.spec().role)
                .or_default()
                .add(&t);
        }
    }

    /// Waits until the nodes are quiet — together using under `quiet_cores` of CPU over
    /// two consecutive 250 ms windows — or `limit` passed; returns how long it took.
    /// A swarm bootstraps its DHT after its ready lines (connections, handshakes, routing
    /// queries); a measurement that starts before that ends measures the start-up too.
    pub(crate) async fn settle(&self, quiet_cores: f64, limit: Duration) -> Duration {
        const WINDOW: Duration = Duration::from_millis(250);
        let started = tokio::time::Instant::now();
        let probes: Vec<Probe> = self.probes().into_iter().map(|(_, p, _)| p).collect();
        let cpu_ns = || probes.iter().filter_map(Probe::cpu_ns).sum::<u64>();
        let mut last = cpu_ns();
        let mut quiet_windows = 0;
        while started.elapsed() < limit && quiet_windows < 2 {
            tokio::time::sleep(WINDOW).await;
            let now = cpu_ns();
            let cores = (now.saturating_sub(last)) as f64 / 1e9 / WINDOW.as_secs_f64();
            last = now;
            quiet_windows = if cores < quiet_cores {
                quiet_windows + 1
            } else {
                0
            };
        }
        started.elapsed()
    }

    /// Registers every node's process with the resource sampler under its role, a peer
    /// host once, with the number of peers it runs.
    pub(crate) fn track(&self, sampler: &mut ResourceSampler) {
        for (role, probe, nodes) in self.probes() {
            sampler.track_nodes(role, probe, nodes);
        }
    }

    /// Bytes on the wire per role: every running node's /metrics, plus what nodes that
    /// went down had sent before.
    pub(crate) async fn traffic(&self) -> BTreeMap<Role, Traffic> {
        let live = self
            .nodes
            .iter()
            .zip(&self.states)
            .filter(|(_, s)| **s == NodeState::Up);
        let scrapes = join_all(live.map(|(node, _)| async move {
            (node.spec().role, scrape(node, SCRAPE_TIMEOUT).await)
        }))
        .await;
        let mut traffic = self.retired_traffic.clone();
        for (role, scraped) in scrapes {
            let Some(s) = scraped else {
                tracing::warn!("could not scrape the metrics of a {role}; its traffic is missing from the report");
                continue;
            };
            traffic.entry(role).or_default().add(&s);
        }
        traffic
    }

    /// Stops every node (SIGTERM, then SIGKILL after a grace period); paused nodes are
    /// resumed first so they can stop in order.
    pub(crate) async fn stop(mut self) {
        for index in 0..self.nodes.len() {
            if self.states[index] == NodeState::Paused {
                // Only nodes that could be paused are paused.
                let _ = self.resume(index).await;
            }
        }
        let all = self.nodes.drain(..).chain(self.retired.drain(..));
        join_all(all.map(|n| n.stop(STOP_GRACE))).await;
    }
}

/// One node's byte counters from its /metrics, if it answers within `timeout`.
async fn scrape(node: &impl Node, timeout: Duration) -> Option<Traffic> {
    let (_, body) = request(
        node.ready().admin,
        node.bearer(),
        Method::GET,
        "/metrics",
        Default::default(),
        timeout,
    )
    .await
    .ok()?;
    parse_traffic(&String::from_utf8_lossy(&body))
}

/// A node's traffic from its /metrics text: `None` when a byte counter every node has is
/// missing, or any counter is negative or not a number (then the report says the
/// node's traffic is missing rather than counting it as 0). Counters only peers have
/// read as 0 on other nodes.
fn parse_traffic(text: &str) -> Option<Traffic> {
    let counter = |name: &str| sample(text, name).filter(|v| v.is_finite() && *v >= 0.0);
    let optional = |name: &str| match sample(text, name) {
        None => Some(0.0),
        Some(v) if v.is_finite() && v >= 0.0 => Some(v),
        Some(_) => None,
    };
    Some(Traffic {
        tx_bytes: counter(metric_names::BYTES_SENT)? as u64,
        rx_bytes: counter(metric_names::BYTES_RECEIVED)? as u64,
        chunks_rejected: optional(metric_names::CHUNKS_REJECTED)? as u64,
        upload_busy_s: optional(metric_names::UPLOAD_BUSY_US)? / 1e6,
        duplicate_bytes: optional(metric_names::DUPLICATE_BYTES)? as u64,
        fetches_timed: optional(metric_names::FETCHES_TIMED)? as u64,
        fetch_lookup_s: optional(metric_names::FETCH_LOOKUP_US)? / 1e6,
        fetch_first_block_s: optional(metric_names::FETCH_FIRST_BLOCK_US)? / 1e6,
        fetch_s: optional(metric_names::FETCH_US)? / 1e6,
        gets_answered: gets_answered(text)?,
    })
}

/// The sum of a server's `versus_requests_total{route="get",…}` series; `None` when one
/// is not a count.
fn gets_answered(text: &str) -> Option<u64> {
    let prefix = format!("{}{{route=\"get\",", metric_names::REQUESTS);
    text.lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .map(|rest| {
            rest.rsplit_once(' ')
                .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Traffic between two scrapes (after minus before), per role.
pub(crate) fn traffic_delta(
    before: &BTreeMap<Role, Traffic>,
    after: &BTreeMap<Role, Traffic>,
) -> BTreeMap<Role, Traffic> {
    after
        .iter()
        .map(|(role, a)| {
            let b = before.get(role).cloned().unwrap_or_default();
            (*role, a.since(&b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_negative_counters_are_not_zero() {
        let good = "versus_bytes_sent_total 10\nversus_bytes_received_total 20\n";
        let t = parse_traffic(good).unwrap();
        assert_eq!((t.tx_bytes, t.rx_bytes, t.chunks_rejected), (10, 20, 0));
        assert!(parse_traffic("versus_bytes_sent_total 10\n").is_none());
        assert!(
            parse_traffic("versus_bytes_sent_total -1\nversus_bytes_received_total 2\n").is_none()
        );
        let bad_busy = format!("{good}versus_upload_busy_microseconds_total NaN\n");
        assert!(parse_traffic(&bad_busy).is_none());
        let gets = format!(
            "{good}versus_requests_total{{route=\"get\",status=\"200\"}} 7\nversus_requests_total{{route=\"get\",status=\"404\"}} 2\nversus_requests_total{{route=\"put\",status=\"201\"}} 5\n"
        );
        assert_eq!(parse_traffic(&gets).unwrap().gets_answered, 9);
    }
}
