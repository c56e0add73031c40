//! The fault schedule a scenario asks for: `[[faults]]` entries (kill the server at 5 s
//! for 3 s, pause a quarter of the peers, …) and `[churn]`, peers leaving and joining at
//! given rates. Each fault applies to the architecture that has its target: `server:N`
//! and `servers` to client-server, `seed`, `peer:N`, `peers` and `holders:K` to
//! peer-to-peer.
//!
//! ```toml
//! [[faults]]
//! at = "4s"              # when, from the start of the load
//! action = "kill"        # kill | pause | resume | restart | leave | join | partition | heal
//! target = "server:0"    # server:N | servers | seed | peer:N | peers | holders:K
//! duration = "3s"        # kill/leave: start it again after; pause: resume after
//!
//! [[faults]]
//! at = "4s"
//! action = "kill"
//! target = "peers"
//! fraction = 0.25        # or count = 4 (plural targets only)
//!
//! [churn]                # peer-to-peer only
//! leave_per_minute = 0.10   # share of the peers that leave per minute
//! ```

use crate::arch::{Arch, Role};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use versus_targets::units::HumanDuration;

/// What happens to the targeted nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// SIGKILL: a crash. With `duration`, the node is started again afterwards.
    Kill,
    /// SIGSTOP: the node freezes, connections stay open. With `duration`, resumed after.
    Pause,
    /// SIGCONT for paused nodes.
    Resume,
    /// Crash and start again at once (a node already down is just started).
    Restart,
    /// SIGTERM: a graceful departure. With `duration`, the node joins again afterwards.
    Leave,
    /// Start again nodes that are down (left or killed), on the same addresses.
    Join,
    /// Split the targeted nodes from every other node of the run: nothing crosses
    /// between the two groups (containers: iptables DROP between their addresses).
    /// With `duration`, healed after.
    Partition,
    /// Undo a partition: every node reaches every other again.
    Heal,
}

impl FaultAction {
    /// The name used in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultAction::Kill => "kill",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::Restart => "restart",
            FaultAction::Leave => "leave",
            FaultAction::Join => "join",
            FaultAction::Partition => "partition",
            FaultAction::Heal => "heal",
        }
    }

    /// True for actions a `duration` can undo (kill, pause, leave, partition).
    pub fn can_last(self) -> bool {
        matches!(
            self,
            FaultAction::Kill | FaultAction::Pause | FaultAction::Leave | FaultAction::Partition
        )
    }
}

/// Which nodes a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FaultTarget {
    /// One client-server replica, by index.
    Server(u32),
    /// Client-server replicas (all, or `count` / `fraction` of them).
    Servers,
    /// The peer-to-peer seed (the node that holds the content at the start).
    Seed,
    /// One user's peer, by index.
    Peer(u32),
    /// Users' peers (all, or `count` / `fraction` of them).
    Peers,
    /// Every peer-to-peer node (the seed and users' peers) that holds the whole of object
    /// K of the workload (0-based, the most popular first) when the fault comes: the
    /// only holders of that object.
    Holders(u32),
}

impl FaultTarget {
    /// `cs` or `p2p`: the architecture that has this target.
    pub fn arch(self) -> Arch {
        match self {
            FaultTarget::Server(_) | FaultTarget::Servers => Arch::Cs,
            FaultTarget::Seed
            | FaultTarget::Peer(_)
            | FaultTarget::Peers
            | FaultTarget::Holders(_) => Arch::P2p,
        }
    }

    /// The node role it selects (`server`, `seed`, `peer`; holders are peers, and the
    /// seed when it holds the object).
    pub fn role(self) -> Role {
        match self {
            FaultTarget::Server(_) | FaultTarget::Servers => Role::Server,
            FaultTarget::Seed => Role::Seed,
            FaultTarget::Peer(_) | FaultTarget::Peers | FaultTarget::Holders(_) => Role::Peer,
        }
    }

    /// True for targets that take `count` or `fraction`.
    pub fn is_plural(self) -> bool {
        matches!(self, FaultTarget::Servers | FaultTarget::Peers)
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultTarget::Server(i) => write!(f, "server:{i}"),
            FaultTarget::Servers => f.write_str("servers"),
            FaultTarget::Seed => f.write_str("seed"),
            FaultTarget::Peer(i) => write!(f, "peer:{i}"),
            FaultTarget::Peers => f.write_str("peers"),
            FaultTarget::Holders(k) => write!(f, "holders:{k}"),
        }
    }
}

impl FromStr for FaultTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("unknown fault target {s:?}; use server:N, servers, seed, peer:N, peers or holders:K")
        };
        match s.trim() {
            "servers" => return Ok(FaultTarget::Servers),
            "seed" => return Ok(FaultTarget::Seed),
            "peers" => return Ok(FaultTarget::Peers),
            _ => {}
        }
        let (kind, index) = s.trim().split_once(':').ok_or_else(bad)?;
        let index: u32 = index.parse().map_err(|_| bad())?;
        match kind {
            "server" => Ok(FaultTarget::Server(index)),
            "peer" => Ok(FaultTarget::Peer(index)),
            "holders" => Ok(FaultTarget::Holders(index)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for FaultTarget {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FaultTarget> for String {
    fn from(t: FaultTarget) -> String {
        t.to_string()
    }
}

/// One `[[faults]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, measured from the start of the load.
    pub at: HumanDuration,
    /// What to do.
    pub action: FaultAction,
    /// To which nodes.
    pub target: FaultTarget,
    /// Plural targets: how many nodes (chosen at random, reproducibly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Plural targets: which share of the nodes (rounded up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Kill, pause, leave: undo after this long (start again, resume, join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
}

/// How churning peers depart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Departure {
    /// SIGTERM: the peer shuts down in order.
    #[default]
    Leave,
    /// SIGKILL: the peer crashes.
    Kill,
}

/// The distribution of peers' session lengths (time online before departing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionLengths {
    /// Memoryless: a peer is as likely to leave in any second (the default).
    #[default]
    Exponential,
    /// Weibull with shape `churn.shape` (below 1: many short sessions and a few long
    /// ones, as measured in deployed swarms).
    Weibull,
    /// Lognormal with σ = `churn.shape` (of the logarithm).
    Lognormal,
}

/// `[churn]`: peer-to-peer peers leave and join during the run. Either per-peer sessions
/// (`mean_session`: each peer draws how long it stays, departs, stays offline for an
/// exponential time, so rejoins are Poisson arrivals, and starts a new session) or, as
/// before, shares of the swarm per minute at evenly spaced times (`leave_per_minute`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    /// Share of the peers that leave per minute (0.10 = 10 % per minute), evenly spaced.
    #[serde(default)]
    pub leave_per_minute: f64,
    /// Per-peer sessions: the mean time a peer stays online before it departs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_session: Option<HumanDuration>,
    /// Per-peer sessions: their distribution.
    #[serde(default)]
    pub session: SessionLengths,
    /// Per-peer sessions: Weibull shape k, or lognormal σ (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<f64>,
    /// Per-peer sessions: mean time offline before the peer rejoins (default 2 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_offline: Option<HumanDuration>,
    /// Per-peer sessions: seed of the draws, so a scenario always churns the same way.
    #[serde(default = "default_churn_seed")]
    pub seed: u64,
    /// Share of the peers that (re)join per minute; defaults to `leave_per_minute`, so
    /// the swarm keeps its size on average. A joining peer comes back empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_per_minute: Option<f64>,
    /// Churn begins this long after the start of the load.
    #[serde(default)]
    pub start: HumanDuration,
    /// How a peer departs: `leave` (graceful) or `kill` (crash).
    #[serde(default)]
    pub departure: Departure,
}

fn default_churn_seed() -> u64 {
    1
}

impl Churn {
    /// The join rate of evenly spaced churn (share of peers per minute).
    pub fn join_rate(&self) -> f64 {
        if self.mean_session.is_some() {
            // Per-peer sessions rejoin on their own.
            return 0.0;
        }
        self.join_per_minute.unwrap_or(self.leave_per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        for text in [
            "server:0",
            "servers",
            "seed",
            "peer:12",
            "peers",
            "holders:3",
        ] {
            let t: FaultTarget = text.parse().unwrap();
            assert_eq!(t.to_string(), text);
        }
        for bad in ["server", "server:x", "peer:-1", "client:0", "holders", ""] {
            assert!(bad.parse::<FaultTarget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn holders_name_an_object_of_a_fetch_workload() {
        let scenario = |workload: &str, target: &str| {
            format!(
                "name = \"t\"\n[workload]\n{workload}\n[[faults]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"{target}\"\n"
            )
        };
        let fetch = "kind = \"fetch\"\nobjects = 8";
        assert!(crate::scenario::parse("t", &scenario(fetch, "holders:7"), &[]).is_ok());
        for (workload, target, says) in [
            (fetch, "holders:8", "8 objects"),
            ("kind = \"flash-crowd\"", "holders:0", "fetch"),
        ] {
            let e = crate::scenario::parse("t", &scenario(workload, target), &[]).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("faults[0].target"), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
