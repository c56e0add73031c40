//! User-seconds without service: for every user and every second of the load, whether
//! the user got what it asked for. A second counts against the service when the user was
//! offline in it (its own node down or frozen: a person whose machine crashed gets no
//! service either) or when it was waiting for requests that all failed — every second a
//! failed request was pending, so a request that hangs on a dead server until its timeout
//! costs all the seconds it hung, not only the one in which it gave up.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;

use tokio::time::Instant;

/// Seconds tracked per user at most (the load's length is bounded well below this).
pub(crate) const MAX_SECONDS: usize = 3600;

const OK: u8 = 1;
const FAILED: u8 = 2;
const OFFLINE: u8 = 4;
/// `offline_since` of a user who is online.
const ONLINE: u64 = u64::MAX;

/// Per-user, per-second outcomes of one run.
#[derive(Debug)]
pub(crate) struct UserSeconds {
    /// When the load's schedule starts (its second 0), once known; until then, when the
    /// cells were made.
    start: OnceLock<Instant>,
    made: Instant,
    seconds: usize,
    cells: Vec<AtomicU8>,
    /// Milliseconds since `start` when each user went offline, or [`ONLINE`].
    offline_since: Vec<AtomicU64>,
}

impl UserSeconds {
    /// Cells for `users` users over a load of up to `seconds` seconds starting now.
    pub(crate) fn new(users: usize, seconds: usize) -> Self {
        let seconds = seconds.clamp(1, MAX_SECONDS);
        Self {
            start: OnceLock::new(),
            made: Instant::now(),
            seconds,
            cells: (0..users * seconds).map(|_| AtomicU8::new(0)).collect(),
            offline_since: (0..users).map(|_| AtomicU64::new(ONLINE)).collect(),
        }
    }

    /// Sets when the load's schedule starts, so the seconds here are the report's
    /// per-second rows (only the first call counts).
    pub(crate) fn begin(&self, start: Instant) {
        let _ = self.start.set(start);
    }

    fn origin(&self) -> Instant {
        *self.start.get().unwrap_or(&self.made)
    }

    fn second(&self, at: Instant) -> usize {
        (at.saturating_duration_since(self.origin()).as_secs() as usize).min(self.seconds - 1)
    }

    fn mark(&self, user: usize, from: usize, to: usize, bit: u8) {
        for s in from..=to.min(self.seconds - 1) {
            if let Some(cell) = self.cells.get(user * self.seconds + s) {
                cell.fetch_or(bit, Ordering::Relaxed);
            }
        }
    }

    /// A request of `user` sent at `sent` ended now, `ok` or not.
    pub(crate) fn request(&self, user: usize, sent: Instant, ok: bool) {
        let now = self.second(Instant::now());
        if ok {
            self.mark(user, now, now, OK);
        } else {
            self.mark(user, self.second(sent), now, FAILED);
        }
    }

    /// `user` went offline (or came back).
    pub(crate) fn set_online(&self, user: usize, online: bool) {
        let Some(since) = self.offline_since.get(user) else {
            return;
        };
        let now_ms = Instant::now()
            .saturating_duration_since(self.origin())
            .as_millis() as u64;
        if online {
            let was = since.swap(ONLINE, Ordering::AcqRel);
            if was != ONLINE {
                self.mark(
                    user,
                    (was / 1000) as usize,
                    (now_ms / 1000) as usize,
                    OFFLINE,
                );
            }
        } else {
            let _ = since.compare_exchange(ONLINE, now_ms, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// User-seconds without service over the first `seconds` seconds of the load (users
    /// still offline count until then).
    pub(crate) fn without_service(&self, seconds: usize) -> u64 {
        let seconds = seconds.clamp(1, self.seconds);
        for (user, since) in self.offline_since.iter().enumerate() {
            let was = since.load(Ordering::Acquire);
            if was != ONLINE {
                self.mark(user, (was / 1000) as usize, seconds - 1, OFFLINE);
            }
        }
        let users = self.offline_since.len();
        (0..users)
            .flat_map(|u| (0..seconds).map(move |s| (u, s)))
            .filter(|(u, s)| {
                let bits = self.cells[u * self.seconds + s].load(Ordering::Relaxed);
                bits & OFFLINE != 0 || (bits & FAILED != 0 && bits & OK == 0)
            })
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn hung_requests_and_offline_users_cost_their_seconds() {
        let cells = UserSeconds::new(2, 10);
        // User 0: a request sent at 1 s hangs until 4.5 s and fails: seconds 1 to 4 lost.
        let sent = Instant::now() + Duration::from_secs(1);
        tokio::time::advance(Duration::from_millis(4500)).await;
        cells.request(0, sent, false);
        // User 1 goes offline at 4.5 s and stays away until the end: seconds 4 to 9.
        cells.set_online(1, false);
        assert_eq!(cells.without_service(10), 4 + 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_in_a_second_with_a_success_is_served() {
        let cells = UserSeconds::new(1, 5);
        cells.request(0, Instant::now(), false);
        cells.request(0, Instant::now(), true);
        assert_eq!(cells.without_service(5), 0);
        cells.set_online(0, false);
        tokio::time::advance(Duration::from_millis(2100)).await;
        cells.set_online(0, true);
        assert_eq!(
            cells.without_service(5),
            3,
            "seconds 0, 1 and 2 had the user offline"
        );
    }
}
