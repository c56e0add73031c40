//! The nodes an architecture starts, as typed specs: a role, an index among the nodes
//! of that role, and the target's own argument type ([`ServerArgs`], [`PeerArgs`]), so
//! no flag is spelt in the harness. Faults that start a node again change the spec,
//! not a command line.

use std::net::SocketAddr;

use versus_targets::argv::Multiaddr;
use versus_targets::peer::PeerArgs;
use versus_targets::server::ServerArgs;

use super::links::KernelLink;
use crate::arch::Role;

/// What a node runs: `versus server` or `versus peer`, with its options.
#[derive(Debug, Clone)]
pub enum TargetArgs {
    /// A client-server replica.
    Server(ServerArgs),
    /// A swarm peer (the seed or a user's peer).
    Peer(PeerArgs),
}

impl TargetArgs {
    /// The subcommand of `versus` that runs it.
    pub fn command(&self) -> &'static str {
        match self {
            TargetArgs::Server(_) => "server",
            TargetArgs::Peer(_) => "peer",
        }
    }

    /// The whole command line after the executable.
    pub fn to_argv(&self) -> Vec<std::ffi::OsString> {
        let mut argv = vec![self.command().into()];
        argv.extend(match self {
            TargetArgs::Server(a) => a.to_argv(),
            TargetArgs::Peer(a) => a.to_argv(),
        });
        argv
    }

    /// The same node on fixed addresses (to start it again where users and peers knew
    /// it): a peer's `data` is its multiaddr, without the `/p2p/<id>` a new identity
    /// would not match.
    pub fn at(&self, data: &str, admin: SocketAddr) -> Result<TargetArgs, String> {
        let bad = |what: &str| format!("the node announced an unusable {what} address {data:?}");
        Ok(match self {
            TargetArgs::Server(a) => TargetArgs::Server(ServerArgs {
                listen: data.parse().map_err(|_| bad("data"))?,
                admin,
                ..a.clone()
            }),
            TargetArgs::Peer(a) => {
                let without_id = data.split("/p2p/").next().unwrap_or_default();
                TargetArgs::Peer(PeerArgs {
                    listen: without_id.parse().map_err(|_| bad("listen"))?,
                    admin,
                    ..a.clone()
                })
            }
        })
    }

    /// A peer that joins through `bootstrap` (servers are unchanged).
    pub fn bootstrapping(&self, bootstrap: Option<Multiaddr>) -> TargetArgs {
        match self {
            TargetArgs::Peer(a) => TargetArgs::Peer(PeerArgs {
                bootstrap: bootstrap.into_iter().collect(),
                ..a.clone()
            }),
            server => server.clone(),
        }
    }
}

/// One node to start.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its role in the report.
    pub role: Role,
    /// Index among nodes of the same role.
    pub index: usize,
    /// What it runs.
    pub args: TargetArgs,
    /// Peers: join the swarm through the seed (known once the seed is up).
    pub joins_seed: bool,
    /// `emulation = "kernel"`: the caps and loss the container's kernel applies (the
    /// target's own caps are off then).
    pub kernel: Option<KernelLink>,
}

impl NodeSpec {
    /// `server 0`, for messages.
    pub fn name(&self) -> String {
        format!("{} {}", self.role, self.index)
    }
}
