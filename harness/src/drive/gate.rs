//! What the load loops share with the fault injector: which users are online (a
//! peer-to-peer user whose own peer is down or frozen is offline and issues nothing
//! until it is back, as a person whose machine crashed), how many operations each user
//! completed, and, while any node is down, which objects were asked for and whether any
//! request for them succeeded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::user_seconds::UserSeconds;

/// How often an offline user checks whether it is back.
const OFFLINE_POLL: Duration = Duration::from_millis(20);

/// Shared between the load-generator threads and the injector.
#[derive(Debug)]
pub struct UserGate {
    online: Vec<AtomicBool>,
    hit: Vec<AtomicBool>,
    succeeded: Vec<AtomicU32>,
    degraded: AtomicU32,
    objects: HashMap<Bytes, usize>,
    object_ok: Vec<AtomicU32>,
    object_failed: Vec<AtomicU32>,
    seconds: UserSeconds,
}

/// Objects asked for while some node was down, and how many of them never answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectExposure {
    /// Objects requested while a node was down.
    pub requested: u32,
    /// Of those, objects for which every such request failed.
    pub unavailable: u32,
}

impl UserGate {
    /// A gate for `users` users, all online, over objects reached at `paths`, for a load
    /// of up to `seconds` seconds starting now.
    pub fn new(users: usize, paths: impl IntoIterator<Item = Bytes>, seconds: usize) -> Self {
        let objects: HashMap<Bytes, usize> =
            paths.into_iter().enumerate().map(|(i, p)| (p, i)).collect();
        let n = objects.len();
        Self {
            online: (0..users).map(|_| AtomicBool::new(true)).collect(),
            hit: (0..users).map(|_| AtomicBool::new(false)).collect(),
            succeeded: (0..users).map(|_| AtomicU32::new(0)).collect(),
            degraded: AtomicU32::new(0),
            objects,
            object_ok: (0..n).map(|_| AtomicU32::new(0)).collect(),
            object_failed: (0..n).map(|_| AtomicU32::new(0)).collect(),
            seconds: UserSeconds::new(users, seconds),
        }
    }

    /// Marks `user` online or offline (its own node is up, or down or frozen); offline
    /// also marks it as hit by a fault for good.
    pub fn set_online(&self, user: usize, online: bool) {
        if let Some(flag) = self.online.get(user) {
            flag.store(online, Ordering::Release);
        }
        self.seconds.set_online(user, online);
        if !online {
            if let Some(hit) = self.hit.get(user) {
                hit.store(true, Ordering::Release);
            }
        }
    }

    /// Sets how many nodes are down or frozen now (objects are tracked while above 0).
    pub fn set_degraded(&self, nodes_down: u32) {
        self.degraded.store(nodes_down, Ordering::Release);
    }

    /// Waits until `user` is online; false if `until` or `stop` came first.
    pub async fn wait_online(&self, user: usize, until: Instant, stop: &CancellationToken) -> bool {
        loop {
            let online = self
                .online
                .get(user)
                .is_none_or(|f| f.load(Ordering::Acquire));
            if online {
                return true;
            }
            if stop.is_cancelled() || Instant::now() >= until {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep(OFFLINE_POLL.min(until.saturating_duration_since(Instant::now()))) => {}
                _ = stop.cancelled() => return false,
            }
        }
    }

    /// Records the outcome of `user`'s operation on `path`, sent at `sent`.
    pub fn record(&self, user: usize, path: &Bytes, sent: Instant, ok: bool) {
        self.seconds.request(user, sent, ok);
        if ok {
            if let Some(s) = self.succeeded.get(user) {
                s.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.degraded.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(&object) = self.objects.get(path) {
            let counter = if ok {
                &self.object_ok[object]
            } else {
                &self.object_failed[object]
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets when the load's schedule starts (second 0 of the user-seconds).
    pub fn begin(&self, start: Instant) {
        self.seconds.begin(start);
    }

    /// User-seconds without service over the first `seconds` seconds of the load
    /// (offline users included).
    pub fn user_seconds_without_service(&self, seconds: usize) -> u64 {
        self.seconds.without_service(seconds)
    }

    /// Users with at least one successful operation.
    pub fn users_succeeded(&self) -> u32 {
        self.succeeded
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) > 0)
            .count() as u32
    }

    /// (users never hit by a fault, of those the ones with a successful operation).
    pub fn survivors(&self) -> (u32, u32) {
        let mut survivors = 0;
        let mut completed = 0;
        for (hit, s) in self.hit.iter().zip(&self.succeeded) {
            if !hit.load(Ordering::Relaxed) {
                survivors += 1;
                if s.load(Ordering::Relaxed) > 0 {
                    completed += 1;
                }
            }
        }
        (survivors, completed)
    }

    /// Objects requested while some node was down, and those that never answered.
    pub fn exposure(&self) -> ObjectExposure {
        let mut e = ObjectExposure::default();
        for (ok, failed) in self.object_ok.iter().zip(&self.object_failed) {
            let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
            if ok + failed > 0 {
                e.requested += 1;
                if ok == 0 {
                    e.unavailable += 1;
                }
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_survivors_and_objects() {
        let paths = [Bytes::from_static(b"/a"), Bytes::from_static(b"/b")];
        let gate = UserGate::new(3, paths.clone(), 10);
        let now = Instant::now();
        gate.record(0, &paths[0], now, true);
        gate.set_online(1, false);
        gate.set_degraded(1);
        gate.record(2, &paths[0], now, true);
        gate.record(2, &paths[1], now, false);
        gate.set_online(1, true);
        assert_eq!(gate.users_succeeded(), 2);
        assert_eq!(gate.survivors(), (2, 2));
        assert_eq!(
            gate.exposure(),
            ObjectExposure {
                requested: 2,
                unavailable: 1
            }
        );
    }
}
