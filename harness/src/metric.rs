//! The metric vocabulary: every quantity Versus judges, by name (`get.p99`,
//! `completion.makespan`, `server.cpu_per_op`, …), with its unit, the direction in which
//! it improves and how two values of it compare. Thresholds, `versus compare`, side by
//! side, export and the claims all name metrics with this one type; how each is read
//! from a run is [`crate::analyse::metrics::value`], written once.
//!
//! One unit per quantity everywhere: latencies in microseconds, makespans and CPU time
//! in seconds, shares as fractions.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use versus_targets::units::{parse_duration, ByteSize, Percent};

/// Latency statistics of one operation.
pub const LATENCY_STATS: [&str; 7] = ["min", "p50", "p90", "p99", "p999", "max", "mean"];
/// Resource statistics of one role.
pub const ROLE_STATS: [&str; 3] = ["cpu_s", "peak_rss_bytes", "cpu_per_op"];
/// Operation names of the report contract (`tls_handshake`: each new connection's TLS
/// handshake, on HTTPS targets).
pub const OPERATIONS: [&str; 3] = ["get", "put", "tls_handshake"];
/// The prefix of a url workload's named request's operation, `req:<name>`.
pub const REQUEST_PREFIX: &str = "req:";
/// Roles of the report contract.
pub const ROLES: [&str; 4] = ["harness", "peer", "seed", "server"];

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Microseconds.
    #[serde(rename = "us")]
    Micros,
    /// Seconds (wall time, or CPU time).
    #[serde(rename = "s")]
    Seconds,
    /// Operations per second.
    #[serde(rename = "ops/s")]
    PerSecond,
    /// A share between 0 and 1.
    #[serde(rename = "fraction")]
    Fraction,
    /// Bytes.
    #[serde(rename = "bytes")]
    Bytes,
    /// A plain number (a count, a ratio).
    #[serde(rename = "number")]
    Number,
}

impl Unit {
    /// Parses a limit written for a metric of this unit ("200ms", "1%", "64MiB", "0.9")
    /// into the unit's own numbers.
    pub fn parse_limit(self, text: &str) -> Result<f64, String> {
        match self {
            Unit::Micros | Unit::Seconds => {
                let d = parse_duration(text).map_err(|e| format!("a duration: {e}"))?;
                Ok(if self == Unit::Micros {
                    d.as_secs_f64() * 1e6
                } else {
                    d.as_secs_f64()
                })
            }
            Unit::Fraction => Percent::from_str(text)
                .map(Percent::fraction)
                .map_err(|e| format!("a share: {e}")),
            Unit::Bytes => ByteSize::from_str(text)
                .map(|b| b.bytes() as f64)
                .map_err(|e| format!("a size: {e}")),
            Unit::PerSecond | Unit::Number => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("a number; \"{text}\" is not")),
        }
    }

    /// Formats a value of this unit for people.
    pub fn format(self, value: f64) -> String {
        use crate::format::{format_bytes, format_duration_us, format_percent, format_rate};
        match self {
            Unit::Micros => format_duration_us(value),
            Unit::Seconds => format_duration_us(value * 1e6),
            Unit::Fraction => format_percent(value),
            Unit::Bytes => format_bytes(value),
            Unit::PerSecond => format_rate(value),
            Unit::Number => trimmed(value),
        }
    }
}

/// `0.250` as `0.25`, `3.000` as `3`.
fn trimmed(value: f64) -> String {
    format!("{value:.3}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Smaller values are better (latency, CPU time).
    Lower,
    /// Larger values are better (throughput, efficiency).
    Higher,
}

/// How two values of a metric are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delta {
    /// As a ratio (candidate / baseline).
    Ratio,
    /// As a difference (shares: percentage points).
    Difference,
}

impl Delta {
    /// The estimate for one pair of medians. A ratio of two zeros is 1 (unchanged); a
    /// ratio over a zero baseline is infinite.
    pub fn of(self, baseline: f64, candidate: f64) -> f64 {
        match self {
            Delta::Difference => candidate - baseline,
            Delta::Ratio if baseline == 0.0 && candidate == 0.0 => 1.0,
            Delta::Ratio if baseline == 0.0 => f64::INFINITY,
            Delta::Ratio => candidate / baseline,
        }
    }

    /// The value of an unchanged metric: 1 for a ratio, 0 for a difference.
    pub fn neutral(self) -> f64 {
        match self {
            Delta::Ratio => 1.0,
            Delta::Difference => 0.0,
        }
    }
}

/// A resource statistic of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleStat {
    /// CPU-seconds.
    CpuSeconds,
    /// Peak resident memory.
    PeakRss,
    /// CPU microseconds per finished operation.
    CpuPerOp,
}

/// A metric of a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A latency statistic of one operation (`get.p99`), µs.
    Latency {
        /// The operation.
        op: String,
        /// One of [`LATENCY_STATS`].
        stat: &'static str,
    },
    /// Finished operations of one kind per second (`get.rps`).
    Rps {
        /// The operation.
        op: String,
    },
    /// Failed share of one operation (`get.error_rate`).
    OpErrorRate {
        /// The operation.
        op: String,
    },
    /// Failed share of all operations (`errors.rate`).
    ErrorRate,
    /// Failed operations (`errors.total`).
    ErrorsTotal,
    /// Time until the last user completed, one-shot workloads (`completion.makespan`), s.
    Makespan,
    /// Analytical bound over measured makespan (`efficiency`).
    Efficiency,
    /// Share of finished operations that succeeded, in a run with faults (`availability`).
    Availability,
    /// Seconds in which nothing succeeded, in a run with faults (`outage.seconds`).
    OutageSeconds,
    /// CPU-seconds of every target node per delivered GiB (`targets.cpu_s_per_gib`).
    TargetCpuPerGib,
    /// Peak memory of every target node, summed (`targets.peak_rss_bytes`).
    TargetPeakRss,
    /// Bytes sent by every node per payload byte delivered (`traffic.wire_per_delivered`).
    WirePerDelivered,
    /// A resource statistic of one role (`server.cpu_s`).
    Role {
        /// The role.
        role: String,
        /// Which statistic.
        stat: RoleStat,
    },
}

impl RoleStat {
    const ALL: [RoleStat; 3] = [RoleStat::CpuSeconds, RoleStat::PeakRss, RoleStat::CpuPerOp];

    fn name(self) -> &'static str {
        ROLE_STATS[self as usize]
    }
}

/// Names that stand alone, with their metric.
const SINGLES: [(&str, Metric); 9] = [
    ("errors.rate", Metric::ErrorRate),
    ("errors.total", Metric::ErrorsTotal),
    ("completion.makespan", Metric::Makespan),
    ("efficiency", Metric::Efficiency),
    ("availability", Metric::Availability),
    ("outage.seconds", Metric::OutageSeconds),
    ("targets.cpu_s_per_gib", Metric::TargetCpuPerGib),
    ("targets.peak_rss_bytes", Metric::TargetPeakRss),
    ("traffic.wire_per_delivered", Metric::WirePerDelivered),
];

impl Metric {
    /// Parses a metric name; `ops` and `roles` are the operation and role names allowed
    /// before the dot.
    pub fn parse(name: &str, ops: &[&str], roles: &[&str]) -> Result<Metric, String> {
        if let Some((_, m)) = SINGLES.iter().find(|(n, _)| *n == name) {
            return Ok(m.clone());
        }
        let unknown = || {
            format!(
                "unknown metric `{name}`: the metrics are {}",
                Metric::describe_names(ops, roles)
            )
        };
        // A named request (`req:<name>`) is an operation whatever its name, which may
        // hold dots: its statistic is after the last one.
        let request = name.starts_with(REQUEST_PREFIX);
        let split = if request {
            name.rsplit_once('.')
        } else {
            name.split_once('.')
        };
        let (prefix, stat) = split.ok_or_else(unknown)?;
        if request || ops.contains(&prefix) {
            let op = prefix.to_string();
            return match stat {
                "rps" => Ok(Metric::Rps { op }),
                "error_rate" => Ok(Metric::OpErrorRate { op }),
                s => LATENCY_STATS
                    .iter()
                    .find(|l| **l == s)
                    .map(|stat| Metric::Latency { op, stat })
                    .ok_or_else(|| {
                        format!(
                            "unknown statistic `{stat}` for operation `{prefix}`: expected one of {}, rps, error_rate",
                            LATENCY_STATS.join(", ")
                        )
                    }),
            };
        }
        if roles.contains(&prefix) {
            if let Some(stat) = RoleStat::ALL.into_iter().find(|r| r.name() == stat) {
                let role = prefix.to_string();
                return Ok(Metric::Role { role, stat });
            }
        }
        Err(unknown())
    }

    /// Parses a name with the report contract's operations and roles.
    pub fn parse_contract(name: &str) -> Result<Metric, String> {
        Metric::parse(name, &OPERATIONS, &ROLES)
    }

    /// The metric names, in words, for error messages.
    pub fn describe_names(ops: &[&str], roles: &[&str]) -> String {
        let singles: Vec<&str> = SINGLES.iter().map(|(n, _)| *n).collect();
        format!(
            "<op>.{{{}, rps, error_rate}} (ops: {}, req:<name>), {}, <role>.{{{}}} (roles: {})",
            LATENCY_STATS.join(", "),
            ops.join(", "),
            singles.join(", "),
            ROLE_STATS.join(", "),
            roles.join(", "),
        )
    }

    /// The unit of its values.
    pub fn unit(&self) -> Unit {
        match self {
            Metric::Latency { .. } => Unit::Micros,
            Metric::Rps { .. } => Unit::PerSecond,
            Metric::OpErrorRate { .. } | Metric::ErrorRate | Metric::Availability => Unit::Fraction,
            Metric::ErrorsTotal | Metric::Efficiency | Metric::WirePerDelivered => Unit::Number,
            Metric::Makespan | Metric::OutageSeconds | Metric::TargetCpuPerGib => Unit::Seconds,
            Metric::TargetPeakRss => Unit::Bytes,
            Metric::Role { stat, .. } => match stat {
                RoleStat::CpuSeconds => Unit::Seconds,
                RoleStat::PeakRss => Unit::Bytes,
                RoleStat::CpuPerOp => Unit::Micros,
            },
        }
    }

    /// Which way it improves.
    pub fn better(&self) -> Better {
        match self {
            Metric::Rps { .. } | Metric::Efficiency | Metric::Availability => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// How two values compare: shares as differences, everything else as ratios.
    pub fn delta(&self) -> Delta {
        match self.unit() {
            Unit::Fraction => Delta::Difference,
            _ => Delta::Ratio,
        }
    }

    /// Display order: per operation (percentiles, then throughput), then errors,
    /// completion, the architecture-level figures, and resources per role.
    pub fn order(&self) -> (u8, String, u8) {
        let stat_rank = |s: &str| LATENCY_STATS.iter().position(|l| *l == s).unwrap_or(0) as u8;
        match self {
            Metric::Latency { op, stat } => (0, op.clone(), stat_rank(stat)),
            Metric::Rps { op } => (0, op.clone(), 10),
            Metric::OpErrorRate { op } => (0, op.clone(), 11),
            Metric::ErrorRate => (1, String::new(), 0),
            Metric::ErrorsTotal => (1, String::new(), 1),
            Metric::Makespan => (2, String::new(), 0),
            Metric::Efficiency => (2, String::new(), 1),
            Metric::Availability => (2, String::new(), 2),
            Metric::OutageSeconds => (2, String::new(), 3),
            Metric::TargetCpuPerGib => (2, String::new(), 4),
            Metric::TargetPeakRss => (2, String::new(), 5),
            Metric::WirePerDelivered => (2, String::new(), 6),
            Metric::Role { role, stat } => (3, role.clone(), *stat as u8),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((name, _)) = SINGLES.iter().find(|(_, m)| m == self) {
            return f.write_str(name);
        }
        match self {
            Metric::Latency { op, stat } => write!(f, "{op}.{stat}"),
            Metric::Rps { op } => write!(f, "{op}.rps"),
            Metric::OpErrorRate { op } => write!(f, "{op}.error_rate"),
            Metric::Role { role, stat } => write!(f, "{role}.{}", stat.name()),
            _ => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_requests_are_operations_even_with_dots() {
        let m = Metric::parse_contract("req:GET /a.html.p99").unwrap();
        assert!(
            matches!(&m, Metric::Latency { op, stat } if op == "req:GET /a.html" && *stat == "p99"),
            "{m:?}"
        );
        assert!(Metric::parse_contract("req:alpha.p98").is_err());
    }

    #[test]
    fn names_round_trip_and_carry_units() {
        for name in [
            "get.p50",
            "get.p999",
            "get.mean",
            "get.rps",
            "put.error_rate",
            "errors.rate",
            "errors.total",
            "completion.makespan",
            "efficiency",
            "server.cpu_s",
            "peer.peak_rss_bytes",
            "server.cpu_per_op",
            "traffic.wire_per_delivered",
        ] {
            let m = Metric::parse_contract(name).unwrap();
            assert_eq!(m.to_string(), name);
        }
        let makespan = Metric::parse_contract("completion.makespan").unwrap();
        assert_eq!(makespan.unit(), Unit::Seconds);
        assert_eq!(makespan.unit().parse_limit("1.5s").unwrap(), 1.5);
        let p99 = Metric::parse_contract("get.p99").unwrap();
        assert_eq!(p99.unit().parse_limit("200ms").unwrap(), 200_000.0);
        assert_eq!(Metric::ErrorRate.delta(), Delta::Difference);
        assert_eq!(Metric::Efficiency.better(), Better::Higher);
    }

    #[test]
    fn unknown_names_say_what_exists() {
        for bad in [
            "get.p98",
            "gte.p99",
            "get",
            "server.p99",
            "get.cpu_s",
            "errors",
        ] {
            let e = Metric::parse_contract(bad).unwrap_err();
            assert!(e.contains(bad.split('.').next().unwrap()), "{e}");
        }
        assert!(Metric::parse("put.p99", &["get"], &["server"]).is_err());
    }
}
