//! Limits on the data plane's libp2p connections (`--max-peer-connections`,
//! `--max-connections-per-peer`, `--max-pending-connections`, `--max-memory`), and the
//! two libp2p behaviours that enforce them.
//!
//! [`connection_limits`] refuses a connection beyond a count: established connections in
//! all, established connections to one peer, and incoming connections still in their
//! Noise and Yamux handshakes (a flood of sockets that never finish the handshake costs
//! at most that many, each for at most the transport's handshake timeout).
//! [`MemoryLimit`] refuses every new connection, incoming or outgoing, while this
//! process's resident memory is above `--max-memory` (an absolute number of bytes, not a
//! share of the machine's memory: a thousand peers may share one machine; the peers of
//! one host process share the limit and one memory probe, see [`super::memory`]). Both
//! only refuse new connections; the ones open stay. Yamux streams per connection are
//! bounded by the transport (see `transport`).
//!
//! The defaults leave a swarm of 1,000 peers on loopback alone: a peer trades with up to
//! 64 providers per download ([`super::fetch::MAX_DOWNLOAD_PEERS`]) but, as the origin of
//! a flash crowd, is asked by every other peer; two peers that dial each other at once
//! hold two connections.

use libp2p::connection_limits;

use super::memory::MemoryLimit;

use crate::units::ByteSize;

/// Default of `--max-peer-connections`: every other peer of a 1,000-peer swarm connected
/// twice (simultaneous dials), plus a quarter for margin.
pub const DEFAULT_MAX_PEER_CONNECTIONS: u32 = 2_500;
/// Default of `--max-connections-per-peer`: two from simultaneous dials, and room for
/// a redial while a closing connection lingers.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Default of `--max-pending-connections`: a flash crowd of 1,000 peers bootstrapping
/// through one seed at the same moment is not refused.
pub const DEFAULT_MAX_PENDING_CONNECTIONS: u32 = 1_024;
/// Default of `--max-memory`: well above what a peer needs with a few objects of the
/// default `--max-object-size` (1 GiB, held in memory); the limit is a backstop
/// against runaway growth, not a budget.
pub const DEFAULT_MAX_MEMORY: ByteSize = ByteSize(4 << 30);

/// Command-line options that bound the data plane's connections.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ConnectionArgs {
    /// Established libp2p connections, incoming and outgoing, this peer keeps at most;
    /// more are refused (the admin plane's --max-connections is a separate, HTTP limit).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PEER_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_peer_connections: u32,
    /// Established libp2p connections to any one peer at most.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_PEER, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_peer: u32,
    /// Incoming libp2p connections still in their handshake at most; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pending_connections: u32,
    /// Refuse new libp2p connections while this process's resident memory is above this
    /// (e.g. "512MiB"); open connections stay.
    #[arg(long, value_name = "SIZE", default_value_t = DEFAULT_MAX_MEMORY)]
    pub max_memory: ByteSize,
}

impl Default for ConnectionArgs {
    /// The same values as the command line's defaults.
    fn default() -> Self {
        ConnectionArgs {
            max_peer_connections: DEFAULT_MAX_PEER_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            max_pending_connections: DEFAULT_MAX_PENDING_CONNECTIONS,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

impl ConnectionArgs {
    /// The behaviour that enforces the connection counts.
    pub fn count_limits(&self) -> connection_limits::Behaviour {
        connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established(Some(self.max_peer_connections))
                .with_max_established_per_peer(Some(self.max_connections_per_peer))
                .with_max_pending_incoming(Some(self.max_pending_connections)),
        )
    }

    /// The behaviour that enforces `--max-memory`.
    pub fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::new(self.max_memory.bytes())
    }
}
