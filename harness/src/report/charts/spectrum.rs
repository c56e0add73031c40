//! The latency percentile spectrum, as HdrHistogram plots it: latency against percentile
//! on a "nines" scale, where x = -log10(1 - q) puts 90%, 99%, 99.9%, 99.99% at equal
//! distances. One line per run, read from the run's full histogram (never from the
//! summary percentiles), so the tail is drawn as far as the data reach.

use crate::record::histogram::{self, Latency};

use super::axis::{Axis, Tick};
use super::frame::{self, Chart, Series};
use super::runs;
use crate::format::format_duration_us;
use crate::report::model::RunReport;

/// Samples per unit of x (one nine): enough for a smooth curve, small enough for a
/// light file.
const STEPS_PER_NINE: f64 = 60.0;
/// The deepest tail drawn: 99.9999%.
const MAX_NINES: f64 = 6.0;
/// Legends list p50 and p99 next to each run while they fit.
const MAX_LEGEND_STATS: usize = 4;

/// One run's decoded histograms.
struct Decoded<'a> {
    run: &'a RunReport,
    hist: Latency,
    /// Open model: latency from the actual send time.
    uncorrected: Option<Latency>,
}

fn decode_nonempty(text: &str) -> Option<Latency> {
    histogram::decode(text).ok().filter(|h| !h.is_empty())
}

/// `name: p50 …, p99 …, max …` for a legend.
fn with_stats(name: &str, h: &Latency) -> String {
    format!(
        "{name}: p50 {}, p99 {}, max {}",
        format_duration_us(h.value_at_quantile(0.5) as f64),
        format_duration_us(h.value_at_quantile(0.99) as f64),
        format_duration_us(h.max() as f64),
    )
}

/// The `x` reached by `count` samples: beyond q = 1 - 1/count the histogram only knows
/// its maximum.
fn depth(count: u64) -> f64 {
    (count.max(1) as f64).log10().clamp(0.0, MAX_NINES)
}

/// The spectrum of `h` as (x, latency µs) points.
fn curve(h: &Latency) -> Vec<(f64, f64)> {
    let end = depth(h.len());
    let steps = (end * STEPS_PER_NINE).ceil() as usize;
    let mut pts: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let x = (i as f64 / STEPS_PER_NINE).min(end);
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64)
        })
        .collect();
    pts.push((end, h.max() as f64));
    pts
}

/// The label of x on the nines scale: 0 → `0%`, 1 → `90%`, 3 → `99.9%`.
fn nines_label(x: f64) -> String {
    let q = (1.0 - 10f64.powf(-x)) * 100.0;
    let decimals = (x - 2.0).ceil().max(0.0) as usize;
    format!("{q:.decimals$}%")
}

/// The x axis from 0 to `end` nines (at least two), with a tick per nine and the median.
fn nines_axis(end: f64) -> Axis {
    let end = end.ceil().clamp(2.0, MAX_NINES);
    let mut ticks = vec![Tick {
        at: 0.0,
        label: "0%".into(),
    }];
    ticks.push(Tick {
        at: 2f64.log10(),
        label: "50%".into(),
    });
    ticks.extend((1..=end as i64).map(|n| Tick {
        at: n as f64,
        label: nines_label(n as f64),
    }));
    Axis {
        title: "percentile (log scale: each step adds a nine)".into(),
        lo: 0.0,
        hi: end,
        ticks,
        log: false,
    }
}

/// The latency spectrum of operation `op` (`get`, `put`) for `runs`, one line per run.
/// `None` when no run has a non-empty, decodable histogram for `op`.
pub fn latency_spectrum(runs: &[&RunReport], op: &str) -> Option<String> {
    let decoded: Vec<Decoded> = runs
        .iter()
        .filter_map(|run| {
            let report = run.ops.get(op)?;
            Some(Decoded {
                run,
                hist: decode_nonempty(&report.histogram)?,
                uncorrected: report
                    .uncorrected
                    .as_ref()
                    .and_then(|u| decode_nonempty(&u.histogram)),
            })
        })
        .collect();
    if decoded.is_empty() {
        return None;
    }
    let all = || {
        decoded
            .iter()
            .flat_map(|d| std::iter::once(&d.hist).chain(d.uncorrected.as_ref()))
    };
    let lo = all().map(|h| h.min()).min().unwrap_or(1) as f64;
    let hi = all().map(|h| h.max()).max().unwrap_or(1) as f64;
    let (y, div) = Axis::time("latency", lo, hi);
    let x = nines_axis(all().map(|h| depth(h.len())).fold(0.0, f64::max));
    let styled: Vec<&RunReport> = decoded.iter().map(|d| d.run).collect();
    let styles = runs::styles(&styled);
    let lines = decoded.len() + decoded.iter().filter(|d| d.uncorrected.is_some()).count();
    let stats = lines <= MAX_LEGEND_STATS;
    let line = |h: &Latency| -> Vec<(f64, f64)> {
        curve(h)
            .into_iter()
            .map(|(px, us)| (px, y.to_plot(us / div)))
            .collect()
    };
    let mut series = Vec::new();
    for (d, s) in decoded.iter().zip(styles) {
        series.push(Series {
            label: if stats {
                with_stats(&s.label, &d.hist)
            } else {
                s.label.clone()
            },
            color: s.color,
            segments: vec![line(&d.hist)],
            dashed: false,
            points: false,
        });
        if let Some(u) = &d.uncorrected {
            let name = format!("{} uncorrected", s.label);
            series.push(Series {
                label: if stats { with_stats(&name, u) } else { name },
                color: s.color,
                segments: vec![line(u)],
                dashed: true,
                points: false,
            });
        }
    }
    let samples: u64 = decoded.iter().map(|d| d.hist.len()).sum();
    let note = if decoded.iter().any(|d| d.uncorrected.is_some()) {
        "; dashed: timed from the actual send"
    } else {
        ""
    };
    frame::render(&Chart {
        title: format!("Latency by percentile: {op}"),
        subtitle: format!(
            "{samples} successful {op} operations, from each run's full histogram{note}"
        ),
        x,
        y,
        series,
        markers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(4.0), "99.99%");
        let axis = nines_axis(2.3);
        assert_eq!(axis.hi, 3.0);
        assert_eq!(axis.ticks.len(), 5);
    }

    #[test]
    fn curve_ends_at_the_maximum() {
        let mut h = histogram::new_latency();
        for v in 1..=1000 {
            histogram::record_us(&mut h, v);
        }
        let c = curve(&h);
        assert_eq!(c.last().map(|p| p.0), Some(3.0));
        assert_eq!(c.last().map(|p| p.1), Some(1000.0));
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
