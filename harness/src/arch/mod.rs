//! The architectures a scenario runs on. Each runner launches its targets, sets up the
//! content, drives the load through [`crate::drive`] and returns a [`RunReport`] and
//! its interval log; what is common to all of them (completion times, the analytical
//! bound, efficiency) is computed here.

pub mod cs;
pub mod p2p;
pub mod url;

use std::collections::BTreeMap;

use crate::drive::Driven;
use crate::driver::OpKind;
use crate::load::{LoadPlan, ModelPlan};
use crate::report::build::{run_report, RunMeta};
use crate::report::model::{Completion, RunReport, Traffic};
use crate::report::RunLog;

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
