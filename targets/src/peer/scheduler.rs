//! The swarming download's chunk scheduler: which chunk to ask of which peer next.
//!
//! Pure bookkeeping, no I/O, so it is unit-tested directly. Policy:
//! - **Rarest first**: a peer with a free request slot gets the missing chunk that the
//!   fewest known peers hold, among those it holds itself; ties are broken from a random
//!   starting point, so many downloaders that start together ask for different chunks and
//!   soon have something to trade.
//! - **Bounded**: at most `max_per_peer` requests in flight to one peer.
//! - **Endgame**: once every missing chunk is already requested and at most
//!   [`ENDGAME_MISSING`] are missing, an idle peer may duplicate a request (at most
//!   [`MAX_DUPLICATES`] copies per chunk), so one slow or stalled peer cannot hold up the
//!   end of a download. Earlier duplicates would only waste the swarm's upload.
//! - **Avoidance**: a peer that served a corrupt chunk is banned for the rest of the
//!   download; one that failed [`MAX_FAILURES`] requests in a row is banned as well; one
//!   that answered "busy" gets no new request until its back-off time.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use super::have::{ChunkSet, Have};

/// Copies of one chunk request that may be in flight at once (endgame only).
pub const MAX_DUPLICATES: u8 = 2;
/// Missing chunks at most for the endgame to begin.
pub const ENDGAME_MISSING: usize = 4;
/// Consecutive failed requests (timeouts, closed connections) after which a peer is dropped.
pub const MAX_FAILURES: u32 = 2;

/// What the scheduler knows about one peer.
#[derive(Debug)]
struct PeerState {
    have: ChunkSet,
    /// Chunk indexes requested from this peer and not answered yet.
    in_flight: Vec<usize>,
    failures: u32,
    banned: bool,
    /// No new request before this time (the peer said it was busy).
    backoff_until: Option<Instant>,
}

/// Chunk bookkeeping for one download. `P` identifies a peer.
#[derive(Debug)]
pub struct Scheduler<P> {
    chunks: usize,
    done: ChunkSet,
    done_count: usize,
    /// Requests in flight per chunk.
    requested: Vec<u8>,
    /// Number of usable peers holding each chunk.
    availability: Vec<u32>,
    peers: HashMap<P, PeerState>,
    /// Peers in the order they were added, for a stable iteration order.
    order: Vec<P>,
    max_per_peer: usize,
    rng: u64,
}

impl<P: Clone + Eq + Hash> Scheduler<P> {
    /// A download of `chunks` chunks, `max_per_peer` requests in flight per peer at most;
    /// `seed` makes the tie-breaking differ between downloaders.
    pub fn new(chunks: usize, max_per_peer: usize, seed: u64) -> Self {
        Scheduler {
            chunks,
            done: ChunkSet::empty(chunks),
            done_count: 0,
            requested: vec![0; chunks],
            availability: vec![0; chunks],
            peers: HashMap::new(),
            order: Vec::new(),
            max_per_peer: max_per_peer.max(1),
            rng: seed | 1,
        }
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// Chunks verified and stored so far.
    pub fn done_count(&self) -> usize {
        self.done_count
    }

    /// True when every chunk is stored.
    pub fn is_complete(&self) -> bool {
        self.done_count == self.chunks
    }

    /// Whether `peer` is known and not banned.
    pub fn is_usable(&self, peer: &P) -> bool {
        self.peers.get(peer).is_some_and(|p| !p.banned)
    }

    /// Whether `peer` was banned.
    pub fn is_banned(&self, peer: &P) -> bool {
        self.peers.get(peer).is_some_and(|p| p.banned)
    }

    /// Whether `peer` is known (usable or banned).
    pub fn knows(&self, peer: &P) -> bool {
        self.peers.contains_key(peer)
    }

    /// Usable peers.
    pub fn usable_peers(&self) -> usize {
        self.peers.values().filter(|p| !p.banned).count()
    }

    /// Peers worth asking what they hold: usable, idle, and holding less than everything
    /// that is still missing here.
    pub fn peers_to_refresh(&self) -> Vec<P> {
        self.order
            .iter()
            .filter(|id| {
                self.peers.get(*id).is_some_and(|p| {
                    !p.banned && p.in_flight.is_empty() && p.have.count() < self.chunks
                })
            })
            .cloned()
            .collect()
    }

    /// Adds a peer (holding nothing known yet); no-op if it is known already.
    pub fn add_peer(&mut self, peer: P) {
        if self.peers.contains_key(&peer) {
            return;
        }
        self.peers.insert(
            peer.clone(),
            PeerState {
                have: ChunkSet::empty(self.chunks),
                in_flight: Vec::new(),
                failures: 0,
                banned: false,
                backoff_until: None,
            },
        );
        self.order.push(peer);
    }

    /// Records what `peer` holds (adding the peer if needed). Holdings only grow: a
    /// report that lacks chunks seen before is merged, not trusted to shrink the set.
    pub fn set_have(&mut self, peer: &P, have: &Have) {
        self.add_peer(peer.clone());
        let chunks = self.chunks;
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        let new = have.to_set(chunks);
        for i in 0..chunks {
            if new.contains(i) && !state.have.contains(i) {
                state.have.insert(i);
                if !state.banned {
                    self.availability[i] += 1;
                }
            }
        }
    }

    /// Bans `peer` for the rest of the download.
    pub fn ban(&mut self, peer: &P) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        if state.banned {
            return;
        }
        state.banned = true;
        for i in 0..self.chunks {
            if state.have.contains(i) {
                self.availability[i] = self.availability[i].saturating_sub(1);
            }
        }
    }

    /// Picks the next requests to send at time `now`, marking them in flight.
    pub fn next_requests(&mut self, now: Instant) -> Vec<(P, usize)> {
        let mut picks = Vec::new();
        if self.order.is_empty() || self.is_complete() {
            return picks;
        }
        let start = (self.next_random() as usize) % self.order.len();
        for k in 0..self.order.len() {
            let peer = self.order[(start + k) % self.order.len()].clone();
            if let Some(state) = self.peers.get_mut(&peer) {
                match state.backoff_until {
                    Some(until) if until > now => continue,
                    Some(_) => state.backoff_until = None,
                    None => {}
                }
            }
            while let Some(index) = self.pick_for(&peer) {
                self.requested[index] = self.requested[index].saturating_add(1);
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.in_flight.push(index);
                }
                picks.push((peer.clone(), index));
            }
        }
        picks
    }

    fn pick_for(&mut self, peer: &P) -> Option<usize> {
        let offset = if self.chunks == 0 {
            0
        } else {
            (self.next_random() as usize) % self.chunks
        };
        let state = self.peers.get(peer)?;
        if state.banned || state.in_flight.len() >= self.max_per_peer {
            return None;
        }
        let candidates = (0..self.chunks)
            .map(|k| (offset + k) % self.chunks)
            .filter(|&i| state.have.contains(i) && !self.done.contains(i));
        let mut fresh: Option<usize> = None;
        for i in candidates.clone() {
            if self.requested[i] == 0
                && fresh.is_none_or(|best| self.availability[i] < self.availability[best])
            {
                fresh = Some(i);
            }
        }
        if fresh.is_some() {
            return fresh;
        }
        let others_have_unrequested = (0..self.chunks)
            .any(|i| !self.done.contains(i) && self.requested[i] == 0 && self.availability[i] > 0);
        if others_have_unrequested || self.chunks - self.done_count > ENDGAME_MISSING {
            // Other peers still hold chunks nobody asked for yet, or much is still on its
            // way: not the endgame.
            return None;
        }
        // Endgame: duplicate the least duplicated request this peer is not already serving.
        candidates
            .filter(|i| self.requested[*i] < MAX_DUPLICATES && !state.in_flight.contains(i))
            .min_by_key(|i| self.requested[*i])
    }

    fn finish_request(&mut self, peer: &P, index: usize) {
        if let Some(state) = self.peers.get_mut(peer) {
            if let Some(pos) = state.in_flight.iter().position(|i| *i == index) {
                state.in_flight.swap_remove(pos);
                if let Some(r) = self.requested.get_mut(index) {
                    *r = r.saturating_sub(1);
                }
            }
        }
    }

    /// Marks chunks held before the download started (a resumed download) as done.
    pub fn already_held(&mut self, held: &ChunkSet) {
        for i in 0..self.chunks {
            if held.contains(i) && !self.done.contains(i) {
                self.done.insert(i);
                self.done_count += 1;
            }
        }
    }

    /// Chunk `index` from `peer` was verified and stored. Returns false if it was already
    /// stored (a duplicate from the endgame).
    pub fn completed(&mut self, peer: &P, index: usize) -> bool {
        self.finish_request(peer, index);
        if let Some(state) = self.peers.get_mut(peer) {
            state.failures = 0;
        }
        if index >= self.chunks || self.done.contains(index) {
            return false;
        }
        self.done.insert(index);
        self.done_count += 1;
        true
    }

    /// The request for chunk `index` to `peer` failed (timeout, closed connection, …).
    /// Returns true if the peer is now banned.
    pub fn failed(&mut self, peer: &P, index: usize) -> bool {
        self.finish_request(peer, index);
        self.count_failure(peer)
    }

    /// A request to `peer` that was not for a chunk failed; returns true if it is now banned.
    pub fn count_failure(&mut self, peer: &P) -> bool {
        let banned = match self.peers.get_mut(peer) {
            Some(state) => {
                state.failures += 1;
                state.failures >= MAX_FAILURES
            }
            None => false,
        };
        if banned {
            self.ban(peer);
        }
        banned
    }

    /// `peer` answered that it lacks chunk `index` (its holdings are updated separately).
    pub fn missing(&mut self, peer: &P, index: usize) {
        self.finish_request(peer, index);
    }

    /// `peer` is busy and did not send chunk `index`: ask it nothing new before `until`.
    pub fn busy(&mut self, peer: &P, index: usize, until: Instant) {
        self.finish_request(peer, index);
        if let Some(state) = self.peers.get_mut(peer) {
            state.backoff_until = Some(until);
        }
    }

    /// `peer` served a corrupt chunk `index`: it is banned.
    pub fn rejected(&mut self, peer: &P, index: usize) {
        self.finish_request(peer, index);
        self.ban(peer);
    }

    /// xorshift64: cheap, good enough for tie-breaking.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(len: usize, indexes: &[usize]) -> Have {
        let mut set = ChunkSet::empty(len);
        for i in indexes {
            set.insert(*i);
        }
        Have::Some(set)
    }

    #[test]
    fn respects_per_peer_bound_and_holdings() {
        let mut s = Scheduler::new(10, 3, 7);
        s.set_have(&1u32, &some(10, &[0, 1]));
        s.set_have(&2u32, &Have::All);
        let picks = s.next_requests(Instant::now());
        assert_eq!(picks.iter().filter(|(p, _)| *p == 1).count(), 2);
        assert_eq!(picks.iter().filter(|(p, _)| *p == 2).count(), 3);
        for (p, i) in &picks {
            if *p == 1 {
                assert!(*i < 2);
            }
        }
        // No chunk is requested twice outside the endgame.
        let mut indexes: Vec<_> = picks.iter().map(|(_, i)| *i).collect();
        indexes.sort_unstable();
        indexes.dedup();
        assert_eq!(indexes.len(), picks.len());
        assert!(
            s.next_requests(Instant::now()).is_empty(),
            "every slot is busy"
        );
    }

    #[test]
    fn rarest_first() {
        let mut s = Scheduler::new(4, 1, 3);
        s.set_have(&1u32, &Have::All);
        s.set_have(&2u32, &some(4, &[0, 1, 2]));
        s.set_have(&3u32, &some(4, &[0, 1]));
        // Chunk 3 is held by peer 1 only, chunk 2 by peers 1 and 2.
        let picks = s.next_requests(Instant::now());
        assert!(picks.contains(&(1, 3)), "{picks:?}");
        assert!(picks.contains(&(2, 2)), "{picks:?}");
    }

    #[test]
    fn downloads_complete_and_duplicates_are_ignored() {
        let mut s = Scheduler::new(5, 2, 11);
        s.set_have(&1u32, &Have::All);
        let mut rounds = 0;
        while !s.is_complete() {
            rounds += 1;
            assert!(rounds < 10);
            for (p, i) in s.next_requests(Instant::now()) {
                assert!(s.completed(&p, i));
            }
        }
        assert_eq!(s.done_count(), 5);
        assert!(!s.completed(&1, 0));
        assert!(s.next_requests(Instant::now()).is_empty());
    }

    #[test]
    fn corrupt_and_failing_peers_are_avoided() {
        let mut s = Scheduler::new(6, 1, 5);
        s.set_have(&1u32, &Have::All);
        s.set_have(&2u32, &Have::All);
        let picks = s.next_requests(Instant::now());
        let (_, bad_index) = picks.iter().find(|(p, _)| *p == 2).copied().unwrap();
        s.rejected(&2, bad_index);
        assert!(s.is_banned(&2));
        assert_eq!(s.usable_peers(), 1);
        // The rejected chunk goes back to the pool and only peer 1 is asked from now on.
        let mut seen = Vec::new();
        for (p, i) in picks.iter().filter(|(p, _)| *p == 1) {
            s.completed(p, *i);
            seen.push(*i);
        }
        let mut rounds = 0;
        while !s.is_complete() {
            rounds += 1;
            assert!(rounds < 10);
            for (p, i) in s.next_requests(Instant::now()) {
                assert_eq!(p, 1);
                seen.push(i);
                s.completed(&p, i);
            }
        }
        assert!(seen.contains(&bad_index));

        let mut s = Scheduler::new(3, 1, 5);
        s.set_have(&9u32, &Have::All);
        let (p, i) = s.next_requests(Instant::now())[0];
        assert!(!s.failed(&p, i));
        let (p, i) = s.next_requests(Instant::now())[0];
        assert!(s.failed(&p, i), "banned after {MAX_FAILURES} failures");
        assert!(s.next_requests(Instant::now()).is_empty());
    }

    #[test]
    fn endgame_duplicates_stalled_requests() {
        let mut s = Scheduler::new(2, 4, 1);
        s.set_have(&1u32, &Have::All);
        let first = s.next_requests(Instant::now());
        assert_eq!(first.len(), 2, "peer 1 takes both chunks");
        // Peer 2 arrives while both chunks are in flight at peer 1 (which stalls).
        s.set_have(&2u32, &Have::All);
        let dup = s.next_requests(Instant::now());
        assert_eq!(dup.len(), 2);
        assert!(dup.iter().all(|(p, _)| *p == 2));
        // No third copy.
        s.set_have(&3u32, &Have::All);
        assert!(s.next_requests(Instant::now()).is_empty());
        for (p, i) in dup {
            assert!(s.completed(&p, i));
        }
        assert!(s.is_complete());
        // The stalled answers, if they ever come, are duplicates.
        assert!(!s.completed(&1, 0));
    }

    #[test]
    fn partial_peers_are_refreshed_and_holdings_only_grow() {
        let mut s = Scheduler::new(3, 2, 1);
        s.set_have(&1u32, &some(3, &[0]));
        s.set_have(&1u32, &some(3, &[]));
        assert_eq!(s.peers_to_refresh(), vec![1]);
        let picks = s.next_requests(Instant::now());
        assert_eq!(picks, vec![(1, 0)]);
        assert!(
            s.peers_to_refresh().is_empty(),
            "busy peers are not refreshed"
        );
        s.missing(&1, 0);
        s.set_have(&1u32, &Have::All);
        assert!(s.peers_to_refresh().is_empty());
        assert_eq!(s.next_requests(Instant::now()).len(), 2);
    }

    #[test]
    fn busy_peers_are_left_alone_until_their_back_off_ends() {
        let mut s = Scheduler::new(4, 2, 9);
        s.set_have(&1u32, &Have::All);
        let now = Instant::now();
        let picks = s.next_requests(now);
        assert_eq!(picks.len(), 2);
        let later = now + std::time::Duration::from_millis(500);
        for (p, i) in picks {
            s.busy(&p, i, later);
        }
        assert!(s.next_requests(now).is_empty());
        assert_eq!(s.next_requests(later).len(), 2);
    }

    #[test]
    fn different_seeds_spread_first_requests() {
        let firsts: std::collections::HashSet<usize> = (0..20u64)
            .map(|seed| {
                let mut s = Scheduler::new(16, 1, seed * 7919 + 1);
                s.set_have(&1u32, &Have::All);
                s.next_requests(Instant::now())[0].1
            })
            .collect();
        assert!(firsts.len() > 4, "{firsts:?}");
    }
}
