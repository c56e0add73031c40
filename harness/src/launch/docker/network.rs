//! The bridge network of one run: made with its own subnet (a /20 in 10.200.0.0/13, the
//! first free one from a starting point that differs per harness), labelled with the run,
//! and handing out one address per node. Addresses are chosen here, not by the engine,
//! so a node knows its own address before it starts (it listens on exactly that one, and
//! a peer announces only it) and a node started again gets the address it had.
//!
//! With regions, region r's nodes get addresses in the r-th /24 of the subnet
//! ([`RunNetwork::region_block`]), so one block per region tells the nodes apart as
//! `127.10.r.0/24` does with processes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};

use versus_targets::shaping::IpBlock;

use crate::plan::nodes::TargetArgs;
use crate::plan::regions::RegionPlan;

use super::engine::{self, label, DockerError, HARNESS_PID_LABEL, RUN_LABEL};

/// Subnets tried before giving up.
const ATTEMPTS: u32 = 32;
/// Prefix length of a run's subnet: 4,094 addresses.
const PREFIX: u32 = 20;
/// How many /20 subnets 10.200.0.0/13 holds.
const SUBNETS: u32 = 1 << (32 - 13 - (32 - PREFIX));

/// A run's network.
#[derive(Debug)]
pub(super) struct RunNetwork {
    /// Its name in the engine.
    pub(super) name: String,
    /// The subnet's first address.
    base: u32,
    /// The next host number to hand out (1 is the gateway).
    next: AtomicU32,
    /// Per region, the next host number in its /24 block.
    regions: [AtomicU32; REGION_BLOCKS],
}

/// /24 blocks in a run's subnet: at most this many regions.
pub(super) const REGION_BLOCKS: usize = 1 << (24 - PREFIX);

impl RunNetwork {
    /// Creates the network of run `run`.
    pub(super) async fn create(run: &str) -> Result<RunNetwork, DockerError> {
        let name = format!("versus-{run}");
        let start = std::process::id();
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let base = subnet_base(start.wrapping_add(attempt));
            let subnet = format!("{}/{PREFIX}", Ipv4Addr::from(base));
            let created = engine::run(&[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                &subnet,
                "--label",
                &label(RUN_LABEL, run),
                "--label",
                &label(HARNESS_PID_LABEL, &std::process::id().to_string()),
                &name,
            ])
            .await;
            match created {
                Ok(_) => {
                    tracing::info!("network {name} on {subnet}");
                    return Ok(RunNetwork {
                        name,
                        base,
                        next: AtomicU32::new(2),
                        regions: std::array::from_fn(|_| AtomicU32::new(2)),
                    });
                }
                // Most likely a subnet another network uses: try the next one.
                Err(e @ DockerError::Failed { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(DockerError::Unreachable("no subnet tried".into())))
    }

    /// A fresh address for a node; `None` once the subnet is full.
    pub(super) fn allocate(&self) -> Option<Ipv4Addr> {
        let host = self.next.fetch_add(1, Ordering::Relaxed);
        (host < (1 << (32 - PREFIX)) - 1).then(|| Ipv4Addr::from(self.base + host))
    }

    /// A fresh address for a node of region `r`, in the region's /24 block (hosts 2 to
    /// 254); `None` once the block is full or for a region beyond the subnet.
    pub(super) fn allocate_in(&self, r: usize) -> Option<Ipv4Addr> {
        let host = self.regions.get(r)?.fetch_add(1, Ordering::Relaxed);
        (host < 255).then(|| Ipv4Addr::from(self.base + ((r as u32) << 8) + host))
    }

    /// A peer's region routes moved from the regions' loopback blocks
    /// (`127.10.r.0/24`) to their blocks of this subnet, where its containers are.
    pub(super) fn in_region_blocks(&self, args: TargetArgs) -> TargetArgs {
        match args {
            TargetArgs::Peer(mut a) => {
                for route in &mut a.latency_to {
                    if let Some(r) = RegionPlan::region_of(route.net.addr) {
                        route.net = self.region_block(r);
                    }
                }
                TargetArgs::Peer(a)
            }
            server => server,
        }
    }

    /// The /24 block of region `r`'s addresses.
    pub(super) fn region_block(&self, r: usize) -> IpBlock {
        IpBlock {
            addr: IpAddr::V4(Ipv4Addr::from(self.base + ((r as u32) << 8))),
            prefix: 24,
        }
    }
}

/// The first address of candidate subnet `n` (modulo the subnets there are).
fn subnet_base(n: u32) -> u32 {
    u32::from(Ipv4Addr::new(10, 200, 0, 0)) + (n % SUBNETS) * (1 << (32 - PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_stay_in_their_range_and_do_not_overlap() {
        assert_eq!(SUBNETS, 128);
        assert_eq!(Ipv4Addr::from(subnet_base(0)), Ipv4Addr::new(10, 200, 0, 0));
        assert_eq!(
            Ipv4Addr::from(subnet_base(1)),
            Ipv4Addr::new(10, 200, 16, 0)
        );
        assert_eq!(
            Ipv4Addr::from(subnet_base(127)),
            Ipv4Addr::new(10, 207, 240, 0)
        );
        assert_eq!(subnet_base(128), subnet_base(0));
    }

    #[test]
    fn addresses_skip_the_gateway_and_end_before_broadcast() {
        let net = RunNetwork {
            name: "n".into(),
            base: subnet_base(0),
            next: AtomicU32::new(2),
            regions: std::array::from_fn(|_| AtomicU32::new(2)),
        };
        assert_eq!(net.allocate(), Some(Ipv4Addr::new(10, 200, 0, 2)));
        net.next.store(4094, Ordering::Relaxed);
        assert_eq!(net.allocate(), Some(Ipv4Addr::new(10, 200, 15, 254)));
        assert_eq!(net.allocate(), None);
        assert_eq!(net.allocate_in(3), Some(Ipv4Addr::new(10, 200, 3, 2)));
        assert_eq!(net.region_block(3).to_string(), "10.200.3.0/24");
        assert!(net
            .region_block(3)
            .contains(Ipv4Addr::new(10, 200, 3, 2).into()));
        net.regions[15].store(254, Ordering::Relaxed);
        assert_eq!(net.allocate_in(15), Some(Ipv4Addr::new(10, 200, 15, 254)));
        assert_eq!(net.allocate_in(15), None);
        assert_eq!(net.allocate_in(16), None);
        let peer = versus_targets::peer::PeerArgs {
            latency_to: vec![
                "127.10.1.0/24=40ms".parse().unwrap(),
                "127.0.0.0/8=1ms".parse().unwrap(),
            ],
            ..Default::default()
        };
        let TargetArgs::Peer(placed) = net.in_region_blocks(TargetArgs::Peer(peer)) else {
            panic!("not a peer");
        };
        assert_eq!(placed.latency_to[0].to_string(), "10.200.1.0/24=40ms");
        assert_eq!(placed.latency_to[1].to_string(), "127.0.0.0/8=1ms");
    }
}
