//! The metrics `versus compare` sets side by side, and how each is read from a run:
//! latency percentiles and throughput per operation, the error rate over all operations,
//! the makespan of one-shot workloads, and CPU-seconds and peak memory per role.
//!
//! Each metric has a name (`get.p99`, `get.rps`, `errors.rate`, `completion.makespan`,
//! `server.cpu_s`, `server.peak_rss_bytes`, `server.cpu_per_op`: CPU microseconds per
//! finished operation), which is also how `--threshold` refers to
//! it, a unit, the direction in which it improves, and how two values are compared (a
//! ratio, or a difference in percentage points for the error rate).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::stats::Kind;
use super::verdict::Better;
use crate::report::model::{Report, RunReport};

/// Latency statistics compared per operation.
pub const LATENCY_STATS: [&str; 4] = ["p50", "p90", "p99", "p999"];
/// Throughput statistic compared per operation.
pub const RPS: &str = "rps";
/// Resource statistics compared per role.
pub const ROLE_STATS: [&str; 3] = ["cpu_s", "peak_rss_bytes", "cpu_per_op"];
/// The failed share of all operations.
pub const ERROR_RATE: &str = "errors.rate";
/// The time until the last user finished (one-shot workloads).
pub const MAKESPAN: &str = "completion.makespan";
/// Operation names of the contract, accepted in `--threshold` even when absent.
pub const CONTRACT_OPS: [&str; 2] = ["get", "put"];
/// Roles of the contract, accepted in `--threshold` even when absent.
pub const CONTRACT_ROLES: [&str; 3] = ["harness", "peer", "server"];

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Microseconds.
    #[serde(rename = "us")]
    Micros,
    /// Operations per second.
    #[serde(rename = "ops/s")]
    PerSecond,
    /// Seconds (wall time, or CPU time).
    #[serde(rename = "s")]
    Seconds,
    /// A share between 0 and 1.
    #[serde(rename = "fraction")]
    Fraction,
    /// Bytes.
    #[serde(rename = "bytes")]
    Bytes,
}

/// What a metric is and how it compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDef {
    /// The name, as used by `--threshold`.
    pub name: String,
    /// The unit of its values.
    pub unit: Unit,
    /// Which way it improves.
    pub better: Better,
    /// Ratio or difference.
    pub kind: Kind,
    /// Display order: section, operation or role, statistic.
    order: (u8, String, u8),
}

impl MetricDef {
    /// The key that puts metrics in display order: per operation (percentiles, then
    /// throughput), then errors, completion and resources per role.
    pub fn order(&self) -> &(u8, String, u8) {
        &self.order
    }

    fn op(op: &str, stat_index: u8, stat: &str, unit: Unit, better: Better) -> Self {
        MetricDef {
            name: format!("{op}.{stat}"),
            unit,
            better,
            kind: Kind::Ratio,
            order: (0, op.to_string(), stat_index),
        }
    }

    fn single(name: &str, section: u8, unit: Unit, kind: Kind) -> Self {
        MetricDef {
            name: name.to_string(),
            unit,
            better: Better::Lower,
            kind,
            order: (section, String::new(), 0),
        }
    }

    fn role(role: &str, stat_index: u8, unit: Unit) -> Self {
        MetricDef {
            name: format!("{role}.{}", ROLE_STATS[usize::from(stat_index)]),
            unit,
            better: Better::Lower,
            kind: Kind::Ratio,
            order: (3, role.to_string(), stat_index),
        }
    }
}

/// The comparable metrics of one run, with their values. A latency is only present
/// when at least one operation succeeded, the error rate when any finished.
pub fn extract(run: &RunReport) -> Vec<(MetricDef, f64)> {
    let mut out = Vec::new();
    let (mut finished, mut failed) = (0u64, 0u64);
    for (name, op) in &run.ops {
        finished += op.count;
        failed += op.errors_total;
        if op.count > op.errors_total {
            for (i, stat) in LATENCY_STATS.iter().enumerate() {
                if let Some(value) = op.latency_us.stat(stat) {
                    let def = MetricDef::op(name, i as u8, stat, Unit::Micros, Better::Lower);
                    out.push((def, value));
                }
            }
        }
        let def = MetricDef::op(name, 9, RPS, Unit::PerSecond, Better::Higher);
        out.push((def, op.rps));
    }
    if finished > 0 {
        let def = MetricDef::single(ERROR_RATE, 1, Unit::Fraction, Kind::Difference);
        out.push((def, failed as f64 / finished as f64));
    }
    if let Some(completion) = &run.completion {
        let def = MetricDef::single(MAKESPAN, 2, Unit::Seconds, Kind::Ratio);
        out.push((def, completion.makespan_s));
    }
    for (role, usage) in &run.resources {
        out.push((MetricDef::role(role, 0, Unit::Seconds), usage.cpu_s));
        out.push((
            MetricDef::role(role, 1, Unit::Bytes),
            usage.peak_rss_bytes as f64,
        ));
        // The work per operation: unlike throughput it moves with a target's cost per
        // request even while the load generator, not the target, limits the rate.
        if finished > 0 && usage.cpu_s > 0.0 {
            out.push((
                MetricDef::role(role, 2, Unit::Micros),
                usage.cpu_s * 1e6 / finished as f64,
            ));
        }
    }
    out
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
    out.sort_by(|a, b| a.0.order.cmp(&b.0.order));
    out
}

/// What makes runs repetitions of one configuration: the architecture, the number of
/// users and, for client-server runs, of server replicas.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// `cs` or `p2p`.
    pub arch: String,
    /// Users (closed) or pooled connections (open).
    pub users: u32,
    /// Client-server replicas, when recorded.
    pub servers: Option<u32>,
}

impl GroupKey {
    /// The key of `run`.
    pub fn of(run: &RunReport) -> Self {
        GroupKey {
            arch: run.arch.clone(),
            users: run.users,
            servers: run.servers,
        }
    }

    /// The parts that tell this group from the others of its architecture: `8 users`,
    /// `2 servers` (none when the architecture has one configuration).
    pub fn distinguishing(&self, several_users: bool, several_servers: bool) -> Vec<String> {
        let mut parts = Vec::new();
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
pub fn variety<'a>(keys: impl IntoIterator<Item = &'a GroupKey>) -> BTreeMap<String, (bool, bool)> {
    let mut seen: BTreeMap<String, (BTreeSet<u32>, BTreeSet<Option<u32>>)> = BTreeMap::new();
    for k in keys {
        let entry = seen.entry(k.arch.clone()).or_default();
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
    let mut ops: BTreeSet<String> = CONTRACT_OPS.iter().map(|s| s.to_string()).collect();
    let mut roles: BTreeSet<String> = CONTRACT_ROLES.iter().map(|s| s.to_string()).collect();
    for run in reports.iter().flat_map(|r| &r.runs) {
        ops.extend(run.ops.keys().cloned());
        roles.extend(run.resources.keys().cloned());
    }
    (ops, roles)
}

/// True when `name` is a metric name for the given operations and roles.
pub fn is_metric_name(name: &str, ops: &BTreeSet<String>, roles: &BTreeSet<String>) -> bool {
    if name == ERROR_RATE || name == MAKESPAN {
        return true;
    }
    let Some((prefix, stat)) = name.split_once('.') else {
        return false;
    };
    let op_stat = LATENCY_STATS.contains(&stat) || stat == RPS;
    (op_stat && ops.contains(prefix)) || (ROLE_STATS.contains(&stat) && roles.contains(prefix))
}

/// The metric names, in words, for error messages.
pub fn describe_names(ops: &BTreeSet<String>, roles: &BTreeSet<String>) -> String {
    let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
    format!(
        "<op>.{{{}, {RPS}}} (ops: {}), {ERROR_RATE}, {MAKESPAN}, <role>.{{{}}} (roles: {})",
        LATENCY_STATS.join(", "),
        list(ops),
        ROLE_STATS.join(", "),
        list(roles),
    )
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
        ] {
            assert!(!is_metric_name(bad, &ops, &roles), "{bad}");
        }
        let text = describe_names(&ops, &roles);
        assert!(text.contains("p999") && text.contains("server"), "{text}");
    }
}
