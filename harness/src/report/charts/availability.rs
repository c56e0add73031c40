//! Availability over time, for runs with faults: the share of each second's finished
//! operations that succeeded, one line per run, with the faults as vertical lines. A
//! second in which nothing finished is drawn at 0 (no service); the drain's tail after
//! the last finished operation is left out. The y axis starts at 0, 90 or 98 %, whichever
//! still shows the worst second, so the small dips of a churning swarm stay visible.

use super::axis::Axis;
use super::frame::{self, Chart, Series};
use super::runs;
use super::timeseries::time_axis;
use crate::report::model::RunReport;

/// The chart, or `None` when no run had faults.
pub(super) fn availability_over_time(
    runs: &[&RunReport],
    markers: &[(f64, String)],
) -> Option<String> {
    let runs: Vec<&RunReport> = runs
        .iter()
        .copied()
        .filter(|r| !r.faults.is_empty())
        .collect();
    if runs.is_empty() {
        return None;
    }
    let styles = runs::styles(&runs);
    let series: Vec<Series> = runs
        .iter()
        .zip(&styles)
        .map(|(run, style)| {
            let end = run
                .intervals
                .iter()
                .rposition(|i| i.availability.is_some())
                .map_or(0, |last| last + 1);
            let points = run.intervals[..end]
                .iter()
                .map(|i| {
                    (
                        f64::from(i.t_s) + 0.5,
                        i.availability.unwrap_or(0.0) * 100.0,
                    )
                })
                .collect();
            Series {
                label: style.label.clone(),
                color: style.color,
                segments: vec![points],
                dashed: false,
                points: true,
            }
        })
        .collect();
    // Zoom in when service never fell far (churn), so small dips stay visible.
    let worst = series
        .iter()
        .flat_map(|s| s.segments.iter().flatten().map(|p| p.1))
        .fold(100.0, f64::min);
    let lowest = if worst >= 99.0 {
        98.0
    } else if worst >= 90.0 {
        90.0
    } else {
        0.0
    };
    frame::render(&Chart {
        title: "Availability over time".into(),
        subtitle:
            "Share of each second's finished operations that succeeded; vertical lines: faults"
                .into(),
        x: time_axis(&runs, "get", markers),
        y: Axis::linear("operations that succeeded (%)", lowest, 100.0, 5, true),
        series,
        markers: markers.to_vec(),
    })
}
