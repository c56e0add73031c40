//! The rule that turns an effect into a verdict: the effect of each repetition (CS and
//! P2P runs made side by side, or two sizes of one sweep), their median, a paired
//! bootstrap 95 % interval, and an indifference band around "no difference".
//!
//! | interval | verdict |
//! |---|---|
//! | wholly beyond the band, on the side the claim predicts | supported |
//! | wholly beyond the band, on the other side | contradicted |
//! | touching or inside the band, or no interval (one repetition) | inconclusive |
//!
//! An interval inside the band is inconclusive too, not contradicted: it says the
//! difference is too small to matter, which the explanation spells out.

use crate::analyse::stats::{paired_estimate, Delta, Estimate};
use crate::report::model::ClaimVerdict;

/// The indifference band of every claim that does not set its own: ±10 %.
pub(crate) const DEFAULT_BAND: f64 = 0.10;

/// Which side of "no difference" the claim predicts the effect lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The effect is larger than neutral (a ratio above 1, a positive difference).
    Above,
    /// The effect is smaller than neutral.
    Below,
}

/// How one claim's effect is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    /// Ratio (candidate / baseline) or difference (candidate − baseline).
    pub(crate) kind: Delta,
    /// Where the claim puts the effect.
    pub(crate) side: Side,
    /// Half-width of the band: relative for a ratio (0.10 = ±10 %), in the metric's unit
    /// for a difference.
    pub(crate) band: f64,
}

/// An effect measured over repetitions, judged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    /// The verdict.
    pub(crate) verdict: ClaimVerdict,
    /// Median over the repetitions of the per-repetition effect.
    pub(crate) effect: f64,
    /// Paired bootstrap 95 % interval, from two repetitions on.
    pub(crate) interval: Option<(f64, f64)>,
    /// The band.
    pub(crate) band: (f64, f64),
    /// Repetitions that gave an effect.
    pub(crate) repetitions: usize,
}

impl Rule {
    /// A ratio rule with the default band.
    pub(crate) const fn ratio(side: Side) -> Rule {
        Rule {
            kind: Delta::Ratio,
            side,
            band: DEFAULT_BAND,
        }
    }

    /// A difference rule with a band of ±`band` in the metric's unit.
    pub(crate) const fn difference(side: Side, band: f64) -> Rule {
        Rule {
            kind: Delta::Difference,
            side,
            band,
        }
    }

    /// The band as `(low, high)`.
    pub(crate) fn band(&self) -> (f64, f64) {
        let neutral = self.kind.neutral();
        match self.kind {
            Delta::Ratio => (neutral * (1.0 - self.band), neutral * (1.0 + self.band)),
            Delta::Difference => (neutral - self.band, neutral + self.band),
        }
    }

    /// Judges paired samples: `baseline[i]` and `candidate[i]` were measured in the same
    /// repetition; the effect of a pair is `kind.of(baseline, candidate)`. `None` when
    /// there is no pair.
    pub(crate) fn judge(&self, baseline: &[f64], candidate: &[f64]) -> Option<Judgement> {
        let estimate = paired_estimate(self.kind, baseline, candidate)?;
        Some(self.judge_estimate(estimate, baseline.len().min(candidate.len())))
    }

    /// Judges an estimate made elsewhere over `repetitions` repetitions.
    pub(crate) fn judge_estimate(&self, estimate: Estimate, repetitions: usize) -> Judgement {
        let band = self.band();
        let verdict = match estimate.interval {
            None => ClaimVerdict::Inconclusive,
            Some((low, high)) => {
                let beyond = if low > band.1 {
                    Some(Side::Above)
                } else if high < band.0 {
                    Some(Side::Below)
                } else {
                    None
                };
                match beyond {
                    Some(side) if side == self.side => ClaimVerdict::Supported,
                    Some(_) => ClaimVerdict::Contradicted,
                    None => ClaimVerdict::Inconclusive,
                }
            }
        };
        Judgement {
            verdict,
            effect: estimate.point,
            interval: estimate.interval,
            band,
            repetitions,
        }
    }
}

impl Judgement {
    /// Why the verdict is what it is, in words, given how the effect reads
    /// (`format` prints a value of it).
    pub(crate) fn reason(&self, format: impl Fn(f64) -> String) -> String {
        let (low, high) = self.band;
        let band = format!("{} to {}", format(low), format(high));
        match (self.verdict, self.interval) {
            (_, None) => "one repetition gives no interval, so noise cannot be ruled out; `versus claims` repeats every experiment (5 times, 3 with --quick)".to_string(),
            (ClaimVerdict::Supported, Some(_)) => format!(
                "the whole 95 % interval lies beyond the indifference band ({band}) on the side the claim predicts"
            ),
            (ClaimVerdict::Contradicted, Some(_)) => format!(
                "the whole 95 % interval lies beyond the indifference band ({band}) on the side opposite to the claim"
            ),
            (_, Some((l, h))) if l >= low && h <= high => format!(
                "the whole 95 % interval lies inside the indifference band ({band}): a difference too small to matter either way"
            ),
            (_, Some(_)) => format!(
                "the 95 % interval reaches into the indifference band ({band}), so noise could explain the difference; more repetitions may decide"
            ),
        }
    }

    /// `1.42 (95 % interval 1.30–1.55, 5 repetitions)`.
    pub(crate) fn effect_text(&self, format: impl Fn(f64) -> String) -> String {
        let reps = match self.repetitions {
            1 => "1 repetition".to_string(),
            n => format!("{n} repetitions"),
        };
        match self.interval {
            Some((l, h)) => format!(
                "{} (95 % interval {} to {}, {reps})",
                format(self.effect),
                format(l),
                format(h)
            ),
            None => format!("{} ({reps})", format(self.effect)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABOVE: Rule = Rule::ratio(Side::Above);

    #[test]
    fn a_clear_effect_on_the_predicted_side_is_supported() {
        let j = ABOVE
            .judge(
                &[10.0, 11.0, 10.5, 9.8, 10.2],
                &[20.0, 21.0, 20.4, 19.0, 20.1],
            )
            .unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Supported);
        assert!((j.effect - 2.0).abs() < 0.1, "{j:?}");
        assert_eq!(j.repetitions, 5);
        let j = Rule::ratio(Side::Below)
            .judge(
                &[10.0, 11.0, 10.5, 9.8, 10.2],
                &[20.0, 21.0, 20.4, 19.0, 20.1],
            )
            .unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Contradicted);
    }

    #[test]
    fn an_interval_overlapping_the_band_is_inconclusive() {
        // Per-pair ratios 1.02 … 1.25: the interval reaches below 1.1.
        let base = [100.0; 5];
        let cand = [102.0, 125.0, 104.0, 120.0, 112.0];
        let j = ABOVE.judge(&base, &cand).unwrap();
        let (low, high) = j.interval.unwrap();
        assert!(low < 1.1 && high > 1.1, "{j:?}");
        assert_eq!(j.verdict, ClaimVerdict::Inconclusive);
        assert!(j.reason(|v| format!("{v:.2}")).contains("reaches into"));
        // Inside the band: too small to matter, still inconclusive.
        let j = ABOVE
            .judge(&base, &[101.0, 99.0, 102.0, 100.0, 98.0])
            .unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Inconclusive);
        assert!(j.reason(|v| format!("{v:.2}")).contains("too small"));
    }

    #[test]
    fn one_repetition_is_never_enough() {
        let j = ABOVE.judge(&[1.0], &[5.0]).unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Inconclusive);
        assert_eq!(j.interval, None);
        assert!(ABOVE.judge(&[], &[]).is_none());
    }

    #[test]
    fn differences_use_an_absolute_band() {
        let rule = Rule::difference(Side::Above, 1.0);
        assert_eq!(rule.band(), (-1.0, 1.0));
        let j = rule.judge(&[0.0, 0.0, 1.0], &[3.0, 4.0, 4.0]).unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Supported);
        let j = rule.judge(&[0.0, 0.0, 0.0], &[0.5, 0.0, 0.2]).unwrap();
        assert_eq!(j.verdict, ClaimVerdict::Inconclusive);
    }
}
