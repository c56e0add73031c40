//! The architectures a scenario runs on. Each runner launches its targets, sets up the
//! content, drives the load through [`crate::drive`] and returns a [`RunReport`] and
//! its interval log; what is common to all of them (completion times, the analytical
//! bound, efficiency) is computed here.

pub mod cs;
pub mod p2p;
pub mod url;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::drive::{drive, Driven};
use crate::driver::http::HttpConnector;
use crate::driver::OpKind;
use crate::launch::cluster::{traffic_delta, Cluster};
use crate::load::{LoadPlan, ModelPlan};
use crate::progress::ProgressMode;
use crate::record::resources::{ResourceSampler, HARNESS};
use crate::report::build::{run_report, RunMeta};
use crate::report::model::{Completion, RunReport, Traffic};
use crate::report::RunLog;
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
}

/// Drives `plan` through `connector` doing `workload`, with `cluster`'s nodes (if any)
/// sampled for CPU and memory and scraped for traffic before and after; returns what was
/// driven and the bytes on the wire per role (the harness's from its own counters).
pub async fn drive_targets<W: Workload + ?Sized>(
    plan: &LoadPlan,
    connector: HttpConnector,
    workload: Arc<W>,
    cluster: Option<&Cluster>,
    progress: ProgressMode,
    stop: &CancellationToken,
    label: &str,
) -> anyhow::Result<(Driven, BTreeMap<String, Traffic>)> {
    let counters = connector.counters();
    let mut sampler = ResourceSampler::new();
    let before = match cluster {
        Some(c) => {
            c.track(&mut sampler);
            c.traffic().await
        }
        None => BTreeMap::new(),
    };
    let driven = drive(
        plan,
        connector,
        workload,
        &mut sampler,
        stop,
        progress,
        label,
    )
    .await?;
    let mut traffic = match cluster {
        Some(c) => traffic_delta(&before, &c.traffic().await),
        None => BTreeMap::new(),
    };
    traffic.insert(
        HARNESS.to_string(),
        Traffic {
            tx_bytes: counters.written(),
            rx_bytes: counters.read(),
        },
    );
    Ok((driven, traffic))
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
    ArchRun {
        log: RunLog {
            arch: f.arch.to_string(),
            entries: driven.recorded.hlog,
        },
        report,
    }
}
