//! The peer's data-plane transport: TCP, shaped, then Noise and Yamux.
//!
//! Every raw TCP connection, inbound or outbound, is wrapped by the node's [`Shaper`]
//! before the Noise handshake, so the upload and download caps, the added latency and the
//! byte counters all see wire bytes (encryption and multiplexing overhead included), and
//! one node-wide token bucket is shared by all connections. Each connection's streams
//! count what they send by protocol ([`super::wire_bytes`]). A connection the peer dials
//! gets the latencies of the region it dials (`--latency-to`) in both directions.
//! libp2p speaks `futures-io`; the shaped Tokio stream is bridged with `tokio-util`'s
//! compat layer.

use std::sync::Arc;
use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, Transport as _};
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{noise, tcp, yamux, PeerId};
use tokio_util::compat::TokioAsyncReadCompatExt as _;

use super::wire_bytes::{CountingMuxer, ProtocolBytes};
use crate::shaping::Shaper;

/// Longest a connection may take to finish the Noise and Yamux handshakes.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Most Yamux streams one connection may have open: the per-connection bound that
/// `--max-peer-connections` multiplies. Above the question protocol's own 128 streams, to
/// leave room for the block pipes, Kademlia and identify.
const MAX_STREAMS: usize = 256;

/// Builds the shaped TCP + Noise + Yamux transport for `keypair`.
pub fn build(
    keypair: &Keypair,
    shaper: Shaper,
    protocol_bytes: Arc<ProtocolBytes>,
) -> anyhow::Result<Boxed<(PeerId, StreamMuxerBox)>> {
    let noise = noise::Config::new(keypair).map_err(|e| {
        anyhow::anyhow!("could not set up Noise encryption for the peer's identity key: {e}")
    })?;
    let mut muxer = yamux::Config::default();
    muxer.set_max_num_streams(MAX_STREAMS);
    let transport = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .map(move |stream, endpoint| {
            // A connection this peer opened gets its region's latencies both ways.
            let remote = stream.0.peer_addr().ok().map(|a| a.ip());
            match remote.filter(|_| endpoint.is_dialer()) {
                Some(ip) => shaper.wrap_outbound(stream.0, ip),
                None => shaper.wrap(stream.0),
            }
            .compat()
        })
        .upgrade(Version::V1Lazy)
        .authenticate(noise)
        .multiplex(muxer)
        .timeout(HANDSHAKE_TIMEOUT)
        .map(move |(peer, muxer), _| {
            let counted = CountingMuxer::new(muxer, Arc::clone(&protocol_bytes));
            (peer, StreamMuxerBox::new(counted))
        })
        .boxed();
    Ok(transport)
}
