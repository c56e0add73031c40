//! One swarming download: find providers in the DHT, get and check the manifest, then
//! pull chunks from several providers at once under the [`Scheduler`]'s policy.
//!
//! Every chunk is verified against the manifest before it is kept; a provider that sends
//! a bad one is counted, banned for the rest of the download, and its chunk asked of
//! someone else. The node announces itself as a provider as soon as it holds a verified
//! chunk, and serves what it has while it downloads. Provider lookups are repeated while
//! the download runs, so peers that join the swarm late are used too, and peers that ask
//! this node for the object (fellow downloaders) are asked back.
//!
//! Bounded everywhere: each request has a timeout, the download has an overall deadline,
//! and a download with no usable provider left gives up after [`GIVE_UP_AFTER`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher as _, Hasher as _};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt as _};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::codec::{Request, Response};
use super::have::Have;
use super::holdings::{Holdings, InsertError};
use super::metrics::PeerMetrics;
use super::node::NodeHandle;
pub use super::outcome::{FetchError, FetchStats, Progress};
use super::scheduler::{Scheduler, MAX_FAILURES};
use crate::content::{Manifest, ObjectId};

/// Pause between provider lookups while a download runs.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(1);
/// A provider that answered "busy" gets no new request for this long.
pub const BUSY_BACKOFF: Duration = Duration::from_millis(400);
/// Pause between provider lookups while no provider is known.
const RETRY_LOOKUP_EVERY: Duration = Duration::from_millis(250);
/// How often idle, partial providers are asked what they hold now.
const REFRESH_HAVE_EVERY: Duration = Duration::from_millis(300);
/// Holdings requests sent per refresh at most (to the peers asked longest ago), so a
/// download among many partial peers does not flood them with questions.
const REFRESH_BATCH: usize = 4;
/// Usable providers one download trades with, at most; more are ignored until some
/// drop out. Bounds connections, lookups and questions in large swarms.
pub const MAX_DOWNLOAD_PEERS: usize = 20;
/// Pause between provider lookups while a download already has enough providers.
const REDISCOVER_WHEN_FULL: Duration = Duration::from_secs(5);
/// Manifest requests in flight at once.
const MANIFEST_PARALLELISM: usize = 3;
/// A download with providers found but none usable for this long fails.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Overall deadline of one download.
    pub fetch_timeout: Duration,
    /// A download with no provider found within this long fails.
    pub lookup_timeout: Duration,
    /// Timeout of one request (also enforced by the swarm).
    pub request_timeout: Duration,
    /// Chunk requests in flight to one provider at most.
    pub max_per_peer: usize,
}

/// What a download needs from the node.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// The swarm task.
    pub node: NodeHandle,
    /// This node's holdings.
    pub holdings: Arc<Holdings>,
    /// This node's counters.
    pub metrics: Arc<PeerMetrics>,
    /// This node's peer id.
    pub local: PeerId,
    /// Settings.
    pub settings: FetchSettings,
}

type Pending = Pin<Box<dyn Future<Output = Outcome> + Send>>;

struct Outcome {
    peer: PeerId,
    request: Request,
    result: Result<Response, String>,
}

/// Fetches object `id` through the swarm, or returns at once if it is held already.
pub async fn fetch(ctx: &FetchContext, id: ObjectId) -> Result<FetchStats, FetchError> {
    let started = Instant::now();
    if let Some(object) = ctx.holdings.complete_object(&id) {
        return Ok(FetchStats {
            id: id.to_string(),
            size: object.size(),
            bytes: 0,
            duration_ms: 0,
            provider_lookup_ms: None,
            chunks: object.manifest().chunk_count(),
            chunks_by_peer: BTreeMap::new(),
            rejected_chunks: 0,
            providers: 0,
        });
    }
    Download::new(ctx, id, started).run().await
}

struct Download<'a> {
    ctx: &'a FetchContext,
    id: ObjectId,
    started: Instant,
    manifest: Option<Arc<Manifest>>,
    sched: Option<Scheduler<PeerId>>,
    /// Providers in discovery order, and which of them were ruled out before the manifest.
    providers: Vec<PeerId>,
    ruled_out: HashSet<PeerId>,
    failures: HashMap<PeerId, u32>,
    manifest_asked: HashSet<PeerId>,
    manifest_in_flight: usize,
    have_in_flight: HashSet<PeerId>,
    have_asked: HashMap<PeerId, Instant>,
    have_early: HashMap<PeerId, Have>,
    in_flight: FuturesUnordered<Pending>,
    lookup: Option<mpsc::Receiver<Vec<PeerId>>>,
    next_lookup: Instant,
    next_refresh: Instant,
    first_provider: Option<Duration>,
    unusable_since: Option<Instant>,
    chunks_by_peer: BTreeMap<PeerId, u64>,
    rejected: u64,
    corrupt_peers: HashSet<PeerId>,
    bytes: u64,
    announced: bool,
}

impl<'a> Download<'a> {
    fn new(ctx: &'a FetchContext, id: ObjectId, started: Instant) -> Self {
        Download {
            ctx,
            id,
            started,
            manifest: None,
            sched: None,
            providers: Vec::new(),
            ruled_out: HashSet::new(),
            failures: HashMap::new(),
            manifest_asked: HashSet::new(),
            manifest_in_flight: 0,
            have_in_flight: HashSet::new(),
            have_asked: HashMap::new(),
            have_early: HashMap::new(),
            in_flight: FuturesUnordered::new(),
            lookup: None,
            next_lookup: started,
            next_refresh: started,
            first_provider: None,
            unusable_since: None,
            chunks_by_peer: BTreeMap::new(),
            rejected: 0,
            corrupt_peers: HashSet::new(),
            bytes: 0,
            announced: false,
        }
    }

    async fn run(mut self) -> Result<FetchStats, FetchError> {
        let ctx = self.ctx;
        let settings = &ctx.settings;
        let deadline = self.started + settings.fetch_timeout;
        let lookup_deadline = self.started + settings.lookup_timeout;
        loop {
            if self.sched.as_ref().is_some_and(|s| s.is_complete()) {
                return self.finish().await;
            }
            self.dispatch();
            let now = Instant::now();
            if self.providers.is_empty() && now >= lookup_deadline {
                return Err(FetchError::NoProvider {
                    id: self.id,
                    waited: settings.lookup_timeout,
                    progress: self.progress(),
                });
            }
            self.check_usable(now)?;
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(FetchError::Deadline {
                        id: self.id,
                        timeout: settings.fetch_timeout,
                        progress: self.progress(),
                    });
                }
                _ = tokio::time::sleep_until(lookup_deadline), if self.providers.is_empty() => {}
                batch = next_batch(&mut self.lookup), if self.lookup.is_some() => match batch {
                    Some(peers) => self.add_providers(peers),
                    None => {
                        self.lookup = None;
                        let pause = match self.usable() {
                            0 => RETRY_LOOKUP_EVERY,
                            n if n >= MAX_DOWNLOAD_PEERS => REDISCOVER_WHEN_FULL,
                            _ => REDISCOVER_EVERY,
                        };
                        self.next_lookup = Instant::now() + pause;
                    }
                },
                _ = tokio::time::sleep_until(self.next_lookup), if self.lookup.is_none() => {
                    let wanted = MAX_DOWNLOAD_PEERS.saturating_sub(self.usable());
                    match self.ctx.node.find_providers(self.id, wanted).await {
                        Ok(rx) => self.lookup = Some(rx),
                        Err(detail) => return Err(self.internal(detail)),
                    }
                }
                _ = tokio::time::sleep_until(self.next_refresh), if self.sched.is_some() => {
                    self.refresh_holdings();
                    self.next_refresh = Instant::now() + REFRESH_HAVE_EVERY;
                }
                Some(outcome) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.on_outcome(outcome)?;
                }
                // Shutdown of the swarm task surfaces as failed requests and lookups.
            }
        }
    }

    fn internal(&self, detail: String) -> FetchError {
        FetchError::Internal {
            id: self.id,
            detail,
            progress: self.progress(),
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            chunks_done: self.sched.as_ref().map_or(0, |s| s.done_count()),
            chunks_total: self.sched.as_ref().map(|s| s.chunk_count()),
            rejected_chunks: self.rejected,
            providers: self.providers.len(),
        }
    }

    fn usable(&self) -> usize {
        match &self.sched {
            Some(s) => s.usable_peers(),
            None => self.providers.len().saturating_sub(self.ruled_out.len()),
        }
    }

    /// Fails the download when providers were found but none has been usable for
    /// [`GIVE_UP_AFTER`] (time enough for the repeated lookups to find new ones).
    fn check_usable(&mut self, now: Instant) -> Result<(), FetchError> {
        if self.providers.is_empty() || self.usable() > 0 || !self.in_flight.is_empty() {
            self.unusable_since = None;
            return Ok(());
        }
        let since = *self.unusable_since.get_or_insert(now);
        if now.duration_since(since) < GIVE_UP_AFTER {
            return Ok(());
        }
        let corrupt = self.corrupt_peers.len();
        let detail = format!(
            "{} provider(s) found; {corrupt} served corrupt chunks, the others did not answer or hold nothing",
            self.providers.len()
        );
        Err(FetchError::ProvidersFailed {
            id: self.id,
            detail,
            progress: self.progress(),
        })
    }

    fn add_providers(&mut self, peers: Vec<PeerId>) {
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
            if let Some(sched) = &mut self.sched {
                sched.add_peer(peer);
            }
        }
    }

    fn send(&mut self, peer: PeerId, request: Request) {
        let node = self.ctx.node.clone();
        // The swarm enforces the request timeout; this one only guards against a lost answer.
        let guard = self.ctx.settings.request_timeout + Duration::from_secs(2);
        self.in_flight.push(Box::pin(async move {
            let result = match tokio::time::timeout(guard, node.request(peer, request)).await {
                Ok(result) => result,
                Err(_) => Err(format!("peer {peer} did not answer within {guard:?}")),
            };
            Outcome {
                peer,
                request,
                result,
            }
        }));
    }

    /// Sends whatever requests the state allows.
    fn dispatch(&mut self) {
        let Some(sched) = &mut self.sched else {
            let candidates: Vec<PeerId> = self
                .providers
                .iter()
                .filter(|p| !self.ruled_out.contains(*p) && !self.manifest_asked.contains(*p))
                .copied()
                .collect();
            for peer in candidates {
                if self.manifest_in_flight >= MANIFEST_PARALLELISM {
                    break;
                }
                self.manifest_asked.insert(peer);
                self.manifest_in_flight += 1;
                self.send(peer, Request::Manifest(self.id));
            }
            return;
        };
        let id = self.id;
        let picks = sched.next_requests(std::time::Instant::now());
        for (peer, index) in picks {
            self.send(peer, Request::Chunk(id, index as u32));
        }
    }

    /// Adds the peers that asked this node for the object (fellow downloaders), then asks
    /// idle partial providers (and providers never asked) what they hold now.
    fn refresh_holdings(&mut self) {
        let requesters = self.ctx.holdings.take_requesters(&self.id);
        self.add_providers(requesters);
        let Some(sched) = &self.sched else {
            return;
        };
        let mut peers: Vec<PeerId> = sched
            .peers_to_refresh()
            .into_iter()
            .filter(|p| !self.have_in_flight.contains(p))
            .collect();
        // Never asked first, then the longest ago.
        peers.sort_by_key(|p| self.have_asked.get(p).copied());
        let now = Instant::now();
        for peer in peers.into_iter().take(REFRESH_BATCH) {
            self.have_in_flight.insert(peer);
            self.have_asked.insert(peer, now);
            self.send(peer, Request::Have(self.id));
        }
    }

    fn set_have(&mut self, peer: PeerId, have: &Have) {
        match &mut self.sched {
            Some(sched) => sched.set_have(&peer, have),
            None => {
                self.have_early.insert(peer, have.clone());
            }
        }
    }

    /// A peer failed a non-chunk request; rules it out after repeated failures.
    fn peer_failed(&mut self, peer: PeerId, why: &str) {
        tracing::debug!(%peer, id = %self.id, "request failed: {why}");
        match &mut self.sched {
            Some(sched) => {
                sched.count_failure(&peer);
            }
            None => {
                let n = self.failures.entry(peer).or_default();
                *n += 1;
                if *n >= MAX_FAILURES {
                    self.ruled_out.insert(peer);
                } else {
                    // Ask again later.
                    self.manifest_asked.remove(&peer);
                }
            }
        }
    }

    fn rule_out(&mut self, peer: PeerId) {
        self.ruled_out.insert(peer);
        if let Some(sched) = &mut self.sched {
            sched.ban(&peer);
        }
    }

    fn on_outcome(&mut self, outcome: Outcome) -> Result<(), FetchError> {
        let Outcome {
            peer,
            request,
            result,
        } = outcome;
        match request {
            Request::Manifest(_) => {
                self.manifest_in_flight = self.manifest_in_flight.saturating_sub(1);
                match result {
                    Ok(Response::Manifest(encoded, have)) => {
                        self.on_manifest(peer, &encoded, &have)
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
            Request::Chunk(_, index) => self.on_chunk(peer, index as usize, result)?,
        }
        Ok(())
    }

    fn on_manifest(&mut self, peer: PeerId, encoded: &[u8], have: &Have) {
        if self.manifest.is_some() {
            self.set_have(peer, have);
            return;
        }
        let manifest = match Manifest::decode(encoded) {
            Ok(m) if m.id() == self.id => m,
            Ok(m) => {
                tracing::warn!(%peer, id = %self.id, got = %m.id(), "a provider sent the manifest of another object; ignoring that provider");
                self.rule_out(peer);
                return;
            }
            Err(e) => {
                tracing::warn!(%peer, id = %self.id, "a provider sent an unreadable manifest ({e}); ignoring that provider");
                self.rule_out(peer);
                return;
            }
        };
        self.ctx.holdings.begin(&manifest);
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write(&self.ctx.local.to_bytes());
        seed.write(self.id.as_bytes());
        let mut sched = Scheduler::new(
            manifest.chunk_count(),
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
        // Ask everyone else what they hold right away.
        self.next_refresh = Instant::now();
    }

    fn on_chunk(
        &mut self,
        peer: PeerId,
        index: usize,
        result: Result<Response, String>,
    ) -> Result<(), FetchError> {
        let Some(sched) = &mut self.sched else {
            return Ok(());
        };
        match result {
            Ok(Response::Chunk(bytes, have)) => {
                sched.set_have(&peer, &have);
                let len = bytes.len() as u64;
                match self.ctx.holdings.insert_chunk(&self.id, index, bytes) {
                    Ok(inserted) => {
                        sched.completed(&peer, index);
                        if inserted.new {
                            self.bytes += len;
                            *self.chunks_by_peer.entry(peer).or_default() += 1;
                            self.ctx.metrics.chunks_fetched.inc();
                            if !self.announced {
                                self.announced = true;
                                let (node, id) = (self.ctx.node.clone(), self.id);
                                tokio::spawn(async move { node.provide_in_background(id).await });
                            }
                        }
                    }
                    Err(InsertError::Corrupt(e)) => {
                        self.rejected += 1;
                        self.ctx.metrics.chunks_rejected.inc();
                        self.corrupt_peers.insert(peer);
                        sched.rejected(&peer, index);
                        self.ruled_out.insert(peer);
                        tracing::warn!(%peer, id = %self.id, index, "rejected a chunk ({e}); no longer asking that peer");
                    }
                    Err(e @ InsertError::NotStarted(_)) => return Err(self.internal(e.to_string())),
                }
            }
            Ok(Response::Missing(have)) => {
                sched.set_have(&peer, &have);
                sched.missing(&peer, index);
            }
            Ok(Response::Busy(have)) => {
                sched.set_have(&peer, &have);
                sched.busy(&peer, index, std::time::Instant::now() + BUSY_BACKOFF);
            }
            Ok(Response::NotFound) => {
                sched.missing(&peer, index);
                sched.ban(&peer);
                self.ruled_out.insert(peer);
            }
            Ok(_) => {
                sched.failed(&peer, index);
            }
            Err(why) => {
                tracing::debug!(%peer, id = %self.id, index, "chunk request failed: {why}");
                sched.failed(&peer, index);
            }
        }
        Ok(())
    }

    async fn finish(self) -> Result<FetchStats, FetchError> {
        let object = match self.ctx.holdings.complete(&self.id).await {
            Ok(object) => object,
            Err(detail) => return Err(self.internal(detail)),
        };
        if !self.announced {
            self.ctx.node.provide_in_background(self.id).await;
        }
        Ok(FetchStats {
            id: self.id.to_string(),
            size: object.size(),
            bytes: self.bytes,
            duration_ms: millis(self.started.elapsed()),
            provider_lookup_ms: self.first_provider.map(millis),
            chunks: object.manifest().chunk_count(),
            chunks_by_peer: self
                .chunks_by_peer
                .iter()
                .map(|(p, n)| (p.to_string(), *n))
                .collect(),
            rejected_chunks: self.rejected,
            providers: self.providers.len(),
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn next_batch(rx: &mut Option<mpsc::Receiver<Vec<PeerId>>>) -> Option<Vec<PeerId>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
