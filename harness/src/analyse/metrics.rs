//! The metric registry's reading side: how every [`Metric`] is read from a run
//! ([`value`], written once for thresholds, `versus compare`, side by side, export and
//! the claims), which metrics a run has ([`extract`]), and how runs group into
//! repetitions of one configuration.
//!
//! A latency is only read when at least one operation succeeded, a share when at least
//! one finished.

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::{Arch, Role};
pub use crate::metric::{Better, Delta, Metric, RoleStat, Unit};
use crate::metric::{OPERATIONS, ROLES};
use crate::report::model::{OpReport, Report, RunReport};

/// Latency statistics `versus compare` sets side by side.
const COMPARED_LATENCY: [&str; 4] = ["p50", "p90", "p99", "p999"];

/// A metric with what comparisons need of it, resolved once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDef {
    /// The metric.
    pub metric: Metric,
    /// Its name, as `--threshold` and `--metric` write it.
    pub name: String,
    /// The unit of its values.
    pub unit: Unit,
    /// Which way it improves.
    pub better: Better,
    /// Ratio or difference.
    pub kind: Delta,
}

impl MetricDef {
    /// The definition of `metric`.
    pub fn of(metric: Metric) -> Self {
        MetricDef {
            name: metric.to_string(),
            unit: metric.unit(),
            better: metric.better(),
            kind: metric.delta(),
            metric,
        }
    }

    /// The key that puts metrics in display order.
    pub fn order(&self) -> (u8, String, u8) {
        self.metric.order()
    }
}

/// Payload bytes delivered to users.
pub fn delivered_bytes(run: &RunReport) -> u64 {
    run.ops.values().map(|o| o.bytes).sum()
}

/// A sum over the resources of every target role (not the harness), if any was sampled.
fn over_targets(
    run: &RunReport,
    f: impl Fn(&crate::record::resources::RoleResources) -> f64,
) -> Option<f64> {
    let values: Vec<f64> = run
        .resources
        .iter()
        .filter(|(r, _)| r.as_str() != Role::Harness.name())
        .map(|(_, r)| f(r))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// CPU-seconds of every target role (not the harness).
pub fn target_cpu_s(run: &RunReport) -> Option<f64> {
    over_targets(run, |r| r.cpu_s)
}

/// The value of `metric` in `run`, in the metric's unit; `None` when not measured.
pub fn value(metric: &Metric, run: &RunReport) -> Option<f64> {
    let (finished, failed) = run.finished_and_failed();
    let faulted = !run.faults.is_empty();
    match metric {
        Metric::Latency { op, stat } => run.ops.get(op)?.latency(stat),
        Metric::Rps { op } => run.ops.get(op).map(|o| o.rps),
        Metric::OpErrorRate { op } => run
            .ops
            .get(op)
            .filter(|o| o.count > 0)
            .map(OpReport::error_rate),
        Metric::ErrorRate => (finished > 0).then(|| failed as f64 / finished as f64),
        Metric::ErrorsTotal => Some(failed as f64),
        Metric::Makespan => run.completion.as_ref().map(|c| c.makespan_s),
        Metric::Efficiency => run.efficiency,
        Metric::Availability => run.availability.filter(|_| faulted),
        Metric::OutageSeconds => {
            (faulted && run.completion.is_none()).then(|| super::claims::outage_seconds(run) as f64)
        }
        Metric::TargetCpuPerGib => {
            let gib = delivered_bytes(run) as f64 / f64::from(1u32 << 30);
            target_cpu_s(run).filter(|_| gib > 0.0).map(|c| c / gib)
        }
        Metric::TargetPeakRss => over_targets(run, |r| r.peak_rss_bytes as f64),
        Metric::WirePerDelivered => {
            let delivered = delivered_bytes(run);
            let sent: u64 = run.traffic.values().map(|t| t.tx_bytes).sum();
            (delivered > 0 && sent > 0).then(|| sent as f64 / delivered as f64)
        }
        Metric::Role { role, stat } => {
            let usage = run.resources.get(role)?;
            match stat {
                RoleStat::CpuSeconds => Some(usage.cpu_s),
                RoleStat::PeakRss => Some(usage.peak_rss_bytes as f64),
                // The work per operation: unlike throughput it moves with a target's
                // cost per request even while the load generator limits the rate.
                RoleStat::CpuPerOp => {
                    (finished > 0 && usage.cpu_s > 0.0).then(|| usage.cpu_s * 1e6 / finished as f64)
                }
            }
        }
    }
}

/// The metrics `versus compare` sets side by side for `run`: latency percentiles and
/// throughput per operation, the error rate, the makespan, and resources per role.
fn compared(run: &RunReport) -> Vec<Metric> {
    let mut out = Vec::new();
    for op in run.ops.keys() {
        out.extend(COMPARED_LATENCY.iter().map(|stat| Metric::Latency {
            op: op.clone(),
            stat,
        }));
        out.push(Metric::Rps { op: op.clone() });
    }
    out.extend([Metric::ErrorRate, Metric::Makespan]);
    for role in run.resources.keys() {
        for stat in [RoleStat::CpuSeconds, RoleStat::PeakRss, RoleStat::CpuPerOp] {
            out.push(Metric::Role {
                role: role.clone(),
                stat,
            });
        }
    }
    out
}

/// The comparable metrics of one run that it measured, with their values.
pub fn extract(run: &RunReport) -> Vec<(MetricDef, f64)> {
    compared(run)
        .into_iter()
        .filter_map(|m| value(&m, run).map(|v| (MetricDef::of(m), v)))
        .collect()
}

/// Every metric of `runs` (repetitions of one architecture), with one sample per run
/// that measured it, in display order.
pub fn samples(runs: &[&RunReport]) -> Vec<(MetricDef, Vec<f64>)> {
    let mut by_name: BTreeMap<String, (MetricDef, Vec<f64>)> = BTreeMap::new();
    for run in runs {
        for (def, value) in extract(run) {
            by_name
                .entry(def.name.clone())
                .or_insert_with(|| (def, Vec::new()))
                .1
                .push(value);
        }
    }
    let mut out: Vec<_> = by_name.into_values().collect();
    out.sort_by_key(|a| a.0.order());
    out
}

/// An open-model run's arrival rate as an exact key: thousandths of an arrival per second.
pub fn rate_key(run: &RunReport) -> Option<u64> {
    run.rate_per_s.map(|r| (r * 1000.0).round() as u64)
}

/// What makes runs repetitions of one configuration: the claim suite's experiment, the
/// architecture, the number of users, for client-server runs of server replicas, and for
/// the open model the arrival rate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// The claim suite's experiment, if the run belongs to one.
    pub experiment: Option<String>,
    /// `cs` or `p2p`.
    pub arch: Arch,
    /// Users (closed) or pooled connections (open).
    pub users: u32,
    /// Client-server replicas, when recorded.
    pub servers: Option<u32>,
    /// Open model: arrivals per second, in thousandths (an exact key).
    pub rate_milli: Option<u64>,
}

impl GroupKey {
    /// The key of `run`.
    pub fn of(run: &RunReport) -> Self {
        GroupKey {
            experiment: run.experiment.clone(),
            arch: run.arch,
            users: run.users,
            servers: run.servers,
            rate_milli: rate_key(run),
        }
    }

    /// The parts that tell this group from the others of its architecture: `8 users`,
    /// `2 servers` (none when the architecture has one configuration).
    pub fn distinguishing(&self, several_users: bool, several_servers: bool) -> Vec<String> {
        let mut parts: Vec<String> = self.experiment.iter().cloned().collect();
        if let Some(rate) = self.rate_milli.filter(|_| self.experiment.is_some()) {
            parts.push(format!("{}/s", rate as f64 / 1000.0));
        }
        if several_users {
            parts.push(format!("{} users", self.users));
        }
        if several_servers {
            match self.servers {
                Some(1) => parts.push("1 server".to_string()),
                Some(n) => parts.push(format!("{n} servers")),
                None => {}
            }
        }
        parts
    }
}

/// The runs of a report grouped by configuration ([`GroupKey`]): each group holds the
/// repetitions of one configuration.
pub fn groups(report: &Report) -> BTreeMap<GroupKey, Vec<&RunReport>> {
    let mut out: BTreeMap<GroupKey, Vec<&RunReport>> = BTreeMap::new();
    for run in &report.runs {
        out.entry(GroupKey::of(run)).or_default().push(run);
    }
    out
}

/// For each architecture among `keys`: whether it has several user counts, and several
/// server counts (what a group's label must mention).
pub fn variety<'a>(keys: impl IntoIterator<Item = &'a GroupKey>) -> BTreeMap<Arch, (bool, bool)> {
    let mut seen: BTreeMap<Arch, (BTreeSet<u32>, BTreeSet<Option<u32>>)> = BTreeMap::new();
    for k in keys {
        let entry = seen.entry(k.arch).or_default();
        entry.0.insert(k.users);
        entry.1.insert(k.servers);
    }
    seen.into_iter()
        .map(|(arch, (users, servers))| (arch, (users.len() > 1, servers.len() > 1)))
        .collect()
}

/// Operation names and roles that `--threshold` accepts: the contract's, plus any that
/// appear in `reports`.
pub fn known_names(reports: &[&Report]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut ops: BTreeSet<String> = OPERATIONS.iter().map(|s| s.to_string()).collect();
    let mut roles: BTreeSet<String> = ROLES.iter().map(|s| s.to_string()).collect();
    for run in reports.iter().flat_map(|r| &r.runs) {
        ops.extend(run.ops.keys().cloned());
        roles.extend(run.resources.keys().cloned());
    }
    (ops, roles)
}

fn as_strs(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

/// The metric `name` for the given operations and roles, or why it is none.
pub fn parse_name(
    name: &str,
    ops: &BTreeSet<String>,
    roles: &BTreeSet<String>,
) -> Result<Metric, String> {
    Metric::parse(name, &as_strs(ops), &as_strs(roles))
}

/// True when `name` is a metric name for the given operations and roles.
pub fn is_metric_name(name: &str, ops: &BTreeSet<String>, roles: &BTreeSet<String>) -> bool {
    parse_name(name, ops, roles).is_ok()
}

/// The metric names, in words, for error messages.
pub fn describe_names(ops: &BTreeSet<String>, roles: &BTreeSet<String>) -> String {
    Metric::describe_names(&as_strs(ops), &as_strs(roles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names() {
        let (ops, roles) = (set(&["get"]), set(&["server"]));
        for ok in [
            "get.p50",
            "get.p999",
            "get.rps",
            "errors.rate",
            "completion.makespan",
            "get.error_rate",
            "server.cpu_s",
            "server.peak_rss_bytes",
            "server.cpu_per_op",
        ] {
            assert!(is_metric_name(ok, &ops, &roles), "{ok}");
        }
        for bad in [
            "get.p98",
            "put.p99",
            "get",
            "server.p99",
            "get.cpu_s",
            "errors",
            "completion.makespan_us",
        ] {
            assert!(!is_metric_name(bad, &ops, &roles), "{bad}");
        }
        let text = describe_names(&ops, &roles);
        assert!(text.contains("p999") && text.contains("server"), "{text}");
    }
}
