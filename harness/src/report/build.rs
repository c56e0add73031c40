//! Turns what was recorded in a run into a [`RunReport`].

use std::collections::BTreeMap;

use crate::driver::ErrorKind;
use crate::faults::outcome;
use crate::record::aggregate::{OpTotals, Recorded};
use crate::record::histogram::{encode, LatencySummary};
use crate::record::recorder::ScheduleCounters;
use crate::record::resources::{HarnessLoad, RoleResources};

use super::model::{LatencyReport, OpReport, RunReport, ScheduleReport, Traffic};

/// What a run is, apart from its measurements.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// `cs` or `p2p`.
    pub arch: String,
    /// What was driven.
    pub target: String,
    /// `closed` or `open`.
    pub model: String,
    /// Users (closed) or connections (open).
    pub users: u32,
    /// Open model: highest target rate.
    pub rate_per_s: Option<f64>,
}

/// Builds a run report from the recording, the resources and the traffic counters.
pub fn run_report(
    meta: RunMeta,
    recorded: &Recorded,
    duration_s: f64,
    resources: BTreeMap<String, RoleResources>,
    harness: HarnessLoad,
    traffic: BTreeMap<String, Traffic>,
) -> RunReport {
    let ops: BTreeMap<String, OpReport> = recorded
        .totals
        .iter()
        .map(|(kind, totals)| (kind.name().to_string(), op_report(totals, duration_s)))
        .collect();
    let schedule = (meta.model == "open").then(|| schedule_report(&recorded.schedule));
    let (count, errors) = ops.values().fold((0, 0), |(c, e), op: &OpReport| {
        (c + op.count, e + op.errors_total)
    });
    let cpu_cores_used = if duration_s > 0.0 {
        resources.values().map(|r| r.cpu_s).sum::<f64>() / duration_s
    } else {
        0.0
    };
    let mut intervals = recorded.intervals.clone();
    for interval in &mut intervals {
        interval.availability = outcome::second_availability(interval);
    }
    RunReport {
        arch: meta.arch,
        phase: None,
        repetition: 0,
        target: meta.target,
        servers: None,
        model: meta.model,
        users: meta.users,
        rate_per_s: meta.rate_per_s,
        duration_s,
        ops,
        schedule,
        intervals,
        completion: None,
        bound_s: None,
        efficiency: None,
        traffic,
        resources,
        harness,
        admin_overhead_us: None,
        availability: outcome::run_availability(count, errors),
        cpu_cores_used,
        faults: Vec::new(),
        resilience: None,
    }
}

fn op_report(totals: &OpTotals, duration_s: f64) -> OpReport {
    let c = &totals.counters;
    let errors = ErrorKind::ALL
        .iter()
        .filter(|k| c.errors[k.index()] > 0)
        .map(|k| (k.name().to_string(), c.errors[k.index()]))
        .collect();
    OpReport {
        count: c.count,
        errors_total: c.errors_total(),
        errors,
        bytes: c.bytes,
        rps: if duration_s > 0.0 {
            c.count as f64 / duration_s
        } else {
            0.0
        },
        latency_us: LatencySummary::of(&totals.latency),
        histogram: encode(&totals.latency),
        uncorrected: totals.uncorrected.as_ref().map(|h| LatencyReport {
            latency_us: LatencySummary::of(h),
            histogram: encode(h),
        }),
    }
}

fn schedule_report(s: &ScheduleCounters) -> ScheduleReport {
    ScheduleReport {
        intended: s.intended,
        late: s.late,
        dropped: s.dropped,
        saturated: s.dropped > 0 || s.late * 100 > s.intended,
    }
}
