//! One run merged from its shards: operations and rows ([`super::ops`]), then the
//! run's own figures — duration and makespan from the common start, the schedule, the
//! traffic and resources, and each shard's part.

use std::collections::BTreeMap;

use super::ops::{merge_intervals, merge_ops};
use super::ShardMergeError;
use crate::record::histogram;
use crate::record::resources::{HarnessLoad, RoleResources};
use crate::report::model::{Completion, RunReport, ScheduleReport, ShardPart, ShardRun, Traffic};
use crate::report::resilience;

/// The harness role: each shard's own load generator, summed. Every other role is a
/// target the shards share.
const HARNESS: &str = "harness";

/// One shard's run.
pub(super) struct Part<'a> {
    /// How errors name the shard's report.
    pub(super) label: &'a str,
    /// Its index.
    pub(super) index: u32,
    /// The machine it ran on.
    pub(super) hostname: &'a str,
    /// Its run.
    pub(super) run: &'a RunReport,
}

impl Part<'_> {
    fn offset(&self) -> f64 {
        self.run.shard.as_ref().map_or(0.0, |s| s.start_offset_s)
    }
}

/// Merges one run of every shard.
pub(super) fn merge(parts: &[Part<'_>]) -> Result<RunReport, ShardMergeError> {
    let first = parts[0].run;
    // From the common start to the end of the last shard's drain.
    let duration_s = parts
        .iter()
        .map(|p| p.offset().max(0.0) + p.run.duration_s)
        .fold(0.0, f64::max);
    let ops = merge_ops(parts, duration_s)?;
    let (intervals, interval_histograms) = merge_intervals(parts)?;
    let one_machine = parts.iter().all(|p| p.hostname == parts[0].hostname);
    let mut merged = RunReport {
        users: parts.iter().map(|p| p.run.users).sum(),
        duration_s,
        schedule: merge_schedules(parts),
        // A user's arrivals are split over the shards: no shard has its whole histogram.
        per_user: None,
        completion: completion(parts, &ops),
        traffic: merge_traffic(parts),
        resources: merge_resources(parts),
        harness: merge_harness(parts, one_machine),
        cpu_cores_used: if duration_s > 0.0 {
            parts
                .iter()
                .map(|p| p.run.cpu_cores_used * p.run.duration_s)
                .sum::<f64>()
                / duration_s
        } else {
            0.0
        },
        cpu_cores_peak: combine(parts.iter().map(|p| p.run.cpu_cores_peak), one_machine),
        other_cores: parts
            .iter()
            .filter_map(|p| p.run.other_cores)
            .reduce(f64::max),
        admin_overhead_us: parts.iter().filter_map(|p| p.run.admin_overhead_us).max(),
        faults: parts.iter().flat_map(|p| p.run.faults.clone()).collect(),
        resilience: None,
        intervals,
        ops,
        shard: Some(ShardRun {
            start_offset_s: 0.0,
            interval_histograms,
            parts: parts.iter().map(part).collect(),
        }),
        ..first.clone()
    };
    merged.efficiency = merged
        .bound_s
        .zip(merged.completion.as_ref())
        .map(|(b, c)| b / c.makespan_s);
    let (finished, failed) = merged.finished_and_failed();
    merged.availability = resilience::run_availability(finished, failed);
    Ok(merged)
}

/// Shards on one machine share its cores: their busiest seconds add up (at worst they
/// coincide). On separate machines, the busiest of them.
fn combine(values: impl Iterator<Item = f64>, one_machine: bool) -> f64 {
    if one_machine {
        values.sum()
    } else {
        values.fold(0.0, f64::max)
    }
}

fn part(p: &Part<'_>) -> ShardPart {
    ShardPart {
        index: p.index,
        hostname: p.hostname.to_string(),
        users: p.run.users,
        start_offset_s: p.offset(),
        duration_s: p.run.duration_s,
        count: p.run.finished_and_failed().0,
        resources: p.run.resources.clone(),
        harness: p.run.harness.clone(),
        cpu_cores_used: p.run.cpu_cores_used,
        saturated: p.run.schedule.as_ref().is_some_and(|s| s.saturated),
    }
}

/// The open model's schedule keeping, summed; saturated if any shard was.
fn merge_schedules(parts: &[Part<'_>]) -> Option<ScheduleReport> {
    let schedules: Vec<&ScheduleReport> = parts
        .iter()
        .filter_map(|p| p.run.schedule.as_ref())
        .collect();
    if schedules.is_empty() {
        return None;
    }
    let (intended, late, dropped) = schedules.iter().fold((0, 0, 0), |(i, l, d), s| {
        (i + s.intended, l + s.late, d + s.dropped)
    });
    Some(ScheduleReport {
        intended,
        late,
        dropped,
        saturated: schedules.iter().any(|s| s.saturated) || dropped > 0 || late * 100 > intended,
    })
}

/// One-shot workloads: the makespan from the common start to the last shard's last
/// completion; the median and 99th percentile from the added download histogram.
fn completion(
    parts: &[Part<'_>],
    ops: &BTreeMap<String, crate::report::model::OpReport>,
) -> Option<Completion> {
    let makespan_s = parts
        .iter()
        .filter_map(|p| {
            p.run
                .completion
                .as_ref()
                .map(|c| p.offset().max(0.0) + c.makespan_s)
        })
        .reduce(f64::max)?;
    let get = ops
        .get("get")
        .and_then(|g| histogram::decode(&g.histogram).ok());
    let s = |q: f64| {
        get.as_ref()
            .filter(|h| !h.is_empty())
            .map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1e6)
    };
    Some(Completion {
        makespan_s,
        p50_s: s(0.5),
        p99_s: s(0.99),
    })
}

/// The harness's bytes summed (each shard has its own); a shared target's from the
/// shard that saw the most of it (each shard scrapes the same counters over its own
/// window, which covers every shard's load when their windows overlap).
fn merge_traffic(parts: &[Part<'_>]) -> BTreeMap<String, Traffic> {
    let mut out: BTreeMap<String, Traffic> = BTreeMap::new();
    for p in parts {
        for (role, t) in &p.run.traffic {
            let acc = out.entry(role.clone()).or_default();
            if role == HARNESS {
                acc.add(t);
            } else if t.tx_bytes + t.rx_bytes > acc.tx_bytes + acc.rx_bytes {
                *acc = t.clone();
            }
        }
    }
    out
}

/// The harness's CPU and memory summed over the shards; a shared target's as the shard
/// that saw it busiest sampled it.
fn merge_resources(parts: &[Part<'_>]) -> BTreeMap<String, RoleResources> {
    let mut out: BTreeMap<String, RoleResources> = BTreeMap::new();
    for p in parts {
        for (role, r) in &p.run.resources {
            let acc = out.entry(role.clone()).or_default();
            if role == HARNESS {
                acc.cpu_s += r.cpu_s;
                acc.peak_rss_bytes += r.peak_rss_bytes;
                acc.peak_rss_per_process_bytes = acc
                    .peak_rss_per_process_bytes
                    .max(r.peak_rss_per_process_bytes);
                acc.peak_rss_per_node_bytes =
                    acc.peak_rss_per_node_bytes.max(r.peak_rss_per_node_bytes);
                acc.processes += r.processes;
            } else if r.cpu_s > acc.cpu_s {
                *acc = r.clone();
            }
        }
    }
    out
}

/// The load generators together: their threads summed, saturated if any was.
fn merge_harness(parts: &[Part<'_>], one_machine: bool) -> HarnessLoad {
    HarnessLoad {
        threads: parts.iter().map(|p| p.run.harness.threads).sum(),
        peak_cpu_cores: combine(
            parts.iter().map(|p| p.run.harness.peak_cpu_cores),
            one_machine,
        ),
        saturated_seconds: parts
            .iter()
            .map(|p| p.run.harness.saturated_seconds)
            .max()
            .unwrap_or(0),
        cpu_saturated: parts.iter().any(|p| p.run.harness.cpu_saturated),
    }
}
