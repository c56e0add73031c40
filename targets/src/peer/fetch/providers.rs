//! Where a download's providers come from: DHT lookups (paced, and backing off while they
//! find nothing new), fellow downloaders that ask this node about the object, and fellows
//! named by the answers to this download's own questions (peer exchange,
//! [`crate::peer::exchange`]), which ask for names while the download trades with fewer
//! than [`FELLOWS_WANTED_BELOW`] providers (holdings questions at most every
//! [`ASK_FELLOWS_EVERY`]).

use std::hash::BuildHasher as _;
use std::time::Duration;

use libp2p::PeerId;
use tokio::time::Instant;

use super::super::codec::Request;
use super::super::exchange::MAX_FELLOWS;
use super::{Download, MAX_DOWNLOAD_PEERS, QUIET_LOOKUPS_BACKOFF};

/// A holdings question asks its answer to name fellow downloaders at most this often
/// (manifest questions always do): a name costs about 50 bytes, and a download asks a few
/// holdings questions every 200 ms.
const ASK_FELLOWS_EVERY: Duration = Duration::from_secs(1);
/// Questions ask for fellow downloaders to be named while the download trades with fewer
/// usable providers than this. Not up to [`MAX_DOWNLOAD_PEERS`]: in a 1,000-peer crowd
/// behind 32 KiB/s uplinks, downloads that filled up to 64 providers through names used
/// 1.9 of the 2 cores on connections and holdings questions, and none completed.
const FELLOWS_WANTED_BELOW: usize = 16;

impl Download<'_> {
    /// Adds providers, up to [`MAX_DOWNLOAD_PEERS`] usable ones. A batch keeps its first
    /// provider first (a DHT node lists providers oldest first: the origin, most likely
    /// complete) and takes the rest in an order of this node's own (a hash keyed per
    /// process), so the downloaders of a large swarm, who all find the same provider
    /// list, spread over different providers.
    pub(super) fn add_providers(&mut self, mut peers: Vec<PeerId>) -> usize {
        if let Some(rest) = peers.get_mut(1..) {
            rest.sort_by_cached_key(|p| self.order.hash_one(p));
        }
        let mut added = 0;
        for peer in peers {
            if peer == self.ctx.local || self.providers.contains(&peer) {
                continue;
            }
            if self.usable() >= MAX_DOWNLOAD_PEERS {
                break;
            }
            if self.first_provider.is_none() {
                self.first_provider = Some(self.started.elapsed());
            }
            self.providers.push(peer);
            added += 1;
            if let Some(sched) = &mut self.sched {
                sched.add_peer(peer);
            }
        }
        added
    }

    /// The pause before the next lookup, once one ended: `pace`, doubled for each lookup in
    /// a row (up to [`QUIET_LOOKUPS_BACKOFF`]) that found no provider new to this
    /// download while some were known (those named by answers or asking this node do not
    /// count: they come without lookups). A download that knows none keeps the pace.
    pub(super) fn lookup_pause(&mut self, pace: Duration) -> Duration {
        if self.lookup_found_new || self.providers.is_empty() {
            self.quiet_lookups = 0;
        } else {
            self.quiet_lookups = (self.quiet_lookups + 1).min(QUIET_LOOKUPS_BACKOFF);
        }
        pace * (1 << self.quiet_lookups)
    }

    /// Adds the peers that asked this node for the object since the last look, and
    /// records what they told they hold.
    pub(super) fn absorb_requesters(&mut self) {
        let requesters = self.ctx.holdings.take_requesters(&self.id);
        for (peer, have) in requesters {
            self.add_providers(vec![peer]);
            if let Some(have) = have {
                if self.providers.contains(&peer) {
                    self.set_have(peer, &have);
                }
            }
        }
    }

    /// Adds the fellow downloaders an answer named.
    pub(super) fn add_fellows(&mut self, fellows: Vec<PeerId>) {
        if fellows.is_empty() {
            return;
        }
        let added = self.add_providers(fellows);
        self.ctx.metrics.fellows_added.add(added as u64);
    }

    /// How many fellow downloaders to ask a question's answer to name.
    pub(super) fn fellows_wanted(&mut self, request: Request, now: Instant) -> u8 {
        if self.usable() >= FELLOWS_WANTED_BELOW {
            return 0;
        }
        match request {
            Request::Manifest(_) => MAX_FELLOWS,
            Request::Have(_) if now >= self.next_fellows_ask => {
                self.next_fellows_ask = now + ASK_FELLOWS_EVERY;
                MAX_FELLOWS
            }
            _ => 0,
        }
    }
}
