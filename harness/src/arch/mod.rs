//! The architectures a scenario runs on. Each runner launches its targets, sets up the
//! content, drives the load through [`crate::drive`] and returns a [`RunReport`] and
//! its interval log; what is common to all of them (completion times, the analytical
//! bound, efficiency) is computed here.

pub mod cs;
pub mod p2p;
pub mod url;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::drive::{drive_at, Driven, START_LEAD};
use crate::driver::http::HttpConnector;
use crate::driver::OpKind;
use crate::faults::inject::{AppliedFault, Injector};
use crate::faults::outcome::{degraded_seconds, judge_recovery, Resilience};
use crate::faults::schedule::Planned;
use crate::faults::UserGate;
use crate::launch::cluster::{traffic_delta, Cluster};
use crate::load::{LoadPlan, ModelPlan};
use crate::progress::ProgressMode;
use crate::record::resources::{ResourceSampler, HARNESS};
use crate::report::build::{run_report, RunMeta};
use crate::report::model::{Completion, RunReport, Traffic};
use crate::report::RunLog;
use crate::scenario::Scenario;
use crate::workload::Workload;

/// One architecture's results.
pub struct ArchRun {
    /// The run's report.
    pub report: RunReport,
    /// Its per-second histograms.
    pub log: RunLog,
}

/// What the runner knows besides the measurements.
pub struct Finish<'a> {
    /// `cs` or `p2p`.
    pub arch: &'a str,
    /// What was driven.
    pub target: String,
    /// The load plan that ran.
    pub plan: &'a LoadPlan,
    /// Bytes on the wire per role.
    pub traffic: BTreeMap<String, Traffic>,
    /// One-shot workloads: the analytical lower bound on the makespan (seconds).
    pub bound_s: Option<f64>,
    /// True for one-shot workloads (completion times are reported).
    pub one_shot: bool,
    /// Faults as they happened.
    pub faults: Vec<AppliedFault>,
    /// With faults: what users achieved.
    pub gate: Option<Arc<UserGate>>,
}

impl<'a> Nodes<'a> {
    /// `cluster` with the faults `scenario` has for `arch` (sized for `(servers, peers)`)
    /// and, when there are any, a gate for `users` users over the objects at `paths`,
    /// installed in `plan`; the gate is also returned, for the report.
    pub fn prepare(
        cluster: &'a mut Cluster,
        scenario: &Scenario,
        arch: &str,
        sizes: (usize, usize),
        users: usize,
        plan: &mut LoadPlan,
        paths: Vec<bytes::Bytes>,
    ) -> (Self, Option<Arc<UserGate>>) {
        let (faults, gate) = crate::faults::prepare(scenario, arch, sizes, users, plan, paths);
        let nodes = Nodes {
            cluster,
            faults,
            gate: gate.clone(),
            ready_timeout: scenario.architectures.ready_timeout.0,
        };
        (nodes, gate)
    }
}

/// The nodes a run drives, and the faults to inject into them while it runs.
pub struct Nodes<'a> {
    /// The running nodes.
    pub cluster: &'a mut Cluster,
    /// Faults, in time order (empty for none).
    pub faults: Vec<Planned>,
    /// Shared with the load loops when there are faults.
    pub gate: Option<Arc<UserGate>>,
    /// How long a restarted node may take to print its ready line.
    pub ready_timeout: Duration,
}

/// What [`drive_targets`] measured.
pub struct Targeted {
    /// The load phase's measurements.
    pub driven: Driven,
    /// Bytes on the wire per role.
    pub traffic: BTreeMap<String, Traffic>,
    /// Faults as they happened.
    pub faults: Vec<AppliedFault>,
}

/// Drives `plan` through `connector` doing `workload`, with the nodes (if any) sampled
/// for CPU and memory, scraped for traffic before and after, and hit by their faults
/// on the load's clock; returns what was driven, the bytes on the wire per role (the
/// harness's from its own counters) and the faults as they happened.
pub async fn drive_targets<W: Workload + ?Sized>(
    plan: &LoadPlan,
    connector: HttpConnector,
    workload: Arc<W>,
    nodes: Option<Nodes<'_>>,
    progress: ProgressMode,
    stop: &CancellationToken,
    label: &str,
) -> anyhow::Result<Targeted> {
    let counters = connector.counters();
    let mut sampler = ResourceSampler::new();
    let before = match &nodes {
        Some(n) => {
            n.cluster.track(&mut sampler);
            n.cluster.traffic().await
        }
        None => BTreeMap::new(),
    };
    let arrivals = sampler.arrivals();
    let start = Instant::now() + START_LEAD;
    let end = start + plan.model.duration();
    // The injector stops when the load does (a flash crowd may end early).
    let load_done = stop.child_token();
    let load = async {
        let driven = drive_at(
            start,
            plan,
            connector,
            workload,
            &mut sampler,
            stop,
            progress,
            label,
        )
        .await;
        load_done.cancel();
        driven
    };
    let faults_and_traffic = async {
        let Some(n) = nodes else {
            return (Vec::new(), BTreeMap::new());
        };
        let injector = Injector::new(n.faults, n.gate, arrivals, n.ready_timeout);
        let faults = injector.run(n.cluster, start, end, &load_done).await;
        // The injector may be done before the load is: count the traffic after it.
        load_done.cancelled().await;
        (faults, traffic_delta(&before, &n.cluster.traffic().await))
    };
    let (driven, (faults, mut traffic)) = tokio::join!(load, faults_and_traffic);
    let driven = driven?;
    traffic.insert(
        HARNESS.to_string(),
        Traffic {
            tx_bytes: counters.written(),
            rx_bytes: counters.read(),
            ..Traffic::default()
        },
    );
    Ok(Targeted {
        driven,
        traffic,
        faults,
    })
}

/// Builds the run report from what was driven.
pub fn finish(f: Finish<'_>, driven: Driven) -> ArchRun {
    let (model, users, rate) = match &f.plan.model {
        ModelPlan::Closed(c) => ("closed", c.users, None),
        ModelPlan::Open(o) => ("open", o.connections, Some(o.schedule.max_level())),
    };
    let meta = RunMeta {
        arch: f.arch.to_string(),
        target: f.target,
        model: model.into(),
        users,
        rate_per_s: rate,
    };
    let mut report = run_report(
        meta,
        &driven.recorded,
        driven.duration_s,
        driven.resources,
        driven.harness,
        f.traffic,
    );
    if f.one_shot {
        // Every user starts at the same instant, so a download's latency is that user's
        // completion time.
        if let Some(get) = driven
            .recorded
            .totals
            .get(&OpKind::Get)
            .filter(|g| !g.latency.is_empty())
        {
            let s = |us: u64| us as f64 / 1e6;
            let completion = Completion {
                makespan_s: s(get.latency.max()),
                p50_s: s(get.latency.value_at_quantile(0.5)),
                p99_s: s(get.latency.value_at_quantile(0.99)),
            };
            report.efficiency = f.bound_s.map(|b| b / completion.makespan_s);
            report.completion = Some(completion);
        }
        report.bound_s = f.bound_s;
    }
    let mut faults = f.faults;
    if !f.one_shot {
        // One-shot operations all finish at the end: their seconds say nothing.
        judge_recovery(&mut faults, &report.intervals);
    }
    if let Some(gate) = &f.gate {
        let (survivors, survivors_completed) = gate.survivors();
        let exposure = gate.exposure();
        report.resilience = Some(Resilience {
            users: report.users,
            users_completed: gate.users_succeeded(),
            survivors,
            survivors_completed,
            objects_requested_during_faults: exposure.requested,
            objects_unavailable: exposure.unavailable,
            degraded_seconds: if f.one_shot {
                0
            } else {
                degraded_seconds(&report.intervals)
            },
        });
    }
    report.faults = faults
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect();
    ArchRun {
        log: RunLog {
            arch: f.arch.to_string(),
            entries: driven.recorded.hlog,
        },
        report,
    }
}
