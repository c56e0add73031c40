//! Request pipelining per peer: how many chunk requests one peer should have in flight.
//!
//! A peer's delivery rate *to this download* is estimated from the download's own answers
//! with Little's law: a chunk that took `latency` to arrive, sent while `depth` requests
//! (itself included) were waiting at that peer, says the peer delivers about
//! `depth / latency` chunks per second. The estimate is smoothed, and the peer is given
//! enough requests to stay busy for [`PIPELINE`] at that rate, plus one.
//!
//! Why: a slow peer (a fellow downloader sharing 2 MiB/s among several requesters) that
//! holds many requests keeps chunks queued there that a fast peer (the seed) could have
//! sent at once; at the end of a download the fast peer then sits idle while the slow ones
//! work through their queues. Sizing each peer's share by its rate sends most requests
//! where they are served soonest, and costs the swarm fewer "busy" answers.

use std::time::Duration;

/// Deliveries one peer is kept busy for (at its estimated rate), beyond the one in progress.
pub const PIPELINE: Duration = Duration::from_millis(300);
/// Requests in flight to a peer whose rate is not known yet.
pub const UNKNOWN_LIMIT: usize = 2;
/// Weight of a new sample in the smoothed rate.
const WEIGHT: f64 = 0.3;
/// Latencies are taken as at least this long (a burst of answers must not look infinite).
const MIN_LATENCY: Duration = Duration::from_millis(1);

/// The estimated delivery rate of one peer.
#[derive(Debug, Clone, Default)]
pub struct Pace {
    chunks_per_sec: Option<f64>,
}

impl Pace {
    /// A chunk arrived `latency` after it was requested; `depth` requests to the peer were
    /// in flight when it was sent (itself included).
    pub fn delivered(&mut self, latency: Duration, depth: usize) {
        let sample = depth.max(1) as f64 / latency.max(MIN_LATENCY).as_secs_f64();
        self.chunks_per_sec = Some(match self.chunks_per_sec {
            None => sample,
            Some(rate) => rate + WEIGHT * (sample - rate),
        });
    }

    /// The smoothed rate in chunks per second, once one chunk arrived.
    pub fn rate(&self) -> Option<f64> {
        self.chunks_per_sec
    }

    /// Requests to keep in flight to the peer: `1 + rate × PIPELINE`, within `1..=max`.
    pub fn limit(&self, max: usize) -> usize {
        let max = max.max(1);
        match self.chunks_per_sec {
            None => UNKNOWN_LIMIT.min(max),
            Some(rate) => {
                let extra = (rate * PIPELINE.as_secs_f64()).clamp(0.0, max as f64);
                (1 + extra as usize).min(max)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn unknown_peers_get_a_small_pipeline() {
        assert_eq!(Pace::default().limit(4), UNKNOWN_LIMIT);
        assert_eq!(Pace::default().limit(1), 1);
        assert_eq!(Pace::default().rate(), None);
    }

    #[test]
    fn fast_peers_get_more_requests_than_slow_ones() {
        // The seed: two chunks in flight arrive after 125 ms (16 chunks/s).
        let mut fast = Pace::default();
        fast.delivered(ms(125), 2);
        assert_eq!(fast.rate(), Some(16.0));
        assert_eq!(fast.limit(4), 4);
        // A fellow downloader shared by three requesters: 1 chunk in 375 ms.
        let mut slow = Pace::default();
        slow.delivered(ms(375), 1);
        assert_eq!(slow.limit(4), 1);
        // Four queued there take 1.5 s: the same rate, the same single request.
        slow.delivered(ms(1500), 4);
        assert_eq!(slow.limit(4), 1);
    }

    #[test]
    fn the_estimate_follows_changes_and_stays_bounded() {
        let mut pace = Pace::default();
        pace.delivered(ms(1000), 1);
        assert_eq!(pace.limit(4), 1);
        for _ in 0..20 {
            pace.delivered(ms(100), 2);
        }
        assert_eq!(pace.limit(4), 4);
        assert_eq!(
            pace.limit(64),
            6,
            "about 20 chunks/s: one plus 300 ms worth, rounded down"
        );
        pace.delivered(Duration::ZERO, 64);
        assert_eq!(
            pace.limit(8),
            8,
            "a zero latency counts as 1 ms, capped by max"
        );
    }
}
