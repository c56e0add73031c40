//! Shards: slice `I/M` of a run (`versus run --shard I/M`), so that M processes — on
//! one machine or on M pods — together do exactly what one process would have done.
//!
//! - Closed model: shard I runs the users `u` with `u % M == I`, under their own ids
//!   (each user's random stream, endpoint and ramp window depend on its id, so the
//!   union of the slices is exactly the unsharded population).
//! - Open model: one seeded arrival stream ([`super::arrivals`]) is the same in every
//!   shard; arrival `k` belongs to shard `k % M`. The pool (`connections`) and the
//!   in-flight cap are split over the shards.
//!
//! Indexes are 0-based (`0/4` … `3/4`), as a Kubernetes Indexed Job numbers its pods,
//! so `--shard $(JOB_COMPLETION_INDEX)/M` needs no arithmetic. A common start
//! (`drive::phase::load_start`) lets the shards' per-second rows line up.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::load::{LoadPlan, ModelPlan};

/// How far in the past a `--start-at` may be before it is refused: clocks of different
/// machines differ a little, and a shard may be started a moment late.
pub const PAST_TOLERANCE: Duration = Duration::from_secs(5);

/// Slice `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    /// This slice, `0..count`.
    pub index: u32,
    /// How many slices.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A `--shard` value that is not `I/M` with `0 <= I < M`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {given:?}: {why}; give I/M with 0 <= I < M, such as 0/4 (indexes are 0-based, like a Kubernetes Indexed Job's completion index)")]
pub struct ShardError {
    given: String,
    why: &'static str,
}

impl Shard {
    /// The whole run: one slice.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/M`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let fail = |why| ShardError {
            given: text.to_string(),
            why,
        };
        let (i, m) = text.trim().split_once('/').ok_or_else(|| fail("no '/'"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| fail("I is not a whole number"))?;
        let count: u32 = m
            .trim()
            .parse()
            .map_err(|_| fail("M is not a whole number"))?;
        if count == 0 {
            return Err(fail("M must be at least 1"));
        }
        if index >= count {
            return Err(fail("I must be below M"));
        }
        Ok(Shard { index, count })
    }

    /// True for the whole run (`0/1`).
    pub fn is_whole(self) -> bool {
        self.count <= 1
    }

    /// True when item `k` (a user id, an arrival's sequence number) is in this slice.
    pub fn owns(self, k: u64) -> bool {
        k % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// The position of item `k` of this slice among the slice's items (`k / M`).
    pub fn position(self, k: u64) -> u64 {
        k / u64::from(self.count.max(1))
    }

    /// The user ids of this slice among `users` users, in order.
    pub fn users(self, users: u32) -> impl Iterator<Item = u32> {
        (self.index..users).step_by(self.count.max(1) as usize)
    }

    /// How many of `users` users this slice has.
    pub fn len_of(self, users: u32) -> u32 {
        let m = self.count.max(1);
        users / m + u32::from(users % m > self.index)
    }

    /// This slice's part of a shared budget of `n` (a pool, a cap): `n / M` rounded up.
    pub fn share(self, n: u32) -> u32 {
        n.div_ceil(self.count.max(1)).max(1)
    }
}

/// Restricts `plan` to `shard`: which users or arrivals it runs, its part of the pool
/// and of the in-flight cap, and no more worker threads than it has users.
pub fn slice(plan: &mut LoadPlan, shard: Shard) {
    match &mut plan.model {
        ModelPlan::Closed(c) => {
            c.shard = shard;
            plan.threads = plan.threads.min(shard.len_of(c.users) as usize).max(1);
        }
        ModelPlan::Open(o) => {
            o.shard = shard;
            o.connections = shard.share(o.connections);
            o.max_in_flight = shard.share(o.max_in_flight);
            plan.threads = plan.threads.min(o.connections as usize).max(1);
        }
    }
}

/// Parses an RFC 3339 `--start-at` and refuses one more than [`PAST_TOLERANCE`] in the
/// past (a shard started after its siblings began could never line up with them).
pub fn parse_start_at(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    // UTC only, ending in Z or +00:00 (as `date -u -Iseconds` writes it).
    let at = humantime::parse_rfc3339(text.trim()).map_err(|e| {
        format!("--start-at {text:?} is not an RFC 3339 time in UTC ({e}); give one such as 2026-12-01T23:30:00Z")
    })?;
    if let Ok(late) = now.duration_since(at) {
        if late > PAST_TOLERANCE {
            return Err(format!(
                "--start-at {text} is {:.0} s in the past (more than {} s): the other shards would already be running; pick a start a little ahead, such as $(date -u -d '+30 seconds' +%FT%TZ)",
                late.as_secs_f64(),
                PAST_TOLERANCE.as_secs()
            ));
        }
    }
    Ok(at)
}

/// Seconds from the common start `start_at` to `started` (negative if earlier).
pub fn offset_s(start_at: SystemTime, started: SystemTime) -> f64 {
    match started.duration_since(start_at) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// RFC 3339 with microseconds, UTC.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 0/1 "), Ok(Shard::WHOLE));
        for bad in ["4/4", "1/0", "a/2", "1", "-1/2", "1/2/3", ""] {
            let e = Shard::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("--shard"), "{e}");
        }
    }

    #[test]
    fn start_in_the_past_is_refused_and_near_now_accepted() {
        let now = humantime::parse_rfc3339("2026-12-01T12:00:00Z").expect("time");
        assert!(parse_start_at("2026-12-01T11:59:58Z", now).is_ok());
        assert!(parse_start_at("2026-12-01T12:00:30Z", now).is_ok());
        let e = parse_start_at("2026-12-01T11:59:00Z", now).expect_err("past");
        assert!(e.contains("60 s in the past"), "{e}");
        assert!(parse_start_at("tomorrow", now).is_err());
    }

    proptest! {
        /// The users of the M slices are exactly 0..users, each once, ids preserved.
        #[test]
        fn user_slices_partition_the_population(users in 0u32..500, m in 1u32..9) {
            let mut all: Vec<u32> = (0..m)
                .flat_map(|i| Shard { index: i, count: m }.users(users).collect::<Vec<_>>())
                .collect();
            for i in 0..m {
                let s = Shard { index: i, count: m };
                prop_assert_eq!(s.users(users).count() as u32, s.len_of(users));
            }
            all.sort_unstable();
            prop_assert_eq!(all, (0..users).collect::<Vec<_>>());
        }
    }
}
