//! The statistics behind `versus compare`: the median of a metric over repetitions, the
//! candidate-versus-baseline estimate (a ratio of medians, or a difference of medians for
//! rates; with `--paired`, the median of per-pair ratios of runs made side by side), and
//! its bootstrap confidence interval.
//!
//! Repetitions of the same run are noisy, and a regression gate must not fail on noise.
//! With at least two repetitions on both sides, both sample sets are resampled with
//! replacement [`RESAMPLES`] times and the estimate recomputed each time; the 2.5th and
//! 97.5th percentiles of those estimates bound a 95% percentile-bootstrap interval. The
//! random stream is a SplitMix64 with a fixed seed, so the same two reports always give
//! the same interval, on every platform and every version of Versus.

use serde::Serialize;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 4000;
/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;
/// Seed of the bootstrap's random stream.
pub const SEED: u64 = 0x7665_7273_7573; // "versus"

pub use crate::metric::Delta;

/// A point estimate and, when both sides had repetitions, its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate from the medians of the samples.
    pub point: f64,
    /// The bootstrap interval `(low, high)`, which always contains `point`.
    pub interval: Option<(f64, f64)>,
}

/// The median of `values` (the mean of the two middle values for an even count), or
/// `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_of_sorted(&sorted)
}

fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Compares `candidate` samples with `baseline` samples: the estimate of the medians, and
/// a bootstrap interval when each side has at least two samples. `None` when a side has
/// no sample at all.
pub fn estimate(kind: Delta, baseline: &[f64], candidate: &[f64]) -> Option<Estimate> {
    let point = kind.of(median(baseline)?, median(candidate)?);
    let interval = if baseline.len() >= 2 && candidate.len() >= 2 {
        let (low, high) = bootstrap(kind, baseline, candidate, RESAMPLES, SEED);
        // Percentiles of a very skewed resampling distribution can miss the point
        // estimate; an interval that excludes its own estimate would only confuse.
        Some((low.min(point), high.max(point)))
    } else {
        None
    };
    Some(Estimate { point, interval })
}

/// Compares runs made in pairs (side by side, interleaved): `baseline[i]` with
/// `candidate[i]`. The estimate is the median of the per-pair estimates (`kind.of` of each
/// pair), so a drift of the machine that moves both runs of a pair cancels out; with at
/// least two pairs, a percentile-bootstrap interval resamples the pairs. Pairs beyond the
/// shorter slice are ignored; `None` when there is no pair.
pub fn paired_estimate(kind: Delta, baseline: &[f64], candidate: &[f64]) -> Option<Estimate> {
    let per_pair: Vec<f64> = baseline
        .iter()
        .zip(candidate)
        .map(|(&b, &c)| kind.of(b, c))
        .collect();
    let point = median(&per_pair)?;
    let interval = (per_pair.len() >= 2).then(|| {
        let mut rng = SplitMix64(SEED);
        let mut scratch = vec![0.0; per_pair.len()];
        let mut estimates: Vec<f64> = (0..RESAMPLES)
            .map(|_| resampled_median(&per_pair, &mut scratch, &mut rng))
            .collect();
        estimates.sort_by(f64::total_cmp);
        let (low, high) = percentile_interval(&estimates);
        (low.min(point), high.max(point))
    });
    Some(Estimate { point, interval })
}

/// The percentile-bootstrap interval (at [`CONFIDENCE`]) of `kind` applied to the medians
/// of `candidate` and `baseline`, from `resamples` resamples of both drawn with a
/// SplitMix64 stream seeded with `seed`. Both slices must be non-empty.
pub fn bootstrap(
    kind: Delta,
    baseline: &[f64],
    candidate: &[f64],
    resamples: usize,
    seed: u64,
) -> (f64, f64) {
    let mut rng = SplitMix64(seed);
    let mut scratch_b = vec![0.0; baseline.len()];
    let mut scratch_c = vec![0.0; candidate.len()];
    let mut estimates = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples.max(1) {
        let b = resampled_median(baseline, &mut scratch_b, &mut rng);
        let c = resampled_median(candidate, &mut scratch_c, &mut rng);
        estimates.push(kind.of(b, c));
    }
    estimates.sort_by(f64::total_cmp);
    percentile_interval(&estimates)
}

/// The [`CONFIDENCE`] percentile interval of sorted, non-empty `estimates`.
fn percentile_interval(estimates: &[f64]) -> (f64, f64) {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let last = (estimates.len() - 1) as f64;
    let low = estimates[(tail * last).floor() as usize];
    let high = estimates[((1.0 - tail) * last).ceil() as usize];
    (low, high)
}

fn resampled_median(samples: &[f64], scratch: &mut [f64], rng: &mut SplitMix64) -> f64 {
    for slot in scratch.iter_mut() {
        *slot = samples[rng.below(samples.len())];
    }
    scratch.sort_by(f64::total_cmp);
    median_of_sorted(scratch).unwrap_or(f64::NAN)
}

/// SplitMix64 (Steele, Lea and Flood): tiny, fast and identical everywhere, which is all
/// resampling needs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`); the modulo bias is negligible for sample counts.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn ratios_and_differences() {
        assert_eq!(Delta::Ratio.of(2.0, 3.0), 1.5);
        assert_eq!(Delta::Ratio.of(0.0, 0.0), 1.0);
        assert_eq!(Delta::Ratio.of(0.0, 1.0), f64::INFINITY);
        assert_eq!(Delta::Difference.of(0.01, 0.03), 0.03 - 0.01);
        assert_eq!(Delta::Ratio.neutral(), 1.0);
        assert_eq!(Delta::Difference.neutral(), 0.0);
    }

    #[test]
    fn single_samples_give_no_interval() {
        let e = estimate(Delta::Ratio, &[100.0], &[150.0]).unwrap();
        assert_eq!(e.point, 1.5);
        assert_eq!(e.interval, None);
        let e = estimate(Delta::Ratio, &[100.0, 101.0], &[150.0]).unwrap();
        assert_eq!(e.interval, None);
        assert!(estimate(Delta::Ratio, &[], &[1.0]).is_none());
    }

    #[test]
    fn bootstrap_is_deterministic() {
        let b = [100.0, 104.0, 97.0, 101.0];
        let c = [120.0, 118.0, 125.0];
        assert_eq!(
            estimate(Delta::Ratio, &b, &c),
            estimate(Delta::Ratio, &b, &c),
            "same inputs, same interval"
        );
    }

    #[test]
    fn clear_shift_gives_an_interval_away_from_one() {
        let b = [100.0, 102.0, 98.0, 101.0, 99.0];
        let c = [150.0, 153.0, 147.0, 151.0, 149.0];
        let e = estimate(Delta::Ratio, &b, &c).unwrap();
        let (low, high) = e.interval.unwrap();
        assert!((1.4..=1.6).contains(&low) && (1.4..=1.6).contains(&high));
        assert!(low <= e.point && e.point <= high);
    }

    #[test]
    fn pairing_cancels_a_shared_drift() {
        // The machine drifts from 100 to 200 during the runs; the candidate is always
        // 10% slower than the baseline run beside it.
        let b: Vec<f64> = (0..10).map(|i| 100.0 + 10.0 * f64::from(i)).collect();
        let c: Vec<f64> = b.iter().map(|v| v * 1.1).collect();
        let paired = paired_estimate(Delta::Ratio, &b, &c).unwrap();
        let (low, high) = paired.interval.unwrap();
        assert!((paired.point - 1.1).abs() < 1e-9);
        assert!((low - 1.1).abs() < 1e-9 && (high - 1.1).abs() < 1e-9);
        let unpaired = estimate(Delta::Ratio, &b, &c).unwrap();
        let (low, high) = unpaired.interval.unwrap();
        assert!(
            low < 1.0 && high > 1.2,
            "the drift swamps the unpaired interval"
        );
        assert_eq!(paired_estimate(Delta::Ratio, &[], &[1.0]), None);
        assert_eq!(
            paired_estimate(Delta::Ratio, &[2.0], &[3.0, 9.0]).unwrap(),
            Estimate {
                point: 1.5,
                interval: None
            },
            "one pair: no interval; the unpaired run is ignored"
        );
    }

    proptest! {
        /// A paired interval contains its point, and identical pairs give exactly 1.
        #[test]
        fn paired_interval_contains_the_point(
            b in proptest::collection::vec(1.0f64..1e6, 2..16),
            k in proptest::collection::vec(0.5f64..2.0, 16),
        ) {
            let c: Vec<f64> = b.iter().zip(&k).map(|(v, k)| v * k).collect();
            let e = paired_estimate(Delta::Ratio, &b, &c).unwrap();
            let (low, high) = e.interval.unwrap();
            prop_assert!(low <= e.point && e.point <= high);
            let same = paired_estimate(Delta::Ratio, &b, &b).unwrap();
            prop_assert_eq!(same.point, 1.0);
            prop_assert_eq!(same.interval, Some((1.0, 1.0)));
        }

        /// The interval always contains the point estimate.
        #[test]
        fn interval_contains_the_point(
            b in proptest::collection::vec(1.0f64..1e6, 2..12),
            c in proptest::collection::vec(1.0f64..1e6, 2..12),
            difference in any::<bool>(),
        ) {
            let kind = if difference { Delta::Difference } else { Delta::Ratio };
            let e = estimate(kind, &b, &c).unwrap();
            let (low, high) = e.interval.unwrap();
            prop_assert!(low <= e.point && e.point <= high, "{low} <= {} <= {high}", e.point);
        }

        /// Without the clamp, the raw bootstrap interval still brackets the point for the
        /// usual two or three repetitions: the sample median is then the likeliest
        /// resampled median on each side (at least 13/27), far above the 2.5% tails.
        #[test]
        fn raw_interval_brackets_the_point(
            b in proptest::collection::vec(1.0f64..1e6, 2..4),
            c in proptest::collection::vec(1.0f64..1e6, 2..4),
        ) {
            let point = Delta::Ratio.of(median(&b).unwrap(), median(&c).unwrap());
            let (low, high) = bootstrap(Delta::Ratio, &b, &c, RESAMPLES, SEED);
            prop_assert!(low <= point * (1.0 + 1e-12) && point <= high * (1.0 + 1e-12));
        }

        /// Identical constant samples: ratio 1 (difference 0) and a zero-width interval.
        #[test]
        fn identical_constant_samples(value in 0.0f64..1e9, nb in 2usize..10, nc in 2usize..10) {
            let e = estimate(Delta::Ratio, &vec![value; nb], &vec![value; nc]).unwrap();
            prop_assert_eq!(e.point, 1.0);
            prop_assert_eq!(e.interval, Some((1.0, 1.0)));
            let e = estimate(Delta::Difference, &vec![value; nb], &vec![value; nc]).unwrap();
            prop_assert_eq!(e.point, 0.0);
            prop_assert_eq!(e.interval, Some((0.0, 0.0)));
        }

        /// Scaling every candidate sample by k scales the ratio and its interval by k.
        #[test]
        fn ratio_scales_with_the_candidate(
            b in proptest::collection::vec(1.0f64..1e6, 2..8),
            k in 0.1f64..10.0,
        ) {
            let c: Vec<f64> = b.iter().map(|v| v * k).collect();
            let e = estimate(Delta::Ratio, &b, &c).unwrap();
            prop_assert!((e.point - k).abs() <= 1e-9 * k);
            let (low, high) = e.interval.unwrap();
            prop_assert!(low <= k * (1.0 + 1e-9) && high >= k * (1.0 - 1e-9));
        }

        /// The median lies between the smallest and the largest value.
        #[test]
        fn median_is_within_range(v in proptest::collection::vec(-1e9f64..1e9, 1..50)) {
            let m = median(&v).unwrap();
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(lo <= m && m <= hi);
        }
    }
}
