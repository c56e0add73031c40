//! Latency per user: each user's own histogram of its successful requests, so a report
//! can say how response time differed between nodes ("at each node"), not only over all
//! of them together. Kept for runs of at most [`MAX_USERS`] users (closed model: a user
//! is a looping user; open model: arrival k belongs to user k mod users, the node whose
//! peer carries it in a peer-to-peer run), at 2 significant figures up to a minute, so a
//! user costs at most some 10 KiB, and only once it has finished a request.

use hdrhistogram::Histogram;

/// Users beyond this many get no histogram of their own (the run keeps none).
pub const MAX_USERS: u32 = 256;

/// Highest latency a user's histogram tells apart (µs); longer ones count as this.
const HIGHEST_US: u64 = 60_000_000;

/// Every user's latency histogram, for one worker or merged over all.
#[derive(Debug, Clone)]
pub struct PerUser {
    users: Vec<Option<Histogram<u32>>>,
}

impl PerUser {
    /// Histograms for `users` users, or `None` when there are more than [`MAX_USERS`].
    pub fn for_users(users: u32) -> Option<Self> {
        (users > 0 && users <= MAX_USERS).then(|| Self {
            users: vec![None; users as usize],
        })
    }

    /// Records a successful request of `user` (taken modulo the user count) that took `us`.
    pub fn record(&mut self, user: u64, us: u64) {
        let count = self.users.len() as u64;
        let Some(slot) = self.users.get_mut((user % count.max(1)) as usize) else {
            return;
        };
        let histogram = slot.get_or_insert_with(|| {
            // Constant bounds that hdrhistogram accepts: failing is a programming error.
            Histogram::new_with_bounds(1, HIGHEST_US, 2)
                .expect("constant histogram bounds are valid")
        });
        histogram.saturating_record(us.clamp(1, HIGHEST_US));
    }

    /// Adds `other`'s users into this one's (the same user count).
    pub fn merge(&mut self, other: &PerUser) {
        if self.users.len() < other.users.len() {
            self.users.resize(other.users.len(), None);
        }
        for (mine, theirs) in self.users.iter_mut().zip(&other.users) {
            match (mine.as_mut(), theirs) {
                (Some(mine), Some(theirs)) => {
                    // Same bounds on both sides: adding cannot fail.
                    let _ = mine.add(theirs);
                }
                (None, Some(theirs)) => *mine = Some(theirs.clone()),
                _ => {}
            }
        }
    }

    /// Each user's median latency (µs), `None` for a user without a successful request.
    pub fn medians(&self) -> Vec<Option<u64>> {
        self.users
            .iter()
            .map(|h| h.as_ref().map(|h| h.value_at_quantile(0.5)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_keeps_its_own_median_and_workers_merge() {
        let mut a = PerUser::for_users(3).expect("3 users are tracked");
        let mut b = PerUser::for_users(3).expect("3 users are tracked");
        for us in [1_000, 2_000, 3_000] {
            a.record(0, us);
        }
        b.record(1, 50_000);
        // User 4 of 3 is user 1 (arrival k belongs to user k mod users).
        b.record(4, 50_000);
        a.merge(&b);
        let medians = a.medians();
        assert_eq!(medians.len(), 3);
        let close = |got: Option<u64>, want: u64| {
            let got = got.expect("a median");
            assert!(got.abs_diff(want) * 100 <= want, "{got} vs {want}");
        };
        close(medians[0], 2_000);
        close(medians[1], 50_000);
        assert_eq!(medians[2], None);
    }

    #[test]
    fn large_runs_keep_no_per_user_histograms() {
        assert!(PerUser::for_users(MAX_USERS).is_some());
        assert!(PerUser::for_users(MAX_USERS + 1).is_none());
        assert!(PerUser::for_users(0).is_none());
    }
}
