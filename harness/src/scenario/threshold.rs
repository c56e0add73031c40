//! Thresholds: pass/fail conditions written in the scenario's `[thresholds]` table.
//!
//! ```toml
//! [thresholds]
//! get.p99 = "< 200ms"        # latency percentile of one operation
//! errors.rate = "< 1%"       # failed share of all operations
//! get.rps = ">= 100"         # completed operations per second
//! ```
//! Metric names are checked while the file is read, so a misspelt metric is an invalid
//! scenario (exit 2, with its line), not a silently ignored condition.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use versus_targets::units::{parse_duration, Percent};

/// Operation names a metric can refer to.
pub const OPERATIONS: &[&str] = &["get", "put"];
/// Statistics of one operation's latency.
pub const LATENCY_STATS: &[&str] = &["min", "p50", "p90", "p99", "p999", "max", "mean"];

/// A metric a threshold can be set on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// A latency statistic of one operation (`get.p99`).
    Latency { op: String, stat: String },
    /// Completed operations of one kind per second (`get.rps`).
    Rps { op: String },
    /// Failed share of one operation (`get.error_rate`).
    OpErrorRate { op: String },
    /// Failed share of all operations (`errors.rate`).
    ErrorRate,
    /// Number of failed operations (`errors.total`).
    ErrorsTotal,
    /// Time until the last user completed, in one-shot workloads (`completion.makespan`).
    Makespan,
    /// Analytical bound over measured makespan (`efficiency`).
    Efficiency,
}

/// What kind of number a metric is, which fixes how its limit is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricUnit {
    /// A duration ("200ms").
    Duration,
    /// A share ("1%").
    Percent,
    /// A plain number ("100").
    Number,
}

impl Metric {
    /// Parses `group.stat` (or a bare `efficiency`), rejecting unknown names.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (group, stat) = name.split_once('.').unwrap_or((name, ""));
        let metric = match (group, stat) {
            ("errors", "rate") => Metric::ErrorRate,
            ("errors", "total") => Metric::ErrorsTotal,
            ("completion", "makespan") => Metric::Makespan,
            ("efficiency", "") => Metric::Efficiency,
            (op, stat) if OPERATIONS.contains(&op) => match stat {
                "rps" => Metric::Rps { op: op.into() },
                "error_rate" => Metric::OpErrorRate { op: op.into() },
                s if LATENCY_STATS.contains(&s) => Metric::Latency {
                    op: op.into(),
                    stat: s.into(),
                },
                _ => {
                    return Err(format!(
                        "unknown statistic `{stat}` for operation `{op}`: expected one of {}, rps, error_rate",
                        LATENCY_STATS.join(", ")
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "unknown metric `{name}`: expected <op>.<stat> with op in {} (stats: {}, rps, error_rate), \
                     errors.rate, errors.total, completion.makespan or efficiency",
                    OPERATIONS.join("/"),
                    LATENCY_STATS.join(", ")
                ))
            }
        };
        Ok(metric)
    }

    /// The kind of number this metric is.
    pub fn unit(&self) -> MetricUnit {
        match self {
            Metric::Latency { .. } | Metric::Makespan => MetricUnit::Duration,
            Metric::OpErrorRate { .. } | Metric::ErrorRate => MetricUnit::Percent,
            Metric::Rps { .. } | Metric::ErrorsTotal | Metric::Efficiency => MetricUnit::Number,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Latency { op, stat } => write!(f, "{op}.{stat}"),
            Metric::Rps { op } => write!(f, "{op}.rps"),
            Metric::OpErrorRate { op } => write!(f, "{op}.error_rate"),
            Metric::ErrorRate => f.write_str("errors.rate"),
            Metric::ErrorsTotal => f.write_str("errors.total"),
            Metric::Makespan => f.write_str("completion.makespan"),
            Metric::Efficiency => f.write_str("efficiency"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    /// Whether `value <op> limit` holds.
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::Less => value < limit,
            Comparison::LessOrEqual => value <= limit,
            Comparison::Greater => value > limit,
            Comparison::GreaterOrEqual => value >= limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }
}

/// One condition: `metric <comparison> limit`. Durations are held in microseconds,
/// percentages as fractions, so the limit compares directly with report values.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What is measured.
    pub metric: Metric,
    /// How it must compare.
    pub comparison: Comparison,
    /// The limit, in the metric's base unit (µs, fraction or number).
    pub limit: f64,
    /// The limit as written, for messages.
    pub limit_text: String,
}

impl Threshold {
    /// Parses a metric name and a condition such as `"< 200ms"`.
    pub fn parse(metric: &str, condition: &str) -> Result<Self, String> {
        let metric = Metric::parse(metric)?;
        let condition = condition.trim();
        let (comparison, rest) = [
            ("<=", Comparison::LessOrEqual),
            (">=", Comparison::GreaterOrEqual),
            ("<", Comparison::Less),
            (">", Comparison::Greater),
        ]
        .iter()
        .find_map(|(sym, cmp)| condition.strip_prefix(sym).map(|rest| (*cmp, rest.trim())))
        .ok_or_else(|| {
            format!("condition \"{condition}\" for `{metric}` must start with <, <=, > or >= (for example \"< 200ms\")")
        })?;
        let limit = match metric.unit() {
            MetricUnit::Duration => parse_duration(rest)
                .map(|d: Duration| d.as_secs_f64() * 1e6)
                .map_err(|e| format!("`{metric}` is a duration: {e}"))?,
            MetricUnit::Percent => Percent::from_str(rest)
                .map(Percent::fraction)
                .map_err(|e| format!("`{metric}` is a share: {e}"))?,
            MetricUnit::Number => rest
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{metric}` is a number; \"{rest}\" is not"))?,
        };
        Ok(Threshold {
            metric,
            comparison,
            limit,
            limit_text: rest.to_string(),
        })
    }

    /// The condition as written: `get.p99 < 200ms`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.metric,
            self.comparison.symbol(),
            self.limit_text
        )
    }
}

/// All thresholds of a scenario, in file order of their groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds(pub Vec<Threshold>);

impl Thresholds {
    /// True when the scenario sets none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A `[thresholds]` entry: either `get.p99 = "..."` (a dotted key, read as a table)
/// or `"get.p99" = "..."` (one quoted key).
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Condition(String),
    Group(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for Thresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let groups = BTreeMap::<String, Entry>::deserialize(d)?;
        let mut out = Vec::new();
        for (group, entry) in groups {
            let pairs = match entry {
                Entry::Condition(cond) => vec![(group.clone(), cond)],
                Entry::Group(stats) => stats
                    .into_iter()
                    .map(|(stat, cond)| (format!("{group}.{stat}"), cond))
                    .collect(),
            };
            for (metric, cond) in pairs {
                let parsed = Threshold::parse(&metric, &cond).map_err(|e| {
                    serde::de::Error::custom(super::located_message(
                        &format!("thresholds.{metric}"),
                        &e,
                    ))
                })?;
                out.push(parsed);
            }
        }
        Ok(Thresholds(out))
    }
}

impl Serialize for Thresholds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<String, String> = self
            .0
            .iter()
            .map(|t| {
                (
                    t.metric.to_string(),
                    format!("{} {}", t.comparison.symbol(), t.limit_text),
                )
            })
            .collect();
        map.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conditions() {
        let t = Threshold::parse("get.p99", "< 200ms").unwrap();
        assert_eq!(t.metric.to_string(), "get.p99");
        assert_eq!(t.limit, 200_000.0);
        assert!(t.comparison.holds(199_999.0, t.limit));
        assert!(!t.comparison.holds(200_000.0, t.limit));
        let t = Threshold::parse("errors.rate", "<= 1%").unwrap();
        assert_eq!(t.limit, 0.01);
        let t = Threshold::parse("efficiency", ">= 0.9").unwrap();
        assert_eq!(t.comparison, Comparison::GreaterOrEqual);
    }

    #[test]
    fn rejects_unknown_metrics_and_bad_limits() {
        assert!(Threshold::parse("get.p98", "< 1ms")
            .unwrap_err()
            .contains("p98"));
        assert!(Threshold::parse("gte.p99", "< 1ms")
            .unwrap_err()
            .contains("gte.p99"));
        assert!(Threshold::parse("get.p99", "200ms")
            .unwrap_err()
            .contains("must start"));
        assert!(Threshold::parse("get.p99", "< 1%").is_err());
        assert!(Threshold::parse("errors.rate", "< 1ms").is_err());
        assert!(Threshold::parse("get.rps", "< lots").is_err());
    }
}
