//! Evaluates the scenario's thresholds on every run of a report, reading each metric
//! through the registry ([`super::metrics::value`]).

use super::metrics::{value, Metric};
use crate::report::model::{RunReport, ThresholdResult};
use crate::scenario::threshold::Threshold;

/// Evaluates every threshold on every run (a role's on the runs that have the role). A
/// metric that was not measured fails: a gate must not pass because nothing was measured.
pub(crate) fn evaluate(thresholds: &[Threshold], runs: &[RunReport]) -> Vec<ThresholdResult> {
    let mut out = Vec::new();
    for run in runs {
        for t in thresholds {
            if let Metric::Role { role, .. } = &t.metric {
                // A role's threshold judges the runs that have the role (`server.*` the
                // client-server runs, `peer.*` the swarm's).
                if !run.resources.contains_key(role) {
                    continue;
                }
            }
            let value = value(&t.metric, run);
            out.push(ThresholdResult {
                condition: t.describe(),
                arch: run.arch,
                users: run.users,
                value,
                value_text: value
                    .map_or_else(|| "not measured".to_string(), |v| t.metric.unit().format(v)),
                passed: value.is_some_and(|v| t.operator.holds(v, t.limit)),
            });
        }
    }
    out
}
