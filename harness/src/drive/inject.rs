//! Carries out a fault schedule on a running cluster while the load runs: at each
//! event's time it picks the nodes (reproducibly at random for `peers` with a count),
//! kills, freezes, thaws, departs or starts them again on their old addresses, tells the
//! [`UserGate`] which users went offline, and schedules the undo of faults with a
//! `duration`. Every event, done or failed, is recorded for the report.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::IndexedRandom as _;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use versus_targets::content::ObjectId;

use super::gate::UserGate;
use crate::arch::Role;
use crate::launch::cluster::{Cluster, NodeState};
use crate::launch::http_client::request;
use crate::launch::launcher::{Launcher, Node};
use crate::plan::faults::Planned;
use crate::plan::nodes::TargetArgs;
use crate::record::resources::NewProcesses;
use crate::scenario::faults::{FaultAction, FaultTarget};

/// A fault as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AppliedFault {
    /// When it was carried out, seconds from the start of the load.
    pub t_s: f64,
    /// `kill`, `pause`, `resume`, `restart`, `leave` or `join`.
    pub action: String,
    /// The target as written (`server:0`, `peers`, …).
    pub target: String,
    /// The nodes it hit (`server 0`, `peer 3`).
    pub nodes: Vec<String>,
    /// `faults[i]`, `churn`, or `faults[i] (after 3s)` for an undo.
    pub source: String,
    /// For charts: what happened, in a few words.
    pub label: String,
    /// Why it could not be carried out on some node, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds until the service was available again (see `outcome`), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_s: Option<f64>,
    /// Seconds with availability below 99 % after the fault, until recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_seconds: Option<u32>,
}

/// Longest a node may take to say whether it holds an object (`holders:K`).
const HOLDINGS_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the schedule against a cluster.
pub(crate) struct Injector {
    events: Vec<(Planned, Option<Vec<usize>>)>,
    /// The workload's objects, in catalog order (`holders:K` names object K).
    objects: Vec<ObjectId>,
    gate: Option<Arc<UserGate>>,
    spawned: NewProcesses,
    ready_timeout: Duration,
    rng: SmallRng,
}

impl Injector {
    /// An injector for `events`; `gate` learns about users' peers going up and down,
    /// `spawned` about restarted processes.
    pub(crate) fn new(
        events: Vec<Planned>,
        gate: Option<Arc<UserGate>>,
        spawned: NewProcesses,
        ready_timeout: Duration,
    ) -> Self {
        Self {
            events: events.into_iter().map(|e| (e, None)).collect(),
            objects: Vec::new(),
            gate,
            spawned,
            ready_timeout,
            rng: SmallRng::seed_from_u64(crate::plan::load::SEED),
        }
    }

    /// Names the workload's objects, for `holders:K` targets.
    pub(crate) fn objects(mut self, objects: Vec<ObjectId>) -> Self {
        self.objects = objects;
        self
    }

    /// Carries out every event due before `end` (or until `stop`), then returns what
    /// happened. Nodes left paused are resumed at the end.
    pub(crate) async fn run<L: Launcher>(
        mut self,
        cluster: &mut Cluster<L>,
        start: Instant,
        end: Instant,
        stop: &CancellationToken,
    ) -> Vec<AppliedFault> {
        let mut applied = Vec::new();
        while !self.events.is_empty() {
            let next = (0..self.events.len())
                .min_by_key(|&i| self.events[i].0.at)
                .unwrap_or(0);
            let (event, nodes) = self.events.remove(next);
            let due = start + event.at;
            if due >= end {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = stop.cancelled() => break,
            }
            let t_s = start.elapsed().as_secs_f64();
            let nodes = match (nodes, event.target) {
                (Some(nodes), _) => nodes,
                (None, FaultTarget::Holders(k)) => self.holders(cluster, k as usize, &event).await,
                (None, _) => self.choose(cluster, &event),
            };
            let error = self.apply(cluster, event.action, &nodes, stop).await;
            if let (Some(d), Some(undo)) = (event.duration, undo_of(event.action)) {
                let later = Planned {
                    at: event.at + d,
                    action: undo,
                    duration: None,
                    source: format!(
                        "{} (after {})",
                        event.source,
                        crate::units::format_duration(d)
                    ),
                    ..event.clone()
                };
                self.events.push((later, Some(nodes.clone())));
            }
            let names: Vec<String> = nodes
                .iter()
                .map(|&i| cluster.nodes()[i].spec().name())
                .collect();
            tracing::info!(
                "fault at {t_s:.2}s: {} {} ({})",
                event.action.name(),
                names.join(", "),
                event.source
            );
            applied.push(AppliedFault {
                t_s,
                action: event.action.name().into(),
                target: event.target.to_string(),
                label: label(event.action, &event.target, nodes.len()),
                nodes: names,
                source: event.source.clone(),
                error,
                recovery_s: None,
                degraded_seconds: None,
            });
        }
        for index in 0..cluster.nodes().len() {
            if cluster.state(index) == NodeState::Paused {
                // Only nodes that could be paused are paused.
                let _ = cluster.resume(index).await;
            }
        }
        applied
    }

    /// The nodes a `holders:K` event hits: the seed and the peers in a state the action
    /// applies to that hold the whole of object K now (each asked on its admin plane,
    /// `HEAD /objects/{id}`; one that does not answer in time is not a holder).
    async fn holders<L: Launcher>(
        &self,
        cluster: &Cluster<L>,
        k: usize,
        event: &Planned,
    ) -> Vec<usize> {
        let Some(id) = self.objects.get(k) else {
            tracing::warn!("{}: the workload has no object {k}", event.source);
            return Vec::new();
        };
        let path = format!("/objects/{id}");
        let mut asks = tokio::task::JoinSet::new();
        for (i, node) in cluster.nodes().iter().enumerate() {
            if !matches!(node.spec().role, Role::Seed | Role::Peer)
                || !qualifies(event.action, cluster.state(i))
            {
                continue;
            }
            let (admin, bearer, path) = (
                node.ready().admin,
                node.bearer().map(str::to_string),
                path.clone(),
            );
            asks.spawn(async move {
                let answer = request(
                    admin,
                    bearer.as_deref(),
                    Method::HEAD,
                    &path,
                    Bytes::new(),
                    HOLDINGS_TIMEOUT,
                )
                .await;
                matches!(answer, Ok((StatusCode::OK, _))).then_some(i)
            });
        }
        let mut holders: Vec<usize> = asks.join_all().await.into_iter().flatten().collect();
        holders.sort_unstable();
        holders
    }

    /// The nodes an event hits: those of its role in a state the action applies to.
    fn choose<L: Launcher>(&mut self, cluster: &Cluster<L>, event: &Planned) -> Vec<usize> {
        let qualifies = |state: NodeState| qualifies(event.action, state);
        let wanted_index = match event.target {
            FaultTarget::Server(i) | FaultTarget::Peer(i) => Some(i as usize),
            _ => None,
        };
        let candidates: Vec<usize> = cluster
            .nodes()
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                n.spec().role == event.target.role()
                    && wanted_index.is_none_or(|w| n.spec().index == w)
                    && qualifies(cluster.state(*i))
            })
            .map(|(i, _)| i)
            .collect();
        match event.count {
            Some(k) if k < candidates.len() => {
                let mut chosen: Vec<usize> = candidates.sample(&mut self.rng, k).copied().collect();
                chosen.sort_unstable();
                chosen
            }
            _ => candidates,
        }
    }

    /// Carries out `action` on `nodes`; the first error, if any.
    async fn apply<L: Launcher>(
        &self,
        cluster: &mut Cluster<L>,
        action: FaultAction,
        nodes: &[usize],
        stop: &CancellationToken,
    ) -> Option<String> {
        match action {
            FaultAction::Partition => return cluster.partition(Some(nodes)).await.err(),
            FaultAction::Heal => return cluster.partition(None).await.err(),
            _ => {}
        }
        let mut error = None;
        if matches!(
            action,
            FaultAction::Restart | FaultAction::Join | FaultAction::Resume
        ) {
            // These nodes serve again as soon as they are up: stop counting the window
            // before, not after, they are back.
            self.count_degraded(cluster, nodes);
        }
        for &index in nodes {
            match action {
                FaultAction::Kill => cluster.kill(index).await,
                FaultAction::Leave => cluster.leave(index).await,
                FaultAction::Pause | FaultAction::Resume => {
                    let done = if action == FaultAction::Pause {
                        cluster.pause(index).await
                    } else {
                        cluster.resume(index).await
                    };
                    if let Err(e) = done {
                        error.get_or_insert(format!(
                            "{}: {e}",
                            cluster.nodes()[index].spec().name()
                        ));
                    }
                }
                // Handled above, for the whole cluster at once.
                FaultAction::Partition | FaultAction::Heal => {}
                FaultAction::Restart | FaultAction::Join => {
                    if action == FaultAction::Restart && cluster.state(index) != NodeState::Down {
                        cluster.kill(index).await;
                    }
                    let started = match restart_args(cluster, index) {
                        Ok(args) => tokio::select! {
                            started = cluster.start_again(index, args, self.ready_timeout) => {
                                started.map_err(|e| e.to_string())
                            }
                            _ = stop.cancelled() => Err("interrupted while it started".to_string()),
                        },
                        Err(e) => Err(e),
                    };
                    match started {
                        Ok(probe) => {
                            let role = cluster.nodes()[index].spec().role;
                            if let (Ok(mut s), Some(probe)) = (self.spawned.lock(), probe) {
                                s.push((role, probe));
                            }
                        }
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    }
                }
            }
            self.tell_gate(cluster, index);
        }
        self.count_degraded(cluster, &[]);
        error
    }

    /// Tells the gate how many nodes are down or frozen, not counting `returning`.
    fn count_degraded<L: Launcher>(&self, cluster: &Cluster<L>, returning: &[usize]) {
        if let Some(gate) = &self.gate {
            let down = (0..cluster.nodes().len())
                .filter(|i| cluster.state(*i) != NodeState::Up && !returning.contains(i))
                .count();
            gate.set_degraded(down as u32);
        }
    }

    /// A user's own peer going down or up takes the user offline or back.
    fn tell_gate<L: Launcher>(&self, cluster: &Cluster<L>, index: usize) {
        let (Some(gate), Some(node)) = (&self.gate, cluster.nodes().get(index)) else {
            return;
        };
        if node.spec().role == Role::Peer {
            gate.set_online(node.spec().index, cluster.state(index) == NodeState::Up);
        }
    }
}

/// What undoes an action after its `duration`.
fn undo_of(action: FaultAction) -> Option<FaultAction> {
    match action {
        FaultAction::Kill => Some(FaultAction::Restart),
        FaultAction::Pause => Some(FaultAction::Resume),
        FaultAction::Leave => Some(FaultAction::Join),
        FaultAction::Partition => Some(FaultAction::Heal),
        _ => None,
    }
}

/// Whether a node in `state` is one `action` applies to (a kill, a node not down; …).
fn qualifies(action: FaultAction, state: NodeState) -> bool {
    match action {
        FaultAction::Kill => state != NodeState::Down,
        FaultAction::Pause | FaultAction::Leave => state == NodeState::Up,
        FaultAction::Resume => state == NodeState::Paused,
        FaultAction::Join => state == NodeState::Down,
        FaultAction::Restart | FaultAction::Partition | FaultAction::Heal => true,
    }
}

/// "kill server:0", "leave 4 peers", "kill the 3 holders of object 5".
fn label(action: FaultAction, target: &FaultTarget, nodes: usize) -> String {
    match target {
        FaultTarget::Servers | FaultTarget::Peers => {
            let what = target.role().name();
            let plural = if nodes == 1 { "" } else { "s" };
            format!("{} {nodes} {what}{plural}", action.name())
        }
        FaultTarget::Holders(k) => {
            let plural = if nodes == 1 { "" } else { "s" };
            format!("{} the {nodes} holder{plural} of object {k}", action.name())
        }
        single => format!("{} {single}", action.name()),
    }
}

/// Node `index`'s options for starting it again: the same addresses it had (so users
/// and peers find it where it was) and, for peers, a bootstrap node that is up now.
fn restart_args<L: Launcher>(cluster: &Cluster<L>, index: usize) -> Result<TargetArgs, String> {
    let node = &cluster.nodes()[index];
    let args = node
        .spec()
        .args
        .at(&node.ready().data, node.ready().admin)?;
    let bootstrap = (0..cluster.nodes().len())
        .filter(|&i| i != index && cluster.state(i) == NodeState::Up)
        .min_by_key(|&i| cluster.nodes()[i].spec().role != Role::Seed)
        .and_then(|i| cluster.nodes()[i].ready().data.parse().ok());
    Ok(args.bootstrapping(bootstrap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_well() {
        assert_eq!(
            label(FaultAction::Kill, &FaultTarget::Server(0), 1),
            "kill server:0"
        );
        assert_eq!(
            label(FaultAction::Leave, &FaultTarget::Peers, 4),
            "leave 4 peers"
        );
        assert_eq!(
            label(FaultAction::Join, &FaultTarget::Peers, 1),
            "join 1 peer"
        );
    }
}
