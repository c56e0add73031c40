//! What a download does with each answer it gets: a manifest and block hashes (checked
//! against the id and this peer's limits, then the scheduler is set up), holdings, or a
//! block (verified before it is kept; a corrupt one gets its sender banned; the other
//! requests for it are cancelled).
//!
//! A manifest is checked on arrival, before any memory is reserved for the object: one
//! that is not the object's (another hash) or cannot be decoded gets its sender ignored;
//! the object's own manifest (its BLAKE3 hash is the id) fails the whole download when it
//! describes more than `--max-object-size` bytes or chunks of a size `crate::content`
//! does not define, since every provider would send the same one.

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::Arc;

use libp2p::PeerId;
use tokio::time::Instant;

use super::super::codec::{Request, Response};
use super::super::have::Have;
use super::super::holdings::InsertError;
use super::super::scheduler::Scheduler;
use super::{Download, FetchError, Outcome};
use crate::content::{BlockHashes, Manifest, ObjectId};

impl Download<'_> {
    pub(super) fn on_outcome(&mut self, outcome: Outcome) -> Result<(), FetchError> {
        let Outcome {
            peer,
            request,
            result,
            fellows,
        } = outcome;
        self.add_fellows(fellows);
        match request {
            Request::Manifest(_) => {
                self.manifest_in_flight = self.manifest_in_flight.saturating_sub(1);
                match result {
                    Ok(Response::Manifest(encoded, hashes, have)) => {
                        self.on_manifest(peer, &encoded, &hashes, &have)?
                    }
                    Ok(Response::NotFound) => self.rule_out(peer),
                    Ok(_) => {
                        self.peer_failed(peer, "answered a manifest request with something else")
                    }
                    Err(why) => self.peer_failed(peer, &why),
                }
            }
            Request::Have(_) => {
                self.have_in_flight.remove(&peer);
                match result {
                    Ok(Response::Have(have)) => self.set_have(peer, &have),
                    // A fellow downloader may not have the manifest yet: ask again later.
                    Ok(Response::NotFound) => self.peer_failed(peer, "holds nothing of the object"),
                    Ok(_) => {
                        self.peer_failed(peer, "answered a holdings request with something else")
                    }
                    Err(why) => self.peer_failed(peer, &why),
                }
            }
            Request::Block(_, index) => self.on_block(peer, index as usize, result)?,
            Request::Cancel(..) => {
                if let Ok(Response::Have(have)) = result {
                    self.set_have(peer, &have);
                }
            }
        }
        Ok(())
    }

    fn on_manifest(
        &mut self,
        peer: PeerId,
        encoded: &[u8],
        hashes: &[u8],
        have: &Have,
    ) -> Result<(), FetchError> {
        if self.manifest.is_some() {
            self.set_have(peer, have);
            return Ok(());
        }
        let genuine = ObjectId(*blake3::hash(encoded).as_bytes()) == self.id;
        let manifest = match Manifest::decode(encoded) {
            Ok(m) if m.id() == self.id => m,
            Ok(m) => {
                tracing::warn!(%peer, id = %self.id, got = %m.id(), "a provider sent the manifest of another object; ignoring that provider");
                self.rule_out(peer);
                return Ok(());
            }
            Err(e) if genuine => {
                return Err(FetchError::Unusable {
                    id: self.id,
                    detail: e.to_string(),
                    progress: self.progress(),
                })
            }
            Err(e) => {
                tracing::warn!(%peer, id = %self.id, "a provider sent an unreadable manifest ({e}); ignoring that provider");
                self.rule_out(peer);
                return Ok(());
            }
        };
        let limit = self.ctx.settings.max_object_size;
        if manifest.size > limit {
            return Err(FetchError::TooLarge {
                id: self.id,
                size: manifest.size,
                limit,
                progress: self.progress(),
            });
        }
        let hashes = match BlockHashes::decode(&manifest, hashes) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(%peer, id = %self.id, "a provider sent bad block hashes ({e}); ignoring that provider");
                self.rule_out(peer);
                return Ok(());
            }
        };
        self.ctx.holdings.begin(&manifest, &hashes);
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write(&self.ctx.local.to_bytes());
        seed.write(self.id.as_bytes());
        let mut sched = Scheduler::new(
            manifest.block_count(),
            self.ctx.settings.max_per_peer,
            seed.finish(),
        );
        if let Some(Have::Some(held)) = self.ctx.holdings.have(&self.id) {
            sched.already_held(&held);
        }
        for p in &self.providers {
            sched.add_peer(*p);
            if self.ruled_out.contains(p) {
                sched.ban(p);
            }
        }
        sched.set_have(&peer, have);
        for (p, h) in self.have_early.drain() {
            sched.set_have(&p, &h);
        }
        self.manifest = Some(Arc::new(manifest));
        self.sched = Some(sched);
        // Announce at once, holding nothing yet: fellow downloaders find this peer while
        // the swarm forms and learn what it holds from its answers as it fills up.
        self.announce();
        // Ask everyone else what they hold right away.
        self.next_refresh = Instant::now();
        Ok(())
    }

    fn on_block(
        &mut self,
        peer: PeerId,
        index: usize,
        result: Result<Response, String>,
    ) -> Result<(), FetchError> {
        let Some(sched) = &mut self.sched else {
            return Ok(());
        };
        match result {
            Ok(Response::Block(bytes, have)) => {
                if let Some(have) = &have {
                    sched.set_have(&peer, have);
                }
                let len = bytes.len() as u64;
                match self.ctx.holdings.insert_block(&self.id, index, bytes) {
                    Ok(inserted) => {
                        sched.completed(&peer, index, std::time::Instant::now());
                        let losers = sched.cancel_others(index);
                        if !inserted.new {
                            self.duplicates += 1;
                            self.ctx.metrics.duplicate_bytes.add(len);
                        } else {
                            if self.first_chunk.is_none() {
                                self.first_chunk = Some(self.started.elapsed());
                            }
                            self.bytes += len;
                            tracing::trace!(ms = self.started.elapsed().as_millis() as u64, %peer, index, "block stored");
                            *self.chunks_by_peer.entry(peer).or_default() += 1;
                            self.ctx.metrics.chunks_fetched.inc();
                            self.announce();
                        }
                        self.cancel(losers, index);
                    }
                    Err(InsertError::Corrupt(e)) => {
                        self.rejected += 1;
                        self.ctx.metrics.chunks_rejected.inc();
                        self.corrupt_peers.insert(peer);
                        sched.rejected(&peer, index);
                        self.ruled_out.insert(peer);
                        tracing::warn!(%peer, id = %self.id, index, "rejected a block ({e}); no longer asking that peer");
                    }
                    Err(e @ InsertError::NotStarted(_)) => return Err(self.internal(e.to_string())),
                }
            }
            Ok(Response::Missing(have)) => {
                sched.set_have(&peer, &have);
                sched.missing(&peer, index);
            }
            Ok(Response::Busy(have)) => {
                self.busy += 1;
                tracing::trace!(ms = self.started.elapsed().as_millis() as u64, %peer, index, "busy");
                sched.set_have(&peer, &have);
                sched.busy(&peer, index, std::time::Instant::now());
            }
            Ok(Response::NotFound) => {
                sched.missing(&peer, index);
                sched.ban(&peer);
                self.ruled_out.insert(peer);
            }
            // This node cancelled it: an endgame loser (the scheduler forgot it already),
            // or a withdrawn request, whose chunk is now asked of a faster peer.
            Ok(Response::Cancelled) => {
                sched.withdrawn(&peer, index);
            }
            Ok(_) => {
                sched.failed(&peer, index);
            }
            Err(why) => {
                tracing::debug!(%peer, id = %self.id, index, "block request failed: {why}");
                sched.failed(&peer, index);
            }
        }
        Ok(())
    }

    /// Cancels the requests for block `index` still out at `peers` (it arrived already).
    fn cancel(&mut self, peers: Vec<PeerId>, index: usize) {
        for peer in peers {
            self.cancelled += 1;
            self.send(peer, Request::Cancel(self.id, index as u32));
        }
    }
}
