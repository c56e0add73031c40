//! Hostile libp2p clients for the hardening tests, all real libp2p on loopback: a
//! Kademlia client that floods a peer with provider records, and bare connections (TCP +
//! Noise + Yamux, no behaviour) that open streams and leave them hanging. Every loop is
//! bounded in count and time.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures::{AsyncWrite, StreamExt as _};
use libp2p::core::muxing::{StreamMuxerBox, StreamMuxerExt as _};
use libp2p::core::transport::{DialOpts, PortUse, Transport as _};
use libp2p::core::upgrade::Version;
use libp2p::core::Endpoint;
use libp2p::identity::Keypair;
use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::kad::{self, QueryResult, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};

/// The peers' Kademlia protocol (`peer::behaviour::KAD_PROTOCOL`).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/versus/kad/1.0.0");

/// Splits `/ip4/…/tcp/…/p2p/<id>` into the address and the id.
pub fn split(addr: &Multiaddr) -> (Multiaddr, PeerId) {
    let mut addr = addr.clone();
    match addr.pop() {
        Some(Protocol::P2p(id)) => (addr, id),
        other => panic!("{addr} does not end in /p2p/<id>: {other:?}"),
    }
}

/// A Kademlia-only client with a fresh identity that may announce any number of keys.
pub fn kad_client() -> Swarm<kad::Behaviour<MemoryStore>> {
    let builder = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport");
    builder
        .with_behaviour(|key| {
            let id = key.public().to_peer_id();
            let store = MemoryStore::with_config(
                id,
                MemoryStoreConfig {
                    max_provided_keys: 1 << 20,
                    ..MemoryStoreConfig::default()
                },
            );
            let mut config = kad::Config::new(KAD_PROTOCOL);
            config.set_query_timeout(Duration::from_secs(20));
            kad::Behaviour::with_config(id, store, config)
        })
        .expect("a Kademlia behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Announces `keys` distinct random keys to the peer at `target` (ending in
/// `/p2p/<id>`), `parallel` announcements at a time, for at most `limit`. Returns the
/// announcements that finished (successfully or not).
pub async fn announce_keys(
    target: &Multiaddr,
    keys: usize,
    parallel: usize,
    limit: Duration,
) -> usize {
    let mut swarm = kad_client();
    let (addr, id) = split(target);
    swarm.behaviour_mut().add_address(&id, addr);
    let salt: [u8; 16] = rand_bytes();
    let (mut started, mut finished) = (0, 0);
    let run = async {
        while finished < keys {
            while started < keys && started - finished < parallel {
                let mut key = salt.to_vec();
                key.extend_from_slice(&(started as u64).to_be_bytes());
                let key = RecordKey::new(blake3::hash(&key).as_bytes());
                swarm
                    .behaviour_mut()
                    .start_providing(key)
                    .expect("the hostile store has room");
                started += 1;
            }
            if let SwarmEvent::Behaviour(kad::Event::OutboundQueryProgressed {
                result: QueryResult::StartProviding(_),
                ..
            }) = swarm.select_next_some().await
            {
                finished += 1;
            }
        }
    };
    let _ = tokio::time::timeout(limit, run).await;
    finished
}

/// 16 bytes that differ from one call to the next.
fn rand_bytes() -> [u8; 16] {
    let key = Keypair::generate_ed25519().public().to_peer_id().to_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(&key).as_bytes()[..16]);
    out
}

/// A bare libp2p connection (TCP + Noise + Yamux) with a fresh identity to `target`.
pub async fn bare_connection(target: &Multiaddr) -> Result<StreamMuxerBox, String> {
    let keypair = Keypair::generate_ed25519();
    let noise = noise::Config::new(&keypair).map_err(|e| e.to_string())?;
    let mut transport = tcp::tokio::Transport::new(tcp::Config::default())
        .upgrade(Version::V1)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .map(|(_, muxer), _| StreamMuxerBox::new(muxer))
        .boxed();
    let (addr, _) = split(target);
    let opts = DialOpts {
        role: Endpoint::Dialer,
        port_use: PortUse::New,
    };
    let dial = transport.dial(addr, opts).map_err(|e| e.to_string())?;
    dial.await.map_err(|e| e.to_string())
}

/// Opens up to `streams` streams on `muxer`, writes the start of a protocol negotiation
/// on each and never finishes it, and keeps the connection alive for `hold`.
pub async fn hang_streams(mut muxer: StreamMuxerBox, streams: usize, hold: Duration) {
    const HEADER: &[u8] = b"\x13/multistream/1.0.0\n";
    let mut open: Vec<(libp2p::core::muxing::SubstreamBox, bool)> = Vec::new();
    let drive = poll_fn(|cx| {
        // Bounded: each pass opens at most `streams` streams and then only waits.
        loop {
            match muxer.poll_unpin(cx) {
                Poll::Ready(Ok(_)) => continue,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        // The peer's own streams (identify) are dropped.
        while let Poll::Ready(inbound) = muxer.poll_inbound_unpin(cx) {
            if inbound.is_err() {
                return Poll::Ready(());
            }
        }
        while open.len() < streams {
            match muxer.poll_outbound_unpin(cx) {
                Poll::Ready(Ok(stream)) => open.push((stream, false)),
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        for (stream, written) in open.iter_mut().filter(|(_, w)| !*w) {
            if let Poll::Ready(result) = Pin::new(&mut *stream).poll_write(cx, HEADER) {
                *written = true;
                let _ = result;
            }
        }
        Poll::Pending
    });
    let _ = tokio::time::timeout(hold, drive).await;
}
