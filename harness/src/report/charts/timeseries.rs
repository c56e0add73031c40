//! Time series from the per-second rows of each run (`run.intervals`): throughput and
//! p99 latency over time, one line per run, with optional vertical markers (injected
//! faults: a killed server, peers leaving) so cause and effect sit on one picture.
//!
//! Each row covers one second `[t_s, t_s + 1)`, so its value is drawn at `t_s + 0.5`.

use crate::record::aggregate::IntervalOp;

use super::axis::Axis;
use super::frame::{self, Chart, Series};
use super::runs;
use crate::report::model::RunReport;

/// The x axis: seconds since the start of the run, covering every drawn row and marker.
pub(super) fn time_axis(runs: &[&RunReport], op: &str, markers: &[(f64, String)]) -> Axis {
    let end = runs
        .iter()
        .filter_map(|r| rows(r, op).last().map(|(t, _)| t + 0.5))
        .fold(1.0, f64::max);
    let end = markers
        .iter()
        .map(|m| m.0)
        .filter(|t| t.is_finite())
        .fold(end, f64::max);
    Axis::linear("time since the start of the run (s)", 0.0, end, 8, true)
}

/// `op`'s row in each second of `run` (a second in which nothing finished has none), up
/// to the last second in which an `op` finished: the drain's empty tail is not an outage.
fn rows<'a>(
    run: &'a RunReport,
    op: &'a str,
) -> impl Iterator<Item = (f64, Option<&'a IntervalOp>)> {
    let end = run
        .intervals
        .iter()
        .rposition(|i| i.ops.contains_key(op))
        .map_or(0, |last| last + 1);
    run.intervals[..end]
        .iter()
        .map(move |i| (f64::from(i.t_s) + 0.5, i.ops.get(op)))
}

/// Runs that recorded `op` in at least one second.
fn with_op<'a>(runs: &[&'a RunReport], op: &str) -> Vec<&'a RunReport> {
    runs.iter()
        .copied()
        .filter(|r| r.intervals.iter().any(|i| i.ops.contains_key(op)))
        .collect()
}

fn marker_note(markers: &[(f64, String)]) -> &'static str {
    if markers.is_empty() {
        ""
    } else {
        "; vertical lines: faults"
    }
}

/// The last row of a run usually covers less than a second (the run ends, in-flight
/// operations drain), so its count is not a per-second rate and would draw a false
/// collapse at the end. A last row covering half a second or more becomes a rate
/// (count / covered time, drawn mid-way); a shorter one is left out. One-shot workloads
/// (a flash crowd), whose completions are the point, keep their raw counts.
fn partial_last_second(run: &RunReport, points: &mut Vec<(f64, f64)>) {
    let Some(&(x, value)) = points.last() else {
        return;
    };
    let covered = run.duration_s - (x - 0.5);
    if !(covered.is_finite() && covered > 0.0 && covered < 1.0) {
        return;
    }
    points.pop();
    if covered >= 0.5 {
        points.push((x - 0.5 + covered / 2.0, value / covered));
    }
}

/// Successful `op` operations per second for each run (solid), and failed ones (dashed,
/// only for runs that had failures). `markers` are `(seconds since start, label)`. A
/// run's final, partial second is drawn as a rate, or left out when under half a second.
/// `None` when no run has per-second rows for `op`.
pub fn throughput_over_time(
    runs: &[&RunReport],
    op: &str,
    markers: &[(f64, String)],
) -> Option<String> {
    let runs = with_op(runs, op);
    if runs.is_empty() {
        return None;
    }
    let styles = runs::styles(&runs);
    let mut series = Vec::new();
    let mut hi: f64 = 0.0;
    for (run, style) in runs.iter().zip(&styles) {
        let mut ok: Vec<(f64, f64)> = rows(run, op)
            .map(|(t, o)| {
                (
                    t,
                    o.map_or(0.0, |o| o.count.saturating_sub(o.errors) as f64),
                )
            })
            .collect();
        let mut failed: Vec<(f64, f64)> = rows(run, op)
            .map(|(t, o)| (t, o.map_or(0.0, |o| o.errors as f64)))
            .collect();
        if run.completion.is_none() {
            partial_last_second(run, &mut ok);
            partial_last_second(run, &mut failed);
        }
        hi = ok.iter().chain(&failed).map(|p| p.1).fold(hi, f64::max);
        series.push(Series {
            label: style.label.clone(),
            color: style.color,
            segments: vec![ok],
            dashed: false,
            points: false,
        });
        if failed.iter().any(|p| p.1 > 0.0) {
            series.push(Series {
                label: format!("{} failed", style.label),
                color: style.color,
                segments: vec![failed],
                dashed: true,
                points: false,
            });
        }
    }
    frame::render(&Chart {
        title: format!("Throughput over time: {op}"),
        subtitle: format!(
            "Successful {op} operations finished per second; dashed: failed{}",
            marker_note(markers)
        ),
        x: time_axis(&runs, op, markers),
        y: Axis::linear("operations per second", 0.0, hi, 6, true),
        series,
        markers: markers.to_vec(),
    })
}

/// The p99 latency of successful `op` operations in each second, one line per run; a
/// second without a successful operation leaves a gap. `markers` are `(seconds since
/// start, label)`. `None` when no run has a successful `op` in any second.
pub fn p99_over_time(runs: &[&RunReport], op: &str, markers: &[(f64, String)]) -> Option<String> {
    let runs = with_op(runs, op);
    let styles = runs::styles(&runs);
    // Per run: runs of consecutive seconds with a p99, in µs.
    let lines: Vec<Vec<Vec<(f64, f64)>>> = runs
        .iter()
        .map(|run| {
            let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut current: Vec<(f64, f64)> = Vec::new();
            for (t, o) in rows(run, op) {
                match o.filter(|o| o.count > o.errors && o.p99_us > 0) {
                    Some(o) => current.push((t, o.p99_us as f64)),
                    None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
                    None => {}
                }
            }
            if !current.is_empty() {
                segments.push(current);
            }
            segments
        })
        .collect();
    let values = || lines.iter().flatten().flatten().map(|p| p.1);
    let lo = values().fold(f64::INFINITY, f64::min);
    let hi = values().fold(0.0, f64::max);
    if !lo.is_finite() {
        return None;
    }
    let (y, div) = Axis::time("p99 latency", lo, hi);
    let series = lines
        .into_iter()
        .zip(styles)
        .filter(|(segs, _)| !segs.is_empty())
        .map(|(segs, style)| Series {
            label: style.label,
            color: style.color,
            segments: segs
                .into_iter()
                .map(|s| {
                    s.into_iter()
                        .map(|(t, us)| (t, y.to_plot(us / div)))
                        .collect()
                })
                .collect(),
            dashed: false,
            points: false,
        })
        .collect();
    frame::render(&Chart {
        title: format!("p99 latency over time: {op}"),
        subtitle: format!(
            "99th percentile of successful {op} operations in each second; a gap: none succeeded{}",
            marker_note(markers)
        ),
        x: time_axis(&runs, op, markers),
        y,
        series,
        markers: markers.to_vec(),
    })
}
