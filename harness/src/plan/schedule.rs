//! Ramp schedules: a level (users in the closed model, arrivals per second in the open
//! model) that moves linearly from stage to stage, and the windows of time in which a
//! given closed-model user is active.

use std::time::Duration;

/// A piecewise-linear level over time, starting at `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    start: f64,
    /// (stage length, level at the end of the stage)
    segments: Vec<(Duration, f64)>,
}

impl Schedule {
    /// A constant `level` for `duration`.
    pub fn constant(level: f64, duration: Duration) -> Self {
        Self {
            start: level,
            segments: vec![(duration, level)],
        }
    }

    /// Stages starting from zero, each moving linearly to its level.
    pub fn ramp(stages: Vec<(Duration, f64)>) -> Self {
        Self {
            start: 0.0,
            segments: stages,
        }
    }

    /// Total length.
    pub fn total(&self) -> Duration {
        self.segments.iter().map(|(d, _)| *d).sum()
    }

    /// Highest level reached.
    pub fn max_level(&self) -> f64 {
        self.segments
            .iter()
            .map(|(_, l)| *l)
            .fold(self.start, f64::max)
    }

    /// Iterates (segment start, segment end, level at start, level at end).
    fn pieces(&self) -> impl Iterator<Item = (Duration, Duration, f64, f64)> + '_ {
        let mut t = Duration::ZERO;
        let mut level = self.start;
        self.segments.iter().map(move |(d, end_level)| {
            let piece = (t, t + *d, level, *end_level);
            t += *d;
            level = *end_level;
            piece
        })
    }

    /// The level at time `t` (0 after the end).
    pub fn level_at(&self, t: Duration) -> f64 {
        for (t0, t1, a, b) in self.pieces() {
            if t < t1 {
                let span = (t1 - t0).as_secs_f64();
                let frac = if span > 0.0 {
                    (t - t0).as_secs_f64() / span
                } else {
                    1.0
                };
                return a + (b - a) * frac;
            }
        }
        0.0
    }

    /// The windows in which user `user` (0-based) is active: where the level exceeds it.
    /// Adjacent windows are merged.
    pub fn active_windows(&self, user: u32) -> Vec<(Duration, Duration)> {
        let threshold = f64::from(user);
        let mut windows: Vec<(Duration, Duration)> = Vec::new();
        for (t0, t1, a, b) in self.pieces() {
            let span = t1 - t0;
            let crossing = || {
                let frac = ((threshold - a) / (b - a)).clamp(0.0, 1.0);
                t0 + span.mul_f64(frac)
            };
            let window = match (a > threshold, b > threshold) {
                (true, true) => Some((t0, t1)),
                (false, false) => None,
                (false, true) => Some((crossing(), t1)),
                (true, false) => Some((t0, crossing())),
            };
            if let Some((s, e)) = window.filter(|(s, e)| e > s) {
                match windows.last_mut() {
                    Some(last) if last.1 == s => last.1 = e,
                    _ => windows.push((s, e)),
                }
            }
        }
        windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn ramp_hold_ramp_down() {
        let s = Schedule::ramp(vec![(secs(10.0), 8.0), (secs(10.0), 8.0), (secs(4.0), 0.0)]);
        assert_eq!(s.total(), secs(24.0));
        assert_eq!(s.level_at(secs(5.0)), 4.0);
        assert_eq!(s.level_at(secs(15.0)), 8.0);
        assert_eq!(s.level_at(secs(23.0)), 2.0);
        // User 0 starts at once and leaves at the very end; user 7 joins at 8.75 s and
        // leaves 0.5 s into the ramp down.
        assert_eq!(s.active_windows(0), vec![(secs(0.0), secs(24.0))]);
        assert_eq!(s.active_windows(7), vec![(secs(8.75), secs(20.5))]);
        assert!(s.active_windows(8).is_empty());
    }

    #[test]
    fn constant_keeps_everyone_for_the_duration() {
        let s = Schedule::constant(3.0, secs(2.0));
        assert_eq!(s.active_windows(2), vec![(secs(0.0), secs(2.0))]);
        assert!(s.active_windows(3).is_empty());
        assert_eq!(s.max_level(), 3.0);
    }

    proptest! {
        /// At any instant inside a stage, the users active are exactly those below the level.
        #[test]
        fn windows_match_levels(
            stages in proptest::collection::vec((1u64..20, 0u32..12), 1..5),
            probe in 0.0f64..1.0,
        ) {
            let s = Schedule::ramp(stages.iter().map(|(d, l)| (secs(*d as f64), f64::from(*l))).collect());
            let t = s.total().mul_f64(probe);
            let level = s.level_at(t);
            for user in 0..12u32 {
                let active = s.active_windows(user).iter().any(|(a, b)| *a <= t && t < *b);
                let expected = level > f64::from(user);
                // Allow for the instant of a crossing itself.
                let near_crossing = (level - f64::from(user)).abs() < 1e-6;
                prop_assert!(active == expected || near_crossing, "user {user} at {t:?}: level {level}");
            }
        }
    }
}
