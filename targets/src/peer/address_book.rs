//! The listen address of each peer this node met or was told of, for dialing it later.
//!
//! libp2p's own behaviours forget addresses this swarm needs: Kademlia keeps only what
//! fits its routing table (20 peers a bucket; a 1,000-peer swarm overflows the far ones),
//! identify only connected peers, and neither stores what [`Swarm::add_peer_address`]
//! reports. The book keeps one address per peer, learned from identify (the listen
//! address on the network the connection came over) and from peer exchange
//! ([`super::exchange`]), and offers it whenever any behaviour dials that peer (a block
//! pipe, a question). Bounded: the oldest entries leave first.
//!
//! [`Swarm::add_peer_address`]: libp2p::Swarm::add_peer_address

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Peers whose address is kept, at most.
const MAX_PEERS: usize = 4096;

/// One listen address per peer, offered when dialing it.
#[derive(Debug, Default)]
pub struct AddressBook {
    addresses: HashMap<PeerId, Multiaddr>,
    /// Peers in the order their address was first learned (oldest first).
    order: VecDeque<PeerId>,
    /// The IP each connected peer's latest connection came from.
    remote_ips: HashMap<PeerId, IpAddr>,
}

fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl AddressBook {
    /// The address kept for `peer`.
    pub fn address(&self, peer: &PeerId) -> Option<Multiaddr> {
        self.addresses.get(peer).cloned()
    }

    /// Keeps `addr` as `peer`'s address unless one is known (an address a third peer
    /// names never replaces the one the peer itself told).
    pub fn hint(&mut self, peer: PeerId, addr: Multiaddr) {
        if !self.addresses.contains_key(&peer) {
            self.replace(peer, addr);
        }
    }

    /// Keeps `addr` as `peer`'s address, replacing an older one.
    fn replace(&mut self, peer: PeerId, addr: Multiaddr) {
        if self.addresses.insert(peer, addr).is_some() {
            return;
        }
        self.order.push_back(peer);
        while self.order.len() > MAX_PEERS {
            if let Some(oldest) = self.order.pop_front() {
                self.addresses.remove(&oldest);
            }
        }
    }

    /// Learns a connected peer's listen addresses (from identify): keeps the one on the
    /// IP its connection came from (the network both can reach), else the first.
    pub fn learn_listen_addrs(&mut self, peer: PeerId, addrs: &[Multiaddr]) {
        let remote = self.remote_ips.get(&peer).copied();
        let chosen = addrs
            .iter()
            .find(|a| remote.is_some() && ip_of(a) == remote)
            .or_else(|| addrs.first());
        if let Some(addr) = chosen {
            self.replace(peer, addr.clone());
        }
    }
}

impl NetworkBehaviour for AddressBook {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if let Some(ip) = ip_of(remote) {
            self.remote_ips.insert(peer, ip);
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        known: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        Ok(peer
            .and_then(|p| self.address(&p))
            .filter(|addr| !known.contains(addr))
            .into_iter()
            .collect())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if let Some(ip) = ip_of(addr) {
            self.remote_ips.insert(peer, ip);
        }
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::NewExternalAddrOfPeer(new) => self.hint(new.peer_id, new.addr.clone()),
            FromSwarm::ConnectionClosed(closed) if closed.remaining_established == 0 => {
                self.remote_ips.remove(&closed.peer_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        libp2p::core::util::unreachable(event);
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().expect("a multiaddr")
    }

    #[test]
    fn keeps_the_listen_address_on_the_connections_network() {
        let mut book = AddressBook::default();
        let peer = PeerId::random();
        book.remote_ips
            .insert(peer, "172.18.0.3".parse().expect("an ip"));
        let listen = [
            addr("/ip4/127.0.0.1/tcp/4001"),
            addr("/ip4/172.18.0.3/tcp/4001"),
        ];
        book.learn_listen_addrs(peer, &listen);
        assert_eq!(book.address(&peer), Some(listen[1].clone()));
        let stranger = PeerId::random();
        book.learn_listen_addrs(stranger, &listen);
        assert_eq!(book.address(&stranger), Some(listen[0].clone()));
        // A third peer's hint does not replace what the peer told.
        book.hint(peer, addr("/ip4/10.0.0.9/tcp/1"));
        assert_eq!(book.address(&peer), Some(listen[1].clone()));
    }

    #[test]
    fn forgets_the_oldest_beyond_its_bound() {
        let mut book = AddressBook::default();
        let peers: Vec<PeerId> = (0..MAX_PEERS + 3).map(|_| PeerId::random()).collect();
        for peer in &peers {
            book.hint(*peer, addr("/ip4/127.0.0.1/tcp/1"));
        }
        assert_eq!(book.addresses.len(), MAX_PEERS);
        assert!(book.address(&peers[2]).is_none());
        assert!(book.address(&peers[3]).is_some());
    }
}
