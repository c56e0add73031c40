//! One swarming download: find providers in the DHT, get and check the manifest and the
//! block hashes, then pull 16 KiB blocks from several providers at once under the
//! [`Scheduler`]'s policy.
//!
//! Every block is verified against the block hashes before it is kept; a provider that
//! sends a bad one is counted, banned for the rest of the download, and its block asked
//! of someone else. When a block arrives, the other requests for it still queued
//! elsewhere (endgame duplicates) are cancelled. The node announces itself as a provider
//! as soon as it has the manifest, and serves each block as soon as it holds it. Provider
//! lookups are repeated while the download runs (backing off while they find nothing
//! new), so peers that join the swarm late are used too; peers that ask this node for the
//! object (fellow downloaders) are asked back, and those the answers to this download's
//! questions name are asked too (peer exchange, see [`providers`]).
//!
//! Bounded everywhere: each request has a timeout, the download has an overall deadline,
//! and a download with no usable provider left gives up after [`GIVE_UP_AFTER`].
//!
//! A download that fails, or is abandoned (its request cancelled), keeps nothing: its
//! partial object leaves the holdings and the node stops announcing itself as a provider
//! of it (`abandon`).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt as _};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tokio::time::Instant;

mod abandon;
mod answers;
mod finish;
mod providers;

use super::codec::{Ask, Request, Response};
use super::have::Have;
use super::holdings::Holdings;
use super::metrics::PeerMetrics;
use super::node::NodeHandle;
pub use super::outcome::{FetchError, FetchStats, Progress};
use super::pipe::Pipes;
use super::scheduler::{Scheduler, MAX_FAILURES};
use crate::content::{Manifest, ObjectId};
use abandon::Abandon;

/// Pause between provider lookups while a download runs, once the swarm has formed.
/// Lookups are the costliest traffic besides blocks: every answer lists every provider
/// and the closest peers (2-5 KB), and each lookup asks several DHT nodes. Fellow
/// downloaders that join late are found anyway, as their requests arrive here
/// (measured at N = 16: one lookup a second cost 7 % of N·F in wire bytes).
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(3);
/// Pause between provider lookups in a download's first [`SWARM_FORMING`]: fellow
/// downloaders announce themselves within milliseconds of starting, and the sooner they
/// are found the sooner their upload is used.
const REDISCOVER_EARLY: Duration = Duration::from_millis(400);
/// How long after its start a download looks for fellow downloaders at the faster pace.
const SWARM_FORMING: Duration = Duration::from_secs(3);
/// Pause between provider lookups while no provider is known.
const RETRY_LOOKUP_EVERY: Duration = Duration::from_millis(250);
/// How often idle, partial providers are asked what they hold now.
const REFRESH_HAVE_EVERY: Duration = Duration::from_millis(200);
/// Holdings requests sent per refresh at most (to the peers asked longest ago), so a
/// download among many partial peers does not flood them with questions.
const REFRESH_BATCH: usize = 4;
/// One peer is asked what it holds at most this often (its answers to block requests, and
/// its own requests, tell the same in between).
const REASK_HOLDINGS_AFTER: Duration = Duration::from_millis(600);
/// Usable providers one download trades with, at most; more are ignored until some
/// drop out. Bounds connections, lookups and questions in large swarms. Not lower: every
/// downloader finds the early announcers first, so with a cap of 20 in a 64-peer flash
/// crowd those few were asked by everyone (thousands of "busy" answers) while the late
/// announcers were asked by almost no one and left their upload idle (measured: upload
/// slots busy a median 24% of the download, a tenth of the peers never; with 64, 70-85%,
/// and the makespan 25-40% shorter).
pub const MAX_DOWNLOAD_PEERS: usize = 64;
/// Pause between provider lookups while a download already has enough providers.
const REDISCOVER_WHEN_FULL: Duration = Duration::from_secs(5);
/// Manifest requests in flight at once.
const MANIFEST_PARALLELISM: usize = 3;
/// A peer is told this node's holdings along with a block request, and a partial peer's
/// block pipe tells them along with a block answer, at most this often: they change with
/// every block, and a bitmap on every request cost about 0.4 % of the bytes moved, on
/// every answer about as much (manifest and holdings questions and their answers always
/// carry them, as do a peer's complete holdings: one byte).
pub const TELL_HOLDINGS_EVERY: Duration = Duration::from_millis(250);
/// Lookups in a row that found no provider new to the download, each doubling the pause
/// before the next, at most: the pause grows to 8 times its pace (3 s becomes 24 s). The
/// DHT nodes closest to an object's key answer every lookup of it: at N = 256 and 32 KiB/s
/// uploads the three busiest spent 97-108 % of their upload on Kademlia answers.
const QUIET_LOOKUPS_BACKOFF: u32 = 3;
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
    /// Block requests in flight to one provider at most.
    pub max_per_peer: usize,
    /// Largest object fetched (`--max-object-size`); a larger manifest fails the download.
    pub max_object_size: u64,
}

/// What a download needs from the node.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// The swarm task (provider lookups, manifest and holdings questions).
    pub node: NodeHandle,
    /// The block pipes (block requests and cancels).
    pub pipes: Pipes,
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
    /// Fellow downloaders the answer named (peer exchange).
    fellows: Vec<PeerId>,
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
            blocks: object.manifest().block_count(),
            chunks_by_peer: BTreeMap::new(),
            rejected_chunks: 0,
            providers: 0,
            first_chunk_ms: None,
            duplicate_chunks: 0,
            busy_answers: 0,
            cancelled: 0,
        });
    }
    let mut abandon = Abandon {
        ctx,
        id,
        armed: true,
    };
    let result = Download::new(ctx, id, started).run().await;
    abandon.armed = result.is_err();
    result
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
    /// When each peer was last told this node's holdings.
    told: HashMap<PeerId, Instant>,
    in_flight: FuturesUnordered<Pending>,
    /// Keys the order in which a batch of providers is taken.
    order: RandomState,
    lookup: Option<mpsc::Receiver<Vec<PeerId>>>,
    /// The lookup under way found a provider new to this download.
    lookup_found_new: bool,
    /// Lookups in a row, providers known, during which none new was added.
    quiet_lookups: u32,
    next_lookup: Instant,
    /// When a holdings question may next ask for fellow downloaders to be named.
    next_fellows_ask: Instant,
    next_refresh: Instant,
    first_provider: Option<Duration>,
    unusable_since: Option<Instant>,
    chunks_by_peer: BTreeMap<PeerId, u64>,
    rejected: u64,
    corrupt_peers: HashSet<PeerId>,
    bytes: u64,
    announced: bool,
    first_chunk: Option<Duration>,
    duplicates: u64,
    busy: u64,
    cancelled: u64,
    /// Requests withdrawn from slow peers (cancels sent to move them).
    withdrawals: u64,
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
            told: HashMap::new(),
            in_flight: FuturesUnordered::new(),
            order: RandomState::new(),
            lookup: None,
            lookup_found_new: false,
            quiet_lookups: 0,
            next_lookup: started,
            next_fellows_ask: started,
            next_refresh: started,
            first_provider: None,
            unusable_since: None,
            chunks_by_peer: BTreeMap::new(),
            rejected: 0,
            corrupt_peers: HashSet::new(),
            bytes: 0,
            announced: false,
            first_chunk: None,
            duplicates: 0,
            busy: 0,
            cancelled: 0,
            withdrawals: 0,
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
                    Some(peers) => {
                        if self.add_providers(peers) > 0 {
                            self.lookup_found_new = true;
                        }
                    }
                    None => {
                        self.lookup = None;
                        let pace = match self.usable() {
                            0 => RETRY_LOOKUP_EVERY,
                            n if n >= MAX_DOWNLOAD_PEERS => REDISCOVER_WHEN_FULL,
                            _ if self.started.elapsed() < SWARM_FORMING => REDISCOVER_EARLY,
                            _ => REDISCOVER_EVERY,
                        };
                        self.next_lookup = Instant::now() + self.lookup_pause(pace);
                    }
                },
                _ = tokio::time::sleep_until(self.next_lookup), if self.lookup.is_none() => {
                    let wanted = MAX_DOWNLOAD_PEERS.saturating_sub(self.usable());
                    match self.ctx.node.find_providers(self.id, wanted).await {
                        Ok(rx) => {
                            self.lookup = Some(rx);
                            self.lookup_found_new = false;
                        }
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
            "{} provider(s) found; {corrupt} served corrupt blocks, the others did not answer or hold nothing",
            self.providers.len()
        );
        Err(FetchError::ProvidersFailed {
            id: self.id,
            detail,
            progress: self.progress(),
        })
    }

    fn send(&mut self, peer: PeerId, request: Request) {
        let now = Instant::now();
        let tell = match request {
            Request::Cancel(..) => false,
            Request::Block(..) => self
                .told
                .get(&peer)
                .is_none_or(|told| now.duration_since(*told) >= TELL_HOLDINGS_EVERY),
            Request::Manifest(_) | Request::Have(_) => true,
        };
        let have = if tell {
            self.told.insert(peer, now);
            self.ctx.holdings.have(&self.id)
        } else {
            None
        };
        let ask = Ask { request, have };
        let timeout = self.ctx.settings.request_timeout;
        let answer = match request {
            // Fire and forget: the queued request, if still there, is answered "cancelled".
            Request::Cancel(..) => return self.ctx.pipes.cancel(peer, ask),
            Request::Block(..) => {
                let pipes = self.ctx.pipes.clone();
                Either::Left(async move { pipes.request(peer, ask).await.map(|r| (r, Vec::new())) })
            }
            Request::Manifest(_) | Request::Have(_) => {
                let node = self.ctx.node.clone();
                let wanted = self.fellows_wanted(request, now);
                Either::Right(async move { node.request(peer, ask, wanted).await })
            }
        };
        self.in_flight.push(Box::pin(async move {
            let (result, fellows) = match tokio::time::timeout(timeout, answer).await {
                Ok(Ok((response, fellows))) => (Ok(response), fellows),
                Ok(Err(why)) => (Err(why), Vec::new()),
                Err(_) => (
                    Err(format!("peer {peer} did not answer within {timeout:?}")),
                    Vec::new(),
                ),
            };
            Outcome {
                peer,
                request,
                result,
                fellows,
            }
        }));
    }

    /// Sends whatever requests the state allows.
    fn dispatch(&mut self) {
        self.absorb_requesters();
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
        let now = std::time::Instant::now();
        let picks = sched.next_requests(now);
        let withdraw = sched.stale_requests(now);
        for (peer, index) in picks {
            self.send(peer, Request::Block(id, index as u32));
        }
        for (peer, index) in withdraw {
            self.withdrawals += 1;
            self.send(peer, Request::Cancel(id, index as u32));
        }
    }

    /// Adds the peers that asked this node for the object (fellow downloaders), then asks
    /// idle partial providers (and providers never asked) what they hold now.
    fn refresh_holdings(&mut self) {
        self.absorb_requesters();
        let Some(sched) = &self.sched else {
            return;
        };
        let mut peers: Vec<PeerId> = sched
            .peers_to_refresh(std::time::Instant::now())
            .into_iter()
            .filter(|p| !self.have_in_flight.contains(p))
            .collect();
        let now = Instant::now();
        peers.retain(|p| {
            self.have_asked
                .get(p)
                .is_none_or(|asked| now.duration_since(*asked) >= REASK_HOLDINGS_AFTER)
        });
        // Never asked first, then the longest ago.
        peers.sort_by_key(|p| self.have_asked.get(p).copied());
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

    /// A peer failed a request that was not for a block; rules it out after repeated failures.
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

    /// Announces this node as a provider, once per download, without waiting.
    fn announce(&mut self) {
        if !self.announced {
            self.announced = true;
            // Queued at once, so that a later withdrawal (see `Abandon`) comes after it.
            self.ctx.node.provide_soon(self.id);
        }
    }
}

async fn next_batch(rx: &mut Option<mpsc::Receiver<Vec<PeerId>>>) -> Option<Vec<PeerId>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
