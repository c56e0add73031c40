//! The canonical report: one struct from which report.json, report.md and the terminal
//! table are all rendered, and which `versus compare` reads back. Field names are the
//! contract in DESIGN.md; add fields freely, never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::per_user::PerUserLatency;
pub use super::shard_model::{IntervalHistogram, ShardInfo, ShardPart, ShardRun};
use crate::arch::Arch;
use crate::machine::MachineInfo;
use crate::record::aggregate::IntervalSummary;
use crate::record::histogram::LatencySummary;
use crate::record::resources::{HarnessLoad, RoleResources};
pub use crate::record::traffic::Traffic;

/// Version of this schema; bumped on any incompatible change (2: every metric in one
/// unit everywhere, so a `completion.makespan` threshold value is in seconds, not µs).
pub const SCHEMA_VERSION: u32 = 2;

/// The whole report of one `versus run`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Schema version, see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Which build produced it.
    pub tool: ToolInfo,
    /// Which machine it ran on.
    pub machine: MachineInfo,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The scenario, fully resolved (defaults and overrides applied).
    pub scenario: serde_json::Value,
    /// One entry per architecture (and per user count in a sweep).
    pub runs: Vec<RunReport>,
    /// Every threshold, evaluated on every run.
    #[serde(default)]
    pub thresholds: Vec<ThresholdResult>,
    /// True when the run was interrupted (Ctrl-C) and this report is partial.
    #[serde(default)]
    pub interrupted: bool,
    /// Why the report is partial when a run failed: the runs before it are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// Client-server and peer-to-peer side by side, per pair of runs with the same users.
    #[serde(default)]
    pub side_by_side: Vec<SideBySide>,
    /// The classic claims, judged from these numbers.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// The claim suite's crossover map, when it ran that experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossover: Option<CrossoverMap>,
    /// A shard's report (`versus run --shard I/M`), or a merge of shard reports: which
    /// slice of which run. A shard's thresholds and claims are judged on the merge only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// One pair of runs (cs and p2p, same users) compared metric by metric.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SideBySide {
    /// Users in both runs.
    pub users: u32,
    /// The phase both runs belong to, when the scenario has phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Metric by metric.
    pub rows: Vec<SideBySideRow>,
}

/// Provenance of the tool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolInfo {
    /// Always `versus`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from (`unknown` outside a checkout).
    pub git_sha: String,
}

impl ToolInfo {
    /// This build.
    pub fn current() -> Self {
        Self {
            name: "versus".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_sha: env!("VERSUS_GIT_SHA").into(),
        }
    }
}

/// One architecture's run.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// `cs` or `p2p`.
    pub arch: Arch,
    /// The scenario's phase this run belongs to, when it has `[[phases]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Which repetition of the same architecture this is (0-based; `versus run --repeat K`
    /// gives K runs per architecture, so `compare` can estimate run-to-run noise).
    #[serde(default)]
    pub repetition: u32,
    /// The claim suite's experiment this run belongs to (`versus claims`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The conditions of this run in words: workload, object size, users, network
    /// profile (what a claim judged from it quotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// The network profile this run had, in bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<RunNetwork>,
    /// With `[[network.regions]]`: the latency matrix and each node's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<super::network::RunRegions>,
    /// What was driven, in words (a URL, or the target and its node count).
    pub target: String,
    /// Client-server: the number of server replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<u32>,
    /// Client-server: how many replicas held each object, when more than one
    /// (`architectures.replication`; users fail over between them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<u32>,
    /// The users' connections spoke TLS (`network.tls`, or an `https://` URL); each new
    /// connection's handshake is then the `tls_handshake` operation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// Client-server: the HTTP the users spoke — the protocol, HTTP/2's streams per
    /// connection, and the connections opened per protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpUse>,
    /// `closed` or `open`.
    pub model: String,
    /// Highest number of users (closed) or of pooled connections (open).
    pub users: u32,
    /// Open model: the highest target arrival rate per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<f64>,
    /// Wall time from the start of the load to the end of the drain, in seconds.
    pub duration_s: f64,
    /// Per operation name (`get`, `put`; over HTTPS also `tls_handshake`: each new
    /// connection's TLS handshake, timed apart — a request's own latency still covers
    /// the connection it had to open).
    pub ops: BTreeMap<String, OpReport>,
    /// Open model: how well the schedule was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleReport>,
    /// Each user's own median latency (runs of at most 256 users, not merged shards):
    /// how response time differed between the users' nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<PerUserLatency>,
    /// One row per second.
    #[serde(default)]
    pub intervals: Vec<IntervalSummary>,
    /// One-shot workloads: completion times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<Completion>,
    /// One-shot workloads: the analytical lower bound on the makespan, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_s: Option<f64>,
    /// `bound_s / completion.makespan_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// Bytes on the wire per role.
    #[serde(default)]
    pub traffic: BTreeMap<String, Traffic>,
    /// CPU and memory per role.
    #[serde(default)]
    pub resources: BTreeMap<String, RoleResources>,
    /// How busy the load generator itself was.
    pub harness: HarnessLoad,
    /// Cores the harness and the targets used together, on average over the run. When
    /// it nears the machine's cores, the run was CPU-bound: with many nodes on a small
    /// machine, times then reflect CPU, not the network profile.
    #[serde(default)]
    pub cpu_cores_used: f64,
    /// Cores the harness and the targets used together in their busiest second (about a
    /// one-second sampling window): a run is CPU-bound when this nears the machine's
    /// cores, even if its average does not.
    #[serde(default)]
    pub cpu_cores_peak: f64,
    /// Cores the machine spent on work other than this run's processes, on average over
    /// the load (another build or benchmark beside it): when high, the run's times say as
    /// much about that work as about the architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cores: Option<f64>,
    /// Peer-to-peer: median round trip of the peers' admin plane (`/healthz`, µs): the
    /// overhead the harness adds to each P2P operation by driving it over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_overhead_us: Option<u64>,
    /// Peer-to-peer: how the users' peers were hosted — processes, and peers per process
    /// (more than 1: peer hosts, `architectures.peers_per_process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_hosting: Option<crate::plan::PeerHosting>,
    /// Share of finished operations that succeeded (1.0 without failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// Faults injected during the run, as they happened (`t_s`, `action`, `target`,
    /// `nodes`, `label`, `recovery_s`, `degraded_seconds`).
    #[serde(default)]
    pub faults: Vec<serde_json::Value>,
    /// Runs with faults: who still completed, objects that became unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resilience: Option<super::resilience::Resilience>,
    /// A shard's run: its offset from the common start and its per-second histograms;
    /// a merged run: each shard's own figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRun>,
}

/// One operation kind's results.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpReport {
    /// Operations that finished, ok or failed.
    pub count: u64,
    /// Of those, failed.
    pub errors_total: u64,
    /// Failed, by kind (`connect`, `timeout`, `io`, `http_4xx`, `http_5xx`, `body`, `verify`, `tls`).
    pub errors: BTreeMap<String, u64>,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    /// Finished operations per second of run time.
    pub rps: f64,
    /// Latency of successful operations, µs. In the open model measured from the
    /// intended send time (corrected for coordinated omission).
    pub latency_us: LatencySummary,
    /// The latency histogram: HdrHistogram V2 + DEFLATE, base64.
    pub histogram: String,
    /// Open model: latency from the actual send time (what a naive tool would report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrected: Option<LatencyReport>,
}

impl OpReport {
    /// Latency statistic `stat` (`p50`, `max`, …, µs), when at least one operation
    /// succeeded: the histogram of a run in which everything failed says nothing.
    pub fn latency(&self, stat: &str) -> Option<f64> {
        (self.count > self.errors_total)
            .then(|| self.latency_us.stat(stat))
            .flatten()
    }

    /// Failed share of finished operations (0 when none finished).
    pub fn error_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors_total as f64 / self.count as f64
        }
    }
}

/// A latency summary with its histogram.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencyReport {
    /// Summary, µs.
    pub latency_us: LatencySummary,
    /// HdrHistogram V2 + DEFLATE, base64.
    pub histogram: String,
}

/// How well the open model kept its schedule.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScheduleReport {
    /// Arrivals the schedule asked for.
    pub intended: u64,
    /// Sent more than 10 ms after their intended time.
    pub late: u64,
    /// Skipped because `max_in_flight` was reached.
    pub dropped: u64,
    /// True when arrivals were dropped or more than 1% were late: the harness (or its
    /// connection pool) could not keep the schedule, and the target is overloaded at
    /// this rate.
    pub saturated: bool,
}

/// Completion times of a one-shot workload.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Completion {
    /// Time until the last user finished, seconds.
    pub makespan_s: f64,
    /// Median user completion time, seconds.
    pub p50_s: f64,
    /// 99th percentile user completion time, seconds.
    pub p99_s: f64,
}

/// One threshold evaluated on one run.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThresholdResult {
    /// The condition as written, such as `get.p99 < 200ms`.
    pub condition: String,
    /// The run's architecture.
    pub arch: Arch,
    /// The run's users (a sweep has several runs per architecture).
    #[serde(default)]
    pub users: u32,
    /// The measured value in the metric's base unit (µs, fraction or number), if measured.
    pub value: Option<f64>,
    /// The measured value, formatted for people.
    pub value_text: String,
    /// Whether it held (a metric that was not measured fails).
    pub passed: bool,
}

/// Share of the machine's cores above which a run is called CPU-bound.
pub const CPU_BOUND: f64 = 0.85;

impl RunReport {
    /// True when the harness and the targets together neared the machine's `cores` in
    /// their busiest second (or on average, for reports without the peak).
    pub fn is_cpu_bound(&self, cores: u32) -> bool {
        self.cpu_cores_peak.max(self.cpu_cores_used) >= CPU_BOUND * f64::from(cores.max(1))
    }

    /// Requests that finished, and of those failed, over every operation but the
    /// connections' set-up (`tls_handshake`, whose failures also fail a request).
    pub fn finished_and_failed(&self) -> (u64, u64) {
        self.ops
            .iter()
            .filter(|(name, _)| crate::record::op::is_request(name))
            .fold((0, 0), |(c, e), (_, o)| {
                (c + o.count, e + o.errors_total.min(o.count))
            })
    }

    /// How the run is named in tables and legends: `cs`, or `cs · fetch` in a phase.
    pub fn label(&self) -> String {
        match &self.phase {
            Some(phase) => format!("{} · {phase}", self.arch),
            None => self.arch.to_string(),
        }
    }
}

impl Report {
    /// True unless the scenario drives an external URL (claims are about the reference
    /// targets).
    pub fn workload_compares_architectures(&self) -> bool {
        self.scenario["workload"]["kind"].as_str() != Some("url")
    }

    /// True when every threshold held.
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }
}

/// One metric measured on both architectures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SideBySideRow {
    /// What is compared, such as `get p99 latency`.
    pub metric: String,
    /// The client-server value, formatted.
    pub cs: String,
    /// The peer-to-peer value, formatted.
    pub p2p: String,
    /// `cs`, `p2p`, or `tie`.
    pub better: String,
    /// The computed verdict, such as `p2p 3.1× shorter`.
    pub verdict: String,
}

/// What the numbers say about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimVerdict {
    /// The measurements agree with the claim.
    Supported,
    /// The measurements disagree with it.
    Contradicted,
    /// Measured, but the interval reaches into the indifference band (or there was one
    /// repetition only): noise, or a difference too small to matter, could explain it.
    Inconclusive,
    /// This report has no measurement that bears on it.
    NotMeasured,
}

impl ClaimVerdict {
    /// As printed in reports.
    pub fn label(self) -> &'static str {
        match self {
            ClaimVerdict::Supported => "supported",
            ClaimVerdict::Contradicted => "contradicted",
            ClaimVerdict::Inconclusive => "inconclusive",
            ClaimVerdict::NotMeasured => "not measured here",
        }
    }
}

/// One claim, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Claim {
    /// Number in DESIGN.md's table.
    pub number: u8,
    /// The claim as textbooks state it.
    pub claim: String,
    /// What the numbers say.
    pub verdict: ClaimVerdict,
    /// The measured evidence, or what would measure it.
    pub evidence: String,
    /// Users, network profile and workload under which the evidence holds: those of the
    /// runs that gave it.
    pub conditions: String,
    /// The verdict in one sentence a newcomer understands.
    #[serde(default)]
    pub explanation: String,
    /// What [`Claim::effect`] measures, such as `makespan cs / p2p at N = 16`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect_metric: String,
    /// The effect: the median over repetitions of the per-repetition effect (a ratio, or
    /// a difference in the metric's unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<f64>,
    /// The paired bootstrap 95 % interval of the effect (two or more repetitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// The indifference band: effects inside it are too small to matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<[f64; 2]>,
    /// Repetitions that gave an effect.
    #[serde(default)]
    pub repetitions: u32,
    /// Runs that could have judged this claim but were left out, and why.
    #[serde(default)]
    pub excluded_runs: Vec<ExcludedRun>,
}

/// The HTTP a run's users spoke.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HttpUse {
    /// `HTTP/1.1`, `HTTP/2`, or `mixed` when some connections spoke each (an `https://`
    /// server that picked HTTP/1.1 for some of `--http2`'s ALPN offers); `none` when no
    /// connection was opened.
    pub protocol: String,
    /// HTTP/2 (`--http2`): concurrent streams per connection asked for (`--streams`),
    /// that is users sharing one connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<u32>,
    /// Connections the users opened, by protocol (`HTTP/1.1`, `HTTP/2`).
    pub connections: BTreeMap<String, u64>,
}

impl HttpUse {
    /// The use of `http1` HTTP/1.1 and `http2` HTTP/2 connections, with `streams`.
    pub fn of(http1: u64, http2: u64, streams: Option<u32>) -> Self {
        let protocol = match (http1, http2) {
            (0, 0) => "none",
            (_, 0) => "HTTP/1.1",
            (0, _) => "HTTP/2",
            _ => "mixed",
        };
        let connections = [("HTTP/1.1", http1), ("HTTP/2", http2)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.to_string(), n))
            .collect();
        Self {
            protocol: protocol.into(),
            streams,
            connections,
        }
    }
}

/// A run's network profile, in bytes per second (`None`: uncapped).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunNetwork {
    /// u_s: each server's (and the seed's) upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_upload: Option<u64>,
    /// u_i: each peer's upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_upload: Option<u64>,
    /// Every user's download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<u64>,
    /// Who applied the rate caps and the loss (and so produced every figure of the
    /// run): the targets' own shapers (`app`) or each container's kernel (`kernel`:
    /// htb qdiscs, ingress through IFB, iptables loss). Latency is always the targets'
    /// own, and client-server users' download caps always the harness's.
    #[serde(default)]
    pub emulation: crate::scenario::network::Emulation,
    /// Share of packets dropped at random in each direction (0.01 = 1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// With peer classes or an upload distribution: Σ u_i over the users' peers, as
    /// the bounds used it (`None`: some peer uncapped, or peers alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_upload_sum: Option<u64>,
    /// With peer classes or an upload distribution: the smallest user download d_min.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_download: Option<u64>,
    /// Users' peers that serve nothing (a class with upload 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub free_riders: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The crossover map of the claim suite: the flash-crowd makespan ratio CS / P2P over
/// the number of users N and the ratio of server to peer upload u_s / u_i, beside the
/// same ratio of the analytical bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CrossoverMap {
    /// One cell per (N, u_s / u_i) measured on both architectures.
    pub cells: Vec<CrossoverCell>,
    /// Per u_s / u_i: the smallest N at which P2P's makespan was shorter (measured) and
    /// at which its bound is lower (analytical); `None` when no N measured was.
    pub crossover: Vec<Crossover>,
}

/// One cell of the [`CrossoverMap`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CrossoverCell {
    /// Users.
    pub users: u32,
    /// u_s / u_i.
    pub upload_ratio: f64,
    /// Measured makespan, CS / P2P (median over repetitions): above 1, P2P was faster.
    pub measured: f64,
    /// The bounds' ratio, CS / P2P.
    pub bound: f64,
}

/// Where P2P starts to win, for one u_s / u_i.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Crossover {
    /// u_s / u_i.
    pub upload_ratio: f64,
    /// Smallest N measured at which P2P's makespan was shorter.
    pub measured_n: Option<u32>,
    /// Smallest N measured at which P2P's bound is lower.
    pub bound_n: Option<u32>,
}

/// A run left out of a claim's judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExcludedRun {
    /// The run, such as `p2p N=16 #2` (experiment and repetition included).
    pub run: String,
    /// Why, such as `CPU-bound: 1.9 of 2 cores in its busiest second`.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(average: f64, peak: f64) -> RunReport {
        serde_json::from_value(serde_json::json!({
            "arch": "p2p", "target": "t", "model": "closed", "users": 8, "duration_s": 10.0,
            "ops": {}, "harness": {"threads": 1, "peak_cpu_cores": 0.5, "saturated_seconds": 0,
            "cpu_saturated": false}, "cpu_cores_used": average, "cpu_cores_peak": peak
        }))
        .expect("a run")
    }

    #[test]
    fn a_run_is_cpu_bound_by_its_busiest_second_not_its_average() {
        // 76 % of 2 cores on average, but saturated for some seconds.
        assert!(run(1.52, 1.95).is_cpu_bound(2));
        assert!(!run(1.52, 1.6).is_cpu_bound(2));
        // Reports from before the peak was recorded fall back to the average.
        assert!(run(1.8, 0.0).is_cpu_bound(2));
    }
}
