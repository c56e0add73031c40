//! The swarm task: the one place that owns the libp2p [`Swarm`].
//!
//! It answers manifest and holdings questions from the node's [`Holdings`] (blocks go
//! over the block pipes, [`super::pipe`], outside this task), keeps Kademlia fed with the
//! addresses identify learns, and carries out [`Command`]s from the rest of the node
//! through a cheap, cloneable [`NodeHandle`]: send a chunk-protocol request, look up
//! providers, announce a provider record, report status. Downloads run as their own
//! tasks and talk to the swarm only through the handle.
//! Inbound provider records are admitted here, within the budget of [`RemoteRecords`];
//! the chunk protocol's questions and answers are handled in [`questions`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::kad::{self, GetProvidersOk, QueryId, QueryResult, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::OutboundRequestId;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{identify, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot, watch};

mod questions;

use super::behaviour::{Behaviour, BehaviourEvent, KAD_PROTOCOL};
use super::handle::{AnswerWaiter, Command, COMMAND_QUEUE};
pub use super::handle::{NetStatus, NodeHandle, ProvideError};
use super::holdings::Holdings;
use super::metrics::{PeerMetrics, ROUTE_CHUNK, ROUTE_HAVE};
use super::records::RemoteRecords;
use crate::content::ObjectId;

/// Who waits for the outcome of an announcement.
type AnnounceWaiter = oneshot::Sender<Result<(), ProvideError>>;

/// The swarm and everything only the swarm task touches.
pub struct Node {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    metrics: Arc<PeerMetrics>,
    holdings: Arc<Holdings>,
    pending: HashMap<OutboundRequestId, AnswerWaiter>,
    /// Provider lookups in progress: where results go, and how many providers to dial.
    lookups: HashMap<QueryId, (mpsc::Sender<Vec<PeerId>>, usize)>,
    /// Announcements in progress: the object, and who waits for the outcome.
    announcements: HashMap<QueryId, (ObjectId, Vec<AnnounceWaiter>)>,
    /// Provider records stored for other peers.
    remote_records: RemoteRecords,
    /// The `--bootstrap` peers, dialed again while this node has no connection at all.
    bootstrap_peers: Vec<Multiaddr>,
}

/// How often a node with no connection dials its bootstrap peers again: a dial that
/// failed (a listener's backlog full when a thousand peers start at once, a bootstrap
/// peer restarting) must not leave the node outside the swarm for good.
const REDIAL_BOOTSTRAP_EVERY: Duration = Duration::from_secs(2);

impl Node {
    /// Wraps `swarm`; returns the node and a handle to it.
    pub fn new(
        swarm: Swarm<Behaviour>,
        holdings: Arc<Holdings>,
        metrics: Arc<PeerMetrics>,
    ) -> (Node, NodeHandle) {
        let (tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let node = Node {
            swarm,
            commands,
            holdings,
            metrics,
            pending: HashMap::new(),
            lookups: HashMap::new(),
            announcements: HashMap::new(),
            remote_records: RemoteRecords::default(),
            bootstrap_peers: Vec::new(),
        };
        (node, NodeHandle { commands: tx })
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Starts listening on `addr` and waits (at most `wait`) for the first listen address,
    /// returned with `/p2p/<peer id>` appended.
    pub async fn listen(&mut self, addr: &Multiaddr, wait: Duration) -> anyhow::Result<Multiaddr> {
        self.swarm.listen_on(addr.clone()).map_err(|e| {
            anyhow::anyhow!("could not listen on --listen {addr}: {e}; pass a TCP multiaddr such as /ip4/127.0.0.1/tcp/0")
        })?;
        let found = tokio::time::timeout(wait, async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => {
                        self.on_new_listen_addr(&address);
                        return Ok(address);
                    }
                    SwarmEvent::ListenerError { error, .. } => {
                        return Err(anyhow::anyhow!("the listener on --listen {addr} failed: {error}"));
                    }
                    SwarmEvent::ListenerClosed { reason, .. } => {
                        return Err(anyhow::anyhow!(
                            "the listener on --listen {addr} closed: {reason:?}; is the port taken? pass another, or port 0"
                        ));
                    }
                    other => self.on_event(other),
                }
            }
        })
        .await;
        let address = found.map_err(|_| {
            anyhow::anyhow!("no listen address for --listen {addr} after {wait:?}")
        })??;
        Ok(address.with(Protocol::P2p(self.peer_id())))
    }

    /// Dials the bootstrap peers and starts a Kademlia bootstrap. A multiaddr ending in
    /// `/p2p/<id>` also seeds the routing table.
    pub fn bootstrap(&mut self, peers: &[Multiaddr]) -> anyhow::Result<()> {
        self.bootstrap_peers = peers.to_vec();
        let mut seeded = false;
        for full in peers {
            let mut addr = full.clone();
            if let Some(Protocol::P2p(peer)) = addr.pop() {
                if peer == self.peer_id() {
                    continue;
                }
                self.swarm.behaviour_mut().kad.add_address(&peer, addr);
                seeded = true;
            }
            self.swarm.dial(full.clone()).map_err(|e| {
                anyhow::anyhow!("could not dial --bootstrap {full}: {e}; pass the multiaddr another peer printed in its ready line, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo…")
            })?;
        }
        if seeded {
            if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
                tracing::debug!("Kademlia bootstrap did not start: {e}");
            }
        }
        Ok(())
    }

    /// Runs until `stop` turns true or every handle is dropped.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        // The first look comes one period after the start, not at once: the first dials
        // are still under way then, and dialing again started a second Kademlia bootstrap
        // at every peer.
        let mut redial = tokio::time::interval_at(
            tokio::time::Instant::now() + REDIAL_BOOTSTRAP_EVERY,
            REDIAL_BOOTSTRAP_EVERY,
        );
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                _ = redial.tick(), if !self.bootstrap_peers.is_empty() => self.redial_if_alone(),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
        let requests = &self.metrics.node.requests;
        tracing::debug!(
            peer_id = %self.peer_id(),
            dht_served = self.metrics.dht_requests_served.get(),
            dht_queries = self.metrics.dht_queries.get(),
            chunks_served = requests.get(ROUTE_CHUNK, 200),
            busy_answers = requests.get(ROUTE_CHUNK, 503),
            have_answers = requests.get(ROUTE_HAVE, 200) + requests.get(ROUTE_HAVE, 404),
            "network task stopped"
        );
    }

    /// Dials the bootstrap peers again if this node has no connection at all.
    fn redial_if_alone(&mut self) {
        if self.swarm.connected_peers().next().is_some() {
            return;
        }
        let peers = self.bootstrap_peers.clone();
        tracing::debug!(
            count = peers.len(),
            "no connection: dialing the bootstrap peers again"
        );
        // Dial errors were reported by the first attempt; a failure here is tried again later.
        let _ = self.bootstrap(&peers);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .chunks
                    .send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::FindProviders { id, dial, reply } => {
                let key = RecordKey::new(id.as_bytes());
                let query = self.swarm.behaviour_mut().kad.get_providers(key);
                self.metrics.dht_queries.inc();
                self.lookups.insert(query, (reply, dial));
            }
            Command::Provide { id, reply } => {
                let key = RecordKey::new(id.as_bytes());
                match self.swarm.behaviour_mut().kad.start_providing(key) {
                    Ok(query) => {
                        self.metrics.dht_queries.inc();
                        if let Some(reply) = reply {
                            self.announcements
                                .entry(query)
                                .or_insert_with(|| (id, Vec::new()))
                                .1
                                .push(reply);
                        }
                    }
                    Err(e) => {
                        let error = ProvideError::Local {
                            id,
                            reason: e.to_string(),
                        };
                        tracing::warn!("{error}");
                        if let Some(reply) = reply {
                            let _ = reply.send(Err(error));
                        }
                    }
                }
            }
            Command::StopProviding { id } => {
                let key = RecordKey::new(id.as_bytes());
                self.swarm.behaviour_mut().kad.stop_providing(&key);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
        }
    }

    fn status(&mut self) -> NetStatus {
        let me = self.peer_id();
        let routing_table_size = self
            .swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .map(|bucket| bucket.num_entries())
            .sum();
        NetStatus {
            peer_id: me.to_string(),
            listen_addrs: self
                .swarm
                .listeners()
                .map(|a| a.clone().with(Protocol::P2p(me)).to_string())
                .collect(),
            connected_peers: self
                .swarm
                .connected_peers()
                .map(|p| p.to_string())
                .collect(),
            routing_table_size,
        }
    }

    fn on_new_listen_addr(&mut self, address: &Multiaddr) {
        tracing::debug!(%address, "listening");
        // Provider records carry the provider's external addresses; on loopback and LAN
        // runs the listen address is the address others reach, so it is declared as one.
        self.swarm.add_external_address(address.clone());
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Chunks(event)) => self.on_chunks(event),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let behaviour = self.swarm.behaviour_mut();
                behaviour
                    .addresses
                    .learn_listen_addrs(peer_id, &info.listen_addrs);
                if info.protocols.contains(&KAD_PROTOCOL) {
                    for addr in info.listen_addrs {
                        behaviour.kad.add_address(&peer_id, addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(_)) => {}
            SwarmEvent::NewListenAddr { address, .. } => self.on_new_listen_addr(&address),
            SwarmEvent::ConnectionEstablished { .. } => {
                self.metrics.node.connections_total.inc();
                self.metrics.node.connections_open.add(1);
            }
            SwarmEvent::ConnectionClosed { .. } => {
                self.metrics.node.connections_open.add(-1);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, "could not connect: {error}");
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                self.metrics.connections_refused.inc();
                tracing::debug!(%send_back_addr, "refused an incoming connection: {cause}");
            }
            _ => {}
        }
    }

    /// Admits an inbound provider record within the remote budget.
    fn on_provider_record(&mut self, record: kad::ProviderRecord) {
        let provider = record.provider;
        let store = self.swarm.behaviour_mut().kad.store_mut().inner_mut();
        let before = self.remote_records.key_count();
        match self.remote_records.admit(store, record) {
            Ok(()) => {
                let added = self.remote_records.key_count() - before;
                self.metrics.remote_provider_keys.add(added as i64);
            }
            Err(why) => {
                self.metrics.provider_records_refused.inc();
                tracing::debug!(%provider, "refused a provider record: {why}");
            }
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        if let kad::Event::InboundRequest { request } = &event {
            self.metrics.dht_requests_served.inc();
            if let kad::InboundRequest::AddProvider {
                record: Some(record),
            } = request
            {
                self.on_provider_record(record.clone());
            }
            return;
        }
        let kad::Event::OutboundQueryProgressed {
            id,
            result,
            step,
            stats,
        } = event
        else {
            return;
        };
        match result {
            QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { providers, .. })) => {
                let me = self.peer_id();
                let providers: Vec<PeerId> = providers.into_iter().filter(|p| *p != me).collect();
                tracing::debug!(
                    found = providers.len(),
                    requests = stats.num_requests(),
                    "a provider lookup found providers"
                );
                let Some((reply, dial)) = self.lookups.get_mut(&id) else {
                    return;
                };
                for peer in &providers {
                    if *dial == 0 {
                        break;
                    }
                    if self.swarm.is_connected(peer) {
                        continue;
                    }
                    *dial -= 1;
                    // Connect while the lookup still knows the provider's addresses.
                    let opts = DialOpts::peer_id(*peer)
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    let _ = self.swarm.dial(opts);
                }
                if providers.is_empty() {
                    return;
                }
                if reply.try_send(providers).is_err() {
                    tracing::debug!("a provider lookup's receiver is full or gone");
                }
                // A DHT node that holds the key lists every provider it knows: one answer
                // is enough, and asking the other closest nodes only costs the swarm
                // messages (dozens per lookup in a large swarm). The download looks again
                // later for providers that join.
                if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                    query.finish();
                }
                if step.last {
                    self.lookups.remove(&id);
                }
            }
            QueryResult::GetProviders(result) => {
                if let Err(e) = result {
                    tracing::debug!("provider lookup ended: {e}");
                }
                if step.last {
                    self.lookups.remove(&id);
                }
            }
            QueryResult::StartProviding(result) => {
                tracing::debug!(
                    ok = result.is_ok(),
                    took = ?stats.duration(),
                    successes = stats.num_successes(),
                    "an announcement ended"
                );
                if let Some((object, waiters)) = self.announcements.remove(&id) {
                    let outcome = result.map(|_| ()).map_err(|e| ProvideError::Network {
                        id: object,
                        reason: e.to_string(),
                    });
                    for waiter in waiters {
                        let _ = waiter.send(outcome.clone());
                    }
                }
            }
            QueryResult::Bootstrap(result) => {
                self.metrics
                    .dht_bootstrap_requests
                    .add(u64::from(stats.num_requests()));
                if let Err(e) = result {
                    tracing::debug!("Kademlia bootstrap: {e}");
                }
                if !step.last {
                    self.cut_bucket_refresh(id);
                }
            }
            _ => {}
        }
    }

    /// Ends a Kademlia bootstrap after its lookup of this node's own id: libp2p-kad
    /// goes on to refresh every bucket farther than the nearest neighbour's (about ten
    /// more lookups at N = 1,000, each asking some 20-30 peers, most over a new TCP +
    /// Noise connection), and starts a bootstrap by itself whenever the routing table held
    /// fewer than 20 peers at an insertion (at every start). The own-id lookup fills the
    /// neighbourhood, which is what provider records need; the far buckets fill with the
    /// peers that look this node up. Each refresh step is finished before it sends a
    /// request (the query is polled again only after this event is handled).
    fn cut_bucket_refresh(&mut self, id: QueryId) {
        if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
            query.finish();
        }
    }
}
