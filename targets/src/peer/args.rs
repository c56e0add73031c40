//! Command-line options of `versus peer`, and the misbehaviours a peer can be told to
//! show for fault scenarios and tests.

use std::net::SocketAddr;
use std::time::Duration;

use libp2p::Multiaddr;

use crate::shaping::{LatencyRoute, NetProfile};
use crate::units::{ByteRate, ByteSize, HumanDuration};

/// A deliberate fault, for tests and fault scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Misbehave {
    /// Serve blocks with one flipped byte each (manifests stay correct, so downloaders find out
    /// only by verifying).
    Corrupt,
    /// Accept block requests and never answer them.
    Stall,
    /// A free-rider: download, but answer every block request "busy", so requesters ask
    /// someone else (a peer class with upload 0).
    FreeRide,
}

/// Command-line options of `versus peer`.
#[derive(clap::Args, Debug, Clone)]
pub struct PeerArgs {
    /// Multiaddr of the data plane (libp2p over TCP); port 0 picks a free port.
    #[arg(long, value_name = "MULTIADDR", default_value = "/ip4/127.0.0.1/tcp/0")]
    pub listen: Multiaddr,
    /// Address of the admin plane (HTTP: /fetch, /objects, /status, /metrics), never shaped.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub admin: SocketAddr,
    /// A peer to join the swarm through, with its id: /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo…
    /// (repeat for several).
    #[arg(long, value_name = "MULTIADDR")]
    pub bootstrap: Vec<Multiaddr>,
    /// Cap on the bytes this peer sends, over all its connections (e.g. "10MiB/s").
    #[arg(long, value_name = "RATE")]
    pub upload: Option<ByteRate>,
    /// Cap on the bytes this peer receives, over all its connections (e.g. "10MiB/s").
    #[arg(long, value_name = "RATE")]
    pub download: Option<ByteRate>,
    /// One-way latency added to everything this peer sends (e.g. "25ms").
    #[arg(long, value_name = "DUR")]
    pub latency: Option<HumanDuration>,
    /// Jitter on that latency: each piece sent is delayed by the latency ± up to this
    /// much (uniform), never overtaking the one before it (e.g. "5ms").
    #[arg(long, value_name = "DUR")]
    pub jitter: Option<HumanDuration>,
    /// Regions: on a connection this peer opens to an address in NET, OUT is added to
    /// what it sends and BACK (default OUT) to what it receives, in place of --latency
    /// (the opener applies both directions; repeat for several, the most specific NET
    /// wins), e.g. "127.10.1.0/24=40ms".
    #[arg(long = "latency-to", value_name = "NET=OUT[,BACK]")]
    pub latency_to: Vec<LatencyRoute>,
    /// Misbehave on purpose when serving blocks: "corrupt" or "stall".
    #[arg(long, value_name = "KIND")]
    pub misbehave: Option<Misbehave>,
    /// Give up on a fetch that has not completed after this long (answered 504).
    #[arg(long, value_name = "DUR", default_value = "120s")]
    pub fetch_timeout: HumanDuration,
    /// Give up on a fetch when no provider is found within this long (answered 404).
    #[arg(long, value_name = "DUR", default_value = "15s")]
    pub lookup_timeout: HumanDuration,
    /// Give up on one block-protocol request after this long and ask elsewhere.
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub request_timeout: HumanDuration,
    /// Block requests (16 KiB each) in flight to one provider at most, per download.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_requests_per_peer: u16,
    /// Blocks this peer sends at once, at most (upload slots); more requests queue
    /// briefly, then get "busy" so the requester asks another peer. Default: one slot per
    /// 2 MiB/s of --upload (2 to 8), 4 without a cap.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub upload_slots: Option<u16>,
    /// Close a connection that has carried nothing for this long.
    #[arg(long, value_name = "DUR", default_value = "60s")]
    pub idle_timeout: HumanDuration,
    /// Largest object POST /objects accepts; bigger ones get 413 (e.g. "64MiB").
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub max_object_size: ByteSize,
    /// Limits on the data plane's libp2p connections (count, per peer, handshakes, memory).
    #[command(flatten)]
    pub connections: super::connections::ConnectionArgs,
    /// Request limits of the admin plane (body timeout, upload bytes in flight, connections).
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
    /// Exposure beyond loopback (--allow-remote, --token-file).
    #[command(flatten)]
    pub exposure: crate::exposure::ExposureArgs,
}

impl Default for PeerArgs {
    /// The same values as the command line's defaults.
    fn default() -> Self {
        PeerArgs {
            listen: default_listen(),
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            bootstrap: Vec::new(),
            upload: None,
            download: None,
            latency: None,
            jitter: None,
            latency_to: Vec::new(),
            misbehave: None,
            fetch_timeout: HumanDuration(Duration::from_secs(120)),
            lookup_timeout: HumanDuration(Duration::from_secs(15)),
            request_timeout: HumanDuration(Duration::from_secs(30)),
            max_requests_per_peer: 8,
            upload_slots: None,
            idle_timeout: HumanDuration(Duration::from_secs(60)),
            max_object_size: ByteSize(1 << 30),
            connections: super::connections::ConnectionArgs::default(),
            limits: crate::limits::LimitArgs::default(),
            exposure: crate::exposure::ExposureArgs::default(),
        }
    }
}

fn default_listen() -> Multiaddr {
    let mut addr = Multiaddr::empty();
    addr.push(libp2p::multiaddr::Protocol::Ip4([127, 0, 0, 1].into()));
    addr.push(libp2p::multiaddr::Protocol::Tcp(0));
    addr
}

impl PeerArgs {
    /// The network profile these options describe.
    pub fn profile(&self) -> NetProfile {
        NetProfile {
            upload: self.upload,
            download: self.download,
            latency: self.latency.map(|d| d.0).unwrap_or_default(),
            jitter: self.jitter.map(|d| d.0).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        peer: PeerArgs,
    }

    #[test]
    fn defaults_match_the_command_line() {
        let cli = Cli::try_parse_from(["peer"]).unwrap();
        let d = PeerArgs::default();
        assert_eq!(cli.peer.listen, d.listen);
        assert_eq!(cli.peer.admin, d.admin);
        assert_eq!(cli.peer.fetch_timeout, d.fetch_timeout);
        assert_eq!(cli.peer.lookup_timeout, d.lookup_timeout);
        assert_eq!(cli.peer.request_timeout, d.request_timeout);
        assert_eq!(cli.peer.max_requests_per_peer, d.max_requests_per_peer);
        assert_eq!(cli.peer.idle_timeout, d.idle_timeout);
        assert_eq!(cli.peer.upload_slots, d.upload_slots);
        assert_eq!(cli.peer.max_object_size, d.max_object_size);
        assert_eq!(cli.peer.connections, d.connections);
        assert_eq!(d.listen.to_string(), "/ip4/127.0.0.1/tcp/0");
    }

    #[test]
    fn parses_every_flag() {
        let cli = Cli::try_parse_from([
            "peer",
            "--listen",
            "/ip4/0.0.0.0/tcp/4001",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/2",
            "--upload",
            "1MiB/s",
            "--latency",
            "25ms",
            "--latency-to",
            "127.10.1.0/24=40ms,45ms",
            "--misbehave",
            "stall",
        ])
        .unwrap();
        assert_eq!(cli.peer.bootstrap.len(), 2);
        assert_eq!(cli.peer.misbehave, Some(Misbehave::Stall));
        assert_eq!(cli.peer.profile().latency, Duration::from_millis(25));
        assert_eq!(cli.peer.latency_to[0].back, Duration::from_millis(45));
        assert!(Cli::try_parse_from(["peer", "--misbehave", "lie"]).is_err());
        assert!(Cli::try_parse_from(["peer", "--listen", "127.0.0.1:4001"]).is_err());
    }
}
