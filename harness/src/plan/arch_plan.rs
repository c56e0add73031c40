//! [`ArchPlan`]: everything one architecture's run will do, as a value built from the
//! resolved scenario alone, with no I/O — the nodes to start, the objects to publish and
//! where, what users fetch and through which plane, the load plan, the fault schedule
//! and the analytical bound. The executor carries it out; tests inspect it.

use std::time::Duration;

use versus_targets::tls::Trust;
use versus_targets::units::ByteRate;

use super::faults::Planned;
use super::load::LoadPlan;
use super::nodes::NodeSpec;
use super::objects::{CatalogEntry, ObjectPlan};
use super::regions::{RegionPlan, UserLatency};
use crate::arch::{Arch, Role};
use crate::scenario::model::WorkloadKind;
use crate::scenario::url::{Target, TargetError};
use crate::scenario::Scenario;

/// What the users do, once the objects are published.
#[derive(Debug, Clone)]
pub enum WorkloadPlan {
    /// Every user fetches `entry` once, at the same instant, spread round-robin over
    /// `endpoints` endpoints.
    OneShot {
        /// The object.
        entry: CatalogEntry,
        /// Endpoints to spread the users over.
        endpoints: usize,
    },
    /// Users fetch from the catalogue by popularity.
    Fetch {
        /// The Zipf exponent, or `None` for uniform popularity.
        zipf: Option<f64>,
        /// Peer-to-peer: user u always asks its own peer, endpoint `u % n`.
        own_endpoints: Option<usize>,
    },
    /// Send a url workload's requests again and again.
    Requests(crate::scenario::request::Requests),
}

/// Where the users' requests go.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// The data planes of every node of this role (server replicas).
    DataPlanes(Role),
    /// The admin planes of every node of this role (each user's own peer).
    AdminPlanes(Role),
    /// An HTTP server the harness did not start.
    Url(Target),
}

/// TLS between the users and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsPlan {
    /// `network.tls = true`: the executor makes a self-signed certificate for the run,
    /// every server replica serves with it, and the users trust exactly it.
    Generated,
    /// An `https://` URL: the users trust as the command line says (the built-in roots
    /// by default, `--cacert`, `--insecure`).
    Url(Trust),
}

/// One architecture's run, planned.
#[derive(Debug, Clone)]
pub struct ArchPlan {
    /// Which architecture.
    pub arch: Arch,
    /// What is driven, in words (`versus server × 2`, a URL).
    pub target: String,
    /// Users (closed model; a P2P user is its own peer).
    pub users: usize,
    /// The nodes to start, in start order (a seed before the peers that join it).
    pub nodes: Vec<NodeSpec>,
    /// What to publish before the load, and where.
    pub objects: Vec<ObjectPlan>,
    /// What the users fetch.
    pub catalog: Vec<CatalogEntry>,
    /// How the users choose what to fetch.
    pub workload: WorkloadPlan,
    /// Check every downloaded body against its content id.
    pub verify: bool,
    /// Where the users' requests go.
    pub endpoints: Endpoints,
    /// Each user's download cap, applied on the harness side (client-server).
    pub user_download: Option<ByteRate>,
    /// Client-server with peer classes: user i's own download cap (its class's), in
    /// place of `user_download`; empty when every user has `user_download`.
    pub user_downloads: Vec<Option<ByteRate>>,
    /// TLS on the users' connections, if any.
    pub tls: Option<TlsPlan>,
    /// With `[[network.regions]]`: each user's region, the nodes' region, the matrix
    /// (client-server users apply their latencies in the harness).
    pub regions: Option<RegionPlan>,
    /// Client-server with regions: the latencies each user's connections get in the
    /// harness (both directions; the servers add none).
    pub user_latency: Option<UserLatency>,
    /// When and how hard.
    pub load: LoadPlan,
    /// Faults, in time order.
    pub faults: Vec<Planned>,
    /// One-shot workloads: the analytical lower bound on the makespan, seconds.
    pub bound_s: Option<f64>,
    /// A one-shot workload (completion times are reported).
    pub one_shot: bool,
    /// Servers keep their objects in scratch data directories (so a restarted one
    /// serves them again).
    pub data_dirs: bool,
    /// A swarm: wait until every peer has joined and the swarm is quiet, and measure
    /// the admin plane's overhead.
    pub swarm: bool,
    /// How long a node may take to print its ready line (or the swarm to join).
    pub ready_timeout: Duration,
    /// A URL that resolves beyond loopback may be driven (`--allow-remote-target`);
    /// never set by a scenario file, so a scenario alone cannot aim load elsewhere.
    pub allow_remote_target: bool,
    /// Peer-to-peer: users' peers per process (1: each its own; more: peer hosts of
    /// that many, the last one possibly fewer; 0: attached nodes, not the harness's to
    /// host). 1 for client-server.
    pub peers_per_process: usize,
}

/// How the users' peers of a run were hosted (`runs[].peer_hosting`); the seed always
/// has a process of its own and is not counted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct PeerHosting {
    /// Processes the users' peers were started in.
    pub processes: u32,
    /// Peers per process (the last may have fewer); 1 when each peer had its own.
    pub peers_per_process: u32,
}

/// A scenario that cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The URL to drive is unusable.
    #[error(transparent)]
    Url(#[from] TargetError),
    /// The workload does not run on this architecture.
    #[error("a url workload drives an HTTP server: --arch p2p does not apply")]
    UrlOnP2p,
}

impl ArchPlan {
    /// Peer-to-peer: how the users' peers are hosted.
    pub fn peer_hosting(&self) -> Option<PeerHosting> {
        if self.arch != Arch::P2p || self.peers_per_process == 0 {
            return None;
        }
        let k = self.peers_per_process;
        Some(PeerHosting {
            processes: u32::try_from(self.users.div_ceil(k)).unwrap_or(u32::MAX),
            peers_per_process: u32::try_from(k).unwrap_or(u32::MAX),
        })
    }

    /// The plan of `scenario` on `arch`.
    pub fn build(scenario: &Scenario, arch: Arch) -> Result<ArchPlan, PlanError> {
        match (scenario.workload.kind, arch) {
            (WorkloadKind::Url, Arch::Cs) => super::url::plan(scenario),
            (WorkloadKind::Url, Arch::P2p) => Err(PlanError::UrlOnP2p),
            (_, Arch::Cs) => Ok(super::cs::plan(scenario)),
            (_, Arch::P2p) => Ok(super::p2p::plan(scenario)),
        }
    }

    /// Client-server: the number of server replicas (reported with the run).
    pub fn arch_servers(&self) -> Option<u32> {
        (self.arch == Arch::Cs && !self.nodes.is_empty()).then_some(self.nodes.len() as u32)
    }

    /// Client-server fetch workloads with `replication` > 1: how many replicas hold each
    /// object.
    pub fn arch_replication(&self) -> Option<u32> {
        let copies = (self.arch == Arch::Cs && !self.one_shot)
            .then(|| self.objects.iter().map(|o| o.holders.len()).max())
            .flatten()?;
        (copies > 1).then_some(copies as u32)
    }

    /// Request paths of what users fetch (for the fault gate's per-object exposure).
    pub fn paths(&self) -> Vec<bytes::Bytes> {
        match &self.workload {
            WorkloadPlan::OneShot { entry, .. } => vec![entry.path.clone()],
            _ => self.catalog.iter().map(|e| e.path.clone()).collect(),
        }
    }
}

/// The parts every plan of a scenario shares.
pub(super) fn common(scenario: &Scenario) -> (LoadPlan, bool, Duration) {
    let load = super::load::load_plan(scenario);
    let one_shot = scenario.workload.kind == WorkloadKind::FlashCrowd;
    (load, one_shot, scenario.architectures.ready_timeout.0)
}

/// How users choose among `catalog` in a fetch workload.
pub(super) fn fetch_workload(scenario: &Scenario, own_endpoints: Option<usize>) -> WorkloadPlan {
    let w = &scenario.workload;
    WorkloadPlan::Fetch {
        zipf: (w.popularity == crate::scenario::model::Popularity::Zipf).then_some(w.zipf_exponent),
        own_endpoints,
    }
}
