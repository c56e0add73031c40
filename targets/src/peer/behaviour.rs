//! The peer's libp2p behaviour: connection limits (counts and memory, see
//! [`super::connections`]), Kademlia for provider records, identify so peers learn each
//! other's listen addresses (kept by [`super::address_book`]), and the chunk protocol on
//! request-response. Also builds the
//! [`Swarm`] around it, with settings sized for a small memory footprint (many peers run
//! on one machine). Kademlia stores no inbound record by itself: the swarm task admits
//! provider records within a budget ([`super::records`]), and its store lists providers
//! in random order ([`super::provider_store`]) so lookups find the whole swarm.

use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, identify, kad, StreamProtocol, Swarm};

use super::address_book::AddressBook;
use super::codec::{ChunkCodec, PROTOCOL};
use super::connections::ConnectionArgs;
use super::memory::MemoryLimit;
use super::provider_store::ShuffledStore;
use super::records::STORE_KEYS;
use super::transport;
use super::wire_bytes::ProtocolBytes;
use crate::shaping::Shaper;

/// Kademlia protocol name: a private DHT, separate from the public IPFS one.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/versus/kad/1.0.0");
/// Identify protocol version string.
pub const IDENTIFY_VERSION: &str = "/versus/1.0.0";
/// Question streams (manifest, holdings) one connection may have open at once.
const MAX_CONCURRENT_STREAMS: usize = 128;
/// Provider records kept per key. A lookup's answer lists them all, so this stays well
/// inside Kademlia's 16 KiB message limit (a record is about 60 bytes on loopback).
const MAX_PROVIDERS_PER_KEY: usize = 128;
/// Longest a Kademlia query (provider lookup or announcement) may run.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The behaviours of one peer.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Refuses connections beyond the counts of [`ConnectionArgs`].
    pub limits: connection_limits::Behaviour,
    /// Refuses new connections while the process's memory is above `--max-memory`
    /// (one probe per process, shared by the peers it hosts).
    pub memory: MemoryLimit,
    /// The DHT: provider records and peer routing.
    pub kad: kad::Behaviour<ShuffledStore>,
    /// Exchange of listen addresses and supported protocols.
    pub identify: identify::Behaviour,
    /// Manifest and holdings questions.
    pub chunks: request_response::Behaviour<ChunkCodec>,
    /// Streams for the block pipes.
    pub streams: libp2p_stream::Behaviour,
    /// Peers' listen addresses, from identify and peer exchange, offered when dialing.
    pub addresses: AddressBook,
}

/// Settings for [`build_swarm`].
#[derive(Debug, Clone)]
pub struct SwarmSettings {
    /// Timeout of one chunk-protocol request.
    pub request_timeout: Duration,
    /// Idle connections are closed after this long.
    pub idle_timeout: Duration,
    /// Limits on connections.
    pub connections: ConnectionArgs,
    /// Where the streams count the bytes they send, by protocol.
    pub protocol_bytes: Arc<ProtocolBytes>,
}

/// Builds the swarm: shaped transport plus [`Behaviour`].
pub fn build_swarm(
    keypair: &Keypair,
    shaper: Shaper,
    settings: &SwarmSettings,
) -> anyhow::Result<Swarm<Behaviour>> {
    let peer_id = keypair.public().to_peer_id();
    let transport = transport::build(keypair, shaper, Arc::clone(&settings.protocol_bytes))?;

    let mut kad_config = kad::Config::new(KAD_PROTOCOL);
    kad_config
        .set_query_timeout(QUERY_TIMEOUT)
        // Provider records live as long as a run; no periodic republication traffic.
        .set_provider_publication_interval(None)
        .set_replication_interval(None)
        .set_publication_interval(None)
        // Inbound records come to the swarm task, which admits them within a budget.
        .set_record_filtering(kad::StoreInserts::FilterBoth);
    let store = ShuffledStore::new(MemoryStore::with_config(
        peer_id,
        MemoryStoreConfig {
            max_records: 64,
            max_value_bytes: 1024,
            // Every downloader of a flash crowd announces itself: keep them all, so that
            // lookups spread downloaders over the whole swarm (a full list ignores newcomers).
            max_providers_per_key: MAX_PROVIDERS_PER_KEY,
            // This node's own keys and the remote budget, apart (see `records`).
            max_provided_keys: STORE_KEYS,
        },
    ));
    let mut kad = kad::Behaviour::with_config(peer_id, store, kad_config);
    // Loopback and LAN addresses are never "confirmed" by anyone: serve the DHT anyway.
    kad.set_mode(Some(kad::Mode::Server));

    let identify = identify::Behaviour::new(
        identify::Config::new(IDENTIFY_VERSION.to_string(), keypair.public())
            .with_agent_version(format!("versus-peer/{}", env!("CARGO_PKG_VERSION")))
            .with_cache_size(256),
    );

    let chunks = request_response::Behaviour::with_codec(
        ChunkCodec,
        [(PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(settings.request_timeout)
            .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS),
    );

    let config = libp2p::swarm::Config::with_tokio_executor()
        .with_idle_connection_timeout(settings.idle_timeout);
    Ok(Swarm::new(
        transport,
        Behaviour {
            limits: settings.connections.count_limits(),
            memory: settings.connections.memory_limit(),
            kad,
            identify,
            chunks,
            streams: libp2p_stream::Behaviour::new(),
            addresses: AddressBook::default(),
        },
        peer_id,
        config,
    ))
}
