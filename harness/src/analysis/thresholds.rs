//! Evaluates the scenario's thresholds on every run of a report.

use crate::report::format::{format_duration_us, format_percent};
use crate::report::model::{RunReport, ThresholdResult};
use crate::scenario::threshold::{Metric, MetricUnit, Threshold};

/// The value of `metric` in `run`, in the metric's base unit; `None` if not measured.
pub fn value(metric: &Metric, run: &RunReport) -> Option<f64> {
    match metric {
        Metric::Latency { op, stat } => {
            let op = run.ops.get(op)?;
            (op.count > op.errors_total)
                .then(|| op.latency_us.stat(stat))
                .flatten()
        }
        Metric::Rps { op } => run.ops.get(op).map(|o| o.rps),
        Metric::OpErrorRate { op } => run
            .ops
            .get(op)
            .filter(|o| o.count > 0)
            .map(|o| o.error_rate()),
        Metric::ErrorRate => {
            let (count, errors) = run
                .ops
                .values()
                .fold((0u64, 0u64), |(c, e), o| (c + o.count, e + o.errors_total));
            (count > 0).then(|| errors as f64 / count as f64)
        }
        Metric::ErrorsTotal => Some(run.ops.values().map(|o| o.errors_total).sum::<u64>() as f64),
        Metric::Makespan => run.completion.as_ref().map(|c| c.makespan_s * 1e6),
        Metric::Efficiency => run.efficiency,
    }
}

/// Formats a value of `metric` for people.
pub fn format_value(metric: &Metric, value: f64) -> String {
    match metric.unit() {
        MetricUnit::Duration => format_duration_us(value),
        MetricUnit::Percent => format_percent(value),
        MetricUnit::Number => format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    }
}

/// Evaluates every threshold on every run. A metric that was not measured fails: a
/// gate must not pass because nothing was measured.
pub fn evaluate(thresholds: &[Threshold], runs: &[RunReport]) -> Vec<ThresholdResult> {
    let mut out = Vec::new();
    for run in runs {
        for t in thresholds {
            let value = value(&t.metric, run);
            out.push(ThresholdResult {
                condition: t.describe(),
                arch: run.arch.clone(),
                users: run.users,
                value,
                value_text: value.map_or_else(
                    || "not measured".to_string(),
                    |v| format_value(&t.metric, v),
                ),
                passed: value.is_some_and(|v| t.comparison.holds(v, t.limit)),
            });
        }
    }
    out
}
