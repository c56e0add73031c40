//! The scenario file's shape: what a person writes in TOML, as serde structs.
//!
//! Every table rejects unknown keys, every unit is parsed by its type (so a bad unit is
//! reported at its own line), and every key has a default where one makes sense, so a
//! scenario says only what matters for the experiment. Cross-key rules (for example
//! "an open model needs a rate") live in `validate.rs`.

use serde::{Deserialize, Serialize};
use versus_targets::units::{ArrivalRate, ByteRate, ByteSize, HumanDuration, Percent};

use super::faults::{Churn, Fault};
pub use super::network::{Capacity, Emulation, PeerClass, UploadDistribution};
pub use super::regions::Region;
use super::request::{RequestOrder, Requests};
use super::threshold::Thresholds;

/// A whole scenario: what to run, how hard, on what network, and what counts as passing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in report titles.
    pub name: String,
    /// One or two sentences on what the experiment shows.
    #[serde(default)]
    pub description: String,
    /// What each operation does.
    pub workload: Workload,
    /// How many users, for how long, closed or open.
    #[serde(default)]
    pub load: Load,
    /// Bandwidth caps and added latency applied by the targets.
    #[serde(default)]
    pub network: Network,
    /// Which architectures to run and how many nodes each gets.
    #[serde(default)]
    pub architectures: Architectures,
    /// Pass/fail conditions on the results.
    #[serde(default, skip_serializing_if = "Thresholds::is_empty")]
    pub thresholds: Thresholds,
    /// Faults injected during the run (`[[faults]]`), see [`super::faults`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Peer-to-peer churn: peers leaving and joining at given rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<Churn>,
    /// Further phases, run after the main `[workload]` on fresh nodes, each with its own
    /// workload (and, if given, its own `[phases.load]`, replacing `[load]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
}

/// `[[phases]]`: one more workload to run after the main one, on the same network and
/// architectures.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Its name in reports (`fetch`, say).
    pub name: String,
    /// What each operation does in this phase.
    pub workload: Workload,
    /// The load of this phase; `[load]` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<Load>,
}

impl Scenario {
    /// The scenario's phases as scenarios of their own, with their names: the main
    /// workload first (named after its kind), then each `[[phases]]` entry. A scenario
    /// without phases gives itself alone, unnamed.
    pub fn phase_scenarios(&self) -> Vec<(Option<String>, Scenario)> {
        let base = Scenario {
            phases: Vec::new(),
            ..self.clone()
        };
        if self.phases.is_empty() {
            return vec![(None, base)];
        }
        let first = serde_json::to_value(self.workload.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "main".into());
        let mut out = vec![(Some(first), base.clone())];
        for phase in &self.phases {
            out.push((
                Some(phase.name.clone()),
                Scenario {
                    workload: phase.workload.clone(),
                    load: phase.load.clone().unwrap_or_else(|| self.load.clone()),
                    ..base.clone()
                },
            ));
        }
        out
    }
}

/// The kind of work every user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// GET one URL of any HTTP/1.1 server, again and again.
    Url,
    /// GET objects published before the run, chosen by popularity.
    Fetch,
    /// Every user downloads the same large object once, all at the same instant.
    FlashCrowd,
}

/// How users choose among objects in a `fetch` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Popularity {
    /// Object k is chosen with probability proportional to 1/k^s.
    #[default]
    Zipf,
    /// Every object equally likely.
    Uniform,
}

/// `[workload]`: what each operation does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// `url`, `fetch` or `flash-crowd`.
    pub kind: WorkloadKind,
    /// For `url`: the address to request (http:// or https://); with `requests`, the
    /// base that paths in the requests file are relative to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For `url`: the method, such as `POST` (default `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// For `url`: headers sent with every request, each `"Name: value"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// For `url`: the body, `"@FILE"` (relative to the scenario file) or the text itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// For `url`: a requests file (relative to the scenario file), one request per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<String>,
    /// For `url` with `requests`: `cycle` (default) or `random`.
    #[serde(default, skip_serializing_if = "RequestOrder::is_cycle")]
    pub order: RequestOrder,
    /// For `url`: speak HTTP/2 — h2c with prior knowledge on `http://`, ALPN `h2` on
    /// `https://` (HTTP/1.1 when the server does not pick it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http2: bool,
    /// For `url` with `http2`: concurrent streams per connection, 1 to 1000 (that many
    /// users share one connection; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<u32>,
    /// The requests, read when the scenario is loaded.
    #[serde(skip)]
    pub resolved: Requests,
    /// For `fetch`: how many objects are published before the run.
    #[serde(default = "defaults::objects")]
    pub objects: u32,
    /// For `fetch` and `flash-crowd`: the size of each object.
    #[serde(default = "defaults::object_size")]
    pub object_size: ByteSize,
    /// For `fetch`: how objects are chosen.
    #[serde(default)]
    pub popularity: Popularity,
    /// For `fetch` with Zipf popularity: the exponent s (1.0 is classic Zipf).
    #[serde(default = "defaults::zipf_exponent")]
    pub zipf_exponent: f64,
    /// Check every downloaded object against its content id (error kind `verify`).
    #[serde(default = "defaults::yes")]
    pub verify: bool,
}

/// Closed (a fixed population looping) or open (arrivals at a rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LoadModel {
    /// N users, each looping: operation, then think time.
    #[default]
    Closed,
    /// Operations arrive at a target rate whatever the server does.
    Open,
}

/// How arrivals are spaced in the open model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// Evenly spaced: one every 1/rate seconds.
    #[default]
    Constant,
    /// A Poisson process: exponential gaps with mean 1/rate.
    Poisson,
}

/// One stage of a ramp: move linearly to `users` (closed) or `rate` (open) over `duration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: HumanDuration,
    /// Closed model: the number of users at the end of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Open model: the arrival rate at the end of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<ArrivalRate>,
}

/// `[load]`: the load model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// `closed` (default) or `open`.
    #[serde(default)]
    pub model: LoadModel,
    /// Closed model: concurrent users (also N, the crowd size, for a flash crowd).
    #[serde(default = "defaults::users")]
    pub users: u32,
    /// How long to run when no stages are given.
    #[serde(default = "defaults::duration")]
    pub duration: HumanDuration,
    /// Closed model: stop each user after this many operations (0 = no limit).
    #[serde(default)]
    pub iterations: u64,
    /// Closed model: pause between a user's operations.
    #[serde(default)]
    pub think_time: HumanDuration,
    /// Open model: arrivals per unit of time, for example "500/s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<ArrivalRate>,
    /// Open model: `constant` or `poisson` spacing.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Open model: connections in the pool.
    #[serde(default = "defaults::connections")]
    pub connections: u32,
    /// Open model: most operations waiting or running at once; beyond it arrivals are dropped.
    #[serde(default = "defaults::max_in_flight")]
    pub max_in_flight: u32,
    /// Give up on an operation after this long (error kind `timeout`).
    #[serde(default = "defaults::timeout")]
    pub timeout: HumanDuration,
    /// Closed model: after a failed operation, a user waits this long before its next
    /// one (as real clients back off), so an outage is not a storm of instant failures.
    #[serde(default = "defaults::retry_backoff")]
    pub retry_backoff: HumanDuration,
    /// Load-generator threads (0 = one per core, at most one per user).
    #[serde(default)]
    pub threads: u32,
    /// Ramp stages; when given they replace `duration` (and `users`/`rate` as the level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
}

impl Default for Load {
    fn default() -> Self {
        Self {
            model: LoadModel::Closed,
            users: defaults::users(),
            duration: defaults::duration(),
            iterations: 0,
            think_time: HumanDuration::default(),
            rate: None,
            arrivals: Arrivals::Constant,
            connections: defaults::connections(),
            max_in_flight: defaults::max_in_flight(),
            timeout: defaults::timeout(),
            retry_backoff: defaults::retry_backoff(),
            threads: 0,
            stages: Vec::new(),
        }
    }
}

/// `[network]`: the network profile the targets apply to their data plane.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Upload cap of each server (and of the seed peer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_upload: Option<ByteRate>,
    /// Upload cap of each user's peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_upload: Option<ByteRate>,
    /// Download cap of each user (applied by the harness in client-server runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<ByteRate>,
    /// One-way latency every node adds to what it sends.
    #[serde(default)]
    pub latency: HumanDuration,
    /// Jitter on `latency`: each piece a node sends is delayed by the latency ± up to
    /// this much (uniform; never reordered), at most the latency itself.
    #[serde(default, skip_serializing_if = "super::network::zero_duration")]
    pub jitter: HumanDuration,
    /// Client-server: the servers' data planes speak HTTPS (a self-signed certificate
    /// made for the run, trusted by the users), so both architectures pay for
    /// encryption (peer-to-peer always has Noise).
    #[serde(default)]
    pub tls: bool,
    /// Who applies the rate caps and loss: the targets (`app`, default) or the kernel
    /// of each container (`kernel`, with `launcher = "docker"`).
    #[serde(default, skip_serializing_if = "Emulation::is_app")]
    pub emulation: Emulation,
    /// Packets dropped at random, in each direction (`"1%"`; `emulation = "kernel"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Percent>,
    /// Peer classes: shares of the users with their own caps (`[[network.classes]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<PeerClass>,
    /// The users' peer uploads from a lognormal distribution instead of `peer_upload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_distribution: Option<UploadDistribution>,
    /// Regions: named shares of the users (`[[network.regions]]`), in the order of the
    /// matrix's rows and columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    /// With regions: the one-way latency from each region (a row) to each region (a
    /// column), added by the targets on the data plane in place of `latency`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_matrix: Vec<Vec<HumanDuration>>,
    /// With regions: the region of the servers and of the seed (the first region when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_region: Option<String>,
}

/// `[architectures]`: which architectures run and with how many nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architectures {
    /// Run the client-server target.
    #[serde(default = "defaults::yes")]
    pub cs: bool,
    /// Run the peer-to-peer target.
    #[serde(default = "defaults::yes")]
    pub p2p: bool,
    /// Client-server: number of server replicas.
    #[serde(default = "defaults::servers")]
    pub servers: u32,
    /// Client-server: how many replicas hold each object of a fetch workload (the first
    /// `replication` by rendezvous hashing); a user whose replica cannot be reached asks
    /// the next one. 1 (the default): each object on one replica only.
    #[serde(default = "defaults::replication")]
    pub replication: u32,
    /// How long a target node may take to print its ready line.
    #[serde(default = "defaults::ready_timeout")]
    pub ready_timeout: HumanDuration,
    /// Peer-to-peer: how many users' peers serve corrupted chunks (the last ones).
    #[serde(default)]
    pub corrupt_peers: u32,
    /// Peer-to-peer: how many users' peers accept chunk requests and never answer.
    #[serde(default)]
    pub stall_peers: u32,
    /// How the nodes run: child processes on loopback, or containers.
    #[serde(default)]
    pub launcher: LauncherKind,
    /// The image the containers run (`launcher = "docker"`), as `versus image` builds it.
    #[serde(default = "defaults::image")]
    pub image: String,
    /// Peer-to-peer: users' peers per process (a peer host), `"auto"` or a number; see
    /// [`super::hosting`].
    #[serde(default)]
    pub peers_per_process: super::hosting::PeersPerProcess,
}

/// The image `launcher = "docker"` runs by default: what `versus image` builds,
/// `versus:<this version>`.
pub fn default_image() -> String {
    format!("versus:{}", env!("CARGO_PKG_VERSION"))
}

/// `[architectures] launcher`: what runs the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LauncherKind {
    /// Each node a child process on 127.0.0.1.
    #[default]
    Process,
    /// Each node a container on a bridge network made for the run.
    Docker,
}

impl LauncherKind {
    /// The name as a scenario writes it.
    pub fn name(self) -> &'static str {
        match self {
            LauncherKind::Process => "process",
            LauncherKind::Docker => "docker",
        }
    }
}

impl Default for Architectures {
    fn default() -> Self {
        Self {
            cs: true,
            p2p: true,
            servers: defaults::servers(),
            replication: defaults::replication(),
            ready_timeout: defaults::ready_timeout(),
            corrupt_peers: 0,
            stall_peers: 0,
            launcher: LauncherKind::default(),
            image: defaults::image(),
            peers_per_process: Default::default(),
        }
    }
}

/// Default values, one function each so serde can name them.
mod defaults {
    use super::*;
    use std::time::Duration;

    pub(super) fn yes() -> bool {
        true
    }
    pub(super) fn objects() -> u32 {
        16
    }
    pub(super) fn object_size() -> ByteSize {
        ByteSize(64 << 10)
    }
    pub(super) fn zipf_exponent() -> f64 {
        1.0
    }
    pub(super) fn users() -> u32 {
        8
    }
    pub(super) fn duration() -> HumanDuration {
        HumanDuration(Duration::from_secs(10))
    }
    pub(super) fn connections() -> u32 {
        64
    }
    pub(super) fn max_in_flight() -> u32 {
        1024
    }
    pub(super) fn timeout() -> HumanDuration {
        HumanDuration(Duration::from_secs(30))
    }
    pub(super) fn retry_backoff() -> HumanDuration {
        HumanDuration(Duration::from_millis(100))
    }
    pub(super) fn servers() -> u32 {
        1
    }
    pub(super) fn replication() -> u32 {
        1
    }
    pub(super) fn ready_timeout() -> HumanDuration {
        HumanDuration(Duration::from_secs(10))
    }
    pub(super) fn image() -> String {
        super::default_image()
    }
}
