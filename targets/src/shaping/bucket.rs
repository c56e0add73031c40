//! A lock-free token bucket, shared by every connection of a node, that caps its byte rate.
//!
//! It is implemented as a GCRA ("virtual scheduling") limiter: one atomic holds the
//! theoretical arrival time (TAT) — the moment the bucket would be full again if nothing
//! else were sent. Reserving `n` bytes pushes the TAT forward by `n / rate`; the bytes may
//! pass once the TAT is at most one burst ahead of now. Reservations are taken in order,
//! so many connections share the cap fairly, and an idle bucket never saves up more than
//! one burst.
//!
//! [`Throttle`] is the per-stream side: it reserves up to one burst at a time, sleeps until
//! the reservation is due, and hands out the granted bytes as credit.
//!
//! **Small writes go first** ([`TokenBucket::reserve_sparse`], writes of at most
//! [`SPARSE_WRITE`] bytes), as a fair-queueing uplink (Linux's default `fq_codel`) serves a
//! sparse flow's packets before the queued bulk: they are paced by a lane of their own at
//! the same rate, and their cost is added to the shared queue, so the bulk behind them
//! waits that much longer and the node's total stays within the cap. Without it a 38-byte
//! block request from a peer whose upload was busy waited behind every connection's
//! reserved burst, about half a second at 512 KiB/s in a 64-peer crowd: its downloads saw
//! every provider, the idle seed too, as answering in half a second, and the seed's upload
//! idled at 40 %.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use std::{future::Future, pin::Pin, sync::Arc};

use tokio::time::{Instant, Sleep};

use crate::units::ByteRate;

/// The most a bucket lets through at once, whatever the rate.
pub const MAX_BURST: u64 = 64 * 1024;
/// The burst is at most this much time worth of bytes at the configured rate.
pub const BURST_TIME: Duration = Duration::from_millis(50);
/// The burst is never smaller than this (so tiny rates still move whole packets).
pub const MIN_BURST: u64 = 1500;
/// Writes of at most this many bytes take the small-write lane (see the module doc).
pub const SPARSE_WRITE: usize = 1024;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A byte-rate cap shared by all the connections of one node (or one user).
#[derive(Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    burst_ns: u64,
    base: Instant,
    /// Theoretical arrival time, in nanoseconds since `base`.
    tat: AtomicU64,
    /// The small-write lane's own theoretical arrival time.
    sparse_tat: AtomicU64,
}

impl TokenBucket {
    /// A bucket for `rate` with the default burst: 50 ms worth of bytes, clamped to
    /// [`MIN_BURST`]..=[`MAX_BURST`].
    pub fn new(rate: ByteRate) -> Self {
        let fifty_ms =
            (u128::from(rate.bytes_per_sec()) * BURST_TIME.as_nanos() / NANOS_PER_SEC) as u64;
        Self::with_burst(rate, fifty_ms.clamp(MIN_BURST, MAX_BURST))
    }

    /// A bucket for `rate` that lets at most `burst` bytes (at least 1) through at once.
    pub fn with_burst(rate: ByteRate, burst: u64) -> Self {
        let rate = rate.bytes_per_sec().max(1);
        let burst = burst.max(1);
        TokenBucket {
            rate,
            burst,
            burst_ns: cost_ns(burst, rate),
            base: Instant::now(),
            tat: AtomicU64::new(0),
            sparse_tat: AtomicU64::new(0),
        }
    }

    /// The cap in bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The largest number of bytes granted by one reservation.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// Reserves `bytes` (at most one burst; larger requests are clamped) and returns the
    /// instant at which they may pass, which may be now or in the past.
    pub fn reserve(&self, bytes: u64) -> Instant {
        self.base + Duration::from_nanos(self.reserve_at(self.now_ns(), bytes))
    }

    /// Reserves `bytes` of a small write (see the module doc): due by the small-write
    /// lane's own pace, ahead of the bulk already queued, which then waits for their cost.
    pub fn reserve_sparse(&self, bytes: u64) -> Instant {
        self.base + Duration::from_nanos(self.reserve_sparse_at(self.now_ns(), bytes))
    }

    fn now_ns(&self) -> u64 {
        let now_ns = Instant::now()
            .saturating_duration_since(self.base)
            .as_nanos();
        u64::try_from(now_ns).unwrap_or(u64::MAX)
    }

    /// The reservation arithmetic on an explicit clock (nanoseconds since creation):
    /// returns when `bytes` may pass.
    fn reserve_at(&self, now_ns: u64, bytes: u64) -> u64 {
        let cost = cost_ns(bytes.min(self.burst), self.rate);
        advance(&self.tat, now_ns, cost).saturating_sub(self.burst_ns)
    }

    /// [`Self::reserve_sparse`] on an explicit clock.
    fn reserve_sparse_at(&self, now_ns: u64, bytes: u64) -> u64 {
        let cost = cost_ns(bytes.min(self.burst), self.rate);
        advance(&self.tat, now_ns, cost);
        advance(&self.sparse_tat, now_ns, cost).saturating_sub(self.burst_ns)
    }
}

/// Pushes the theoretical arrival time `tat` past `now_ns` by `cost`; returns the new one.
fn advance(tat: &AtomicU64, now_ns: u64, cost: u64) -> u64 {
    let mut current = tat.load(Ordering::Relaxed);
    loop {
        let new_tat = current.max(now_ns).saturating_add(cost);
        match tat.compare_exchange_weak(current, new_tat, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return new_tat,
            Err(seen) => current = seen,
        }
    }
}

/// Time, in nanoseconds, that `bytes` take at `rate` bytes per second.
fn cost_ns(bytes: u64, rate: u64) -> u64 {
    u64::try_from(u128::from(bytes) * NANOS_PER_SEC / u128::from(rate.max(1))).unwrap_or(u64::MAX)
}

/// One stream's view of a [`TokenBucket`]: bytes granted but not yet used, and the timer
/// for the next grant.
#[derive(Debug)]
pub(crate) struct Throttle {
    bucket: Arc<TokenBucket>,
    credit: u64,
    /// Set while a granted reservation is not yet due.
    sleep: Option<Pin<Box<Sleep>>>,
    waiting: bool,
    /// Small writes take the small-write lane (the upload side; reads never do).
    sparse_lane: bool,
}

impl Throttle {
    /// One stream's throttle on `bucket`; `sparse_lane`: small grants go first (sending).
    pub(crate) fn new(bucket: Arc<TokenBucket>, sparse_lane: bool) -> Self {
        Throttle {
            bucket,
            credit: 0,
            sleep: None,
            waiting: false,
            sparse_lane,
        }
    }

    /// Waits until at least one byte may pass; returns how many (≤ `want`, ≥ 1 if `want` > 0).
    pub(crate) fn poll_grant(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        loop {
            if self.waiting {
                if let Some(sleep) = self.sleep.as_mut() {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                self.waiting = false;
            }
            if self.credit > 0 || want == 0 {
                return Poll::Ready(usize::try_from(self.credit).unwrap_or(usize::MAX).min(want));
            }
            let grant = (want as u64).min(self.bucket.burst());
            let due = if self.sparse_lane && want <= SPARSE_WRITE {
                self.bucket.reserve_sparse(grant)
            } else {
                self.bucket.reserve(grant)
            };
            self.credit = grant;
            if due > Instant::now() {
                match self.sleep.as_mut() {
                    Some(sleep) => sleep.as_mut().reset(due),
                    None => self.sleep = Some(Box::pin(tokio::time::sleep_until(due))),
                }
                self.waiting = true;
            }
        }
    }

    /// Records that `used` granted bytes were actually transferred.
    pub(crate) fn consume(&mut self, used: usize) {
        self.credit = self.credit.saturating_sub(used as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn default_burst_is_small() {
        assert_eq!(TokenBucket::new(ByteRate(MIB)).burst(), MIB / 20);
        assert_eq!(TokenBucket::new(ByteRate(100 * MIB)).burst(), MAX_BURST);
        assert_eq!(TokenBucket::new(ByteRate(1000)).burst(), MIN_BURST);
    }

    #[test]
    fn full_bucket_lets_one_burst_through_then_paces() {
        let b = TokenBucket::with_burst(ByteRate(1000), 100);
        // 100 bytes cost 100 ms; the first burst passes at once.
        assert_eq!(b.reserve_at(0, 100), 0);
        // The next 100 bytes are due 100 ms later, and so on.
        assert_eq!(b.reserve_at(0, 100), 100_000_000);
        assert_eq!(b.reserve_at(0, 50), 150_000_000);
    }

    #[test]
    fn idle_time_saves_at_most_one_burst() {
        let b = TokenBucket::with_burst(ByteRate(1000), 100);
        assert_eq!(b.reserve_at(0, 100), 0);
        // After 10 s of silence only one burst is available at once.
        let t = 10_000_000_000;
        assert_eq!(b.reserve_at(t, 100), t);
        assert_eq!(b.reserve_at(t, 100), t + 100_000_000);
    }

    #[test]
    fn requests_larger_than_burst_are_clamped() {
        let b = TokenBucket::with_burst(ByteRate(1000), 100);
        assert_eq!(b.reserve_at(0, 10_000), 0);
        assert_eq!(b.reserve_at(0, 100), 100_000_000);
    }

    #[test]
    fn a_small_write_passes_the_queued_bulk_which_then_waits_for_it() {
        let b = TokenBucket::with_burst(ByteRate(1000), 100);
        // Ten bulk bursts queued: the last is due 900 ms from now.
        for _ in 0..10 {
            b.reserve_at(0, 100);
        }
        assert_eq!(b.reserve_at(0, 100), 1_000_000_000);
        // A 10-byte write goes at once, by its own lane.
        assert_eq!(b.reserve_sparse_at(0, 10), 0);
        // The bulk behind it pays its 10 ms.
        assert_eq!(b.reserve_at(0, 100), 1_110_000_000);
        // Small writes alone still keep to the rate, after one burst.
        let t = 10_000_000_000;
        let mut due = 0;
        for _ in 0..30 {
            due = b.reserve_sparse_at(t, 10);
        }
        assert_eq!(
            due,
            t + 200_000_000,
            "300 bytes at 1000/s, 100 of them the burst"
        );
    }

    proptest! {
        /// Whatever the sizes, sending `total` bytes through a fresh bucket finishes no
        /// earlier than (total - burst) / rate, and no later than that plus one grant.
        #[test]
        fn long_run_rate_matches(rate in 1_000u64..100_000_000, burst in 1u64..100_000,
                                 sizes in proptest::collection::vec(1u64..200_000, 1..200)) {
            let b = TokenBucket::with_burst(ByteRate(rate), burst);
            let mut total = 0u64;
            let mut last_due = 0u64;
            for size in sizes {
                let granted = size.min(burst);
                let due = b.reserve_at(last_due, granted);
                last_due = last_due.max(due);
                total += granted;
            }
            let ideal = cost_ns(total.saturating_sub(burst), rate);
            // Each reservation truncates at most 1 ns.
            prop_assert!(last_due + 201 >= ideal, "due {last_due} < ideal {ideal}");
            prop_assert!(last_due <= ideal + 1, "due {last_due} > ideal {ideal}");
        }
    }
}
