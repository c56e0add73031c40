//! Verdicts: whether a metric's change between baseline and candidate is a regression,
//! an improvement, within the threshold, or cannot be told apart from noise; and the
//! overall verdict that decides `versus compare`'s exit code.
//!
//! A change is first turned into a *worsening*: how much worse the candidate is, as a
//! fraction (`+0.5` = 50% worse), whichever way the metric points. Latency, CPU, memory
//! and errors are worse when higher; throughput is worse when lower. Then, with threshold
//! `t`:
//!
//! | estimate | regressed | improved | inconclusive | pass |
//! |---|---|---|---|---|
//! | point only (one run a side) | worsening > t | worsening < −t | — | otherwise |
//! | interval (repetitions) | whole interval > t | whole interval < −t | interval straddles t | otherwise |
//!
//! An interval that straddles −t but stays below t is a pass: no regression is possible
//! at that confidence, and the improvement is not established.

use std::fmt;

use serde::Serialize;

use super::stats::{Delta, Estimate};
use crate::error::{EXIT_FAILED_CHECK, EXIT_OK};

pub use crate::metric::Better;

/// The outcome for one metric, or for the whole comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the threshold.
    Pass,
    /// Better than the baseline by more than the threshold.
    Improved,
    /// Noise, or missing data, prevents a verdict.
    Inconclusive,
    /// Worse than the baseline by more than the threshold.
    Regressed,
}

impl Verdict {
    /// The word used in both output formats.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Improved => "improved",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Regressed => "regressed",
        }
    }

    /// The exit code of a comparison with this overall verdict: 1 for a regression,
    /// 0 otherwise (an inconclusive comparison does not fail the gate, but says so).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Regressed => EXIT_FAILED_CHECK,
            _ => EXIT_OK,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict with the reason, when the reason is not obvious from the numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for inconclusive verdicts.
    pub note: Option<String>,
}

impl Decision {
    fn plain(verdict: Verdict) -> Self {
        Decision {
            verdict,
            note: None,
        }
    }

    /// An inconclusive verdict because of `why`.
    pub fn inconclusive(why: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::Inconclusive,
            note: Some(why.into()),
        }
    }
}

/// Rounding slack when a change is compared with its threshold.
const TOLERANCE: f64 = 1e-9;

/// How much worse `value` (an estimate of `kind`) is than unchanged, as a fraction.
pub fn worsening(kind: Delta, better: Better, value: f64) -> f64 {
    let change = value - kind.neutral();
    match better {
        Better::Lower => change,
        Better::Higher => -change,
    }
}

/// The verdict for `estimate` against `threshold` (a fraction: 0.05 = 5%, or 5
/// percentage points for a difference of rates).
pub fn decide(kind: Delta, better: Better, threshold: f64, estimate: &Estimate) -> Decision {
    // A change exactly at the threshold passes, also after rounding (1.05 − 1 > 0.05).
    let threshold = threshold + TOLERANCE;
    if estimate.point.is_nan() {
        return Decision::inconclusive("no comparable value");
    }
    if estimate.point.is_infinite() {
        return Decision::inconclusive("the baseline is 0, so no ratio exists");
    }
    let w = |v: f64| worsening(kind, better, v);
    match estimate.interval {
        None => {
            let worse = w(estimate.point);
            Decision::plain(if worse > threshold {
                Verdict::Regressed
            } else if worse < -threshold {
                Verdict::Improved
            } else {
                Verdict::Pass
            })
        }
        Some((a, b)) => {
            let (low, high) = (w(a).min(w(b)), w(a).max(w(b)));
            if low.is_nan() || high.is_nan() {
                Decision::inconclusive("the resampled values are not numbers")
            } else if low > threshold {
                Decision::plain(Verdict::Regressed)
            } else if high < -threshold {
                Decision::plain(Verdict::Improved)
            } else if high > threshold {
                Decision::inconclusive("the interval straddles the threshold: too noisy to tell")
            } else {
                Decision::plain(Verdict::Pass)
            }
        }
    }
}

/// The overall verdict: regressed if any metric regressed; else inconclusive if any
/// was (or if nothing could be compared); else improved if any improved; else pass.
pub fn overall(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut any = false;
    let mut worst = Verdict::Pass;
    for v in verdicts {
        any = true;
        worst = worst.max(v);
    }
    if any {
        worst
    } else {
        Verdict::Inconclusive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(p: f64) -> Estimate {
        Estimate {
            point: p,
            interval: None,
        }
    }

    fn interval(p: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            point: p,
            interval: Some((low, high)),
        }
    }

    fn v(kind: Delta, better: Better, e: Estimate) -> Verdict {
        decide(kind, better, 0.05, &e).verdict
    }

    #[test]
    fn point_estimates() {
        use Better::*;
        use Delta::*;
        assert_eq!(v(Ratio, Lower, point(1.5)), Verdict::Regressed);
        assert_eq!(v(Ratio, Lower, point(1.04)), Verdict::Pass);
        assert_eq!(
            v(Ratio, Lower, point(1.05)),
            Verdict::Pass,
            "at the threshold"
        );
        assert_eq!(v(Ratio, Lower, point(0.5)), Verdict::Improved);
        assert_eq!(v(Ratio, Higher, point(0.5)), Verdict::Regressed);
        assert_eq!(v(Ratio, Higher, point(1.5)), Verdict::Improved);
        assert_eq!(v(Difference, Lower, point(0.06)), Verdict::Regressed);
        assert_eq!(v(Difference, Lower, point(0.0)), Verdict::Pass);
        assert_eq!(v(Ratio, Lower, point(f64::INFINITY)), Verdict::Inconclusive);
        assert_eq!(v(Ratio, Lower, point(f64::NAN)), Verdict::Inconclusive);
    }

    #[test]
    fn intervals() {
        use Better::*;
        use Delta::*;
        assert_eq!(v(Ratio, Lower, interval(1.5, 1.4, 1.6)), Verdict::Regressed);
        assert_eq!(
            v(Ratio, Lower, interval(1.06, 1.0, 1.1)),
            Verdict::Inconclusive
        );
        assert_eq!(v(Ratio, Lower, interval(1.0, 0.98, 1.03)), Verdict::Pass);
        assert_eq!(v(Ratio, Lower, interval(0.97, 0.9, 1.01)), Verdict::Pass);
        assert_eq!(v(Ratio, Lower, interval(0.8, 0.7, 0.9)), Verdict::Improved);
        assert_eq!(
            v(Ratio, Higher, interval(0.8, 0.7, 0.9)),
            Verdict::Regressed
        );
        assert_eq!(
            v(Ratio, Higher, interval(0.96, 0.9, 1.0)),
            Verdict::Inconclusive
        );
        assert_eq!(
            v(Ratio, Lower, interval(1.0, 0.5, 1.5)),
            Verdict::Inconclusive
        );
    }

    #[test]
    fn overall_takes_the_worst() {
        use Verdict::*;
        assert_eq!(overall([Pass, Pass]), Pass);
        assert_eq!(overall([Pass, Improved]), Improved);
        assert_eq!(overall([Improved, Inconclusive, Pass]), Inconclusive);
        assert_eq!(overall([Inconclusive, Regressed, Improved]), Regressed);
        assert_eq!(overall([]), Inconclusive, "nothing compared");
        assert_eq!(Regressed.exit_code(), 1);
        assert_eq!(Inconclusive.exit_code(), 0);
    }

    proptest! {
        /// A verdict never contradicts its point estimate: a regression's point is worse
        /// than the threshold, an improvement's point better than minus the threshold.
        #[test]
        fn verdict_agrees_with_the_point(
            p in 0.01f64..10.0,
            spread in 0.0f64..1.0,
            t in 0.0f64..0.5,
            higher in any::<bool>(),
            with_interval in any::<bool>(),
        ) {
            let better = if higher { Better::Higher } else { Better::Lower };
            let e = if with_interval { interval(p, p * (1.0 - spread / 2.0), p * (1.0 + spread)) } else { point(p) };
            let worse = worsening(Delta::Ratio, better, p);
            match decide(Delta::Ratio, better, t, &e).verdict {
                Verdict::Regressed => prop_assert!(worse > t),
                Verdict::Improved => prop_assert!(worse < -t),
                Verdict::Pass => prop_assert!(worse <= t + 1e-9),
                Verdict::Inconclusive => prop_assert!(with_interval),
            }
        }

        /// Widening the interval never turns an inconclusive verdict into a decisive one.
        #[test]
        fn wider_is_never_more_decisive(p in 0.5f64..2.0, s in 0.0f64..0.5, extra in 0.0f64..0.5) {
            let narrow = decide(Delta::Ratio, Better::Lower, 0.05, &interval(p, p - s * p / 2.0, p + s * p));
            let wide = decide(Delta::Ratio, Better::Lower, 0.05, &interval(p, p - (s + extra) * p / 2.0, p + (s + extra) * p));
            if narrow.verdict == Verdict::Inconclusive {
                prop_assert_eq!(wide.verdict, Verdict::Inconclusive);
            }
        }
    }
}
