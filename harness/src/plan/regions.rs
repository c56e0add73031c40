//! Where each node is, planned from `[[network.regions]]`: the users' regions (their
//! shares, interleaved so that user blocks such as peer classes spread over the
//! regions), the servers' and the seed's region, each region's own loopback address,
//! and the latency routes a node (or a client-server user in the harness) opens its
//! connections with.
//!
//! Each region r has the block `127.10.r.0/24` and its nodes listen on `127.10.r.1`
//! (the whole of 127.0.0.0/8 is loopback on Linux; ports tell the nodes apart). A node
//! gets one route per region, `127.10.s.0/24 = m[r][s], m[s][r]`: the one that opens a
//! connection applies both of its one-way latencies (see the targets' `shaping::route`).
//! Client-server users live in the harness and every server lives in the server region,
//! so a user's route covers every address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use versus_targets::argv::Multiaddr;
use versus_targets::peer::PeerArgs;
use versus_targets::server::ServerArgs;
use versus_targets::shaping::{IpBlock, LatencyRoute};

use crate::scenario::model::Network;

/// The second octet of the regions' loopback blocks: region r is `127.10.r.0/24`.
pub const LOOPBACK_OCTET: u8 = 10;

/// Client-server users' latencies, applied by the harness on their connections.
#[derive(Debug, Clone, PartialEq)]
pub struct UserLatency {
    /// User i's routes (cycling over the users for more connections).
    pub routes: Vec<Vec<LatencyRoute>>,
    /// ± on each of those latencies.
    pub jitter: Duration,
}

/// The regions of a run, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionPlan {
    /// The regions' names, in the scenario's order.
    pub names: Vec<String>,
    /// `matrix[from][to]`: the one-way latency between two regions.
    pub matrix: Vec<Vec<Duration>>,
    /// The region of the servers and of the seed.
    pub server: usize,
    /// User i's region (P2P: its peer's).
    pub users: Vec<usize>,
    /// `network.jitter`: ± on every latency of the matrix.
    pub jitter: Duration,
}

impl RegionPlan {
    /// The regions of `net` for `users` users; `None` without regions.
    pub fn of(net: &Network, users: usize) -> Option<RegionPlan> {
        if net.regions.is_empty() {
            return None;
        }
        let names: Vec<String> = net.regions.iter().map(|r| r.name.clone()).collect();
        let server = net
            .server_region
            .as_ref()
            .and_then(|s| names.iter().position(|n| n == s))
            .unwrap_or(0);
        let shares: Vec<f64> = net.regions.iter().map(|r| r.share).collect();
        Some(RegionPlan {
            matrix: net
                .latency_matrix
                .iter()
                .map(|row| row.iter().map(|d| d.0).collect())
                .collect(),
            names,
            server,
            users: interleave(&shares, users),
            jitter: net.jitter.0,
        })
    }

    /// The address the nodes of region `r` listen on (with processes).
    pub fn address(r: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, LOOPBACK_OCTET, r as u8, 1)
    }

    /// The region whose loopback address `ip` is in (`127.10.r.x`), if any: how a
    /// launcher that gives nodes other addresses (containers) finds a node's region.
    pub fn region_of(ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, r, _] = v4.octets();
                (a == 127 && b == LOOPBACK_OCTET).then_some(usize::from(r))
            }
            IpAddr::V6(_) => None,
        }
    }

    /// One-way latency from region `from` to region `to` (zero if out of the matrix).
    pub fn latency(&self, from: usize, to: usize) -> Duration {
        self.matrix
            .get(from)
            .and_then(|row| row.get(to))
            .copied()
            .unwrap_or_default()
    }

    /// The routes of a node in region `r`: to each region's block, both latencies.
    pub fn routes(&self, r: usize) -> Vec<LatencyRoute> {
        (0..self.names.len())
            .map(|s| LatencyRoute {
                net: IpBlock {
                    addr: IpAddr::V4(Ipv4Addr::new(127, LOOPBACK_OCTET, s as u8, 0)),
                    prefix: 24,
                },
                out: self.latency(r, s),
                back: self.latency(s, r),
            })
            .collect()
    }

    /// The routes of client-server user `user` (in the harness): every server is in
    /// the server region, so one route for every address, IPv4 and IPv6.
    pub fn user_routes(&self, user: usize) -> Vec<LatencyRoute> {
        let r = self.users.get(user).copied().unwrap_or(0);
        let (out, back) = (self.latency(r, self.server), self.latency(self.server, r));
        [IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::from([0u16; 8])]
            .into_iter()
            .map(|addr| LatencyRoute {
                net: IpBlock { addr, prefix: 0 },
                out,
                back,
            })
            .collect()
    }

    /// A peer's options placed in region `r`: listening on the region's address, with
    /// the region's routes.
    pub fn place_peer(&self, args: PeerArgs, r: usize) -> PeerArgs {
        let listen: Option<Multiaddr> = format!("/ip4/{}/tcp/0", Self::address(r)).parse().ok();
        PeerArgs {
            listen: listen.unwrap_or_else(|| args.listen.clone()),
            latency_to: self.routes(r),
            ..args
        }
    }

    /// A server's options placed in the server region (its users apply the latency).
    pub fn place_server(&self, args: ServerArgs) -> ServerArgs {
        ServerArgs {
            listen: SocketAddr::from((Self::address(self.server), 0)),
            ..args
        }
    }

    /// Every client-server user's latencies, for the harness to apply.
    pub fn user_latency(&self) -> UserLatency {
        UserLatency {
            routes: (0..self.users.len()).map(|u| self.user_routes(u)).collect(),
            jitter: self.jitter,
        }
    }

    /// Users per region, in the regions' order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.names.len()];
        for &r in &self.users {
            if let Some(c) = counts.get_mut(r) {
                *c += 1;
            }
        }
        counts
    }
}

/// The region of each of `n` users for the given shares: user i goes to the region
/// furthest below its share of the first i + 1 users (the lowest index on a tie), so
/// the regions interleave and each ends within one user of its exact share.
pub fn interleave(shares: &[f64], n: usize) -> Vec<usize> {
    let mut counts = vec![0usize; shares.len()];
    (0..n)
        .filter_map(|i| {
            let seen = (i + 1) as f64;
            let r = (0..shares.len()).max_by(|&a, &b| {
                let behind = |k: usize| shares[k] * seen - counts[k] as f64;
                behind(a).total_cmp(&behind(b)).then(b.cmp(&a))
            })?;
            counts[r] += 1;
            Some(r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Region;
    use versus_targets::units::HumanDuration;

    fn ms(n: u64) -> HumanDuration {
        HumanDuration(Duration::from_millis(n))
    }

    fn net() -> Network {
        Network {
            regions: [("eu", 0.5), ("us", 0.25), ("ap", 0.25)]
                .iter()
                .map(|(n, s)| Region {
                    name: n.to_string(),
                    share: *s,
                })
                .collect(),
            latency_matrix: vec![
                vec![ms(5), ms(40), ms(90)],
                vec![ms(45), ms(5), ms(70)],
                vec![ms(90), ms(70), ms(5)],
            ],
            server_region: Some("us".into()),
            ..Network::default()
        }
    }

    #[test]
    fn users_interleave_by_share_and_deterministically() {
        assert_eq!(interleave(&[0.5, 0.25, 0.25], 8), [0, 1, 2, 0, 0, 1, 2, 0]);
        assert_eq!(interleave(&[0.5, 0.5], 5), [0, 1, 0, 1, 0]);
        assert_eq!(interleave(&[0.0, 1.0], 3), [1, 1, 1]);
        for n in 0..50 {
            let got = interleave(&[0.5, 0.25, 0.25], n);
            assert_eq!(got, interleave(&[0.5, 0.25, 0.25], n));
            for (r, share) in [0.5, 0.25, 0.25].iter().enumerate() {
                let count = got.iter().filter(|&&x| x == r).count() as f64;
                assert!(
                    (count - share * n as f64).abs() < 1.0 + 1e-9,
                    "{n}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn routes_carry_both_directions_of_the_matrix() {
        let plan = RegionPlan::of(&net(), 4).unwrap();
        assert_eq!(plan.server, 1);
        assert_eq!(plan.counts(), [2, 1, 1]);
        assert_eq!(RegionPlan::address(2).to_string(), "127.10.2.1");
        assert_eq!(
            RegionPlan::region_of(RegionPlan::address(2).into()),
            Some(2)
        );
        assert_eq!(RegionPlan::region_of("127.0.0.1".parse().unwrap()), None);
        let routes = plan.routes(0);
        assert_eq!(routes[1].to_string(), "127.10.1.0/24=40ms,45ms");
        assert_eq!(routes[0].to_string(), "127.10.0.0/24=5ms");
        // User 2 is in ap; the servers in us: 70 ms each way.
        let user = plan.user_routes(2);
        assert_eq!(user[0].to_string(), "0.0.0.0/0=70ms");
        assert!(user[1].net.contains("::1".parse().unwrap()));
        assert_eq!(plan.user_routes(0)[0].to_string(), "0.0.0.0/0=40ms,45ms");
        assert_eq!(RegionPlan::of(&Network::default(), 4), None);
    }
}
