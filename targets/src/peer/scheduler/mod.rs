//! The swarming download's block scheduler: which block to ask of which peer next.
//! ("Chunk" below means the unit scheduled: a 16 KiB block of the object.)
//!
//! Pure bookkeeping, no I/O, so it is unit-tested directly. Policy:
//! - **Rarest first**: a peer with a free request slot gets the missing chunk that the
//!   fewest known peers hold, among those it holds itself; ties are broken from a random
//!   starting point, so many downloaders that start together ask for different chunks and
//!   soon have something to trade.
//! - **Paced**: each peer gets as many requests in flight as its measured delivery rate
//!   keeps busy for a short while ([`pace`]), at most `max_per_peer`, and the fastest
//!   peers are served first, so requests go where they are served soonest instead of
//!   queueing at slow peers (at the end of a download, the seed rather than a busy
//!   fellow downloader).
//! - **Endgame**: once every missing chunk is already requested and at most
//!   [`ENDGAME_MISSING`] are missing, a request a faster idle peer could serve is
//!   withdrawn at once (below), and one that has waited [`ENDGAME_COPY_AFTER`] may be
//!   duplicated to an idle peer (at most [`MAX_DUPLICATES`] copies per chunk), so one
//!   slow or stalled peer cannot hold up the end of a download. Earlier duplicates would
//!   only waste the swarm's upload. When a chunk arrives, [`Scheduler::cancel_others`]
//!   gives the peers still holding a request for it, so the download cancels those (the
//!   losers of the race).
//! - **Withdrawal**: a request that has waited [`STALE_AFTER`] (in the endgame: any
//!   time) at one peer while a faster
//!   peer that holds the chunk has a free slot and nothing fresh to serve (at the end of a
//!   download: the seed idle while the last chunks queue at busy fellow downloaders) is
//!   withdrawn: the download cancels it, and only if the answer is "cancelled" (it was
//!   still queued there, not on its way) is the chunk asked again, of the faster peer.
//!   Moving it at once instead cost 10 % redundant bytes: most such chunks were already
//!   in the slow peer's send window.
//! - **Avoidance**: a peer that served a corrupt chunk is banned for the rest of the
//!   download; one that failed [`MAX_FAILURES`] requests in a row is banned as well; one
//!   that answered "busy" gets no new request (nor a holdings question) until its back-off
//!   ends: [`BUSY_BACKOFF`], doubled for every further "busy" in a row up to
//!   [`MAX_BUSY_BACKOFF`], with up to 50% jitter so that the many downloaders a popular
//!   peer turned away do not all come back at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use super::have::{ChunkSet, Have};

pub mod pace;
use pace::Pace;

/// Copies of one chunk request that may be in flight at once (endgame only).
pub const MAX_DUPLICATES: u8 = 2;
/// Missing chunks at most for the endgame to begin.
pub const ENDGAME_MISSING: usize = 4;
/// In the endgame a request is copied to another peer only once it has waited this long
/// (its peer may have stalled); before that it is withdrawn, which costs no block: a
/// copy sent at once served each download's last four blocks twice, 0.78 % of N·F at
/// N = 16 and 64 (reports/swarm-bench/block-pipes.md, section 10).
pub const ENDGAME_COPY_AFTER: Duration = Duration::from_millis(1000);
/// Consecutive failed requests (timeouts, closed connections) after which a peer is dropped.
pub const MAX_FAILURES: u32 = 2;
/// A request that has waited this long at one peer may be withdrawn (see the module doc).
pub const STALE_AFTER: Duration = Duration::from_millis(1000);
/// Stale requests are looked for at most this often: the download asks after every
/// answer, and a look costs a pass over every peer's holdings.
pub const STALE_CHECK_EVERY: Duration = Duration::from_millis(100);
/// A peer that answered "busy" gets no new request for this long (plus jitter).
pub const BUSY_BACKOFF: Duration = Duration::from_millis(150);
/// The longest back-off after "busy" answers in a row (before jitter).
pub const MAX_BUSY_BACKOFF: Duration = Duration::from_millis(1200);

/// What the scheduler knows about one peer.
#[derive(Debug)]
struct PeerState {
    have: ChunkSet,
    /// Requests to this peer not answered yet.
    in_flight: Vec<InFlight>,
    /// Its measured delivery rate, which sizes its share of requests.
    pace: Pace,
    failures: u32,
    banned: bool,
    /// No new request before this time (the peer said it was busy).
    backoff_until: Option<Instant>,
    /// "Busy" answers in a row (back-offs that followed one another).
    busy_streak: u32,
}

/// One chunk request in flight.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    index: usize,
    sent: Instant,
    /// Requests in flight to the peer when it was sent, itself included.
    depth: usize,
    /// A cancel went out for it, to ask the chunk of a faster peer if it was still queued.
    withdrawing: bool,
}

impl PeerState {
    fn has_in_flight(&self, index: usize) -> bool {
        self.in_flight.iter().any(|r| r.index == index)
    }
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
    /// No look for stale requests before this time (see [`STALE_CHECK_EVERY`]).
    next_stale_check: Option<Instant>,
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
            next_stale_check: None,
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

    /// Peers worth asking what they hold at `now`: usable, idle, not backing off, and
    /// holding less than everything.
    pub fn peers_to_refresh(&self, now: Instant) -> Vec<P> {
        self.order
            .iter()
            .filter(|id| {
                self.peers.get(*id).is_some_and(|p| {
                    !p.banned
                        && p.in_flight.is_empty()
                        && p.backoff_until.is_none_or(|until| until <= now)
                        && p.have.count() < self.chunks
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
                pace: Pace::default(),
                failures: 0,
                banned: false,
                backoff_until: None,
                busy_streak: 0,
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
        // Fastest first (peers not measured yet before all, so they get tried; ties keep
        // the random rotation): fresh chunks go where they are served soonest, and when
        // few are left, at the end of a download, they go to the seed or a finished peer
        // instead of queueing at a fellow downloader that shares its upload with many.
        let mut turn: Vec<(f64, P)> = (0..self.order.len())
            .map(|k| {
                let peer = &self.order[(start + k) % self.order.len()];
                let rate = self.peers.get(peer).and_then(|s| s.pace.rate());
                (rate.unwrap_or(f64::INFINITY), peer.clone())
            })
            .collect();
        turn.sort_by(|(a, _), (b, _)| b.total_cmp(a));
        for (_, peer) in turn {
            if let Some(state) = self.peers.get_mut(&peer) {
                match state.backoff_until {
                    Some(until) if until > now => continue,
                    Some(_) => state.backoff_until = None,
                    None => {}
                }
            }
            while let Some(index) = self.pick_for(&peer, now) {
                self.requested[index] = self.requested[index].saturating_add(1);
                if let Some(state) = self.peers.get_mut(&peer) {
                    let depth = state.in_flight.len() + 1;
                    state.in_flight.push(InFlight {
                        index,
                        sent: now,
                        depth,
                        withdrawing: false,
                    });
                }
                picks.push((peer.clone(), index));
            }
        }
        picks
    }

    fn pick_for(&mut self, peer: &P, now: Instant) -> Option<usize> {
        let offset = if self.chunks == 0 {
            0
        } else {
            (self.next_random() as usize) % self.chunks
        };
        let state = self.peers.get(peer)?;
        let limit = state.pace.limit(self.max_per_peer);
        if state.banned || state.in_flight.len() >= limit {
            return None;
        }
        let candidates = useful(&state.have, &self.done);
        // Rarest first; ties go to the first after a random offset.
        let rotated = |i: usize| (i + self.chunks - offset) % self.chunks;
        let fresh = candidates
            .iter()
            .copied()
            .filter(|&i| self.requested[i] == 0)
            .min_by_key(|&i| (self.availability[i], rotated(i)));
        if fresh.is_some() {
            return fresh;
        }
        if !self.in_endgame() {
            return None;
        }
        // Endgame: duplicate the least duplicated request this peer is not already
        // serving, once it has waited ENDGAME_COPY_AFTER (until then it is withdrawn).
        candidates
            .into_iter()
            .filter(|i| self.requested[*i] < MAX_DUPLICATES && !state.has_in_flight(*i))
            .filter(|i| {
                self.oldest_request(*i)
                    .is_none_or(|sent| now.saturating_duration_since(sent) >= ENDGAME_COPY_AFTER)
            })
            .min_by_key(|i| self.requested[*i])
    }

    /// The endgame: every missing chunk that some peer holds is requested already, and at
    /// most [`ENDGAME_MISSING`] are missing.
    /// Asked on every dispatch: the count first, the pass over the chunks only near the end.
    fn in_endgame(&self) -> bool {
        self.chunks - self.done_count <= ENDGAME_MISSING
            && !(0..self.chunks).any(|i| {
                !self.done.contains(i) && self.requested[i] == 0 && self.availability[i] > 0
            })
    }

    /// When the oldest request in flight for chunk `index` went out.
    fn oldest_request(&self, index: usize) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|s| s.in_flight.iter())
            .filter(|r| r.index == index)
            .map(|r| r.sent)
            .min()
    }

    /// Forgets the request for `index` to `peer`; returns it if it was in flight.
    fn finish_request(&mut self, peer: &P, index: usize) -> Option<InFlight> {
        let state = self.peers.get_mut(peer)?;
        let pos = state.in_flight.iter().position(|r| r.index == index)?;
        let request = state.in_flight.swap_remove(pos);
        if let Some(r) = self.requested.get_mut(index) {
            *r = r.saturating_sub(1);
        }
        Some(request)
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

    /// Chunk `index` from `peer` arrived at `now` and was verified and stored. Returns
    /// false if it was already stored (a duplicate from the endgame).
    pub fn completed(&mut self, peer: &P, index: usize, now: Instant) -> bool {
        let request = self.finish_request(peer, index);
        if let Some(state) = self.peers.get_mut(peer) {
            state.failures = 0;
            state.busy_streak = 0;
            if let Some(r) = request {
                state
                    .pace
                    .delivered(now.saturating_duration_since(r.sent), r.depth);
            }
        }
        if index >= self.chunks || self.done.contains(index) {
            return false;
        }
        self.done.insert(index);
        self.done_count += 1;
        true
    }

    /// Requests to withdraw at `now` (see the module doc), marked as withdrawing: the
    /// caller cancels each, and reports a "cancelled" answer with [`Self::withdrawn`].
    pub fn stale_requests(&mut self, now: Instant) -> Vec<(P, usize)> {
        // In the endgame every request is withdrawn as soon as a faster peer could take
        // it, looked for after every answer: a few requests are left, and each wait here
        // is added to the makespan.
        let endgame = self.in_endgame();
        if !endgame && self.next_stale_check.is_some_and(|next| now < next) {
            return Vec::new();
        }
        self.next_stale_check = Some(now + STALE_CHECK_EVERY);
        let patience = if endgame { Duration::ZERO } else { STALE_AFTER };
        let stale =
            |r: &InFlight| !r.withdrawing && now.saturating_duration_since(r.sent) >= patience;
        if !self.peers.values().any(|p| p.in_flight.iter().any(stale)) {
            return Vec::new();
        }
        // Peers with free slots and nothing fresh to ask of them: (peer, free slots, rate).
        let mut spare: Vec<(P, usize, f64)> = self
            .order
            .iter()
            .filter_map(|peer| {
                let state = self.peers.get(peer)?;
                let rate = state.pace.rate()?;
                let free = state
                    .pace
                    .limit(self.max_per_peer)
                    .saturating_sub(state.in_flight.len());
                let idle = !state.banned
                    && free > 0
                    && state.backoff_until.is_none_or(|until| until <= now)
                    && !(0..self.chunks).any(|i| {
                        state.have.contains(i) && !self.done.contains(i) && self.requested[i] == 0
                    });
                idle.then(|| (peer.clone(), free, rate))
            })
            .collect();
        let mut withdraw = Vec::new();
        for peer in &self.order {
            let Some(state) = self.peers.get(peer) else {
                continue;
            };
            let rate = state.pace.rate().unwrap_or(0.0);
            for r in state.in_flight.iter().filter(|r| stale(r)) {
                let taker = spare.iter_mut().find(|(other, free, other_rate)| {
                    other != peer
                        && *free > 0
                        && *other_rate > rate
                        && self
                            .peers
                            .get(other)
                            .is_some_and(|o| o.have.contains(r.index))
                });
                if let Some((_, free, _)) = taker {
                    *free -= 1;
                    withdraw.push((peer.clone(), r.index));
                }
            }
        }
        for (peer, index) in &withdraw {
            if let Some(r) = self
                .peers
                .get_mut(peer)
                .and_then(|s| s.in_flight.iter_mut().find(|r| r.index == *index))
            {
                r.withdrawing = true;
            }
        }
        withdraw
    }

    /// `peer` answered that the request for chunk `index` was cancelled. A withdrawn one
    /// is forgotten, so the chunk is asked of another peer; returns whether it was one.
    pub fn withdrawn(&mut self, peer: &P, index: usize) -> bool {
        let withdrawing = self.peers.get(peer).is_some_and(|s| {
            s.in_flight
                .iter()
                .any(|r| r.index == index && r.withdrawing)
        });
        if withdrawing {
            self.finish_request(peer, index);
        }
        withdrawing
    }

    /// The request for chunk `index` to `peer` failed (timeout, closed connection, …).
    /// Returns true if the peer is now banned. A request no longer in flight (cancelled)
    /// does not count.
    pub fn failed(&mut self, peer: &P, index: usize) -> bool {
        if self.finish_request(peer, index).is_none() {
            return false;
        }
        self.count_failure(peer)
    }

    /// Chunk `index` is stored: forgets every request for it still in flight and returns
    /// the peers they went to, so they can be cancelled.
    pub fn cancel_others(&mut self, index: usize) -> Vec<P> {
        let holders: Vec<P> = self
            .order
            .iter()
            .filter(|p| self.peers.get(*p).is_some_and(|s| s.has_in_flight(index)))
            .cloned()
            .collect();
        for peer in &holders {
            self.finish_request(peer, index);
        }
        holders
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

    /// `peer` answered at `now` that it is busy and did not send chunk `index`: it gets
    /// nothing new until its back-off ends (longer for each "busy" in a row; answers to
    /// requests sent before the back-off began do not lengthen it).
    pub fn busy(&mut self, peer: &P, index: usize, now: Instant) {
        self.finish_request(peer, index);
        let jitter = self.next_random() % 512;
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        if state.backoff_until.is_some_and(|until| until > now) {
            return;
        }
        let doublings = state.busy_streak.min(8);
        state.busy_streak = state.busy_streak.saturating_add(1);
        let base = BUSY_BACKOFF
            .saturating_mul(1 << doublings)
            .min(MAX_BUSY_BACKOFF);
        let pause = base + base.mul_f64(jitter as f64 / 1024.0);
        state.backoff_until = Some(now + pause);
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

/// Chunks in `have` and not in `done`, in index order (a word-wise scan of the bitmaps).
fn useful(have: &ChunkSet, done: &ChunkSet) -> Vec<usize> {
    let mut out = Vec::new();
    for (byte, (h, d)) in have.bits().iter().zip(done.bits()).enumerate() {
        let mut bits = h & !d;
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            out.push(byte * 8 + bit);
            bits &= bits - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
