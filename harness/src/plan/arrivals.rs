//! The open model's arrivals as one seeded stream: arrival `k` at time `t_k`, the same
//! whatever the number of worker threads or shards. Every worker of every shard replays
//! the whole stream (cheap arithmetic) and sends only its own arrivals: shard
//! `k % M`, then worker `(k / M) % W` within it. So the union of the M shards' slices
//! is exactly the unsharded schedule, and each arrival's operation (chosen from its own
//! random stream, [`op_rng`]) is the same however the run is split.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};

use super::schedule::Schedule;
use crate::scenario::model::Arrivals;

/// How far to step when the schedule's rate is zero.
const IDLE_STEP: Duration = Duration::from_millis(10);

/// Spreads seeds of neighbouring ids apart.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The arrival times of a schedule, in order, numbered from 0.
pub struct ArrivalStream<'a> {
    schedule: &'a Schedule,
    arrivals: Arrivals,
    total: Duration,
    rng: SmallRng,
    t: Duration,
    next: u64,
}

impl<'a> ArrivalStream<'a> {
    /// The arrivals of `schedule`, spaced as `arrivals` says, from random stream `seed`.
    pub fn new(schedule: &'a Schedule, arrivals: Arrivals, seed: u64) -> Self {
        ArrivalStream {
            schedule,
            arrivals,
            total: schedule.total(),
            rng: SmallRng::seed_from_u64(seed),
            t: Duration::ZERO,
            next: 0,
        }
    }
}

impl Iterator for ArrivalStream<'_> {
    /// (sequence number, time since the start of the schedule)
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<Self::Item> {
        // Bounded: every step moves `t` forward by at least a nanosecond, or IDLE_STEP.
        while self.t < self.total {
            let rate = self.schedule.level_at(self.t);
            if rate <= 1e-9 {
                self.t += IDLE_STEP;
                continue;
            }
            let at = match self.arrivals {
                Arrivals::Constant => {
                    let at = self.t;
                    self.t += gap(1.0 / rate);
                    at
                }
                Arrivals::Poisson => {
                    let g = Exp::new(rate).map_or(1.0 / rate, |e| e.sample(&mut self.rng));
                    self.t += gap(g);
                    if self.t >= self.total {
                        return None;
                    }
                    self.t
                }
            };
            let k = self.next;
            self.next += 1;
            return Some((k, at));
        }
        None
    }
}

fn gap(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds)
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_nanos(1))
}

/// The random stream arrival `k` chooses its operation from.
pub fn op_rng(seed: u64, k: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ k.wrapping_add(1).wrapping_mul(GOLDEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::shard::Shard;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let s = Schedule::constant(100.0, secs(2));
        let times: Vec<_> = ArrivalStream::new(&s, Arrivals::Constant, 1).collect();
        assert_eq!(times.len(), 200);
        assert_eq!(times[1].1, Duration::from_millis(10));
    }

    proptest! {
        /// The M shards' arrivals, each split over its W workers, are exactly the
        /// unsharded stream: every arrival once, at its own time.
        #[test]
        fn shards_and_workers_partition_the_stream(
            rate in 1.0f64..400.0,
            m in 1u32..6,
            w in 1u64..4,
            poisson in any::<bool>(),
        ) {
            let kind = if poisson { Arrivals::Poisson } else { Arrivals::Constant };
            let s = Schedule::ramp(vec![(secs(1), rate), (secs(1), rate / 2.0)]);
            let whole: Vec<_> = ArrivalStream::new(&s, kind, 7).collect();
            let mut union = Vec::new();
            for i in 0..m {
                let shard = Shard { index: i, count: m };
                for worker in 0..w {
                    union.extend(ArrivalStream::new(&s, kind, 7).filter(|(k, _)| {
                        shard.owns(*k) && shard.position(*k) % w == worker
                    }));
                }
            }
            union.sort_by_key(|(k, _)| *k);
            prop_assert_eq!(union, whole);
        }
    }
}
