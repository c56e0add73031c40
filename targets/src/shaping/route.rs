//! Latency by destination: a [`LatencyRoute`] gives the one-way latencies of the
//! connections a node opens to a block of addresses (a region), in both directions.
//!
//! Regions are emulated by addresses: every node of a region listens in the region's
//! block (`127.10.<r>.0/24` with processes, a block of the run's subnet with containers),
//! so the node that opens a connection knows, from the address it dials, which region
//! the other end is in. The one that accepts does not: on loopback every connection
//! leaves from 127.0.0.1 whatever address its node listens on. So the opener applies
//! both directions of the route — `out` to what it sends, `back` to what it receives —
//! and the acceptor adds nothing of its own (`--latency` still applies to connections
//! no route covers).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::units::HumanDuration;

/// A block of addresses: `127.10.1.0/24`, `10.200.0.0/20`, `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    /// Its first address (host bits are ignored).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpBlock {
    /// The block of `prefix` leading bits of `addr`, `None` when the prefix is too long.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then_some(IpBlock { addr, prefix })
    }

    /// True when `ip` is in the block (never across IPv4 and IPv6).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpBlock {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not an address block such as 127.10.1.0/24"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|e| format!("{addr:?} in {s:?} is not an IP address: {e}"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{prefix:?} in {s:?} is not a prefix length"))?;
        IpBlock::new(addr, prefix).ok_or_else(|| format!("the prefix of {s:?} is too long"))
    }
}

/// `--latency-to NET=OUT[,BACK]`: on a connection this node opens to an address in
/// `net`, `out` is added to what it sends and `back` to what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRoute {
    /// The addresses it covers.
    pub net: IpBlock,
    /// One-way latency from this node to them.
    pub out: Duration,
    /// One-way latency from them to this node.
    pub back: Duration,
}

impl fmt::Display for LatencyRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (out, back) = (HumanDuration(self.out), HumanDuration(self.back));
        if self.out == self.back {
            write!(f, "{}={out}", self.net)
        } else {
            write!(f, "{}={out},{back}", self.net)
        }
    }
}

impl FromStr for LatencyRoute {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (net, latencies) = s.split_once('=').ok_or_else(|| {
            format!("{s:?} is not NET=OUT[,BACK], such as 127.10.1.0/24=40ms or 127.10.1.0/24=40ms,45ms")
        })?;
        let duration = |text: &str| {
            text.trim()
                .parse::<HumanDuration>()
                .map(|d| d.0)
                .map_err(|e| format!("{text:?} in {s:?} is not a latency: {e}"))
        };
        let (out, back) = match latencies.split_once(',') {
            Some((out, back)) => (duration(out)?, duration(back)?),
            None => {
                let both = duration(latencies)?;
                (both, both)
            }
        };
        Ok(LatencyRoute {
            net: net.trim().parse()?,
            out,
            back,
        })
    }
}

/// The route for `remote` among `routes`: the most specific block that holds it.
pub fn route_for(routes: &[LatencyRoute], remote: IpAddr) -> Option<&LatencyRoute> {
    routes
        .iter()
        .filter(|r| r.net.contains(remote))
        .max_by_key(|r| r.net.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_print_and_pick_the_most_specific_block() {
        let wide: LatencyRoute = "127.0.0.0/8=5ms".parse().unwrap();
        let narrow: LatencyRoute = "127.10.1.0/24=40ms,45ms".parse().unwrap();
        assert_eq!(narrow.out, Duration::from_millis(40));
        assert_eq!(narrow.back, Duration::from_millis(45));
        assert_eq!(wide.back, wide.out);
        for r in [wide, narrow] {
            assert_eq!(r.to_string().parse::<LatencyRoute>(), Ok(r));
        }
        let routes = [wide, narrow];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(route_for(&routes, ip("127.10.1.7")), Some(&narrow));
        assert_eq!(route_for(&routes, ip("127.10.2.7")), Some(&wide));
        assert_eq!(route_for(&routes, ip("10.0.0.1")), None);
        assert_eq!(route_for(&routes, ip("::1")), None);
        let all: LatencyRoute = "0.0.0.0/0=1ms".parse().unwrap();
        assert!(all.net.contains(ip("192.0.2.1")));
        for bad in [
            "127.0.0.1=5ms",
            "127.0.0.0/33=5ms",
            "x/8=5ms",
            "127.0.0.0/8",
            "127.0.0.0/8=-5ms",
            "127.0.0.0/8=5ms,soon",
        ] {
            assert!(bad.parse::<LatencyRoute>().is_err(), "{bad}");
        }
    }
}
