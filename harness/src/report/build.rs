//! The one place a [`RunReport`] is made: from the plan of an architecture's run and
//! what the executor measured — operations, schedule, per-second rows and their
//! availability, completion times against the bound, traffic and resources per role,
//! faults with their recovery, and resilience.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::arch::Role;
use crate::drive::gate::UserGate;
use crate::drive::inject::AppliedFault;
use crate::drive::phase::Driven;
use crate::plan::load::ModelPlan;
use crate::plan::ArchPlan;
use crate::record::aggregate::OpTotals;
use crate::record::histogram::{encode, LatencySummary};
use crate::record::op::{ErrorKind, OpKind};
use crate::record::recorder::ScheduleCounters;
use crate::record::traffic::Traffic;

use super::model::{Completion, LatencyReport, OpReport, RunReport, ScheduleReport};
use super::resilience::{self, degraded_seconds, judge_recovery, Resilience};
use super::RunLog;

/// What the executor measured in one run.
pub(crate) struct Measured {
    /// The load phase's recording, resources and harness load.
    pub driven: Driven,
    /// Bytes on the wire per role.
    pub traffic: BTreeMap<Role, Traffic>,
    /// Faults as they happened.
    pub faults: Vec<AppliedFault>,
    /// With faults: what users achieved.
    pub gate: Option<Arc<UserGate>>,
    /// Peer-to-peer: median admin-plane round trip, µs.
    pub admin_overhead_us: Option<u64>,
    /// When the load started, wall-clock time.
    pub started_at: std::time::SystemTime,
    /// Client-server: the HTTP the users spoke.
    pub http: Option<super::model::HttpUse>,
}

/// One architecture's results.
pub struct ArchRun {
    /// The run's report.
    pub report: RunReport,
    /// Its per-second histograms.
    pub log: RunLog,
}

/// The report of the run `plan` describes, from what was `measured`.
pub(crate) fn run_report(plan: &ArchPlan, measured: Measured) -> ArchRun {
    let Measured {
        driven,
        traffic,
        faults,
        gate,
        admin_overhead_us,
        started_at,
        http,
    } = measured;
    let duration_s = driven.duration_s;
    let recorded = &driven.recorded;
    let ops: BTreeMap<String, OpReport> = recorded
        .totals
        .iter()
        .map(|(kind, totals)| {
            let name = recorded.names.name(*kind).to_string();
            (name, op_report(totals, duration_s))
        })
        .collect();
    // A shard reports its own users (its slice) and pool, and the whole run's rate.
    let (model, users, rate_per_s) = match &plan.load.model {
        ModelPlan::Closed(c) => ("closed", c.shard.len_of(c.users), None),
        ModelPlan::Open(o) => ("open", o.connections, Some(o.schedule.max_level())),
    };
    let cpu_cores_used = if duration_s > 0.0 {
        driven.resources.values().map(|r| r.cpu_s).sum::<f64>() / duration_s
    } else {
        0.0
    };
    let mut intervals = recorded.intervals.clone();
    for interval in &mut intervals {
        interval.availability = resilience::second_availability(interval);
    }
    let completion = plan
        .one_shot
        .then(|| completion(recorded.totals.get(&OpKind::Get)))
        .flatten();
    let mut report = RunReport {
        arch: plan.arch,
        phase: None,
        repetition: 0,
        experiment: None,
        conditions: None,
        network: None,
        regions: plan.regions.as_ref().map(super::network::RunRegions::of),
        target: plan.target.clone(),
        servers: plan.arch_servers(),
        replication: plan.arch_replication(),
        tls: plan.tls.is_some(),
        http,
        model: model.into(),
        users,
        rate_per_s,
        duration_s,
        ops,
        schedule: plan
            .load
            .model
            .is_open()
            .then(|| schedule_report(&recorded.schedule)),
        per_user: recorded
            .per_user
            .as_ref()
            .map(|per_user| super::model::PerUserLatency {
                p50_us: per_user.medians(),
            }),
        intervals,
        efficiency: plan
            .bound_s
            .zip(completion.as_ref())
            .map(|(b, c)| b / c.makespan_s),
        completion,
        bound_s: plan.bound_s.filter(|_| plan.one_shot),
        traffic: by_name(traffic),
        resources: by_name(driven.resources.clone()),
        harness: driven.harness.clone(),
        admin_overhead_us,
        peer_hosting: plan.peer_hosting(),
        availability: None,
        cpu_cores_used,
        cpu_cores_peak: driven.peak_cores,
        other_cores: driven.other_cores,
        faults: Vec::new(),
        resilience: None,
        shard: plan
            .load
            .start_at
            .map(|at| super::shard_data::shard_run(at, started_at, &recorded.hlog)),
    };
    let (finished, failed) = report.finished_and_failed();
    report.availability = resilience::run_availability(finished, failed);
    add_faults(&mut report, plan.one_shot, faults, gate.as_deref());
    ArchRun {
        log: RunLog {
            arch: plan.arch.name().to_string(),
            entries: driven.recorded.hlog,
        },
        report,
    }
}

/// Roles as the report names them.
fn by_name<T>(per_role: BTreeMap<Role, T>) -> BTreeMap<String, T> {
    per_role
        .into_iter()
        .map(|(role, v)| (role.name().to_string(), v))
        .collect()
}

/// Completion times of a one-shot workload: every user starts at the same instant, so
/// a download's latency is that user's completion time.
fn completion(get: Option<&OpTotals>) -> Option<Completion> {
    let get = get.filter(|g| !g.latency.is_empty())?;
    let s = |us: u64| us as f64 / 1e6;
    Some(Completion {
        makespan_s: s(get.latency.max()),
        p50_s: s(get.latency.value_at_quantile(0.5)),
        p99_s: s(get.latency.value_at_quantile(0.99)),
    })
}

/// The faults as they happened, their recovery, and what users achieved.
fn add_faults(
    report: &mut RunReport,
    one_shot: bool,
    mut faults: Vec<AppliedFault>,
    gate: Option<&UserGate>,
) {
    if !one_shot {
        // One-shot operations all finish at the end: their seconds say nothing.
        judge_recovery(&mut faults, &report.intervals);
    }
    if let Some(gate) = gate {
        let (survivors, survivors_completed) = gate.survivors();
        let exposure = gate.exposure();
        report.resilience = Some(Resilience {
            users: report.users,
            users_completed: gate.users_succeeded(),
            survivors,
            survivors_completed,
            objects_requested_during_faults: exposure.requested,
            objects_unavailable: exposure.unavailable,
            degraded_seconds: if one_shot {
                0
            } else {
                degraded_seconds(&report.intervals)
            },
            user_seconds_without_service: (!one_shot).then(|| {
                gate.user_seconds_without_service(report.duration_s.ceil().max(1.0) as usize)
            }),
        });
    }
    report.faults = faults
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect();
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
