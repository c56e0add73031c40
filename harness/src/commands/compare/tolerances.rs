//! `--threshold`: how much worse a metric may get before `versus compare` calls it a
//! regression. `--threshold 10%` sets every metric; `--threshold get.p99=10%` sets one
//! and wins over the general value whatever the order. The default is 5%. For the error
//! rate the threshold is in percentage points (`errors.rate=1%` allows 0.2% → 1.2%).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyse::metrics::{describe_names, is_metric_name};
use crate::error::Failure;

/// The threshold of every metric without an override.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// Tolerances as fractions (0.05 = 5%): how far a metric may move before it counts as
/// changed (`--threshold`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerances {
    /// For every metric without an override.
    pub default: f64,
    /// Per metric name.
    pub overrides: BTreeMap<String, f64>,
    /// The flag that set each override, as written (for error messages).
    #[serde(skip)]
    flags: BTreeMap<String, String>,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            default: DEFAULT_THRESHOLD,
            overrides: BTreeMap::new(),
            flags: BTreeMap::new(),
        }
    }
}

impl Tolerances {
    /// Parses the `--threshold` flags (`PCT` or `METRIC=PCT`). Metric names are checked
    /// later, by [`Tolerances::check_names`], once the reports say which exist.
    pub fn parse(flags: &[String]) -> Result<Self, Failure> {
        let mut out = Tolerances::default();
        for flag in flags {
            match flag.split_once('=') {
                None => out.default = percentage(flag, flag)?,
                Some((name, value)) => {
                    let name = name.trim();
                    if name.is_empty() {
                        return Err(usage(flag, "the metric name before `=` is empty"));
                    }
                    out.overrides
                        .insert(name.to_string(), percentage(flag, value)?);
                    out.flags.insert(name.to_string(), flag.clone());
                }
            }
        }
        Ok(out)
    }

    /// Fails with a usage error naming the flag when an override names no metric of
    /// these operations and roles.
    pub fn check_names(
        &self,
        ops: &BTreeSet<String>,
        roles: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        for name in self.overrides.keys() {
            if !is_metric_name(name, ops, roles) {
                let flag = self.flags.get(name).map_or(name.as_str(), String::as_str);
                return Err(usage(
                    flag,
                    &format!(
                        "unknown metric `{name}`; the metrics are {}; for example --threshold get.p99=10%",
                        describe_names(ops, roles)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The threshold of metric `name`.
    pub fn of(&self, name: &str) -> f64 {
        self.overrides.get(name).copied().unwrap_or(self.default)
    }
}

fn usage(flag: &str, message: &str) -> Failure {
    Failure::Usage(format!("--threshold {flag}: {message}"))
}

/// `10%` → 0.10.
fn percentage(flag: &str, text: &str) -> Result<f64, Failure> {
    let text = text.trim();
    let Some(number) = text.strip_suffix('%') else {
        return Err(usage(
            flag,
            &format!(
                "`{text}` is not a percentage; write it like 10% (or get.p99=10% for one metric)"
            ),
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / 100.0),
        _ => Err(usage(
            flag,
            &format!("`{text}` is not a percentage of zero or more, such as 5% or 12.5%"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Tolerances, Failure> {
        Tolerances::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_overrides() {
        let t = parse(&[]).unwrap();
        assert_eq!(t.of("get.p99"), 0.05);
        let t = parse(&["get.p99=10%", "20%", "errors.rate=0.5%"]).unwrap();
        assert_eq!(t.of("get.p99"), 0.10, "an override wins whatever the order");
        assert_eq!(t.of("get.p50"), 0.20);
        assert_eq!(t.of("errors.rate"), 0.005);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for bad in ["10", "get.p99=ten%", "-5%", "=5%", "get.p99=inf%"] {
            let e = parse(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--threshold {bad}:")), "{e}");
        }
    }

    #[test]
    fn unknown_names_name_the_flag() {
        let ops: BTreeSet<String> = ["get".to_string()].into();
        let roles: BTreeSet<String> = ["server".to_string()].into();
        let t = parse(&["get.p98=10%"]).unwrap();
        let e = t.check_names(&ops, &roles).unwrap_err().to_string();
        assert!(
            e.contains("--threshold get.p98=10%") && e.contains("unknown metric"),
            "{e}"
        );
        assert!(parse(&["server.cpu_s=10%"])
            .unwrap()
            .check_names(&ops, &roles)
            .is_ok());
    }
}
