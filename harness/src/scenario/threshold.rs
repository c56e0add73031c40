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

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::metric::Metric;

/// How a measured value must compare with the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Operator {
    /// Whether `value <op> limit` holds.
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Operator::Less => value < limit,
            Operator::LessOrEqual => value <= limit,
            Operator::Greater => value > limit,
            Operator::GreaterOrEqual => value >= limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
        }
    }
}

/// One condition: `metric <operator> limit`, the limit held in the metric's own unit
/// (µs for latencies, seconds for the makespan, fractions for shares), so it compares
/// directly with the metric's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What is measured.
    pub metric: Metric,
    /// How it must compare.
    pub operator: Operator,
    /// The limit, in the metric's unit.
    pub limit: f64,
    /// The limit as written, for messages.
    pub limit_text: String,
}

impl Threshold {
    /// Parses a metric name and a condition such as `"< 200ms"`.
    pub fn parse(metric: &str, condition: &str) -> Result<Self, String> {
        let metric = Metric::parse_contract(metric)?;
        let condition = condition.trim();
        let (operator, rest) = [
            ("<=", Operator::LessOrEqual),
            (">=", Operator::GreaterOrEqual),
            ("<", Operator::Less),
            (">", Operator::Greater),
        ]
        .iter()
        .find_map(|(sym, op)| condition.strip_prefix(sym).map(|rest| (*op, rest.trim())))
        .ok_or_else(|| {
            format!("condition \"{condition}\" for `{metric}` must start with <, <=, > or >= (for example \"< 200ms\")")
        })?;
        let limit = metric
            .unit()
            .parse_limit(rest)
            .map_err(|e| format!("`{metric}` is {e}"))?;
        Ok(Threshold {
            metric,
            operator,
            limit,
            limit_text: rest.to_string(),
        })
    }

    /// The condition as written: `get.p99 < 200ms`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.metric,
            self.operator.symbol(),
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
                    format!("{} {}", t.operator.symbol(), t.limit_text),
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
        assert!(t.operator.holds(199_999.0, t.limit));
        assert!(!t.operator.holds(200_000.0, t.limit));
        let t = Threshold::parse("errors.rate", "<= 1%").unwrap();
        assert_eq!(t.limit, 0.01);
        let t = Threshold::parse("efficiency", ">= 0.9").unwrap();
        assert_eq!(t.operator, Operator::GreaterOrEqual);
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
