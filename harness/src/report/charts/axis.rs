//! Axes: ranges, tick positions and tick labels, computed here rather than left to
//! plotters so every chart gets round numbers ("1", "2", "5", "10"), readable units and
//! the same behaviour on degenerate data (one point, all zeros, NaN).
//!
//! An [`Axis`] lives in *plot coordinates*: for a log axis those are `log10` of the
//! value, and the tick labels carry the real values.

/// One tick: where it is (plot coordinates) and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tick {
    /// Position in plot coordinates.
    pub at: f64,
    /// Label text.
    pub label: String,
}

/// An axis: its title, its range in plot coordinates and its ticks.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Axis {
    /// Axis title, with the unit: `latency (ms)`.
    pub title: String,
    /// Lowest plotted value (plot coordinates).
    pub lo: f64,
    /// Highest plotted value (plot coordinates).
    pub hi: f64,
    /// Ticks, in increasing order, all within `lo..=hi`.
    pub ticks: Vec<Tick>,
    /// True when plot coordinates are `log10` of the values.
    pub log: bool,
}

impl Axis {
    /// The plot coordinate of a data value (`log10` on a log axis; non-positive values
    /// are clamped to the bottom of a log axis).
    pub(super) fn to_plot(&self, value: f64) -> f64 {
        if self.log {
            if value > 0.0 {
                value.log10()
            } else {
                self.lo
            }
        } else {
            value
        }
    }

    /// A linear axis covering `lo..=hi` (data values) with about `target` round ticks.
    /// With `from_zero`, the axis starts at zero when all data are positive (counts,
    /// rates), so bar-like quantities are not exaggerated.
    pub(super) fn linear(
        title: impl Into<String>,
        lo: f64,
        hi: f64,
        target: usize,
        from_zero: bool,
    ) -> Self {
        let (mut lo, mut hi) = sane_range(lo, hi);
        if from_zero && lo > 0.0 {
            lo = 0.0;
        }
        if hi - lo <= 1e-9 * hi.abs().max(lo.abs()).max(1.0) {
            // One value: centre it in a range of round numbers around it.
            let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.5 };
            lo = if from_zero && lo >= 0.0 {
                0.0
            } else {
                lo - pad
            };
            hi += pad;
        }
        let step = nice_step((hi - lo) / target.max(1) as f64);
        Self::stepped(title.into(), lo, hi, step)
    }

    /// A linear axis from the multiple of `step` at or below `lo` to the one at or above
    /// `hi`, with a tick on every multiple.
    fn stepped(title: String, lo: f64, hi: f64, step: f64) -> Self {
        let first = (lo / step).floor();
        let last = (hi / step).ceil().max(first + 1.0);
        let big = hi.abs().max(lo.abs()) >= 10_000.0 && step >= 1_000.0;
        let ticks = (0..=((last - first) as i64).clamp(1, 50))
            .map(|i| {
                let at = (first + i as f64) * step;
                let label = if big && at != 0.0 {
                    format!("{}k", trim(at / 1_000.0))
                } else {
                    trim(at)
                };
                Tick { at, label }
            })
            .collect();
        Self {
            title,
            lo: first * step,
            hi: last * step,
            ticks,
            log: false,
        }
    }

    /// An axis for user counts: logarithmic with a tick on every measured count when they
    /// span 8× or more (a sweep of 4, 8, 16, 32 users spreads evenly), otherwise linear
    /// from zero with whole-number ticks.
    pub(super) fn users(title: impl Into<String>, values: &[f64]) -> Self {
        let mut v: Vec<f64> = values
            .iter()
            .copied()
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        let (lo, hi) = match (v.first(), v.last()) {
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => (1.0, 1.0),
        };
        if hi / lo < 8.0 {
            let mut step = nice_step(hi / 6.0).max(1.0);
            if step.fract() != 0.0 {
                step *= 2.0;
            }
            return Self::stepped(title.into(), 0.0, hi, step);
        }
        let mut axis = if v.len() <= 10 {
            let ticks = v
                .iter()
                .map(|x| Tick {
                    at: x.log10(),
                    label: trim(*x),
                })
                .collect();
            Self {
                title: String::new(),
                lo: lo.log10(),
                hi: hi.log10(),
                ticks,
                log: true,
            }
        } else {
            Self::log10("", lo, hi, 1.0)
        };
        // Keep the outermost points off the plot's edges.
        let pad = (axis.hi - axis.lo) * 0.05;
        axis.lo = axis.lo.min(lo.log10() - pad);
        axis.hi = axis.hi.max(hi.log10() + pad);
        axis.title = format!("{}, log scale", title.into());
        axis
    }

    /// A log axis covering `lo..=hi` (positive data values). Over two decades or less the
    /// ticks are 1-2-5 multiples; over more, one per decade (every other decade beyond
    /// eight). Non-positive bounds are clamped to `min_positive`.
    pub(super) fn log10(title: impl Into<String>, lo: f64, hi: f64, min_positive: f64) -> Self {
        let (lo, hi) = sane_range(lo, hi);
        let floor = if min_positive > 0.0 && min_positive.is_finite() {
            min_positive
        } else {
            1e-9
        };
        let lo = lo.max(floor);
        let hi = hi.max(lo);
        let (lo_e, hi_e) = (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        );
        let decades = (hi_e - lo_e) as i64;
        let mut values: Vec<f64> = Vec::new();
        if decades <= 2 {
            for e in (lo_e as i64)..=(hi_e as i64) {
                for m in [1.0, 2.0, 5.0] {
                    values.push(m * 10f64.powi(e as i32));
                }
            }
            // Keep the 1-2-5 values that bracket the data, and nothing beyond.
            let start = values
                .iter()
                .rposition(|v| *v <= lo * (1.0 + 1e-9))
                .unwrap_or(0);
            let end = values
                .iter()
                .position(|v| *v >= hi * (1.0 - 1e-9))
                .unwrap_or(values.len() - 1);
            values = values[start..=end.max(start + 1).min(values.len() - 1)].to_vec();
        } else {
            let every = if decades > 8 { 2 } else { 1 };
            let mut e = lo_e as i64;
            while e <= hi_e as i64 {
                values.push(10f64.powi(e as i32));
                e += every;
            }
        }
        let ticks: Vec<Tick> = values
            .iter()
            .map(|v| Tick {
                at: v.log10(),
                label: trim(*v),
            })
            .collect();
        let lo_p = ticks.first().map_or(lo.log10(), |t| t.at.min(lo.log10()));
        let hi_p = ticks.last().map_or(hi.log10(), |t| t.at.max(hi.log10()));
        Self {
            title: title.into(),
            lo: lo_p,
            hi: hi_p,
            ticks,
            log: true,
        }
    }

    /// A time axis (latency, makespan) for values in microseconds. When the data span
    /// more than 100× (and none is zero) it is logarithmic, with the unit on every tick (`100µs`, `1ms`,
    /// `1s`); otherwise linear from zero in one unit (µs, ms or s, named in the title) so
    /// tick labels stay short. Returns the axis and the divisor that turns µs into plot
    /// values before [`Axis::to_plot`] (1 on a log axis).
    pub(super) fn time(what: &str, lo_us: f64, hi_us: f64) -> (Self, f64) {
        let (lo_us, hi_us) = sane_range(lo_us, hi_us);
        // A zero says nothing about the spread (and has no logarithm): linear then.
        if lo_us > 0.0 && hi_us / lo_us > 100.0 {
            let mut axis = Axis::log10(format!("{what} (log scale)"), lo_us, hi_us, 1.0);
            for t in &mut axis.ticks {
                t.label = duration_label(10f64.powf(t.at));
            }
            return (axis, 1.0);
        }
        let (unit, div) = time_unit(hi_us);
        let axis = Axis::linear(
            format!("{what} ({unit})"),
            lo_us / div,
            hi_us / div,
            6,
            true,
        );
        (axis, div)
    }

    /// The label of the tick nearest to `at` (plotters asks for labels by position).
    pub(super) fn label_at(&self, at: f64) -> String {
        self.ticks
            .iter()
            .min_by(|a, b| (a.at - at).abs().total_cmp(&(b.at - at).abs()))
            .map(|t| t.label.clone())
            .unwrap_or_default()
    }
}

/// The unit for time values whose maximum is `max_us` microseconds, and its size in µs:
/// µs below 1 ms, ms below 2 s, s beyond.
pub(super) fn time_unit(max_us: f64) -> (&'static str, f64) {
    if max_us < 1_000.0 {
        ("µs", 1.0)
    } else if max_us < 2_000_000.0 {
        ("ms", 1_000.0)
    } else {
        ("s", 1_000_000.0)
    }
}

/// A round duration with its unit: `500µs`, `2ms`, `10s`.
pub(super) fn duration_label(us: f64) -> String {
    if us < 1_000.0 {
        format!("{}µs", trim(us))
    } else if us < 1_000_000.0 {
        format!("{}ms", trim(us / 1_000.0))
    } else {
        format!("{}s", trim(us / 1_000_000.0))
    }
}

/// A finite, ordered range: NaN and infinities collapse to `0..=1`.
fn sane_range(lo: f64, hi: f64) -> (f64, f64) {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo.min(hi), lo.max(hi)),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => (0.0, 1.0),
    }
}

/// The round step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`.
pub(super) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A number without trailing zeros: `2`, `0.5`, `12.25`, never `-0`.
pub(super) fn trim(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_linear_ticks() {
        let a = Axis::linear("x", 0.3, 9.2, 5, true);
        let labels: Vec<_> = a.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "2", "4", "6", "8", "10"]);
        let big = Axis::linear("x", 0.0, 42_000.0, 5, true);
        assert_eq!(big.ticks[1].label, "10k");
    }

    #[test]
    fn log_ticks() {
        let a = Axis::log10("y", 0.8, 900.0, 0.001);
        let labels: Vec<_> = a.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1000"]);
        let b = Axis::log10("y", 3.0, 40.0, 0.001);
        let labels: Vec<_> = b.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["2", "5", "10", "20", "50"]);
    }

    #[test]
    fn latency_units() {
        assert_eq!(time_unit(500.0).0, "µs");
        assert_eq!(time_unit(5_000.0).0, "ms");
        assert_eq!(time_unit(5_000_000.0).0, "s");
        let (axis, div) = Axis::time("latency", 100.0, 100_000.0);
        let labels: Vec<_> = axis.ticks.iter().map(|t| t.label.as_str()).collect();
        assert!(axis.log && div == 1.0, "{axis:?}");
        assert_eq!(labels, ["100µs", "1ms", "10ms", "100ms"]);
        let (axis, div) = Axis::time("makespan", 0.0, 8_000_000.0);
        assert!(!axis.log && div == 1e6 && axis.title == "makespan (s)");
    }

    proptest! {
        #[test]
        fn axes_cover_their_data(lo in -1e9f64..1e9, span in 0f64..1e9, log in any::<bool>()) {
            let hi = lo + span;
            let a = if log && lo > 0.0 {
                Axis::log10("t", lo, hi, 1e-6)
            } else {
                Axis::linear("t", lo, hi, 6, false)
            };
            prop_assert!(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi);
            prop_assert!(!a.ticks.is_empty() && a.ticks.len() <= 51);
            let (plo, phi) = (a.to_plot(lo), a.to_plot(hi));
            let tol = (a.hi - a.lo) * 1e-9;
            prop_assert!(plo >= a.lo - tol && phi <= a.hi + tol);
        }
    }
}
